//! The write path: load the aggregate's state from its last event, decide
//! (pure, in scim-model), append with an optimistic version check, then wait
//! until the directory shows the change before answering (read-your-writes).

mod groups;
mod users;

pub use groups::GroupCommands;
pub use users::UserCommands;

use scim_events::Actor;

use crate::directory::TenantContext;

/// Optimistic-concurrency retries before a write gives up with 503. Each
/// retry reloads the state, so concurrent PATCHes all land (I4).
const MAX_ATTEMPTS: usize = 16;

fn actor(tenant: &TenantContext) -> Actor {
    Actor {
        config_id: Some(tenant.config_id.clone()),
        token_id: Some(tenant.token_id.clone()),
        system: None,
    }
}
