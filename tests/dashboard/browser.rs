//! The page in headless Chromium, driven through chromedriver (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them when missing).
//!
//! Without chromedriver the test says so and passes, unless `ACMIRROR_BROWSER_TESTS=required`
//! (set by `.ci/run`), which makes a missing browser a failure. `ACMIRROR_CHROMEDRIVER` names
//! another chromedriver; `ACMIRROR_DASHBOARD_SCREENSHOT=<file.png>` saves the signed-in page.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use acmirror_sim::harness::ADMIN_TOKEN;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use super::{update, Site, WHEN};

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ACMIRROR_CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|p| p.is_file())
    })
}

async fn start_driver() -> Option<Driver> {
    let Some(program) = chromedriver() else {
        let required = std::env::var("ACMIRROR_BROWSER_TESTS").as_deref() == Ok("required");
        assert!(
            !required,
            "ACMIRROR_BROWSER_TESTS=required but no chromedriver is on PATH: install Debian's \
             chromium and chromium-driver (`apt-get install chromium chromium-driver`)"
        );
        eprintln!(
            "skipped: no chromedriver on PATH (apt-get install chromium chromium-driver); \
             .ci/run installs them and requires this test"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(&program)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", program.display()));
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let ready = client
            .get(format!("{}/status", driver.url))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success());
        if ready.is_some() {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer within 10 s");
}

async fn browser(driver: &Driver) -> Client {
    let mut options = json!({
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--window-size=1280,2400",
        ]
    });
    if std::path::Path::new("/usr/bin/chromium").is_file() {
        options["binary"] = json!("/usr/bin/chromium");
    }
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": options,
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let Value::Object(caps) = caps else {
        unreachable!("an object")
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

/// chromedriver's console log of the page (`goog:loggingPrefs`), drained on each read.
#[derive(Debug)]
struct ConsoleLog;

impl fantoccini::wd::WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// Polls `script` (a function body returning a value) until `ok` holds for its result.
async fn until(c: &Client, what: &str, script: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = c.execute(script, vec![]).await.expect("script runs");
        if ok(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: still {v} after 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pixels of a chart's canvas drawn in colour (series), not in grey (axes and grid).
const COLOURED_PIXELS: &str = "
    const canvas = document.querySelector(arguments[0] + ' canvas');
    if (!canvas || !canvas.width || !canvas.height) return 0;
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
        const hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
        if (d[i + 3] > 0 && hi - lo > 40) n++;
    }
    return n;";

async fn coloured_pixels(c: &Client, chart: &str) -> i64 {
    c.execute(COLOURED_PIXELS, vec![json!(chart)])
        .await
        .expect("script runs")
        .as_i64()
        .unwrap_or(0)
}

#[tokio::test]
async fn the_dashboard_in_a_browser() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let site = Site::start().await;
    // Deliveries: a few that apply, one the database refuses (its cause is fixed below), and
    // two whose values carry markup: an unknown type (ignored) and an undecodable one (failed,
    // its reason quoting the type).
    site.refuse_email("refused@example.com").await;
    for id in 1..=6 {
        assert_eq!(
            site.post(&update(id, &format!("c{id}@example.com"))).await,
            200
        );
    }
    assert_eq!(site.post(&update(7, "refused@example.com")).await, 200);
    let script = "%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E";
    assert_eq!(
        site.post(&format!("type={script}&date_time={WHEN}")).await,
        200
    );
    assert_eq!(site.post(&format!("type={script}")).await, 200);
    let img = "%3Cimg+src%3Dx+onerror%3D%22window.pwned%3D2%22%3E";
    assert_eq!(
        site.post(&format!("type={img}&date_time={WHEN}")).await,
        200
    );
    site.settled().await;
    let failed = site.json("/admin/deliveries/failed").await;
    let refused = failed["deliveries"]
        .as_array()
        .expect("failed deliveries")
        .iter()
        .find(|d| d["contact_id"] == 7)
        .and_then(|d| d["id"].as_i64())
        .expect("the refused delivery is listed");

    let c = browser(&driver).await;
    c.goto(&site.url("/")).await.expect("page loads");

    // Sign in.
    let form = c
        .wait()
        .for_element(Locator::Id("token"))
        .await
        .expect("sign-in form");
    form.send_keys(ADMIN_TOKEN).await.expect("token typed");
    c.find(Locator::Id("signin"))
        .await
        .expect("button")
        .click()
        .await
        .expect("signed in");
    until(
        &c,
        "the dashboard shows",
        "return !document.getElementById('dashboard').hidden",
        |v| v == &json!(true),
    )
    .await;
    assert_eq!(
        c.execute(
            "return [location.href, localStorage.length, document.cookie]",
            vec![]
        )
        .await
        .expect("script"),
        json!([site.url("/"), 0, ""]),
        "the token stays out of the URL, local storage and cookies"
    );

    // The charts draw the deliveries and the backlog.
    for chart in ["#chart-deliveries", "#chart-backlog"] {
        let deadline = Instant::now() + Duration::from_secs(20);
        while coloured_pixels(&c, chart).await < 20 {
            assert!(Instant::now() < deadline, "{chart} drew no series");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // Values from deliveries are text: the markup shows, nothing of it runs or is parsed.
    let text = until(
        &c,
        "the failed list shows the delivery with markup",
        "return document.body.innerText",
        |v| {
            v.as_str()
                .unwrap_or("")
                .contains("<script>window.pwned=1</script>")
        },
    )
    .await;
    assert!(
        text.as_str()
            .unwrap_or("")
            .contains("<img src=x onerror=\"window.pwned=2\">"),
        "the ignored type shows in the chart's legend as text"
    );
    assert_eq!(
        c.execute(
            "return [typeof window.pwned, document.scripts.length, \
             document.querySelectorAll('img').length]",
            vec![]
        )
        .await
        .expect("script"),
        json!(["undefined", 2, 0])
    );

    // Replay: the refused delivery fails until its cause is fixed, then applies.
    site.accept_all().await;
    let row = format!("#failed tbody tr[data-id='{refused}']");
    c.find(Locator::Css(&format!("{row} button.replay")))
        .await
        .expect("a Replay button on the failed delivery")
        .click()
        .await
        .expect("clicked");
    until(
        &c,
        "the replay's outcome",
        "return document.getElementById('message').textContent",
        |v| v.as_str().unwrap_or("").contains("applied"),
    )
    .await;
    until(
        &c,
        "the replayed delivery leaves the failed list",
        &format!("return document.querySelectorAll(\"{row}\").length"),
        |v| v == &json!(0),
    )
    .await;
    let overview = site.json("/admin/overview").await;
    assert_eq!(
        overview["webhooks"]["failed"], 1,
        "only the undecodable one is left"
    );

    // A full resync started from the page shows up as a run.
    c.find(Locator::Id("resync-full"))
        .await
        .expect("button")
        .click()
        .await
        .expect("clicked");
    let runs = until(
        &c,
        "the full run is listed as succeeded",
        "return [...document.querySelectorAll('#runs tbody tr[data-run-id]')]\
             .map(r => [r.dataset.status, r.innerText])",
        |v| {
            v.as_array()
                .into_iter()
                .flatten()
                .any(|r| r[0] == "succeeded" && r[1].as_str().unwrap_or("").contains("full"))
        },
    )
    .await;
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while coloured_pixels(&c, "#chart-runs").await < 20 {
        assert!(Instant::now() < deadline, "the runs chart drew no run");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    if let Some(path) = std::env::var_os("ACMIRROR_DASHBOARD_SCREENSHOT") {
        // Let a slow refresh finish so the picture shows the newest state.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(&path, png).expect("screenshot written");
    }

    // Nothing went to the console: no error, no CSP violation, no failed request.
    let log = c.issue_cmd(ConsoleLog).await.expect("console log");
    let entries: Vec<&Value> = log.as_array().into_iter().flatten().collect();
    let serious: Vec<&&Value> = entries
        .iter()
        .filter(|e| e["level"] != "INFO" && e["level"] != "DEBUG")
        .collect();
    assert!(serious.is_empty(), "console: {serious:?}");
    c.close().await.expect("browser closes");
}
