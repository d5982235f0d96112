//! `/readyz` that tells the truth: a service is ready while what it needs right now answers.
//! A background task probes the dependencies once a second and sets the shared [`Readiness`],
//! so a storm of probes on `/readyz` reads a flag and costs nothing. Each service names its
//! own dependencies (the gateway: NATS, the event stream, a directory replica; a projection
//! service: NATS, its database, its projection leading or standing by); the loop is this one.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_nats::connection::State;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::ops_http::Readiness;

/// How stale the answer of `/readyz` may be.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// The probe interval until a service is first ready.
const STARTUP_PROBE_INTERVAL: Duration = Duration::from_millis(50);

/// A dependency that does not answer within this is not ready for traffic either: a request
/// would wait as long.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The outcome of one probe of a service's dependencies.
pub trait Dependencies: Debug + PartialEq + Send {
    fn ready(&self) -> bool;
}

/// Probes with `check` at once, then every [`PROBE_INTERVAL`] (more often until first ready),
/// and sets `readiness` from the outcome until `stop`; ends with `readiness` unset, so a
/// draining service is never marked ready again. A change is logged once, not every second.
pub async fn keep_current<D, F, Fut>(readiness: Readiness, stop: CancellationToken, mut check: F)
where
    D: Dependencies,
    F: FnMut() -> Fut,
    Fut: Future<Output = D>,
{
    let mut last = None;
    let mut ever_ready = false;
    let mut first = true;
    loop {
        // Until the first "ready", probe often: a service that has just started should not
        // wait a whole interval (with a part not yet running at the first probe) to take
        // traffic.
        let pause = match (first, ever_ready) {
            (true, _) => Duration::ZERO,
            (false, false) => STARTUP_PROBE_INTERVAL,
            (false, true) => PROBE_INTERVAL,
        };
        first = false;
        let status = tokio::select! {
            () = stop.cancelled() => break,
            status = async {
                tokio::time::sleep(pause).await;
                check().await
            } => status,
        };
        let ready = status.ready();
        ever_ready |= ready;
        readiness.set(ready, format!("{status:?}"));
        if last.as_ref() != Some(&status) {
            if ready {
                tracing::info!(?status, "ready");
            } else {
                tracing::warn!(?status, "not ready: a dependency is unavailable");
            }
            last = Some(status);
        }
    }
    readiness.set(false, "stopping".to_owned());
}

/// Where a replica's projection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectionRole {
    /// Not yet asked for the leader lock.
    Starting,
    /// Waiting for the leader lock another replica holds: ready to take over.
    StandingBy,
    /// This replica holds the lock and consumes.
    Leading,
    /// The projection ended (the service is stopping).
    Stopped,
}

/// The shared, cheap-to-read [`ProjectionRole`] of this replica.
#[derive(Debug, Clone)]
pub struct ProjectionState(Arc<AtomicU8>);

impl Default for ProjectionState {
    fn default() -> Self {
        Self(Arc::new(AtomicU8::new(Self::encode(
            ProjectionRole::Starting,
        ))))
    }
}

impl ProjectionState {
    pub fn set(&self, role: ProjectionRole) {
        self.0.store(Self::encode(role), Ordering::SeqCst);
    }

    pub fn get(&self) -> ProjectionRole {
        match self.0.load(Ordering::SeqCst) {
            0 => ProjectionRole::Starting,
            1 => ProjectionRole::StandingBy,
            2 => ProjectionRole::Leading,
            _ => ProjectionRole::Stopped,
        }
    }

    /// Sets [`ProjectionRole::Stopped`] when dropped.
    pub fn stopped_on_drop(&self) -> StoppedOnDrop {
        StoppedOnDrop(self.clone())
    }

    fn encode(role: ProjectionRole) -> u8 {
        match role {
            ProjectionRole::Starting => 0,
            ProjectionRole::StandingBy => 1,
            ProjectionRole::Leading => 2,
            ProjectionRole::Stopped => 3,
        }
    }
}

/// Marks its projection stopped when dropped (see [`ProjectionState::stopped_on_drop`]).
pub struct StoppedOnDrop(ProjectionState);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        self.0.set(ProjectionRole::Stopped);
    }
}

/// What a projection service (directory, license, audit) needs to do its work right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectionDependencies {
    pub nats_connected: bool,
    pub postgres_reachable: bool,
    pub projection: ProjectionRole,
}

impl Dependencies for ProjectionDependencies {
    fn ready(&self) -> bool {
        self.nats_connected
            && self.postgres_reachable
            && matches!(
                self.projection,
                ProjectionRole::Leading | ProjectionRole::StandingBy
            )
    }
}

/// Keeps `readiness` current for a projection service until `stop`.
pub async fn keep_projection_service_current(
    nats: async_nats::Client,
    pool: PgPool,
    projection: ProjectionState,
    readiness: Readiness,
    stop: CancellationToken,
) {
    keep_current(readiness, stop, || async {
        let postgres_reachable = matches!(
            tokio::time::timeout(
                PROBE_TIMEOUT,
                sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&pool)
            )
            .await,
            Ok(Ok(1))
        );
        ProjectionDependencies {
            nats_connected: nats.connection_state() == State::Connected,
            postgres_reachable,
            projection: projection.get(),
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_projection_service_is_ready_leading_or_standing_by_with_both_stores() {
        let leading = ProjectionDependencies {
            nats_connected: true,
            postgres_reachable: true,
            projection: ProjectionRole::Leading,
        };
        assert!(leading.ready());
        assert!(
            ProjectionDependencies {
                projection: ProjectionRole::StandingBy,
                ..leading
            }
            .ready()
        );
        for not_ready in [
            ProjectionDependencies {
                nats_connected: false,
                ..leading
            },
            ProjectionDependencies {
                postgres_reachable: false,
                ..leading
            },
            ProjectionDependencies {
                projection: ProjectionRole::Starting,
                ..leading
            },
            ProjectionDependencies {
                projection: ProjectionRole::Stopped,
                ..leading
            },
        ] {
            assert!(!not_ready.ready(), "{not_ready:?}");
        }
    }

    #[test]
    fn the_role_reads_back_as_set() {
        let state = ProjectionState::default();
        assert_eq!(state.get(), ProjectionRole::Starting);
        for role in [
            ProjectionRole::StandingBy,
            ProjectionRole::Leading,
            ProjectionRole::Stopped,
        ] {
            state.set(role);
            assert_eq!(state.clone().get(), role);
        }
        state.set(ProjectionRole::Leading);
        drop(state.stopped_on_drop());
        assert_eq!(state.get(), ProjectionRole::Stopped);
    }

    #[derive(Debug, PartialEq)]
    struct Flag(bool);

    impl Dependencies for Flag {
        fn ready(&self) -> bool {
            self.0
        }
    }

    #[tokio::test(start_paused = true)]
    async fn readiness_follows_the_probe_and_ends_unset() {
        let readiness = Readiness::default();
        let stop = CancellationToken::new();
        let answers = Arc::new(std::sync::Mutex::new(vec![false, true, true]));
        let task = tokio::spawn(keep_current(readiness.clone(), stop.clone(), {
            let answers = answers.clone();
            move || {
                let next = answers
                    .lock()
                    .map(|mut answers| answers.pop())
                    .ok()
                    .flatten()
                    .unwrap_or(false);
                async move { Flag(next) }
            }
        }));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(readiness.is_ready(), "first probe answered ready");
        assert_eq!(readiness.detail(), "Flag(true)");
        tokio::time::sleep(PROBE_INTERVAL * 2).await;
        assert!(!readiness.is_ready(), "third probe answered not ready");
        stop.cancel();
        let _ = task.await;
        assert!(!readiness.is_ready());
        assert_eq!(readiness.detail(), "stopping");
    }

    #[tokio::test(start_paused = true)]
    async fn a_starting_service_is_probed_again_soon() {
        let readiness = Readiness::default();
        let stop = CancellationToken::new();
        let probes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let task = tokio::spawn(keep_current(readiness.clone(), stop.clone(), {
            let probes = probes.clone();
            move || {
                // Not ready at the first two probes (a part still starting), then ready.
                let n = probes.fetch_add(1, Ordering::SeqCst);
                async move { Flag(n >= 2) }
            }
        }));
        tokio::time::sleep(STARTUP_PROBE_INTERVAL * 3).await;
        assert!(readiness.is_ready(), "ready well before a whole interval");
        stop.cancel();
        let _ = task.await;
    }
}
