//! Connecting to NATS the same way in every service.

/// Connects to NATS, retrying the first connection so services can start
/// before NATS is ready (common under Kubernetes and docker-compose).
///
/// `url` may name several servers of a cluster, comma-separated: the client
/// connects to one and fails over to the others (and to any the cluster
/// announces) when that one goes away.
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
        .connect(server_list(url))
        .await
}

/// The servers of a `NATS_URL`: `async-nats` parses a plain string as one address, so a
/// comma-separated list is split here.
fn server_list(url: &str) -> Vec<&str> {
    url.split(',')
        .map(str::trim)
        .filter(|server| !server.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use async_nats::ToServerAddrs as _;

    use super::*;

    #[test]
    fn a_comma_separated_url_names_every_server_of_the_cluster() {
        let servers =
            server_list("nats://10.0.0.1:4222, nats://10.0.0.2:4222,nats://10.0.0.3:4222");
        let addrs: Vec<_> = servers.to_server_addrs().unwrap().collect();
        assert_eq!(addrs.len(), 3);
        assert_eq!(addrs[1].host(), "10.0.0.2");
        assert_eq!(
            server_list("nats://127.0.0.1:4222"),
            ["nats://127.0.0.1:4222"]
        );
    }
}
