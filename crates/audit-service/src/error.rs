use thiserror::Error;

/// Everything an audit query can fail with. Converted to a gRPC status in
/// exactly one place so the mapping stays consistent.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event encoding error: {0}")]
    Encoding(#[from] serde_json::Error),
}

impl From<ServiceError> for tonic::Status {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::InvalidArgument(message) => Self::invalid_argument(message),
            internal @ (ServiceError::Database(_) | ServiceError::Encoding(_)) => {
                // Details stay in the log: they may name tables or hosts.
                tracing::error!(error = %internal, "audit request failed");
                Self::internal("internal error")
            }
        }
    }
}
