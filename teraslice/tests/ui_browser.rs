//! The web view at `/ui` in a real browser: headless Chromium driven over WebDriver
//! (chromedriver) shows a running persistent job's progress moving, and its stop button stops it.
//! Needs Debian's `chromium` and `chromium-driver` (`cargo xtask test` installs them); fails,
//! saying so, when they are missing. On a failure the page's screenshot is saved and its path
//! printed. With `TERASLICE_UI_SCREENSHOT=<file.png>` the running job's page is saved there too
//! (that is how docs/ui.png is made).
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::native::NativeMaster;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long the page may take to show what a step waits for (generous: CI is slow).
const PATIENCE: Duration = Duration::from_secs(120);

/// A chromedriver process on a free local port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: this test drives headless Chromium; install Debian's \
                 `{package}` (`apt-get install chromium chromium-driver`, or run `cargo xtask test`, \
                 which installs both)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free local port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A headless Chromium session; retried while chromedriver is still starting.
    async fn session(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--window-size=1400,900"]
            }),
        );
        let start = Instant::now();
        loop {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(caps.clone());
            match builder.connect(&self.url).await {
                Ok(client) => return client,
                Err(e) if start.elapsed() > PATIENCE => panic!("no Chromium session: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of the first element matching `css`, or None while there is none.
async fn text_of(page: &Client, css: &str) -> Option<String> {
    let element = page.find(Locator::Css(css)).await.ok()?;
    element.text().await.ok()
}

/// Polls the page until `check` holds; Err names `what` and the last value seen.
async fn wait_page<F, Fut>(what: &str, mut check: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (bool, String)>,
{
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < PATIENCE {
        let (ok, seen) = check().await;
        if ok {
            return Ok(());
        }
        last = seen;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("gave up waiting for {what}; last seen: {last:?}"))
}

async fn screenshot(page: &Client, path: &Path) -> Result<(), String> {
    let png = page.screenshot().await.map_err(|e| e.to_string())?;
    std::fs::write(path, png).map_err(|e| format!("write {}: {e}", path.display()))
}

/// The steps in the browser; an Err leaves the page as it was for the failure screenshot.
async fn stop_from_the_page(page: &Client, m: &NativeMaster, ex_id: &str) -> Result<(), String> {
    page.goto(&format!("{}/ui", m.url))
        .await
        .map_err(|e| e.to_string())?;
    let row = format!("tr[data-ex-id=\"{ex_id}\"]");
    let status = format!("{row} td.status");
    let processed = format!("{row} td.processed");
    wait_page("the execution running", || async {
        let s = text_of(page, &status).await.unwrap_or_default();
        (s == "running", s)
    })
    .await?;
    let first = wait_number(page, &processed).await?;
    wait_page("processed slices to grow on the page", || async {
        let now = text_of(page, &processed).await.unwrap_or_default();
        (now.parse::<u64>().is_ok_and(|n| n > first), now)
    })
    .await?;

    records_per_second(page, &row).await?;

    // Its detail: the one worker the job asked for.
    click(page, &row).await?;
    wait_page("the execution's worker in its detail", || async {
        let id = text_of(page, "#detail-id").await.unwrap_or_default();
        let workers = page
            .find_all(Locator::Css("#detail-workers tbody tr"))
            .await
            .map(|rows| rows.len())
            .unwrap_or(0);
        (
            id == ex_id && workers == 1,
            format!("{id}: {workers} workers"),
        )
    })
    .await?;
    if let Some(path) = std::env::var_os("TERASLICE_UI_SCREENSHOT") {
        screenshot(page, Path::new(&path)).await?;
    }

    click(page, &format!("{row} button[data-action=\"stop\"]")).await?;
    wait_page("the page to show the execution stopped", || async {
        let s = text_of(page, &status).await.unwrap_or_default();
        (s == "stopped", s)
    })
    .await
}

/// records/s of a job whose generator makes 10 records a slice: ten times slices/s (both from
/// the same two polls; each rounded to 0.1), and a value that changes from poll to poll.
async fn records_per_second(page: &Client, row: &str) -> Result<f64, String> {
    let read = || async {
        let slices = text_of(page, &format!("{row} td.rate")).await;
        let records = text_of(page, &format!("{row} td.records-rate")).await;
        let seen = format!("slices/s {slices:?}, records/s {records:?}");
        let parse = |t: Option<String>| t.and_then(|t| t.parse::<f64>().ok());
        (parse(slices), parse(records), seen)
    };
    let ten_a_slice = |s: Option<f64>, r: Option<f64>| matches!((s, r), (Some(s), Some(r)) if r > 0.0 && (r - 10.0 * s).abs() <= 0.6);
    wait_page("records/s at ten records a slice", || async {
        let (s, r, seen) = read().await;
        (ten_a_slice(s, r), seen)
    })
    .await?;
    let first = read().await.1;
    wait_page("records/s to change", || async {
        let (s, r, seen) = read().await;
        (ten_a_slice(s, r) && r != first, seen)
    })
    .await?;
    read()
        .await
        .1
        .ok_or_else(|| "records/s went blank".to_string())
}

async fn wait_number(page: &Client, css: &str) -> Result<u64, String> {
    wait_page(&format!("a number in {css}"), || async {
        let text = text_of(page, css).await.unwrap_or_default();
        (text.parse::<u64>().is_ok(), text)
    })
    .await?;
    let text = text_of(page, css).await.unwrap_or_default();
    text.parse::<u64>()
        .map_err(|e| format!("{css} showed {text:?}: {e}"))
}

async fn click(page: &Client, css: &str) -> Result<(), String> {
    let element = page
        .find(Locator::Css(css))
        .await
        .map_err(|e| format!("find {css}: {e}"))?;
    element
        .click()
        .await
        .map_err(|e| format!("click {css}: {e}"))
}

/// Where a failure screenshot goes: a directory that outlives the test's temp dirs.
fn failure_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("teraslice-ui-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

/// Closes the browser session; on a failed step, saves the page's screenshot first and fails
/// the test with the step's message and the screenshot's path.
async fn finish(page: Client, result: Result<(), String>) {
    if let Err(e) = result {
        let path = failure_dir().join("failure.png");
        let saved = screenshot(&page, &path).await;
        let _ = page.close().await;
        panic!("{e}\nscreenshot: {} ({saved:?})", path.display());
    }
    let _ = page.close().await;
}

#[tokio::test]
async fn the_web_view_shows_progress_and_stops_a_running_job() {
    let driver = Driver::start();
    let m = NativeMaster::start();
    let job = json!({
        "name": "ui-endless", "lifecycle": "persistent", "workers": 1,
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "delay", "ms": 100},
            {"_op": "noop"}
        ]
    });
    let ex_id = m.submit(&job).await;
    m.wait_workers(&ex_id, 1).await;

    let page = driver.session().await;
    let result = stop_from_the_page(&page, &m, &ex_id).await;
    finish(page, result).await;
    assert_eq!(m.status_of(&ex_id).await, "stopped", "the master agrees");
}

/// A persistent job whose every slice fails (file_exporter cannot write below a missing
/// directory): the page counts the failures and lists the slices in error with the op's message.
#[tokio::test]
async fn the_web_view_lists_an_executions_slice_errors() {
    let driver = Driver::start();
    let m = NativeMaster::start();
    let job = json!({
        "name": "ui-failing", "lifecycle": "persistent", "workers": 1, "max_retries": 0,
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "delay", "ms": 100},
            {"_op": "file_exporter", "path": "out", "file_per_slice": false,
             "extension": "/missing/x"}
        ]
    });
    let ex_id = m.submit(&job).await;
    m.wait_workers(&ex_id, 1).await;

    let page = driver.session().await;
    let result = errors_on_the_page(&page, &m, &ex_id).await;
    finish(page, result).await;
}

async fn errors_on_the_page(page: &Client, m: &NativeMaster, ex_id: &str) -> Result<(), String> {
    page.goto(&format!("{}/ui", m.url))
        .await
        .map_err(|e| e.to_string())?;
    let row = format!("tr[data-ex-id=\"{ex_id}\"]");
    wait_page("failed slices counted on the page", || async {
        let failed = text_of(page, &format!("{row} td.failed")).await;
        let failed = failed.unwrap_or_default();
        (failed.parse::<u64>().is_ok_and(|n| n > 0), failed)
    })
    .await?;
    click(page, &row).await?;
    wait_page("the slice errors in the execution's detail", || async {
        let error = text_of(page, "#detail-errors tbody td.error").await;
        let error = error.unwrap_or_default();
        (error.contains("cannot write"), error)
    })
    .await
}
