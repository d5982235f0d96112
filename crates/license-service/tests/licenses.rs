//! The license service against real NATS and Postgres: pools, seat decisions, waiting lists
//! and the events it publishes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ADMIN_TOKEN, LicenseEnv as _, TestEnv, eventually, http_get};
use scim_events::EventPayload;
use scim_rpc::license::license_admin_client::LicenseAdminClient;
use scim_rpc::license::{
    AssignLicenseRequest, GetPoolRequest, ListPoolsRequest, Pool, RevokeLicenseRequest,
    UpsertPoolRequest, UserLicensesRequest,
};
use service_kit::admin_auth::OperatorCredential;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Client = LicenseAdminClient<InterceptedService<Channel, OperatorCredential>>;

const TENANT: &str = "tenant1";
const CONFIG: &str = "cfg1";

async fn client(app: &common::RunningApp) -> Client {
    LicenseAdminClient::with_interceptor(
        app.channel().await,
        OperatorCredential::new(ADMIN_TOKEN).unwrap(),
    )
}

async fn upsert_pool(client: &mut Client, seats: u32, auto_assign: bool) -> Pool {
    client
        .upsert_pool(UpsertPoolRequest {
            tenant_id: TENANT.into(),
            config_id: CONFIG.into(),
            application_instance: "crm".into(),
            license_type: "standard".into(),
            seats,
            auto_assign,
        })
        .await
        .unwrap()
        .into_inner()
}

async fn pool(client: &mut Client, pool_id: &str) -> Pool {
    client
        .get_pool(GetPoolRequest {
            pool_id: pool_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn licensed_users(env: &TestEnv) -> Vec<String> {
    sqlx::query_scalar("SELECT user_id FROM assignments ORDER BY user_id")
        .fetch_all(&env.db)
        .await
        .unwrap()
}

fn user(index: usize) -> String {
    format!("user{index:03}")
}

/// Fifteen users against ten seats, with two replicas on one database and
/// namespace: exactly the first ten in stream order get a seat, the rest are
/// denied once and queued; a freed seat or a grown pool serves the queue in
/// order; a restart re-applies nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_are_assigned_first_come_first_served_and_never_over_assigned() {
    let env = TestEnv::new().await;
    let first = env.start().await;
    let second = env.start().await;
    let mut admin = client(&first).await;
    let pool_id = upsert_pool(&mut admin, 10, true).await.id;

    let mut last = 0;
    for index in 1..=15 {
        last = env.create_user(TENANT, CONFIG, &user(index), true).await;
    }
    env.wait_for_checkpoint(last).await;

    let expected: Vec<String> = (1..=10).map(user).collect();
    assert_eq!(
        licensed_users(&env).await,
        expected,
        "the first ten in stream order"
    );
    let current = pool(&mut admin, &pool_id).await;
    assert_eq!((current.seats, current.seats_used), (10, 10));
    assert_eq!(env.scalar("SELECT count(*) FROM denials").await, 5);

    // Decisions reach the stream on the license subjects.
    for index in 1..=15 {
        let id = user(index);
        eventually(|| async { env.last_license_event(TENANT, &id).await.is_some() }).await;
        match env.last_license_event(TENANT, &id).await {
            Some(EventPayload::LicenseAssigned(change)) if index <= 10 => {
                assert_eq!(
                    (change.pool_id.as_str(), change.source.as_str()),
                    (pool_id.as_str(), "auto")
                );
            }
            Some(EventPayload::LicenseDenied(change)) if index > 10 => {
                assert_eq!(change.reason.as_deref(), Some("pool exhausted"));
            }
            other => panic!("unexpected license event for {id}: {other:?}"),
        }
    }

    // An update of an already-denied user while the pool is full is not
    // announced again.
    let update = env.set_active(TENANT, CONFIG, &user(12), true).await;
    env.wait_for_checkpoint(update).await;
    eventually(|| async { env.scalar("SELECT count(*) FROM outbox").await == 0 }).await;
    assert_eq!(env.license_event_count(TENANT, &user(12)).await, 1);

    // Deactivating user 3 frees a seat, which goes at once to the user waiting
    // longest (11), not to whoever happens to change next.
    let deactivate = env.set_active(TENANT, CONFIG, &user(3), false).await;
    env.wait_for_checkpoint(deactivate).await;
    assert_eq!(pool(&mut admin, &pool_id).await.seats_used, 10);
    let id = user(3);
    eventually(|| async {
        matches!(
            env.last_license_event(TENANT, &id).await,
            Some(EventPayload::LicenseReleased(change)) if change.reason.as_deref() == Some("user deactivated")
        )
    })
    .await;
    let id = user(11);
    eventually(|| async {
        matches!(
            env.last_license_event(TENANT, &id).await,
            Some(EventPayload::LicenseAssigned(_))
        )
    })
    .await;
    let mut expected: Vec<String> = (1..=11).filter(|index| *index != 3).map(user).collect();
    assert_eq!(licensed_users(&env).await, expected);

    // A newcomer joins the back of the queue.
    let newcomer = env.create_user(TENANT, CONFIG, &user(16), true).await;
    env.wait_for_checkpoint(newcomer).await;
    assert_eq!(licensed_users(&env).await, expected);

    // Reactivation retries and, with the pool full, is denied (announced again).
    let reactivate = env.set_active(TENANT, CONFIG, &user(3), true).await;
    env.wait_for_checkpoint(reactivate).await;
    let id = user(3);
    eventually(|| async {
        matches!(
            env.last_license_event(TENANT, &id).await,
            Some(EventPayload::LicenseDenied(_))
        )
    })
    .await;

    // Deletion releases with its own reason; the seat goes to the next in
    // line (12), and a waiting user who is deactivated leaves the queue (13).
    let leave = env.set_active(TENANT, CONFIG, &user(13), false).await;
    env.wait_for_checkpoint(leave).await;
    let delete = env
        .user_event(
            TENANT,
            CONFIG,
            &user(11),
            EventPayload::UserDeleted {
                user_name: "user011@example.com".into(),
            },
        )
        .await;
    env.wait_for_checkpoint(delete).await;
    let id = user(11);
    eventually(|| async {
        matches!(
            env.last_license_event(TENANT, &id).await,
            Some(EventPayload::LicenseReleased(change)) if change.reason.as_deref() == Some("user deleted")
        )
    })
    .await;
    expected.retain(|id| *id != user(11));
    expected.push(user(12));
    expected.sort();
    assert_eq!(licensed_users(&env).await, expected);
    assert_eq!(pool(&mut admin, &pool_id).await.seats_used, 10);

    // Growing the pool serves the queue in order: 14, then 15.
    upsert_pool(&mut admin, 12, true).await;
    expected.extend([user(14), user(15)]);
    expected.sort();
    assert_eq!(licensed_users(&env).await, expected);
    assert_eq!(pool(&mut admin, &pool_id).await.seats_used, 12);

    let assignments_before = licensed_users(&env).await;
    let denials_before = env.scalar("SELECT count(*) FROM denials").await;
    first.stop().await;
    second.stop().await;
    eventually(|| async { env.scalar("SELECT count(*) FROM outbox").await == 0 }).await;

    // A restart resumes after the checkpoint: nothing is decided twice.
    let restarted = env.start().await;
    let sentinel = env
        .create_user(TENANT, "other-config", "sentinel", true)
        .await;
    env.wait_for_checkpoint(sentinel).await;
    assert_eq!(licensed_users(&env).await, assignments_before);
    assert_eq!(
        env.scalar("SELECT count(*) FROM denials").await,
        denials_before
    );
    assert_eq!(env.scalar("SELECT seats_used::bigint FROM pools").await, 12);
    assert_eq!(env.scalar("SELECT count(*) FROM assignments").await, 12);
    restarted.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_without_auto_assign_assign_nothing() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut admin = client(&app).await;
    let pool_id = upsert_pool(&mut admin, 5, false).await.id;
    let mut last = 0;
    for index in 1..=3 {
        last = env.create_user(TENANT, CONFIG, &user(index), true).await;
    }
    env.wait_for_checkpoint(last).await;
    assert_eq!(pool(&mut admin, &pool_id).await.seats_used, 0);
    assert_eq!(env.scalar("SELECT count(*) FROM assignments").await, 0);
    assert_eq!(env.scalar("SELECT count(*) FROM denials").await, 0);
    assert_eq!(env.scalar("SELECT count(*) FROM users").await, 3);
    app.stop().await;
    assert!(env.last_license_event(TENANT, &user(1)).await.is_none());
    env.cleanup().await;
}

/// Many concurrent manual assignments through two replicas: exactly as many
/// succeed as there are seats; the rest fail with FAILED_PRECONDITION.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_assignment_never_over_assigns_and_is_idempotent() {
    let env = TestEnv::new().await;
    let first = env.start().await;
    let second = env.start().await;
    let mut admin = client(&first).await;
    let other = client(&second).await;
    let pool_id = upsert_pool(&mut admin, 5, false).await.id;

    let mut calls = Vec::new();
    for index in 0..20 {
        let mut client = if index % 2 == 0 {
            admin.clone()
        } else {
            other.clone()
        };
        let pool_id = pool_id.clone();
        calls.push(tokio::spawn(async move {
            client
                .assign_license(AssignLicenseRequest {
                    pool_id,
                    user_id: user(index),
                })
                .await
        }));
    }
    let mut granted = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(response) => {
                assert_eq!(response.into_inner().source, "manual");
                granted += 1;
            }
            Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}"),
        }
    }
    assert_eq!(granted, 5);
    assert_eq!(env.scalar("SELECT count(*) FROM assignments").await, 5);
    assert_eq!(pool(&mut admin, &pool_id).await.seats_used, 5);

    let holder: String =
        sqlx::query_scalar("SELECT user_id FROM assignments ORDER BY user_id LIMIT 1")
            .fetch_one(&env.db)
            .await
            .unwrap();
    // Assigning an existing holder again succeeds without taking a seat.
    let again = admin
        .assign_license(AssignLicenseRequest {
            pool_id: pool_id.clone(),
            user_id: holder.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.user_id, holder);
    assert_eq!(pool(&mut admin, &pool_id).await.seats_used, 5);

    let licenses = admin
        .user_licenses(UserLicensesRequest {
            tenant_id: TENANT.into(),
            user_id: holder.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(licenses.assignments.len(), 1);

    // Revoke frees the seat for someone else; revoking twice reports false.
    let revoke = RevokeLicenseRequest {
        pool_id: pool_id.clone(),
        user_id: holder.clone(),
    };
    assert!(
        admin
            .revoke_license(revoke.clone())
            .await
            .unwrap()
            .into_inner()
            .revoked
    );
    assert!(
        !admin
            .revoke_license(revoke)
            .await
            .unwrap()
            .into_inner()
            .revoked
    );
    let newcomer = admin
        .assign_license(AssignLicenseRequest {
            pool_id: pool_id.clone(),
            user_id: "latecomer".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(newcomer.source, "manual");
    let full = admin
        .assign_license(AssignLicenseRequest {
            pool_id: pool_id.clone(),
            user_id: "one-too-many".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(full.code(), Code::FailedPrecondition);

    // Manual decisions are published too.
    eventually(|| async {
        matches!(
            env.last_license_event(TENANT, "latecomer").await,
            Some(EventPayload::LicenseAssigned(change)) if change.source == "manual"
        )
    })
    .await;
    eventually(|| async {
        matches!(
            env.last_license_event(TENANT, &holder).await,
            Some(EventPayload::LicenseReleased(change)) if change.reason.as_deref() == Some("revoked by operator")
        )
    })
    .await;

    first.stop().await;
    second.stop().await;
    env.cleanup().await;
}

/// Shrinking a pool keeps its assignments but admits nobody new; the admin
/// API validates input, requires the operator credential and answers health
/// checks; the ops endpoint serves metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_contract() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut admin = client(&app).await;
    let pool_id = upsert_pool(&mut admin, 3, true).await.id;
    let mut last = 0;
    for index in 1..=3 {
        last = env.create_user(TENANT, CONFIG, &user(index), true).await;
    }
    env.wait_for_checkpoint(last).await;
    let shrunk = upsert_pool(&mut admin, 1, true).await;
    assert_eq!(shrunk.id, pool_id, "upsert updates the existing pool");
    assert_eq!((shrunk.seats, shrunk.seats_used), (1, 3));
    let late = env.create_user(TENANT, CONFIG, &user(4), true).await;
    env.wait_for_checkpoint(late).await;
    assert_eq!(pool(&mut admin, &pool_id).await.seats_used, 3);
    assert_eq!(env.scalar("SELECT count(*) FROM denials").await, 1);
    let manual = admin
        .assign_license(AssignLicenseRequest {
            pool_id: pool_id.clone(),
            user_id: user(4),
        })
        .await
        .unwrap_err();
    assert_eq!(manual.code(), Code::FailedPrecondition);

    // Deactivated users cannot be given a seat by hand.
    let off = env.set_active(TENANT, CONFIG, &user(1), false).await;
    env.wait_for_checkpoint(off).await;
    let inactive = admin
        .assign_license(AssignLicenseRequest {
            pool_id: pool_id.clone(),
            user_id: user(1),
        })
        .await
        .unwrap_err();
    assert_eq!(inactive.code(), Code::FailedPrecondition);

    let pools = admin
        .list_pools(ListPoolsRequest {
            tenant_id: TENANT.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .pools;
    assert_eq!(pools.len(), 1);
    assert_eq!(pools[0].seats_used, 2);
    let others = admin
        .list_pools(ListPoolsRequest {
            tenant_id: "someone-else".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .pools;
    assert!(others.is_empty());

    // The configuration's pool cannot be taken over from another tenant.
    let hijack = admin
        .upsert_pool(UpsertPoolRequest {
            tenant_id: "someone-else".into(),
            config_id: CONFIG.into(),
            application_instance: "crm".into(),
            license_type: "standard".into(),
            seats: 100,
            auto_assign: true,
        })
        .await
        .unwrap_err();
    assert_eq!(hijack.code(), Code::NotFound);

    let invalid = admin
        .upsert_pool(UpsertPoolRequest {
            tenant_id: TENANT.into(),
            config_id: CONFIG.into(),
            application_instance: " ".into(),
            license_type: "standard".into(),
            seats: 1,
            auto_assign: false,
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    let missing = admin
        .get_pool(GetPoolRequest {
            pool_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let bad_user = admin
        .assign_license(AssignLicenseRequest {
            pool_id: pool_id.clone(),
            user_id: "a.b".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_user.code(), Code::InvalidArgument);

    let mut anonymous = LicenseAdminClient::new(app.channel().await);
    let denied = anonymous
        .list_pools(ListPoolsRequest {
            tenant_id: TENANT.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::Unauthenticated);

    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel().await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "scim.license.v1.LicenseAdmin".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    let (status, _) = http_get(app.metrics_addr, "/readyz").await;
    assert_eq!(status, 200);
    let (status, body) = http_get(app.metrics_addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("scim_license_seats_assigned_total 3"),
        "{body}"
    );
    assert!(body.contains("scim_license_denials_total 1"), "{body}");
    assert!(
        body.contains("scim_consumer_events_applied_total"),
        "{body}"
    );

    app.stop().await;
    env.cleanup().await;
}
