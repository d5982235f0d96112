//! Test kit: boots the whole platform in-process (gateway, directory,
//! license and audit services) against the real NATS and Postgres, isolated
//! per test by a random event namespace and fresh databases.

pub mod browser;
pub mod console;
mod leftovers;
pub mod python;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use event_store::access::Service;
use scim_rpc::account::account_admin_client::AccountAdminClient;
use scim_rpc::account::{CreateScimConfigRequest, CreateTenantRequest, IssueTokenRequest};
use scim_rpc::audit::audit_query_client::AuditQueryClient;
use scim_rpc::audit::{AuditQueryRequest, AuditRecord};
use scim_rpc::license::UpsertPoolRequest;
use scim_rpc::license::license_admin_client::LicenseAdminClient;
use scim_rpc::quarantine::quarantine_admin_client::QuarantineAdminClient;
use serde_json::Value;
use service_kit::admin_auth::OperatorCredential;
use service_kit::callers::{
    ACCOUNT_CENTER, AUDIT_SERVICE, DIRECTORY_SERVICE, LICENSE_SERVICE, SCIM_GATEWAY,
};
use service_kit::config::CommonConfig;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub use test_support::ADMIN_TOKEN;

pub type Admin<C> = C;

pub use test_support::maintenance_url as maintenance_database_url;
pub use test_support::nats_url;

/// `postgres://…/<name>` on the same server as the maintenance database.
pub fn database_url(name: &str) -> String {
    test_support::database_url(&maintenance_database_url(), name)
}

/// The settings every service of a test stack shares; each service's certificate is its own
/// (`grpc_tls`).
pub fn common_config(namespace: &str) -> CommonConfig {
    CommonConfig {
        nats_url: nats_url(),
        nats_credential: None,
        nats_tls_ca: None,
        event_namespace: namespace.to_owned(),
        stream_replicas: 1,
        admin_token: ADMIN_TOKEN.into(),
        allow_dev_admin_token: false,
        operator_credentials: Vec::new(),
        grpc_tls: None,
        otlp: Default::default(),
        allow_plaintext_network: false,
        log_filter: "warn".into(),
        log_json: false,
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Databases of one test stack.
#[derive(Debug, Clone)]
pub struct Databases {
    pub directory: String,
    pub license: String,
    pub audit: String,
    /// The account center's (admins, sign-in links, sessions).
    pub console: String,
}

impl Databases {
    pub fn random() -> Self {
        Self::for_stack(&leftovers::stack_id())
    }

    fn for_stack(id: &str) -> Self {
        Self {
            directory: format!("t_{id}_directory"),
            license: format!("t_{id}_license"),
            audit: format!("t_{id}_audit"),
            console: format!("t_{id}_console"),
        }
    }
}

/// One running platform. Dropping it stops every service.
pub struct TestStack {
    pub namespace: String,
    pub databases: Databases,
    pub gateway_urls: Vec<String>,
    /// Each gateway's ops endpoint (`/metrics`, `/healthz`, `/readyz`), in `gateway_urls` order.
    pub gateway_metrics_addrs: Vec<SocketAddr>,
    /// The first directory replica (the one that runs the projection at start).
    pub directory_addr: SocketAddr,
    pub directory_addrs: Vec<SocketAddr>,
    /// One runtime per directory replica, to kill one (see [`TestStack::kill_directory`]).
    directory_runtimes: Vec<Option<Replica>>,
    pub license_addrs: Vec<SocketAddr>,
    pub audit_addr: SocketAddr,
    /// The account center's base URL (`http://127.0.0.1:<port>`), when started.
    pub account_center_url: Option<String>,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Errors services ended with while the test ran: each fails the test (at `stop`, or
    /// when the stack is dropped).
    failures: Failures,
}

type Failures = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// How long a service may take to drain once the stack stops.
const DRAIN_DEADLINE: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct StackOptions {
    pub gateways: usize,
    pub license_services: usize,
    /// `GATEWAY_WRITE_RESPONSE_MAX_MEMBERS`; `None` keeps the default.
    pub write_response_max_members: Option<u32>,
    /// Directory replicas; every gateway balances over all of them.
    pub directories: usize,
    /// The gateways' per-tenant limits; `None` keeps the defaults.
    pub tenant_limits: Option<scim_gateway::TenantLimitSettings>,
    /// Also run the account center (the admin console and its API).
    pub account_center: bool,
    /// A NATS of the test's own (`test_support::NatsServer`) instead of the shared one, for
    /// tests that stop it.
    pub nats_url: Option<String>,
    /// `GATEWAY_AUTH_CACHE_SECONDS`; `None` keeps the default.
    pub auth_cache_ttl: Option<Duration>,
    /// `GATEWAY_AUTH_LOOKUPS_PER_SECOND`; `None` keeps the default.
    pub auth_lookups_per_second: Option<u32>,
    /// `OPERATOR_CREDENTIALS` of every service.
    pub operator_credentials: Vec<service_kit::admin_auth::NamedOperator>,
    /// Each service's own NATS login (`NATS_USER`, `NATS_PASSWORD`), for a server that
    /// enforces permissions; a service not listed connects without one.
    pub nats_credentials: Vec<(event_store::access::Service, service_kit::nats::Credential)>,
    /// The event namespace, when the test configured its NATS server for one; else a fresh
    /// one per stack.
    pub namespace: Option<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            gateways: 1,
            license_services: 1,
            write_response_max_members: None,
            directories: 1,
            tenant_limits: None,
            account_center: false,
            nats_url: None,
            auth_cache_ttl: None,
            auth_lookups_per_second: None,
            operator_credentials: Vec::new(),
            nats_credentials: Vec::new(),
            namespace: None,
        }
    }
}

impl TestStack {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(StackOptions::default()).await
    }

    pub async fn start_with(options: StackOptions) -> anyhow::Result<Self> {
        test_support::init_test_log();
        leftovers::sweep_once(&maintenance_database_url(), &nats_url()).await;
        let failures = Failures::default();
        let id = leftovers::stack_id();
        let namespace = options
            .namespace
            .clone()
            .unwrap_or_else(|| format!("t{id}"));
        let databases = Databases::for_stack(&id);
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        let common_config =
            |identity: &str, service: Option<event_store::access::Service>| CommonConfig {
                nats_url: options.nats_url.clone().unwrap_or_else(nats_url),
                nats_credential: options
                    .nats_credentials
                    .iter()
                    .find(|(named, _)| Some(*named) == service)
                    .map(|(_, credential)| credential.clone()),
                operator_credentials: options.operator_credentials.clone(),
                grpc_tls: Some(test_support::grpc_tls_files(identity)),
                ..common_config(&namespace)
            };

        let mut directory_addrs = Vec::new();
        let mut directory_runtimes = Vec::new();
        for _ in 0..options.directories.max(1) {
            let mut config = directory_service::Config::from_lookup(&test_support::minimal_env)?;
            config.common = common_config(DIRECTORY_SERVICE, Some(Service::Directory));
            config.database_url = database_url(&databases.directory);
            config.grpc_addr = loopback();
            config.metrics_addr = loopback();
            config.database_max_connections = 10;
            let (replica, addr) =
                Replica::start_directory(config, shutdown.clone(), failures.clone()).await?;
            directory_addrs.push(addr);
            directory_runtimes.push(Some(replica));
            if directory_runtimes.len() == 1 {
                // The first replica runs the projection: it holds the lock before the next
                // replica starts.
                let directory_db = databases.directory.clone();
                eventually(Duration::from_secs(10), || {
                    let directory_db = directory_db.clone();
                    async move { projection_lock_holder(&directory_db).await }
                })
                .await
                .context("the first directory replica never took the projection lock")?;
            }
        }
        let directory_addr = directory_addrs[0];

        let mut license_addrs = Vec::new();
        for _ in 0..options.license_services.max(1) {
            let license = license_service::Application::build(license_service::Config {
                common: common_config(LICENSE_SERVICE, Some(Service::License)),
                database_url: database_url(&databases.license),
                grpc_addr: loopback(),
                metrics_addr: loopback(),
            })
            .await
            .context("license")?;
            license_addrs.push(license.grpc_addr());
            tasks.push(spawn(
                "license",
                license.run_until_stopped(shutdown.clone()),
                &failures,
            ));
        }

        let audit = audit_service::Application::build(audit_service::Config {
            common: common_config(AUDIT_SERVICE, Some(Service::Audit)),
            database_url: database_url(&databases.audit),
            grpc_addr: loopback(),
            metrics_addr: loopback(),
        })
        .await
        .context("audit")?;
        let audit_addr = audit.grpc_addr();
        tasks.push(spawn(
            "audit",
            audit.run_until_stopped(shutdown.clone()),
            &failures,
        ));

        let mut gateway_urls = Vec::new();
        let mut gateway_metrics_addrs = Vec::new();
        for _ in 0..options.gateways.max(1) {
            let listener = tokio::net::TcpListener::bind(loopback()).await?;
            let addr = listener.local_addr()?;
            let mut config = scim_gateway::Config::from_lookup(&test_support::minimal_env)?;
            config.common = common_config(SCIM_GATEWAY, Some(Service::Gateway));
            config.public_base_url = format!("http://{addr}/scim/v2");
            config.metrics_addr = loopback();
            config.directory_url = directory_addrs
                .iter()
                .map(|addr| format!("https://{addr}"))
                .collect::<Vec<_>>()
                .join(",");
            if let Some(max) = options.write_response_max_members {
                config.write_response_max_members = max;
            }
            if let Some(limits) = options.tenant_limits {
                config.tenant_limits = limits;
            }
            if let Some(ttl) = options.auth_cache_ttl {
                config.auth_cache_ttl = ttl;
            }
            if let Some(per_second) = options.auth_lookups_per_second {
                config.auth_lookups_per_second = per_second;
            }
            let gateway = scim_gateway::Application::build_on(config, listener)
                .await
                .context("gateway")?;
            gateway_urls.push(format!("http://{addr}/scim/v2"));
            gateway_metrics_addrs.push(gateway.metrics_addr()?);
            tasks.push(spawn(
                "gateway",
                gateway.run_until_stopped(shutdown.clone()),
                &failures,
            ));
        }

        let account_center_url = if options.account_center {
            let listener = tokio::net::TcpListener::bind(loopback()).await?;
            let url = format!("http://{}", listener.local_addr()?);
            let mut config = account_center::Config::from_lookup(&test_support::minimal_env)?;
            // The account center does not use NATS.
            config.common = common_config(ACCOUNT_CENTER, None);
            config.database_url = database_url(&databases.console);
            config.metrics_addr = loopback();
            config.public_url = url.clone();
            config.scim_base_url = gateway_urls[0].clone();
            config.backends = account_center::BackendUrls {
                directory: format!("https://{directory_addr}"),
                license: format!("https://{}", license_addrs[0]),
                audit: format!("https://{audit_addr}"),
            };
            let console = account_center::Application::build_on(config, listener)
                .await
                .context("account center")?;
            tasks.push(spawn(
                "account center",
                console.run_until_stopped(shutdown.clone()),
                &failures,
            ));
            Some(url)
        } else {
            None
        };

        Ok(Self {
            namespace,
            databases,
            account_center_url,
            gateway_urls,
            gateway_metrics_addrs,
            directory_addr,
            directory_addrs,
            directory_runtimes,
            license_addrs,
            audit_addr,
            shutdown,
            tasks,
            failures,
        })
    }

    /// Kills directory replica `index` as a crash would: no drain, its connections (and with
    /// them its projection lock) simply go away.
    pub async fn kill_directory(&mut self, index: usize) {
        // Dropping the replica lets its runtime go: every task ends, every connection closes.
        drop(
            self.directory_runtimes
                .get_mut(index)
                .and_then(Option::take),
        );
    }

    /// The Postgres backend pid holding the directory's projection lock, if any.
    pub async fn directory_projection_holder(&self) -> anyhow::Result<Option<i32>> {
        projection_lock_holder(&self.databases.directory).await
    }

    /// The quarantine admin API of one event-consuming service.
    pub async fn quarantine_admin(
        &self,
        service: Projection,
    ) -> anyhow::Result<QuarantineAdminClient<InterceptedService<Channel, OperatorCredential>>>
    {
        let addr = match service {
            Projection::Directory => self.directory_addr,
            Projection::License => self.license_addrs[0],
            Projection::Audit => self.audit_addr,
        };
        Ok(QuarantineAdminClient::with_interceptor(
            Self::channel(addr).await?,
            OperatorCredential::new(ADMIN_TOKEN)?,
        ))
    }

    pub fn base_url(&self) -> &str {
        &self.gateway_urls[0]
    }

    /// A channel as an operator connects: TLS, no client certificate (the credential goes
    /// in each call).
    async fn channel(addr: SocketAddr) -> anyhow::Result<Channel> {
        Ok(test_support::anonymous_channel(addr).await)
    }

    pub async fn account_admin(
        &self,
    ) -> anyhow::Result<AccountAdminClient<InterceptedService<Channel, OperatorCredential>>> {
        self.account_admin_as(ADMIN_TOKEN).await
    }

    /// The directory's admin API called with the operator credential `secret`.
    pub async fn account_admin_as(
        &self,
        secret: &str,
    ) -> anyhow::Result<AccountAdminClient<InterceptedService<Channel, OperatorCredential>>> {
        Ok(AccountAdminClient::with_interceptor(
            Self::channel(self.directory_addr).await?,
            OperatorCredential::new(secret)?,
        ))
    }

    pub async fn license_admin(
        &self,
        index: usize,
    ) -> anyhow::Result<LicenseAdminClient<InterceptedService<Channel, OperatorCredential>>> {
        Ok(LicenseAdminClient::with_interceptor(
            Self::channel(self.license_addrs[index]).await?,
            OperatorCredential::new(ADMIN_TOKEN)?,
        ))
    }

    pub async fn audit(
        &self,
    ) -> anyhow::Result<AuditQueryClient<InterceptedService<Channel, OperatorCredential>>> {
        Ok(AuditQueryClient::with_interceptor(
            Self::channel(self.audit_addr).await?,
            OperatorCredential::new(ADMIN_TOKEN)?,
        ))
    }

    /// The provisioning-log records `query` selects (up to its `page_size`).
    pub async fn audit_records(
        &self,
        query: AuditQueryRequest,
    ) -> anyhow::Result<Vec<AuditRecord>> {
        Ok(self.audit().await?.query(query).await?.into_inner().records)
    }

    /// The records `query` selects, once `ready` holds for them: the audit projection is
    /// asynchronous, so a test waits for what it expects instead of reading once.
    pub async fn audit_records_when(
        &self,
        query: AuditQueryRequest,
        timeout: Duration,
        ready: impl Fn(&[AuditRecord]) -> bool,
    ) -> anyhow::Result<Vec<AuditRecord>> {
        let ready = &ready;
        eventually(timeout, || {
            let query = query.clone();
            async move {
                let records = self.audit_records(query).await?;
                Ok(ready(&records).then_some(records))
            }
        })
        .await
    }

    /// A tenant with one SCIM configuration and a token for it.
    pub async fn tenant(&self, name: &str) -> anyhow::Result<Tenant> {
        let mut admin = self.account_admin().await?;
        let tenant = admin
            .create_tenant(CreateTenantRequest { name: name.into() })
            .await?
            .into_inner();
        let config = admin
            .create_scim_config(CreateScimConfigRequest {
                tenant_id: tenant.id.clone(),
                name: "Entra ID".into(),
                ..CreateScimConfigRequest::default()
            })
            .await?
            .into_inner();
        let token = admin
            .issue_token(IssueTokenRequest {
                config_id: config.id.clone(),
                valid_days: 0,
            })
            .await?
            .into_inner();
        Ok(Tenant {
            tenant_id: tenant.id,
            config_id: config.id,
            token: token.secret,
        })
    }

    pub async fn pool(
        &self,
        tenant: &Tenant,
        seats: u32,
        auto_assign: bool,
    ) -> anyhow::Result<String> {
        let pool = self
            .license_admin(0)
            .await?
            .upsert_pool(UpsertPoolRequest {
                tenant_id: tenant.tenant_id.clone(),
                config_id: tenant.config_id.clone(),
                application_instance: "sales-navigator".into(),
                license_type: "core".into(),
                seats,
                auto_assign,
            })
            .await?
            .into_inner();
        Ok(pool.id)
    }

    pub fn client(&self, tenant: &Tenant) -> ScimClient {
        self.client_at(0, tenant)
    }

    pub fn client_at(&self, gateway: usize, tenant: &Tenant) -> ScimClient {
        ScimClient {
            http: reqwest::Client::new(),
            base_url: self.gateway_urls[gateway].clone(),
            token: Some(tenant.token.clone()),
        }
    }

    /// Stops every service and fails the test unless each drains within [`DRAIN_DEADLINE`]
    /// and ends without an error (a killed directory replica is not waited for).
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        for task in self.tasks.drain(..) {
            let ended = tokio::time::timeout(DRAIN_DEADLINE, task).await;
            assert!(
                ended.is_ok(),
                "a service did not drain within {DRAIN_DEADLINE:?}"
            );
            // An error the service returned is already recorded; a panic is not.
            if let Ok(Err(error)) = ended {
                record_failure(&self.failures, format!("a service task panicked: {error}"));
            }
        }
        for mut replica in self.directory_runtimes.drain(..).flatten() {
            let ended = tokio::time::timeout(DRAIN_DEADLINE, &mut replica.stopped).await;
            assert!(
                ended.is_ok(),
                "a directory replica did not drain within {DRAIN_DEADLINE:?}"
            );
        }
        self.assert_no_failures();
    }

    fn assert_no_failures(&self) {
        let failures = self
            .failures
            .lock()
            .map(|failures| failures.clone())
            .unwrap_or_default();
        assert!(failures.is_empty(), "services failed: {failures:#?}");
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // A test that ends without `stop` still fails for a service that failed under it.
        if !std::thread::panicking() {
            self.assert_no_failures();
        }
    }
}

/// Runs a service; an error it ends with is recorded, to fail the test.
fn spawn(
    name: &'static str,
    future: impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    failures: &Failures,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let failures = failures.clone();
    tokio::spawn(async move {
        let result = future.await;
        if let Err(error) = &result {
            record_failure(
                &failures,
                format!("{name} stopped with an error: {error:#}"),
            );
        }
        result
    })
}

fn record_failure(failures: &Failures, failure: String) {
    eprintln!("{failure}");
    if let Ok(mut failures) = failures.lock() {
        failures.push(failure);
    }
}

/// A service replica on a runtime of its own, so that killing it ends every task it spawned
/// and closes every connection it holds, as the end of a process would.
struct Replica {
    runtime: Option<tokio::runtime::Runtime>,
    stopped: tokio::sync::oneshot::Receiver<()>,
}

impl Drop for Replica {
    /// A runtime may not be dropped inside another one (the tests' own), only let go of.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Replica {
    async fn start_directory(
        config: directory_service::Config,
        shutdown: CancellationToken,
        failures: Failures,
    ) -> anyhow::Result<(Self, SocketAddr)> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let (stopped_tx, stopped) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            let directory = match directory_service::Application::build(config).await {
                Ok(directory) => directory,
                Err(error) => {
                    let _ = addr_tx.send(Err(error));
                    return;
                }
            };
            let addr = directory.grpc_addr().map_err(anyhow::Error::from);
            let _ = addr_tx.send(addr);
            if let Err(error) = directory.run_until_stopped(shutdown).await {
                record_failure(
                    &failures,
                    format!("directory stopped with an error: {error:#}"),
                );
            }
            let _ = stopped_tx.send(());
        });
        let addr = addr_rx
            .await
            .context("directory replica")?
            .context("directory")?;
        Ok((
            Self {
                runtime: Some(runtime),
                stopped,
            },
            addr,
        ))
    }
}

/// The backend holding an advisory lock (the projection leader's) in database `name`.
async fn projection_lock_holder(name: &str) -> anyhow::Result<Option<i32>> {
    let pool = service_kit::postgres::connect(&maintenance_database_url(), 1).await?;
    let holder = sqlx::query_scalar(
        "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
         WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1 LIMIT 1",
    )
    .bind(name)
    .fetch_optional(&pool)
    .await?;
    pool.close().await;
    Ok(holder)
}

/// The services that run a projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    Directory,
    License,
    Audit,
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub tenant_id: String,
    pub config_id: String,
    pub token: String,
}

/// A minimal SCIM client for tests.
#[derive(Clone)]
pub struct ScimClient {
    http: reqwest::Client,
    pub base_url: String,
    pub token: Option<String>,
}

pub struct ScimResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl ScimResponse {
    pub fn etag(&self) -> Option<String> {
        self.headers
            .get("etag")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }
}

impl ScimClient {
    pub fn with_token(&self, token: Option<&str>) -> Self {
        Self {
            http: self.http.clone(),
            base_url: self.base_url.clone(),
            token: token.map(str::to_owned),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<ScimResponse> {
        self.send_bytes(
            method,
            path,
            body.map(|body| body.to_string().into_bytes()),
            headers,
        )
        .await
    }

    /// Like [`ScimClient::send`] with the body as raw bytes (invalid JSON, invalid UTF-8).
    pub async fn send_bytes(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<ScimResponse> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header("content-type", "application/scim+json");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("non-JSON body ({status}): {text}"))?
        };
        Ok(ScimResponse {
            status,
            headers,
            body,
        })
    }

    /// Sends a request that must be answered `status`; the error names the request and the
    /// body it got instead.
    pub async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        status: u16,
    ) -> anyhow::Result<ScimResponse> {
        let response = self.send(method.clone(), path, body, &[]).await?;
        anyhow::ensure!(
            response.status == status,
            "{method} {path}: expected {status}, got {}: {}",
            response.status,
            response.body
        );
        Ok(response)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<ScimResponse> {
        self.send(reqwest::Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<ScimResponse> {
        self.send(reqwest::Method::POST, path, Some(body), &[])
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> anyhow::Result<ScimResponse> {
        self.send(reqwest::Method::PUT, path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> anyhow::Result<ScimResponse> {
        self.send(reqwest::Method::PATCH, path, Some(body), &[])
            .await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<ScimResponse> {
        self.send(reqwest::Method::DELETE, path, None, &[]).await
    }

    /// Creates a user and returns its id.
    pub async fn create_user(&self, user_name: &str) -> anyhow::Result<String> {
        let response = self.post("/Users", &user_body(user_name)).await?;
        anyhow::ensure!(
            response.status == 201,
            "create {user_name}: {} {}",
            response.status,
            response.body
        );
        response.body["id"]
            .as_str()
            .map(str::to_owned)
            .context("created user has no id")
    }
}

pub fn user_body(user_name: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": true,
        "name": {"givenName": "Test", "familyName": user_name},
        "emails": [{"value": user_name, "type": "work", "primary": true}]
    })
}

pub fn patch_body(operations: Value) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    })
}

/// Percent-encodes a query-string value (a SCIM filter such as
/// `userName eq "a@b.c"`) the way IdPs send it: `%20` for spaces, `%22` for quotes.
pub fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => {
                out.push(char::from(byte));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Polls `check` until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("condition not met within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An audit query over `tenant`'s records, up to 1000; set the fields to narrow it.
pub fn audit_query(tenant: &Tenant) -> AuditQueryRequest {
    AuditQueryRequest {
        tenant_id: tenant.tenant_id.clone(),
        page_size: 1000,
        ..AuditQueryRequest::default()
    }
}

/// The `value`s of a group's `members`.
pub fn member_ids(group: &Value) -> std::collections::HashSet<String> {
    group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
