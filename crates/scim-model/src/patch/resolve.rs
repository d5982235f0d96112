//! Where a PATCH operation lands: its path resolved against the schema, path-less operations
//! expanded into one per attribute, and the object that holds an extension's attributes.

use serde_json::{Map, Value};

use super::{PatchOp, PatchOperation, PatchPath};
use crate::error::ScimError;
use crate::filter::Filter;
use crate::path::AttrPath;
use crate::schema::{AttributeDef, Mutability, ResourceSchema};
use crate::value::{get_ci, is_present, remove_ci};

type Obj = Map<String, Value>;

pub(super) enum Target<'a> {
    Extension(&'a str),
    Attr {
        ext: Option<&'a str>,
        attr: &'a AttributeDef,
        sub: Option<&'a AttributeDef>,
        filter: Option<&'a Filter>,
    },
}

pub(super) fn resolve<'a>(
    path: &'a PatchPath,
    schema: &'a ResourceSchema,
) -> Result<Target<'a>, ScimError> {
    let unknown = || ScimError::InvalidPath(format!("unknown attribute path '{path}'"));
    let (ap, filter, filter_sub) = match path {
        PatchPath::Attribute(p) => (p, None, None),
        PatchPath::Filtered {
            attribute,
            filter,
            sub_attribute,
        } => (attribute, Some(filter), sub_attribute.as_deref()),
    };
    if ap.is_whole_extension() {
        let urn = ap.schema_urn.as_deref().unwrap_or_default();
        return match (schema.extension(urn), filter) {
            (Some(ext), None) => Ok(Target::Extension(ext.schema.id.as_str())),
            _ => Err(unknown()),
        };
    }
    let r = schema.resolve(ap).ok_or_else(unknown)?;
    let sub = match (r.sub_attribute, filter_sub) {
        (s, None) => s,
        (None, Some(name)) => Some(r.attribute.sub_attribute(name).ok_or_else(unknown)?),
        (Some(_), Some(_)) => return Err(unknown()),
    };
    if filter.is_some()
        && (!r.attribute.multi_valued || !r.attribute.is_complex() || r.sub_attribute.is_some())
    {
        return Err(ScimError::InvalidPath(format!(
            "'{path}': a value filter needs a multi-valued complex attribute"
        )));
    }
    Ok(Target::Attr {
        ext: r.extension,
        attr: r.attribute,
        sub,
        filter,
    })
}

pub(super) fn names_unknown_extension(path: &PatchPath, schema: &ResourceSchema) -> bool {
    let attribute = match path {
        PatchPath::Attribute(attribute) | PatchPath::Filtered { attribute, .. } => attribute,
    };
    attribute.schema_urn.as_deref().is_some_and(|urn| {
        let known = urn.eq_ignore_ascii_case(&schema.core.id)
            || schema.extension(urn).is_some()
            // A whole known extension parses as `<urn minus its last part>`
            // + attribute; it is known if the full URN is.
            || schema
                .extension(&format!("{urn}:{}", attribute.attribute))
                .is_some();
        !known && urn.to_ascii_lowercase().starts_with("urn:")
    })
}

/// Turns a path-less add/replace into one operation per attribute. Keys may be attribute
/// paths (`name.givenName`, `urn:…:enterprise:2.0:User:department`) or an extension URN with
/// an object value (RFC 7644 §3.5.2.1). Unknown keys are ignored, as on create; readOnly keys
/// echoing the current value (Okta sends the group's `id`) are ignored, a different `id` is not.
pub(super) fn expand_pathless(
    map: &Obj,
    op: &PatchOperation,
    schema: &ResourceSchema,
) -> Result<Vec<(PatchPath, Value)>, ScimError> {
    if op.op == PatchOp::Remove {
        return Err(ScimError::NoTarget(
            "a remove operation needs a 'path'".into(),
        ));
    }
    let Some(Value::Object(obj)) = &op.value else {
        return Err(ScimError::InvalidValue(format!(
            "a path-less {} needs an object 'value'",
            op.op
        )));
    };
    let mut raw: Vec<(PatchPath, Value)> = Vec::new();
    for (key, v) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            let urn = Some(ext.schema.id.clone());
            match v {
                Value::Object(inner) => {
                    for (k, iv) in inner {
                        let path = AttrPath {
                            schema_urn: urn.clone(),
                            attribute: k.clone(),
                            sub_attribute: None,
                        };
                        raw.push((PatchPath::Attribute(path), iv.clone()));
                    }
                }
                v if !is_present(v) => {
                    let path = AttrPath {
                        schema_urn: urn,
                        attribute: String::new(),
                        sub_attribute: None,
                    };
                    raw.push((PatchPath::Attribute(path), Value::Null));
                }
                _ => {
                    return Err(ScimError::InvalidValue(format!(
                        "'{key}' needs an object value"
                    )));
                }
            }
            continue;
        }
        if let Ok(path) = super::parse_patch_path(key) {
            raw.push((path, v.clone()));
        }
    }
    let mut out = Vec::with_capacity(raw.len());
    for (path, v) in raw {
        let keep = match resolve(&path, schema) {
            Err(_) => false,
            Ok(Target::Extension(_)) => true,
            Ok(Target::Attr { ext, attr, sub, .. }) => match (attr.mutability, sub) {
                (Mutability::WriteOnly, _) => false,
                (Mutability::ReadOnly, _) => {
                    let current = container(map, ext).and_then(|c| get_ci(c, &attr.name));
                    if attr.name == "id" && sub.is_none() && current != Some(&v) {
                        return Err(ScimError::Mutability("attribute 'id' is readOnly".into()));
                    }
                    false
                }
                (_, Some(s)) => s.mutability != Mutability::ReadOnly,
                _ => true,
            },
        };
        if keep {
            out.push((path, v));
        }
    }
    Ok(out)
}

pub(super) fn container<'m>(map: &'m Obj, ext: Option<&str>) -> Option<&'m Obj> {
    match ext {
        None => Some(map),
        Some(urn) => get_ci(map, urn)?.as_object(),
    }
}

pub(super) fn container_mut<'m>(
    map: &'m mut Obj,
    ext: Option<&str>,
) -> Result<&'m mut Obj, ScimError> {
    let Some(urn) = ext else { return Ok(map) };
    let existing = remove_ci(map, urn).filter(Value::is_object);
    let slot = map
        .entry(urn.to_string())
        .or_insert(existing.unwrap_or_else(|| Value::Object(Map::new())));
    slot.as_object_mut()
        .ok_or_else(|| ScimError::InvalidValue(format!("'{urn}' must be an object")))
}
