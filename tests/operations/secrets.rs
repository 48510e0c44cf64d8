//! Secrets at start-up: refused when weak, never echoed by configuration errors, masked in the
//! webhook URL that `serve` prints.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn acmirror() -> Command {
    acmirror_sim::harness::command(env!("CARGO_BIN_EXE_acmirror"))
}

#[test]
fn serve_refuses_a_short_or_url_unsafe_webhook_secret_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    for secret in [
        "abc",
        "has/a/slash/0123456789",
        "needs%20encoding-0123456789",
    ] {
        let out = acmirror()
            .arg("serve")
            .env("ACMIRROR_DATABASE_URL", dir.path().join("m.db"))
            .env("ACMIRROR_LISTEN", "127.0.0.1:0")
            .env("ACMIRROR_WEBHOOK_SECRET", secret)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{secret}: {stderr}");
        assert!(stderr.contains("ACMIRROR_WEBHOOK_SECRET"), "{stderr}");
        assert!(stderr.contains("at least 16 characters"), "{stderr}");
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "the secret is echoed: {stderr}{stdout}"
        );
    }
}

#[test]
fn a_config_file_error_on_a_secret_line_exits_2_without_the_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "syntax.toml",
            "log = \"info\"\nac_api_token = \"tok-7c1d0e9f2a3b4c5d\n",
        ),
        ("type.toml", "webhook_secret = 77665544332211009988\n"),
    ];
    for (name, text) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let out = acmirror()
            .args(["status", "--config"])
            .arg(&path)
            .env("ACMIRROR_DATABASE_URL", dir.path().join("m.db"))
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("line "), "{stderr}");
        assert!(
            stderr.contains("ac_api_token") || stderr.contains("webhook_secret"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("7c1d0e9f") && !stderr.contains("77665544"),
            "{stderr}"
        );
    }
}

#[test]
fn serve_prints_the_webhook_url_without_any_character_of_the_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "Zq8-long-enough-secret_value";
    let mut child = acmirror()
        .arg("serve")
        .env("ACMIRROR_DATABASE_URL", dir.path().join("m.db"))
        .env("ACMIRROR_LISTEN", "127.0.0.1:0")
        .env("ACMIRROR_WEBHOOK_SECRET", secret)
        .env("ACMIRROR_RECONCILE_CRON", "")
        .env("ACMIRROR_FULL_SYNC_CRON", "")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut line = None;
    while Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            if l.contains("Webhook URL") {
                line = Some(l);
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("serve prints the webhook URL");
    assert!(line.contains("/webhooks/activecampaign/****"), "{line}");
    assert!(!line.contains("Zq8"), "{line}");
}
