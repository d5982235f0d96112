//! The resource types this server serves (RFC 7643 §6), described once: everything that
//! needs to know a type's name, endpoint, schema or directory kind asks this descriptor
//! instead of spelling "User" or "Groups" itself.

use scim_model::ResourceSchema;
use scim_rpc::directory::ResourceKind;

#[derive(Debug, Clone, Copy)]
pub struct ResourceType {
    pub kind: ResourceKind,
    /// `meta.resourceType`, and the noun of "not found" answers.
    pub name: &'static str,
    /// The path segment under the base URL.
    pub endpoint: &'static str,
    pub schema: fn() -> &'static ResourceSchema,
}

pub const USERS: ResourceType = ResourceType {
    kind: ResourceKind::User,
    name: "User",
    endpoint: "Users",
    schema: scim_model::schema::user,
};

pub const GROUPS: ResourceType = ResourceType {
    kind: ResourceKind::Group,
    name: "Group",
    endpoint: "Groups",
    schema: scim_model::schema::group,
};

/// Every resource type, in the order a root-level search concatenates its results.
pub const ALL: [ResourceType; 2] = [USERS, GROUPS];

impl ResourceType {
    /// The type served under `endpoint` (`Users`), case-sensitively as routed.
    pub fn by_endpoint(endpoint: &str) -> Option<Self> {
        ALL.into_iter().find(|t| t.endpoint == endpoint)
    }

    /// The type named `name` (`User`), as in a member's `type`.
    pub fn by_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|t| t.name == name)
    }

    pub fn location(&self, state: &crate::state::AppState, id: &str) -> String {
        self.location_at(state.base_url(), id)
    }

    pub fn location_at(&self, base_url: &str, id: &str) -> String {
        format!("{base_url}/{}/{id}", self.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_found_by_endpoint_and_name() {
        assert_eq!(
            ResourceType::by_endpoint("Groups").map(|t| t.name),
            Some("Group")
        );
        assert_eq!(
            ResourceType::by_name("User").map(|t| t.endpoint),
            Some("Users")
        );
        assert!(ResourceType::by_endpoint("Schemas").is_none());
        assert_eq!(
            USERS.location_at("https://x/scim/v2", "u1"),
            "https://x/scim/v2/Users/u1"
        );
    }
}
