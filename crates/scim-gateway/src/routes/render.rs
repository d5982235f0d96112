//! Resources as the client sees them: public URLs added, attribute selection applied.

use scim_model::ResourceSchema;
use scim_rpc::directory::ResourceKind;
use serde_json::Value;

use super::resource_type::{ResourceType, USERS};
use super::target::Selection;

/// Adds what only the gateway knows, the public URLs (`meta.location`, group
/// members' `$ref`), and applies `attributes` / `excludedAttributes`.
pub fn render(
    mut resource: Value,
    base_url: &str,
    listed: ResourceType,
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
        let endpoint = member
            .get("type")
            .and_then(Value::as_str)
            .and_then(ResourceType::by_name)
            .unwrap_or(USERS)
            .endpoint;
        let reference = Value::String(format!("{base_url}/{endpoint}/{id}"));
        if let Some(member) = member.as_object_mut() {
            member.insert("$ref".into(), reference);
        }
    }
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
            crate::routes::resource_type::GROUPS,
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
