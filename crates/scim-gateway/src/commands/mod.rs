//! The write path: load the aggregate's state from its last event, decide
//! (pure, in scim-model), append with an optimistic version check, then wait
//! until the directory shows the change before answering (read-your-writes).
//! The protocol is written once, in `write`; users and groups supply their
//! load and decision.

mod aggregate_locks;
mod groups;
mod users;
mod write;

pub use aggregate_locks::AggregateLocks;
pub use groups::GroupCommands;
pub use users::{UserCommands, UserState};

use scim_events::Actor;
use serde_json::Value;

use crate::directory::TenantContext;

/// Optimistic-concurrency retries before a write gives up with 503. Each
/// retry reloads the state, so concurrent PATCHes all land (I4).
const MAX_ATTEMPTS: usize = 16;

fn actor(tenant: &TenantContext) -> Actor {
    Actor {
        config_id: Some(tenant.config_id.clone()),
        token_id: Some(tenant.token_id.clone()),
        system: None,
        admin: None,
    }
}

/// The stored resource with its `id`, for deciding a change. Stored
/// resources carry no `id` (it is readOnly, so create drops it), but the
/// PATCH engine needs it to tell a path-less replace that merely echoes the
/// resource's own id (Okta's group rename) from one that tries to change it.
fn with_id(resource: &Value, id: &str) -> Value {
    let mut resource = resource.clone();
    if let Value::Object(map) = &mut resource {
        map.insert("id".into(), Value::String(id.to_owned()));
    }
    resource
}

/// The decided resource as it is stored: without `id`.
fn without_id(mut resource: Value) -> Value {
    if let Value::Object(map) = &mut resource {
        map.remove("id");
    }
    resource
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(operations: Value) -> Vec<scim_model::PatchOperation> {
        scim_model::parse_patch_request(&json!({ "Operations": operations })).unwrap()
    }

    /// Okta renames a pushed group with `{"op":"replace","value":{"id":…,
    /// "displayName":…}}`; the stored group has no `id` to compare with.
    #[test]
    fn a_path_less_replace_echoing_the_own_id_applies_to_a_stored_resource() {
        let stored = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering"
        });
        let rename = patch(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Eng"}}]));
        let outcome = scim_model::apply_group_patch(&with_id(&stored, "g1"), &rename).unwrap();
        let resource = without_id(outcome.resource);
        assert_eq!(resource["displayName"], "Eng");
        assert!(resource.get("id").is_none());

        let other = patch(json!([{"op": "replace", "value": {"id": "g2", "displayName": "Eng"}}]));
        let error = scim_model::apply_group_patch(&with_id(&stored, "g1"), &other).unwrap_err();
        assert_eq!(error.scim_type(), Some("mutability"));

        let user = json!({"userName": "alice", "active": true});
        let deactivate = patch(json!([{"op": "replace", "value": {"id": "u1", "active": false}}]));
        let updated =
            without_id(scim_model::apply_user_patch(&with_id(&user, "u1"), &deactivate).unwrap());
        assert_eq!(updated["active"], false);
        assert!(updated.get("id").is_none());
    }
}
