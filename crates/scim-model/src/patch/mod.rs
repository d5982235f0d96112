//! PATCH requests (RFC 7644 §3.5.2): parsing, and application to users and groups.

mod engine;
mod group;
mod multi_valued;
mod resolve;
mod user;

use std::fmt;

use serde_json::Value;

pub use group::{GroupPatchOutcome, apply_group_patch};
pub use user::apply_user_patch;

use crate::error::ScimError;
use crate::filter::{Filter, parse_value_filter};
use crate::limits;
use crate::path::{AttrPath, is_valid_name, parse_attr_path};
use crate::urn::{PATCH_OP_SCHEMA, known_schema_urn};
use crate::value::get_ci;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    Add,
    Remove,
    Replace,
}

impl fmt::Display for PatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatchOp::Add => "add",
            PatchOp::Remove => "remove",
            PatchOp::Replace => "replace",
        })
    }
}

/// `PATH = attrPath / valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// A plain path; `attribute` may be empty when the path is a whole extension URN.
    Attribute(AttrPath),
    /// `attribute[filter]` optionally followed by `.sub_attribute`.
    Filtered {
        attribute: AttrPath,
        filter: Filter,
        sub_attribute: Option<String>,
    },
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attribute(p) => write!(f, "{p}"),
            PatchPath::Filtered {
                attribute,
                filter,
                sub_attribute,
            } => {
                write!(f, "{attribute}[{filter}]")?;
                match sub_attribute {
                    Some(s) => write!(f, ".{s}"),
                    None => Ok(()),
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOp,
    pub path: Option<PatchPath>,
    /// `Some(Value::Null)` is kept distinct from an absent value: Entra clears with `null`.
    pub value: Option<Value>,
}

/// Parses a PatchOp message. Tolerant of what IdPs send: `op` and member names in any case,
/// `"delete"` for remove, a missing `schemas`, an empty `Operations` list.
pub fn parse_patch_request(body: &Value) -> Result<Vec<PatchOperation>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax("a PATCH body must be a JSON object".into()))?;
    if let Some(schemas) = get_ci(obj, "schemas") {
        let listed = schemas.as_array().is_some_and(|a| {
            a.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.trim().eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
        if !listed {
            return Err(ScimError::InvalidSyntax(format!(
                "'schemas' must contain {PATCH_OP_SCHEMA}"
            )));
        }
    }
    let ops = match get_ci(obj, "Operations") {
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ScimError::InvalidSyntax(
                "'Operations' must be an array".into(),
            ));
        }
        None => return Err(ScimError::InvalidSyntax("'Operations' is required".into())),
    };
    if ops.len() > limits::MAX_PATCH_OPERATIONS {
        return Err(ScimError::TooMany(format!(
            "the request has {} operations; the limit is {} per PATCH",
            ops.len(),
            limits::MAX_PATCH_OPERATIONS
        )));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i, op))
        .collect()
}

fn parse_operation(index: usize, op: &Value) -> Result<PatchOperation, ScimError> {
    let obj = op
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax(format!("operation {index} must be an object")))?;
    let name = get_ci(obj, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::InvalidSyntax(format!("operation {index} has no 'op'")))?;
    let kind = match name.trim().to_ascii_lowercase().as_str() {
        "add" => PatchOp::Add,
        "replace" => PatchOp::Replace,
        "remove" | "delete" => PatchOp::Remove,
        other => {
            return Err(ScimError::InvalidSyntax(format!(
                "operation {index} has unknown op '{other}'"
            )));
        }
    };
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => {
            limits::check_path(&format!("Operations[{index}].path"), s)?;
            Some(parse_patch_path(s)?)
        }
        Some(_) => {
            return Err(ScimError::InvalidPath(format!(
                "operation {index} has a non-string 'path'"
            )));
        }
    };
    let value = get_ci(obj, "value").cloned();
    Ok(PatchOperation {
        op: kind,
        path,
        value,
    })
}

/// Parses a PATCH `path`, including value-filter paths (`emails[type eq "work"].value`,
/// `members[value eq "…"]`) and a bare extension URN.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, ScimError> {
    let s = input.trim();
    if let Some(urn) = known_schema_urn(s) {
        return Ok(PatchPath::Attribute(AttrPath {
            schema_urn: Some(urn.to_string()),
            attribute: String::new(),
            sub_attribute: None,
        }));
    }
    let Some(open) = s.find('[') else {
        return Ok(PatchPath::Attribute(parse_attr_path(s)?));
    };
    let close = closing_bracket(s, open)
        .ok_or_else(|| ScimError::InvalidPath(format!("unbalanced '[' in path '{s}'")))?;
    let attribute = parse_attr_path(&s[..open])?;
    if attribute.sub_attribute.is_some() {
        return Err(ScimError::InvalidPath(format!(
            "a value filter must follow an attribute in '{s}'"
        )));
    }
    let filter = parse_value_filter(&s[open + 1..close])?;
    let rest = &s[close + 1..];
    let sub_attribute = match rest.strip_prefix('.') {
        None if rest.is_empty() => None,
        Some(sub) if is_valid_name(sub) => Some(sub.to_string()),
        _ => {
            return Err(ScimError::InvalidPath(format!(
                "unexpected '{rest}' after the filter in '{s}'"
            )));
        }
    };
    Ok(PatchPath::Filtered {
        attribute,
        filter,
        sub_attribute,
    })
}

/// Index of the `]` closing the `[` at `open`, skipping brackets inside string literals.
fn closing_bracket(s: &str, open: usize) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip_while(|(i, _)| *i <= open) {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter::{CompareOp, CompareValue};

    #[test]
    fn entra_request_shapes() {
        let ops = parse_patch_request(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Add", "path": "nickName", "value": "Babs"},
                {"op": "Remove", "path": "members", "value": [{"value": "u1091"}]},
                {"op": "replace", "value": {"active": false}}
            ]
        }))
        .unwrap();
        assert_eq!(ops.len(), 4);
        assert_eq!(ops[0].op, PatchOp::Replace);
        let PatchPath::Filtered {
            attribute,
            filter,
            sub_attribute,
        } = ops[0].path.as_ref().unwrap()
        else {
            panic!("expected a filtered path")
        };
        assert_eq!(attribute, &AttrPath::new("emails"));
        assert_eq!(
            filter,
            &Filter::Compare {
                path: AttrPath::new("type"),
                op: CompareOp::Eq,
                value: CompareValue::String("work".into())
            }
        );
        assert_eq!(sub_attribute.as_deref(), Some("value"));
        assert_eq!(ops[2].op, PatchOp::Remove);
        assert!(ops[3].path.is_none());
    }

    #[test]
    fn tolerant_envelope() {
        assert_eq!(
            parse_patch_request(&json!({"operations": []})).unwrap(),
            vec![]
        );
        let ops = parse_patch_request(&json!({"Operations": [{"OP": "DELETE", "Path": "title"}]}))
            .unwrap();
        assert_eq!(ops[0].op, PatchOp::Remove);
        assert!(parse_patch_request(&json!({"schemas": ["urn:x"], "Operations": []})).is_err());
        assert!(parse_patch_request(&json!({"schemas": [PATCH_OP_SCHEMA]})).is_err());
        assert!(parse_patch_request(&json!({"Operations": [{"op": "move"}]})).is_err());
        assert!(parse_patch_request(&json!([])).is_err());
        let ops = parse_patch_request(
            &json!({"Operations": [{"op": "replace", "path": "title", "value": null}]}),
        )
        .unwrap();
        assert_eq!(ops[0].value, Some(Value::Null));
    }

    #[test]
    fn paths() {
        let p =
            parse_patch_path("members[value eq \"2819c223-7f76-453a-919d-413861904646\"]").unwrap();
        assert!(matches!(
            p,
            PatchPath::Filtered {
                sub_attribute: None,
                ..
            }
        ));
        let p =
            parse_patch_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
                .unwrap();
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
        );
        let p =
            parse_patch_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap();
        assert!(matches!(&p, PatchPath::Attribute(a) if a.is_whole_extension()));
        let p = parse_patch_path(r#"emails[value eq "a]b"].primary"#).unwrap();
        assert_eq!(p.to_string(), r#"emails[value eq "a]b"].primary"#);
        assert!(parse_patch_path("emails[type eq \"work\"").is_err());
        assert!(parse_patch_path("emails[type eq \"work\"]x").is_err());
        assert!(parse_patch_path("name.givenName[x pr]").is_err());
    }
}
