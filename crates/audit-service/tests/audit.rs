//! The audit service against real NATS and Postgres: what it records, what it refuses, and
//! that it records each event exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{ADMIN_TOKEN, AuditEnv as _, TestEnv, eventually, http_get};
use scim_events::{
    Actor, AdminAction, AdminActionKind, AggregateKind, EventEnvelope, EventPayload, GroupMember,
    GroupState, LicenseChange, Rejection,
};
use scim_rpc::audit::audit_query_client::AuditQueryClient;
use scim_rpc::audit::{AuditQueryRequest, AuditRecord, FailureRateRequest, GetRecordRequest};
use serde_json::json;
use service_kit::admin_auth::OperatorCredential;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Client = AuditQueryClient<InterceptedService<Channel, OperatorCredential>>;

const TENANT: &str = "tenant1";
const OTHER_TENANT: &str = "tenant2";

async fn client(app: &common::RunningApp) -> Client {
    AuditQueryClient::with_interceptor(
        app.channel().await,
        OperatorCredential::new(ADMIN_TOKEN).unwrap(),
    )
}

fn idp() -> Actor {
    Actor {
        config_id: Some("cfg1".into()),
        token_id: Some("tok1".into()),
        system: None,
        admin: None,
    }
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// An event at `base_time() + minute` minutes.
fn event(
    tenant: &str,
    kind: AggregateKind,
    id: &str,
    minute: i64,
    payload: EventPayload,
) -> EventEnvelope {
    let mut event = EventEnvelope::new(
        tenant,
        kind,
        id,
        idp(),
        format!("req-{id}-{minute}"),
        payload,
    );
    event.occurred_at = base_time() + Duration::minutes(minute);
    event
}

fn user_created(tenant: &str, id: &str, user_name: &str, minute: i64) -> EventEnvelope {
    let resource = json!({"id": id, "userName": user_name, "active": true});
    event(
        tenant,
        AggregateKind::User,
        id,
        minute,
        EventPayload::UserCreated { resource },
    )
}

fn user_patched(tenant: &str, id: &str, user_name: &str, minute: i64) -> EventEnvelope {
    let payload = EventPayload::UserUpdated {
        resource: json!({"id": id, "userName": user_name, "active": false}),
        created: base_time(),
        method: "patch".into(),
    };
    event(tenant, AggregateKind::User, id, minute, payload)
}

fn group(display_name: &str) -> GroupState {
    GroupState {
        resource: json!({"displayName": display_name}),
        created: base_time(),
    }
}

fn license(user_id: &str, reason: Option<&str>) -> LicenseChange {
    LicenseChange {
        pool_id: "pool1".into(),
        user_id: user_id.into(),
        application_instance: "crm".into(),
        license_type: "standard".into(),
        source: "auto".into(),
        reason: reason.map(str::to_owned),
    }
}

fn rejection(target_name: &str) -> Rejection {
    Rejection {
        method: "POST".into(),
        path: "/Users".into(),
        status: 409,
        scim_type: Some("uniqueness".into()),
        detail: "userName is already taken".into(),
        resource_type: Some("User".into()),
        target_id: None,
        target_name: Some(target_name.into()),
    }
}

/// One of each kind of event, for one tenant; returns them in append order.
fn one_of_each() -> Vec<EventEnvelope> {
    vec![
        user_created(TENANT, "alice", "Alice@Contoso.com", 0),
        user_patched(TENANT, "alice", "Alice@Contoso.com", 1),
        user_created(TENANT, "bob", "bob@contoso.com", 2),
        event(
            TENANT,
            AggregateKind::User,
            "bob",
            3,
            EventPayload::UserDeleted {
                user_name: "bob@contoso.com".into(),
            },
        ),
        event(
            TENANT,
            AggregateKind::Group,
            "g1",
            4,
            EventPayload::GroupCreated {
                group: group("Sales"),
                members: vec![GroupMember::id("alice")],
                members_skipped: vec![],
            },
        ),
        event(
            TENANT,
            AggregateKind::Group,
            "g1",
            5,
            EventPayload::GroupUpdated {
                group: group("Sales"),
                members_cleared: false,
                members_added: vec![],
                members_removed: vec!["alice".into()],
                members_skipped: vec!["ghost1".into(), "ghost2".into()],
                method: "patch".into(),
            },
        ),
        event(
            TENANT,
            AggregateKind::Group,
            "g1",
            6,
            EventPayload::GroupDeleted {
                display_name: "Sales".into(),
            },
        ),
        event(
            TENANT,
            AggregateKind::License,
            "alice",
            7,
            EventPayload::LicenseAssigned(license("alice", None)),
        ),
        event(
            TENANT,
            AggregateKind::License,
            "alice",
            8,
            EventPayload::LicenseDenied(license("alice", Some("pool exhausted"))),
        ),
        event(
            TENANT,
            AggregateKind::Request,
            "req-x",
            9,
            EventPayload::RequestRejected(rejection("carol")),
        ),
    ]
}

/// Every event appears exactly once, also after the consumer is rebuilt from
/// scratch over the same database, and the log refuses updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_recorded_exactly_once() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let events = one_of_each();
    let mut last = 0;
    for event in &events {
        last = env.append(event).await;
    }
    env.wait_for_checkpoint(last).await;
    assert_eq!(env.scalar("SELECT count(*) FROM audit_log").await, 10);

    let mut admin = client(&app).await;
    let records = query(&mut admin, AuditQueryRequest::default()).await;
    let summary: Vec<(&str, &str, &str, &str)> = records
        .iter()
        .map(|record| {
            (
                record.operation.as_str(),
                record.outcome.as_str(),
                record.resource_type.as_str(),
                record.target_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("create", "success", "User", "Alice@Contoso.com"),
            ("patch", "success", "User", "Alice@Contoso.com"),
            ("create", "success", "User", "bob@contoso.com"),
            ("delete", "success", "User", "bob@contoso.com"),
            ("create", "success", "Group", "Sales"),
            ("patch", "success", "Group", "Sales"),
            ("delete", "success", "Group", "Sales"),
            // License events borrow the user's userName from the log.
            ("license.assign", "success", "License", "Alice@Contoso.com"),
            ("license.deny", "failure", "License", "Alice@Contoso.com"),
            ("reject", "failure", "User", "carol"),
        ]
    );
    assert_eq!(
        records[5].detail,
        "skipped unknown member ids: ghost1, ghost2"
    );
    assert_eq!(records[8].detail, "pool exhausted");
    assert_eq!(
        (records[9].status, records[9].detail.as_str()),
        (409, "userName is already taken")
    );
    assert_eq!(records[9].target_id, "");
    for (record, event) in records.iter().zip(&events) {
        assert_eq!(record.event_id, event.event_id.to_string());
        assert_eq!(record.correlation_id, event.correlation_id);
        assert_eq!(
            (
                record.actor_config_id.as_str(),
                record.actor_token_id.as_str()
            ),
            ("cfg1", "tok1")
        );
        let stored: EventEnvelope = serde_json::from_str(&record.event_json).unwrap();
        assert_eq!(&stored, event);
    }
    let sequences: Vec<u64> = records.iter().map(|record| record.sequence).collect();
    assert!(sequences.windows(2).all(|pair| pair[0] < pair[1]));

    // History cannot be rewritten, even by hand.
    let update = sqlx::query("UPDATE audit_log SET detail = 'tampered'")
        .execute(&env.db)
        .await;
    assert!(update.is_err());
    let delete = sqlx::query("DELETE FROM audit_log").execute(&env.db).await;
    assert!(delete.is_err());

    let (status, body) = http_get(app.metrics_addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("scim_audit_records_written_total 10"),
        "{body}"
    );
    app.stop().await;

    // Rebuild the consumer from scratch: forget the checkpoint and the
    // durable consumer, so the whole stream is delivered again.
    sqlx::query("UPDATE checkpoint SET last_sequence = 0")
        .execute(&env.db)
        .await
        .unwrap();
    let durable = env.namespace.consumer_name("audit");
    env.store.stream().delete_consumer(&durable).await.unwrap();
    let app = env.start().await;
    let more = env
        .append(&user_created(TENANT, "dave", "dave@contoso.com", 10))
        .await;
    env.wait_for_checkpoint(more).await;
    assert_eq!(env.scalar("SELECT count(*) FROM audit_log").await, 11);
    assert_eq!(
        env.scalar("SELECT count(DISTINCT event_id) FROM audit_log")
            .await,
        11
    );

    // A republished event (same id, new sequence) is still recorded once.
    // Published without a message id, as if the duplicate window had passed.
    let subject = env.store.subject_of(&events[7]).unwrap();
    let republished = env
        .store
        .context()
        .publish(subject, events[7].to_json().unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence;
    assert!(republished > more);
    env.wait_for_checkpoint(republished).await;
    assert_eq!(env.scalar("SELECT count(*) FROM audit_log").await, 11);
    app.stop().await;
    env.cleanup().await;
}

/// License rows are named after the user's latest earlier userName: from the log for users
/// the batch does not name, from the batch after a rename in it, and not at all for a user
/// never named. The later events are appended while the service is stopped, so that it takes
/// them in together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_rows_take_the_latest_earlier_user_name() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    env.append(&user_created(TENANT, "alice", "alice@old.example", 1))
        .await;
    let first = env
        .append(&user_created(
            OTHER_TENANT,
            "alice",
            "alice@tenant2.example",
            2,
        ))
        .await;
    env.wait_for_checkpoint(first).await;
    app.stop().await;

    let license_event = |tenant: &str, user: &str, minute| {
        event(
            tenant,
            AggregateKind::License,
            user,
            minute,
            EventPayload::LicenseDenied(license(user, Some("pool exhausted"))),
        )
    };
    env.append(&license_event(TENANT, "alice", 3)).await;
    env.append(&license_event(OTHER_TENANT, "alice", 4)).await;
    env.append(&user_patched(TENANT, "alice", "alice@new.example", 5))
        .await;
    env.append(&license_event(TENANT, "alice", 6)).await;
    let last = env.append(&license_event(TENANT, "dave", 7)).await;
    let app = env.start().await;
    env.wait_for_checkpoint(last).await;

    let mut admin = client(&app).await;
    let names = |records: Vec<AuditRecord>| -> Vec<(String, String)> {
        records
            .into_iter()
            .filter(|record| record.resource_type == "License")
            .map(|record| (record.target_id, record.target_name))
            .collect()
    };
    assert_eq!(
        names(query(&mut admin, AuditQueryRequest::default()).await),
        [
            ("alice".to_owned(), "alice@old.example".to_owned()),
            ("alice".to_owned(), "alice@new.example".to_owned()),
            ("dave".to_owned(), String::new()),
        ]
    );
    let other = AuditQueryRequest {
        tenant_id: OTHER_TENANT.into(),
        ..AuditQueryRequest::default()
    };
    assert_eq!(
        names(query(&mut admin, other).await),
        [("alice".to_owned(), "alice@tenant2.example".to_owned())]
    );
    app.stop().await;
    env.cleanup().await;
}

async fn query(client: &mut Client, request: AuditQueryRequest) -> Vec<AuditRecord> {
    let request = AuditQueryRequest {
        tenant_id: if request.tenant_id.is_empty() {
            TENANT.into()
        } else {
            request.tenant_id
        },
        page_size: if request.page_size == 0 {
            1000
        } else {
            request.page_size
        },
        ..request
    };
    let response = client.query(request).await.unwrap().into_inner();
    assert!(
        response.next_page_token.is_empty(),
        "expected a single page"
    );
    response.records
}

fn targets(records: &[AuditRecord]) -> Vec<String> {
    records
        .iter()
        .map(|record| record.target_id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_filter_and_page() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut events = one_of_each();
    // 25 more users at minutes 20..45.
    for index in 0..25 {
        let id = format!("user{index:02}");
        events.push(user_created(
            TENANT,
            &id,
            &format!("{id}@contoso.com"),
            20 + index,
        ));
    }
    events.push(user_created(OTHER_TENANT, "alice", "Alice@Contoso.com", 0));
    events.push(user_created(OTHER_TENANT, "zed", "zed@fabrikam.com", 1));
    let mut last = 0;
    for event in &events {
        last = env.append(event).await;
    }
    env.wait_for_checkpoint(last).await;
    let mut admin = client(&app).await;

    // Target: the id, or the userName in any case.
    let by_name = query(
        &mut admin,
        AuditQueryRequest {
            target: "ALICE@contoso.COM".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        by_name
            .iter()
            .map(|record| record.operation.as_str())
            .collect::<Vec<_>>(),
        vec!["create", "patch", "license.assign", "license.deny"]
    );
    assert!(
        by_name.iter().all(|record| record.tenant_id == TENANT),
        "never another tenant's alice"
    );
    let by_id = query(
        &mut admin,
        AuditQueryRequest {
            target: "alice".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(targets(&by_id), vec!["alice"; 4]);
    let rejected = query(
        &mut admin,
        AuditQueryRequest {
            target: "Carol".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].operation, "reject");

    // Operation, with "update" covering both PUT and PATCH.
    let creates = query(
        &mut admin,
        AuditQueryRequest {
            operation: "create".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(creates.len(), 3 + 25);
    let updates = query(
        &mut admin,
        AuditQueryRequest {
            operation: "update".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(targets(&updates), vec!["alice", "g1"]);

    // Outcome.
    let failures = query(
        &mut admin,
        AuditQueryRequest {
            outcome: "failure".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        failures
            .iter()
            .map(|record| record.operation.as_str())
            .collect::<Vec<_>>(),
        vec!["license.deny", "reject"]
    );

    // Correlation id and actor.
    let correlated = query(
        &mut admin,
        AuditQueryRequest {
            correlation_id: events[2].correlation_id.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(correlated.len(), 1);
    assert_eq!(correlated[0].event_id, events[2].event_id.to_string());
    let by_token = query(
        &mut admin,
        AuditQueryRequest {
            actor: "tok1".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_token.len(), 35);
    let by_stranger = query(
        &mut admin,
        AuditQueryRequest {
            actor: "someone-else".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(by_stranger.is_empty());

    // Time range: from inclusive, to exclusive.
    let window = query(
        &mut admin,
        AuditQueryRequest {
            from: (base_time() + Duration::minutes(2)).to_rfc3339(),
            to: "2026-03-01T13:05:00+01:00".into(), // 12:05 UTC
            ..Default::default()
        },
    )
    .await;
    assert_eq!(targets(&window), vec!["bob", "bob", "g1"]);

    // Paging over all 35 rows of the tenant, 8 at a time.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let response = admin
            .query(AuditQueryRequest {
                tenant_id: TENANT.into(),
                page_size: 8,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(response.records.len() <= 8);
        seen.extend(response.records.iter().map(|record| record.sequence));
        if response.next_page_token.is_empty() {
            break;
        }
        token = response.next_page_token;
    }
    assert_eq!(pages, 5);
    let all: Vec<u64> = query(&mut admin, AuditQueryRequest::default())
        .await
        .iter()
        .map(|record| record.sequence)
        .collect();
    assert_eq!(all.len(), 35);
    assert_eq!(seen, all, "pages cover every row once, in order");
    // A page that ends exactly at the last row has no next page.
    let exact = admin
        .query(AuditQueryRequest {
            tenant_id: TENANT.into(),
            page_size: 35,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(exact.records.len(), 35);
    assert!(exact.next_page_token.is_empty());
    // Filters and paging combine.
    let first_creates = admin
        .query(AuditQueryRequest {
            tenant_id: TENANT.into(),
            operation: "create".into(),
            page_size: 20,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first_creates.records.len(), 20);
    let rest = admin
        .query(AuditQueryRequest {
            tenant_id: TENANT.into(),
            operation: "create".into(),
            page_size: 20,
            page_token: first_creates.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.records.len(), 8);
    assert!(rest.next_page_token.is_empty());

    // Tenants are isolated.
    let other = query(
        &mut admin,
        AuditQueryRequest {
            tenant_id: OTHER_TENANT.into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(targets(&other), vec!["alice", "zed"]);
    let nobody = query(
        &mut admin,
        AuditQueryRequest {
            tenant_id: "tenant3".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(nobody.is_empty());

    // Validation and authentication.
    let missing_tenant = admin.query(AuditQueryRequest::default()).await.unwrap_err();
    assert_eq!(missing_tenant.code(), Code::InvalidArgument);
    let bad_token = admin
        .query(AuditQueryRequest {
            tenant_id: TENANT.into(),
            page_token: "not-a-token".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_token.code(), Code::InvalidArgument);
    let bad_time = admin
        .query(AuditQueryRequest {
            tenant_id: TENANT.into(),
            to: "tomorrow".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_time.code(), Code::InvalidArgument);
    let mut anonymous = AuditQueryClient::new(app.channel().await);
    let unauthenticated = anonymous
        .query(AuditQueryRequest {
            tenant_id: TENANT.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);

    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel().await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "scim.audit.v1.AuditQuery".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    app.stop().await;
    env.cleanup().await;
}

/// Two replicas on one database: one consumes, and rows are still unique.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_record_each_event_once() {
    let env = TestEnv::new().await;
    let first = env.start().await;
    let second = env.start().await;
    let mut last = 0;
    for index in 0..40 {
        let id = format!("user{index:02}");
        last = env.append(&user_created(TENANT, &id, &id, index)).await;
    }
    env.wait_for_checkpoint(last).await;
    assert_eq!(env.scalar("SELECT count(*) FROM audit_log").await, 40);
    // The standby takes over when the leader stops.
    first.stop().await;
    let after = env.append(&user_created(TENANT, "late", "late", 99)).await;
    env.wait_for_checkpoint(after).await;
    eventually(|| async { env.scalar("SELECT count(*) FROM audit_log").await == 41 }).await;
    second.stop().await;
    env.cleanup().await;
}

/// A request refused with `status`, by configuration `config_id`, at `minute`.
fn rejected(tenant: &str, config_id: &str, id: &str, minute: i64, status: u16) -> EventEnvelope {
    let mut event = event(
        tenant,
        AggregateKind::Request,
        id,
        minute,
        EventPayload::RequestRejected(Rejection {
            status,
            ..rejection(id)
        }),
    );
    event.actor.config_id = Some(config_id.into());
    event
}

/// Per hour: requests (accepted writes and rejections, not license decisions), failures,
/// 429s, the percentage, and the flag above 40 %; by configuration or for the whole tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_rate_per_bucket_flags_an_entra_quarantine_streak() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut events = Vec::new();
    // 12:00–13:00: ten creates by cfg1, all accepted.
    for index in 0..10 {
        let id = format!("ok{index}");
        events.push(user_created(TENANT, &id, &id, index));
    }
    // 13:00–14:00 by cfg1: three accepted, five refused (two of them 429), and two license
    // decisions that are not requests.
    for index in 0..3 {
        let id = format!("late{index}");
        events.push(user_created(TENANT, &id, &id, 60 + index));
    }
    for (index, status) in [409, 400, 429, 429, 404].into_iter().enumerate() {
        let minute = 70 + i64::try_from(index).unwrap();
        events.push(rejected(
            TENANT,
            "cfg1",
            &format!("r{index}"),
            minute,
            status,
        ));
    }
    events.push(event(
        TENANT,
        AggregateKind::License,
        "late0",
        75,
        EventPayload::LicenseAssigned(license("late0", None)),
    ));
    events.push(event(
        TENANT,
        AggregateKind::License,
        "late1",
        76,
        EventPayload::LicenseDenied(license("late1", Some("pool exhausted"))),
    ));
    // Another configuration of the tenant, and another tenant, in the same hour.
    events.push(rejected(TENANT, "cfg2", "other-config", 80, 401));
    events.push(rejected(OTHER_TENANT, "cfg1", "other-tenant", 80, 400));
    let mut last = 0;
    for event in &events {
        last = env.append(event).await;
    }
    env.wait_for_checkpoint(last).await;
    let mut admin = client(&app).await;

    let request = FailureRateRequest {
        tenant_id: TENANT.into(),
        config_id: "cfg1".into(),
        from: "2026-03-01T00:00:00Z".into(),
        to: "2026-03-02T00:00:00Z".into(),
        bucket_seconds: 3600,
        threshold_percent: 0.0,
    };
    let response = admin
        .failure_rate(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.threshold_percent, 40.0);
    assert_eq!(response.bucket_seconds, 3600);
    let figures: Vec<(&str, u64, u64, u64, bool)> = response
        .buckets
        .iter()
        .map(|b| {
            (
                b.start.as_str(),
                b.requests,
                b.failures,
                b.throttled,
                b.over_threshold,
            )
        })
        .collect();
    assert_eq!(
        figures,
        [
            ("2026-03-01T12:00:00Z", 10, 0, 0, false),
            ("2026-03-01T13:00:00Z", 8, 5, 2, true),
        ]
    );
    assert!((response.buckets[1].failure_percent - 62.5).abs() < 1e-9);

    // The whole tenant: cfg2's refusal joins the second hour, the other tenant's never does.
    let tenant_wide = admin
        .failure_rate(FailureRateRequest {
            config_id: String::new(),
            ..request.clone()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tenant_wide.buckets[1].requests, 9);
    assert_eq!(tenant_wide.buckets[1].failures, 6);

    // Finer buckets and a higher threshold: 13:00–13:30 has 3 accepted and 5 refused.
    let half_hours = admin
        .failure_rate(FailureRateRequest {
            bucket_seconds: 1800,
            threshold_percent: 70.0,
            ..request.clone()
        })
        .await
        .unwrap()
        .into_inner();
    let starts: Vec<&str> = half_hours
        .buckets
        .iter()
        .map(|b| b.start.as_str())
        .collect();
    assert_eq!(
        starts,
        ["2026-03-01T12:00:00Z", "2026-03-01T13:00:00Z"],
        "buckets without requests are left out"
    );
    assert!(
        !half_hours.buckets[1].over_threshold,
        "62.5 % is under 70 %"
    );

    // A range that misses the events, and a bad request.
    let empty = admin
        .failure_rate(FailureRateRequest {
            from: "2026-03-02T00:00:00Z".into(),
            to: "2026-03-03T00:00:00Z".into(),
            ..request.clone()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(empty.buckets.is_empty());
    let invalid = admin
        .failure_rate(FailureRateRequest {
            bucket_seconds: 1,
            ..request
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);

    app.stop().await;
    env.cleanup().await;
}

const ADA: &str = "admin:a1:ada@contoso.com";
const OPERATOR: &str = "operator";

/// What `admin` did in the account center to configuration `config_id`, at `minute`.
fn admin_action(
    tenant: &str,
    config_id: &str,
    admin: &str,
    minute: i64,
    action: AdminAction,
) -> EventEnvelope {
    let actor = Actor {
        config_id: Some(config_id.into()),
        token_id: None,
        system: None,
        admin: Some(admin.into()),
    };
    let mut event = EventEnvelope::new(
        tenant,
        AggregateKind::Config,
        config_id,
        actor,
        format!("adm-{config_id}-{minute}"),
        EventPayload::AdminActionTaken(action),
    );
    event.occurred_at = base_time() + Duration::minutes(minute);
    event
}

fn token_issued(token_id: &str, prefix: &str) -> AdminAction {
    AdminAction {
        action: AdminActionKind::TokenIssue,
        target_type: "token".into(),
        target_id: token_id.into(),
        target_name: Some(prefix.into()),
        detail: Some("valid 365 days".into()),
    }
}

fn config_renamed() -> AdminAction {
    AdminAction {
        action: AdminActionKind::ConfigUpdate,
        target_type: "config".into(),
        target_id: "cfg1".into(),
        target_name: Some("Okta EU".into()),
        detail: Some("renamed from \"Okta\" to \"Okta EU\"".into()),
    }
}

fn auto_assign_enabled() -> AdminAction {
    AdminAction {
        action: AdminActionKind::AutoAssignEnable,
        target_type: "pool".into(),
        target_id: "pool1".into(),
        target_name: Some("crm/standard".into()),
        detail: None,
    }
}

fn operations(records: &[AuditRecord]) -> Vec<&str> {
    records
        .iter()
        .map(|record| record.operation.as_str())
        .collect()
}

/// Admin actions land in the log with what they did, to what, and who did it; license decisions
/// an admin made carry the admin too. `actor` finds an admin's actions and `operation = "admin."`
/// every admin action, while IdP traffic stays where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_actions_are_recorded_with_the_admin() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut manual_assignment = event(
        TENANT,
        AggregateKind::License,
        "alice",
        3,
        EventPayload::LicenseAssigned(LicenseChange {
            source: "manual".into(),
            ..license("alice", None)
        }),
    );
    manual_assignment.actor = Actor {
        config_id: None,
        token_id: None,
        system: Some("license-service".into()),
        admin: Some(ADA.into()),
    };
    let events = vec![
        user_created(TENANT, "alice", "alice@contoso.com", 0),
        admin_action(TENANT, "cfg1", ADA, 1, token_issued("tok2", "scim_ab12")),
        admin_action(TENANT, "cfg1", OPERATOR, 2, auto_assign_enabled()),
        manual_assignment,
        admin_action(TENANT, "cfg1", ADA, 4, config_renamed()),
        user_patched(TENANT, "alice", "alice@contoso.com", 5),
        // The same admin name in another tenant is another tenant's business.
        admin_action(OTHER_TENANT, "cfg9", ADA, 6, config_renamed()),
    ];
    let mut last = 0;
    for event in &events {
        last = env.append(event).await;
    }
    env.wait_for_checkpoint(last).await;
    let mut admin = client(&app).await;

    let all = query(&mut admin, AuditQueryRequest::default()).await;
    assert_eq!(
        operations(&all),
        vec![
            "create",
            "admin.token.issue",
            "admin.license.auto_assign.enable",
            "license.assign",
            "admin.config.update",
            "patch"
        ]
    );
    let issued = &all[1];
    assert_eq!(
        (
            issued.outcome.as_str(),
            issued.resource_type.as_str(),
            issued.target_id.as_str(),
            issued.target_name.as_str(),
            issued.detail.as_str(),
        ),
        ("success", "Token", "tok2", "scim_ab12", "valid 365 days")
    );
    assert_eq!(
        (
            issued.actor_admin.as_str(),
            issued.actor_config_id.as_str(),
            issued.actor_token_id.as_str()
        ),
        (ADA, "cfg1", "")
    );
    let stored: EventEnvelope = serde_json::from_str(&issued.event_json).unwrap();
    assert_eq!(stored, events[1]);
    assert_eq!(
        (all[2].resource_type.as_str(), all[2].actor_admin.as_str()),
        ("Pool", OPERATOR)
    );
    assert_eq!(
        (all[3].actor_admin.as_str(), all[3].target_name.as_str()),
        (ADA, "alice@contoso.com"),
        "a manual assignment names the admin and still borrows the userName"
    );
    assert_eq!(
        (all[4].resource_type.as_str(), all[4].detail.as_str()),
        ("Config", "renamed from \"Okta\" to \"Okta EU\"")
    );
    assert_eq!(all[0].actor_admin, "", "IdP requests have no admin");

    // `actor` matches the admin exactly: only this tenant's, only that admin's.
    let by_ada = query(
        &mut admin,
        AuditQueryRequest {
            actor: ADA.into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        operations(&by_ada),
        vec!["admin.token.issue", "license.assign", "admin.config.update"]
    );
    let by_operator = query(
        &mut admin,
        AuditQueryRequest {
            actor: OPERATOR.into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        operations(&by_operator),
        vec!["admin.license.auto_assign.enable"]
    );
    let by_ada_prefix = query(
        &mut admin,
        AuditQueryRequest {
            actor: "admin:a1".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(by_ada_prefix.is_empty(), "actor is an exact match");
    // Configuration and token ids still match as before.
    let by_token = query(
        &mut admin,
        AuditQueryRequest {
            actor: "tok1".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(operations(&by_token), vec!["create", "patch"]);
    let by_config = query(
        &mut admin,
        AuditQueryRequest {
            actor: "cfg1".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_config.len(), 5, "everything but the manual assignment");

    // "admin." is every admin action and nothing else; other names stay exact.
    let admin_actions = query(
        &mut admin,
        AuditQueryRequest {
            operation: "admin.".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        operations(&admin_actions),
        vec![
            "admin.token.issue",
            "admin.license.auto_assign.enable",
            "admin.config.update"
        ]
    );
    let newest_admin_actions = query(
        &mut admin,
        AuditQueryRequest {
            operation: "admin.".into(),
            actor: ADA.into(),
            newest_first: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        operations(&newest_admin_actions),
        vec!["admin.config.update", "admin.token.issue"]
    );
    let issues = query(
        &mut admin,
        AuditQueryRequest {
            operation: "admin.token.issue".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(targets(&issues), vec!["tok2"]);
    let by_target = query(
        &mut admin,
        AuditQueryRequest {
            target: "okta eu".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(operations(&by_target), vec!["admin.config.update"]);
    let family = admin
        .query(AuditQueryRequest {
            tenant_id: TENANT.into(),
            operation: "admin.token.".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(family.code(), Code::InvalidArgument);
    assert!(
        family.message().contains("\"admin.\""),
        "{}",
        family.message()
    );

    // Admin actions are not SCIM requests: the failure rate does not count them.
    let rate = admin
        .failure_rate(FailureRateRequest {
            tenant_id: TENANT.into(),
            from: "2026-03-01T00:00:00Z".into(),
            to: "2026-03-02T00:00:00Z".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rate.buckets.len(), 1);
    assert_eq!(rate.buckets[0].requests, 2);

    app.stop().await;
    env.cleanup().await;
}

/// One record by sequence, only ever the asking tenant's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_record_answers_only_for_the_tenants_own_records() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let own = env
        .append(&admin_action(TENANT, "cfg1", ADA, 0, config_renamed()))
        .await;
    let others = env
        .append(&user_created(OTHER_TENANT, "zed", "zed@fabrikam.com", 1))
        .await;
    env.wait_for_checkpoint(others).await;
    let mut admin = client(&app).await;

    let record = admin
        .get_record(GetRecordRequest {
            tenant_id: TENANT.into(),
            sequence: own,
        })
        .await
        .unwrap()
        .into_inner();
    let listed = query(&mut admin, AuditQueryRequest::default()).await;
    assert_eq!(vec![record], listed, "the same record as the query's");

    for (tenant, sequence) in [
        (TENANT, others),
        (OTHER_TENANT, own),
        (TENANT, others + 100),
    ] {
        let missing = admin
            .get_record(GetRecordRequest {
                tenant_id: tenant.into(),
                sequence,
            })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound, "{tenant} {sequence}");
        assert!(missing.message().contains(&sequence.to_string()));
    }
    let zed = admin
        .get_record(GetRecordRequest {
            tenant_id: OTHER_TENANT.into(),
            sequence: others,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(zed.target_name, "zed@fabrikam.com");

    for invalid in [
        GetRecordRequest {
            tenant_id: TENANT.into(),
            sequence: 0,
        },
        GetRecordRequest {
            tenant_id: " ".into(),
            sequence: own,
        },
        GetRecordRequest {
            tenant_id: TENANT.into(),
            sequence: u64::MAX,
        },
    ] {
        let error = admin.get_record(invalid.clone()).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{invalid:?}");
    }
    let mut anonymous = AuditQueryClient::new(app.channel().await);
    let unauthenticated = anonymous
        .get_record(GetRecordRequest {
            tenant_id: TENANT.into(),
            sequence: own,
        })
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);

    app.stop().await;
    env.cleanup().await;
}

/// Walks every page of a query; returns the sequences in the order received.
async fn all_pages(client: &mut Client, request: AuditQueryRequest) -> (Vec<u64>, usize) {
    let mut sequences = Vec::new();
    let mut pages = 0;
    let mut page_token = String::new();
    loop {
        let response = client
            .query(AuditQueryRequest {
                page_token: page_token.clone(),
                ..request.clone()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(response.records.len() <= usize::try_from(request.page_size).unwrap());
        sequences.extend(response.records.iter().map(|record| record.sequence));
        if response.next_page_token.is_empty() {
            return (sequences, pages);
        }
        page_token = response.next_page_token;
    }
}

/// Newest-first pages walk every record once, in descending order, and a page token continues
/// only the order that issued it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newest_first_pages_walk_down_and_tokens_keep_their_order() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    for index in 0..23 {
        let id = format!("user{index:02}");
        env.append(&user_created(TENANT, &id, &id, index)).await;
        if index % 5 == 0 {
            // Another tenant's rows in between must not end or shift a page.
            env.append(&user_created(OTHER_TENANT, &id, &id, index))
                .await;
        }
    }
    let last = env
        .append(&admin_action(TENANT, "cfg1", ADA, 30, config_renamed()))
        .await;
    env.wait_for_checkpoint(last).await;
    let mut admin = client(&app).await;

    let oldest_first: Vec<u64> = query(&mut admin, AuditQueryRequest::default())
        .await
        .iter()
        .map(|record| record.sequence)
        .collect();
    assert_eq!(oldest_first.len(), 24);
    let newest_first = AuditQueryRequest {
        tenant_id: TENANT.into(),
        page_size: 5,
        newest_first: true,
        ..Default::default()
    };
    let (descending, pages) = all_pages(&mut admin, newest_first.clone()).await;
    assert_eq!(pages, 5);
    let mut expected = oldest_first.clone();
    expected.reverse();
    assert_eq!(descending, expected, "every record once, newest first");

    // With a filter and a page that ends exactly at the oldest match.
    let (creates, pages) = all_pages(
        &mut admin,
        AuditQueryRequest {
            operation: "create".into(),
            page_size: 23,
            ..newest_first.clone()
        },
    )
    .await;
    assert_eq!((creates.len(), pages), (23, 1));
    assert!(creates.windows(2).all(|pair| pair[0] > pair[1]));

    // A token continues only the order it came from.
    let ascending_page = admin
        .query(AuditQueryRequest {
            newest_first: false,
            ..newest_first.clone()
        })
        .await
        .unwrap()
        .into_inner();
    let descending_page = admin
        .query(newest_first.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        descending_page.records[0].operation, "admin.config.update",
        "the newest record first"
    );
    let refused = admin
        .query(AuditQueryRequest {
            page_token: ascending_page.next_page_token.clone(),
            ..newest_first.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("page_token"),
        "{}",
        refused.message()
    );
    let refused = admin
        .query(AuditQueryRequest {
            page_token: descending_page.next_page_token.clone(),
            newest_first: false,
            ..newest_first.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);

    app.stop().await;
    env.cleanup().await;
}
