//! I10: the caller's trace continues into the event on JetStream.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use e2e::{TestStack, user_body};
use event_store::{EventStore, StoreSettings};
use scim_events::{AggregateKind, Namespace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_trace_context_is_carried_into_the_appended_event() {
    let _telemetry = telemetry::init(&telemetry::TelemetryConfig {
        service_name: "e2e",
        otlp: Default::default(),
        log_format: telemetry::LogFormat::Text,
        log_filter: "warn".into(),
    })
    .unwrap();
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("traced").await.unwrap();
    let scim = stack.client(&tenant);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let body = user_body("traced@example.com");
    let created = scim
        .send(
            reqwest::Method::POST,
            "/Users",
            Some(&body),
            &[("traceparent", traceparent.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();

    let client = async_nats::connect(e2e::nats_url()).await.unwrap();
    let store = EventStore::connect(
        client,
        Namespace::new(stack.namespace.clone()).unwrap(),
        &StoreSettings::default(),
    )
    .await
    .unwrap();
    let event = store
        .load_last(&tenant.tenant_id, AggregateKind::User, id)
        .await
        .unwrap()
        .unwrap();
    let headers = event.headers.expect("event has headers");
    let carried = headers
        .get("traceparent")
        .expect("traceparent header on the event")
        .as_str()
        .to_owned();
    assert!(
        carried.contains(trace_id),
        "event carries {carried}, expected trace {trace_id}"
    );
    assert_eq!(
        headers
            .get("Scim-Event-Type")
            .map(|v| v.as_str().to_owned())
            .as_deref(),
        Some("UserCreated")
    );
    stack.stop().await;
}
