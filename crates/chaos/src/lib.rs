//! `scim-chaos`: fault injection over the real stack (see `docs/reliability.md`).
//!
//! A run starts NATS and the services as processes of their own, drives an IdP-shaped sync
//! through two gateway replicas with a client that retries like Entra ID, injects one fault
//! per scenario while the sync is in flight (SIGKILL a service, restart NATS or PostgreSQL,
//! lose a JetStream node, a rolling restart), and then checks what the client was told
//! against what is stored. `cargo xtask chaos` runs every scenario; the crate's tests run a
//! few at a smaller size on every `cargo xtask test`.

pub mod checks;
pub mod infra;
pub mod scenario;
pub mod stack;
pub mod workload;

pub use scenario::{Database, Fault, Outcome, Settings};
pub use workload::SyncPlan;

/// The closing line of a run.
pub fn summary(outcomes: &[Outcome]) -> String {
    let acknowledged: usize = outcomes.iter().map(|outcome| outcome.acknowledged).sum();
    let lost: u64 = outcomes.iter().map(|outcome| outcome.verdict.lost).sum();
    let duplicated: u64 = outcomes
        .iter()
        .map(|outcome| outcome.verdict.duplicated)
        .sum();
    let recovery = outcomes
        .iter()
        .filter_map(|outcome| outcome.recovery)
        .max()
        .unwrap_or_default();
    format!(
        "chaos: {} scenarios, {acknowledged} acknowledged writes, lost {lost}, duplicated {duplicated}, max recovery {:.1} s",
        outcomes.len(),
        recovery.as_secs_f64()
    )
}

/// Runs a service of the platform in this process, as its own binary would
/// (`scim-chaos service <name>`): how the harness starts each of its processes.
pub async fn serve(name: &str) -> std::process::ExitCode {
    match stack::Role::from_service_name(name) {
        Some(stack::Role::Gateway) => scim_gateway::serve_from_env().await,
        Some(stack::Role::Directory) => directory_service::serve_from_env().await,
        Some(stack::Role::License) => license_service::serve_from_env().await,
        Some(stack::Role::Audit) => audit_service::serve_from_env().await,
        None => {
            eprintln!("scim-chaos: no service named {name}");
            std::process::ExitCode::from(64)
        }
    }
}
