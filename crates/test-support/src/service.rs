//! A service running in the test's process: started from an application already bound to
//! port 0 (so its addresses are real, with no bind-drop-rebind race), and stopped with its
//! drain asserted.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a service may take to drain once told to stop (the services' own drain budgets
/// are shorter; this only catches a hang).
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);

pub struct RunningService<E> {
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Debug + Send + 'static> RunningService<E> {
    /// Spawns `run(stop)`, the application's `run_until_stopped`.
    pub fn spawn<Fut>(
        grpc_addr: SocketAddr,
        metrics_addr: SocketAddr,
        run: impl FnOnce(CancellationToken) -> Fut,
    ) -> Self
    where
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        crate::init_test_log();
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(stop.clone()));
        Self {
            grpc_addr,
            metrics_addr,
            stop,
            task,
        }
    }

    /// Whether the service has ended on its own, which a healthy one never does.
    pub fn has_ended(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the service and fails the test unless it drains within [`DRAIN_DEADLINE`] and
    /// ends without an error (also an error it ended with before it was told to stop).
    pub async fn stop(self) {
        self.stop.cancel();
        let outcome = tokio::time::timeout(DRAIN_DEADLINE, self.task)
            .await
            .unwrap_or_else(|_| panic!("the service did not drain within {DRAIN_DEADLINE:?}"));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => panic!("the service failed: {error:?}"),
            Err(error) => panic!("the service task panicked or was cancelled: {error}"),
        }
    }

    /// A gRPC channel to the service without a client certificate, as an operator (or an
    /// intruder) connects.
    pub async fn channel(&self) -> tonic::transport::Channel {
        crate::anonymous_channel(self.grpc_addr).await
    }

    /// A gRPC channel to the service presenting `service`'s certificate.
    pub async fn channel_as(&self, service: &str) -> tonic::transport::Channel {
        crate::channel_as(service, self.grpc_addr).await
    }
}
