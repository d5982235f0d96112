//! The provisioning events that flow over JetStream.
//!
//! Every message on the stream is one [`EventEnvelope`] serialised as JSON. The
//! aggregate's version is not in the payload: it is the JetStream sequence the
//! server assigned, so it cannot disagree with the optimistic-concurrency check.

mod envelope;
pub mod storable;
mod subjects;

pub use envelope::{
    Actor, AdminAction, AdminActionKind, AggregateKind, EventEnvelope, EventPayload, GroupMember,
    GroupState, LicenseChange, QuarantineNotice, Rejection, SCHEMA_VERSION,
};
pub use subjects::{Namespace, SubjectError};
