//! `/readyz` tells the truth: the gateway and a projection service answer 503 while NATS is
//! gone and 200 again once it is back, without a restart. NATS here is a private nats-server the
//! test stops and starts on the same store (`test_support::NatsServer`), never the shared one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use e2e::{common_config, eventually};
use test_support::{NatsServer, TestDatabase, http_get};
use tokio_util::sync::CancellationToken;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

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
    directory_config.common = service_kit::config::CommonConfig {
        grpc_tls: Some(test_support::grpc_tls_files("directory-service")),
        ..common.clone()
    };
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
    gateway_config.common = service_kit::config::CommonConfig {
        grpc_tls: Some(test_support::grpc_tls_files("scim-gateway")),
        ..common
    };
    gateway_config.public_base_url = format!("http://{gateway_addr}/scim/v2");
    gateway_config.directory_url = format!("https://{directory_addr}");
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

/// Waits until the license service at `grpc` reports `status` for itself on `grpc.health.v1`.
async fn grpc_health_becomes(grpc: SocketAddr, status: ServingStatus) {
    let within = Duration::from_secs(5);
    eventually(within, || async move {
        let channel = test_support::anonymous_channel(grpc).await;
        let answer = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: "scim.license.v1.LicenseAdmin".to_owned(),
            })
            .await?
            .into_inner();
        Ok((answer.status == status as i32).then_some(()))
    })
    .await
    .unwrap_or_else(|_| panic!("gRPC health of {grpc} did not turn {status:?} within {within:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_service_is_ready_leading_or_standing_by_and_not_without_nats() {
    test_support::init_test_log();
    let mut nats = NatsServer::start().await;
    let namespace = format!("ready{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let database = TestDatabase::create("t_readiness_license").await;
    let shutdown = CancellationToken::new();

    // Two replicas of the license service on one database: one leads the projection, the
    // other stands by, and both are ready to serve.
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let license = license_service::Application::build(license_service::Config {
            common: service_kit::config::CommonConfig {
                nats_url: nats.url(),
                grpc_tls: Some(test_support::grpc_tls_files("license-service")),
                ..common_config(&namespace)
            },
            database_url: database.url.clone(),
            grpc_addr: loopback(),
            metrics_addr: loopback(),
        })
        .await
        .unwrap();
        let addrs = (license.metrics_addr(), license.grpc_addr());
        replicas.push((
            addrs,
            tokio::spawn(license.run_until_stopped(shutdown.clone())),
        ));
    }
    let ops: Vec<SocketAddr> = replicas.iter().map(|((ops, _), _)| *ops).collect();
    let grpc: Vec<SocketAddr> = replicas.iter().map(|((_, grpc), _)| *grpc).collect();
    for addr in &ops {
        readyz_becomes(*addr, 200, Duration::from_secs(10)).await;
    }
    // The probe runs once a second: the replica that won the lock says so within that.
    let ops_list = ops.clone();
    eventually(Duration::from_secs(5), || {
        let ops = ops_list.clone();
        async move {
            let mut roles = Vec::new();
            for addr in &ops {
                let (status, body) = http_get(*addr, "/readyz").await;
                assert_eq!(status, 200, "{body}");
                roles.push(if body.contains("Leading") {
                    "leading"
                } else if body.contains("StandingBy") {
                    "standing by"
                } else {
                    panic!("/readyz names no projection role: {body}")
                });
            }
            roles.sort_unstable();
            Ok((roles == ["leading", "standing by"]).then_some(()))
        }
    })
    .await
    .expect("one replica leads and the other stands by, both ready");
    for addr in &grpc {
        grpc_health_becomes(*addr, ServingStatus::Serving).await;
    }

    nats.stop().await;
    for addr in &ops {
        readyz_becomes(*addr, 503, Duration::from_secs(5)).await;
        let (_, body) = http_get(*addr, "/readyz").await;
        assert!(body.contains("nats_connected: false"), "{body}");
        assert_eq!(http_get(*addr, "/healthz").await.0, 200);
    }
    // gRPC health tells what /readyz tells.
    for addr in &grpc {
        grpc_health_becomes(*addr, ServingStatus::NotServing).await;
    }
    nats.start_again().await;
    for addr in &ops {
        readyz_becomes(*addr, 200, Duration::from_secs(15)).await;
    }
    for addr in &grpc {
        grpc_health_becomes(*addr, ServingStatus::Serving).await;
    }

    shutdown.cancel();
    for (_, task) in replicas {
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("the license service did not drain within 20 s")
            .unwrap()
            .unwrap_or_else(|error| panic!("the license service failed: {error:#}"));
    }
    database.drop_database().await;
}
