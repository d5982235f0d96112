//! Many user events decided in one batch: what the license service stores and announces must
//! be what deciding them one at a time in stream order gives (`arrivals.rs` in the crate).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ADMIN_TOKEN, LicenseEnv as _, TestEnv, eventually};
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload};
use scim_rpc::license::UpsertPoolRequest;
use scim_rpc::license::license_admin_client::LicenseAdminClient;
use serde_json::json;
use service_kit::admin_auth::OperatorCredential;

const TENANT: &str = "tenant1";
const OTHER_TENANT: &str = "tenant2";

fn user(index: usize) -> String {
    format!("user{index:03}")
}

async fn holders(env: &TestEnv, pool_id: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT user_id FROM assignments WHERE pool_id = $1 ORDER BY assignment_order",
    )
    .bind(pool_id)
    .fetch_all(&env.db)
    .await
    .unwrap()
}

async fn queue(env: &TestEnv, pool_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT user_id FROM denials WHERE pool_id = $1 ORDER BY queue_position")
        .bind(pool_id)
        .fetch_all(&env.db)
        .await
        .unwrap()
}

async fn seats_used(env: &TestEnv, pool_id: &str) -> i32 {
    sqlx::query_scalar("SELECT seats_used FROM pools WHERE id = $1")
        .bind(pool_id)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

/// Two pools of one configuration (three seats and one), a second tenant reusing the same
/// user ids, a user seen twice, a deactivation and a deletion handing seats to the queue, a
/// system actor without a configuration, and a user moving to the pools' configuration: all
/// appended before the service starts, so its consumer takes them in as few batches as it can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_decides_as_one_user_at_a_time_would() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut admin = LicenseAdminClient::with_interceptor(
        app.channel().await,
        OperatorCredential::new(ADMIN_TOKEN).unwrap(),
    );
    let mut pool = async |tenant: &str, config: &str, license_type: &str, seats: u32| {
        admin
            .upsert_pool(UpsertPoolRequest {
                tenant_id: tenant.into(),
                config_id: config.into(),
                application_instance: "crm".into(),
                license_type: license_type.into(),
                seats,
                auto_assign: true,
            })
            .await
            .unwrap()
            .into_inner()
            .id
    };
    // Pool ids are time-ordered: `a` sorts before `b`, the order decisions visit them in.
    let a = pool(TENANT, "cfg1", "standard", 3).await;
    let b = pool(TENANT, "cfg1", "premium", 1).await;
    let c = pool(OTHER_TENANT, "cfg2", "standard", 1).await;
    app.stop().await;

    env.create_user(TENANT, "cfg1", &user(1), true).await;
    env.create_user(OTHER_TENANT, "cfg2", &user(1), true).await;
    env.create_user(TENANT, "cfg1", &user(2), true).await;
    env.create_user(TENANT, "other-config", &user(3), true)
        .await;
    // user002 again: holds a seat in `a`, waits in the full `b`; nothing changes.
    env.set_active(TENANT, "cfg1", &user(2), true).await;
    env.create_user(TENANT, "cfg1", &user(4), true).await;
    env.create_user(OTHER_TENANT, "cfg2", &user(2), true).await;
    env.create_user(TENANT, "cfg1", &user(5), true).await;
    // Frees a seat in each pool: `a`'s goes to user005, `b`'s to user002 (waiting longest).
    env.set_active(TENANT, "cfg1", &user(1), false).await;
    // A system actor names no configuration, and user006 has none on record.
    let system = Actor {
        system: Some("directory-service".into()),
        ..Actor::default()
    };
    let event = EventEnvelope::new(
        TENANT,
        AggregateKind::User,
        user(6),
        system,
        "req-system".to_owned(),
        EventPayload::UserCreated {
            resource: json!({"id": user(6), "userName": "user006@example.com"}),
        },
    );
    env.store.append(&event, 0).await.unwrap();
    env.create_user(TENANT, "cfg1", &user(7), true).await;
    // user003 moves to cfg1, and user001 comes back: both join the back of both queues.
    env.set_active(TENANT, "cfg1", &user(3), true).await;
    env.set_active(TENANT, "cfg1", &user(1), true).await;
    // Deleting user004 frees its seat in `a` for user007 and takes it out of `b`'s queue.
    let last = env
        .user_event(
            TENANT,
            "cfg1",
            &user(4),
            EventPayload::UserDeleted {
                user_name: "user004@example.com".into(),
            },
        )
        .await;

    let app = env.start().await;
    env.wait_for_checkpoint(last).await;
    assert_eq!(
        env.scalar("SELECT count(*) FROM quarantine").await,
        0,
        "every event applied, none set aside"
    );

    assert_eq!(holders(&env, &a).await, [user(2), user(5), user(7)]);
    assert_eq!(holders(&env, &b).await, [user(2)]);
    assert_eq!(holders(&env, &c).await, [user(1)]);
    assert_eq!(queue(&env, &a).await, [user(3), user(1)]);
    assert_eq!(queue(&env, &b).await, [user(5), user(7), user(3), user(1)]);
    assert_eq!(queue(&env, &c).await, [user(2)]);
    assert_eq!(
        (
            seats_used(&env, &a).await,
            seats_used(&env, &b).await,
            seats_used(&env, &c).await
        ),
        (3, 1, 1)
    );
    let config_of_6: Option<String> =
        sqlx::query_scalar("SELECT config_id FROM users WHERE tenant_id = $1 AND user_id = $2")
            .bind(TENANT)
            .bind(user(6))
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(config_of_6, None);

    eventually(|| async { env.scalar("SELECT count(*) FROM outbox").await == 0 }).await;
    // (tenant, user, decisions announced, the last of them and its pool)
    type Announced<'a> = (&'a str, usize, usize, Option<(&'a str, &'a str)>);
    let expected: [Announced<'_>; 9] = [
        (TENANT, 1, 6, Some(("LicenseDenied", &b))),
        (TENANT, 2, 3, Some(("LicenseAssigned", &b))),
        (TENANT, 3, 2, Some(("LicenseDenied", &b))),
        (TENANT, 4, 3, Some(("LicenseReleased", &a))),
        (TENANT, 5, 3, Some(("LicenseAssigned", &a))),
        (TENANT, 6, 0, None),
        (TENANT, 7, 3, Some(("LicenseAssigned", &a))),
        (OTHER_TENANT, 1, 1, Some(("LicenseAssigned", &c))),
        (OTHER_TENANT, 2, 1, Some(("LicenseDenied", &c))),
    ];
    for (tenant, index, count, last) in expected {
        let id = user(index);
        assert_eq!(
            env.license_event_count(tenant, &id).await,
            count,
            "decisions announced for {tenant}/{id}"
        );
        let found = env.last_license_event(tenant, &id).await;
        let found = found.as_ref().map(|payload| {
            let change = match payload {
                EventPayload::LicenseAssigned(change)
                | EventPayload::LicenseDenied(change)
                | EventPayload::LicenseReleased(change) => change,
                other => panic!("not a license decision: {other:?}"),
            };
            (payload.type_name(), change.pool_id.as_str())
        });
        assert_eq!(found, last, "last decision for {tenant}/{id}");
    }
    app.stop().await;
    env.cleanup().await;
}
