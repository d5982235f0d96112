//! Okta's provisioning traffic, end to end through the gateway with all four
//! services: the checks of Okta's SCIM 2.0 spec test (Runscope), import
//! paging by 100, user create/update (full PUT)/deactivate, Group Push, and
//! partial success of group membership changes naming unknown users.
//! Request bodies follow Okta's "SCIM 2.0 Protocol Reference".

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use e2e::{
    ScimClient, ScimResponse, Tenant, TestStack, audit_query, eventually, member_ids, patch_body,
    query_value,
};
use futures::StreamExt as _;
use scim_model::urn::{
    ERROR_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA as LIST_SCHEMA, USER_SCHEMA,
};
use scim_rpc::audit::{AuditQueryRequest, AuditRecord};
use scim_rpc::license::{GetPoolRequest, UserLicensesRequest};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// Okta's match query: `userName eq` with `startIndex=1&count=100`.
async fn match_user(scim: &ScimClient, user_name: &str) -> ScimResponse {
    let response = scim
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=100",
            query_value(&format!("userName eq \"{user_name}\""))
        ))
        .await
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    response
}

/// The body Okta posts to create a user (with the Okta user id as
/// externalId, a password and an empty `groups`).
fn okta_user(user_name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u{}", &uuid::Uuid::new_v4().simple().to_string()[..17]),
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

fn set(ids: &[&str]) -> HashSet<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

fn assert_scim_error(response: &ScimResponse, status: u16) {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(response.body["schemas"], json!([ERROR_SCHEMA]));
    assert_eq!(response.body["status"], status.to_string());
    assert!(
        !response.body["detail"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "an error needs a detail: {}",
        response.body
    );
}

async fn create_okta_user(scim: &ScimClient, user_name: &str) -> String {
    let created = scim
        .post("/Users", &okta_user(user_name, "Test", "User"))
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Waits until `user` holds (or does not hold) a seat of the pool, and the
/// pool's usage agrees.
async fn wait_seat(stack: &TestStack, pool_id: &str, user: &str, held: bool) {
    eventually(WAIT, || async move {
        let mut licenses = stack.license_admin(0).await?;
        let pool = licenses
            .get_pool(GetPoolRequest {
                pool_id: pool_id.to_owned(),
            })
            .await?
            .into_inner();
        let holds = licenses
            .user_licenses(UserLicensesRequest {
                tenant_id: pool.tenant_id.clone(),
                user_id: user.to_owned(),
            })
            .await?
            .into_inner()
            .assignments
            .iter()
            .any(|a| a.pool_id == pool_id);
        Ok((holds == held && pool.seats_used == u32::from(held)).then_some(()))
    })
    .await
    .unwrap_or_else(|_| panic!("user {user} should hold a seat: {held}"));
}

/// Okta's spec test and a user's life under Okta: match, create with a
/// password, full-PUT updates, path-less deactivation and reactivation, with
/// a one-seat auto-assign pool following the user's status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_user_lifecycle() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("acme").await.unwrap();
    let pool_id = stack.pool(&tenant, 1, true).await.unwrap();
    let scim = stack.client(&tenant);

    // Okta's "HTTP Header" test with a value that is no token at all.
    let rejected = scim
        .with_token(None)
        .send(
            reqwest::Method::GET,
            "/Users?startIndex=1&count=1",
            None,
            &[("authorization", "non-token")],
        )
        .await
        .unwrap();
    assert_scim_error(&rejected, 401);

    // Match: nobody yet.
    let matched = match_user(&scim, "test.user@okta.local").await;
    assert_eq!(matched.body["schemas"], json!([LIST_SCHEMA]));
    assert_eq!(matched.body["totalResults"], 0);

    // Create: the password is accepted and never returned; `groups` is
    // read-only and ignored.
    let body = okta_user("test.user@okta.local", "Test", "User");
    let created = scim.post("/Users", &body).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let user = &created.body;
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    assert_eq!(user["userName"], "test.user@okta.local");
    assert_eq!(user["locale"], "en-US");
    assert_eq!(user["externalId"], body["externalId"]);
    assert_eq!(user["active"], true);
    assert_eq!(
        user["name"],
        json!({"givenName": "Test", "familyName": "User"})
    );
    assert!(user.get("password").is_none(), "{user}");
    let fetched = scim.get(&path).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert!(fetched.body.get("password").is_none(), "{}", fetched.body);
    assert_eq!(fetched.body["emails"][0]["value"], "test.user@okta.local");
    wait_seat(&stack, &pool_id, &id, true).await;

    // Spec test: list one user; the user has name, userName, active, emails.
    let one = scim.get("/Users?count=1&startIndex=1").await.unwrap();
    assert_eq!(one.body["itemsPerPage"], 1);
    let listed = &one.body["Resources"][0];
    assert!(listed["name"]["familyName"].is_string() && listed["emails"][0]["value"].is_string());
    assert!(listed.get("password").is_none());

    // Creating the same user again is a 409 SCIM error.
    let again = scim.post("/Users", &body).await.unwrap();
    assert_scim_error(&again, 409);
    assert_eq!(again.body["scimType"], "uniqueness");

    // userName in another case still matches (Okta's case-sensitivity check).
    for spelling in ["TEST.USER@OKTA.LOCAL", "Test.User@Okta.Local"] {
        let matched = match_user(&scim, spelling).await;
        assert_eq!(matched.body["totalResults"], 1, "{spelling}");
        assert_eq!(matched.body["Resources"][0]["id"], id.as_str());
        assert_eq!(
            matched.body["Resources"][0]["userName"],
            "test.user@okta.local"
        );
    }

    // Unknown ids: 404 SCIM errors, for Okta's odd id and a well-formed one.
    for unknown in [
        "/Users/00919288221112222".to_owned(),
        format!("/Users/{}", uuid::Uuid::now_v7()),
        format!("/Groups/{}", uuid::Uuid::now_v7()),
    ] {
        assert_scim_error(&scim.get(&unknown).await.unwrap(), 404);
    }

    // Update: Okta GETs, then PUTs the whole profile. Attributes left out
    // are removed, "" counts as absent, id/groups/password are not stored.
    let mut put = okta_user("test.user@okta.local", "Another", "User");
    put["id"] = json!(id);
    put["externalId"] = body["externalId"].clone();
    put["name"]["middleName"] = json!("");
    put["displayName"] = json!("Another User");
    put["title"] = json!("Director");
    put["phoneNumbers"] = json!([{"value": "+1 555 0199", "type": "mobile"}]);
    let replaced = scim.put(&path, &put).await.unwrap();
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    let user = &replaced.body;
    assert_eq!(user["id"], id.as_str());
    assert_eq!(
        user["name"],
        json!({"givenName": "Another", "familyName": "User"})
    );
    assert_eq!(user["displayName"], "Another User");
    assert_eq!(user["title"], "Director");
    assert_eq!(user["phoneNumbers"][0]["value"], "+1 555 0199");
    assert!(user.get("password").is_none());
    assert_ne!(replaced.etag(), created.etag());

    // A later PUT without title and phone numbers removes them, and may
    // rename the user.
    let mut put = okta_user("test.user2@okta.local", "Another", "User");
    put["id"] = json!(id);
    put["locale"] = json!("fr-FR");
    let replaced = scim.put(&path, &put).await.unwrap();
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert!(replaced.body.get("title").is_none(), "{}", replaced.body);
    assert!(replaced.body.get("phoneNumbers").is_none());
    assert_eq!(replaced.body["locale"], "fr-FR");
    assert_eq!(replaced.body["userName"], "test.user2@okta.local");
    assert_eq!(
        match_user(&scim, "test.user@okta.local").await.body["totalResults"],
        0
    );
    assert_eq!(
        match_user(&scim, "TEST.USER2@okta.local").await.body["totalResults"],
        1
    );

    // Deactivation: a path-less replace with a JSON boolean.
    let deactivated = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await
        .unwrap();
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    assert_eq!(deactivated.body["active"], false);
    assert_eq!(deactivated.body["locale"], "fr-FR", "nothing else changed");
    let fetched = scim.get(&path).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["active"], false);
    let matched = match_user(&scim, "test.user2@okta.local").await;
    assert_eq!(matched.body["Resources"][0]["active"], false);
    wait_seat(&stack, &pool_id, &id, false).await;

    // Reactivation, then a password push (PATCH), which is accepted and
    // not stored.
    let reactivated = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "replace", "value": {"active": true}}])),
        )
        .await
        .unwrap();
    assert_eq!(reactivated.body["active"], true);
    wait_seat(&stack, &pool_id, &id, true).await;
    let password = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "replace", "value": {"password": "t1meMa$heen"}}])),
        )
        .await
        .unwrap();
    assert_eq!(password.status, 200, "{}", password.body);
    assert!(password.body.get("password").is_none());
    stack.stop().await;
}

/// Okta's import: `startIndex=1&count=100`, then `startIndex=101`, with
/// integer counters, every user once, deactivated users included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_import_pages_by_one_hundred() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("acme").await.unwrap();
    let scim = stack.client(&tenant);
    let total = 105_u64;
    let ids: Vec<String> = futures::stream::iter(0..total)
        .map(|i| {
            let scim = scim.clone();
            async move { create_okta_user(&scim, &format!("import{i:03}@okta.local")).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let deactivated = ids[7].clone();
    let response = scim
        .patch(
            &format!("/Users/{deactivated}"),
            &patch_body(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);

    let mut seen = Vec::new();
    let mut start = 1_u64;
    loop {
        let page = scim
            .get(&format!("/Users?startIndex={start}&count=100"))
            .await
            .unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        for counter in ["totalResults", "startIndex", "itemsPerPage"] {
            assert!(page.body[counter].is_u64(), "{counter} must be an integer");
        }
        assert_eq!(page.body["totalResults"], total);
        assert_eq!(page.body["startIndex"], start);
        let resources = page.body["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(page.body["itemsPerPage"], resources.len());
        for user in &resources {
            assert!(user.get("password").is_none());
            seen.push(user["id"].as_str().unwrap().to_owned());
        }
        if start + 100 > total {
            assert_eq!(resources.len() as u64, total - (start - 1));
            break;
        }
        assert_eq!(resources.len(), 100);
        start += 100;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), unique.len(), "a user was imported twice");
    assert_eq!(unique, ids.iter().collect::<HashSet<_>>());
    stack.stop().await;
}

/// Group Push: create with no members, rename with a path-less replace that
/// carries the group's id, remove+add in one PATCH, full replacement of the
/// members by PATCH and by PUT, delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_group_push() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("acme").await.unwrap();
    let scim = stack.client(&tenant);
    let mut users = Vec::new();
    for name in ["ann", "ben", "cat", "dan"] {
        users.push(create_okta_user(&scim, &format!("{name}@okta.local")).await);
    }
    let [ann, ben, cat, dan] = [
        users[0].as_str(),
        users[1].as_str(),
        users[2].as_str(),
        users[3].as_str(),
    ];

    let lookup = scim
        .get(&format!(
            "/Groups?filter={}&startIndex=1&count=100",
            query_value("displayName eq \"Engineering\"")
        ))
        .await
        .unwrap();
    assert_eq!(lookup.status, 200);
    assert_eq!(lookup.body["totalResults"], 0);

    let created = scim
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": []}),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["displayName"], "Engineering");
    assert!(member_ids(&created.body).is_empty());
    let gid = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{gid}");

    // Rename: path-less replace with the group's own id in the value.
    let renamed = scim
        .patch(
            &path,
            &patch_body(
                json!([{"op": "replace", "value": {"id": gid, "displayName": "Engineering Team"}}]),
            ),
        )
        .await
        .unwrap();
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["displayName"], "Engineering Team");
    assert_eq!(renamed.body["id"], gid.as_str());
    // A different id in that value is a client error, not a silent no-op.
    let other_id = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "replace", "value": {"id": uuid::Uuid::now_v7().to_string(), "displayName": "X"}}])),
        )
        .await
        .unwrap();
    assert_scim_error(&other_id, 400);
    assert_eq!(other_id.body["scimType"], "mutability");

    let added = scim
        .patch(
            &path,
            &patch_body(json!([
                {"op": "replace", "value": {"id": gid, "displayName": "Engineering Team"}},
                {"op": "add", "path": "members", "value": [
                    {"value": ann, "display": "ann@okta.local"},
                    {"value": ben, "display": "ben@okta.local"}
                ]}
            ])),
        )
        .await
        .unwrap();
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(member_ids(&added.body), set(&[ann, ben]));

    // One request: remove ann, add cat (Okta's membership update).
    let swapped = scim
        .patch(
            &path,
            &patch_body(json!([
                {"op": "remove", "path": format!("members[value eq \"{ann}\"]")},
                {"op": "add", "path": "members", "value": [{"value": cat, "display": "cat@okta.local"}]}
            ])),
        )
        .await
        .unwrap();
    assert_eq!(swapped.status, 200, "{}", swapped.body);
    assert_eq!(member_ids(&swapped.body), set(&[ben, cat]));

    // Full replacement of the member list with a PATCH replace…
    let replaced = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "replace", "path": "members", "value": [
                {"value": dan, "display": "dan@okta.local"},
                {"value": ann, "display": "ann@okta.local"}
            ]}])),
        )
        .await
        .unwrap();
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(member_ids(&replaced.body), set(&[ann, dan]));

    // …and with a PUT of the whole group.
    let put = scim
        .put(
            &path,
            &json!({
                "schemas": [GROUP_SCHEMA],
                "id": gid,
                "displayName": "Engineering Team",
                "members": [
                    {"value": ben, "display": "ben@okta.local"},
                    {"value": cat, "display": "cat@okta.local"},
                    {"value": dan, "display": "dan@okta.local"}
                ]
            }),
        )
        .await
        .unwrap();
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(member_ids(&put.body), set(&[ben, cat, dan]));
    let stored = scim.get(&path).await.unwrap();
    assert_eq!(member_ids(&stored.body), set(&[ben, cat, dan]));
    assert_eq!(stored.body["displayName"], "Engineering Team");

    // Deactivating a member keeps the membership.
    let deactivated = scim
        .patch(
            &format!("/Users/{ben}"),
            &patch_body(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await
        .unwrap();
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    let stored = scim.get(&path).await.unwrap();
    assert_eq!(member_ids(&stored.body), set(&[ben, cat, dan]));

    // A PUT with an empty list empties the group.
    let emptied = scim
        .put(
            &path,
            &json!({"schemas": [GROUP_SCHEMA], "id": gid, "displayName": "Engineering Team", "members": []}),
        )
        .await
        .unwrap();
    assert_eq!(emptied.status, 200, "{}", emptied.body);
    assert!(member_ids(&emptied.body).is_empty());

    // Unlinking the pushed group deletes it; its users stay.
    assert_eq!(scim.delete(&path).await.unwrap().status, 204);
    assert_scim_error(&scim.get(&path).await.unwrap(), 404);
    let lookup = scim
        .get(&format!(
            "/Groups?filter={}",
            query_value("displayName eq \"Engineering Team\"")
        ))
        .await
        .unwrap();
    assert_eq!(lookup.body["totalResults"], 0);
    assert_eq!(
        scim.get(&format!("/Users/{ann}")).await.unwrap().status,
        200
    );
    stack.stop().await;
}

async fn group_records(stack: &TestStack, tenant: &Tenant, group: &str) -> Vec<AuditRecord> {
    let query = AuditQueryRequest {
        target: group.to_owned(),
        ..audit_query(tenant)
    };
    stack.audit_records(query).await.unwrap()
}

/// A membership change naming ids that are not users of the tenant (never
/// existed, deleted, or another tenant's) succeeds for the known ids; the
/// skipped ids and why are in the provisioning log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_member_ids_are_skipped_and_recorded_in_the_audit_log() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("acme").await.unwrap();
    let other_tenant = stack.tenant("globex").await.unwrap();
    let scim = stack.client(&tenant);
    let first = create_okta_user(&scim, "first@okta.local").await;
    let second = create_okta_user(&scim, "second@okta.local").await;
    let deleted = create_okta_user(&scim, "gone@okta.local").await;
    assert_eq!(
        scim.delete(&format!("/Users/{deleted}"))
            .await
            .unwrap()
            .status,
        204
    );
    let foreign = create_okta_user(&stack.client(&other_tenant), "first@okta.local").await;

    // On create.
    let created = scim
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Partial",
                    "members": [{"value": first}, {"value": "ghost-on-create"}]}),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(member_ids(&created.body), set(&[&first]));
    let gid = created.body["id"].as_str().unwrap().to_owned();

    // On PATCH: one valid id among three unknown ones.
    let patched = scim
        .patch(
            &format!("/Groups/{gid}"),
            &patch_body(json!([{"op": "add", "path": "members", "value": [
                {"value": "00u-no-such-user"},
                {"value": second},
                {"value": deleted},
                {"value": foreign}
            ]}])),
        )
        .await
        .unwrap();
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(member_ids(&patched.body), set(&[&first, &second]));
    let stored = scim.get(&format!("/Groups/{gid}")).await.unwrap();
    assert_eq!(member_ids(&stored.body), set(&[&first, &second]));

    // A PATCH whose only member is unknown still answers 200 and is logged.
    let only_unknown = scim
        .patch(
            &format!("/Groups/{gid}"),
            &patch_body(
                json!([{"op": "Add", "path": "members", "value": [{"value": "lonely-ghost"}]}]),
            ),
        )
        .await
        .unwrap();
    assert_eq!(only_unknown.status, 200, "{}", only_unknown.body);
    assert_eq!(member_ids(&only_unknown.body), set(&[&first, &second]));

    let records = eventually(WAIT, || {
        let (stack, tenant, gid) = (&stack, &tenant, gid.clone());
        async move {
            let records = group_records(stack, tenant, &gid).await;
            Ok((records.len() >= 3).then_some(records))
        }
    })
    .await
    .unwrap();
    let summary: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| (r.operation.as_str(), r.outcome.as_str(), r.detail.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "create",
                "success",
                "skipped unknown member ids: ghost-on-create"
            ),
            (
                "patch",
                "success",
                format!("skipped unknown member ids: 00u-no-such-user, {deleted}, {foreign}")
                    .as_str()
            ),
            (
                "patch",
                "success",
                "skipped unknown member ids: lonely-ghost"
            ),
        ],
        "{records:?}"
    );
    for record in &records {
        assert_eq!(record.resource_type, "Group");
        assert_eq!(record.target_name, "Partial");
        assert_eq!(record.actor_config_id, tenant.config_id);
    }
    let event: Value = serde_json::from_str(&records[1].event_json).unwrap();
    assert_eq!(event["data"]["members_added"], json!([second]));
    assert_eq!(
        event["data"]["members_skipped"],
        json!(["00u-no-such-user", deleted, foreign])
    );
    // Nothing about the skipped ids was logged as a rejected request.
    let rejected = stack
        .audit_records(AuditQueryRequest {
            operation: "reject".into(),
            ..audit_query(&tenant)
        })
        .await
        .unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    stack.stop().await;
}
