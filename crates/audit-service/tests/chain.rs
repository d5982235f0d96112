//! The provisioning log's hash chain against real NATS and Postgres: what the projection
//! writes verifies, and each way of tampering with the rows by hand (as the superuser, with
//! the append-only trigger disabled) is reported at the record it broke, while the other
//! tenant's chain still verifies. And the service's own database role cannot tamper at all.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use audit_service::Application;
use common::{ADMIN_TOKEN, AuditEnv as _, RunningApp, TestEnv, eventually};
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload};
use scim_rpc::audit::audit_query_client::AuditQueryClient;
use scim_rpc::audit::{ChainBreak, VerifyRequest, VerifyResponse};
use scim_rpc::quarantine::RetryQuarantinedRequest;
use scim_rpc::quarantine::quarantine_admin_client::QuarantineAdminClient;
use serde_json::json;
use service_kit::admin_auth::OperatorCredential;

const TENANT: &str = "chain-tenant";
const OTHER_TENANT: &str = "other-tenant";
const RUNTIME_ROLE: &str = "scim_audit_writer";

fn user_created(tenant: &str, id: &str) -> EventEnvelope {
    let actor = Actor {
        config_id: Some("cfg1".into()),
        token_id: Some("tok1".into()),
        system: None,
        admin: None,
    };
    let resource = json!({"id": id, "userName": format!("{id}@example.com"), "active": true});
    EventEnvelope::new(
        tenant,
        AggregateKind::User,
        id,
        actor,
        format!("req-{id}"),
        EventPayload::UserCreated { resource },
    )
}

/// Five users for each tenant, interleaved, appended before the service starts so that the
/// first batch links several rows of each tenant; then three more for `TENANT` in a later
/// batch, linked onto the stored head. Returns `TENANT`'s sequences in order.
async fn seed(env: &TestEnv) -> (RunningApp, Vec<u64>) {
    let mut sequences = Vec::new();
    let mut last = 0;
    for index in 0..5 {
        sequences.push(
            env.append(&user_created(TENANT, &format!("u{index}")))
                .await,
        );
        last = env
            .append(&user_created(OTHER_TENANT, &format!("o{index}")))
            .await;
    }
    let app = env.start().await;
    env.wait_for_checkpoint(last).await;
    for index in 5..8 {
        sequences.push(
            env.append(&user_created(TENANT, &format!("u{index}")))
                .await,
        );
    }
    env.wait_for_checkpoint(*sequences.last().unwrap()).await;
    (app, sequences)
}

async fn verify(app: &RunningApp, tenant: &str) -> VerifyResponse {
    let mut client = AuditQueryClient::with_interceptor(
        app.channel().await,
        OperatorCredential::new(ADMIN_TOKEN).unwrap(),
    );
    client
        .verify(VerifyRequest {
            tenant_id: tenant.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Runs `statements` as the superuser with the append-only trigger off, as an intruder
/// who owns the database would.
async fn tamper(env: &TestEnv, statements: &[&str]) {
    let mut tx = env.db.begin().await.unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete")
        .execute(&mut *tx)
        .await
        .unwrap();
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(*statement))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_or_delete")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn assert_broken(response: &VerifyResponse, sequence: u64, reason: ChainBreak, verified: u64) {
    assert!(!response.ok, "{response:?}");
    assert_eq!(response.broken_sequence, sequence, "{response:?}");
    assert_eq!(response.reason(), reason, "{response:?}");
    assert_eq!(response.records_verified, verified, "{response:?}");
    assert!(
        response.detail.contains(&sequence.to_string()),
        "{response:?}"
    );
}

async fn assert_other_tenant_intact(app: &RunningApp) {
    let other = verify(app, OTHER_TENANT).await;
    assert!(other.ok, "{other:?}");
    assert_eq!(other.records_verified, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_written_by_the_projection_verify_also_after_a_replay() {
    let env = TestEnv::new().await;
    let (app, sequences) = seed(&env).await;
    let response = verify(&app, TENANT).await;
    assert!(response.ok, "{response:?}");
    assert_eq!(response.records_verified, 8);
    assert_eq!(response.head_position, 8);
    assert_eq!(response.head_hash.len(), 64);
    assert_eq!(response.unchained_records, 0);
    assert_other_tenant_intact(&app).await;
    let nobody = verify(&app, "no-such-tenant").await;
    assert!(nobody.ok && nobody.records_verified == 0, "{nobody:?}");
    app.stop().await;

    // Replay the whole stream from scratch: nothing is linked twice.
    sqlx::query("UPDATE checkpoint SET last_sequence = 0")
        .execute(&env.db)
        .await
        .unwrap();
    let durable = env.namespace.consumer_name("audit");
    env.store.stream().delete_consumer(&durable).await.unwrap();
    let app = env.start().await;
    let more = env.append(&user_created(TENANT, "after-replay")).await;
    env.wait_for_checkpoint(more).await;
    let replayed = verify(&app, TENANT).await;
    assert!(replayed.ok, "{replayed:?}");
    assert_eq!(replayed.records_verified, 9);
    assert_eq!(
        env.scalar("SELECT count(*) FROM audit_log WHERE chain_position IS NULL")
            .await,
        0
    );
    assert!(more > *sequences.last().unwrap());
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_altered_field_breaks_the_chain_at_its_record() {
    let env = TestEnv::new().await;
    let (app, sequences) = seed(&env).await;
    let altered = sequences[2];
    tamper(
        &env,
        &[&format!(
            "UPDATE audit_log SET actor_admin = 'operator' WHERE sequence = {altered}"
        )],
    )
    .await;
    assert_broken(
        &verify(&app, TENANT).await,
        altered,
        ChainBreak::HashMismatch,
        2,
    );
    assert_other_tenant_intact(&app).await;
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_record_breaks_the_chain_at_the_next() {
    let env = TestEnv::new().await;
    let (app, sequences) = seed(&env).await;
    tamper(
        &env,
        &[&format!(
            "DELETE FROM audit_log WHERE sequence = {}",
            sequences[5]
        )],
    )
    .await;
    assert_broken(
        &verify(&app, TENANT).await,
        sequences[6],
        ChainBreak::MissingPredecessor,
        5,
    );
    assert_other_tenant_intact(&app).await;
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_records_break_the_chain() {
    let env = TestEnv::new().await;
    let (app, sequences) = seed(&env).await;
    // Two records trade their contents: the log now tells the events in another order.
    let (first, second) = (sequences[1], sequences[3]);
    let columns = "event_id, occurred_at, operation, outcome, resource_type, target_id, \
                   target_name, actor_config_id, actor_token_id, actor_admin, correlation_id, \
                   status, detail, event";
    tamper(
        &env,
        &[
            "CREATE TEMPORARY TABLE swapped ON COMMIT DROP AS SELECT * FROM audit_log",
            // The event ids are unique: park one first.
            &format!("UPDATE audit_log SET event_id = gen_random_uuid() WHERE sequence = {first}"),
            &format!(
                "UPDATE audit_log SET ({columns}) = (SELECT {columns} FROM swapped WHERE sequence = {first}) \
                 WHERE sequence = {second}"
            ),
            &format!(
                "UPDATE audit_log SET ({columns}) = (SELECT {columns} FROM swapped WHERE sequence = {second}) \
                 WHERE sequence = {first}"
            ),
        ],
    )
    .await;
    let moved = format!("SELECT target_id FROM audit_log WHERE sequence = {first}");
    let moved: String = sqlx::query_scalar(sqlx::AssertSqlSafe(moved))
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(moved, "u3");
    assert_broken(
        &verify(&app, TENANT).await,
        first,
        ChainBreak::HashMismatch,
        1,
    );
    assert_other_tenant_intact(&app).await;
    app.stop().await;
    env.cleanup().await;
}

/// A second record claiming a position already taken (the unique index dropped first) is
/// reported as breaking the order, even when it copies the first one's hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_position_breaks_the_order() {
    let env = TestEnv::new().await;
    let (app, sequences) = seed(&env).await;
    let copied = sequences[2];
    tamper(
        &env,
        &[
            "DROP INDEX audit_log_chain_idx",
            &format!(
                "INSERT INTO audit_log SELECT sequence + 1000000, gen_random_uuid(), tenant_id, \
                 occurred_at, operation, outcome, resource_type, target_id, target_name, \
                 actor_config_id, actor_token_id, correlation_id, status, detail, event, \
                 actor_admin, chain_position, record_hash \
                 FROM audit_log WHERE sequence = {copied}"
            ),
        ],
    )
    .await;
    assert_broken(
        &verify(&app, TENANT).await,
        copied + 1_000_000,
        ChainBreak::OrderBroken,
        3,
    );
    assert_other_tenant_intact(&app).await;
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_and_forged_log_fails() {
    let env = TestEnv::new().await;
    let (app, sequences) = seed(&env).await;
    let forged_columns = "sequence, event_id, tenant_id, occurred_at, operation, outcome, \
                          resource_type, target_id, target_name, actor_config_id, \
                          actor_token_id, actor_admin, correlation_id, status, detail, event";
    // Everything goes; the other tenant's rows come back verbatim, this tenant's without
    // links, as a hand-written INSERT would put them.
    tamper(
        &env,
        &[
            "CREATE TABLE saved AS SELECT * FROM audit_log",
            "TRUNCATE audit_log",
            &format!(
                "INSERT INTO audit_log SELECT * FROM saved WHERE tenant_id = '{OTHER_TENANT}'"
            ),
            &format!(
                "INSERT INTO audit_log ({forged_columns}) SELECT {forged_columns} FROM saved \
                 WHERE tenant_id = '{TENANT}'"
            ),
        ],
    )
    .await;
    assert_broken(
        &verify(&app, TENANT).await,
        sequences[0],
        ChainBreak::Unchained,
        0,
    );
    assert_other_tenant_intact(&app).await;

    // Forged again, now with chain positions and made-up hashes.
    tamper(
        &env,
        &[
            &format!("DELETE FROM audit_log WHERE tenant_id = '{TENANT}'"),
            &format!(
                "INSERT INTO audit_log ({forged_columns}, chain_position, record_hash) \
                 SELECT {forged_columns}, row_number() OVER (ORDER BY sequence), \
                        sha256(convert_to(event::text, 'UTF8')) \
                 FROM saved WHERE tenant_id = '{TENANT}'"
            ),
        ],
    )
    .await;
    assert_broken(
        &verify(&app, TENANT).await,
        sequences[0],
        ChainBreak::HashMismatch,
        0,
    );
    assert_other_tenant_intact(&app).await;
    app.stop().await;
    env.cleanup().await;
}

/// An event the projection quarantined and an operator retried later is appended at its
/// tenant's head, after records with higher sequences, and the chain still verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_quarantined_event_extends_the_chain() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    // The database refuses this one user's row until the test lifts it: the event is the
    // projection's to quarantine.
    for statement in [
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.target_id = 'poison' AND NEW.operation = 'create' THEN RAISE EXCEPTION 'refused for the test'; END IF; \
         RETURN NEW; END $$",
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON audit_log \
         FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
    ] {
        sqlx::query(statement).execute(&env.db).await.unwrap();
    }
    env.append(&user_created(TENANT, "u0")).await;
    let poison = env.append(&user_created(TENANT, "poison")).await;
    env.append(&user_created(TENANT, "u1")).await;
    let last = env.append(&user_created(TENANT, "u2")).await;
    env.wait_for_checkpoint(last).await;
    eventually(|| async {
        env.scalar("SELECT count(*) FROM quarantine").await == 1
            && env
                .scalar("SELECT count(*) FROM audit_log WHERE target_id = 'u2'")
                .await
                == 1
    })
    .await;
    sqlx::query("DROP TRIGGER refuse_poison ON audit_log")
        .execute(&env.db)
        .await
        .unwrap();

    let mut quarantine = QuarantineAdminClient::with_interceptor(
        app.channel().await,
        OperatorCredential::new(ADMIN_TOKEN).unwrap(),
    );
    let results = quarantine
        .retry(RetryQuarantinedRequest { sequence: poison })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(results.iter().all(|result| result.applied), "{results:?}");
    let (position, highest_sequence_before): (i64, i64) = sqlx::query_as(
        "SELECT chain_position, (SELECT max(sequence) FROM audit_log WHERE tenant_id = $1 \
                                 AND chain_position < retried.chain_position) \
         FROM audit_log AS retried WHERE target_id = 'poison' AND operation = 'create'",
    )
    .bind(TENANT)
    .fetch_one(&env.db)
    .await
    .unwrap();
    let records = env
        .scalar("SELECT count(*) FROM audit_log WHERE tenant_id = 'chain-tenant'")
        .await;
    assert_eq!(position, records, "appended at the head");
    assert!(highest_sequence_before > i64::try_from(poison).unwrap());
    let response = verify(&app, TENANT).await;
    assert!(response.ok, "{response:?}");
    assert_eq!(i64::try_from(response.records_verified).unwrap(), records);
    app.stop().await;
    env.cleanup().await;
}

/// Through the service's own pool (acting as its runtime role) the log can be read and
/// appended, and nothing else: not truncated, not rewritten, not deleted from, its trigger
/// not disabled. The projection and verify work through the same pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_role_can_only_read_and_append_the_log() {
    let env = TestEnv::new().await;
    let app = Application::build_as(env.config("audit-service"), Some(RUNTIME_ROLE.to_owned()))
        .await
        .unwrap();
    let pool = app.database().clone();
    let app = RunningApp::spawn(app.grpc_addr(), app.metrics_addr(), |stop| {
        app.run_until_stopped(stop)
    });
    let last = env.append(&user_created(TENANT, "alice")).await;
    env.wait_for_checkpoint(last).await;
    let response = verify(&app, TENANT).await;
    assert!(
        response.ok && response.records_verified == 1,
        "{response:?}"
    );

    let current_user: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(current_user, RUNTIME_ROLE);
    for statement in [
        "TRUNCATE audit_log",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET detail = 'tampered'",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete",
        "DELETE FROM audit_chain_origin",
        "CREATE TABLE intruder (id int)",
    ] {
        let error = sqlx::query(statement).execute(&pool).await.unwrap_err();
        let code = error
            .as_database_error()
            .and_then(|error| error.code())
            .map(|code| code.into_owned());
        // 42501 insufficient_privilege; the trigger (P0001) is never reached.
        assert_eq!(code.as_deref(), Some("42501"), "{statement}: {error}");
    }
    assert_eq!(env.scalar("SELECT count(*) FROM audit_log").await, 1);
    app.stop().await;
    env.cleanup().await;
}
