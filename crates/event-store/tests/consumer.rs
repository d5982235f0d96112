//! The consumer runner against a real JetStream server: after a transient failure it resumes
//! from the checkpoint the projection's database still holds, because a database crash can
//! lose batches that were committed asynchronously and already acknowledged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use event_store::consumer::{self, BatchHandler, ConsumerMetrics, ConsumerSettings, HandlerError};
use event_store::{EventStore, StoreSettings, StoredEvent};
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload, Namespace};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// A projection whose "database" loses what it committed after sequence 3 when it crashes,
/// as PostgreSQL loses asynchronously committed transactions in an immediate shutdown.
#[derive(Default)]
struct Database {
    checkpoint: u64,
    rows: BTreeSet<u64>,
    crashed: bool,
}

struct CrashingProjection {
    database: Arc<Mutex<Database>>,
    /// The database crashes while this sequence is being applied.
    crash_at: u64,
}

impl BatchHandler for CrashingProjection {
    async fn checkpoint(&mut self) -> Result<u64, HandlerError> {
        Ok(self.database.lock().unwrap().checkpoint)
    }

    async fn apply(&mut self, batch: Vec<StoredEvent>) -> Result<(), HandlerError> {
        let mut database = self.database.lock().unwrap();
        if !database.crashed && batch.iter().any(|event| event.sequence >= self.crash_at) {
            database.crashed = true;
            database.rows.retain(|sequence| *sequence <= 3);
            database.checkpoint = 3;
            return Err(HandlerError::transient("connection reset by peer"));
        }
        for event in &batch {
            database.rows.insert(event.sequence);
        }
        database.checkpoint = batch
            .last()
            .map_or(database.checkpoint, |event| event.sequence);
        Ok(())
    }

    async fn quarantine(
        &mut self,
        event: &StoredEvent,
        error: &HandlerError,
    ) -> Result<(), HandlerError> {
        panic!(
            "nothing here is the event's fault: {} {error}",
            event.sequence
        );
    }
}

#[tokio::test]
async fn after_a_database_failure_the_consumer_resumes_from_the_stored_checkpoint() {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let client = async_nats::connect(url).await.unwrap();
    let namespace = Namespace::new(format!(
        "cr{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    ))
    .unwrap();
    let store = EventStore::connect(client, namespace.clone(), &StoreSettings::default())
        .await
        .unwrap();
    for index in 0..12 {
        let event = EventEnvelope::new(
            "tenant1",
            AggregateKind::User,
            format!("user{index}"),
            Actor::default(),
            "req",
            EventPayload::UserCreated {
                resource: json!({"userName": format!("user{index}")}),
            },
        );
        store.append_unchecked(&event).await.unwrap();
    }

    let database = Arc::new(Mutex::new(Database::default()));
    let mut projection = CrashingProjection {
        database: database.clone(),
        crash_at: 9,
    };
    let settings = ConsumerSettings {
        durable_name: namespace.consumer_name("test"),
        filter_subject: namespace.all_subjects(),
        batch_size: 2,
        ack_wait: Duration::from_secs(30),
    };
    let stop = CancellationToken::new();
    let metrics = ConsumerMetrics::default();
    let watcher = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while database.lock().unwrap().checkpoint < 12 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
    };
    let (outcome, ()) = tokio::join!(
        consumer::run(&store, &settings, &mut projection, &metrics, &stop),
        watcher
    );
    outcome.unwrap();

    let database = std::mem::take(&mut *database.lock().unwrap());
    assert!(database.crashed, "the simulated crash never happened");
    assert_eq!(database.checkpoint, 12);
    // Events 4 to 8 were acknowledged before the crash and lost with it: they are there again
    // only because the runner went back to the stored checkpoint.
    assert_eq!(
        database.rows,
        (1..=12).collect::<BTreeSet<u64>>(),
        "events lost with the crash were not applied again"
    );
    store
        .context()
        .delete_stream(namespace.stream_name())
        .await
        .unwrap();
    store
        .context()
        .delete_stream(format!("KV_{}", namespace.username_bucket()))
        .await
        .unwrap();
}
