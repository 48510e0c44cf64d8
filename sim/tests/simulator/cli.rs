//! The `acmirror-sim` binary end to end: help without secrets, and the demo.

use std::process::Command;

fn acmirror_sim() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_acmirror-sim"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ACMIRROR_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn help_never_shows_secret_values() {
    for sub in ["demo", "fake-ac"] {
        let out = acmirror_sim()
            .args([sub, "--help"])
            .env("ACMIRROR_AC_API_TOKEN", "tok-SECRET-1")
            .env("ACMIRROR_WEBHOOK_SECRET", "hook-SECRET-2")
            .env("ACMIRROR_ADMIN_TOKEN", "admin-SECRET-3")
            .env(
                "ACMIRROR_DATABASE_URL",
                "postgres://u:pw-SECRET-4@127.0.0.1/db",
            )
            .output()
            .expect("runs");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("SECRET"),
            "{sub} --help shows a secret:\n{text}"
        );
    }
}

#[test]
fn demo_ends_with_no_differences() {
    let out = acmirror_sim()
        .args(["demo", "--seconds", "2"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = stdout
        .lines()
        .find(|l| l.contains("mirror differences after"))
        .expect("report line");
    assert!(after.trim_end().ends_with(" 0"), "{after}");
    assert!(stdout.contains("deliveries lost"));
}
