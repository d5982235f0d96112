//! The enterprise admin's whole journey through the account center, in headless Chromium:
//! sign in with the operator's link, add a SCIM configuration, turn on auto-assign for a
//! 2-seat offering, generate a token, watch an IdP's 3 creates fill the pool (2 seats used,
//! 1 waiting) and the provisioning log, export it, rotate the token (both work during the
//! overlap) and revoke the old one (401).
//!
//! Screenshots go to `target/console-screenshots/`, or to `docs/account-center/` with
//! `UPDATE_SCREENSHOTS=1` (what `docs/account-center.md` shows).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use e2e::browser::Browser;
use e2e::console::Operator;
use e2e::{StackOptions, TestStack};
use reqwest::Method;
use scim_rpc::account::CreateTenantRequest;
use scim_rpc::license::UpsertOfferingRequest;
use serde_json::json;

fn screenshot_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        root.join("docs/account-center")
    } else {
        root.join("target/console-screenshots")
    }
}

/// Reloads `url` until the text of `selector` contains `expected` (the projections that
/// feed the console are asynchronous).
async fn reload_until(browser: &Browser, url: &str, selector: &str, expected: &str) {
    let mut last = String::new();
    for _ in 0..50 {
        browser.goto(url).await.unwrap();
        if let Ok(text) = browser.text(selector).await {
            if text.contains(expected) {
                return;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{selector} on {url} never contained {expected:?}; last: {last:?}");
}

#[tokio::test]
async fn an_admin_connects_an_idp_and_follows_its_provisioning_in_the_browser() {
    let stack = TestStack::start_with(StackOptions {
        account_center: true,
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let console = stack.account_center_url.clone().unwrap();
    let shots = screenshot_dir();

    // The vendor's operator: a tenant, a 2-seat offering, a sign-in link.
    let tenant = stack
        .account_admin()
        .await
        .unwrap()
        .create_tenant(CreateTenantRequest {
            name: "Contoso".into(),
        })
        .await
        .unwrap()
        .into_inner();
    stack
        .license_admin(0)
        .await
        .unwrap()
        .upsert_offering(UpsertOfferingRequest {
            tenant_id: tenant.id.clone(),
            application_instance: "sales-navigator".into(),
            license_type: "core".into(),
            seats: 2,
        })
        .await
        .unwrap();
    let link = Operator::new(&console)
        .unwrap()
        .invite(&tenant.id)
        .await
        .unwrap();

    let browser = Browser::start().await.unwrap();
    browser.goto(&link).await.unwrap();
    browser
        .screenshot(&shots.join("01-sign-in.png"))
        .await
        .unwrap();
    browser.click("#sign-in").await.unwrap();
    assert!(
        browser
            .text("h1")
            .await
            .unwrap()
            .contains("SCIM configurations")
    );

    // + Add new SCIM configuration.
    browser.click("#add-config").await.unwrap();
    browser
        .type_into("#name", "Microsoft Entra ID")
        .await
        .unwrap();
    browser
        .type_into("#description", "Production tenant, all employees")
        .await
        .unwrap();
    browser
        .screenshot(&shots.join("02-add-configuration.png"))
        .await
        .unwrap();
    browser.click("#create-config").await.unwrap();
    assert_eq!(
        browser.text("#config-name").await.unwrap(),
        "Microsoft Entra ID"
    );
    let config_url = browser.current_url().await.unwrap();
    let config_url = config_url.split('?').next().unwrap().to_owned();
    assert_eq!(
        browser.value("#tenant-url").await.unwrap(),
        stack.base_url(),
        "the Tenant URL to paste into Entra ID"
    );
    assert!(
        browser
            .text("#auto-assign-state")
            .await
            .unwrap()
            .contains("Only user data is synced")
    );

    // Auto-assign licenses for the offering.
    browser.click("#auto-assign-on").await.unwrap();
    browser
        .text_containing("#auto-assign-state", "Auto-assign licenses is on")
        .await
        .unwrap();
    assert!(
        browser
            .text("#seats")
            .await
            .unwrap()
            .contains("0 of 2 seats used")
    );

    // Generate token: shown once, in the Access token field.
    browser.click("#generate-token").await.unwrap();
    let first_secret = browser.value("#access-token").await.unwrap();
    let first_prefix = browser.text("#token-prefix").await.unwrap();
    assert!(
        first_secret.starts_with(&first_prefix),
        "{first_prefix} / {first_secret}"
    );
    browser
        .screenshot(&shots.join("03-access-token.png"))
        .await
        .unwrap();
    browser.click("#done").await.unwrap();
    assert!(
        !browser.exists("#access-token").await.unwrap(),
        "the secret is never shown again"
    );

    // The IdP creates 3 users with the token.
    let configs = stack
        .account_admin()
        .await
        .unwrap()
        .list_scim_configs(scim_rpc::account::ListScimConfigsRequest {
            tenant_id: tenant.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .configs;
    let idp = |secret: &str| {
        stack.client(&e2e::Tenant {
            tenant_id: tenant.id.clone(),
            config_id: configs[0].id.clone(),
            token: secret.to_owned(),
        })
    };
    for name in ["ada@contoso.com", "grace@contoso.com", "linus@contoso.com"] {
        idp(&first_secret)
            .expect(
                Method::POST,
                "/Users",
                Some(&json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": name, "active": true,
                    "emails": [{ "value": name, "type": "work", "primary": true }]
                })),
                201,
            )
            .await
            .unwrap();
    }

    // 2 of 2 seats used, 1 user waiting, the pool exhausted at a glance.
    reload_until(&browser, &config_url, "#seats", "2 of 2 seats used").await;
    reload_until(&browser, &config_url, "#waiting", "linus@contoso.com").await;
    assert!(browser.exists("#pool-exhausted").await.unwrap());
    let holders = browser.text("#holders").await.unwrap();
    assert!(
        holders.contains("ada@contoso.com") && holders.contains("grace@contoso.com"),
        "{holders}"
    );
    browser
        .screenshot(&shots.join("04-licenses.png"))
        .await
        .unwrap();

    // The provisioning log lists the 3 creates; the CSV export of the filter has them.
    let log_url = format!("{console}/log?operation=create");
    reload_until(&browser, &log_url, "#log", "linus@contoso.com").await;
    let log = browser.text("#log").await.unwrap();
    for name in ["ada@contoso.com", "grace@contoso.com"] {
        assert!(log.contains(name), "{log}");
    }
    assert!(
        log.contains(&format!("IdP, token {first_prefix}")),
        "the log names the token as the tokens table does: {log}"
    );
    browser
        .screenshot(&shots.join("05-provisioning-log.png"))
        .await
        .unwrap();
    let export_href = format!("{console}/log/export.csv?operation=create");
    let csv = reqwest::Client::new()
        .get(&export_href)
        .header(
            reqwest::header::COOKIE,
            browser.cookie_header().await.unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("time,operation,outcome"), "{csv}");
    for name in ["ada@contoso.com", "grace@contoso.com", "linus@contoso.com"] {
        assert!(csv.contains(name), "{name} missing from {csv}");
    }
    assert_eq!(csv.lines().count(), 4, "a header and the 3 creates: {csv}");

    // Rotate: a new token, the old one keeps working for the overlap.
    browser.goto(&config_url).await.unwrap();
    browser
        .click(&format!(
            "tr[data-token-prefix='{first_prefix}'] button.secondary"
        ))
        .await
        .unwrap();
    let second_secret = browser.value("#access-token").await.unwrap();
    assert_ne!(second_secret, first_secret);
    assert!(
        browser
            .text("#previous-token")
            .await
            .unwrap()
            .contains("keeps working until")
    );
    idp(&first_secret)
        .expect(Method::GET, "/Users", None, 200)
        .await
        .unwrap();
    idp(&second_secret)
        .expect(Method::GET, "/Users", None, 200)
        .await
        .unwrap();

    // Revoke the old one: refused at once, the new one unaffected.
    browser.goto(&config_url).await.unwrap();
    browser
        .click(&format!(
            "tr[data-token-prefix='{first_prefix}'] button.danger"
        ))
        .await
        .unwrap();
    assert!(
        browser
            .text("#notice")
            .await
            .unwrap()
            .contains("Token revoked")
    );
    browser
        .screenshot(&shots.join("06-tokens.png"))
        .await
        .unwrap();
    // The revocation reaches the gateway's authentication cache as a signal: allow it a
    // moment, as an IdP's next request would.
    assert!(
        refused_within_a_second(&idp(&first_secret)).await,
        "the revoked token was still accepted after 1 s"
    );
    idp(&second_secret)
        .expect(Method::GET, "/Users", None, 200)
        .await
        .unwrap();

    // A second active token, then "Revoke all tokens": both refused at once.
    browser.goto(&config_url).await.unwrap();
    assert!(
        !browser.exists("#revoke-all-tokens").await.unwrap(),
        "offered with one active token"
    );
    browser.click("#generate-token").await.unwrap();
    let third_secret = browser.value("#access-token").await.unwrap();
    browser.goto(&config_url).await.unwrap();
    browser.click("#revoke-all-tokens").await.unwrap();
    assert!(
        browser
            .text("#notice")
            .await
            .unwrap()
            .contains("All tokens revoked")
    );
    let tokens = browser.text("#tokens").await.unwrap();
    assert!(!tokens.contains("Active"), "{tokens}");
    for secret in [&second_secret, &third_secret] {
        assert!(
            refused_within_a_second(&idp(secret)).await,
            "a token was still accepted after 1 s"
        );
    }
    browser
        .screenshot(&shots.join("07-tokens-revoked.png"))
        .await
        .unwrap();

    browser.close().await;
    stack.stop().await;
}

/// Whether `client`'s token is refused (401) within a second.
async fn refused_within_a_second(client: &e2e::ScimClient) -> bool {
    e2e::eventually(Duration::from_secs(1), || async {
        Ok((client.get("/Users").await?.status == 401).then_some(()))
    })
    .await
    .is_ok()
}
