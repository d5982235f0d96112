//! End-to-end behaviour of the platform through the SCIM gateway, with all
//! four services running over real NATS JetStream and Postgres.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use e2e::{StackOptions, TestStack, audit_query, eventually, patch_body, query_value, user_body};
use scim_rpc::audit::AuditQueryRequest;
use scim_rpc::license::{GetPoolRequest, UserLicensesRequest};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_lifecycle_create_get_filter_patch_deactivate_delete() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("contoso").await.unwrap();
    let scim = stack.client(&tenant);

    let created = scim
        .post("/Users", &user_body("Alice@Contoso.com"))
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let location = created.headers["location"].to_str().unwrap();
    assert!(location.ends_with(&format!("/Users/{id}")));
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert!(created.etag().unwrap().starts_with("W/\""));

    let fetched = scim.get(&format!("/Users/{id}")).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["userName"], "Alice@Contoso.com");
    assert_eq!(fetched.etag(), created.etag());

    let filtered = scim
        .get("/Users?filter=userName%20eq%20%22alice@contoso.COM%22")
        .await
        .unwrap();
    assert_eq!(filtered.status, 200);
    assert_eq!(filtered.body["totalResults"], 1);
    assert_eq!(filtered.body["Resources"][0]["id"], id.as_str());

    let missing = scim
        .get("/Users?filter=userName%20eq%20%22nobody@contoso.com%22")
        .await
        .unwrap();
    assert_eq!(missing.status, 200);
    assert_eq!(missing.body["totalResults"], 0);

    let patched = scim
        .patch(
            &format!("/Users/{id}"),
            &patch_body(json!([{"op": "replace", "path": "name.givenName", "value": "Alicia"}])),
        )
        .await
        .unwrap();
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["name"]["givenName"], "Alicia");
    assert_ne!(patched.etag(), created.etag());

    let deactivated = scim
        .patch(
            &format!("/Users/{id}"),
            &patch_body(json!([{"op": "Replace", "value": {"active": false}}])),
        )
        .await
        .unwrap();
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    let fetched = scim.get(&format!("/Users/{id}")).await.unwrap();
    assert_eq!(fetched.body["active"], false);
    let inactive = scim.get("/Users?filter=active%20eq%20false").await.unwrap();
    assert_eq!(inactive.body["totalResults"], 1);

    let deleted = scim.delete(&format!("/Users/{id}")).await.unwrap();
    assert_eq!(deleted.status, 204);
    let gone = scim.get(&format!("/Users/{id}")).await.unwrap();
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["status"], "404");
    // The name is free again once the user is deleted.
    scim.create_user("alice@contoso.com").await.unwrap();
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_lifecycle_with_membership_changes() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("fabrikam").await.unwrap();
    let scim = stack.client(&tenant);
    let alice = scim.create_user("alice@fabrikam.com").await.unwrap();
    let bob = scim.create_user("bob@fabrikam.com").await.unwrap();

    let created = scim
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Sales", "members": [{"value": alice}]}),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let group = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["members"].as_array().unwrap().len(), 1);

    let added = scim
        .patch(
            &format!("/Groups/{group}"),
            &patch_body(json!([{"op": "Add", "path": "members", "value": [{"value": bob}, {"value": "no-such-user"}]}])),
        )
        .await
        .unwrap();
    assert_eq!(added.status, 200, "{}", added.body);
    let members: HashSet<String> = added.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        members,
        HashSet::from([alice.clone(), bob.clone()]),
        "unknown ids are skipped"
    );

    let removed = scim
        .patch(
            &format!("/Groups/{group}"),
            &patch_body(
                json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
            ),
        )
        .await
        .unwrap();
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.body["members"].as_array().unwrap().len(), 1);

    let renamed = scim
        .patch(
            &format!("/Groups/{group}"),
            &patch_body(json!([{"op": "replace", "path": "displayName", "value": "Sales EMEA"}])),
        )
        .await
        .unwrap();
    assert_eq!(renamed.body["displayName"], "Sales EMEA");

    let found = scim
        .get("/Groups?filter=displayName%20eq%20%22sales%20emea%22&excludedAttributes=members")
        .await
        .unwrap();
    assert_eq!(found.body["totalResults"], 1);
    assert!(found.body["Resources"][0].get("members").is_none());

    // Deleting a member removes it from the group.
    assert_eq!(
        scim.delete(&format!("/Users/{bob}")).await.unwrap().status,
        204
    );
    let after = scim.get(&format!("/Groups/{group}")).await.unwrap();
    assert_eq!(
        after.body["members"].as_array().map(Vec::len).unwrap_or(0),
        0
    );

    assert_eq!(
        scim.delete(&format!("/Groups/{group}"))
            .await
            .unwrap()
            .status,
        204
    );
    assert_eq!(
        scim.get(&format!("/Groups/{group}")).await.unwrap().status,
        404
    );
    stack.stop().await;
}

/// I2: every 2xx write is visible to the very next read on another replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_read_back_immediately_through_another_gateway() {
    let stack = TestStack::start_with(StackOptions {
        gateways: 2,
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let tenant = stack.tenant("northwind").await.unwrap();
    let writer = stack.client_at(0, &tenant);
    let reader = stack.client_at(1, &tenant);
    for i in 0..15 {
        let id = writer
            .create_user(&format!("user{i}@northwind.com"))
            .await
            .unwrap();
        let read = reader.get(&format!("/Users/{id}")).await.unwrap();
        assert_eq!(
            read.status, 200,
            "user {i} not visible right after its create"
        );
        let title = format!("title {i}");
        let patched = reader
            .patch(
                &format!("/Users/{id}"),
                &patch_body(json!([{"op": "add", "path": "title", "value": title}])),
            )
            .await
            .unwrap();
        assert_eq!(patched.status, 200);
        let read = writer.get(&format!("/Users/{id}")).await.unwrap();
        assert_eq!(read.body["title"], title.as_str());
        let listed = writer
            .get(&format!(
                "/Users?filter=userName%20eq%20%22user{i}@northwind.com%22"
            ))
            .await
            .unwrap();
        assert_eq!(listed.body["totalResults"], 1);
    }
    stack.stop().await;
}

/// I3: concurrent creates of one userName in different cases: one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_user_name_yield_one_201() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("adatum").await.unwrap();
    let scim = stack.client(&tenant);
    let names = [
        "dup@adatum.com",
        "DUP@adatum.com",
        "Dup@Adatum.com",
        "dUp@aDatum.CoM",
    ];
    let attempts = (0..20).map(|i| {
        let scim = scim.clone();
        let name = names[i % names.len()];
        async move { scim.post("/Users", &user_body(name)).await.unwrap() }
    });
    let responses = futures::future::join_all(attempts).await;
    let created = responses.iter().filter(|r| r.status == 201).count();
    let conflicts: Vec<_> = responses.iter().filter(|r| r.status == 409).collect();
    assert_eq!(
        created,
        1,
        "statuses: {:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(conflicts.len(), 19);
    assert!(conflicts.iter().all(|r| r.body["scimType"] == "uniqueness"));
    let listed = scim
        .get("/Users?filter=userName%20eq%20%22DUP@ADATUM.COM%22")
        .await
        .unwrap();
    assert_eq!(listed.body["totalResults"], 1);
    stack.stop().await;
}

/// I3 under Unicode: a userName's fullwidth, ligature, Kelvin-sign, ß or decomposed form is
/// the same user (NFKC and full case folding), found by a filter in any of its forms; the
/// name is stored and returned exactly as it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compatibility_forms_of_a_user_name_are_one_user() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("fabrikam").await.unwrap();
    let scim = stack.client(&tenant);
    let users = [
        (
            "alice@contoso.com",
            &["ａｌｉｃｅ@ｃｏｎｔｏｓｏ.ｃｏｍ", "ＡＬＩＣＥ@contoso.com"][..],
        ),
        (
            "ﬁnn@contoso.com",
            &["finn@contoso.com", "FINN@CONTOSO.COM"][..],
        ),
        ("\u{212a}elvin@contoso.com", &["kelvin@contoso.com"][..]),
        // composed é and ß as sent; decomposed é (e + U+0301) and "SS" as the other form
        (
            "Jos\u{e9}.Stra\u{df}e@contoso.com",
            &[
                "JOSE\u{301}.STRASSE@contoso.com",
                "jose\u{301}.strasse@contoso.com",
            ][..],
        ),
    ];
    for (name, other_forms) in users {
        let created = scim.post("/Users", &user_body(name)).await.unwrap();
        assert_eq!(created.status, 201, "{name}: {}", created.body);
        assert_eq!(created.body["userName"], name, "stored as sent");
        let id = created.body["id"].as_str().unwrap().to_owned();
        let fetched = scim.get(&format!("/Users/{id}")).await.unwrap();
        assert_eq!(fetched.body["userName"], name);

        for other in other_forms {
            let conflict = scim.post("/Users", &user_body(other)).await.unwrap();
            assert_eq!(
                conflict.status, 409,
                "{other} after {name}: {}",
                conflict.body
            );
            assert_eq!(conflict.body["scimType"], "uniqueness");

            let filter = query_value(&format!("userName eq \"{other}\""));
            let found = scim.get(&format!("/Users?filter={filter}")).await.unwrap();
            assert_eq!(found.status, 200, "{}", found.body);
            assert_eq!(found.body["totalResults"], 1, "{other}: {}", found.body);
            assert_eq!(found.body["Resources"][0]["id"], id.as_str());
            assert_eq!(found.body["Resources"][0]["userName"], name);
        }
    }

    // Prefix lookups fold the same way.
    let filter = query_value("userName sw \"ＪＯＳＥ\u{301}.STRASSE\"");
    let found = scim.get(&format!("/Users?filter={filter}")).await.unwrap();
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);

    // Renaming a user to another form of its own name is no conflict; the new form is
    // stored as sent and still holds the name against others.
    let alice = scim
        .get(&format!(
            "/Users?filter={}",
            query_value("userName eq \"alice@contoso.com\"")
        ))
        .await
        .unwrap();
    let alice_id = alice.body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let renamed = scim
        .patch(
            &format!("/Users/{alice_id}"),
            &patch_body(
                json!([{"op": "replace", "path": "userName", "value": "ＡＬＩＣＥ@contoso.com"}]),
            ),
        )
        .await
        .unwrap();
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["userName"], "ＡＬＩＣＥ@contoso.com");
    let again = scim
        .post("/Users", &user_body("alice@contoso.com"))
        .await
        .unwrap();
    assert_eq!(again.status, 409, "{}", again.body);

    // Names that only look alike remain different users: dotless ı is not i.
    let dotless = scim
        .post("/Users", &user_body("\u{131}nes@contoso.com"))
        .await
        .unwrap();
    assert_eq!(dotless.status, 201, "{}", dotless.body);
    let plain = scim
        .post("/Users", &user_body("ines@contoso.com"))
        .await
        .unwrap();
    assert_eq!(plain.status, 201, "{}", plain.body);
    stack.stop().await;
}

/// I4: concurrent PATCHes of one user all land; a stale If-Match is 412.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_all_land_and_stale_versions_are_refused() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("litware").await.unwrap();
    let scim = stack.client(&tenant);
    let created = scim
        .post("/Users", &user_body("pat@litware.com"))
        .await
        .unwrap();
    let id = created.body["id"].as_str().unwrap().to_owned();
    let stale = created.etag().unwrap();

    let patches = (0..10).map(|i| {
        let scim = scim.clone();
        let path = format!("/Users/{id}");
        async move {
            scim.patch(
                &path,
                &patch_body(json!([{"op": "add", "path": "phoneNumbers",
                                     "value": [{"value": format!("+1 555 000 {i:04}"), "type": "work"}]}])),
            )
            .await
            .unwrap()
        }
    });
    let responses = futures::future::join_all(patches).await;
    assert!(
        responses.iter().all(|r| r.status == 200),
        "{:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let user = scim.get(&format!("/Users/{id}")).await.unwrap();
    let phones = user.body["phoneNumbers"].as_array().unwrap();
    assert_eq!(phones.len(), 10, "lost update: {}", user.body);

    let refused = scim
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            Some(&patch_body(
                json!([{"op": "replace", "path": "title", "value": "x"}]),
            )),
            &[("if-match", stale.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 412);
    let current = user.etag().unwrap();
    let accepted = scim
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            Some(&patch_body(
                json!([{"op": "replace", "path": "title", "value": "x"}]),
            )),
            &[("if-match", current.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(accepted.status, 200);
    let not_modified = scim
        .send(
            reqwest::Method::GET,
            &format!("/Users/{id}"),
            None,
            &[("if-none-match", accepted.etag().unwrap().as_str())],
        )
        .await
        .unwrap();
    assert_eq!(not_modified.status, 304);
    stack.stop().await;
}

/// I6: 50 concurrent creates, a 10-seat pool, two license-service replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licenses_are_never_over_assigned_and_freed_on_deactivation() {
    let stack = TestStack::start_with(StackOptions {
        license_services: 2,
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let tenant = stack.tenant("tailspin").await.unwrap();
    let pool_id = stack.pool(&tenant, 10, true).await.unwrap();
    let scim = stack.client(&tenant);
    let creates = (0..50).map(|i| {
        let scim = scim.clone();
        async move {
            scim.create_user(&format!("seat{i}@tailspin.com"))
                .await
                .unwrap()
        }
    });
    let ids = futures::future::join_all(creates).await;

    let mut licenses = stack.license_admin(1).await.unwrap();
    // All 50 decisions made: 10 assigned, 40 denied.
    let denials = AuditQueryRequest {
        operation: "license.deny".into(),
        ..audit_query(&tenant)
    };
    stack
        .audit_records_when(denials, WAIT, |denied| denied.len() == 40)
        .await
        .unwrap();
    let pool = licenses
        .get_pool(GetPoolRequest {
            pool_id: pool_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pool.seats_used, 10);

    let mut holders = Vec::new();
    for id in &ids {
        let held = licenses
            .user_licenses(UserLicensesRequest {
                tenant_id: tenant.tenant_id.clone(),
                user_id: id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .assignments
            .len();
        if held > 0 {
            holders.push(id.clone());
        }
    }
    assert_eq!(holders.len(), 10);

    let released = &holders[0];
    let response = scim
        .patch(
            &format!("/Users/{released}"),
            &patch_body(json!([{"op": "replace", "path": "active", "value": "False"}])),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    // The freed seat goes to the user waiting longest, not to a newcomer.
    let newcomer = scim.create_user("late@tailspin.com").await.unwrap();
    let waiting: Vec<String> = ids
        .iter()
        .filter(|id| !holders.contains(id))
        .cloned()
        .collect();
    let new_holders = eventually(WAIT, || {
        let mut licenses = licenses.clone();
        let tenant_id = tenant.tenant_id.clone();
        let waiting = waiting.clone();
        async move {
            let mut holding = Vec::new();
            for id in &waiting {
                let held = licenses
                    .user_licenses(UserLicensesRequest {
                        tenant_id: tenant_id.clone(),
                        user_id: id.clone(),
                    })
                    .await?
                    .into_inner()
                    .assignments
                    .len();
                if held > 0 {
                    holding.push(id.clone());
                }
            }
            Ok((!holding.is_empty()).then_some(holding))
        }
    })
    .await
    .unwrap();
    assert_eq!(
        new_holders.len(),
        1,
        "exactly one waiting user gets the seat"
    );
    let newcomer_seats = licenses
        .user_licenses(UserLicensesRequest {
            tenant_id: tenant.tenant_id.clone(),
            user_id: newcomer,
        })
        .await
        .unwrap()
        .into_inner()
        .assignments
        .len();
    assert_eq!(newcomer_seats, 0);
    let pool = licenses
        .get_pool(GetPoolRequest { pool_id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pool.seats_used, 10);
    stack.stop().await;
}

/// I7: every accepted write and every rejected request is logged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_and_rejection_appears_once_in_the_audit_log() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("wingtip").await.unwrap();
    let scim = stack.client(&tenant);
    let id = scim.create_user("audit@wingtip.com").await.unwrap();
    let patch = patch_body(json!([{"op": "replace", "path": "title", "value": "Boss"}]));
    assert_eq!(
        scim.patch(&format!("/Users/{id}"), &patch)
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        scim.post("/Users", &user_body("AUDIT@wingtip.com"))
            .await
            .unwrap()
            .status,
        409
    );
    assert_eq!(
        scim.get("/Users/00000000-0000-0000-0000-000000000000")
            .await
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        scim.get("/Users?filter=userName%20eq")
            .await
            .unwrap()
            .status,
        400
    );
    assert_eq!(
        scim.delete(&format!("/Users/{id}")).await.unwrap().status,
        204
    );

    // The operator's setup of the tenant (its configuration and token) is in the log too,
    // as admin actions; this test counts the IdP's requests.
    let by_the_idp = |r: &&scim_rpc::audit::AuditRecord| !r.operation.starts_with("admin.");
    let records = stack
        .audit_records_when(audit_query(&tenant), WAIT, |records| {
            records.iter().filter(by_the_idp).count() >= 6
        })
        .await
        .unwrap();
    let operations: Vec<(&str, &str, u32)> = records
        .iter()
        .filter(by_the_idp)
        .filter(|r| !r.operation.starts_with("license"))
        .map(|r| (r.operation.as_str(), r.outcome.as_str(), r.status))
        .collect();
    assert_eq!(
        operations
            .iter()
            .filter(|(op, outcome, _)| *op != "reject" && *outcome == "success")
            .count(),
        3,
        "{operations:?}"
    );
    let mut rejected: Vec<u32> = operations
        .iter()
        .filter(|(op, _, _)| *op == "reject")
        .map(|(_, _, s)| *s)
        .collect();
    rejected.sort_unstable();
    assert_eq!(rejected, vec![400, 404, 409], "{operations:?}");
    // Exactly once (I7): the sequence is the table's key, so a duplicate would be the same
    // request recorded under two sequences, i.e. one correlation id and operation twice.
    let requests: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| !r.operation.starts_with("license"))
        .map(|r| (r.correlation_id.as_str(), r.operation.as_str()))
        .collect();
    let distinct: HashSet<&(&str, &str)> = requests.iter().collect();
    assert_eq!(
        distinct.len(),
        requests.len(),
        "a request recorded twice: {requests:?}"
    );
    let by_name = stack
        .audit_records(AuditQueryRequest {
            target: "AUDIT@WINGTIP.COM".into(),
            ..audit_query(&tenant)
        })
        .await
        .unwrap();
    assert!(
        by_name.iter().any(|r| r.operation == "create"),
        "{by_name:?}"
    );
    stack.stop().await;
}

/// I8: a second tenant's token sees none of the first tenant's data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_isolated() {
    let stack = TestStack::start().await.unwrap();
    let first = stack.tenant("first").await.unwrap();
    let second = stack.tenant("second").await.unwrap();
    let a = stack.client(&first);
    let b = stack.client(&second);
    let id = a.create_user("shared@example.com").await.unwrap();
    assert_eq!(b.get(&format!("/Users/{id}")).await.unwrap().status, 404);
    assert_eq!(b.delete(&format!("/Users/{id}")).await.unwrap().status, 404);
    let patch = patch_body(json!([{"op": "replace", "path": "title", "value": "pwned"}]));
    assert_eq!(
        b.patch(&format!("/Users/{id}"), &patch)
            .await
            .unwrap()
            .status,
        404
    );
    assert_eq!(b.get("/Users").await.unwrap().body["totalResults"], 0);
    // The same userName is free in another tenant.
    b.create_user("shared@example.com").await.unwrap();
    assert_eq!(
        a.get(&format!("/Users/{id}")).await.unwrap().body["title"],
        serde_json::Value::Null
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_and_discovery() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("auth").await.unwrap();
    let scim = stack.client(&tenant);
    for token in [None, Some("scimtok_wrong"), Some("non-token")] {
        let response = scim
            .with_token(token)
            .get("/Users?filter=userName%20eq%20%22x%22")
            .await
            .unwrap();
        assert_eq!(response.status, 401, "token {token:?}");
        assert_eq!(response.body["status"], "401");
        assert_eq!(
            response.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }
    let probe = scim
        .get(&format!(
            "/Users?filter=userName%20eq%20%22{}%22",
            uuid::Uuid::new_v4()
        ))
        .await
        .unwrap();
    assert_eq!(probe.status, 200);
    assert_eq!(probe.body["totalResults"], 0);
    assert_eq!(
        probe.body["Resources"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0),
        0
    );

    let config = scim.get("/ServiceProviderConfig").await.unwrap();
    assert_eq!(config.status, 200);
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(scim.get("/Schemas").await.unwrap().status, 200);
    assert_eq!(scim.get("/ResourceTypes").await.unwrap().status, 200);
    let not_allowed = scim
        .post("/ServiceProviderConfig", &json!({}))
        .await
        .unwrap();
    assert_eq!(not_allowed.status, 405);
    assert_eq!(not_allowed.body["status"], "405");
    let malformed = scim
        .send(reqwest::Method::POST, "/Users", None, &[])
        .await
        .unwrap();
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.body["scimType"], "invalidSyntax");
    stack.stop().await;
}
