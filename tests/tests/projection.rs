//! I5: the directory projection is idempotent and rebuildable from the stream.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use directory_service::projection::{Applied, DirectoryProjection, checkpoint_name};
use e2e::{TestStack, database_url, eventually, patch_body};
use event_store::consumer::{BatchHandler, ConsumerMetrics, ConsumerSettings};
use event_store::{EventStore, StoreSettings};
use scim_events::{AggregateKind, Namespace};
use serde_json::json;
use service_kit::checkpoint::read as read_checkpoint;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Everything the projection owns, in a canonical order.
async fn dump(pool: &PgPool) -> Vec<String> {
    let queries = [
        "SELECT tenant_id || '|' || id || '|' || user_name || '|' || active || '|' || resource::text || '|' || version || '|' || created || '|' || last_modified FROM users ORDER BY tenant_id, id",
        "SELECT tenant_id || '|' || user_id || '|' || value_lower || '|' || coalesce(type, '') || '|' || is_primary FROM user_emails ORDER BY 1",
        "SELECT tenant_id || '|' || id || '|' || display_name || '|' || resource::text || '|' || version FROM groups ORDER BY tenant_id, id",
        "SELECT tenant_id || '|' || group_id || '|' || member_id FROM group_members ORDER BY 1",
    ];
    let mut rows = Vec::new();
    for query in queries {
        let part: Vec<String> = sqlx::query_scalar(query).fetch_all(pool).await.unwrap();
        rows.push(format!("-- {} rows", part.len()));
        rows.extend(part);
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_changes_nothing_and_a_rebuild_equals_the_live_projection() {
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("rebuild").await.unwrap();
    let scim = stack.client(&tenant);
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(
            scim.create_user(&format!("r{i}@rebuild.test"))
                .await
                .unwrap(),
        );
    }
    let group = scim
        .post("/Groups", &json!({"displayName": "Everyone", "members": users.iter().map(|id| json!({"value": id})).collect::<Vec<_>>()}))
        .await
        .unwrap();
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    scim.patch(
        &format!("/Users/{}", users[0]),
        &patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await
    .unwrap();
    scim.patch(
        &format!("/Groups/{group_id}"),
        &patch_body(
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[1])}]),
        ),
    )
    .await
    .unwrap();
    scim.delete(&format!("/Users/{}", users[2])).await.unwrap();

    let live = service_kit::postgres::connect(&database_url(&stack.databases.directory), 4)
        .await
        .unwrap();
    let before = dump(&live).await;
    assert!(before.iter().any(|row| row.contains(&group_id)));

    // Redelivery: hand the projection the latest event of every aggregate again.
    let client = async_nats::connect(e2e::nats_url()).await.unwrap();
    let namespace = Namespace::new(stack.namespace.clone()).unwrap();
    let store = EventStore::connect(client, namespace.clone(), &StoreSettings::default())
        .await
        .unwrap();
    let mut again = Vec::new();
    for id in &users {
        if let Some(event) = store
            .load_last(&tenant.tenant_id, AggregateKind::User, id)
            .await
            .unwrap()
        {
            again.push(event);
        }
    }
    again.extend(
        store
            .load_last(&tenant.tenant_id, AggregateKind::Group, &group_id)
            .await
            .unwrap(),
    );
    again.sort_by_key(|event| event.sequence);
    let (applied, _) = tokio::sync::watch::channel(Applied::default());
    let mut projection =
        DirectoryProjection::new(live.clone(), applied, checkpoint_name(&namespace));
    let checkpoint = projection.checkpoint().await.unwrap();
    projection.apply(again).await.unwrap();
    assert_eq!(
        dump(&live).await,
        before,
        "re-applying events changed the projection"
    );
    assert_eq!(
        read_checkpoint(&live, &checkpoint_name(&namespace))
            .await
            .unwrap(),
        checkpoint,
        "re-applying already applied events moved the checkpoint"
    );

    // Rebuild: an empty database and a fresh consumer replay the stream.
    let rebuilt_name = format!("{}_rebuilt", stack.databases.directory);
    let rebuilt = service_kit::postgres::connect(&database_url(&rebuilt_name), 4)
        .await
        .unwrap();
    sqlx::migrate!("../crates/directory-service/migrations")
        .run(&rebuilt)
        .await
        .unwrap();
    let (applied, _) = tokio::sync::watch::channel(Applied::default());
    let mut replay =
        DirectoryProjection::new(rebuilt.clone(), applied, checkpoint_name(&namespace));
    let shutdown = CancellationToken::new();
    let settings = ConsumerSettings {
        durable_name: namespace.consumer_name("directory_rebuild"),
        filter_subject: namespace.directory_subjects(),
        batch_size: 3,
        ack_wait: Duration::from_secs(30),
    };
    let runner = {
        let store = store.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            event_store::consumer::run(
                &store,
                &settings,
                &mut replay,
                &ConsumerMetrics::default(),
                &shutdown,
            )
            .await
            .unwrap();
        })
    };
    let target = read_checkpoint(&live, &checkpoint_name(&namespace))
        .await
        .unwrap();
    let name = checkpoint_name(&namespace);
    eventually(Duration::from_secs(20), || {
        let rebuilt = rebuilt.clone();
        let name = name.clone();
        async move { Ok((read_checkpoint(&rebuilt, &name).await? >= target).then_some(())) }
    })
    .await
    .unwrap();
    shutdown.cancel();
    runner.await.unwrap();
    assert_eq!(
        dump(&rebuilt).await,
        before,
        "the rebuilt projection differs from the live one"
    );
    stack.stop().await;
}
