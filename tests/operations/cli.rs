//! The binary end to end: exit codes, help, and the hand-over to the simulator.

use std::process::Command;

use acmirror_sim::harness::{assert_help_hides_secrets, command};

fn acmirror() -> Command {
    command(env!("CARGO_BIN_EXE_acmirror"))
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
    for sub in [
        "serve",
        "resync",
        "migrate",
        "status",
        "events",
        "replay",
        "register-webhook",
    ] {
        assert_help_hides_secrets(env!("CARGO_BIN_EXE_acmirror"), sub);
    }
}

/// A folder holding a copy of the acmirror executable, as an installation would.
fn installed() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("acmirror");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_acmirror"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_acmirror"), &exe).expect("copy the executable");
    }
    (dir, exe)
}

#[test]
fn demo_and_fake_ac_hand_over_to_the_simulator_beside_the_executable() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, exe) = installed();
    let sim = dir.path().join("acmirror-sim");
    std::fs::write(&sim, "#!/bin/sh\necho \"simulator: $*\"\nexit 7\n").expect("write");
    std::fs::set_permissions(&sim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for (sub, args) in [
        ("demo", vec!["--seconds", "2", "--help"]),
        (
            "fake-ac",
            vec!["--contacts", "10", "--listen", "127.0.0.1:0"],
        ),
    ] {
        let out = Command::new(&exe)
            .arg(sub)
            .args(&args)
            .env("PATH", "/nonexistent")
            .output()
            .expect("runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("simulator: {sub} {}", args.join(" "))
        );
        assert_eq!(out.status.code(), Some(7), "the simulator's exit code");
    }
}

#[test]
fn a_missing_simulator_says_how_to_build_it() {
    let (_dir, exe) = installed();
    let out = Command::new(&exe)
        .args(["demo", "--seconds", "2"])
        .env("PATH", "/nonexistent")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cargo build --release -p acmirror-sim"),
        "{stderr}"
    );
}
