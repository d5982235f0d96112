//! The audit service's errors and their one mapping to a gRPC status.

use thiserror::Error;

/// Everything an audit query can fail with. Converted to a gRPC status in
/// exactly one place so the mapping stays consistent.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event encoding error: {0}")]
    Encoding(#[from] serde_json::Error),
}

impl From<ServiceError> for event_store::consumer::HandlerError {
    /// For the projection: database errors by their class (the environment's fault is
    /// retried, the event's is quarantined); anything else is the event's.
    fn from(error: ServiceError) -> Self {
        match &error {
            ServiceError::Database(database) => service_kit::quarantine::handler_error(database),
            _ => Self::permanent(error),
        }
    }
}

impl From<ServiceError> for tonic::Status {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::InvalidArgument(message) => Self::invalid_argument(message),
            ServiceError::NotFound(message) => Self::not_found(message),
            internal @ (ServiceError::Database(_) | ServiceError::Encoding(_)) => {
                // Details stay in the log: they may name tables or hosts.
                tracing::error!(error = %internal, "audit request failed");
                Self::internal("internal error")
            }
        }
    }
}
