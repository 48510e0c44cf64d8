//! The dashboard: its JSON endpoints under `/admin/` and, in a headless browser, the page.

mod api;
mod browser;

use acmirror_sim::fake_ac::{FakeAc, FakeAcConfig, FakeAcHandle};
use acmirror_sim::harness::{TestApp, ADMIN_TOKEN};

/// A daemon whose reconciliation reads a small simulated account.
pub struct Site {
    pub app: TestApp,
    pub sim: FakeAcHandle,
}

impl Site {
    pub async fn start() -> Self {
        Self::start_limited(0).await
    }

    /// With the simulator answering 429 above `rate_limit` requests per second (0: never).
    pub async fn start_limited(rate_limit: u32) -> Self {
        Self::start_with(FakeAcConfig {
            contacts: 40,
            deals: 8,
            rate_limit,
            ..FakeAcConfig::default()
        })
        .await
    }

    /// With a simulated account of this shape.
    pub async fn start_with(config: FakeAcConfig) -> Self {
        let sim = FakeAc::start(config).await.expect("simulator starts");
        let app = TestApp::spawn_with(&[
            ("ACMIRROR_AC_API_URL", &sim.base_url()),
            ("ACMIRROR_AC_API_TOKEN", sim.api_token()),
            ("ACMIRROR_AC_RATE_LIMIT", "100"),
        ])
        .await;
        Self { app, sim }
    }

    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// Posts a delivery; returns the status code.
    pub async fn post(&self, body: &str) -> u16 {
        self.app.post(body).await
    }

    /// GET of an admin endpoint with the token: status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .app
            .client
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("request");
        (resp.status().as_u16(), resp.text().await.expect("body"))
    }

    /// GET of an admin endpoint as JSON; panics unless 200.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        let (status, text) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    /// POST of an admin endpoint with a JSON body: status and body.
    pub async fn post_admin(&self, path: &str, body: serde_json::Value) -> (u16, String) {
        let resp = self
            .app
            .client
            .post(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("request");
        (resp.status().as_u16(), resp.text().await.expect("body"))
    }

    /// Replays delivery `id` through `/admin/replay`; its outcome.
    pub async fn replay(&self, id: i64) -> serde_json::Value {
        let (status, text) = self
            .post_admin("/admin/replay", serde_json::json!({ "id": id }))
            .await;
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).expect("JSON")
    }

    /// Waits until `/admin/overview` counts `rows` in `table` (counts of a mirror that takes
    /// long to count, as a busy test machine may, are taken again at most every 10 s).
    pub async fn expect_rows(&self, table: &str, rows: i64) {
        let mut seen = serde_json::Value::Null;
        for _ in 0..300 {
            let overview = self.json("/admin/overview").await;
            seen = overview["tables"]
                .as_array()
                .expect("tables")
                .iter()
                .find(|t| t["table"] == table)
                .map_or(serde_json::Value::Null, |t| t["rows"].clone());
            if seen == rows {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{table}: {seen} rows, not {rows}, after 30 s");
    }

    /// Waits until no delivery is pending (the daemon's own worker applies them).
    pub async fn settled(&self) {
        for _ in 0..400 {
            let doc = self.json("/admin/overview").await;
            if doc["webhooks"]["pending"] == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("deliveries stayed pending for 10 s");
    }

    /// Starts a full run through `/admin/resync` and waits for it; its row of `/admin/runs`.
    pub async fn full_resync(&self, allow_mass_delete: bool) -> serde_json::Value {
        let (status, text) = self
            .post_admin(
                "/admin/resync",
                serde_json::json!({ "full": true, "allow_mass_delete": allow_mass_delete }),
            )
            .await;
        assert_eq!(status, 202, "{text}");
        let started: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        self.finished_run(started["run_id"].as_i64().expect("id"))
            .await
    }

    /// Waits for run `id` to finish; returns its row of `/admin/runs`.
    pub async fn finished_run(&self, id: i64) -> serde_json::Value {
        for _ in 0..600 {
            let doc = self.json("/admin/runs").await;
            let run = doc["runs"]
                .as_array()
                .expect("runs")
                .iter()
                .find(|r| r["id"] == id)
                .cloned();
            if let Some(run) = run.filter(|r| r["status"] != "running") {
                return run;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("run {id} did not finish within 30 s");
    }

    /// Makes the database refuse contacts with this e-mail address, as a stand-in for any cause
    /// that makes a delivery fail; [`Site::accept_all`] removes the cause.
    pub async fn refuse_email(&self, email: &str) {
        let statements: Vec<String> = if self.app.db.is_postgres() {
            vec![
                format!(
                    "CREATE FUNCTION refuse_email() RETURNS trigger AS $$ BEGIN \
                     IF NEW.email = '{email}' THEN RAISE EXCEPTION 'the e-mail address is refused'; END IF; \
                     RETURN NEW; END $$ LANGUAGE plpgsql"
                ),
                "CREATE TRIGGER refuse_email BEFORE INSERT OR UPDATE ON contacts \
                 FOR EACH ROW EXECUTE FUNCTION refuse_email()"
                    .to_owned(),
            ]
        } else {
            vec![format!(
                "CREATE TRIGGER refuse_email BEFORE INSERT ON contacts \
                 WHEN NEW.email = '{email}' BEGIN SELECT RAISE(ABORT, 'the e-mail address is refused'); END"
            )]
        };
        self.sql(statements).await;
    }

    /// Removes what [`Site::refuse_email`] added.
    pub async fn accept_all(&self) {
        let statements = if self.app.db.is_postgres() {
            vec![
                "DROP TRIGGER refuse_email ON contacts".to_owned(),
                "DROP FUNCTION refuse_email()".to_owned(),
            ]
        } else {
            vec!["DROP TRIGGER refuse_email".to_owned()]
        };
        self.sql(statements).await;
    }

    async fn sql(&self, statements: Vec<String>) {
        self.app
            .with_conn(move |c| {
                use diesel::RunQueryDsl;
                for s in &statements {
                    diesel::sql_query(s).execute(c).expect("statement runs");
                }
            })
            .await;
    }
}

/// The `date_time` of the deliveries the tests post, form-encoded.
pub const WHEN: &str = "2026-12-07T10%3A00%3A00-06%3A00";

/// A contact update carrying this contact id and e-mail address.
pub fn update(contact_id: u32, email: &str) -> String {
    let body = format!(
        "type=update&date_time=2026-12-07T10:00:00-06:00&initiated_from=admin&list=0\
         &contact[id]={contact_id}&contact[email]={email}&contact[first_name]=Ada\
         &contact[last_name]=Lovelace&contact[tags]=alpha, beta"
    );
    body.replace('[', "%5B")
        .replace(']', "%5D")
        .replace(' ', "+")
        .replace('@', "%40")
}
