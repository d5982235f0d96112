//! Resources as the client sees them: public URLs added, attribute selection applied.

use scim_model::ResourceSchema;
use scim_rpc::directory::ResourceKind;
use serde_json::Value;

use super::listing::Listed;
use crate::error::ApiError;
use crate::http::ListRequest;

/// Adds what only the gateway knows, the public URLs (`meta.location`, group
/// members' `$ref`), and applies `attributes` / `excludedAttributes`.
pub fn render(
    mut resource: Value,
    base_url: &str,
    listed: Listed,
    id: &str,
    selection: &Selection,
) -> Value {
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert(
            "location".into(),
            Value::String(listed.location_at(base_url, id)),
        );
    }
    if listed.kind == ResourceKind::Group {
        link_members(&mut resource, base_url);
    }
    let schema: &ResourceSchema = (listed.schema)();
    scim_model::strip_never_returned(&mut resource, schema);
    if selection.attributes.is_empty() && selection.excluded.is_empty() {
        return resource;
    }
    scim_model::apply_attribute_selection(
        &resource,
        &selection.attributes,
        &selection.excluded,
        schema,
    )
}

/// Adds each member's `$ref` (RFC 7643 §4.2), which only the gateway can
/// build because only it knows the public base URL.
fn link_members(group: &mut Value, base_url: &str) {
    let Some(members) = group.get_mut("members").and_then(Value::as_array_mut) else {
        return;
    };
    for member in members {
        let Some(id) = member.get("value").and_then(Value::as_str) else {
            continue;
        };
        let endpoint = match member.get("type").and_then(Value::as_str) {
            Some("Group") => "Groups",
            _ => "Users",
        };
        let reference = Value::String(format!("{base_url}/{endpoint}/{id}"));
        if let Some(member) = member.as_object_mut() {
            member.insert("$ref".into(), reference);
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl Selection {
    pub fn from_list(request: &ListRequest) -> Self {
        Self {
            attributes: request.attributes.clone(),
            excluded: request.excluded_attributes.clone(),
        }
    }

    pub fn from_query(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        ListRequest::from_query(pairs).map(|request| Self::from_list(&request))
    }

    /// Whether group members can be left out of the directory query.
    pub fn excludes_members(&self) -> bool {
        names_members(&self.excluded)
            || (!self.attributes.is_empty() && !names_members(&self.attributes))
    }

    /// Whether the client asked for `members` explicitly.
    pub fn names_members(&self) -> bool {
        names_members(&self.attributes)
    }
}

fn names_members(list: &[String]) -> bool {
    list.iter().any(|attribute| {
        attribute.eq_ignore_ascii_case("members")
            || attribute
                .get(..8)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case("members."))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn group_members_link_to_their_users() {
        let group = json!({"displayName": "g", "meta": {},
                           "members": [{"value": "u1", "type": "User"}, {"value": "u2"}]});
        let rendered = render(
            group,
            "https://scim.example/scim/v2",
            crate::routes::listing::GROUPS,
            "g1",
            &Selection::default(),
        );
        assert_eq!(
            rendered["members"][0]["$ref"],
            "https://scim.example/scim/v2/Users/u1"
        );
        assert_eq!(
            rendered["members"][1]["$ref"],
            "https://scim.example/scim/v2/Users/u2"
        );
        assert_eq!(
            rendered["meta"]["location"],
            "https://scim.example/scim/v2/Groups/g1"
        );
    }
}
