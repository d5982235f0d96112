//! The one lifecycle of every service's long-running parts (gRPC server, projection, relay):
//! each runs as a task, and the first one that fails or panics stops the whole service, which
//! then drains and exits non-zero so that its supervisor (Kubernetes, `cargo xtask up`)
//! restarts it. A service never keeps answering "ready" with a part missing.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use event_store::EventStore;
use event_store::consumer::{self, BatchHandler, ConsumerMetrics, ConsumerSettings};
use futures::FutureExt as _;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::leader;
use crate::readiness::{ProjectionRole, ProjectionState};

/// Spawns one long-running part; its failure (an error or a panic) cancels `stop`.
pub fn spawn_part(
    part: &'static str,
    stop: CancellationToken,
    future: impl Future<Output = anyhow::Result<()>> + Send + 'static,
) -> JoinHandle<anyhow::Result<()>> {
    tokio::spawn(async move {
        let outcome = match AssertUnwindSafe(future).catch_unwind().await {
            Ok(outcome) => outcome,
            Err(panic) => Err(anyhow::anyhow!("panicked: {}", panic_text(&panic))),
        };
        if let Err(error) = &outcome {
            tracing::error!(part, error = %format!("{error:#}"), "service part failed, stopping");
            stop.cancel();
        }
        outcome
    })
}

/// Waits for a part spawned by [`spawn_part`]; its error, named after the part.
pub async fn join(
    part: &'static str,
    task: JoinHandle<anyhow::Result<()>>,
) -> Option<anyhow::Error> {
    match task.await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.context(part)),
        Err(error) => Some(anyhow::anyhow!("{part} task failed: {error}")),
    }
}

/// Spawns [`run_projection`] as the part named `projection`.
pub fn spawn_projection<H: BatchHandler + 'static>(
    pool: PgPool,
    store: EventStore,
    settings: ConsumerSettings,
    mut handler: H,
    metrics: ConsumerMetrics,
    role: ProjectionState,
    stop: CancellationToken,
) -> JoinHandle<anyhow::Result<()>> {
    spawn_part("projection", stop.clone(), async move {
        run_projection(
            &pool,
            &store,
            &settings,
            &mut handler,
            &metrics,
            &role,
            &stop,
        )
        .await
    })
}

/// The end of a service's run: waits for its parts in order, then stops the ops endpoint
/// (last, so that probes keep answering "not ready" while the rest drains). The first error.
pub async fn join_parts(
    parts: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
    ops_stop: CancellationToken,
    ops: JoinHandle<std::io::Result<()>>,
) -> Option<anyhow::Error> {
    let mut first_error = None;
    for (part, task) in parts {
        if let Some(error) = join(part, task).await {
            first_error.get_or_insert(error);
        }
    }
    ops_stop.cancel();
    match ops.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            first_error.get_or_insert(anyhow::Error::new(error).context("ops HTTP endpoint"));
        }
        Err(error) => {
            first_error.get_or_insert(anyhow::anyhow!("ops HTTP endpoint failed: {error}"));
        }
    }
    first_error
}

/// The message of a caught panic, for a log line or an error.
pub fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic payload".to_owned())
}

/// Runs a projection on the replica that holds its leader lock, until `stop`. Waiting for
/// the lock is normal (another replica leads; this one takes over when that one's session
/// ends); failing to reach Postgres while waiting is retried, never a reason to stop. `role`
/// tells readiness where this replica stands.
pub async fn run_projection<H: BatchHandler>(
    pool: &PgPool,
    store: &EventStore,
    settings: &ConsumerSettings,
    handler: &mut H,
    metrics: &ConsumerMetrics,
    role: &ProjectionState,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    // Whichever way this ends, readiness learns that the projection stopped.
    let _stopped = role.stopped_on_drop();
    let key = leader::lock_key(&settings.durable_name);
    role.set(ProjectionRole::StandingBy);
    let leadership = loop {
        match leader::acquire(pool, key, stop).await {
            Ok(Some(leadership)) => break leadership,
            Ok(None) => return Ok(()),
            Err(error) => {
                tracing::warn!(%error, consumer = %settings.durable_name, "cannot take the projection lock yet; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    tracing::info!(consumer = %settings.durable_name, "this replica runs the projection");
    role.set(ProjectionRole::Leading);
    let outcome = consumer::run(store, settings, handler, metrics, stop).await;
    // At once, not when the service has drained: the standby takes over while this replica
    // is still finishing its calls.
    leadership.release().await;
    outcome?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_part_stops_the_service_with_its_name() {
        let stop = CancellationToken::new();
        let task = spawn_part("projection", stop.clone(), async {
            panic!("poisoned");
        });
        let error = join("projection", task).await;
        assert!(stop.is_cancelled());
        let text = format!("{:#}", error.unwrap_or_else(|| anyhow::anyhow!("no error")));
        assert!(
            text.contains("projection") && text.contains("poisoned"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_part_that_ends_cleanly_does_not_stop_the_others() {
        let stop = CancellationToken::new();
        let task = spawn_part("relay", stop.clone(), async { Ok(()) });
        assert!(join("relay", task).await.is_none());
        assert!(!stop.is_cancelled());
    }
}
