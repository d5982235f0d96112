//! Applies single PATCH operations to a canonical resource object (RFC 7644 §3.5.2), with the
//! IdP tolerance described in docs/idp/compatibility.md. Shared by users and groups: this is
//! the dispatcher; `resolve` says where an operation lands and `multi_valued` what it does there.

use serde_json::{Map, Value};

use super::multi_valued::{apply_filtered, apply_sub, apply_whole};
use super::resolve::{Target, container_mut, expand_pathless, names_unknown_extension, resolve};
use super::{PatchOp, PatchOperation, PatchPath};
use crate::error::ScimError;
use crate::schema::{Mutability, ResourceSchema};
use crate::value::{get_ci, is_present, remove_ci};

type Obj = Map<String, Value>;

/// Applies one operation of a PATCH request.
pub(crate) fn apply_operation(
    map: &mut Obj,
    op: &PatchOperation,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    match &op.path {
        // An attribute of a schema extension this server does not know is
        // ignored, as it is on create: an IdP mapping a custom extension
        // must not have every later update refused.
        Some(path) if names_unknown_extension(path, schema) => Ok(()),
        Some(path) => apply_path_op(map, op.op, path, op.value.as_ref(), schema),
        None => {
            for (path, value) in expand_pathless(map, op, schema)? {
                apply_path_op(map, op.op, &path, Some(&value), schema)?;
            }
            Ok(())
        }
    }
}

pub(crate) fn apply_path_op(
    map: &mut Obj,
    op: PatchOp,
    path: &PatchPath,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let name = path.to_string();
    let (ext, attr, sub, filter) = match resolve(path, schema)? {
        Target::Extension(urn) => return apply_extension(map, op, urn, value, schema),
        Target::Attr {
            ext,
            attr,
            sub,
            filter,
        } => (ext, attr, sub, filter),
    };
    for def in std::iter::once(attr).chain(sub) {
        match def.mutability {
            Mutability::ReadOnly => {
                return Err(ScimError::Mutability(format!(
                    "attribute '{name}' is readOnly"
                )));
            }
            // Passwords are not supported (changePassword: false); dropping keeps Okta flowing.
            Mutability::WriteOnly => return Ok(()),
            _ => {}
        }
    }
    if op != PatchOp::Remove && value.is_none() {
        return Err(ScimError::InvalidSyntax(format!(
            "'{op}' on '{name}' needs a 'value'"
        )));
    }
    let value = value.unwrap_or(&Value::Null);
    let c = container_mut(map, ext)?;
    let immutable = attr.mutability == Mutability::Immutable
        || sub.is_some_and(|s| s.mutability == Mutability::Immutable);
    if immutable && (op != PatchOp::Add || get_ci(c, &attr.name).is_some_and(is_present)) {
        return Err(ScimError::Mutability(format!(
            "attribute '{name}' is immutable"
        )));
    }
    match (filter, sub) {
        (Some(f), _) => apply_filtered(c, op, attr, f, sub, value, &name),
        (None, Some(s)) => apply_sub(c, op, attr, s, value, &name),
        (None, None) => apply_whole(c, op, attr, value, &name),
    }
}

fn apply_extension(
    map: &mut Obj,
    op: PatchOp,
    urn: &str,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    match (op, value) {
        (PatchOp::Remove, _) | (_, None | Some(Value::Null)) => {
            remove_ci(map, urn);
            Ok(())
        }
        (_, Some(Value::String(s))) if s.is_empty() => {
            remove_ci(map, urn);
            Ok(())
        }
        (_, Some(v)) if !v.is_object() => Err(ScimError::InvalidValue(format!(
            "'{urn}' needs an object value"
        ))),
        (_, Some(v)) => {
            let mut wrapper = Map::new();
            wrapper.insert(urn.to_string(), v.clone());
            let expanded = PatchOperation {
                op,
                path: None,
                value: Some(Value::Object(wrapper)),
            };
            apply_operation(map, &expanded, schema)
        }
    }
}
