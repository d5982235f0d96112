//! The read model's errors and their mapping to a gRPC status.

use thiserror::Error;

use crate::accounts::AccountError;

/// Metadata key carrying the SCIM `scimType` of an INVALID_ARGUMENT, so the
/// gateway can answer with the precise SCIM error.
pub const SCIM_TYPE_METADATA: &str = "x-scim-type";

#[derive(Debug, Error)]
pub enum DirectoryError {
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Scim(#[from] scim_model::ScimError),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("projection did not reach sequence {0} in time")]
    NotYetApplied(u64),
    /// The event is stored but the projection set it aside (see `scimctl quarantine`).
    #[error("event {0} is quarantined")]
    Quarantined(u64),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<DirectoryError> for tonic::Status {
    fn from(error: DirectoryError) -> Self {
        match error {
            DirectoryError::NotFound(what) => tonic::Status::not_found(format!("{what} not found")),
            DirectoryError::Scim(error) => {
                let mut status = tonic::Status::invalid_argument(error.detail());
                if let Some(scim_type) = error.scim_type()
                    && let Ok(value) = scim_type.parse()
                {
                    status.metadata_mut().insert(SCIM_TYPE_METADATA, value);
                }
                status
            }
            DirectoryError::InvalidArgument(message) => tonic::Status::invalid_argument(message),
            DirectoryError::NotYetApplied(sequence) => tonic::Status::deadline_exceeded(format!(
                "projection has not applied sequence {sequence} yet"
            )),
            // DATA_LOSS: the write is durable in the stream but will not be visible until an
            // operator retries it; the gateway answers that one request with a 500 saying so.
            DirectoryError::Quarantined(sequence) => tonic::Status::data_loss(format!(
                "the change was stored as event {sequence}, but the directory could not apply \
                 it and has set it aside for an operator; it is not visible yet"
            )),
            DirectoryError::Account(error) => error.into(),
            DirectoryError::Database(error) => {
                tracing::error!(%error, "directory database error");
                tonic::Status::unavailable("directory database unavailable")
            }
        }
    }
}
