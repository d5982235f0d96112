//! The account center's guarantees over HTTP: sign-in links work once and expire, sessions
//! end, every change needs the CSRF token, an admin never reaches another tenant, disabling
//! a configuration stops its tokens on every gateway, admin actions are in the provisioning
//! log, and the OpenAPI document describes every route.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use e2e::console::{AdminSession, Operator, link_secret};
use e2e::{StackOptions, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

async fn stack(gateways: usize) -> TestStack {
    TestStack::start_with(StackOptions {
        gateways,
        account_center: true,
        ..StackOptions::default()
    })
    .await
    .unwrap()
}

fn console_url(stack: &TestStack) -> String {
    stack.account_center_url.clone().unwrap()
}

/// A new tenant of `stack` named `name`, and an admin of it signed in to the console.
async fn tenant_with_admin(stack: &TestStack, name: &str) -> (e2e::Tenant, AdminSession) {
    let tenant = stack.tenant(name).await.unwrap();
    let admin = Operator::new(&console_url(stack))
        .unwrap()
        .admin_of(&tenant.tenant_id)
        .await
        .unwrap();
    (tenant, admin)
}

async fn console_db(stack: &TestStack) -> sqlx::PgPool {
    sqlx::PgPool::connect(&e2e::database_url(&stack.databases.console))
        .await
        .unwrap()
}

/// A configuration created through the API, with a token; (config id, token id, secret).
async fn config_with_token(admin: &AdminSession, name: &str) -> (String, String, String) {
    let config = admin
        .api(
            Method::POST,
            &admin.tenant_path("/configs"),
            Some(json!({ "name": name })),
            true,
        )
        .await
        .unwrap();
    assert_eq!(config.status, 201, "{config:?}");
    let config_id = config.json()["id"].as_str().unwrap().to_owned();
    let token = admin
        .api(
            Method::POST,
            &admin.tenant_path(&format!("/configs/{config_id}/tokens")),
            Some(json!({})),
            true,
        )
        .await
        .unwrap();
    assert_eq!(token.status, 201, "{token:?}");
    let token = token.json();
    (
        config_id,
        token["token"]["id"].as_str().unwrap().to_owned(),
        token["secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn sign_in_links_work_once_and_expire() {
    let stack = stack(1).await;
    let url = console_url(&stack);
    let operator = Operator::new(&url).unwrap();
    let tenant = stack.tenant("Contoso").await.unwrap();

    let link = operator.invite(&tenant.tenant_id).await.unwrap();
    assert!(link.starts_with(&format!("{url}/signin/aci_")), "{link}");
    let opened = reqwest::get(&link).await.unwrap();
    assert_eq!(opened.status(), 200);
    assert!(
        opened.text().await.unwrap().contains("id=\"sign-in\""),
        "opening a link spends nothing"
    );

    let admin = AdminSession::sign_in(&url, &link).await.unwrap();
    assert_eq!(admin.tenant_id, tenant.tenant_id);
    assert!(
        admin.cookie.starts_with("scim_console="),
        "{}",
        admin.cookie
    );

    let again = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{url}/signin"))
        .form(&[("link", link_secret(&link))])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410, "a link works once");
    assert!(
        reqwest::get(&link)
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("already been used")
    );

    let expiring = operator.invite(&tenant.tenant_id).await.unwrap();
    sqlx::query(
        "UPDATE invites SET expires_at = now() - interval '1 second' WHERE used_at IS NULL",
    )
    .execute(&console_db(&stack).await)
    .await
    .unwrap();
    assert!(
        AdminSession::sign_in(&url, &expiring).await.is_err(),
        "an expired link is refused"
    );

    let unknown_tenant = operator
        .send(
            Method::POST,
            "/api/v1/invites",
            Some(json!({ "tenant_id": uuid::Uuid::now_v7().to_string() })),
        )
        .await
        .unwrap();
    assert_eq!(unknown_tenant.status, 404, "{unknown_tenant:?}");
    let by_admin = admin
        .api(
            Method::POST,
            "/api/v1/invites",
            Some(json!({ "tenant_id": tenant.tenant_id })),
            true,
        )
        .await
        .unwrap();
    assert_eq!(
        by_admin.status, 403,
        "only the operator invites: {by_admin:?}"
    );
    stack.stop().await;
}

#[tokio::test]
async fn sessions_end_when_idle_too_long_too_old_or_signed_out() {
    let stack = stack(1).await;
    let url = console_url(&stack);
    let operator = Operator::new(&url).unwrap();
    let tenant = stack.tenant("Contoso").await.unwrap();
    let db = console_db(&stack).await;
    let overview = |admin: &AdminSession| {
        let admin = admin.clone();
        async move { admin.get("/").await.unwrap() }
    };

    let idle = operator.admin_of(&tenant.tenant_id).await.unwrap();
    assert_eq!(overview(&idle).await.status, 200);
    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '31 minutes'")
        .execute(&db)
        .await
        .unwrap();
    let page = overview(&idle).await;
    assert_eq!((page.status, page.location()), (303, Some("/signed-out")));
    assert_eq!(
        idle.get(&idle.tenant_path("/configs"))
            .await
            .unwrap()
            .status,
        401
    );

    let old = operator.admin_of(&tenant.tenant_id).await.unwrap();
    sqlx::query("UPDATE sessions SET absolute_expires_at = now() WHERE signed_out_at IS NULL")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(
        overview(&old).await.status,
        303,
        "absolute expiry ends an active session"
    );

    let leaving = operator.admin_of(&tenant.tenant_id).await.unwrap();
    assert_eq!(overview(&leaving).await.status, 200);
    let signed_out = leaving.post_form("/signout", &[], true).await.unwrap();
    assert_eq!(signed_out.status, 303);
    assert!(
        signed_out.headers[reqwest::header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"),
        "the cookie is cleared"
    );
    assert_eq!(
        overview(&leaving).await.status,
        303,
        "the old cookie no longer works"
    );
    stack.stop().await;
}

#[tokio::test]
async fn every_change_needs_the_csrf_token() {
    let stack = stack(1).await;
    let (_, admin) = tenant_with_admin(&stack, "Contoso").await;

    let missing = admin
        .post_form("/configs", &[("name", "Okta")], false)
        .await
        .unwrap();
    assert_eq!(missing.status, 403, "{missing:?}");
    let wrong = admin
        .post_form("/configs", &[("name", "Okta"), ("csrf", "forged")], false)
        .await
        .unwrap();
    assert_eq!(wrong.status, 403);
    let api = admin
        .api(
            Method::POST,
            &admin.tenant_path("/configs"),
            Some(json!({ "name": "Okta" })),
            false,
        )
        .await
        .unwrap();
    assert_eq!(api.status, 403, "{api:?}");
    let configs = admin
        .get(&admin.tenant_path("/configs"))
        .await
        .unwrap()
        .json();
    assert_eq!(
        configs["configs"].as_array().unwrap().len(),
        1,
        "nothing was created: {configs}"
    );

    let page = admin
        .post_form("/configs", &[("name", "Okta")], true)
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{page:?}");
    let api = admin
        .api(
            Method::POST,
            &admin.tenant_path("/configs"),
            Some(json!({ "name": "OneLogin" })),
            true,
        )
        .await
        .unwrap();
    assert_eq!(api.status, 201, "{api:?}");
    stack.stop().await;
}

#[tokio::test]
async fn an_admin_never_reaches_another_tenant() {
    let stack = stack(1).await;
    let url = console_url(&stack);
    let operator = Operator::new(&url).unwrap();
    let tenant_a = stack.tenant("Contoso").await.unwrap();
    let tenant_b = stack.tenant("Fabrikam").await.unwrap();
    let admin_a = operator.admin_of(&tenant_a.tenant_id).await.unwrap();
    let admin_b = operator.admin_of(&tenant_b.tenant_id).await.unwrap();
    let (config_b, token_b, secret_b) = config_with_token(&admin_b, "Okta").await;
    let pool_b = stack.pool(&tenant_b, 2, true).await.unwrap();
    stack
        .client(&e2e::Tenant {
            token: secret_b.clone(),
            ..tenant_b.clone()
        })
        .expect(Method::POST, "/Users", Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bob@fabrikam.com"
        })), 201)
        .await
        .unwrap();
    let records = stack
        .audit_records_when(
            e2e::audit_query(&tenant_b),
            Duration::from_secs(10),
            |records| !records.is_empty(),
        )
        .await
        .unwrap();
    let record_b = records[0].sequence;

    // Through the pages.
    for path in [
        format!("/configs/{config_b}"),
        format!("/configs/{config_b}/delete"),
        format!("/log/{record_b}"),
    ] {
        let page = admin_a.get(&path).await.unwrap();
        assert_eq!(page.status, 404, "GET {path}: {page:?}");
    }
    for (path, fields) in [
        (format!("/configs/{config_b}/disable"), vec![]),
        (
            format!("/configs/{config_b}/settings"),
            vec![("name", "mine")],
        ),
        (format!("/configs/{config_b}/tokens"), vec![]),
        (
            format!("/configs/{config_b}/tokens/{token_b}/revoke"),
            vec![],
        ),
        (
            format!("/configs/{config_b}/tokens/{token_b}/rotate"),
            vec![("overlap_hours", "0")],
        ),
        (format!("/configs/{config_b}/delete"), vec![]),
        (
            format!("/configs/{config_b}/auto-assign"),
            vec![("enabled", "off")],
        ),
        (
            format!("/configs/{}/seats/revoke", tenant_a.config_id),
            vec![("pool_id", pool_b.as_str()), ("user_id", "x")],
        ),
    ] {
        let page = admin_a.post_form(&path, &fields, true).await.unwrap();
        assert_eq!(page.status, 404, "POST {path}: {page:?}");
    }
    // Through the API: B's ids under A's tenant, and B's tenant itself.
    let a = |rest: &str| admin_a.tenant_path(rest);
    let b = format!("/api/v1/tenants/{}", tenant_b.tenant_id);
    for (method, path, body) in [
        (Method::GET, a(&format!("/configs/{config_b}")), None),
        (
            Method::PATCH,
            a(&format!("/configs/{config_b}")),
            Some(json!({ "enabled": false })),
        ),
        (Method::DELETE, a(&format!("/configs/{config_b}")), None),
        (Method::GET, a(&format!("/configs/{config_b}/tokens")), None),
        (
            Method::POST,
            a(&format!("/configs/{config_b}/tokens")),
            Some(json!({})),
        ),
        (
            Method::POST,
            a(&format!("/configs/{config_b}/tokens/{token_b}/revoke")),
            None,
        ),
        (
            Method::POST,
            a(&format!(
                "/configs/{}/tokens/{token_b}/revoke",
                tenant_a.config_id
            )),
            None,
        ),
        (
            Method::GET,
            a(&format!("/configs/{config_b}/licenses")),
            None,
        ),
        (
            Method::POST,
            a(&format!("/pools/{pool_b}/seats")),
            Some(json!({ "user": "bob@fabrikam.com" })),
        ),
        (Method::DELETE, a(&format!("/pools/{pool_b}/seats/x")), None),
        (Method::GET, a(&format!("/log/{record_b}")), None),
        (Method::GET, format!("{b}/configs"), None),
        (Method::GET, format!("{b}/overview"), None),
        (Method::GET, format!("{b}/log"), None),
    ] {
        let answer = admin_a
            .api(method.clone(), &path, body, true)
            .await
            .unwrap();
        assert_eq!(answer.status, 404, "{method} {path}: {answer:?}");
    }
    // B's token and configuration are untouched.
    let tokens = admin_b
        .get(&admin_b.tenant_path(&format!("/configs/{config_b}/tokens")))
        .await
        .unwrap()
        .json();
    assert_eq!(tokens["tokens"][0]["status"], "active", "{tokens}");
    let log_a = admin_a
        .get(&admin_a.tenant_path("/log"))
        .await
        .unwrap()
        .json();
    assert!(
        !log_a.to_string().contains("bob@fabrikam.com"),
        "A's log shows nothing of B: {log_a}"
    );
    stack.stop().await;
}

#[tokio::test]
async fn disabling_a_configuration_stops_its_tokens_on_every_gateway() {
    let stack = stack(2).await;
    let (tenant, admin) = tenant_with_admin(&stack, "Contoso").await;
    let (config_id, _, secret) = config_with_token(&admin, "Entra ID (EU)").await;
    let client_at = |gateway| {
        stack.client_at(
            gateway,
            &e2e::Tenant {
                token: secret.clone(),
                ..tenant.clone()
            },
        )
    };
    // Both gateways have the token in their authentication caches.
    for gateway in 0..2 {
        client_at(gateway)
            .expect(Method::GET, "/Users", None, 200)
            .await
            .unwrap();
    }

    let disabled = admin
        .api(
            Method::PATCH,
            &admin.tenant_path(&format!("/configs/{config_id}")),
            Some(json!({ "enabled": false })),
            true,
        )
        .await
        .unwrap();
    assert_eq!(disabled.status, 200, "{disabled:?}");
    assert_eq!(disabled.json()["enabled"], false);
    tokio::time::sleep(Duration::from_secs(1)).await;
    for gateway in 0..2 {
        client_at(gateway)
            .expect(Method::GET, "/Users", None, 401)
            .await
            .unwrap();
    }
    // Another configuration of the tenant keeps working.
    stack
        .client(&tenant)
        .expect(Method::GET, "/Users", None, 200)
        .await
        .unwrap();

    admin
        .api(
            Method::PATCH,
            &admin.tenant_path(&format!("/configs/{config_id}")),
            Some(json!({ "enabled": true })),
            true,
        )
        .await
        .unwrap();
    for gateway in 0..2 {
        client_at(gateway)
            .expect(Method::GET, "/Users", None, 200)
            .await
            .unwrap();
    }
    stack.stop().await;
}

#[tokio::test]
async fn revoking_all_tokens_refuses_every_token_of_the_configuration_and_no_other() {
    let stack = stack(1).await;
    let (tenant, admin) = tenant_with_admin(&stack, "Contoso").await;
    let (config_id, first_id, first_secret) = config_with_token(&admin, "Okta").await;
    let second = admin
        .api(
            Method::POST,
            &admin.tenant_path(&format!("/configs/{config_id}/tokens")),
            Some(json!({})),
            true,
        )
        .await
        .unwrap();
    assert_eq!(second.status, 201, "{second:?}");
    let second_id = second.json()["token"]["id"].as_str().unwrap().to_owned();
    let second_secret = second.json()["secret"].as_str().unwrap().to_owned();
    let with_token = |secret: &str| {
        stack.client(&e2e::Tenant {
            token: secret.to_owned(),
            ..tenant.clone()
        })
    };
    for secret in [&first_secret, &second_secret] {
        with_token(secret)
            .expect(Method::GET, "/Users", None, 200)
            .await
            .unwrap();
    }

    // Another tenant's admin cannot reach the configuration: not found, nothing revoked.
    let (_, other_admin) = tenant_with_admin(&stack, "Fabrikam").await;
    let refused = other_admin
        .api(
            Method::POST,
            &other_admin.tenant_path(&format!("/configs/{config_id}/tokens/revoke-all")),
            None,
            true,
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 404, "{refused:?}");

    let revoked = admin
        .api(
            Method::POST,
            &admin.tenant_path(&format!("/configs/{config_id}/tokens/revoke-all")),
            None,
            true,
        )
        .await
        .unwrap();
    assert_eq!(revoked.status, 200, "{revoked:?}");
    let mut ids: Vec<String> = revoked.json()["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|token| {
            assert!(!token["revoked_at"].as_str().unwrap_or_default().is_empty());
            token["id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    let mut expected = vec![first_id, second_id];
    expected.sort();
    assert_eq!(ids, expected);
    tokio::time::sleep(Duration::from_secs(1)).await;
    for secret in [&first_secret, &second_secret] {
        with_token(secret)
            .expect(Method::GET, "/Users", None, 401)
            .await
            .unwrap();
    }
    // The tenant's other configuration (the operator's) keeps working.
    stack
        .client(&tenant)
        .expect(Method::GET, "/Users", None, 200)
        .await
        .unwrap();
    // Nothing is left to revoke.
    let again = admin
        .api(
            Method::POST,
            &admin.tenant_path(&format!("/configs/{config_id}/tokens/revoke-all")),
            None,
            true,
        )
        .await
        .unwrap();
    assert_eq!(again.json()["revoked"], json!([]), "{again:?}");
    stack.stop().await;
}

#[tokio::test]
async fn admin_actions_are_in_the_provisioning_log_with_the_admin() {
    let stack = stack(1).await;
    let (tenant, admin) = tenant_with_admin(&stack, "Contoso").await;
    let (config_id, token_id, _) = config_with_token(&admin, "Okta").await;
    admin
        .api(
            Method::POST,
            &admin.tenant_path(&format!("/configs/{config_id}/tokens/{token_id}/revoke")),
            None,
            true,
        )
        .await
        .unwrap();
    let who = admin.get("/api/v1/session").await.unwrap().json();
    let actor = format!(
        "admin:{}:{}",
        who["admin_id"].as_str().unwrap(),
        who["email"].as_str().unwrap()
    );
    // The operator's own setup (the tenant's first configuration and token) is in the log
    // too, under "operator"; the admin's actions are found by the admin.
    let query = scim_rpc::audit::AuditQueryRequest {
        operation: "admin.".into(),
        actor: actor.clone(),
        ..e2e::audit_query(&tenant)
    };
    let records = stack
        .audit_records_when(query, Duration::from_secs(10), |records| records.len() >= 3)
        .await
        .unwrap();
    let operations: Vec<&str> = records
        .iter()
        .map(|record| record.operation.as_str())
        .collect();
    assert_eq!(
        operations,
        [
            "admin.config.create",
            "admin.token.issue",
            "admin.token.revoke"
        ],
        "{records:#?}"
    );
    assert!(
        records
            .iter()
            .all(|record| record.actor_admin == actor && record.actor_config_id == config_id),
        "{records:#?}"
    );
    let operator_setup = stack
        .audit_records(scim_rpc::audit::AuditQueryRequest {
            operation: "admin.".into(),
            actor: "operator".into(),
            ..e2e::audit_query(&tenant)
        })
        .await
        .unwrap();
    assert_eq!(
        operator_setup.len(),
        2,
        "the operator's configuration and token: {operator_setup:#?}"
    );
    stack.stop().await;
}

/// Every operation the OpenAPI document lists is routed (whatever it then answers), and
/// the document is valid JSON naming the security schemes it uses.
#[tokio::test]
async fn the_openapi_document_describes_routes_that_exist() {
    let stack = stack(1).await;
    let url = console_url(&stack);
    let operator = Operator::new(&url).unwrap();
    let document = reqwest::get(format!("{url}/api/v1/openapi.json"))
        .await
        .unwrap();
    assert_eq!(document.status(), 200, "served without credentials");
    let document: Value = document.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "{}", paths.len());
    let unrouted = operator
        .send(Method::GET, "/api/v1/no/such/route", None)
        .await
        .unwrap();
    assert_eq!(unrouted.json()["error"], "no such API route");
    for (path, operations) in paths {
        let concrete = path
            .replace("{tenant}", &uuid::Uuid::now_v7().to_string())
            .replace("{sequence}", "1")
            .replace(['{', '}'], "");
        for (method, _) in operations.as_object().unwrap() {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let answer = operator
                .send(
                    method.clone(),
                    &format!("/api/v1{concrete}"),
                    Some(json!({})),
                )
                .await
                .unwrap();
            assert_ne!(answer.status, 405, "{method} {path} is not routed");
            assert_ne!(
                answer.json()["error"],
                "no such API route",
                "{method} {path} is not routed"
            );
        }
    }
    stack.stop().await;
}
