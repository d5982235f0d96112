//! I11: nothing a tenant sends can crash a process, stall a projection or starve another
//! tenant. Against a real stack (NATS, Postgres, all four services): hostile requests answer
//! SCIM errors and leave nothing unstorable in the stream; a poison event is quarantined while
//! other tenants carry on; a tenant over its limit gets 429 while another stays fast; the
//! directory survives losing the replica that runs its projection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use e2e::{
    Projection, ScimClient, StackOptions, TestStack, eventually, patch_body, query_value, user_body,
};
use reqwest::Method;
use scim_rpc::audit::AuditQueryRequest;
use scim_rpc::quarantine::{ListQuarantinedRequest, RetryQuarantinedRequest};
use serde_json::{Value, json};

/// What a hostile request must be answered with.
struct Expect {
    status: u16,
    scim_type: Option<&'static str>,
}

/// How long the provisioning log may take to show what a test waits for.
const AUDIT_WAIT: Duration = Duration::from_secs(15);

const fn status(status: u16) -> Expect {
    Expect {
        status,
        scim_type: None,
    }
}

const fn scim(status: u16, scim_type: &'static str) -> Expect {
    Expect {
        status,
        scim_type: Some(scim_type),
    }
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    expect: Expect,
}

fn case(
    name: &'static str,
    method: Method,
    path: impl Into<String>,
    body: Option<Value>,
    expect: Expect,
) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        body: body.map(|body| body.to_string().into_bytes()),
        expect,
    }
}

fn raw(name: &'static str, path: &str, body: &[u8], expect: Expect) -> Case {
    Case {
        name,
        method: Method::POST,
        path: path.to_owned(),
        body: Some(body.to_vec()),
        expect,
    }
}

fn filter(filter: &str) -> String {
    format!("/Users?filter={}", query_value(filter))
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

fn user_with(attribute: &str, value: Value) -> Value {
    let mut body = user_body("hostile@example.com");
    body[attribute] = value;
    body
}

fn hostile_cases(user_id: &str, group_id: &str) -> Vec<Case> {
    let user = format!("/Users/{user_id}");
    let group = format!("/Groups/{group_id}");
    let long_id = "a".repeat(10_000);
    let many_emails: Vec<Value> = (0..10_000)
        .map(|i| json!({"value": format!("u{i}@example.com")}))
        .collect();
    let many_members: Vec<Value> = (0..10_001)
        .map(|i| json!({"value": format!("u{i}")}))
        .collect();
    let many_ops: Vec<Value> = (0..5_000)
        .map(|i| json!({"op": "replace", "path": "title", "value": format!("t{i}")}))
        .collect();
    let mut deep_json = String::from("1");
    for _ in 0..10_000 {
        deep_json = format!("[{deep_json}]");
    }
    let bulk = |operations: Value| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": operations,
        })
    };
    vec![
        // Filters and list parameters.
        case(
            "not( nested 2,000 deep",
            Method::GET,
            filter(&nested("not (", "userName pr", ")", 2000)),
            None,
            scim(400, "invalidFilter"),
        ),
        case(
            "3,000 nested parentheses",
            Method::GET,
            filter(&nested("(", "userName pr", ")", 3000)),
            None,
            scim(400, "invalidFilter"),
        ),
        case(
            "65 comparisons",
            Method::GET,
            filter(&vec!["id pr"; 65].join(" or ")),
            None,
            scim(400, "invalidFilter"),
        ),
        case(
            "filter over 4 KiB",
            Method::GET,
            filter(&format!("userName eq \"{}\"", "a".repeat(5000))),
            None,
            scim(400, "invalidFilter"),
        ),
        case(
            "NUL in a filter value",
            Method::GET,
            filter("userName eq \"a\\u0000b\""),
            None,
            scim(400, "invalidFilter"),
        ),
        case(
            "raw NUL in a filter",
            Method::GET,
            "/Users?filter=userName%00%20pr",
            None,
            scim(400, "invalidFilter"),
        ),
        // Decoded lossily (to U+FFFD) as form decoders do: a lookup that matches nothing.
        case(
            "invalid UTF-8 in the query",
            Method::GET,
            "/Users?filter=userName%20eq%20%22%FF%22",
            None,
            status(200),
        ),
        case(
            "deep value path",
            Method::GET,
            filter(&format!("emails[{}]", nested("(", "value pr", ")", 40))),
            None,
            scim(400, "invalidFilter"),
        ),
        case(
            "100,000 terms in .search",
            Method::POST,
            "/Users/.search",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                         "filter": vec!["id pr"; 100_000].join(" or ")}),
            ),
            status(400),
        ),
        case(
            "sortBy of 2,000 bytes",
            Method::GET,
            format!("/Users?sortBy={}", "a".repeat(2000)),
            None,
            scim(400, "invalidPath"),
        ),
        case(
            "500 attributes",
            Method::GET,
            format!("/Users?attributes={}", vec!["userName"; 500].join(",")),
            None,
            scim(400, "tooMany"),
        ),
        case(
            "excludedAttributes entry of 2,000 bytes",
            Method::GET,
            format!("/Users?excludedAttributes={}", "b".repeat(2000)),
            None,
            scim(400, "invalidPath"),
        ),
        case(
            "huge count is clamped",
            Method::GET,
            "/Users?count=99999999999999999999999",
            None,
            status(200),
        ),
        case(
            "huge startIndex",
            Method::GET,
            "/Users?startIndex=99999999999999999999",
            None,
            scim(400, "invalidValue"),
        ),
        case(
            "negative startIndex reads as 1",
            Method::GET,
            "/Users?startIndex=-5",
            None,
            status(200),
        ),
        case(
            "forged cursor at the largest offset",
            Method::GET,
            "/Users?cursor=c1.ffffffffffffffff.0000000000000000",
            None,
            scim(400, "invalidCursor"),
        ),
        case(
            "cursor of 1,000 bytes",
            Method::GET,
            format!("/Users?cursor={}", "c".repeat(1000)),
            None,
            scim(400, "invalidCursor"),
        ),
        case(
            "garbage cursor",
            Method::GET,
            "/Users?cursor=zzz",
            None,
            scim(400, "invalidCursor"),
        ),
        // Bodies.
        case(
            "NUL in title",
            Method::POST,
            "/Users",
            Some(user_with("title", json!("x\u{0}y"))),
            scim(400, "invalidValue"),
        ),
        case(
            "userName of 3,000 bytes",
            Method::POST,
            "/Users",
            Some(user_with("userName", json!("u".repeat(3000)))),
            scim(400, "invalidValue"),
        ),
        case(
            "ESC in userName",
            Method::POST,
            "/Users",
            Some(user_with("userName", json!("a\u{1b}[31m@example.com"))),
            scim(400, "invalidValue"),
        ),
        case(
            "externalId of 2,000 bytes",
            Method::POST,
            "/Users",
            Some(user_with("externalId", json!("e".repeat(2000)))),
            scim(400, "invalidValue"),
        ),
        case(
            "displayName of 5,000 bytes",
            Method::POST,
            "/Users",
            Some(user_with("displayName", json!("d".repeat(5000)))),
            scim(400, "invalidValue"),
        ),
        case(
            "10,000 emails",
            Method::POST,
            "/Users",
            Some(user_with("emails", json!(many_emails))),
            scim(400, "invalidValue"),
        ),
        case(
            "email of 2,000 bytes",
            Method::POST,
            "/Users",
            Some(user_with("emails", json!([{"value": "m".repeat(2000)}]))),
            scim(400, "invalidValue"),
        ),
        case(
            "userName longer than the index in lower case",
            Method::POST,
            "/Users",
            Some(user_with("userName", json!("İ".repeat(500)))),
            scim(400, "invalidValue"),
        ),
        case(
            "manager of 20,000 bytes",
            Method::POST,
            "/Users",
            Some(user_with(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                json!({"manager": {"value": "m".repeat(20_000)}}),
            )),
            scim(400, "invalidValue"),
        ),
        raw(
            "body over 1 MiB",
            "/Users",
            &vec![b' '; 1_100_000],
            status(413),
        ),
        raw(
            "invalid JSON",
            "/Users",
            b"{\"userName\": ",
            scim(400, "invalidSyntax"),
        ),
        raw(
            "invalid UTF-8",
            "/Users",
            b"{\"userName\": \"\xff\xfe\"}",
            scim(400, "invalidSyntax"),
        ),
        raw(
            "lone surrogate",
            "/Users",
            br#"{"userName": "a\ud800b"}"#,
            scim(400, "invalidSyntax"),
        ),
        raw(
            "number out of range",
            "/Users",
            br#"{"userName": "n@example.com", "active": 1e999999}"#,
            scim(400, "invalidSyntax"),
        ),
        raw(
            "JSON nested 10,000 deep",
            "/Users",
            format!("{{\"userName\": \"d@example.com\", \"x\": {deep_json}}}").as_bytes(),
            scim(400, "invalidSyntax"),
        ),
        // Ids in paths.
        case(
            "id of 10,000 bytes",
            Method::GET,
            format!("/Users/{long_id}"),
            None,
            scim(400, "invalidPath"),
        ),
        case(
            "id with a dot",
            Method::GET,
            "/Users/a.b",
            None,
            scim(400, "invalidPath"),
        ),
        case(
            "id with a star",
            Method::DELETE,
            "/Users/a%2A",
            None,
            scim(400, "invalidPath"),
        ),
        case(
            "id with a '>'",
            Method::PUT,
            "/Users/%3E",
            Some(user_body("gt@example.com")),
            scim(400, "invalidPath"),
        ),
        case(
            "id with a space",
            Method::PATCH,
            "/Groups/a%20b",
            Some(patch_body(json!([]))),
            scim(400, "invalidPath"),
        ),
        // PATCH.
        case(
            "5,000 operations",
            Method::PATCH,
            user.clone(),
            Some(patch_body(json!(many_ops))),
            scim(400, "tooMany"),
        ),
        case(
            "path of 2,000 bytes",
            Method::PATCH,
            user.clone(),
            Some(patch_body(
                json!([{"op": "replace", "path": "a".repeat(2000), "value": "x"}]),
            )),
            scim(400, "invalidPath"),
        ),
        case(
            "deep value filter in a path",
            Method::PATCH,
            user.clone(),
            Some(patch_body(
                json!([{"op": "replace", "path": format!("emails[{}].value", nested("(", "type eq \"work\"", ")", 40)), "value": "x"}]),
            )),
            status(400),
        ),
        case(
            "NUL through replace",
            Method::PATCH,
            user.clone(),
            Some(patch_body(
                json!([{"op": "replace", "path": "title", "value": "a\u{0}"}]),
            )),
            scim(400, "invalidValue"),
        ),
        case(
            "NUL through a path-less replace",
            Method::PATCH,
            user.clone(),
            Some(patch_body(
                json!([{"op": "replace", "value": {"name.givenName": "g\u{0}"}}]),
            )),
            scim(400, "invalidValue"),
        ),
        case(
            "10,001 members in one PATCH",
            Method::PATCH,
            group.clone(),
            Some(patch_body(
                json!([{"op": "add", "path": "members", "value": many_members}]),
            )),
            scim(400, "tooMany"),
        ),
        case(
            "member id with NUL",
            Method::PATCH,
            group.clone(),
            Some(patch_body(
                json!([{"op": "add", "path": "members", "value": [{"value": "a\u{0}"}]}]),
            )),
            scim(400, "invalidValue"),
        ),
        case(
            "group displayName of 2,000 bytes",
            Method::POST,
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g".repeat(2000)}),
            ),
            scim(400, "invalidValue"),
        ),
        case(
            "member id of 10,000 bytes",
            Method::POST,
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g", "members": [{"value": long_id}]}),
            ),
            scim(400, "invalidValue"),
        ),
        // Bulk.
        case(
            "Bulk path with a 10,000-byte id",
            Method::POST,
            "/Bulk",
            Some(bulk(
                json!([{"method": "DELETE", "path": format!("/Users/{long_id}")}]),
            )),
            scim(400, "invalidPath"),
        ),
        case(
            "Bulk path with NUL",
            Method::POST,
            "/Bulk",
            Some(bulk(json!([{"method": "DELETE", "path": "/Users/\u{0}"}]))),
            scim(400, "invalidPath"),
        ),
        case(
            "bulkId with a space",
            Method::POST,
            "/Bulk",
            Some(bulk(
                json!([{"method": "POST", "path": "/Users", "bulkId": "a b", "data": user_body("b1@example.com")}]),
            )),
            scim(400, "invalidValue"),
        ),
        case(
            "bulkId of 500 bytes",
            Method::POST,
            "/Bulk",
            Some(bulk(
                json!([{"method": "POST", "path": "/Users", "bulkId": "q".repeat(500), "data": user_body("b2@example.com")}]),
            )),
            scim(400, "invalidValue"),
        ),
        case(
            "1,001 Bulk operations",
            Method::POST,
            "/Bulk",
            Some(bulk(json!(
                (0..1001)
                    .map(|i| json!({"method": "DELETE", "path": format!("/Users/u{i}")}))
                    .collect::<Vec<_>>()
            ))),
            status(413),
        ),
        case(
            "Bulk create with NUL fails that operation",
            Method::POST,
            "/Bulk",
            Some(bulk(
                json!([{"method": "POST", "path": "/Users", "bulkId": "n", "data": user_with("title", json!("\u{0}"))}]),
            )),
            status(200),
        ),
        case(
            "an unknown HTTP method",
            Method::from_bytes(b"AAAA0001").unwrap(),
            "/Users",
            None,
            scim(405, ""),
        ),
    ]
}

/// Tenant B can still create and read a user, within a second.
async fn other_tenant_unharmed(b: &ScimClient, label: &str) {
    let started = Instant::now();
    let user_name = format!("b-{}@example.com", uuid::Uuid::new_v4());
    let id = b
        .create_user(&user_name)
        .await
        .unwrap_or_else(|error| panic!("after {label}: {error}"));
    let read = b.get(&format!("/Users/{id}")).await.unwrap();
    assert_eq!(read.status, 200, "after {label}: {}", read.body);
    assert_eq!(read.body["userName"], user_name.as_str());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "after {label}: tenant B took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn hostile_requests_are_refused_and_nothing_unstorable_reaches_the_stream() {
    let stack = TestStack::start().await.unwrap();
    let a = stack.tenant("hostile").await.unwrap();
    let b = stack.tenant("bystander").await.unwrap();
    let client_a = stack.client(&a);
    let client_b = stack.client(&b);
    let user_id = client_a.create_user("target@example.com").await.unwrap();
    let group = client_a
        .post("/Groups", &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "targets"}))
        .await
        .unwrap();
    assert_eq!(group.status, 201, "{}", group.body);
    let group_id = group.body["id"].as_str().unwrap().to_owned();

    let cases = hostile_cases(&user_id, &group_id);
    assert!(
        cases.len() >= 40,
        "the table must hold at least 40 requests"
    );
    let mut refused = 0;
    for case in &cases {
        let response = client_a
            .send_bytes(case.method.clone(), &case.path, case.body.clone(), &[])
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));
        assert_eq!(
            response.status, case.expect.status,
            "{}: {}",
            case.name, response.body
        );
        if case.expect.status >= 400 {
            refused += 1;
            assert_eq!(
                response.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
                "{}",
                case.name
            );
            if let Some(scim_type) = case.expect.scim_type.filter(|t| !t.is_empty()) {
                assert_eq!(
                    response.body["scimType"], scim_type,
                    "{}: {}",
                    case.name, response.body
                );
            }
            let detail = response.body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.len() < 1024,
                "{}: a detail must not echo the input back: {} bytes",
                case.name,
                detail.len()
            );
        }
        if case.name.starts_with("Bulk create with NUL") {
            assert_eq!(
                response.body["Operations"][0]["status"], "400",
                "{}",
                response.body
            );
        }
        other_tenant_unharmed(&client_b, case.name).await;
    }

    // The target is untouched by everything refused.
    let target = client_a.get(&format!("/Users/{user_id}")).await.unwrap();
    assert_eq!(target.status, 200);
    assert!(target.body.get("title").is_none(), "{}", target.body);

    // Every refusal is in A's provisioning log, so every rejection event was storable; no
    // projection set anything aside.
    let records = stack
        .audit_records_when(
            AuditQueryRequest {
                tenant_id: a.tenant_id.clone(),
                outcome: "failure".into(),
                page_size: 1000,
                ..Default::default()
            },
            AUDIT_WAIT,
            |records| records.len() >= refused,
        )
        .await
        .unwrap();
    assert!(
        records.iter().all(|record| record.status >= 400),
        "{records:?}"
    );
    for service in [
        Projection::Directory,
        Projection::License,
        Projection::Audit,
    ] {
        let quarantined = stack
            .quarantine_admin(service)
            .await
            .unwrap()
            .list(ListQuarantinedRequest {})
            .await
            .unwrap()
            .into_inner()
            .events;
        assert!(
            quarantined.is_empty(),
            "{service:?} quarantined {quarantined:?}"
        );
    }
    stack.stop().await;
}

/// Publishes an event straight to the stream, past the gateway and the event store's checks:
/// what a bug, or an older version of the gateway, could have written.
async fn publish_raw(
    stack: &TestStack,
    tenant_id: &str,
    payload: scim_events::EventPayload,
) -> u64 {
    let namespace = scim_events::Namespace::new(stack.namespace.clone()).unwrap();
    let id = uuid::Uuid::now_v7().to_string();
    let envelope = scim_events::EventEnvelope::new(
        tenant_id.to_owned(),
        scim_events::AggregateKind::User,
        &id,
        scim_events::Actor::default(),
        "poison-test",
        payload,
    );
    let subject = namespace
        .aggregate_subject(tenant_id, scim_events::AggregateKind::User, &id)
        .unwrap();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(event_store::EVENT_TYPE_HEADER, envelope.payload.type_name());
    let nats = async_nats::connect(e2e::nats_url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(nats);
    jetstream
        .publish_with_headers(subject, headers, envelope.to_json().unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence
}

async fn quarantined(stack: &TestStack, service: Projection) -> Vec<u64> {
    stack
        .quarantine_admin(service)
        .await
        .unwrap()
        .list(ListQuarantinedRequest {})
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .map(|event| event.sequence)
        .collect()
}

#[tokio::test]
async fn a_poison_event_is_quarantined_while_other_tenants_carry_on() {
    let stack = TestStack::start().await.unwrap();
    let a = stack.tenant("poisoned").await.unwrap();
    let b = stack.tenant("healthy").await.unwrap();
    let client_a = stack.client(&a);
    let client_b = stack.client(&b);
    client_b.create_user("before@b.example").await.unwrap();

    // Text Postgres cannot store: no fix can make it apply, so it stays quarantined.
    let nul = publish_raw(
        &stack,
        &a.tenant_id,
        scim_events::EventPayload::UserCreated {
            resource: json!({"userName": "nul@a.example", "title": "x\u{0}y", "active": true}),
        },
    )
    .await;
    for i in 0..5 {
        other_tenant_unharmed(&client_b, &format!("the poison event ({i})")).await;
    }
    let in_directory = eventually(Duration::from_secs(10), || async {
        let list = quarantined(&stack, Projection::Directory).await;
        Ok(list.contains(&nul).then_some(list))
    })
    .await
    .unwrap();
    assert_eq!(in_directory, vec![nul]);
    eventually(Duration::from_secs(10), || async {
        Ok(quarantined(&stack, Projection::Audit)
            .await
            .contains(&nul)
            .then_some(()))
    })
    .await
    .unwrap();
    // The tenant's admin sees it in the provisioning log.
    stack
        .audit_records_when(
            AuditQueryRequest {
                tenant_id: a.tenant_id.clone(),
                operation: "quarantine".into(),
                ..Default::default()
            },
            AUDIT_WAIT,
            |records| {
                records.iter().any(|record| {
                    record.detail.contains(&format!("event {nul}")) && record.outcome == "failure"
                })
            },
        )
        .await
        .unwrap();
    let retried = stack
        .quarantine_admin(Projection::Directory)
        .await
        .unwrap()
        .retry(RetryQuarantinedRequest { sequence: nul })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(retried.len(), 1);
    assert!(!retried[0].applied, "{retried:?}");
    assert!(
        retried[0].error.contains("22"),
        "the database's reason is kept: {retried:?}"
    );

    // A cause that can be fixed: a projection bug, simulated by a trigger that refuses one
    // userName. The write is stored, so the gateway says so in a 500 of its own.
    let directory_db = e2e::database_url(&stack.databases.directory);
    let pool = service_kit::postgres::connect(&directory_db, 2)
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.user_name = 'poison@a.example' THEN \
           RAISE EXCEPTION 'simulated projection bug' USING ERRCODE = '22023'; \
         END IF; RETURN NEW; END $$; \
         CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON users \
           FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
    )
    .execute(&pool)
    .await
    .unwrap();
    let started = Instant::now();
    let refused = client_a
        .post("/Users", &user_body("poison@a.example"))
        .await
        .unwrap();
    assert_eq!(refused.status, 500, "{}", refused.body);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("set it aside"),
        "{}",
        refused.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered at once, not after the wait: {:?}",
        started.elapsed()
    );
    // Tenant A's other users, and tenant B, go on.
    client_a.create_user("fine@a.example").await.unwrap();
    other_tenant_unharmed(&client_b, "the refused projection").await;
    let list = quarantined(&stack, Projection::Directory).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let poison = list.into_iter().find(|sequence| *sequence != nul).unwrap();
    let lookup = format!(
        "/Users?filter={}",
        query_value("userName eq \"poison@a.example\"")
    );
    assert_eq!(client_a.get(&lookup).await.unwrap().body["totalResults"], 0);

    sqlx::raw_sql("DROP TRIGGER refuse_poison ON users; DROP FUNCTION refuse_poison();")
        .execute(&pool)
        .await
        .unwrap();
    let retried = stack
        .quarantine_admin(Projection::Directory)
        .await
        .unwrap()
        .retry(RetryQuarantinedRequest { sequence: 0 })
        .await
        .unwrap()
        .into_inner()
        .results;
    let outcome: Vec<(u64, bool)> = retried.iter().map(|r| (r.sequence, r.applied)).collect();
    assert_eq!(
        outcome,
        vec![(nul, false), (poison, true)],
        "in stream order: {retried:?}"
    );
    let found = client_a.get(&lookup).await.unwrap();
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);
    assert_eq!(quarantined(&stack, Projection::Directory).await, vec![nul]);
    pool.close().await;
    stack.stop().await;
}

#[tokio::test]
async fn a_tenant_over_its_limit_gets_429_while_another_stays_fast() {
    let stack = TestStack::start_with(StackOptions {
        tenant_limits: Some(scim_gateway::TenantLimitSettings {
            rate_per_second: 20,
            burst: 20,
            max_concurrent: 4,
        }),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let a = stack.tenant("noisy").await.unwrap();
    let b = stack.tenant("quiet").await.unwrap();
    let client_a = stack.client(&a);
    let client_b = stack.client(&b);
    client_b.create_user("quiet@b.example").await.unwrap();
    let lookup = format!(
        "/Users?filter={}",
        query_value("userName eq \"quiet@b.example\"")
    );

    let flood = {
        let client = client_a.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(3);
            let mut workers = Vec::new();
            for _ in 0..16 {
                let client = client.clone();
                workers.push(tokio::spawn(async move {
                    let mut throttled = Vec::new();
                    while Instant::now() < deadline {
                        let response = client.get("/Users?count=1").await.unwrap();
                        if response.status == 429 {
                            throttled.push(response);
                        } else {
                            assert_eq!(response.status, 200, "{}", response.body);
                        }
                    }
                    throttled
                }));
            }
            let mut all = Vec::new();
            for worker in workers {
                all.extend(worker.await.unwrap());
            }
            all
        })
    };
    let mut latencies = Vec::new();
    for _ in 0..40 {
        let started = Instant::now();
        let response = client_b.get(&lookup).await.unwrap();
        latencies.push(started.elapsed());
        assert_eq!(
            response.status, 200,
            "tenant B was refused: {}",
            response.body
        );
        assert_eq!(response.body["totalResults"], 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let throttled = flood.await.unwrap();
    assert!(!throttled.is_empty(), "tenant A was never throttled");
    for response in &throttled {
        let retry_after: u64 = response.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry_after >= 1);
        assert_eq!(response.body["status"], "429");
        let detail = response.body["detail"].as_str().unwrap();
        assert!(detail.contains("GATEWAY_TENANT_"), "{detail}");
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    assert!(
        p99 < Duration::from_millis(50),
        "tenant B p99 {p99:?} while A was throttled"
    );
    // One refusal per interval reaches A's provisioning log, not every retry.
    let records = stack
        .audit_records_when(
            AuditQueryRequest {
                tenant_id: a.tenant_id.clone(),
                outcome: "failure".into(),
                ..Default::default()
            },
            AUDIT_WAIT,
            |records| records.iter().any(|record| record.status == 429),
        )
        .await
        .unwrap();
    let recorded = records.iter().filter(|record| record.status == 429).count();
    assert!(
        recorded <= 2,
        "{recorded} throttled requests recorded in 3 s"
    );
    assert!(throttled.len() > recorded);
    stack.stop().await;
}

/// How many writes gateway `index` found visible through its followed progress stream.
async fn settled_by_progress(stack: &TestStack, index: usize) -> u64 {
    let (status, metrics) =
        test_support::http_get(stack.gateway_metrics_addrs[index], "/metrics").await;
    assert_eq!(status, 200);
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix("scim_gateway_visibility_waits_total{settled_by=\"progress\"} ")
        })
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn writes_go_on_when_the_directory_replica_running_the_projection_dies() {
    let mut stack = TestStack::start_with(StackOptions {
        gateways: 2,
        directories: 2,
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let tenant = stack.tenant("handover").await.unwrap();
    let gateways = [stack.client_at(0, &tenant), stack.client_at(1, &tenant)];
    let mut acknowledged = Vec::new();
    for (g, client) in gateways.iter().enumerate() {
        for i in 0..5 {
            acknowledged.push(
                client
                    .create_user(&format!("before-{g}-{i}@example.com"))
                    .await
                    .unwrap(),
            );
        }
    }

    let leader = stack.directory_projection_holder().await.unwrap();
    assert!(leader.is_some(), "the first replica runs the projection");
    stack.kill_directory(0).await;
    let killed = Instant::now();
    // An IdP retries a 5xx; the handover must be over within seconds.
    for (g, client) in gateways.iter().enumerate() {
        eventually(Duration::from_secs(20), || {
            let client = client.clone();
            let user_name = format!("handover-{g}-{}@example.com", uuid::Uuid::new_v4());
            async move {
                let response = client.post("/Users", &user_body(&user_name)).await?;
                Ok((response.status == 201).then_some(()))
            }
        })
        .await
        .unwrap();
    }
    let recovered = killed.elapsed();
    let successor = stack.directory_projection_holder().await.unwrap();
    assert!(
        successor.is_some() && successor != leader,
        "the other replica took over: {leader:?} -> {successor:?}"
    );
    // A gateway that followed the killed replica's progress stream follows the survivor's
    // 200 ms later; meanwhile its writes ask AwaitApplied. Once one write is settled by the
    // stream again, all are.
    for (g, client) in gateways.iter().enumerate() {
        eventually(Duration::from_secs(10), || {
            let client = client.clone();
            let stack = &stack;
            async move {
                let before = settled_by_progress(stack, g).await;
                let user_name = format!("follow-{g}-{}@example.com", uuid::Uuid::new_v4());
                let response = client.post("/Users", &user_body(&user_name)).await?;
                assert_eq!(response.status, 201, "{}", response.body);
                Ok((settled_by_progress(stack, g).await > before).then_some(()))
            }
        })
        .await
        .unwrap();
    }
    let followed_before = [
        settled_by_progress(&stack, 0).await,
        settled_by_progress(&stack, 1).await,
    ];
    for (g, client) in gateways.iter().enumerate() {
        for i in 0..10 {
            let user_name = format!("after-{g}-{i}@example.com");
            let response = client.post("/Users", &user_body(&user_name)).await.unwrap();
            assert_eq!(
                response.status, 201,
                "gateway {g} after the handover: {}",
                response.body
            );
            let id = response.body["id"].as_str().unwrap().to_owned();
            let read = client.get(&format!("/Users/{id}")).await.unwrap();
            assert_eq!(read.status, 200, "read-your-writes after the handover");
            acknowledged.push(id);
        }
    }
    // Each gateway follows the survivor's progress stream: the writes after the handover were
    // settled without an AwaitApplied call.
    for (g, before) in followed_before.iter().enumerate() {
        assert_eq!(
            settled_by_progress(&stack, g).await - before,
            10,
            "gateway {g}: writes settled by the followed progress after the handover"
        );
    }
    for id in &acknowledged {
        assert_eq!(
            gateways[1]
                .get(&format!("/Users/{id}"))
                .await
                .unwrap()
                .status,
            200,
            "{id} lost"
        );
    }
    eprintln!(
        "directory handover: first write 2xx through both gateways {recovered:?} after the kill"
    );
    stack.stop().await;
}
