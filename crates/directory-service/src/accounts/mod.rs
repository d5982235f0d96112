//! Account center: tenants, their SCIM configurations and the bearer tokens
//! IdPs use against them (DESIGN.md §4).

mod error;
mod grpc;
mod store;
#[cfg(test)]
mod test_db;
pub mod token;

pub use error::AccountError;
pub use grpc::{AccountAdminService, RevocationNotifier};
pub use store::{
    AccountStore, AuthenticatedToken, ConfigRecord, DEFAULT_VALID_DAYS, MAX_NAME_CHARS,
    MAX_VALID_DAYS, TenantRecord, TokenRecord,
};
