//! Bootstrap pieces every service binary shares, so each `main` stays thin:
//! configuration from the environment, the shutdown signal, Postgres pools,
//! the consumer leader lock, gRPC TLS and who may call each gRPC service, the transactional
//! outbox and its relay, and the `/metrics` + health HTTP endpoint.

pub mod admin_auth;
pub mod backend;
pub mod callers;
pub mod checkpoint;
pub mod config;
pub mod grpc;
pub mod grpc_tls;
pub mod leader;
pub mod lifecycle;
pub mod main_loop;
pub mod nats;
pub mod ops_http;
pub mod outbox;
pub mod postgres;
pub mod quarantine;
pub mod quarantine_admin;
pub mod readiness;
pub mod shutdown;
pub mod transport;
