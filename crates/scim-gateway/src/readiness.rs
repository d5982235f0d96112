//! `/readyz` that tells the truth: the gateway is ready while it can serve a write right now,
//! that is while NATS is connected, JetStream answers for the event stream, and a directory
//! replica serves reads. A background task probes these once a second and sets the shared
//! [`Readiness`] flag, so a storm of probes on `/readyz` reads a flag and costs nothing.

use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::stream::Stream;
use service_kit::ops_http::Readiness;
use tokio_util::sync::CancellationToken;

use crate::directory::DirectoryClient;

/// How stale the answer of `/readyz` may be.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// A dependency that does not answer within this is not ready for traffic either: a request
/// would wait as long.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the gateway depends on, as last probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct DependencyStatus {
    nats_connected: bool,
    jetstream_reachable: bool,
    directory_serving: bool,
}

impl DependencyStatus {
    fn ready(self) -> bool {
        self.nats_connected && self.jetstream_reachable && self.directory_serving
    }
}

pub(crate) struct DependencyProbe {
    nats: async_nats::Client,
    stream: Stream,
    directory: DirectoryClient,
}

impl DependencyProbe {
    pub(crate) fn new(
        nats: async_nats::Client,
        stream: Stream,
        directory: DirectoryClient,
    ) -> Self {
        Self {
            nats,
            stream,
            directory,
        }
    }

    /// Probes once, then every [`PROBE_INTERVAL`], and sets `readiness` from the outcome until
    /// `stop`; ends with `readiness` unset, so a draining gateway is never marked ready again.
    pub(crate) async fn keep_current(self, readiness: Readiness, stop: CancellationToken) {
        let mut last = None;
        let mut ticks = tokio::time::interval(PROBE_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let status = tokio::select! {
                () = stop.cancelled() => break,
                status = async {
                    ticks.tick().await;
                    self.check().await
                } => status,
            };
            readiness.set_ready(status.ready());
            if last != Some(status) {
                if status.ready() {
                    tracing::info!(?status, "ready");
                } else {
                    tracing::warn!(?status, "not ready: a dependency is unavailable");
                }
                last = Some(status);
            }
        }
        readiness.set_ready(false);
    }

    async fn check(&self) -> DependencyStatus {
        let nats_connected = self.nats.connection_state() == State::Connected;
        // Asked only while connected: otherwise the request would just wait out the timeout.
        let jetstream_reachable = nats_connected && {
            let mut stream = self.stream.clone();
            matches!(
                tokio::time::timeout(PROBE_TIMEOUT, stream.info()).await,
                Ok(Ok(_))
            )
        };
        let directory_serving =
            tokio::time::timeout(PROBE_TIMEOUT, self.directory.any_replica_serving())
                .await
                .unwrap_or(false);
        DependencyStatus {
            nats_connected,
            jetstream_reachable,
            directory_serving,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_dependency_is() {
        let all = DependencyStatus {
            nats_connected: true,
            jetstream_reachable: true,
            directory_serving: true,
        };
        assert!(all.ready());
        for one_down in [
            DependencyStatus {
                nats_connected: false,
                ..all
            },
            DependencyStatus {
                jetstream_reachable: false,
                ..all
            },
            DependencyStatus {
                directory_serving: false,
                ..all
            },
        ] {
            assert!(!one_down.ready(), "{one_down:?}");
        }
    }
}
