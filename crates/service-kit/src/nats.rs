//! Connecting to NATS the same way in every service.

/// Connects to NATS, retrying the first connection so services can start
/// before NATS is ready (common under Kubernetes and docker-compose).
pub async fn connect(
    url: &str,
    name: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .event_callback(|event| async move {
            tracing::info!(%event, "nats connection event");
        })
        .connect(url)
        .await
}
