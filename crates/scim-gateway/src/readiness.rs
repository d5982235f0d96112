//! The gateway is ready while it can serve a write right now, that is while NATS is
//! connected, JetStream answers for the event stream, and a directory replica serves reads;
//! probed by [`service_kit::readiness`]'s loop.

use async_nats::connection::State;
use async_nats::jetstream::stream::Stream;
use service_kit::ops_http::Readiness;
use service_kit::readiness::{Dependencies, PROBE_TIMEOUT, keep_current};
use tokio_util::sync::CancellationToken;

use crate::directory::DirectoryClient;

/// What the gateway depends on, as last probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct DependencyStatus {
    nats_connected: bool,
    jetstream_reachable: bool,
    directory_serving: bool,
}

impl Dependencies for DependencyStatus {
    fn ready(&self) -> bool {
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

    /// Keeps `readiness` current until `stop` (see [`keep_current`]).
    pub(crate) async fn keep_current(self, readiness: Readiness, stop: CancellationToken) {
        keep_current(readiness, stop, || self.check()).await;
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
