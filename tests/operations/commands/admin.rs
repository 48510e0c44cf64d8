//! `GET /admin/status` serves the `status --json` document.

use acmirror::app::{open_database, Daemon};

use super::mirror_with;
use super::sample_bodies;
use acmirror_sim::harness::{TestDb, ADMIN_TOKEN, SECRET};

#[tokio::test]
async fn admin_status_serves_the_status_document() {
    let db: TestDb = mirror_with(&sample_bodies()).await;
    let settings = db.settings(&[]);
    let (pool, _) = open_database(&settings).await.expect("database opens");
    let daemon = Daemon::start(&settings, pool, Default::default(), 1)
        .await
        .expect("daemon starts");
    let url = format!("http://{}/admin/status", daemon.addr);
    let client = reqwest::Client::new();

    let anonymous = client.get(&url).send().await.expect("request").status();
    let response = client
        .get(&url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    daemon.stop().await;

    assert_eq!((anonymous.as_u16(), status.as_u16()), (401, 200), "{text}");
    assert!(
        !text.contains(SECRET) && !text.contains(ADMIN_TOKEN),
        "{text}"
    );
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["counts"]["contacts"], 3);
    assert_eq!(doc["webhooks"]["applied"], 4);
    assert_eq!(doc["webhooks"]["failed"], 1);
    assert_eq!(doc["api"]["configured"], false);
}
