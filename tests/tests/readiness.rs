//! The gateway's `/readyz` tells the truth: it answers 503 while NATS is gone and 200 again
//! once it is back, without a restart of the gateway. NATS here is a private nats-server the
//! test stops and starts on the same store (`test_support::NatsServer`), never the shared one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use e2e::{common_config, eventually};
use test_support::{NatsServer, TestDatabase, http_get};
use tokio_util::sync::CancellationToken;

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn readyz_becomes(gateway: SocketAddr, status: u16, within: Duration) {
    eventually(within, || async move {
        Ok((http_get(gateway, "/readyz").await.0 == status).then_some(()))
    })
    .await
    .unwrap_or_else(|_| panic!("/readyz did not answer {status} within {within:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_nats_going_away_and_coming_back() {
    test_support::init_test_log();
    let mut nats = NatsServer::start().await;
    let namespace = format!("ready{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let common = service_kit::config::CommonConfig {
        nats_url: nats.url(),
        ..common_config(&namespace)
    };
    let shutdown = CancellationToken::new();

    let database = TestDatabase::create("t_readiness").await;
    let mut directory_config =
        directory_service::Config::from_lookup(&test_support::minimal_env).unwrap();
    directory_config.common = common.clone();
    directory_config.database_url = database.url.clone();
    directory_config.grpc_addr = loopback();
    directory_config.metrics_addr = loopback();
    let directory = directory_service::Application::build(directory_config)
        .await
        .unwrap();
    let directory_addr = directory.grpc_addr().unwrap();
    let directory_task = tokio::spawn(directory.run_until_stopped(shutdown.clone()));

    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let gateway_addr = listener.local_addr().unwrap();
    let mut gateway_config = scim_gateway::Config::from_lookup(&test_support::minimal_env).unwrap();
    gateway_config.common = common;
    gateway_config.public_base_url = format!("http://{gateway_addr}/scim/v2");
    gateway_config.directory_url = format!("http://{directory_addr}");
    gateway_config.metrics_addr = loopback();
    let gateway = scim_gateway::Application::build_on(gateway_config, listener)
        .await
        .unwrap();
    // Health and readiness are on the ops port, apart from SCIM.
    let ops_addr = gateway.metrics_addr().unwrap();
    let gateway_task = tokio::spawn(gateway.run_until_stopped(shutdown.clone()));

    readyz_becomes(ops_addr, 200, Duration::from_secs(10)).await;
    nats.stop().await;
    readyz_becomes(ops_addr, 503, Duration::from_secs(5)).await;
    // Liveness is not readiness: the gateway is alive, only waiting for NATS.
    assert_eq!(http_get(ops_addr, "/healthz").await.0, 200);
    nats.start_again().await;
    readyz_becomes(ops_addr, 200, Duration::from_secs(15)).await;

    shutdown.cancel();
    for (name, task) in [("gateway", gateway_task), ("directory", directory_task)] {
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .unwrap_or_else(|_| panic!("the {name} did not drain within 20 s"))
            .unwrap()
            .unwrap_or_else(|error| panic!("the {name} failed: {error:#}"));
    }
    database.drop_database().await;
}
