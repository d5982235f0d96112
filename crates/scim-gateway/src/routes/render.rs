use scim_model::ResourceSchema;
use serde_json::Value;

use crate::http::ListRequest;

/// Adds `meta.location` and applies `attributes` / `excludedAttributes`.
pub fn render(
    mut resource: Value,
    location: &str,
    schema: &ResourceSchema,
    selection: &Selection,
) -> Value {
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("location".into(), Value::String(location.to_owned()));
    }
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

    pub fn from_query(pairs: &[(String, String)]) -> Self {
        ListRequest::from_query(pairs)
            .map(|request| Self::from_list(&request))
            .unwrap_or_default()
    }

    /// Whether group members can be left out of the directory query.
    pub fn excludes_members(&self) -> bool {
        let named = |list: &[String]| {
            list.iter()
                .any(|attribute| attribute.eq_ignore_ascii_case("members"))
        };
        named(&self.excluded) || (!self.attributes.is_empty() && !named(&self.attributes))
    }
}

/// A valid resource id: what we issue (UUIDs) and nothing that could alter a
/// subject. Anything else cannot exist, so it is simply not found.
pub fn is_plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
