//! One scenario: a fresh stack, an IdP sync, one fault while the sync is in flight, then the
//! checks. Every scenario has its own NATS store, databases and event namespace.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use scim_events::Namespace;
use scim_rpc::account::account_admin_client::AccountAdminClient;
use scim_rpc::account::{CreateScimConfigRequest, CreateTenantRequest, IssueTokenRequest};
use scim_rpc::license::UpsertPoolRequest;
use scim_rpc::license::license_admin_client::LicenseAdminClient;
use service_kit::admin_auth::OperatorCredential;

use crate::checks::{self, Stores, Verdict};
use crate::infra::{Nats, Postgres};
use crate::stack::{ADMIN_TOKEN, DatabaseUrls, Stack, StackLayout};
use crate::workload::{self, ClientStats, Idp, Ledger, SyncPlan};

/// The faults, each injected once while the sync runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// SIGKILL one of the two gateway replicas, start it again.
    GatewayKill,
    /// SIGKILL the directory replica that runs the projection; the standby takes over.
    DirectoryLeaderKill,
    /// SIGKILL the license service, start it again.
    LicenseKill,
    /// SIGKILL the audit service, start it again.
    AuditKill,
    /// SIGKILL the single NATS node (file storage), start it again on the same store.
    NatsRestart,
    /// Crash PostgreSQL (`pg_ctl stop -m immediate`), start it again.
    PostgresRestart,
    /// SIGKILL one node of a three-node JetStream cluster (stream and bucket at three
    /// replicas), start it again.
    JetstreamNodeKill,
    /// SIGTERM each service in turn (a gateway, the directory leader, license, audit), as a
    /// rolling restart does: each must drain and exit 0, and the IdP must see no 5xx at all.
    RollingRestart,
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::GatewayKill,
        Fault::DirectoryLeaderKill,
        Fault::LicenseKill,
        Fault::AuditKill,
        Fault::NatsRestart,
        Fault::PostgresRestart,
        Fault::JetstreamNodeKill,
        Fault::RollingRestart,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::GatewayKill => "gateway-kill",
            Fault::DirectoryLeaderKill => "directory-leader-kill",
            Fault::LicenseKill => "license-kill",
            Fault::AuditKill => "audit-kill",
            Fault::NatsRestart => "nats-restart",
            Fault::PostgresRestart => "postgres-restart",
            Fault::JetstreamNodeKill => "jetstream-node-kill",
            Fault::RollingRestart => "rolling-restart",
        }
    }
}

/// Which PostgreSQL the scenarios use.
pub enum Database<'a> {
    /// A cluster of the run's own, which the Postgres scenario may crash.
    Private(&'a Postgres),
    /// A shared server (its maintenance URL): fine for every other scenario.
    Shared(String),
}

impl Database<'_> {
    fn url(&self, name: &str) -> String {
        match self {
            Database::Private(postgres) => postgres.url(name),
            Database::Shared(url) => with_database(url, name),
        }
    }
}

/// `postgres://user@host:port/<name>` on the server of `url`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{authority}/{name}")
}

pub struct Settings<'a> {
    pub plan: SyncPlan,
    pub seats: usize,
    /// The fault is injected once this share of the sync's requests is done.
    pub fault_at: f64,
    /// How long a killed process stays down before it is started again.
    pub down_for: Duration,
    /// Logs and NATS stores, one folder per scenario.
    pub work_dir: PathBuf,
    /// This executable (`scim-chaos`), which runs each service.
    pub exe: PathBuf,
    pub nats_server: PathBuf,
    pub database: Database<'a>,
}

pub struct Outcome {
    pub fault: Fault,
    pub acknowledged: usize,
    pub verdict: Verdict,
    /// From the fault to the first 2xx answer to a write sent after it.
    pub recovery: Option<Duration>,
    /// From the end of the sync until every consumer had caught up.
    pub drained: Duration,
    pub sync_time: Duration,
    pub client: String,
    pub samples: Vec<String>,
}

impl Outcome {
    pub fn line(&self) -> String {
        let verdict = if self.verdict.passed() {
            "ok"
        } else {
            "FAILED"
        };
        let recovery = self.recovery.map_or("none".to_owned(), |time| {
            format!("{:.1} s", time.as_secs_f64())
        });
        format!(
            "chaos {}: {verdict}; {} acknowledged writes, lost {}, duplicated {}; first 2xx after the fault {recovery}, lag 0 {:.1} s after the sync ({:.0} s); {}",
            self.fault.name(),
            self.acknowledged,
            self.verdict.lost,
            self.verdict.duplicated,
            self.drained.as_secs_f64(),
            self.sync_time.as_secs_f64(),
            self.client
        )
    }
}

pub async fn run(fault: Fault, settings: &Settings<'_>) -> anyhow::Result<Outcome> {
    if fault == Fault::PostgresRestart && !matches!(settings.database, Database::Private(_)) {
        anyhow::bail!("the postgres-restart scenario needs a private PostgreSQL");
    }
    let id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let namespace = Namespace::new(format!("chaos{id}"))?;
    let dir = settings.work_dir.join(format!("{}-{id}", fault.name()));
    std::fs::create_dir_all(&dir)?;
    let nodes = if fault == Fault::JetstreamNodeKill {
        3
    } else {
        1
    };
    let mut nats = Nats::start(settings.nats_server.clone(), &dir.join("nats"), nodes).await?;
    let names = [
        format!("chaos_{id}_directory"),
        format!("chaos_{id}_license"),
        format!("chaos_{id}_audit"),
        format!("chaos_{id}_rebuild"),
    ];
    let databases = DatabaseUrls {
        directory: settings.database.url(&names[0]),
        license: settings.database.url(&names[1]),
        audit: settings.database.url(&names[2]),
    };
    let nats_url = nats.url();
    let layout = StackLayout {
        exe: &settings.exe,
        log_dir: &dir,
        namespace: namespace.name(),
        nats_url: &nats_url,
        stream_replicas: nats.replicas(),
        databases: &databases,
    };
    let mut stack = Stack::start(&layout).await?;
    let outcome = drive(
        fault, settings, &mut stack, &mut nats, &namespace, &databases, &names[3],
    )
    .await;
    stack.stop().await;
    nats.stop().await;
    if outcome
        .as_ref()
        .is_ok_and(|outcome| outcome.verdict.passed())
    {
        drop_databases(&settings.database, &names).await;
        let _ = std::fs::remove_dir_all(dir.join("nats"));
    }
    outcome
}

async fn drive(
    fault: Fault,
    settings: &Settings<'_>,
    stack: &mut Stack,
    nats: &mut Nats,
    namespace: &Namespace,
    databases: &DatabaseUrls,
    rebuild_database: &str,
) -> anyhow::Result<Outcome> {
    let tenant = provision_tenant(stack, settings.seats).await?;
    let idp = Arc::new(Idp::new(
        stack.gateway_urls.clone(),
        tenant.token.clone(),
        settings.plan.concurrency,
    )?);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let started = Instant::now();
    let sync = tokio::spawn(workload::run_sync(
        idp.clone(),
        settings.plan,
        ledger.clone(),
    ));

    let threshold = (settings.plan.requests() as f64 * settings.fault_at) as u64;
    while idp.stats.done.load(Ordering::Relaxed) < threshold && !sync.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fault_at = Instant::now();
    let mut violations = inject(fault, settings, stack, nats).await?;
    sync.await.context("the sync task failed")?;
    let sync_time = started.elapsed();
    violations.extend(
        stack
            .crashed()
            .into_iter()
            .map(|name| format!("{name} died on its own")),
    );

    let pools = Pools::connect(databases).await?;
    let stores = Stores {
        nats_url: &nats.url(),
        namespace,
        tenant_id: &tenant.tenant_id,
        pool_id: &tenant.pool_id,
        seats: settings.seats,
        directory: &pools.directory,
        license: &pools.license,
        audit: &pools.audit,
        rebuild_url: &settings.database.url(rebuild_database),
    };
    let drained = checks::wait_for_drain(&stores).await?;
    // The sync is over: the ledger is ours alone.
    let ledger = std::mem::take(&mut *workload::lock(&ledger));
    let mut verdict = checks::verify(&stores, &ledger).await?;
    verdict.violations.extend(violations);
    let stats: &ClientStats = &idp.stats;
    if fault == Fault::RollingRestart && stats.server_errors.load(Ordering::Relaxed) > 0 {
        verdict.violations.push(format!(
            "{} requests were answered 5xx during a rolling restart",
            stats.server_errors.load(Ordering::Relaxed)
        ));
    }
    let abandoned = stats.abandoned.load(Ordering::Relaxed);
    if abandoned > 0 {
        verdict.violations.push(format!(
            "the IdP gave up on {abandoned} requests after retrying for minutes"
        ));
    }
    // Requests already in flight may still be answered from before the fault: recovery
    // counts from the first write sent after it.
    let recovery = ledger
        .acknowledged
        .iter()
        .filter(|acknowledged| acknowledged.sent >= fault_at)
        .map(|acknowledged| acknowledged.at - fault_at)
        .min();
    let client = format!(
        "client: {} retries ({} × 5xx, {} × 429, {} transport), {} refused",
        stats.retries.load(Ordering::Relaxed),
        stats.server_errors.load(Ordering::Relaxed),
        stats.throttled.load(Ordering::Relaxed),
        stats.transport_errors.load(Ordering::Relaxed),
        stats.refused.load(Ordering::Relaxed),
    );
    let samples = stats
        .samples
        .lock()
        .map(|samples| samples.clone())
        .unwrap_or_default();
    pools.close().await;
    Ok(Outcome {
        fault,
        acknowledged: ledger.acknowledged.len(),
        verdict,
        recovery,
        drained,
        sync_time,
        client,
        samples,
    })
}

/// Injects `fault` and, as Kubernetes would, starts what it killed again after
/// `settings.down_for`. Returns what went wrong in the fault's own terms (a service that did
/// not drain on SIGTERM).
async fn inject(
    fault: Fault,
    settings: &Settings<'_>,
    stack: &mut Stack,
    nats: &mut Nats,
) -> anyhow::Result<Vec<String>> {
    let mut violations = Vec::new();
    match fault {
        Fault::GatewayKill | Fault::DirectoryLeaderKill | Fault::LicenseKill | Fault::AuditKill => {
            let name = match fault {
                Fault::GatewayKill => "gateway-0",
                Fault::DirectoryLeaderKill => "directory-0",
                Fault::LicenseKill => "license",
                _ => "audit",
            };
            stack.kill(name).await?;
            tokio::time::sleep(settings.down_for).await;
            stack.start_service(name).await?;
        }
        Fault::NatsRestart | Fault::JetstreamNodeKill => {
            nats.kill(0).await?;
            tokio::time::sleep(settings.down_for).await;
            nats.restart(0).await?;
        }
        Fault::PostgresRestart => {
            if let Database::Private(postgres) = &settings.database {
                postgres.crash_and_restart(settings.down_for).await?;
            }
        }
        Fault::RollingRestart => {
            for name in ["gateway-0", "directory-0", "license", "audit"] {
                match stack.terminate(name).await? {
                    Some(status) if status.success() => {}
                    Some(status) => violations.push(format!("{name} exited {status} on SIGTERM")),
                    None => violations.push(format!("{name} did not drain after SIGTERM")),
                }
                stack.start_service(name).await?;
                tokio::time::sleep(settings.down_for).await;
            }
        }
    }
    Ok(violations)
}

struct Tenant {
    tenant_id: String,
    pool_id: String,
    token: String,
}

/// A tenant, its SCIM configuration and token, and a pool with automatic assignment, through
/// the operator's gRPC APIs (what `scimctl` does).
async fn provision_tenant(stack: &Stack, seats: usize) -> anyhow::Result<Tenant> {
    let credential = OperatorCredential::new(ADMIN_TOKEN)?;
    let channel =
        service_kit::grpc_tls::anonymous_endpoint(&stack.directory_grpc, stack.ca_pem.clone())?
            .connect()
            .await?;
    let mut accounts = AccountAdminClient::with_interceptor(channel, credential.clone());
    let tenant = accounts
        .create_tenant(CreateTenantRequest {
            name: "Chaos Corp".into(),
        })
        .await?
        .into_inner();
    let config = accounts
        .create_scim_config(CreateScimConfigRequest {
            tenant_id: tenant.id.clone(),
            name: "Entra ID".into(),
            ..CreateScimConfigRequest::default()
        })
        .await?
        .into_inner();
    let token = accounts
        .issue_token(IssueTokenRequest {
            config_id: config.id.clone(),
            valid_days: 0,
        })
        .await?
        .into_inner();
    let channel =
        service_kit::grpc_tls::anonymous_endpoint(&stack.license_grpc, stack.ca_pem.clone())?
            .connect()
            .await?;
    let pool = LicenseAdminClient::with_interceptor(channel, credential)
        .upsert_pool(UpsertPoolRequest {
            tenant_id: tenant.id.clone(),
            config_id: config.id,
            application_instance: "sales-navigator".into(),
            license_type: "core".into(),
            seats: u32::try_from(seats)?,
            auto_assign: true,
        })
        .await?
        .into_inner();
    Ok(Tenant {
        tenant_id: tenant.id,
        pool_id: pool.id,
        token: token.secret,
    })
}

struct Pools {
    directory: sqlx::PgPool,
    license: sqlx::PgPool,
    audit: sqlx::PgPool,
}

impl Pools {
    async fn connect(urls: &DatabaseUrls) -> anyhow::Result<Self> {
        Ok(Self {
            directory: service_kit::postgres::connect(&urls.directory, 2).await?,
            license: service_kit::postgres::connect(&urls.license, 2).await?,
            audit: service_kit::postgres::connect(&urls.audit, 2).await?,
        })
    }

    async fn close(self) {
        self.directory.close().await;
        self.license.close().await;
        self.audit.close().await;
    }
}

async fn drop_databases(database: &Database<'_>, names: &[String]) {
    let Ok(pool) = service_kit::postgres::connect(&database.url("postgres"), 1).await else {
        return;
    };
    for name in names {
        // The names are ours (`chaos_<hex>_<service>`), never input.
        let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let _ = sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&pool)
            .await;
    }
    pool.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_keep_the_server_and_change_the_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@db:6432?sslmode=require", "x"),
            "postgres://u:p@db:6432/x"
        );
    }
}
