//! A Microsoft Entra ID provisioning cycle, end to end through the gateway
//! with all four services: Test Connection, the initial cycle (match query,
//! create, manager and group memberships afterwards), incremental cycles in
//! both PATCH dialects Entra speaks (with and without the
//! `aadOptscim062020` flag), unassign / reassign with automatic license
//! assignment, hard delete, and index paging as the gallery validator
//! checks it. Request bodies follow Microsoft's documented shapes
//! ("Develop and plan provisioning for a SCIM endpoint", "Known issues and
//! resolutions with SCIM 2.0 protocol compliance").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use e2e::{
    ScimClient, ScimResponse, Tenant, TestStack, audit_query, eventually, member_ids, patch_body,
    query_value,
};
use scim_model::urn::{
    ENTERPRISE_USER_SCHEMA as ENTERPRISE, ERROR_SCHEMA, GROUP_SCHEMA,
    LIST_RESPONSE_SCHEMA as LIST_SCHEMA, USER_SCHEMA,
};
use scim_rpc::audit::{AuditQueryRequest, AuditRecord};
use scim_rpc::license::{GetPoolRequest, UserLicensesRequest};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn manager_path() -> String {
    format!("{ENTERPRISE}:manager")
}

/// `GET /Users?filter=…` with the filter percent-encoded as Entra sends it.
async fn find_users(scim: &ScimClient, filter: &str) -> ScimResponse {
    let response = scim
        .get(&format!("/Users?filter={}", query_value(filter)))
        .await
        .unwrap();
    assert_eq!(response.status, 200, "{filter}: {}", response.body);
    response
}

fn ids_of(list: &ScimResponse) -> Vec<String> {
    list.body["Resources"]
        .as_array()
        .map(|resources| {
            resources
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The body Entra posts for a new user (U2 in the design research), with
/// the enterprise extension mapped from employeeId and department.
fn entra_user(user_name: &str, given: &str, family: &str, employee: &str, dept: &str) -> Value {
    let mut body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": uuid::Uuid::new_v4().to_string(),
        "userName": user_name,
        "active": true,
        "displayName": format!("{given} {family}"),
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": format!("{given} {family}"), "familyName": family, "givenName": given},
        "title": "Engineer",
        "roles": []
    });
    body[ENTERPRISE] = json!({"employeeNumber": employee, "department": dept});
    body
}

async fn patch_ok(scim: &ScimClient, path: &str, operations: Value) -> Value {
    let response = scim.patch(path, &patch_body(operations)).await.unwrap();
    assert_eq!(response.status, 200, "PATCH {path}: {}", response.body);
    response.body
}

async fn get_ok(scim: &ScimClient, path: &str) -> Value {
    let response = scim.get(path).await.unwrap();
    assert_eq!(response.status, 200, "GET {path}: {}", response.body);
    response.body
}

/// Seat state as the license service reports it over gRPC.
struct Licenses<'a> {
    stack: &'a TestStack,
    tenant: &'a Tenant,
    pool_id: String,
}

impl Licenses<'_> {
    async fn seats_used(&self) -> anyhow::Result<u32> {
        Ok(self
            .stack
            .license_admin(0)
            .await?
            .get_pool(GetPoolRequest {
                pool_id: self.pool_id.clone(),
            })
            .await?
            .into_inner()
            .seats_used)
    }

    async fn holds(&self, user_id: &str) -> anyhow::Result<bool> {
        let assignments = self
            .stack
            .license_admin(0)
            .await?
            .user_licenses(UserLicensesRequest {
                tenant_id: self.tenant.tenant_id.clone(),
                user_id: user_id.to_owned(),
            })
            .await?
            .into_inner()
            .assignments;
        Ok(assignments.iter().any(|a| a.pool_id == self.pool_id))
    }

    /// Waits until the pool shows `seats` used and each listed user holds
    /// (or does not hold) a seat.
    async fn settle(&self, seats: u32, holders: &[(&str, bool)]) {
        eventually(WAIT, || async move {
            if self.seats_used().await? != seats {
                return Ok(None);
            }
            for (user, expected) in holders {
                if self.holds(user).await? != *expected {
                    return Ok(None);
                }
            }
            Ok(Some(()))
        })
        .await
        .unwrap_or_else(|_| panic!("license state not reached: {seats} seats, {holders:?}"));
    }
}

/// Waits for `count` audit records of `operation` on `target`.
async fn wait_audit(
    stack: &TestStack,
    tenant: &Tenant,
    target: &str,
    operation: &str,
    count: usize,
) -> Vec<AuditRecord> {
    let query = AuditQueryRequest {
        target: target.to_owned(),
        operation: operation.to_owned(),
        ..audit_query(tenant)
    };
    stack
        .audit_records_when(query, WAIT, |records| records.len() >= count)
        .await
        .unwrap_or_else(|_| panic!("no {count} {operation} audit record(s) for {target}"))
}

/// Test Connection: a filter on a random GUID must answer 200 with an empty
/// ListResponse; a wrong or missing token must answer 401 with a SCIM error
/// body (Entra quarantines the job on anything else).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("contoso").await.unwrap();
    let scim = stack.client(&tenant);
    let probe = format!(
        "/Users?filter={}",
        query_value(&format!("userName eq \"{}\"", uuid::Uuid::new_v4()))
    );

    let response = scim.get(&probe).await.unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.headers["content-type"].to_str().unwrap(),
        "application/scim+json"
    );
    assert_eq!(response.body["schemas"], json!([LIST_SCHEMA]));
    assert_eq!(response.body["totalResults"], 0);
    assert_eq!(response.body["startIndex"], 1);
    assert_eq!(response.body["itemsPerPage"], 0);
    assert_eq!(response.body["Resources"], json!([]));

    // Groups are probed the same way, by displayName, members excluded.
    let groups = scim
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            query_value(&format!("displayName eq \"{}\"", uuid::Uuid::new_v4()))
        ))
        .await
        .unwrap();
    assert_eq!(groups.status, 200, "{}", groups.body);
    assert_eq!(groups.body["totalResults"], 0);

    let wrong = format!("scimtok_{}", "A".repeat(43));
    for token in [Some(wrong.as_str()), Some("not-a-token"), None] {
        let response = scim.with_token(token).get(&probe).await.unwrap();
        assert_eq!(response.status, 401, "token {token:?}: {}", response.body);
        assert_eq!(response.body["schemas"], json!([ERROR_SCHEMA]));
        assert_eq!(response.body["status"], "401");
        assert!(
            !response.body["detail"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{}",
            response.body
        );
        assert!(response.headers.contains_key("www-authenticate"));
    }
    stack.stop().await;
}

/// The whole life of a set of users and a group under Entra, with a
/// three-seat auto-assign license pool and four users competing for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_cycle_with_license_assignment() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("contoso").await.unwrap();
    let pool_id = stack.pool(&tenant, 3, true).await.unwrap();
    let licenses = Licenses {
        stack: &stack,
        tenant: &tenant,
        pool_id,
    };
    let scim = stack.client(&tenant);

    // ── Initial cycle: match query, then create, for each assigned user. ──
    let people = [
        ("alice@contoso.com", "Alice", "Adams", "1001", "Sales"),
        ("bob@contoso.com", "Bob", "Brown", "1002", "Sales"),
        ("carol@contoso.com", "Carol", "Clark", "1003", "Support"),
        ("dave@contoso.com", "Dave", "Davis", "1004", "Support"),
    ];
    let mut ids = Vec::new();
    let mut external_ids = Vec::new();
    for (index, (user_name, given, family, employee, dept)) in people.iter().enumerate() {
        let matched = find_users(&scim, &format!("userName eq \"{user_name}\"")).await;
        assert_eq!(matched.body["totalResults"], 0);

        let mut body = entra_user(user_name, given, family, employee, dept);
        if index == 0 {
            // An app role assignment, as Entra encodes it: a JSON string.
            body["roles"] = json!([{
                "primary": false,
                "type": "WindowsAzureActiveDirectoryRole",
                "value": "{\"id\":\"5f4d3c2b-1a09-4e8f-9d7c-6b5a4f3e2d1c\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"
            }]);
        }
        let created = scim.post("/Users", &body).await.unwrap();
        assert_eq!(created.status, 201, "{}", created.body);
        let user = &created.body;
        let id = user["id"].as_str().unwrap().to_owned();
        assert!(
            created.headers["location"]
                .to_str()
                .unwrap()
                .ends_with(&format!("/Users/{id}"))
        );
        assert_eq!(user["userName"], *user_name);
        assert_eq!(user["active"], true);
        assert_eq!(user["externalId"], body["externalId"]);
        assert_eq!(user["name"]["givenName"], *given);
        assert_eq!(
            user["emails"],
            json!([{"primary": true, "type": "work", "value": user_name}])
        );
        assert_eq!(user[ENTERPRISE]["employeeNumber"], *employee);
        assert_eq!(user[ENTERPRISE]["department"], *dept);
        assert!(
            user["schemas"]
                .as_array()
                .unwrap()
                .contains(&json!(ENTERPRISE)),
            "{user}"
        );
        assert_eq!(user["meta"]["resourceType"], "User");
        external_ids.push(body["externalId"].as_str().unwrap().to_owned());
        ids.push(id);
    }
    let [alice, bob, carol, dave] = [
        ids[0].as_str(),
        ids[1].as_str(),
        ids[2].as_str(),
        ids[3].as_str(),
    ];
    let alice_user = get_ok(&scim, &format!("/Users/{alice}")).await;
    assert_eq!(
        alice_user["roles"],
        json!([{"primary": false, "type": "WindowsAzureActiveDirectoryRole",
                "value": "Admin", "display": "Admin"}]),
        "app roles are unwrapped from their JSON string"
    );
    assert!(alice_user.get("password").is_none());

    // Entra can match on externalId or the work email instead of userName.
    let by_external = find_users(&scim, &format!("externalId eq \"{}\"", external_ids[2])).await;
    assert_eq!(ids_of(&by_external), vec![carol.to_owned()]);
    let by_email = find_users(
        &scim,
        "emails[type eq \"work\"].value eq \"BOB@contoso.com\"",
    )
    .await;
    assert_eq!(ids_of(&by_email), vec![bob.to_owned()]);

    // First come, first served: the first three get the three seats, the
    // fourth is denied and the denial is in the provisioning log.
    licenses
        .settle(
            3,
            &[(alice, true), (bob, true), (carol, true), (dave, false)],
        )
        .await;
    let denied = wait_audit(&stack, &tenant, dave, "license.deny", 1).await;
    assert_eq!(denied[0].outcome, "failure");
    assert_eq!(denied[0].detail, "pool exhausted");
    assert_eq!(denied[0].target_name, "dave@contoso.com");

    // Manager references come after the users exist, as a plain string id.
    for report in [bob, carol, dave] {
        let user = patch_ok(
            &scim,
            &format!("/Users/{report}"),
            json!([{"op": "Add", "path": manager_path(), "value": alice}]),
        )
        .await;
        assert_eq!(user[ENTERPRISE]["manager"]["value"], alice);
        assert!(user[ENTERPRISE]["employeeNumber"].is_string());
    }
    let reports = find_users(&scim, &format!("{ENTERPRISE}:manager.value eq \"{alice}\"")).await;
    assert_eq!(reports.body["totalResults"], 3, "{}", reports.body);

    // Groups: match by displayName, create without members, then members in
    // several PATCHes (one of them with several members).
    let lookup = scim
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            query_value("displayName eq \"Sales\"")
        ))
        .await
        .unwrap();
    assert_eq!(lookup.body["totalResults"], 0);
    let group_external_id = uuid::Uuid::new_v4().to_string();
    let created = scim
        .post(
            "/Groups",
            &json!({
                "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": group_external_id,
                "displayName": "Sales",
                "meta": {"resourceType": "Group"}
            }),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["displayName"], "Sales");
    assert_eq!(created.body["externalId"], group_external_id.as_str());
    assert_eq!(created.body["schemas"], json!([GROUP_SCHEMA]));
    assert!(member_ids(&created.body).is_empty());
    let group = created.body["id"].as_str().unwrap().to_owned();
    let group_path = format!("/Groups/{group}");

    let after_one = patch_ok(
        &scim,
        &group_path,
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": alice}]}]),
    )
    .await;
    assert_eq!(member_ids(&after_one), HashSet::from([alice.to_owned()]));
    patch_ok(
        &scim,
        &group_path,
        json!([{"op": "Add", "path": "members",
                "value": [{"$ref": null, "value": bob}, {"$ref": null, "value": carol}]}]),
    )
    .await;
    // Re-adding a member is harmless; several operations in one request.
    let all = patch_ok(
        &scim,
        &group_path,
        json!([
            {"op": "Add", "path": "members", "value": [{"value": dave}]},
            {"op": "Add", "path": "members", "value": [{"value": alice}]}
        ]),
    )
    .await;
    assert_eq!(
        member_ids(&all),
        HashSet::from([
            alice.to_owned(),
            bob.to_owned(),
            carol.to_owned(),
            dave.to_owned()
        ])
    );
    let alice_member = all["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == alice)
        .unwrap();
    assert!(
        alice_member["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Users/{alice}"))
    );
    let without_members = get_ok(&scim, &format!("{group_path}?excludedAttributes=members")).await;
    assert!(without_members.get("members").is_none());
    assert_eq!(without_members["displayName"], "Sales");

    // ── Incremental cycle. ──
    // Default dialect: one capitalised operation per path, filtered paths
    // that must create the element when it is missing.
    let alice_path = format!("/Users/{alice}");
    let user = patch_ok(
        &scim,
        &alice_path,
        json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alice.adams@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Adams-Smith"},
            {"op": "Replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "2001"},
            {"op": "Add", "path": "nickName", "value": "Ally"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Seattle"}
        ]),
    )
    .await;
    assert_eq!(
        user["emails"],
        json!([{"primary": true, "type": "work", "value": "alice.adams@contoso.com"}])
    );
    assert_eq!(user["name"]["familyName"], "Adams-Smith");
    assert_eq!(user["name"]["givenName"], "Alice");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "2001");
    assert_eq!(user[ENTERPRISE]["department"], "Sales");
    assert_eq!(user["nickName"], "Ally");
    assert_eq!(
        user["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    assert_eq!(
        user["addresses"],
        json!([{"type": "work", "locality": "Seattle"}])
    );

    // aadOptscim062020 dialect: lower-case ops and a path-less replace whose
    // keys are attribute paths, including a full extension URN.
    let bob_path = format!("/Users/{bob}");
    let user = patch_ok(
        &scim,
        &bob_path,
        json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "robert@contoso.com"},
            {"op": "replace", "value": {
                "displayName": "Robert Brown",
                "name.givenName": "Robert",
                format!("{ENTERPRISE}:department"): "Marketing",
                "title": "Lead"
            }}
        ]),
    )
    .await;
    assert_eq!(user["emails"][0]["value"], "robert@contoso.com");
    assert_eq!(user["displayName"], "Robert Brown");
    assert_eq!(user["name"]["givenName"], "Robert");
    assert_eq!(user["name"]["familyName"], "Brown");
    assert_eq!(user["title"], "Lead");
    assert_eq!(user[ENTERPRISE]["department"], "Marketing");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "1002");
    assert_eq!(user[ENTERPRISE]["manager"]["value"], alice);

    // Manager change, then removal: a Replace with an empty value, or a Remove.
    let user = patch_ok(
        &scim,
        &bob_path,
        json!([{"op": "Replace", "path": manager_path(), "value": carol}]),
    )
    .await;
    assert_eq!(user[ENTERPRISE]["manager"]["value"], carol);
    let user = patch_ok(
        &scim,
        &bob_path,
        json!([{"op": "Replace", "path": manager_path(), "value": ""}]),
    )
    .await;
    assert!(user[ENTERPRISE].get("manager").is_none(), "{user}");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "1002");
    let user = patch_ok(
        &scim,
        &format!("/Users/{carol}"),
        json!([{"op": "Remove", "path": manager_path()}]),
    )
    .await;
    assert!(user[ENTERPRISE].get("manager").is_none(), "{user}");
    let reports = find_users(&scim, &format!("{ENTERPRISE}:manager.value eq \"{alice}\"")).await;
    assert_eq!(ids_of(&reports), vec![dave.to_owned()]);

    // Clearing: "" and null, with a path and path-less.
    let user = patch_ok(
        &scim,
        &alice_path,
        json!([
            {"op": "Replace", "path": "title", "value": ""},
            {"op": "Replace", "path": "nickName", "value": null}
        ]),
    )
    .await;
    assert!(user.get("title").is_none(), "{user}");
    assert!(user.get("nickName").is_none(), "{user}");
    let user = patch_ok(
        &scim,
        &bob_path,
        json!([{"op": "Replace", "value": {"title": null, format!("{ENTERPRISE}:department"): ""}}]),
    )
    .await;
    assert!(user.get("title").is_none(), "{user}");
    assert!(user[ENTERPRISE].get("department").is_none(), "{user}");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "1002");
    let stored = get_ok(&scim, &bob_path).await;
    assert!(stored.get("title").is_none() && stored[ENTERPRISE].get("department").is_none());

    // userName rename: the new name matches, the old one is free again
    // (Entra's validator re-creates a user under the old name).
    let user = patch_ok(
        &scim,
        &alice_path,
        json!([{"op": "Replace", "path": "userName", "value": "alice.adams@contoso.com"}]),
    )
    .await;
    assert_eq!(user["userName"], "alice.adams@contoso.com");
    let renamed = find_users(&scim, "userName eq \"Alice.Adams@contoso.com\"").await;
    assert_eq!(ids_of(&renamed), vec![alice.to_owned()]);
    let old = find_users(&scim, "userName eq \"alice@contoso.com\"").await;
    assert_eq!(old.body["totalResults"], 0);
    let reused = scim
        .post(
            "/Users",
            &entra_user("alice@contoso.com", "Other", "Alice", "1005", "Sales"),
        )
        .await
        .unwrap();
    assert_eq!(reused.status, 201, "{}", reused.body);
    let reused_id = reused.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        scim.delete(&format!("/Users/{reused_id}"))
            .await
            .unwrap()
            .status,
        204
    );

    // Group rename and member removal in both shapes.
    let renamed = patch_ok(
        &scim,
        &group_path,
        json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]),
    )
    .await;
    assert_eq!(renamed["displayName"], "Sales EMEA");
    assert_eq!(member_ids(&renamed).len(), 4);
    let by_name = scim
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            query_value("displayName eq \"Sales EMEA\"")
        ))
        .await
        .unwrap();
    assert_eq!(by_name.body["totalResults"], 1);
    assert_eq!(by_name.body["Resources"][0]["id"], group.as_str());
    let removed = patch_ok(
        &scim,
        &group_path,
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": alice}]}]),
    )
    .await;
    assert_eq!(
        member_ids(&removed),
        HashSet::from([bob.to_owned(), carol.to_owned(), dave.to_owned()])
    );
    let removed = patch_ok(
        &scim,
        &group_path,
        json!([{"op": "remove", "path": format!("members[value eq \"{bob}\"]")}]),
    )
    .await;
    assert_eq!(
        member_ids(&removed),
        HashSet::from([carol.to_owned(), dave.to_owned()])
    );

    // Updates changed no seat.
    licenses
        .settle(
            3,
            &[(alice, true), (bob, true), (carol, true), (dave, false)],
        )
        .await;

    // ── Unassign: a soft delete with the string "False". ──
    let user = patch_ok(
        &scim,
        &alice_path,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    assert_eq!(user["active"], false);
    let stored = get_ok(&scim, &alice_path).await;
    assert_eq!(stored["active"], false);
    assert_eq!(stored["userName"], "alice.adams@contoso.com");
    let still_found = find_users(&scim, "userName eq \"alice.adams@contoso.com\"").await;
    assert_eq!(still_found.body["Resources"][0]["active"], false);
    let inactive = find_users(&scim, "active eq false").await;
    assert_eq!(ids_of(&inactive), vec![alice.to_owned()]);
    // The freed seat goes at once to the user waiting longest: dave.
    licenses
        .settle(
            3,
            &[(alice, false), (bob, true), (carol, true), (dave, true)],
        )
        .await;
    let released = wait_audit(&stack, &tenant, alice, "license.release", 1).await;
    assert_eq!(released[0].detail, "user deactivated");
    assert_eq!(released[0].target_name, "alice.adams@contoso.com");
    wait_audit(&stack, &tenant, dave, "license.assign", 1).await;

    // ── Reassign while the pool is full: active, seatless, denial logged. ──
    let user = patch_ok(
        &scim,
        &alice_path,
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
    )
    .await;
    assert_eq!(user["active"], true);
    let denials = wait_audit(&stack, &tenant, alice, "license.deny", 1).await;
    assert_eq!(denials[0].detail, "pool exhausted");
    licenses.settle(3, &[(alice, false)]).await;

    // ── Reassign gets the license back as soon as a seat frees up. ──
    patch_ok(
        &scim,
        &bob_path,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    licenses.settle(3, &[(alice, true), (bob, false)]).await;
    assert_eq!(
        wait_audit(&stack, &tenant, alice, "license.assign", 2)
            .await
            .len(),
        2
    );
    let user = patch_ok(
        &scim,
        &bob_path,
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
    )
    .await;
    assert_eq!(user["active"], true);
    wait_audit(&stack, &tenant, bob, "license.deny", 1).await;
    licenses
        .settle(
            3,
            &[(alice, true), (bob, false), (carol, true), (dave, true)],
        )
        .await;

    // ── Hard delete. ──
    let carol_path = format!("/Users/{carol}");
    assert_eq!(scim.delete(&carol_path).await.unwrap().status, 204);
    let gone = scim.get(&carol_path).await.unwrap();
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["schemas"], json!([ERROR_SCHEMA]));
    assert_eq!(gone.body["status"], "404");
    assert!(gone.body["detail"].is_string());
    assert_eq!(
        find_users(&scim, "userName eq \"carol@contoso.com\"")
            .await
            .body["totalResults"],
        0
    );
    assert_eq!(scim.delete(&carol_path).await.unwrap().status, 404);
    // The deleted user's seat goes to bob, who has been waiting.
    licenses.settle(3, &[(carol, false), (bob, true)]).await;
    let released = wait_audit(&stack, &tenant, carol, "license.release", 1).await;
    assert_eq!(released[0].detail, "user deleted");
    // The deleted user left the group.
    let group_now = get_ok(&scim, &group_path).await;
    assert_eq!(member_ids(&group_now), HashSet::from([dave.to_owned()]));

    assert_eq!(scim.delete(&group_path).await.unwrap().status, 204);
    let gone = scim.get(&group_path).await.unwrap();
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["schemas"], json!([ERROR_SCHEMA]));
    stack.stop().await;
}

/// The gallery validator's paging check: `startIndex=N&count=5` over at
/// least 11 users, `startIndex` echoed, `itemsPerPage` the page's size, the
/// pages together every user exactly once (disabled users included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_paging_over_users_and_groups() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("contoso").await.unwrap();
    let scim = stack.client(&tenant);
    let mut expected = HashSet::new();
    for i in 0..12 {
        let id = scim
            .create_user(&format!("pager{i:02}@contoso.com"))
            .await
            .unwrap();
        expected.insert(id);
    }
    // A disabled user is still listed.
    let disabled = expected.iter().next().unwrap().clone();
    patch_ok(
        &scim,
        &format!("/Users/{disabled}"),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;

    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page = scim
            .get(&format!("/Users?startIndex={start}&count=5"))
            .await
            .unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.body["schemas"], json!([LIST_SCHEMA]));
        assert_eq!(page.body["totalResults"], 12);
        assert_eq!(page.body["startIndex"], start);
        let resources = page.body["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let expected_items = 12_u64.saturating_sub(start - 1).min(5);
        assert_eq!(page.body["itemsPerPage"], expected_items, "page at {start}");
        assert_eq!(resources.len() as u64, expected_items);
        if resources.is_empty() {
            break;
        }
        seen.extend(ids_of(&page));
        start += 5;
    }
    assert_eq!(start, 16, "pages at 1, 6, 11, then an empty one at 16");
    assert_eq!(seen.len(), 12, "no user listed twice");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), expected);

    // Paging within a filter keeps totalResults to the filtered set.
    let filtered = scim
        .get(&format!(
            "/Users?filter={}&startIndex=2&count=5",
            query_value("userName sw \"pager0\"")
        ))
        .await
        .unwrap();
    assert_eq!(filtered.body["totalResults"], 10);
    assert_eq!(filtered.body["startIndex"], 2);
    assert_eq!(filtered.body["itemsPerPage"], 5);

    // Groups page the same way.
    let mut groups = HashSet::new();
    for i in 0..7 {
        let created = scim
            .post(
                "/Groups",
                &json!({"schemas": [GROUP_SCHEMA], "displayName": format!("Team {i}")}),
            )
            .await
            .unwrap();
        assert_eq!(created.status, 201, "{}", created.body);
        groups.insert(created.body["id"].as_str().unwrap().to_owned());
    }
    let first = get_ok(
        &scim,
        "/Groups?excludedAttributes=members&startIndex=1&count=5",
    )
    .await;
    let second = get_ok(
        &scim,
        "/Groups?excludedAttributes=members&startIndex=6&count=5",
    )
    .await;
    assert_eq!(first["itemsPerPage"], 5);
    assert_eq!(second["itemsPerPage"], 2);
    assert_eq!(second["startIndex"], 6);
    let listed: HashSet<String> = [&first, &second]
        .iter()
        .flat_map(|page| page["Resources"].as_array().cloned().unwrap_or_default())
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, groups);
    stack.stop().await;
}

/// Shapes from older Entra documentation and Microsoft's validator that
/// must still work: nulls and a mistyped extension URN on create, attribute
/// names and booleans in any case, a work email created beside a home one,
/// app roles patched as JSON strings, the manager reference check, and one
/// group PATCH that renames, adds and removes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_entra_shapes_are_tolerated() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("contoso").await.unwrap();
    let scim = stack.client(&tenant);

    let created = scim
        .post(
            "/Users",
            &json!({
                "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
                "externalId": "jyoung", "userName": "jyoung@testuser.com", "active": true,
                "addresses": null, "displayName": "Joy Young",
                "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
                "meta": {"resourceType": "User"},
                "name": {"familyName": "Young", "givenName": "Joy"},
                "phoneNumbers": null, "preferredLanguage": null, "title": null,
                "department": "Research", "manager": null
            }),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let joy = created.body["id"].as_str().unwrap().to_owned();
    for absent in ["addresses", "phoneNumbers", "preferredLanguage", "title"] {
        assert!(
            created.body.get(absent).is_none(),
            "{absent}: {}",
            created.body
        );
    }
    assert_eq!(created.body[ENTERPRISE], json!({"department": "Research"}));

    let created = scim
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "UserName": "Emp1", "Active": "True",
                    "Emails": [{"Value": "emp1@home.example", "Type": "home", "Primary": "True"}]}),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["userName"], "Emp1");
    assert_eq!(created.body["active"], true);
    let emp = created.body["id"].as_str().unwrap().to_owned();

    let user = patch_ok(
        &scim,
        &format!("/Users/{emp}"),
        json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "emp1@contoso.com"},
            {"op": "Add", "path": "roles", "value": [{"primary": false, "type": "WindowsAzureActiveDirectoryRole",
              "value": "{\"id\":\"1b2c\",\"value\":\"Reader\",\"displayName\":\"Reader\"}"}]},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
             "value": [{"$ref": null, "value": joy}]}
        ]),
    )
    .await;
    assert_eq!(
        user["emails"],
        json!([{"primary": true, "type": "home", "value": "emp1@home.example"},
               {"type": "work", "value": "emp1@contoso.com"}])
    );
    assert_eq!(user["roles"][0]["value"], "Reader");
    assert_eq!(user[ENTERPRISE]["manager"]["value"], joy.as_str());

    for filter in [
        "UserName eq \"EMP1\"".to_owned(),
        "emails[type eq \"work\"].value eq \"Emp1@Contoso.com\"".to_owned(),
        "Active eq true and name.FamilyName pr".to_owned(),
        format!("id eq \"{emp}\" and manager eq \"{joy}\""),
    ] {
        let found = find_users(&scim, &filter).await;
        assert_eq!(found.body["totalResults"], 1, "{filter}: {}", found.body);
    }

    let group = scim
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Research",
                    "members": [{"value": joy}]}),
        )
        .await
        .unwrap();
    assert_eq!(group.status, 201, "{}", group.body);
    let group_path = format!("/Groups/{}", group.body["id"].as_str().unwrap());
    let updated = patch_ok(
        &scim,
        &group_path,
        json!([
            {"op": "Replace", "path": "displayName", "value": "Research & Development"},
            {"op": "Add", "path": "members", "value": [{"$ref": null, "value": emp}]},
            {"op": "Remove", "path": "members", "value": [{"$ref": null, "value": joy}]}
        ]),
    )
    .await;
    assert_eq!(updated["displayName"], "Research & Development");
    assert_eq!(member_ids(&updated), HashSet::from([emp.clone()]));
    let by_member = scim
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            query_value(&format!("members[value eq \"{emp}\"]"))
        ))
        .await
        .unwrap();
    assert_eq!(by_member.body["totalResults"], 1, "{}", by_member.body);
    stack.stop().await;
}
