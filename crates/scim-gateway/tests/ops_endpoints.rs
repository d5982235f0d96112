//! The gateway's ops endpoints (`/metrics`, `/healthz`, `/readyz`) live on their own port,
//! and nothing a client sends to the public port becomes a metric label. Against the real
//! NATS; no directory is needed, since no request here carries a token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::net::SocketAddr;

use scim_events::Namespace;
use scim_gateway::{Application, Config};
use test_support::{http_get, http_request, minimal_env, nats_url};
use tokio_util::sync::CancellationToken;

struct RunningGateway {
    public_addr: SocketAddr,
    metrics_addr: SocketAddr,
    namespace: Namespace,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningGateway {
    async fn start() -> Self {
        test_support::init_test_log();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let namespace = Namespace::new(format!("t{}", &id[..12])).unwrap();
        let nats = nats_url();
        let namespace_name = namespace.name().to_owned();
        let mut config = Config::from_lookup(&|name: &str| match name {
            "NATS_URL" => Some(nats.clone()),
            "EVENT_NAMESPACE" => Some(namespace_name.clone()),
            other => minimal_env(other),
        })
        .unwrap();
        config.metrics_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.common.grpc_tls = Some(test_support::grpc_tls_files("scim-gateway"));
        // No directory runs for these tests: nothing listens on port 1.
        config.directory_url = "https://127.0.0.1:1".into();
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let public_addr = listener.local_addr().unwrap();
        let gateway = Application::build_on(config, listener).await.unwrap();
        let metrics_addr = gateway.metrics_addr().unwrap();
        assert_ne!(public_addr, metrics_addr);
        let stop = CancellationToken::new();
        let task = tokio::spawn(gateway.run_until_stopped(stop.clone()));
        Self {
            public_addr,
            metrics_addr,
            namespace,
            stop,
            task,
        }
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(test_support::service::DRAIN_DEADLINE, self.task)
            .await
            .expect("the gateway did not drain")
            .unwrap()
            .unwrap();
        let nats = async_nats::connect(nats_url()).await.unwrap();
        let jetstream = async_nats::jetstream::new(nats);
        let _ = jetstream.delete_stream(self.namespace.stream_name()).await;
        let _ = jetstream
            .delete_key_value(self.namespace.username_bucket())
            .await;
    }

    /// The label sets of `scim_gateway_http_requests_total`, as the ops port shows them.
    async fn request_label_sets(&self) -> BTreeSet<String> {
        let (status, body) = http_get(self.metrics_addr, "/metrics").await;
        assert_eq!(status, 200, "{body}");
        body.lines()
            .filter_map(|line| line.strip_prefix("scim_gateway_http_requests_total{"))
            .filter_map(|rest| rest.split_once('}').map(|(labels, _)| labels.to_owned()))
            .collect()
    }
}

#[tokio::test]
async fn ops_endpoints_are_served_on_the_ops_port_only() {
    let gateway = RunningGateway::start().await;

    let (unknown_status, _) = http_get(gateway.public_addr, "/no-such-endpoint").await;
    assert_eq!(unknown_status, 404);
    for path in ["/metrics", "/healthz", "/readyz"] {
        let (status, body) = http_get(gateway.public_addr, path).await;
        assert_eq!(status, 404, "{path} on the public port: {body}");
    }

    // Readiness tells the truth: without a directory to read from, the gateway is alive but
    // not ready (tests/tests/readiness.rs shows it turning ready with one).
    let (status, _) = http_get(gateway.metrics_addr, "/readyz").await;
    assert_eq!(status, 503);
    let (status, _) = http_get(gateway.metrics_addr, "/healthz").await;
    assert_eq!(status, 200);
    let (status, body) = http_get(gateway.metrics_addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("scim_gateway_http_requests_total{"),
        "the public port's requests are counted: {body}"
    );
    // The ops port serves nothing but the ops endpoints.
    let (status, _) = http_get(gateway.metrics_addr, "/scim/v2/ServiceProviderConfig").await;
    assert_eq!(status, 404);

    gateway.stop().await;
}

#[tokio::test]
async fn client_methods_and_paths_never_become_metric_labels() {
    let gateway = RunningGateway::start().await;
    let mut sent = Vec::new();
    sent.extend(send_odd_requests(gateway.public_addr).await);
    let first = gateway.request_label_sets().await;
    sent.extend(send_odd_requests(gateway.public_addr).await);
    let second = gateway.request_label_sets().await;

    assert_eq!(
        first, second,
        "new methods and paths added label sets: the series count would grow with traffic"
    );
    assert!(
        first
            .iter()
            .any(|labels| labels.contains(r#"method="OTHER""#)),
        "made-up methods are counted under one label: {first:?}"
    );
    for labels in &first {
        for random in &sent {
            assert!(
                !labels.contains(random.as_str()),
                "a client's text became a label: {labels}"
            );
        }
    }

    gateway.stop().await;
}

/// Requests with a made-up method and random paths, each refused (4xx); the random parts.
async fn send_odd_requests(public_addr: SocketAddr) -> Vec<String> {
    let random = uuid::Uuid::new_v4().simple().to_string();
    let made_up_method = format!("X{}", random[..10].to_ascii_uppercase());
    let paths = [
        format!("/{random}"),
        format!("/scim/v2/{random}"),
        format!("/scim/v2/Users/{random}"),
        format!("/scim/v2/Users/{random}/{random}"),
        format!("/metrics/{random}"),
    ];
    for path in &paths {
        for method in ["GET", "DELETE", made_up_method.as_str()] {
            let (status, body) = http_request(public_addr, method, path).await;
            assert!(
                (400..500).contains(&status),
                "{method} {path}: {status} {body}"
            );
        }
    }
    vec![made_up_method, random]
}
