//! Account center: tenants, their SCIM configurations and the bearer tokens
//! IdPs use against them (DESIGN.md §4). Every change to a configuration or a
//! token is recorded in the provisioning log as an admin action, through the outbox.

mod admin_log;
mod error;
mod grpc;
mod store;
#[cfg(test)]
mod test_db;
pub mod token;

pub use error::AccountError;
pub use grpc::AccountAdminService;
pub use store::{
    AccountStore, AuthenticatedToken, ConfigChanges, ConfigDeletion, ConfigRecord, ConfigUpdate,
    DEFAULT_VALID_DAYS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_ROTATION_OVERLAP_HOURS,
    MAX_VALID_DAYS, TenantRecord, TenantSummary, TokenPolicy, TokenRecord, TokenRotation,
};
