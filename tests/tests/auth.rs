//! Bearer tokens: accepted tokens are cached by the gateways, and a
//! revocation still takes effect at once on every gateway (an event, not a
//! cache timeout).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use e2e::{StackOptions, TestStack, eventually};
use scim_rpc::account::{IssueTokenRequest, ListTokensRequest, RevokeTokenRequest};

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
