//! The chaos run, small, on every `cargo xtask test`: a few hundred users through two
//! gateways, with one fault each while the sync is in flight, against the shared PostgreSQL
//! (`TEST_DATABASE_URL`) and a private nats-server of the pinned release (`NATS_SERVER_BIN`).
//! Each scenario must end with nothing lost, nothing duplicated and every invariant holding.
//! `cargo xtask chaos` runs all of them at full size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use scim_chaos::{Database, Fault, Settings, SyncPlan};

async fn run_small(fault: Fault) {
    let work_dir = std::env::temp_dir().join("scim-chaos-tests");
    let settings = Settings {
        plan: SyncPlan {
            users: 300,
            groups: 3,
            group_size: 60,
            leaver_every: 7,
            concurrency: 16,
        },
        seats: 200,
        fault_at: 0.3,
        down_for: Duration::from_millis(1000),
        work_dir,
        exe: PathBuf::from(env!("CARGO_BIN_EXE_scim-chaos")),
        nats_server: scim_chaos::infra::nats_server_binary().unwrap(),
        database: Database::Shared(test_support::maintenance_url()),
    };
    let outcome = scim_chaos::scenario::run(fault, &settings).await.unwrap();
    println!("{}", outcome.line());
    assert!(
        outcome.verdict.passed(),
        "{}\n{:#?}\n{:#?}",
        outcome.line(),
        outcome.verdict.violations,
        outcome.samples
    );
    assert!(outcome.acknowledged > 600, "{}", outcome.line());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_mid_sync_loses_nothing() {
    run_small(Fault::GatewayKill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_crash_mid_sync_loses_nothing() {
    run_small(Fault::NatsRestart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_mid_sync_drains_every_service_and_answers_no_5xx() {
    run_small(Fault::RollingRestart).await;
}
