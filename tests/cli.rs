//! The binary end to end: exit codes, help, and the demo.

use std::process::Command;

fn acmirror() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_acmirror"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ACMIRROR_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn a_bad_setting_names_itself_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = acmirror()
        .args(["migrate"])
        .env("ACMIRROR_DATABASE_URL", dir.path().join("m.db"))
        .env("ACMIRROR_RECONCILE_CRON", "every fortnight")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ACMIRROR_RECONCILE_CRON"));
}

#[test]
fn migrate_creates_the_schema_then_finds_it_current() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.db");
    let first = acmirror()
        .arg("migrate")
        .env("ACMIRROR_DATABASE_URL", &db)
        .output()
        .expect("runs");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied migration"));
    let second = acmirror()
        .arg("migrate")
        .env("ACMIRROR_DATABASE_URL", &db)
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&second.stdout).contains("up to date"));
}

#[test]
fn resync_without_an_api_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = acmirror()
        .arg("resync")
        .env("ACMIRROR_DATABASE_URL", dir.path().join("m.db"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ACMIRROR_AC_API_URL"));
}

#[test]
fn help_never_shows_secret_values() {
    for sub in ["serve", "resync", "migrate", "demo", "fake-ac"] {
        let out = acmirror()
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
    let out = acmirror()
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
