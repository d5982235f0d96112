//! The streak that makes Entra ID quarantine a provisioning job (over 40 % of
//! its requests failing, 429s among them) is visible in the provisioning log:
//! requests refused by the gateway, for validation and for the tenant's rate
//! limit, arrive in audit-service and `AuditQuery.FailureRate` counts them per
//! bucket for the configuration whose token sent them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use e2e::{StackOptions, TestStack, eventually, user_body};
use futures::StreamExt as _;
use scim_rpc::audit::FailureRateRequest;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_streak_through_the_gateway_shows_in_the_failure_rate() {
    let stack = TestStack::start_with(StackOptions {
        tenant_limits: Some(scim_gateway::TenantLimitSettings {
            rate_per_second: 10,
            burst: 10,
            max_concurrent: 4,
        }),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let tenant = stack.tenant("Contoso").await.unwrap();
    let scim = stack.client(&tenant);

    // Three accepted creates and four refused ones (no userName), within the rate limit.
    for index in 0..3 {
        let created = scim
            .post(
                "/Users",
                &user_body(&format!("user{index}@contoso.example")),
            )
            .await
            .unwrap();
        assert_eq!(created.status, 201, "{}", created.body);
    }
    for _ in 0..4 {
        let refused = scim
            .post(
                "/Users",
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
            )
            .await
            .unwrap();
        assert_eq!(refused.status, 400, "{}", refused.body);
    }
    // Then a burst far over the limit: the refused ones are 429s. Accepted reads are not
    // recorded, so they do not count; and a throttled tenant's retries are recorded once per
    // reporting interval (10 s) per gateway, so the burst is one recorded 429.
    let statuses: Vec<u16> = futures::stream::iter(0..40)
        .map(|_| {
            let scim = scim.clone();
            async move { scim.get("/Users?count=1").await.unwrap().status }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );

    // One week buckets: the whole test lands in one, unless it straddles a boundary.
    let request = FailureRateRequest {
        tenant_id: tenant.tenant_id.clone(),
        config_id: tenant.config_id.clone(),
        bucket_seconds: 7 * 86_400,
        ..Default::default()
    };
    let expected = (3 + 4 + 1, 4 + 1, 1);
    let buckets = eventually(Duration::from_secs(20), || {
        let request = request.clone();
        let stack = &stack;
        async move {
            let response = stack
                .audit()
                .await?
                .failure_rate(request)
                .await?
                .into_inner();
            let totals = response.buckets.iter().fold((0, 0, 0), |t, b| {
                (t.0 + b.requests, t.1 + b.failures, t.2 + b.throttled)
            });
            Ok((totals == expected).then_some(response.buckets))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("never counted {expected:?}: {e}"));
    if let [bucket] = buckets.as_slice() {
        assert!(bucket.over_threshold, "{bucket:?}");
        assert!((bucket.failure_percent - 62.5).abs() < 1e-9, "{bucket:?}");
    }

    // Another configuration of the same tenant sent nothing.
    let other = stack
        .audit()
        .await
        .unwrap()
        .failure_rate(FailureRateRequest {
            config_id: "some-other-configuration".into(),
            ..request
        })
        .await
        .unwrap()
        .into_inner();
    assert!(other.buckets.is_empty());
    stack.stop().await;
}
