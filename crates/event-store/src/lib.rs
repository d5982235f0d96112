//! JetStream as the event store.
//!
//! - [`EventStore::append`]: optimistic append with
//!   `Nats-Expected-Last-Subject-Sequence` (0 = "must not exist") and a
//!   deterministic `Nats-Msg-Id`, so a retried publish is deduplicated.
//! - [`EventStore::load_last`]: the last event of an aggregate, which carries
//!   its current state, and its version (the stream sequence).
//! - [`claims`]: case-insensitive userName uniqueness in a KV bucket.
//! - [`access`]: each service's NATS permissions and the server configuration granting them.
//! - [`consumer`]: durable pull consumers that hand ordered batches to a
//!   handler and ack only after the handler committed.

pub mod access;
pub mod claims;
pub mod consumer;
mod error;
mod store;

pub use error::{AppendError, StoreError};
pub use store::{EVENT_TYPE_HEADER, EventStore, HEADER_ALLOWANCE, StoreSettings, StoredEvent};
