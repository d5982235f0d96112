//! RFC 7644 / RFC 9865 features end to end through the gateway: `/Bulk`,
//! root `/.search` and cursor pagination.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use e2e::{StackOptions, TestStack, patch_body, query_value, user_body};
use scim_rpc::audit::AuditQueryRequest;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

fn bulk(operations: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": operations})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_resolves_forward_references_and_reports_each_operation() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("bulk").await.unwrap();
    let scim = stack.client(&tenant);

    // RFC 7644 §3.7.2: the group comes first and names users created later.
    let response = scim
        .post(
            "/Bulk",
            &bulk(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "team",
                 "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                          "displayName": "Tour Guides",
                          "members": [{"type": "User", "value": "bulkId:alice"},
                                      {"type": "User", "value": "bulkId:bob"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "alice",
                 "data": user_body("alice@bulk.example")},
                {"method": "POST", "path": "/Users", "bulkId": "bob",
                 "data": user_body("bob@bulk.example")},
                {"method": "PATCH", "path": "/Users/bulkId:bob",
                 "data": patch_body(json!([{"op": "replace", "path": "title", "value": "Guide"}]))},
                {"method": "POST", "path": "/Users", "bulkId": "dup",
                 "data": user_body("ALICE@bulk.example")}
            ])),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["schemas"][0], BULK_RESPONSE);
    let results = response.body["Operations"].as_array().unwrap();
    assert_eq!(results.len(), 5, "{}", response.body);
    // Results come back in request order whatever the execution order was.
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["201", "201", "201", "200", "409"]);
    assert_eq!(results[0]["bulkId"], "team");
    assert!(results[0]["version"].as_str().unwrap().starts_with("W/\""));
    assert_eq!(results[4]["response"]["scimType"], "uniqueness");

    let group_location = results[0]["location"].as_str().unwrap();
    let group_id = group_location.rsplit('/').next().unwrap();
    let alice_id = results[1]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let bob_id = results[2]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let group = scim.get(&format!("/Groups/{group_id}")).await.unwrap();
    assert_eq!(group.status, 200);
    let members: HashSet<&str> = group.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, HashSet::from([alice_id, bob_id]));
    let bob = scim.get(&format!("/Users/{bob_id}")).await.unwrap();
    assert_eq!(bob.body["title"], "Guide");

    // The failed operation is in the provisioning log like a failed request.
    let rejections = AuditQueryRequest {
        operation: "reject".into(),
        ..e2e::audit_query(&tenant)
    };
    stack
        .audit_records_when(rejections, WAIT, |records| {
            records.iter().any(|r| r.status == 409)
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_stops_at_fail_on_errors_and_refuses_unresolvable_references() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("bulk-errors").await.unwrap();
    let scim = stack.client(&tenant);

    let mut request = bulk(json!([
        {"method": "DELETE", "path": "/Users/00000000-0000-0000-0000-000000000001"},
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"displayName": "Orphans", "members": [{"value": "bulkId:nobody"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "never", "data": user_body("never@x.example")}
    ]));
    request["failOnErrors"] = json!(2);
    let response = scim.post("/Bulk", &request).await.unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    let results = response.body["Operations"].as_array().unwrap();
    assert_eq!(
        results.len(),
        2,
        "processing stops after two errors: {}",
        response.body
    );
    assert_eq!(results[0]["status"], "404");
    assert_eq!(results[1]["status"], "409");
    assert!(
        results[1]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("nobody")
    );
    let never = scim
        .get(&format!(
            "/Users?filter={}",
            query_value("userName eq \"never@x.example\"")
        ))
        .await
        .unwrap();
    assert_eq!(
        never.body["totalResults"], 0,
        "the third operation must not run"
    );

    // Two groups that contain each other cannot be created in one request.
    let cycle = scim
        .post(
            "/Bulk",
            &bulk(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "a",
                 "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "b",
                 "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}}
            ])),
        )
        .await
        .unwrap();
    let statuses: Vec<&str> = cycle.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["409", "409"], "{}", cycle.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_limits_come_from_the_service_provider_config() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("bulk-limits").await.unwrap();
    let scim = stack.client(&tenant);

    let config = scim.get("/ServiceProviderConfig").await.unwrap();
    assert_eq!(config.body["bulk"]["supported"], true);
    let max_operations = config.body["bulk"]["maxOperations"].as_u64().unwrap();
    let max_payload = config.body["bulk"]["maxPayloadSize"].as_u64().unwrap();

    let too_many: Vec<Value> = (0..=max_operations)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let response = scim.post("/Bulk", &bulk(json!(too_many))).await.unwrap();
    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(response.body["status"], "413");
    assert!(
        response.body["detail"]
            .as_str()
            .unwrap()
            .contains(&max_operations.to_string())
    );

    let padding = "x".repeat(usize::try_from(max_payload).unwrap());
    let oversized = bulk(json!([{"method": "POST", "path": "/Users", "bulkId": "big",
                                 "data": {"userName": "big", "title": padding}}]));
    let response = scim.post("/Bulk", &oversized).await.unwrap();
    assert_eq!(response.status, 413, "{}", response.body);

    let malformed = scim
        .post("/Bulk", &json!({"Operations": []}))
        .await
        .unwrap();
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.body["scimType"], "invalidSyntax");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_search_spans_users_and_groups() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("root-search").await.unwrap();
    let scim = stack.client(&tenant);
    for name in ["carol@root.example", "dave@root.example"] {
        scim.create_user(name).await.unwrap();
    }
    let group = scim
        .post("/Groups", &json!({"displayName": "Root Group"}))
        .await
        .unwrap();
    assert_eq!(group.status, 201);

    let search = |body: Value| {
        let scim = scim.clone();
        async move { scim.post("/.search", &body).await.unwrap() }
    };
    let everything = search(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]
    }))
    .await;
    assert_eq!(everything.status, 200, "{}", everything.body);
    assert_eq!(everything.body["totalResults"], 3);
    let types: Vec<&str> = everything.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["User", "User", "Group"]);

    // A page that straddles the boundary between the types.
    let page = search(json!({"startIndex": 2, "count": 2})).await;
    let types: Vec<&str> = page.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["User", "Group"], "{}", page.body);
    assert_eq!(page.body["startIndex"], 2);

    // userName exists only on users: groups simply do not match.
    let by_name = search(json!({"filter": "userName sw \"carol\""})).await;
    assert_eq!(by_name.status, 200, "{}", by_name.body);
    assert_eq!(by_name.body["totalResults"], 1);
    let by_display = search(json!({"filter": "displayName eq \"Root Group\""})).await;
    assert_eq!(by_display.body["totalResults"], 1, "{}", by_display.body);

    let broken = search(json!({"filter": "userName eq"})).await;
    assert_eq!(broken.status, 400);
    assert_eq!(broken.body["scimType"], "invalidFilter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_pagination_walks_forward_and_back() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("cursor").await.unwrap();
    let scim = stack.client(&tenant);
    let mut created = HashSet::new();
    for i in 0..7 {
        created.insert(
            scim.create_user(&format!("user{i}@cursor.example"))
                .await
                .unwrap(),
        );
    }

    let config = scim.get("/ServiceProviderConfig").await.unwrap();
    assert_eq!(config.body["pagination"]["cursor"], true);
    let max_page = config.body["pagination"]["maxPageSize"].as_u64().unwrap();

    let mut seen = Vec::new();
    let mut cursors = Vec::new();
    let mut next = Some(String::new());
    while let Some(cursor) = next {
        let page = scim
            .get(&format!(
                "/Users?sortBy=userName&count=3&cursor={}",
                query_value(&cursor)
            ))
            .await
            .unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.body["totalResults"], 7);
        assert!(page.body.get("startIndex").is_none());
        for resource in page.body["Resources"].as_array().unwrap() {
            seen.push(resource["userName"].as_str().unwrap().to_owned());
        }
        cursors.push(cursor);
        next = page.body["nextCursor"].as_str().map(str::to_owned);
        assert!(seen.len() <= 7, "paging must end");
    }
    let expected: Vec<String> = (0..7).map(|i| format!("user{i}@cursor.example")).collect();
    assert_eq!(seen, expected);
    assert_eq!(cursors.len(), 3);

    // previousCursor of the last page leads back to the second page.
    let last = scim
        .get(&format!(
            "/Users?sortBy=userName&count=3&cursor={}",
            query_value(&cursors[2])
        ))
        .await
        .unwrap();
    let previous = last.body["previousCursor"].as_str().unwrap();
    let second = scim
        .get(&format!(
            "/Users?sortBy=userName&count=3&cursor={}",
            query_value(previous)
        ))
        .await
        .unwrap();
    assert_eq!(
        second.body["Resources"][0]["userName"],
        "user3@cursor.example"
    );

    // A cursor is bound to its query; garbage and mixed methods are refused.
    let other_query = scim
        .get(&format!(
            "/Users?sortBy=displayName&count=3&cursor={}",
            query_value(&cursors[1])
        ))
        .await
        .unwrap();
    assert_eq!(other_query.status, 400);
    assert_eq!(other_query.body["scimType"], "invalidCursor");
    let garbage = scim.get("/Users?cursor=not-a-cursor").await.unwrap();
    assert_eq!(garbage.body["scimType"], "invalidCursor");
    let mixed = scim.get("/Users?cursor=&startIndex=2").await.unwrap();
    assert_eq!(mixed.status, 400);
    let too_big = scim
        .get(&format!("/Users?cursor=&count={}", max_page + 1))
        .await
        .unwrap();
    assert_eq!(too_big.status, 400);
    assert_eq!(too_big.body["scimType"], "invalidCount");

    // POST .search takes the cursor in the body.
    let searched = scim
        .post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "cursor": "", "count": 5}),
        )
        .await
        .unwrap();
    assert_eq!(searched.body["itemsPerPage"], 5);
    assert!(searched.body["nextCursor"].is_string());
}

/// I9: a write to a group answers with its members only while the group is
/// small; beyond the limit the response leaves them out (unless asked for)
/// instead of reading the whole group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_write_responses_leave_out_members_of_large_groups() {
    let stack = TestStack::start_with(StackOptions {
        write_response_max_members: Some(2),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let tenant = stack.tenant("big-groups").await.unwrap();
    let scim = stack.client(&tenant);
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(
            scim.create_user(&format!("m{i}@big.example"))
                .await
                .unwrap(),
        );
    }
    let group = scim
        .post(
            "/Groups",
            &json!({"displayName": "Big", "members": [{"value": users[0]}, {"value": users[1]}]}),
        )
        .await
        .unwrap();
    assert_eq!(group.status, 201);
    assert_eq!(group.body["members"].as_array().unwrap().len(), 2);
    let path = format!("/Groups/{}", group.body["id"].as_str().unwrap());

    let add = patch_body(json!([{"op": "add", "path": "members", "value": [{"value": users[2]}]}]));
    let patched = scim.patch(&path, &add).await.unwrap();
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert!(patched.body.get("members").is_none(), "{}", patched.body);
    assert_eq!(patched.body["displayName"], "Big");

    let asked = scim
        .patch(&format!("{path}?attributes=members"), &add)
        .await
        .unwrap();
    assert_eq!(asked.body["members"].as_array().unwrap().len(), 3);
    let read = scim.get(&path).await.unwrap();
    assert_eq!(read.body["members"].as_array().unwrap().len(), 3);
}

fn user_names(response: &e2e::ScimResponse) -> Vec<String> {
    response.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {}", response.body))
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect()
}

/// The filter grammar, sorting and attribute selection, compiled to SQL by
/// the directory and checked end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_sorting_and_attribute_selection_end_to_end() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("filters").await.unwrap();
    let scim = stack.client(&tenant);
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    for (name, title, department, active, email_type) in [
        ("ann@f.example", "Engineer", "R&D", true, "work"),
        ("bob@f.example", "Engineer", "Sales", false, "home"),
        ("cid@f.example", "Manager", "R&D", true, "work"),
        ("dee@other.example", "Engineer", "R&D", true, "work"),
    ] {
        let mut body = user_body(name);
        body["title"] = json!(title);
        body["active"] = json!(active);
        body["emails"][0]["type"] = json!(email_type);
        body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", enterprise]);
        body[enterprise] = json!({"department": department});
        let created = scim.post("/Users", &body).await.unwrap();
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let find = |filter: &str, extra: &str| {
        let scim = scim.clone();
        let url = format!(
            "/Users?filter={}&sortBy=userName{extra}",
            query_value(filter)
        );
        async move { scim.get(&url).await.unwrap() }
    };

    let cases: [(&str, Vec<&str>); 8] = [
        (
            r#"emails[type eq "work" and value co "@f.example"]"#,
            vec!["ann@f.example", "cid@f.example"],
        ),
        (
            r#"title eq "Engineer" and not (active eq false)"#,
            vec!["ann@f.example", "dee@other.example"],
        ),
        (
            r#"(title eq "Manager" or userName sw "BOB") and userName ew "f.example""#,
            vec!["bob@f.example", "cid@f.example"],
        ),
        (
            &format!(r#"{enterprise}:department eq "R&D" and active eq "True""#),
            vec!["ann@f.example", "cid@f.example", "dee@other.example"],
        ),
        (
            r#"TITLE pr and USERNAME ne "ann@f.example" and title eq "manager""#,
            vec!["cid@f.example"],
        ),
        (
            r#"meta.created gt "2000-01-01T00:00:00Z" and userName lt "b""#,
            vec!["ann@f.example"],
        ),
        (r#"meta.lastModified lt "2000-01-01T00:00:00Z""#, vec![]),
        (
            r#"emails.value eq "DEE@OTHER.EXAMPLE""#,
            vec!["dee@other.example"],
        ),
    ];
    for (filter, expected) in cases {
        let response = find(filter, "").await;
        assert_eq!(response.status, 200, "{filter}: {}", response.body);
        assert_eq!(user_names(&response), expected, "{filter}");
    }

    let broken = find(r#"userName eq "x" and"#, "").await;
    assert_eq!(broken.status, 400);
    assert_eq!(broken.body["scimType"], "invalidFilter");
    assert!(
        broken.body["detail"].as_str().unwrap().contains("position"),
        "{}",
        broken.body
    );

    // Descending sort on a shared value is stable thanks to the id tie-breaker.
    let by_title = find(r#"userName pr"#, "&sortOrder=descending").await;
    assert_eq!(
        user_names(&by_title),
        vec![
            "dee@other.example",
            "cid@f.example",
            "bob@f.example",
            "ann@f.example"
        ]
    );

    let selected = find(
        r#"userName eq "ann@f.example""#,
        "&attributes=userName,emails.value,name.givenName",
    )
    .await;
    let ann = &selected.body["Resources"][0];
    assert!(ann["id"].is_string(), "id is always returned: {ann}");
    assert_eq!(ann["emails"][0]["value"], "ann@f.example");
    assert!(ann["emails"][0].get("type").is_none(), "{ann}");
    assert_eq!(ann["name"]["givenName"], "Test");
    assert!(ann["name"].get("familyName").is_none(), "{ann}");
    assert!(ann.get("title").is_none(), "{ann}");

    let excluded = find(
        r#"userName eq "ann@f.example""#,
        &format!("&excludedAttributes=emails,{enterprise}:department"),
    )
    .await;
    let ann = &excluded.body["Resources"][0];
    assert!(ann.get("emails").is_none(), "{ann}");
    assert!(
        ann.get(enterprise)
            .is_none_or(|e| e.get("department").is_none()),
        "{ann}"
    );
    assert_eq!(ann["title"], "Engineer");
}

/// ETags, conditional requests, PUT mutability rules and error bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_put_rules_and_error_bodies() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("versions").await.unwrap();
    let scim = stack.client(&tenant);
    let created = scim
        .post("/Users", &user_body("eve@v.example"))
        .await
        .unwrap();
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let etag = created.etag().unwrap();
    assert_eq!(created.body["meta"]["version"], etag.as_str());
    assert_eq!(
        created.body["meta"]["location"],
        created.headers["location"].to_str().unwrap()
    );

    let unchanged = scim
        .send(
            reqwest::Method::GET,
            &path,
            None,
            &[("if-none-match", &etag)],
        )
        .await
        .unwrap();
    assert_eq!(unchanged.status, 304);

    // PUT: readOnly input (id, meta) is ignored, password is never returned.
    let mut replacement = user_body("eve@v.example");
    replacement["id"] = json!("something-else");
    replacement["meta"] = json!({"created": "1999-01-01T00:00:00Z"});
    replacement["password"] = json!("hunter2!");
    replacement["displayName"] = json!("Eve");
    let replaced = scim
        .send(
            reqwest::Method::PUT,
            &path,
            Some(&replacement),
            &[("if-match", &etag)],
        )
        .await
        .unwrap();
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(replaced.body["id"], id.as_str());
    assert_eq!(
        replaced.body["meta"]["created"],
        created.body["meta"]["created"]
    );
    assert_eq!(replaced.body["displayName"], "Eve");
    assert!(replaced.body.get("password").is_none());
    assert_ne!(replaced.etag().unwrap(), etag);

    let stale = scim
        .send(
            reqwest::Method::PUT,
            &path,
            Some(&replacement),
            &[("if-match", &etag)],
        )
        .await
        .unwrap();
    assert_eq!(stale.status, 412);
    assert_eq!(stale.body["status"], "412");

    // An empty PATCH is a no-op that still answers with the resource.
    let noop = scim.patch(&path, &patch_body(json!([]))).await.unwrap();
    assert_eq!(noop.status, 200);
    assert_eq!(noop.etag(), replaced.etag());

    let bad_path = scim
        .patch(
            &path,
            &patch_body(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])),
        )
        .await
        .unwrap();
    assert_eq!(bad_path.status, 400);
    assert_eq!(bad_path.body["scimType"], "invalidPath");
    // A remove needs a target; removing a value that is already absent is an
    // idempotent no-op instead, so an IdP's retried remove does not fail.
    let no_target = scim
        .patch(&path, &patch_body(json!([{"op": "remove"}])))
        .await
        .unwrap();
    assert_eq!(no_target.status, 400, "{}", no_target.body);
    assert_eq!(no_target.body["scimType"], "noTarget");

    let plain_json = scim
        .send(
            reqwest::Method::POST,
            "/Users",
            Some(&user_body("plain@v.example")),
            &[("content-type", "application/json")],
        )
        .await
        .unwrap();
    assert_eq!(plain_json.status, 201);
    assert_eq!(plain_json.headers["content-type"], "application/scim+json");
    let missing = scim.get("/Users/does-not-exist").await.unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
}

/// Paths as IdPs write them: endpoint names in any case, trailing slashes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_paths_tolerate_case_and_trailing_slashes() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("paths").await.unwrap();
    let scim = stack.client(&tenant);
    let id = scim.create_user("path@p.example").await.unwrap();
    let filter = query_value("userName eq \"path@p.example\"");
    for path in [
        format!("/Users/?filter={filter}"),
        format!("/users?filter={filter}"),
    ] {
        let response = scim.get(&path).await.unwrap();
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        assert_eq!(response.body["totalResults"], 1, "{path}");
    }
    assert_eq!(
        scim.get(&format!("/USERS/{id}/")).await.unwrap().status,
        200
    );
    assert_eq!(
        scim.get("/serviceProviderConfig").await.unwrap().status,
        200
    );
    assert_eq!(scim.get("/Widgets").await.unwrap().status, 404);
}
