//! The `acmirror-sim` binary end to end: help without secrets, and the demo.

use std::process::Command;

use acmirror_sim::harness::{assert_help_hides_secrets, command};

fn acmirror_sim() -> Command {
    command(env!("CARGO_BIN_EXE_acmirror-sim"))
}

#[test]
fn help_never_shows_secret_values() {
    for sub in ["demo", "fake-ac"] {
        assert_help_hides_secrets(env!("CARGO_BIN_EXE_acmirror-sim"), sub);
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
