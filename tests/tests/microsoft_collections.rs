//! Microsoft's two published SCIM test collections (public repository
//! `AzureAD/SCIMReferenceCode`), replayed end to end through the gateway with
//! all four services: every request in collection order, with the collection's
//! request bodies (`microsoft_collections/bodies.rs`), and every `pm.test`
//! assertion of the collection expressed as an assertion here.
//!
//! Differences, each explained in `docs/idp/compatibility.md`:
//! - PATCH answers 200 with the resource where the collection asserts 204
//!   (RFC 7644 §3.5.2 allows both); the tests assert 200 and the change.
//! - The collection's "Get Token" requests (a token endpoint of Microsoft's
//!   reference server, and Entra's own) are not part of SCIM; the token comes
//!   from `scimctl token issue`, as for every IdP.
//! - `members` sent as the bare string `"string id 1"` (a 204-only request)
//!   answers 400 `invalidValue`: no id of ours contains spaces.
//!
//! Base URLs differ (`{{endpoint}}/scim` there, `/scim/v2` here); the paths
//! after the base are the collection's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "microsoft_collections/bodies.rs"]
mod bodies;

use e2e::{ScimClient, ScimResponse, TestStack, query_value};
use serde_json::Value;

use bodies::*;

/// Replaces each `{{name}}` of a collection body with its value, and refuses a body that
/// still holds an unfilled variable (the request would not be the collection's).
fn fill(template: &str, variables: &[(&str, &str)]) -> Value {
    let mut body = template.to_owned();
    for (name, value) in variables {
        body = body.replace(&format!("{{{{{name}}}}}"), value);
    }
    assert!(!body.contains("{{"), "unfilled variable in {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn text(response: &ScimResponse) -> String {
    response.body.to_string()
}

fn id(response: &ScimResponse) -> String {
    response.body["id"].as_str().unwrap().to_owned()
}

fn ids(list: &ScimResponse) -> Vec<String> {
    list.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn get(scim: &ScimClient, path: &str) -> ScimResponse {
    scim.expect(reqwest::Method::GET, path, None, 200)
        .await
        .unwrap()
}

async fn post(scim: &ScimClient, path: &str, body: &Value, status: u16) -> ScimResponse {
    scim.expect(reqwest::Method::POST, path, Some(body), status)
        .await
        .unwrap()
}

async fn put(scim: &ScimClient, path: &str, body: &Value, status: u16) -> ScimResponse {
    scim.expect(reqwest::Method::PUT, path, Some(body), status)
        .await
        .unwrap()
}

/// PATCH answers 200 with the resource (the collections assert 204).
async fn patch(scim: &ScimClient, path: &str, body: &Value) -> ScimResponse {
    scim.expect(reqwest::Method::PATCH, path, Some(body), 200)
        .await
        .unwrap()
}

async fn delete(scim: &ScimClient, path: &str) {
    scim.expect(reqwest::Method::DELETE, path, None, 204)
        .await
        .unwrap();
}

/// `SCIM Inbound.postman_collection.json`: what Entra's provisioning service sends in an
/// initial and a delta cycle, including the manager path written with a `.`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_inbound_collection() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("Woodgrove").await.unwrap();
    let scim = stack.client(&tenant);

    // "Test Connection": no assertion in the collection; it must simply be a list.
    let connection = get(&scim, "/Users?count=1").await;
    assert_eq!(connection.body["totalResults"], 0);

    // The collection's pre-request scripts draw names and values at random; fixed ones here.
    let create = |template: &str, given: &str, family: &str, last_user: &str| {
        let user_name = format!("{given}{}", &family[..1]).to_lowercase();
        let display = format!("{given} {family}");
        let guid = uuid::Uuid::new_v4().to_string();
        fill(
            template,
            &[
                ("$guid", &guid),
                ("userName", &user_name),
                ("givenName", given),
                ("familyName", family),
                ("displayName", &display),
                ("$randomCountryCode", "NL"),
                ("$randomJobTitle", "Principal Paradigm Engineer"),
                ("$isoTimestamp", "2026-12-02T10:15:30.123Z"),
                ("$randomPhoneNumber", "425-555-0100"),
                ("$randomInt", "417"),
                ("$randomJobArea", "Markets"),
                ("lastUserId", last_user),
            ],
        )
    };

    // "Create Employee" → 201; lastManagerUserId = lastUserId = its id.
    let employee = post(
        &scim,
        "/Users",
        &create(INBOUND_CREATE_EMPLOYEE, "Adele", "Vance", ""),
        201,
    )
    .await;
    let manager_id = id(&employee);
    // The work email's value is the collection's `{{$isoTimestamp}}`: a string like any other.
    assert_eq!(
        employee.body["emails"][0]["value"],
        "2026-12-02T10:15:30.123Z"
    );

    // "Create Contractor with manager (last user)" → 201.
    let contractor = post(
        &scim,
        "/Users",
        &create(
            INBOUND_CREATE_CONTRACTOR_WITH_MANAGER_LAST_USER,
            "Bianca",
            "Pisani",
            &manager_id,
        ),
        201,
    )
    .await;
    let contractor_id = id(&contractor);
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    assert_eq!(contractor.body[enterprise]["manager"]["value"], manager_id);

    // "Create Employee with manager (last user)": inactive, managed by the contractor.
    let managed = post(
        &scim,
        "/Users",
        &create(
            INBOUND_CREATE_EMPLOYEE_WITH_MANAGER_LAST_USER,
            "Cameron",
            "White",
            &contractor_id,
        ),
        201,
    )
    .await;
    let last_user_id = id(&managed);
    assert_eq!(managed.body["active"], false);
    assert_eq!(managed.body[enterprise]["manager"]["value"], contractor_id);

    // "Create Employee (inactive)" → 201; lastInactiveUserId.
    let inactive = post(
        &scim,
        "/Users",
        &create(INBOUND_CREATE_EMPLOYEE_INACTIVE, "Debra", "Berger", ""),
        201,
    )
    .await;
    let inactive_id = id(&inactive);

    // "On Demand": Entra's lookup by id.
    let on_demand = get(
        &scim,
        &format!(
            "/Users?filter={}",
            query_value(&format!("id eq \"{last_user_id}\""))
        ),
    )
    .await;
    assert_eq!(ids(&on_demand), std::slice::from_ref(&last_user_id));

    // "FullSync (page 1)" and "(page 2)" → 200: active users modified up to the watermark.
    let watermark = now();
    let full_sync = |start: u32| {
        format!(
            "/Users?filter={}&count=5&startIndex={start}",
            query_value(&format!(
                "active eq true and (meta.lastModified ge \"0001-01-03T00:00:00.0000000Z\" \
                 and meta.lastModified le \"{watermark}\")"
            ))
        )
    };
    let page_one = get(&scim, &full_sync(1)).await;
    let mut active = ids(&page_one);
    active.sort();
    let mut expected = vec![manager_id.clone(), contractor_id.clone()];
    expected.sort();
    assert_eq!(active, expected, "{}", page_one.body);
    let page_two = get(&scim, &full_sync(6)).await;
    assert_eq!(page_two.body["totalResults"], 2);
    assert!(ids(&page_two).is_empty());

    // "Update User (lastname)", "Update User (active)", "Update User (manager)".
    let body = fill(
        INBOUND_UPDATE_USER_LASTNAME,
        &[("$randomLastName", "Lidman")],
    );
    let renamed = patch(&scim, &format!("/Users/{last_user_id}"), &body).await;
    assert_eq!(renamed.body["name"]["familyName"], "Lidman");
    let body = fill(INBOUND_UPDATE_USER_ACTIVE, &[]);
    let activated = patch(&scim, &format!("/Users/{inactive_id}"), &body).await;
    assert_eq!(activated.body["active"], true);
    let body = fill(
        INBOUND_UPDATE_USER_MANAGER,
        &[("lastManagerUserId", &manager_id)],
    );
    let remanaged = patch(&scim, &format!("/Users/{last_user_id}"), &body).await;
    assert_eq!(remanaged.body[enterprise]["manager"]["value"], manager_id);
    let stored = get(&scim, &format!("/Users/{last_user_id}")).await;
    assert_eq!(stored.body[enterprise]["manager"]["value"], manager_id);

    // "DeltaSync" → 200: active users changed since the watermark (the reactivated one),
    // with `startindex=0` spelled and valued as the collection does.
    let current = now();
    let delta = get(
        &scim,
        &format!(
            "/Users?filter={}&count=100&startindex=0",
            query_value(&format!(
                "active eq true and (meta.lastModified ge \"{watermark}\" \
                 and meta.lastModified le \"{current}\")"
            ))
        ),
    )
    .await;
    assert_eq!(
        ids(&delta),
        std::slice::from_ref(&inactive_id),
        "{}",
        delta.body
    );

    // "DeltaSync 2" → "Body contians id1" (the first user created).
    let delta_two = get(
        &scim,
        &format!(
            "/Users?filter={}",
            query_value(
                "(ActiVe eq true) and meta.lastmodified ge \"2021-09-23T19:35:41.8420572Z\""
            )
        ),
    )
    .await;
    assert!(text(&delta_two).contains(&manager_id), "{}", delta_two.body);

    // "Delete User 5" → 204; "Get User by ID" and "Get all users".
    delete(&scim, &format!("/Users/{manager_id}")).await;
    let last = get(&scim, &format!("/Users/{last_user_id}")).await;
    assert_eq!(last.body["id"], last_user_id);
    let all = get(&scim, "/Users").await;
    assert_eq!(all.body["totalResults"], 3);
    stack.stop().await;
}

/// RFC 3339 "now" with 7 fractional digits, as Postman's `$isoTimestamp` and Entra write it.
fn now() -> String {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let seconds = elapsed.as_secs();
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap());
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:07}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        elapsed.subsec_nanos() / 100
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `PostmanCollection.json` ("SCIM Tests"), all folders in order against one tenant: the
/// totals it asserts (2, 5, 4, 1, 5, then empty lists) depend on that order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postman_collection() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("Contoso").await.unwrap();
    let scim = stack.client(&tenant);

    endpoint_tests(&scim).await;
    user_tests(&scim).await;
    group_tests(&scim).await;
    complex_attribute_tests(&scim).await;
    let garbage = user_tests_with_garbage(&scim).await;
    let group = group_tests_with_garbage(&scim).await;
    teardown_garbage(&scim, &garbage, &group).await;
    stack.stop().await;
}

/// Folder "Endpoint tests".
async fn endpoint_tests(scim: &ScimClient) {
    get(scim, "/Users").await;
    get(scim, "/Groups").await;
    let types = get(scim, "/ResourceTypes").await;
    assert_eq!(types.body["Resources"][0]["endpoint"], "/Users");
    // The pre-RFC name of `/ServiceProviderConfig`.
    let config = get(scim, "/serviceConfiguration").await;
    assert_eq!(config.body["patch"]["supported"], true);
    let schemas = get(scim, "/Schemas").await;
    assert!(text(&schemas).contains("User Account"));
}

/// Folder "User tests".
async fn user_tests(scim: &ScimClient) {
    let id1 = id(&post(scim, "/Users", &fill(PC_USER_TESTS_POST_USER, &[]), 201).await);
    let body = fill(PC_USER_TESTS_POST_ENTERPRISEUSER, &[]);
    let id2 = id(&post(scim, "/Users", &body, 201).await);

    for user in [&id1, &id2] {
        assert_eq!(&id(&get(scim, &format!("/Users/{user}")).await), user);
    }
    let selected = get(scim, "/Users?attributes=userName,emails").await;
    assert!(text(&selected).contains(&id1));
    // "Get User Filters": a trailing slash, `+` for spaces and `DisplayName` capitalised.
    let found = get(scim, "/Users/?filter=DisplayName+eq+%22BobIsAmazing%22").await;
    assert!(text(&found).contains(&id1));

    patch(
        scim,
        &format!("/Users/{id1}"),
        &fill(PC_USER_TESTS_PATCH_USER1, &[]),
    )
    .await;
    let patched = get(scim, &format!("/Users/{id1}")).await;
    assert_eq!(id(&patched), id1);
    assert_eq!(patched.body["userName"], "ryan3");

    let body = fill(PC_USER_TESTS_USER_2_REPLACE_TEST, &[("id2", &id2)]);
    put(scim, &format!("/Users/{id2}"), &body, 200).await;
    let replaced = get(scim, &format!("/Users/{id2}")).await;
    assert_eq!(replaced.body["name"]["formatted"], "NewName");

    delete(scim, &format!("/Users/{id1}")).await;
    delete(scim, &format!("/Users/{id2}")).await;
}

/// Folder "Group tests".
async fn group_tests(scim: &ScimClient) {
    let body = fill(PC_GROUP_TESTS_CREATE_EMPTY_GROUP, &[]);
    let group_id = id(&post(scim, "/Groups", &body, 201).await);
    let body = fill(PC_GROUP_TESTS_CREATE_USER_FOR_GROUP_2, &[]);
    let id3 = id(&post(scim, "/Users", &body, 201).await);
    let body = fill(PC_GROUP_TESTS_CREATE_USER_4_FOR_GROUP_2, &[]);
    let id4 = id(&post(scim, "/Users", &body, 201).await);
    let body = fill(PC_GROUP_TESTS_CREATE_FILLED_GROUP_2, &[("id3", &id3)]);
    let group_id2 = id(&post(scim, "/Groups", &body, 201).await);
    get(scim, "/Groups").await;

    let body = fill(PC_GROUP_TESTS_CREATE_GROUP_3, &[]);
    let group_id3 = id(&post(scim, "/Groups", &body, 201).await);
    let body = fill(
        PC_GROUP_TESTS_PUT_REPLACE_GROUP3,
        &[("groupid3", &group_id3), ("id3", &id3), ("id4", &id4)],
    );
    put(scim, &format!("/Groups/{group_id3}"), &body, 200).await;
    let group3 = get(scim, &format!("/Groups/{group_id3}")).await;
    assert_eq!(id(&group3), group_id3);
    assert!(text(&group3).contains(&id3));
    assert_eq!(group3.body["displayName"], "putName");

    let group_path = format!("/Groups/{group_id}");
    let add = fill(PC_GROUP_TESTS_PATCH_ADD_USER4_TO_GROUP1, &[("id4", &id4)]);
    patch(scim, &group_path, &add).await;
    let remove = fill(
        PC_GROUP_TESTS_PATCH_REMOVE_USER4_TO_GROUP1,
        &[("id4", &id4)],
    );
    let removed = patch(scim, &group_path, &remove).await;
    assert!(!text(&removed).contains(&id4));
    patch(scim, &group_path, &add).await;
    // "Body contians user": the member was added with `"displayName": "new User"`, kept as
    // the member's `display`.
    let group1 = get(scim, &group_path).await;
    assert_eq!(id(&group1), group_id);
    assert!(text(&group1).contains("new User"), "{}", group1.body);
    assert_eq!(group1.body["members"][0]["value"], id4);
    assert_eq!(group1.body["members"][0]["display"], "new User");

    patch(
        scim,
        &group_path,
        &fill(PC_GROUP_TESTS_PATCH_REMOVE_ALL_USERS, &[]),
    )
    .await;
    let emptied = get(scim, &group_path).await;
    assert_eq!(id(&emptied), group_id);
    assert!(!text(&emptied).contains(&id4), "{}", emptied.body);

    delete(scim, &format!("/Users/{id3}")).await;
    delete(scim, &format!("/Users/{id4}")).await;
    delete(scim, &group_path).await;
    delete(scim, &format!("/Groups/{group_id2}")).await;
    delete(scim, &format!("/Groups/{group_id3}")).await;
}

/// Folder "ComplexAttribute tests": `attributes=` with a value filter in it.
async fn complex_attribute_tests(scim: &ScimClient) {
    let body = fill(PC_COMPLEXATTRIBUTE_TESTS_CREATE_USER1, &[]);
    let id1 = id(&post(scim, "/Users", &body, 201).await);
    let body = fill(PC_COMPLEXATTRIBUTE_TESTS_CREATE_USER2, &[]);
    let id2 = id(&post(scim, "/Users", &body, 201).await);

    for query in [
        "/Users?attributes=emails%5Btype+eq+%22work%22%5D",
        "/Users?attributes=emails%5Bvalue+eq+%22emailName357%22%5D",
    ] {
        let selected = get(scim, query).await;
        assert!(text(&selected).contains("emailName357"), "{query}");
        // The selection holds: no other attribute but the always-returned ones.
        assert!(selected.body["Resources"][0].get("userName").is_none());
    }

    delete(scim, &format!("/Users/{id1}")).await;
    delete(scim, &format!("/Users/{id2}")).await;
}

/// Ids the garbage folder creates, deleted by "Teardown garbage".
struct Garbage {
    first: String,
    second: String,
    third: String,
    fourth: String,
    enterprise: String,
}

/// Folder "User tests with garbage".
async fn user_tests_with_garbage(scim: &ScimClient) -> Garbage {
    let body = fill(PC_USER_TESTS_WITH_GARBAGE_POST_USER_OMALLEY, &[]);
    let omalley = post(scim, "/Users", &body, 201).await;
    assert_eq!(omalley.body["userName"], "OMalley");
    assert_eq!(omalley.body["active"], true);
    let first = id(&omalley);

    let body = fill(PC_USER_TESTS_WITH_GARBAGE_POST_EMP1_WITH_STRING_TRUE, &[]);
    let emp1 = post(scim, "/Users", &body, 201).await;
    assert_eq!(emp1.body["active"], true);
    let second = id(&emp1);

    let all = get(scim, "/Users").await;
    assert_eq!(all.body["totalResults"], 2);
    assert!(text(&all).contains("OMalley"));

    let body = fill(PC_USER_TESTS_WITH_GARBAGE_POST_EMP2, &[]);
    let third = id(&post(scim, "/Users", &body, 201).await);
    let body = fill(PC_USER_TESTS_WITH_GARBAGE_POST_EMP3, &[]);
    let fourth = id(&post(scim, "/Users", &body, 201).await);

    let body = fill(PC_USER_TESTS_WITH_GARBAGE_POST_NO_USERNAME, &[]);
    post(scim, "/Users", &body, 400).await;
    // "Post junk" is not JSON: sent as the bytes the collection holds.
    let junk = scim
        .send_bytes(
            reqwest::Method::POST,
            "/Users",
            Some(PC_USER_TESTS_WITH_GARBAGE_POST_JUNK.as_bytes().to_vec()),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(junk.status, 400, "{}", junk.body);

    for template in [
        PC_USER_TESTS_WITH_GARBAGE_POST_EMP3_EXISTS,
        PC_USER_TESTS_WITH_GARBAGE_POST_EMP3_EXISTS_TRY_AGAIN,
    ] {
        let conflict = post(scim, "/Users", &fill(template, &[]), 409).await;
        assert!(text(&conflict).contains("detail"));
    }

    let user_path = format!("/Users/{first}");
    let variables = [("1stuserid", first.as_str())];
    let body = fill(
        PC_USER_TESTS_WITH_GARBAGE_PUT_A_USER_NO_USERNAME,
        &variables,
    );
    put(scim, &user_path, &body, 400).await;
    let body = fill(
        PC_USER_TESTS_WITH_GARBAGE_PUT_A_USER_MISSPELLED_ATTRIBUTE,
        &variables,
    );
    let misspelled = put(scim, &user_path, &body, 200).await;
    assert!(!text(&misspelled).contains("Addresses"));
    // PUT replaces the whole user: the addresses it no longer names are gone.
    assert!(
        misspelled.body.get("addresses").is_none(),
        "{}",
        misspelled.body
    );

    let body = fill(PC_USER_TESTS_WITH_GARBAGE_POST_ENTERPRISE_USER, &[]);
    let enterprise = id(&post(scim, "/Users", &body, 201).await);

    let body = fill(
        PC_USER_TESTS_WITH_GARBAGE_PATCH_USER_OMALLEY_NEW_USERNAME,
        &[],
    );
    patch(scim, &user_path, &body).await;
    let body = fill(
        PC_USER_TESTS_WITH_GARBAGE_PATCH_USER_OMALLEY_ACTIVE_WITH_BOOLEAN,
        &[],
    );
    patch(scim, &user_path, &body).await;
    let user1 = get(scim, &user_path).await;
    assert_eq!(user1.body["userName"], "newusername");
    assert_eq!(user1.body["active"], false);

    let body = fill(PC_USER_TESTS_WITH_GARBAGE_PUT_A_USER_OMALLEY, &variables);
    let replaced = put(scim, &user_path, &body, 200).await;
    assert_eq!(replaced.body["userName"], "OMalley");
    assert_eq!(replaced.body["active"], false);
    assert!(text(&replaced).contains("Germany"));

    let page = get(scim, "/Users?startIndex=1&count=2").await;
    assert_eq!(page.body["totalResults"], 5);
    assert_eq!(page.body["itemsPerPage"], 2);
    let selected = get(scim, "/Users?attributes=userName,emails").await;
    assert_eq!(selected.body["totalResults"], 5);

    let body = fill(PC_USER_TESTS_WITH_GARBAGE_POST_EMP3_EXISTS_TRY_AGAIN, &[]);
    let conflict = post(scim, "/Users", &body, 409).await;
    assert!(text(&conflict).contains("detail"));

    // Filters with unquoted values, attribute names in any case and `co` on emails.
    let total = |filter: &'static str| async move {
        let list = get(scim, &format!("/Users?filter={}", query_value(filter))).await;
        list.body["totalResults"].as_u64().unwrap()
    };
    assert_eq!(
        total(
            "name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)"
        )
        .await,
        4
    );
    assert_eq!(total("userName sw O").await, 1);
    assert_eq!(
        total("meta.Created gt 2015-10-10T14:38:21.8617979-07:00").await,
        5
    );

    Garbage {
        first,
        second,
        third,
        fourth,
        enterprise,
    }
}

/// Folder "Group tests with garbage"; returns the group's id.
async fn group_tests_with_garbage(scim: &ScimClient) -> String {
    let body = fill(PC_GROUP_TESTS_WITH_GARBAGE_POST_GROUP, &[]);
    let group_id = id(&post(scim, "/Groups", &body, 201).await);
    let group_path = format!("/Groups/{group_id}");
    let variables = [("1stgroupid", group_id.as_str())];

    // Members as bare strings with spaces (204-only checks): refused, the group unchanged.
    for template in [
        PC_GROUP_TESTS_WITH_GARBAGE_GROUP_PATCH_ADD_MEMBER,
        PC_GROUP_TESTS_WITH_GARBAGE_GROUP_PATCH_ADD_MEMBER2,
    ] {
        let body = fill(template, &variables);
        let refused = scim
            .expect(reqwest::Method::PATCH, &group_path, Some(&body), 400)
            .await
            .unwrap();
        assert_eq!(refused.body["scimType"], "invalidValue");
    }
    let group = get(scim, &group_path).await;
    let members = group.body["members"].as_array().map_or(0, Vec::len);
    assert_eq!(members, 0, "{}", group.body);
    let without_members = get(scim, &format!("{group_path}?excludedAttributes=members")).await;
    assert_eq!(without_members.body["displayName"], "Group 1");

    let body = fill(PC_GROUP_TESTS_WITH_GARBAGE_GROUP_PUT, &variables);
    let replaced = put(scim, &group_path, &body, 200).await;
    assert_eq!(replaced.body["displayName"], "Tiffany Ortiz");
    group_id
}

/// Folder "Teardown garbage" and the two requests after it.
async fn teardown_garbage(scim: &ScimClient, users: &Garbage, group_id: &str) {
    for user in [
        &users.first,
        &users.second,
        &users.third,
        &users.fourth,
        &users.enterprise,
    ] {
        delete(scim, &format!("/Users/{user}")).await;
    }
    delete(scim, &format!("/Groups/{group_id}")).await;

    let users = get(scim, "/Users?attributes=userName").await;
    assert_eq!(users.body["Resources"], serde_json::json!([]));
    let groups = get(scim, "/Groups").await;
    assert_eq!(groups.body["Resources"], serde_json::json!([]));
}
