//! Bearer tokens: accepted tokens are cached by the gateways, and a
//! revocation still takes effect at once on every gateway (an event, not a
//! cache timeout); refused tokens are counted, logged and recorded in their tenant's log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use e2e::{StackOptions, TestStack, audit_query, eventually};
use scim_rpc::account::{IssueTokenRequest, ListTokensRequest, RevokeTokenRequest, TokenInfo};
use scim_rpc::audit::AuditQueryRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_at_once_by_every_gateway() {
    let stack = TestStack::start_with(StackOptions {
        gateways: 2,
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let tenant = stack.tenant("revocation").await.unwrap();
    let gateways = [stack.client_at(0, &tenant), stack.client_at(1, &tenant)];
    // Both gateways have now accepted (and cached) the token.
    for scim in &gateways {
        assert_eq!(scim.get("/Users").await.unwrap().status, 200);
    }

    let mut admin = stack.account_admin().await.unwrap();
    let tokens = admin
        .list_tokens(ListTokensRequest {
            config_id: tenant.config_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tokens;
    assert_eq!(tokens.len(), 1);
    // A second token of the same configuration must keep working.
    let other = admin
        .issue_token(IssueTokenRequest {
            config_id: tenant.config_id.clone(),
            valid_days: 0,
        })
        .await
        .unwrap()
        .into_inner();
    admin
        .revoke_token(RevokeTokenRequest {
            token_id: tokens[0].id.clone(),
        })
        .await
        .unwrap();

    // Far sooner than the cache's 30 s lifetime: the revocation signal did it.
    for scim in &gateways {
        eventually(Duration::from_secs(2), || {
            let scim = scim.clone();
            async move { Ok((scim.get("/Users").await?.status == 401).then_some(())) }
        })
        .await
        .unwrap();
        let fresh = scim.with_token(Some(&other.secret));
        assert_eq!(fresh.get("/Users").await.unwrap().status, 200);
    }
}

/// Revokes the one token `stack.tenant` issued for `tenant`, and returns it.
async fn revoke_the_token_of(stack: &TestStack, tenant: &e2e::Tenant) -> TokenInfo {
    let mut admin = stack.account_admin().await.unwrap();
    let token = admin
        .list_tokens(ListTokensRequest {
            config_id: tenant.config_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tokens
        .remove(0);
    admin
        .revoke_token(RevokeTokenRequest {
            token_id: token.id.clone(),
        })
        .await
        .unwrap();
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_tokens_are_counted_logged_and_recorded_in_their_tenants_log() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("refusals").await.unwrap();
    let bystander = stack.tenant("bystander").await.unwrap();
    let scim = stack.client(&tenant);
    assert_eq!(scim.get("/Users").await.unwrap().status, 200);
    let token = revoke_the_token_of(&stack, &tenant).await;

    // An IdP that keeps trying the revoked token, three times in a row: each is refused, and
    // the client learns nothing of why.
    for _ in 0..3 {
        let refused = eventually(Duration::from_secs(2), || {
            let scim = scim.clone();
            async move {
                let response = scim.get("/Users").await?;
                Ok((response.status == 401).then_some(response))
            }
        })
        .await
        .unwrap();
        let detail = refused.body["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(detail, "the bearer token is invalid, expired or revoked");
    }
    // Requests with no token, a malformed one and an unknown well-formed one.
    let anonymous = scim.with_token(None);
    assert_eq!(anonymous.get("/Users").await.unwrap().status, 401);
    let malformed = scim.with_token(Some("not-a-token"));
    assert_eq!(malformed.get("/Users").await.unwrap().status, 401);
    let unknown_secret = format!("scimtok_{}", "A".repeat(43));
    let unknown = scim.with_token(Some(&unknown_secret));
    assert_eq!(unknown.get("/Users").await.unwrap().status, 401);

    // The tenant's admin sees the attempt with the revoked token, once for the burst, naming
    // the token by its prefix; another tenant's log shows nothing of it.
    let records = stack
        .audit_records_when(
            AuditQueryRequest {
                outcome: "failure".into(),
                ..audit_query(&tenant)
            },
            Duration::from_secs(10),
            |records| records.iter().any(|r| r.status == 401),
        )
        .await
        .unwrap();
    let refusals: Vec<_> = records.iter().filter(|r| r.status == 401).collect();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].actor_token_id, token.id);
    assert_eq!(refusals[0].actor_config_id, tenant.config_id);
    assert!(
        refusals[0].detail.contains(&token.prefix) && refusals[0].detail.contains("revoked"),
        "{}",
        refusals[0].detail
    );
    let elsewhere = stack.audit_records(audit_query(&bystander)).await.unwrap();
    assert!(elsewhere.iter().all(|r| r.status != 401), "{elsewhere:?}");

    // Counted by reason on the gateway's ops port.
    let (status, metrics) =
        test_support::http_get(stack.gateway_metrics_addrs[0], "/metrics").await;
    assert_eq!(status, 200);
    for (reason, at_least) in [
        ("revoked", 3),
        ("no_bearer_token", 1),
        ("malformed", 1),
        ("unknown", 1),
    ] {
        let line = format!("scim_gateway_auth_failures_total{{reason=\"{reason}\"}} ");
        let count: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {line} in {metrics}"));
        assert!(count >= at_least, "{line}{count}");
    }
    // The secret appears nowhere in what an operator reads.
    assert!(!metrics.contains(&unknown_secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_made_up_tokens_reaches_the_directory_at_a_bounded_rate_and_known_tokens_carry_on()
 {
    let stack = TestStack::start_with(StackOptions {
        auth_lookups_per_second: Some(5),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let tenant = stack.tenant("flooded").await.unwrap();
    let scim = stack.client(&tenant);
    // The tenant's token is looked up once and then known to the gateway.
    assert_eq!(scim.get("/Users").await.unwrap().status, 200);

    // 40 distinct well-formed tokens nobody issued, as fast as they come: each would be a
    // directory query; the replica asks about at most its burst (twice the rate) and answers
    // the rest 429, naming the limit.
    let mut refused: u64 = 0;
    let mut throttled: u64 = 0;
    let started = std::time::Instant::now();
    for i in 0..40 {
        let secret = format!("scimtok_{i:0>43}");
        let response = scim.with_token(Some(&secret)).get("/Users").await.unwrap();
        match response.status {
            401 => refused += 1,
            429 => {
                throttled += 1;
                let detail = response.body["detail"].as_str().unwrap_or_default();
                assert!(
                    detail.contains("GATEWAY_AUTH_LOOKUPS_PER_SECOND"),
                    "{detail}"
                );
                assert!(response.headers.contains_key("retry-after"));
            }
            other => panic!("made-up token answered {other}: {:?}", response.body),
        }
    }
    // At most the burst of 10 (one spent on the tenant's token) plus what refilled at 5 per
    // second while the loop ran.
    let refilled = (started.elapsed().as_secs_f64() * 5.0).ceil() as u64;
    assert!(
        refused <= 9 + refilled,
        "{refused} made-up tokens reached the directory in {:?}",
        started.elapsed()
    );
    assert_eq!(refused + throttled, 40);
    assert!(throttled > 0);

    // The known token is not held back by the flood.
    assert_eq!(scim.get("/Users").await.unwrap().status, 200);
    // Counted on the ops port.
    let (_, metrics) = test_support::http_get(stack.gateway_metrics_addrs[0], "/metrics").await;
    let line = "scim_gateway_auth_lookups_throttled_total ";
    let counted: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(line))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line} in {metrics}"));
    assert_eq!(counted, throttled);

    // Once the bucket refills, an unfamiliar token is asked about again.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let late = scim
        .with_token(Some(&format!("scimtok_{}", "L".repeat(43))))
        .get("/Users")
        .await
        .unwrap();
    assert_eq!(late.status, 401, "{:?}", late.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_while_a_gateway_is_cut_off_from_nats_is_refused_once_it_is_back() {
    let mut nats = test_support::NatsServer::start().await;
    // A cache lifetime far longer than the test: only the revocation itself can end the
    // cached acceptance.
    let stack = TestStack::start_with(StackOptions {
        nats_url: Some(nats.url()),
        auth_cache_ttl: Some(Duration::from_secs(600)),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let tenant = stack.tenant("cut-off").await.unwrap();
    let scim = stack.client(&tenant);
    assert_eq!(scim.get("/Users").await.unwrap().status, 200);

    nats.stop().await;
    revoke_the_token_of(&stack, &tenant).await;
    // Cut off, the gateway cannot know yet: its cached acceptance still answers (reads need
    // only the directory). This is the window the cache lifetime bounds.
    assert_eq!(scim.get("/Users").await.unwrap().status, 200);

    nats.start_again().await;
    // Once NATS is back, the revocation recorded while it was gone reaches the gateway.
    eventually(Duration::from_secs(10), || {
        let scim = scim.clone();
        async move { Ok((scim.get("/Users").await?.status == 401).then_some(())) }
    })
    .await
    .expect("the revoked token is refused once the gateway is reconnected");
}

/// `printf '%s' "$secret" | sha256sum`, as docs/operations.md tells an operator to do.
fn sha256sum(secret: &str) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(secret.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_operator_credential_acts_as_its_operator_in_the_log() {
    let secret = format!("alice-{}", uuid::Uuid::new_v4());
    let entry = format!("alice:{}", sha256sum(&secret));
    let stack = TestStack::start_with(StackOptions {
        operator_credentials: service_kit::admin_auth::NamedOperator::parse_list(&entry).unwrap(),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let tenant = stack.tenant("named-operator").await.unwrap();

    let mut alice = stack.account_admin_as(&secret).await.unwrap();
    let mut request = tonic::Request::new(scim_rpc::account::CreateScimConfigRequest {
        tenant_id: tenant.tenant_id.clone(),
        name: "Okta".into(),
        ..Default::default()
    });
    // Naming someone else does not change who is recorded.
    service_kit::admin_auth::name_actor(&mut request, "admin:a1:eve@example.com").unwrap();
    let config = alice
        .create_scim_config(request)
        .await
        .unwrap()
        .into_inner();

    let records = stack
        .audit_records_when(
            AuditQueryRequest {
                operation: "admin.config.create".into(),
                ..audit_query(&tenant)
            },
            Duration::from_secs(10),
            |records| records.iter().any(|r| r.target_id == config.id),
        )
        .await
        .unwrap();
    let created = records.iter().find(|r| r.target_id == config.id).unwrap();
    assert_eq!(created.actor_admin, "operator:alice");

    // The digest is not a credential, and a guess is refused.
    for wrong in [sha256sum(&secret), format!("{secret}x")] {
        let mut guess = stack.account_admin_as(&wrong).await.unwrap();
        let refused = guess
            .list_tenants(scim_rpc::account::ListTenantsRequest {})
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    }
}
