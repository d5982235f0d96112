//! Serving gRPC on a listener bound up front (so the port is known before
//! serving starts).

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

/// Accepted connections with `TCP_NODELAY`. tonic ignores the server's own
/// `tcp_nodelay` setting for a supplied listener, and with Nagle's algorithm
/// on, a small response waits for the peer's delayed ACK: about 40 ms added
/// to every call that follows a write on the same connection.
pub fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}
