//! What reading and appending events can fail with; an append that lost a race is its own
//! error, so callers can retry it.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("invalid subject: {0}")]
    Subject(#[from] scim_events::SubjectError),
    #[error("event encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    /// The event holds a control character no read model can store (checked last, after
    /// the request's own validation).
    #[error("the event holds a control character at byte {offset} and cannot be stored")]
    Unstorable { offset: usize },
    /// The encoded event is larger than the NATS server takes in one message (its
    /// `max_payload`, less room for headers).
    #[error("the event is {bytes} bytes; the event store takes at most {max_bytes}")]
    TooLarge { bytes: usize, max_bytes: usize },
    /// The projection's database failed. It may have lost batches it had acknowledged
    /// (they commit asynchronously), so the consumer resumes from the checkpoint the database
    /// still holds rather than from where it was.
    #[error("the projection's database failed ({0}); resuming from its stored checkpoint")]
    ProjectionStorage(String),
    #[error("JetStream {operation} failed: {message}")]
    JetStream {
        operation: &'static str,
        message: String,
    },
}

impl StoreError {
    pub(crate) fn jetstream(operation: &'static str, error: impl std::fmt::Display) -> Self {
        Self::JetStream {
            operation,
            message: error.to_string(),
        }
    }
}

#[derive(Debug, Error)]
pub enum AppendError {
    /// Another write reached the aggregate first (optimistic concurrency).
    #[error("the aggregate changed concurrently (expected version {expected})")]
    Conflict { expected: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}
