//! The platform as processes, laid out as in production: two gateway replicas behind a
//! client that balances over them, two directory replicas (one runs the projection under the
//! leader lock, the other stands by), one license service and one audit service. Each process
//! is this executable started as `scim-chaos service <name>`, which runs the service's own
//! `serve_from_env`: the same code, signals and drain as the service binaries.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

use crate::infra::{free_port, terminate};

/// The operator credential of the chaos stack (sixteen characters or more, as the services
/// require without the development flag).
pub const ADMIN_TOKEN: &str = "chaos-operator-credential";

/// How long a (re)started service may take to answer `/readyz` with 200.
const READY_DEADLINE: Duration = Duration::from_secs(60);
/// How long a service is given to drain after SIGTERM before it is killed.
const DRAIN_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Gateway,
    Directory,
    License,
    Audit,
}

impl Role {
    /// The argument of `scim-chaos service`.
    pub fn service_name(self) -> &'static str {
        match self {
            Role::Gateway => "scim-gateway",
            Role::Directory => "directory-service",
            Role::License => "license-service",
            Role::Audit => "audit-service",
        }
    }

    pub fn from_service_name(name: &str) -> Option<Self> {
        [Role::Gateway, Role::Directory, Role::License, Role::Audit]
            .into_iter()
            .find(|role| role.service_name() == name)
    }
}

pub struct ServiceProcess {
    pub name: String,
    pub role: Role,
    env: Vec<(String, String)>,
    /// The ops port: `/readyz`.
    pub metrics_addr: SocketAddr,
    log: PathBuf,
    child: Option<Child>,
}

impl ServiceProcess {
    fn spawn(&mut self, exe: &Path) -> anyhow::Result<()> {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(exe)
            .args(["service", self.role.service_name()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.name))?;
        self.child = Some(child);
        Ok(())
    }

    pub async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let url = format!("http://{}/readyz", self.metrics_addr);
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + READY_DEADLINE;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!(
                    "{} exited during start-up ({status}); see {}",
                    self.name,
                    self.log.display()
                );
            }
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "{} not ready within {READY_DEADLINE:?}; see {}",
                    self.name,
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the process died on its own (a healthy service never exits).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|child| child.try_wait().ok().flatten())
    }
}

/// Where each service keeps its data.
#[derive(Debug, Clone)]
pub struct DatabaseUrls {
    pub directory: String,
    pub license: String,
    pub audit: String,
}

pub struct StackLayout<'a> {
    pub exe: &'a Path,
    pub log_dir: &'a Path,
    pub namespace: &'a str,
    pub nats_url: &'a str,
    pub stream_replicas: usize,
    pub databases: &'a DatabaseUrls,
}

pub struct Stack {
    exe: PathBuf,
    pub services: Vec<ServiceProcess>,
    pub gateway_urls: Vec<String>,
    pub directory_grpc: String,
    pub license_grpc: String,
    /// The CA of the stack's certificates, for the operator's calls.
    pub ca_pem: Vec<u8>,
}

impl Stack {
    /// Starts every service and returns once each is ready; the first directory replica holds
    /// the projection lock before the second starts, so `directory-0` is the leader.
    pub async fn start(layout: &StackLayout<'_>) -> anyhow::Result<Self> {
        let common = vec![
            ("NATS_URL".to_owned(), layout.nats_url.to_owned()),
            ("EVENT_NAMESPACE".to_owned(), layout.namespace.to_owned()),
            (
                "NATS_STREAM_REPLICAS".to_owned(),
                layout.stream_replicas.to_string(),
            ),
            ("ADMIN_TOKEN".to_owned(), ADMIN_TOKEN.to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        // Each role's certificate, from a CA of this run's own.
        let pki_dir = layout.log_dir.join("pki");
        let roles = [Role::Gateway, Role::Directory, Role::License, Role::Audit];
        let identities = roles.map(Role::service_name);
        let pki = service_pki::issue("scim-chaos CA", &identities, &["localhost", "127.0.0.1"])?;
        pki.write(&pki_dir)?;
        let mut services = Vec::new();
        let mut process = |name: &str, role: Role, extra: Vec<(String, String)>| {
            let metrics_port = free_port()?;
            let metrics_var = match role {
                Role::Gateway => "GATEWAY_METRICS_ADDR",
                Role::Directory => "DIRECTORY_METRICS_ADDR",
                Role::License => "LICENSE_METRICS_ADDR",
                Role::Audit => "AUDIT_METRICS_ADDR",
            };
            let metrics_addr = SocketAddr::from(([127, 0, 0, 1], metrics_port));
            let mut env = common.clone();
            env.push((metrics_var.to_owned(), metrics_addr.to_string()));
            let tls = service_pki::service_files(&pki_dir, role.service_name());
            for (variable, path) in [
                (service_kit::grpc_tls::CERT_VAR, tls.cert),
                (service_kit::grpc_tls::KEY_VAR, tls.key),
                (service_kit::grpc_tls::CA_VAR, tls.ca),
            ] {
                env.push((variable.to_owned(), path.display().to_string()));
            }
            env.extend(extra);
            services.push(ServiceProcess {
                name: name.to_owned(),
                role,
                env,
                metrics_addr,
                log: layout.log_dir.join(format!("{name}.log")),
                child: None,
            });
            anyhow::Ok(())
        };
        let grpc = || -> anyhow::Result<String> { Ok(format!("127.0.0.1:{}", free_port()?)) };

        let directory_addrs = [grpc()?, grpc()?];
        for (index, addr) in directory_addrs.iter().enumerate() {
            process(
                &format!("directory-{index}"),
                Role::Directory,
                vec![
                    (
                        "DIRECTORY_DATABASE_URL".into(),
                        layout.databases.directory.clone(),
                    ),
                    ("DIRECTORY_GRPC_ADDR".into(), addr.clone()),
                ],
            )?;
        }
        let license_addr = grpc()?;
        process(
            "license",
            Role::License,
            vec![
                (
                    "LICENSE_DATABASE_URL".into(),
                    layout.databases.license.clone(),
                ),
                ("LICENSE_GRPC_ADDR".into(), license_addr.clone()),
            ],
        )?;
        process(
            "audit",
            Role::Audit,
            vec![
                ("AUDIT_DATABASE_URL".into(), layout.databases.audit.clone()),
                ("AUDIT_GRPC_ADDR".into(), grpc()?),
            ],
        )?;
        let directory_urls = directory_addrs
            .iter()
            .map(|addr| format!("https://{addr}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut gateway_urls = Vec::new();
        for index in 0..2 {
            let http = grpc()?;
            let base_url = format!("http://{http}/scim/v2");
            process(
                &format!("gateway-{index}"),
                Role::Gateway,
                vec![
                    ("GATEWAY_HTTP_ADDR".into(), http),
                    ("GATEWAY_PUBLIC_BASE_URL".into(), base_url.clone()),
                    ("DIRECTORY_GRPC_URL".into(), directory_urls.clone()),
                ],
            )?;
            gateway_urls.push(base_url);
        }

        let mut stack = Self {
            exe: layout.exe.to_path_buf(),
            services,
            gateway_urls,
            directory_grpc: format!("https://{}", directory_addrs[0]),
            license_grpc: format!("https://{license_addr}"),
            ca_pem: pki.ca_pem.clone().into_bytes(),
        };
        // The first directory replica creates the stream and takes the leader lock alone.
        stack.start_service("directory-0").await?;
        wait_for_projection_leader(&layout.databases.directory).await?;
        stack.start_service("directory-1").await?;
        for name in ["license", "audit", "gateway-0", "gateway-1"] {
            let index = stack.index(name)?;
            stack.services[index].spawn(&stack.exe)?;
        }
        for service in &mut stack.services {
            service.wait_ready().await?;
        }
        Ok(stack)
    }

    fn index(&self, name: &str) -> anyhow::Result<usize> {
        self.services
            .iter()
            .position(|service| service.name == name)
            .with_context(|| format!("no service {name}"))
    }

    pub fn service(&mut self, name: &str) -> anyhow::Result<&mut ServiceProcess> {
        let index = self.index(name)?;
        Ok(&mut self.services[index])
    }

    /// Starts a service that is not running and waits until it is ready.
    pub async fn start_service(&mut self, name: &str) -> anyhow::Result<()> {
        let exe = self.exe.clone();
        let service = self.service(name)?;
        service.spawn(&exe)?;
        service.wait_ready().await
    }

    /// SIGKILL: no drain, no goodbye, as an OOM kill or a lost node.
    pub async fn kill(&mut self, name: &str) -> anyhow::Result<()> {
        let service = self.service(name)?;
        if let Some(mut child) = service.child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// SIGTERM, as Kubernetes stops a pod: the exit status when the service drained within the
    /// grace period, `None` when it had to be killed.
    pub async fn terminate(&mut self, name: &str) -> anyhow::Result<Option<ExitStatus>> {
        let service = self.service(name)?;
        Ok(match service.child.take() {
            Some(mut child) => terminate(&mut child, DRAIN_GRACE).await,
            None => None,
        })
    }

    /// The names of services that died without being told to.
    pub fn crashed(&mut self) -> Vec<String> {
        self.services
            .iter_mut()
            .filter_map(|service| {
                service
                    .exited()
                    .map(|status| format!("{} ({status})", service.name))
            })
            .collect()
    }

    /// Stops every service, gateways first, each with SIGTERM.
    pub async fn stop(&mut self) {
        for name in [
            "gateway-0",
            "gateway-1",
            "license",
            "audit",
            "directory-1",
            "directory-0",
        ] {
            let _ = self.terminate(name).await;
        }
    }
}

/// Waits until a directory replica holds the projection's leader lock: a session-level
/// advisory lock, seen on two polls in a row by the same backend (the outbox relay's
/// transaction-level lock comes and goes).
async fn wait_for_projection_leader(database_url: &str) -> anyhow::Result<()> {
    let pool = service_kit::postgres::connect(database_url, 1).await?;
    let deadline = tokio::time::Instant::now() + READY_DEADLINE;
    let mut previous: Option<i32> = None;
    loop {
        let holder: Option<i32> = sqlx::query_scalar(
            "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database() \
             ORDER BY l.pid LIMIT 1",
        )
        .fetch_optional(&pool)
        .await?;
        if holder.is_some() && holder == previous {
            pool.close().await;
            return Ok(());
        }
        previous = holder;
        if tokio::time::Instant::now() > deadline {
            bail!("no directory replica took the projection lock within {READY_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
