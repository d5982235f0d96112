//! Provisioning cycles of the IdPs beyond Entra ID and Okta, end to end
//! through the gateway with all four services: OneLogin, JumpCloud, PingOne
//! (and PingFederate's SCIM provisioner, which PingOne's is built on) and
//! Google Workspace. Each test replays what that IdP's documentation says its
//! SCIM client does: how it looks a user up before creating, how it updates,
//! how it deactivates and deletes, whether and how it pushes groups, and what
//! it makes of 404 and 409. The shapes and their sources are in
//! `docs/idp/<idp>.md`; the admin-visible outcome (licenses, provisioning
//! log) is the same for every IdP and is asserted once per test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use e2e::{ScimClient, Tenant, TestStack, eventually, patch_body, query_value};
use scim_rpc::audit::AuditQueryRequest;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn get(scim: &ScimClient, path: &str) -> Value {
    scim.expect(reqwest::Method::GET, path, None, 200)
        .await
        .unwrap()
        .body
}

/// `GET /Users?filter=…` (and any extra query), returning the ids found.
async fn lookup(scim: &ScimClient, endpoint: &str, filter: &str, extra: &str) -> Vec<String> {
    let list = get(
        scim,
        &format!("/{endpoint}?filter={}{extra}", query_value(filter)),
    )
    .await;
    list["Resources"]
        .as_array()
        .map(|resources| {
            resources
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn create(scim: &ScimClient, endpoint: &str, body: &Value) -> Value {
    scim.expect(
        reqwest::Method::POST,
        &format!("/{endpoint}"),
        Some(body),
        201,
    )
    .await
    .unwrap()
    .body
}

async fn patch(scim: &ScimClient, path: &str, operations: Value) -> Value {
    let body = patch_body(operations);
    scim.expect(reqwest::Method::PATCH, path, Some(&body), 200)
        .await
        .unwrap()
        .body
}

async fn put(scim: &ScimClient, path: &str, body: &Value) -> Value {
    scim.expect(reqwest::Method::PUT, path, Some(body), 200)
        .await
        .unwrap()
        .body
}

async fn delete(scim: &ScimClient, path: &str) {
    scim.expect(reqwest::Method::DELETE, path, None, 204)
        .await
        .unwrap();
    // Every IdP here reads a 404 after a delete as "already gone".
    scim.expect(reqwest::Method::GET, path, None, 404)
        .await
        .unwrap();
    scim.expect(reqwest::Method::DELETE, path, None, 404)
        .await
        .unwrap();
}

fn id(resource: &Value) -> String {
    resource["id"].as_str().unwrap().to_owned()
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    ids.sort();
    ids
}

/// A second create with a taken userName answers 409 `uniqueness`, which every IdP here
/// resolves by looking the user up and linking it.
async fn conflict_then_match(scim: &ScimClient, body: &Value, user_name: &str, existing: &str) {
    let conflict = scim
        .expect(reqwest::Method::POST, "/Users", Some(body), 409)
        .await
        .unwrap();
    assert_eq!(conflict.body["scimType"], "uniqueness");
    let found = lookup(scim, "Users", &format!("userName eq \"{user_name}\""), "").await;
    assert_eq!(found, [existing.to_owned()]);
}

/// The seat follows the user: taken on create, freed on deactivation, taken again on
/// reactivation, freed on delete; and every write is in the provisioning log.
async fn seat_held(stack: &TestStack, tenant: &Tenant, pool_id: &str, user: &str, held: bool) {
    use scim_rpc::license::UserLicensesRequest;
    eventually(WAIT, || async {
        let assignments = stack
            .license_admin(0)
            .await?
            .user_licenses(UserLicensesRequest {
                tenant_id: tenant.tenant_id.clone(),
                user_id: user.to_owned(),
            })
            .await?
            .into_inner()
            .assignments;
        let holds = assignments.iter().any(|a| a.pool_id == pool_id);
        Ok((holds == held).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("seat of {user} never became held={held}: {e}"));
}

async fn logged_operations(stack: &TestStack, tenant: &Tenant, target: &str) -> Vec<String> {
    let records = stack
        .audit()
        .await
        .unwrap()
        .query(AuditQueryRequest {
            tenant_id: tenant.tenant_id.clone(),
            target: target.to_owned(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    records.into_iter().map(|r| r.operation).collect()
}

async fn wait_logged(stack: &TestStack, tenant: &Tenant, target: &str, operations: &[&str]) {
    eventually(WAIT, || async {
        let logged = logged_operations(stack, tenant, target).await;
        Ok(operations
            .iter()
            .all(|op| logged.iter().any(|l| l == op))
            .then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{target}: {operations:?} never all logged: {e}"));
}

/// OneLogin's "SCIM Provisioner with SAML (SCIM v2 Enterprise)": the SCIM JSON template
/// filled from OneLogin fields, where an unset parameter becomes `""`. Users are created and
/// updated with the whole template; "Suspend" deactivates; "Delete" deletes; roles and
/// OneLogin groups are pushed as SCIM groups with PATCH membership changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onelogin_cycle() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("Northwind").await.unwrap();
    let pool = stack.pool(&tenant, 5, true).await.unwrap();
    let scim = stack.client(&tenant);

    // The template of OneLogin's v2 Enterprise connector, as OneLogin fills it in. Traffic
    // captured from OneLogin (goauthentik/authentik#11249) carries SCIM 1.x-style schema URNs,
    // which are ignored like any unknown `schemas` entry.
    let template = |user_name: &str, title: &str, manager: &str, manager_name: &str| {
        json!({
            "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
            "userName": user_name,
            "name": {"familyName": "Fuller", "givenName": "Andrew"},
            "title": title,
            "userType": "",
            "timezone": "",
            "emails": [{"value": user_name, "type": "work", "primary": true}],
            "addresses": [{"locality": "Tacoma", "region": "", "country": ""}],
            ENTERPRISE: {
                "organization": "",
                "division": "",
                "department": "Sales",
                "manager": {"value": manager, "displayName": manager_name}
            }
        })
    };

    let boss_name = "steven.buchanan@northwind.example";
    assert!(
        lookup(&scim, "Users", &format!("userName eq \"{boss_name}\""), "")
            .await
            .is_empty()
    );
    let boss = create(&scim, "Users", &template(boss_name, "CEO", "", " ")).await;
    let boss_id = id(&boss);
    // Unset parameters (`""`) store nothing, and a manager without an id is no manager.
    assert!(boss.get("userType").is_none(), "{boss}");
    assert!(boss[ENTERPRISE].get("manager").is_none(), "{boss}");
    assert!(boss[ENTERPRISE].get("organization").is_none(), "{boss}");
    assert_eq!(boss["addresses"], json!([{"locality": "Tacoma"}]));

    let user_name = "andrew.fuller@northwind.example";
    // OneLogin's lookup as captured: `+` for spaces and a trailing `&`.
    let captured = get(
        &scim,
        "/Users?filter=userName+eq+%22andrew.fuller%40northwind.example%22&",
    )
    .await;
    assert_eq!(captured["totalResults"], 0);
    let body = template(user_name, "Sales Rep", &boss_id, "Steven Buchanan");
    let andrew = create(&scim, "Users", &body).await;
    let andrew_id = id(&andrew);
    assert_eq!(andrew[ENTERPRISE]["manager"]["value"], boss_id);
    conflict_then_match(&scim, &body, user_name, &andrew_id).await;
    seat_held(&stack, &tenant, &pool, &andrew_id, true).await;

    // An update is a PUT of the template again (with a trailing `?`, as captured).
    let path = format!("/Users/{andrew_id}");
    let updated = put(
        &scim,
        &format!("{path}?"),
        &template(user_name, "Sales Manager", &boss_id, "Steven Buchanan"),
    )
    .await;
    assert_eq!(updated["title"], "Sales Manager");
    assert_eq!(updated["id"], andrew_id);

    // A role becomes a group, and its members follow role assignment.
    assert!(
        lookup(&scim, "Groups", "displayName eq \"Sales\"", "")
            .await
            .is_empty()
    );
    let group = create(
        &scim,
        "Groups",
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": []}),
    )
    .await;
    let group_path = format!("/Groups/{}", id(&group));
    patch(
        &scim,
        &group_path,
        json!([{"op": "add", "path": "members", "value": [{"value": andrew_id}, {"value": boss_id}]}]),
    )
    .await;
    patch(
        &scim,
        &group_path,
        json!([{"op": "remove", "path": "members", "value": [{"value": boss_id}]}]),
    )
    .await;
    assert_eq!(
        member_ids(&get(&scim, &group_path).await),
        std::slice::from_ref(&andrew_id)
    );

    // "When users are deleted in OneLogin…": Suspend, then Delete.
    let suspended = patch(
        &scim,
        &path,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    assert_eq!(suspended["active"], false);
    seat_held(&stack, &tenant, &pool, &andrew_id, false).await;
    assert_eq!(
        lookup(&scim, "Users", &format!("userName eq \"{user_name}\""), "").await,
        std::slice::from_ref(&andrew_id),
        "a suspended user is still found, so OneLogin does not create it twice"
    );
    delete(&scim, &path).await;
    assert!(member_ids(&get(&scim, &group_path).await).is_empty());
    delete(&scim, &group_path).await;
    wait_logged(
        &stack,
        &tenant,
        &andrew_id,
        &["create", "replace", "patch", "delete", "reject"],
    )
    .await;
    stack.stop().await;
}

/// JumpCloud's custom SCIM 2.0 connector: "Test Connection" creates a test user and a test
/// group and deletes both; users are looked up by userName and updated with PATCH; removing a
/// user from the app makes it inactive; group membership changes are `members` PATCHes with a
/// `value` array (no filter), and groups are renamed with a `displayName` replace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumpcloud_cycle() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("Fabrikam").await.unwrap();
    let pool = stack.pool(&tenant, 5, true).await.unwrap();
    let scim = stack.client(&tenant);

    // Test Connection with the admin's test user, then the clean-up.
    let probe = create(
        &scim,
        "Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "jc-test@fabrikam.example",
                "name": {"givenName": "Test", "familyName": "User"},
                "emails": [{"value": "jc-test@fabrikam.example", "type": "work", "primary": true}],
                "active": true}),
    )
    .await;
    let probe_group = create(
        &scim,
        "Groups",
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "JumpCloud test group"}),
    )
    .await;
    delete(&scim, &format!("/Users/{}", id(&probe))).await;
    delete(&scim, &format!("/Groups/{}", id(&probe_group))).await;

    let user_name = "rkaur@fabrikam.example";
    assert!(
        lookup(&scim, "Users", &format!("userName eq \"{user_name}\""), "")
            .await
            .is_empty()
    );
    let user = create(
        &scim,
        "Users",
        &json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": user_name,
            "externalId": "5f1b2c3d4e5f6a7b8c9d0e1f",
            "active": true,
            "displayName": "Ravi Kaur",
            "name": {"givenName": "Ravi", "familyName": "Kaur"},
            "emails": [{"value": user_name, "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
            "title": "Engineer",
            ENTERPRISE: {"employeeNumber": "1042", "department": "R&D"}
        }),
    )
    .await;
    let user_id = id(&user);
    let path = format!("/Users/{user_id}");
    seat_held(&stack, &tenant, &pool, &user_id, true).await;
    assert_eq!(
        lookup(
            &scim,
            "Users",
            "externalId eq \"5f1b2c3d4e5f6a7b8c9d0e1f\"",
            ""
        )
        .await,
        std::slice::from_ref(&user_id)
    );

    let updated = patch(
        &scim,
        &path,
        json!([
            {"op": "replace", "path": "title", "value": "Staff Engineer"},
            {"op": "replace", "path": "name.familyName", "value": "Kaur-Singh"},
            {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Platform"}
        ]),
    )
    .await;
    assert_eq!(updated["title"], "Staff Engineer");
    assert_eq!(updated["name"]["familyName"], "Kaur-Singh");
    assert_eq!(updated[ENTERPRISE]["department"], "Platform");

    let group = create(
        &scim,
        "Groups",
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": [{"value": user_id}]}),
    )
    .await;
    let group_path = format!("/Groups/{}", id(&group));
    assert_eq!(member_ids(&group), std::slice::from_ref(&user_id));
    let other = scim.create_user("mlee@fabrikam.example").await.unwrap();
    patch(
        &scim,
        &group_path,
        json!([{"op": "add", "path": "members", "value": [{"value": other}]}]),
    )
    .await;
    patch(
        &scim,
        &group_path,
        json!([{"op": "remove", "path": "members", "value": [{"value": user_id}]}]),
    )
    .await;
    let renamed = patch(
        &scim,
        &group_path,
        json!([{"op": "replace", "path": "displayName", "value": "Platform Engineering"}]),
    )
    .await;
    assert_eq!(renamed["displayName"], "Platform Engineering");
    assert_eq!(
        member_ids(&get(&scim, &group_path).await),
        std::slice::from_ref(&other)
    );

    // Removed from the app: inactive, seat freed; added back: active, seat again.
    patch(
        &scim,
        &path,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    seat_held(&stack, &tenant, &pool, &user_id, false).await;
    patch(
        &scim,
        &path,
        json!([{"op": "replace", "path": "active", "value": true}]),
    )
    .await;
    seat_held(&stack, &tenant, &pool, &user_id, true).await;

    // A change for a user deleted behind JumpCloud's back answers 404.
    delete(&scim, &path).await;
    scim.expect(
        reqwest::Method::PATCH,
        &path,
        Some(&patch_body(
            json!([{"op": "replace", "path": "active", "value": false}]),
        )),
        404,
    )
    .await
    .unwrap();
    seat_held(&stack, &tenant, &pool, &user_id, false).await;
    wait_logged(
        &stack,
        &tenant,
        &user_id,
        &["create", "patch", "delete", "reject"],
    )
    .await;
    stack.stop().await;
}

/// PingOne's SCIM provisioner (and PingFederate's, whose settings it shares): the "Unique
/// User Identifier" is `userName` or the work email, looked up as `emails eq "…"`;
/// "Provision disabled users" creates users with `active: false`; "Remove user action" is
/// Disable or Delete; groups are pushed with "Group membership handling" Merge (add/remove)
/// or Overwrite (replace the member list).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pingone_cycle() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("Tailspin").await.unwrap();
    let pool = stack.pool(&tenant, 5, true).await.unwrap();
    let scim = stack.client(&tenant);

    let email = "Janet.Smith@Tailspin.example";
    assert!(
        lookup(&scim, "Users", &format!("emails eq \"{email}\""), "")
            .await
            .is_empty()
    );
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "jsmith",
        "active": false,
        "name": {"givenName": "Janet", "familyName": "Smith", "formatted": "Janet Smith"},
        "emails": [{"value": email, "type": "work", "primary": true}],
        "preferredLanguage": "en",
        ENTERPRISE: {"employeeNumber": "77", "costCenter": "CC-9"}
    });
    let janet = create(&scim, "Users", &body).await;
    let janet_id = id(&janet);
    let path = format!("/Users/{janet_id}");
    assert_eq!(janet["active"], false);
    // Both unique identifiers find her: userName, and the email in any case.
    assert_eq!(
        lookup(&scim, "Users", "userName eq \"JSMITH\"", "").await,
        std::slice::from_ref(&janet_id)
    );
    assert_eq!(
        lookup(
            &scim,
            "Users",
            "emails eq \"janet.smith@tailspin.example\"",
            ""
        )
        .await,
        std::slice::from_ref(&janet_id)
    );
    conflict_then_match(&scim, &body, "jsmith", &janet_id).await;
    seat_held(&stack, &tenant, &pool, &janet_id, false).await;

    // Enabled in PingOne, then updated.
    let enabled = patch(
        &scim,
        &path,
        json!([{"op": "replace", "path": "active", "value": true}]),
    )
    .await;
    assert_eq!(enabled["active"], true);
    seat_held(&stack, &tenant, &pool, &janet_id, true).await;
    let updated = patch(
        &scim,
        &path,
        json!([{"op": "replace", "value": {"name": {"givenName": "Janet", "familyName": "Smith-Jones", "formatted": "Janet Smith-Jones"}}}]),
    )
    .await;
    assert_eq!(updated["name"]["familyName"], "Smith-Jones");

    // Groups: Merge (add/remove), then Overwrite (replace the whole list).
    let bob = scim.create_user("bwong").await.unwrap();
    let carol = scim.create_user("cgarcia").await.unwrap();
    let group = create(
        &scim,
        "Groups",
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Pilots", "externalId": "d2a6c0f4-pingone-group"}),
    )
    .await;
    let group_path = format!("/Groups/{}", id(&group));
    assert_eq!(
        lookup(&scim, "Groups", "displayName eq \"Pilots\"", "").await,
        [id(&group)]
    );
    patch(
        &scim,
        &group_path,
        json!([{"op": "add", "path": "members", "value": [{"value": janet_id}, {"value": bob}]}]),
    )
    .await;
    patch(
        &scim,
        &group_path,
        json!([{"op": "remove", "path": format!("members[value eq \"{bob}\"]")}]),
    )
    .await;
    assert_eq!(
        member_ids(&get(&scim, &group_path).await),
        std::slice::from_ref(&janet_id)
    );
    patch(
        &scim,
        &group_path,
        json!([{"op": "replace", "path": "members", "value": [{"value": bob}, {"value": carol}]}]),
    )
    .await;
    assert_eq!(
        member_ids(&get(&scim, &group_path).await),
        sorted(&[&bob, &carol])
    );

    // Remove user action "Disable", then "Delete".
    patch(
        &scim,
        &path,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    seat_held(&stack, &tenant, &pool, &janet_id, false).await;
    delete(&scim, &path).await;
    delete(&scim, &group_path).await;
    wait_logged(
        &stack,
        &tenant,
        &janet_id,
        &["create", "patch", "delete", "reject"],
    )
    .await;
    stack.stop().await;
}

/// Google Workspace automated user provisioning: the connection probe lists users with
/// `count=1`; users are matched by userName (the primary email); suspending a user in Google
/// deactivates it here; deleting it (or "delete" as the deprovisioning choice) deletes it.
/// Google does not push groups: groups only choose who is in scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_workspace_cycle() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("Litware").await.unwrap();
    let pool = stack.pool(&tenant, 1, true).await.unwrap();
    let scim = stack.client(&tenant);

    let probe = get(&scim, "/Users?count=1").await;
    assert_eq!(probe["totalResults"], 0);
    assert_eq!(probe["Resources"], json!([]));

    let user_name = "ana.lopez@litware.example";
    assert!(
        lookup(
            &scim,
            "Users",
            &format!("userName eq \"{user_name}\""),
            "&startIndex=1&count=1"
        )
        .await
        .is_empty()
    );
    let body = json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "active": true,
        "name": {"givenName": "Ana", "familyName": "Lopez"},
        "displayName": "Ana Lopez",
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "externalId": "114928374650192837465"
    });
    let ana = create(&scim, "Users", &body).await;
    let ana_id = id(&ana);
    let path = format!("/Users/{ana_id}");
    seat_held(&stack, &tenant, &pool, &ana_id, true).await;
    conflict_then_match(&scim, &body, user_name, &ana_id).await;

    // A rename of the primary email renames the user; the old name is free at once.
    let renamed_name = "ana.lopez-garcia@litware.example";
    let renamed = put(
        &scim,
        &path,
        &json!({
            "schemas": [USER_SCHEMA],
            "userName": renamed_name,
            "active": true,
            "name": {"givenName": "Ana", "familyName": "Lopez Garcia"},
            "displayName": "Ana Lopez Garcia",
            "emails": [{"value": renamed_name, "type": "work", "primary": true}],
            "externalId": "114928374650192837465"
        }),
    )
    .await;
    assert_eq!(renamed["userName"], renamed_name);
    assert!(
        lookup(&scim, "Users", &format!("userName eq \"{user_name}\""), "")
            .await
            .is_empty()
    );

    // Suspended in Google: inactive here, and the only seat goes to the next user.
    patch(
        &scim,
        &path,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    seat_held(&stack, &tenant, &pool, &ana_id, false).await;
    let next = scim.create_user("li.wei@litware.example").await.unwrap();
    seat_held(&stack, &tenant, &pool, &next, true).await;

    delete(&scim, &path).await;
    assert!(
        lookup(
            &scim,
            "Users",
            &format!("userName eq \"{renamed_name}\""),
            ""
        )
        .await
        .is_empty()
    );
    wait_logged(
        &stack,
        &tenant,
        &ana_id,
        &["create", "replace", "patch", "delete", "reject"],
    )
    .await;
    stack.stop().await;
}
