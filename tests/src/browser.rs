//! A real browser for the console's tests: headless Chromium driven over the W3C WebDriver
//! protocol by `chromedriver` (Debian's `chromium` and `chromium-driver` packages, which
//! `cargo xtask test` installs when they are missing). Only the handful of commands the
//! tests need, spoken with the HTTP client the tests already use.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

/// The key under which WebDriver names an element.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_binary(env: &str, candidates: &[&str]) -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Ok(PathBuf::from(path));
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .with_context(|| {
            format!(
                "{} not found (looked at {candidates:?}; set {env}): run the suite with `cargo xtask test`, \
                 which installs Debian's chromium and chromium-driver, or install them by hand",
                candidates.first().copied().unwrap_or_default()
            )
        })
}

/// A chromedriver process and one browser session; both end when dropped.
pub struct Browser {
    http: reqwest::Client,
    session_url: String,
    driver: tokio::process::Child,
    _profile: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    pub async fn start() -> anyhow::Result<Self> {
        let chromium = find_binary(
            "CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        )?;
        let chromedriver = find_binary("CHROMEDRIVER", &["/usr/bin/chromedriver"])?;
        let port = free_port()?;
        let driver = tokio::process::Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", chromedriver.display()))?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        wait_until_ready(&http, &base).await?;
        let profile = TempDir(
            std::env::temp_dir().join(format!("console-test-{}", uuid::Uuid::new_v4().simple())),
        );
        std::fs::create_dir_all(&profile.0)?;
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    // As the machine notes require: no sandbox as root, and no background
                    // traffic (the network is closed and refuses it).
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--window-size=1280,2000",
                        format!("--user-data-dir={}", profile.0.display()),
                    ],
                },
            }},
        });
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await?
            .json()
            .await?;
        let session_id = created["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("chromedriver did not start a session: {created}"))?;
        Ok(Self {
            http,
            session_url: format!("{base}/session/{session_id}"),
            driver,
            _profile: profile,
        })
    }

    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.session_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await?.json().await?;
        if let Some(error) = response["value"]["error"].as_str() {
            bail!(
                "webdriver {path}: {error}: {}",
                response["value"]["message"]
            );
        }
        Ok(response["value"].clone())
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await?;
        Ok(())
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        Ok(self
            .command(reqwest::Method::GET, "/url", None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The first element matching a CSS selector, waiting up to 5 s for it to appear.
    pub async fn find(&self, selector: &str) -> anyhow::Result<Element> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let found = self
                .command(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({ "using": "css selector", "value": selector })),
                )
                .await;
            match found {
                Ok(value) => {
                    let id = value[ELEMENT_KEY]
                        .as_str()
                        .with_context(|| format!("no element id in {value}"))?;
                    return Ok(Element(id.to_owned()));
                }
                Err(error) if tokio::time::Instant::now() >= deadline => {
                    return Err(error.context(format!(
                        "finding {selector:?} on {}",
                        self.current_url().await.unwrap_or_default()
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub async fn click(&self, selector: &str) -> anyhow::Result<()> {
        let element = self.find(selector).await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .await?;
        Ok(())
    }

    pub async fn type_into(&self, selector: &str, text: &str) -> anyhow::Result<()> {
        let element = self.find(selector).await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        )
        .await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await?;
        Ok(())
    }

    /// The visible text of the first element matching `selector`.
    pub async fn text(&self, selector: &str) -> anyhow::Result<String> {
        self.read_element(selector, "text").await
    }

    /// The text of the first element matching `selector` once it contains `needle`, waiting up
    /// to 5 s. After a click that submits a form, the old page can still be there when the
    /// next read comes; an element both pages have would then be read from the old one.
    pub async fn text_containing(&self, selector: &str, needle: &str) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let text = self.text(selector).await?;
            if text.contains(needle) {
                return Ok(text);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("{selector:?} still reads {text:?}, without {needle:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The current value of a form field.
    pub async fn value(&self, selector: &str) -> anyhow::Result<String> {
        self.read_element(selector, "property/value").await
    }

    /// Reads `what` of the first element matching `selector`. A click that submits a form
    /// returns before the next page replaces the current one, so an element found on the
    /// old page may go stale: it is then found again on the new one.
    async fn read_element(&self, selector: &str, what: &str) -> anyhow::Result<String> {
        let mut attempts = 0;
        loop {
            let element = self.find(selector).await?;
            match self
                .command(
                    reqwest::Method::GET,
                    &format!("/element/{}/{what}", element.0),
                    None,
                )
                .await
            {
                Ok(value) => return Ok(value.as_str().unwrap_or_default().to_owned()),
                Err(error) if attempts < 20 && error.to_string().contains("stale element") => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Whether anything on the page matches `selector` (no waiting).
    pub async fn exists(&self, selector: &str) -> anyhow::Result<bool> {
        let found = self
            .command(
                reqwest::Method::POST,
                "/elements",
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .await?;
        Ok(found
            .as_array()
            .is_some_and(|elements| !elements.is_empty()))
    }

    /// The browser's cookies as a `Cookie` header value, to fetch a download the way the
    /// browser would.
    pub async fn cookie_header(&self) -> anyhow::Result<String> {
        let cookies = self.command(reqwest::Method::GET, "/cookie", None).await?;
        Ok(cookies
            .as_array()
            .map(|cookies| {
                cookies
                    .iter()
                    .map(|cookie| {
                        format!(
                            "{}={}",
                            cookie["name"].as_str().unwrap_or_default(),
                            cookie["value"].as_str().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default())
    }

    /// Saves a PNG of the page (for the docs).
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let encoded = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await?;
        save_png(&encoded, path)
    }

    pub async fn close(mut self) {
        let _ = self.http.delete(&self.session_url).send().await;
        let _ = self.driver.kill().await;
    }
}

fn save_png(encoded: &Value, path: &Path) -> anyhow::Result<()> {
    use base64::Engine as _;
    let png =
        base64::engine::general_purpose::STANDARD.decode(encoded.as_str().unwrap_or_default())?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, png)?;
    Ok(())
}

async fn wait_until_ready(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = http.get(format!("{base}/status")).send().await {
            let status: Value = response.json().await.unwrap_or_default();
            if status["value"]["ready"].as_bool() == Some(true) {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("chromedriver did not become ready at {base}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
