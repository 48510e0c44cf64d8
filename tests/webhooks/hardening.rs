//! Hostile and unusual traffic at the HTTP level: HTTPS, slow clients, hostile field values.

use std::io::{Read, Write};
use std::time::Duration;

use acmirror_sim::harness::{fixtures, TestApp, SECRET};
use proptest::prelude::*;

#[tokio::test]
async fn serves_https_when_given_a_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write");
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).expect("write");
    let app = TestApp::spawn_with(&[
        ("ACMIRROR_TLS_CERT", cert_path.to_str().expect("utf-8")),
        ("ACMIRROR_TLS_KEY", key_path.to_str().expect("utf-8")),
    ])
    .await;
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("pem"),
        )
        .build()
        .expect("client");
    let url = format!(
        "https://localhost:{}/webhooks/activecampaign/{SECRET}",
        app.addr().port()
    );
    let status = client
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(fixtures::form(fixtures::UPDATE))
        .send()
        .await
        .expect("https request")
        .status();
    assert_eq!(status, 200);
    let plain = reqwest::get(format!("http://127.0.0.1:{}/healthz", app.addr().port())).await;
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain HTTP is not served on the TLS port"
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_is_cut_off() {
    let app = TestApp::spawn().await;
    let addr = app.addr();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        stream
            .write_all(b"POST /webhooks/activecampaign/x HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .expect("write");
        let mut buf = Vec::new();
        let started = std::time::Instant::now();
        let _ = stream.read_to_end(&mut buf);
        (
            started.elapsed(),
            String::from_utf8_lossy(&buf).into_owned(),
        )
    })
    .await
    .expect("no panic");
    assert!(
        outcome.0 < Duration::from_secs(15),
        "the connection was held open"
    );
    assert!(
        outcome.1.is_empty() || outcome.1.contains("408"),
        "{}",
        outcome.1
    );
    assert_eq!(
        reqwest::get(app.url("/healthz"))
            .await
            .expect("healthz")
            .status(),
        200
    );
}

fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[\\x00-\\x1f]{0,20}",
        "\\PC{0,40}",
        Just("9".repeat(40)),
        Just("-9223372036854775809".to_owned()),
        Just("99999-12-31T23:59:59+14:00".to_owned()),
        Just("0000-00-00 00:00:00".to_owned()),
        Just("x".repeat(70_000)),
        "-?[0-9]{1,25}(\\.[0-9]{0,5})?",
    ]
}

const KEYS: &[&str] = &[
    "type",
    "date_time",
    "list",
    "contact[id]",
    "contact[email]",
    "contact[tags]",
    "contact[fields][3]",
    "tag",
    "note",
    "deal[id]",
    "deal[value_raw]",
    "deal[status]",
    "deal[create_date_iso]",
    "deal[stageid]",
    "task[id]",
    "task[duedate_iso]",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever values arrive in the known keys, the delivery is stored and either applied
    /// or failed with a reason; nothing panics.
    #[test]
    fn hostile_values_are_applied_or_fail_with_a_reason(
        kind in prop::sample::select(vec!["update", "subscribe", "unsubscribe", "contact_tag_added", "deal_add", "deal_task_complete", "subscriber_note", "open"]),
        values in proptest::collection::vec(hostile_value(), KEYS.len()),
        raw_tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let app = TestApp::spawn().await;
            let mut pairs: Vec<(String, String)> = KEYS.iter().zip(&values).map(|(k, v)| (k.to_string(), v.clone())).collect();
            pairs[0].1 = kind.to_owned();
            let mut body = acmirror::webhook::decode::encode(&pairs).into_bytes();
            body.extend_from_slice(b"&raw=");
            body.extend_from_slice(&raw_tail);
            let status = app.client.post(app.webhook_url()).header("Content-Type", "application/x-www-form-urlencoded").body(body).send().await.expect("request").status();
            assert_eq!(status, 200);
            app.apply_all().await;
            let rows: Vec<(String, Option<String>)> = app.with_conn(|c| {
                use acmirror::db::schema::webhook_events as we;
                use diesel::prelude::*;
                we::table.select((we::status, we::error)).load(c).expect("rows")
            }).await;
            assert_eq!(rows.len(), 1);
            match rows[0].0.as_str() {
                "applied" | "ignored" => {}
                "failed" => assert!(rows[0].1.as_deref().is_some_and(|e| !e.is_empty())),
                other => panic!("unexpected status {other}"),
            }
        });
    }
}
