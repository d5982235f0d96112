//! Coercion of incoming JSON values to an attribute's declared type, shared by create, PUT
//! and PATCH. IdP tolerance lives here: booleans as `"True"`, `""` and `null` meaning "absent",
//! a bare string for a complex attribute with a `value` sub-attribute (Entra's `manager`),
//! single-element arrays for single-valued attributes, role objects encoded as JSON strings.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Number, Value};

use crate::error::ScimError;
use crate::schema::{AttrType, AttributeDef, Mutability};

/// Object member lookup: exact key first, then ASCII case-insensitive.
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The key actually used in `obj` for `key`, matched case-insensitively.
pub(crate) fn key_ci(obj: &Map<String, Value>, key: &str) -> Option<String> {
    if obj.contains_key(key) {
        return Some(key.to_string());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Removes every spelling of `key` and returns the last value removed.
pub(crate) fn remove_ci(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let mut removed = None;
    while let Some(k) = key_ci(obj, key) {
        removed = obj.remove(&k);
    }
    removed
}

pub(crate) fn parse_bool_str(s: &str) -> Option<bool> {
    match s.trim() {
        t if t.eq_ignore_ascii_case("true") => Some(true),
        t if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s.trim()).ok()
}

/// RFC 7644 `pr`: a value that is not null, not an empty string, not an empty array/object.
pub(crate) fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

/// The values of a possibly multi-valued JSON value, flattened one level.
pub(crate) fn elements(v: &Value) -> Vec<&Value> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().filter(|x| !x.is_null()).collect(),
        other => vec![other],
    }
}

fn invalid(name: &str, expected: &str) -> ScimError {
    ScimError::InvalidValue(format!("attribute '{name}' must be {expected}"))
}

/// Coerces a value for attribute `def` (named `name` in errors). `Ok(None)` means "absent":
/// the caller removes or skips the attribute.
pub(crate) fn coerce(
    def: &AttributeDef,
    v: &Value,
    name: &str,
) -> Result<Option<Value>, ScimError> {
    if !def.multi_valued {
        return match v {
            Value::Array(a) if a.is_empty() => Ok(None),
            Value::Array(a) if a.len() == 1 => coerce_single(def, &a[0], name),
            Value::Array(_) => Err(invalid(name, "single-valued")),
            other => coerce_single(def, other, name),
        };
    }
    let mut out: Vec<Value> = Vec::new();
    for element in elements(v) {
        if let Some(c) = coerce_single(def, element, name)?
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    Ok(if out.is_empty() {
        None
    } else {
        Some(Value::Array(out))
    })
}

/// Coerces one (non-array) value: an element of a multi-valued attribute or a single value.
pub(crate) fn coerce_single(
    def: &AttributeDef,
    v: &Value,
    name: &str,
) -> Result<Option<Value>, ScimError> {
    match (def.type_, v) {
        (_, Value::Null) => Ok(None),
        (_, Value::String(s)) if s.is_empty() => Ok(None),
        (AttrType::Complex, Value::Object(obj)) => coerce_complex(def, obj, name),
        (AttrType::Complex, Value::String(s)) if def.sub_attribute("value").is_some() => {
            let mut obj = Map::new();
            obj.insert("value".into(), Value::String(s.clone()));
            coerce_complex(def, &obj, name)
        }
        (AttrType::Complex, _) => Err(invalid(name, "a complex object")),
        (AttrType::Boolean, Value::Bool(_)) => Ok(Some(v.clone())),
        (AttrType::Boolean, Value::String(s)) => parse_bool_str(s)
            .map(|b| Some(Value::Bool(b)))
            .ok_or_else(|| invalid(name, "a boolean")),
        (AttrType::Boolean, _) => Err(invalid(name, "a boolean")),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(v.clone())),
        (AttrType::Integer, Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(|i| Some(Value::Number(i.into())))
            .map_err(|_| invalid(name, "an integer")),
        (AttrType::Integer, _) => Err(invalid(name, "an integer")),
        (AttrType::Decimal, Value::Number(_)) => Ok(Some(v.clone())),
        (AttrType::Decimal, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(|n| Some(Value::Number(n)))
            .ok_or_else(|| invalid(name, "a decimal number")),
        (AttrType::Decimal, _) => Err(invalid(name, "a decimal number")),
        (AttrType::DateTime, Value::String(s)) if parse_datetime(s).is_some() => {
            Ok(Some(v.clone()))
        }
        (AttrType::DateTime, _) => Err(invalid(name, "an RFC 3339 dateTime string")),
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(_)) => {
            Ok(Some(v.clone()))
        }
        // Numeric identifiers (employeeNumber, externalId) arrive unquoted from some tools.
        (AttrType::String | AttrType::Reference, Value::Number(n)) => {
            Ok(Some(Value::String(n.to_string())))
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => {
            Err(invalid(name, "a string"))
        }
    }
}

fn coerce_complex(
    def: &AttributeDef,
    obj: &Map<String, Value>,
    name: &str,
) -> Result<Option<Value>, ScimError> {
    let normalized;
    let obj = if def.name == "roles" {
        normalized = normalize_role(obj);
        &normalized
    } else {
        obj
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let Some(sub) = def.sub_attribute(k) else {
            continue;
        };
        if matches!(sub.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
            continue;
        }
        if let Some(c) = coerce(sub, v, &format!("{name}.{}", sub.name))? {
            out.insert(sub.name.clone(), c);
        }
    }
    Ok(if out.is_empty() {
        None
    } else {
        Some(Value::Object(out))
    })
}

/// Entra's app-role shapes: in PATCH a role is a JSON string inside `value`
/// (`{"value": "{\"id\":…,\"value\":\"Admin\",\"displayName\":\"Admin\"}"}`), and in both forms
/// (and in the AppRoleAssignmentsComplex POST) the label is `displayName`, not `display`.
fn normalize_role(obj: &Map<String, Value>) -> Map<String, Value> {
    let mut role = obj.clone();
    if let Some(Value::String(s)) = get_ci(obj, "value")
        && s.trim_start().starts_with('{')
        && let Ok(Value::Object(inner)) = serde_json::from_str::<Value>(s)
    {
        remove_ci(&mut role, "value");
        // The encoded role is the authoritative one: its label wins over the wrapper's.
        role.extend(display_from_display_name(inner));
    }
    display_from_display_name(role)
}

fn display_from_display_name(mut role: Map<String, Value>) -> Map<String, Value> {
    if get_ci(&role, "display").is_none()
        && let Some(d) = remove_ci(&mut role, "displayName")
    {
        role.insert("display".into(), d);
    }
    role
}

/// At most one `primary: true` per multi-valued attribute (RFC 7643 §2.4).
pub(crate) fn check_primary(def: &AttributeDef, v: &Value, name: &str) -> Result<(), ScimError> {
    if !def.multi_valued || def.sub_attribute("primary").is_none() {
        return Ok(());
    }
    let count = elements(v)
        .iter()
        .filter(|e| e.get("primary") == Some(&Value::Bool(true)))
        .count();
    if count > 1 {
        return Err(ScimError::InvalidValue(format!(
            "attribute '{name}' has {count} values marked primary; at most one is allowed"
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::user;

    fn def(path: &str) -> &'static AttributeDef {
        user().lookup(path).unwrap().target()
    }

    #[test]
    fn booleans_and_blanks() {
        assert_eq!(
            coerce(def("active"), &json!("False"), "active").unwrap(),
            Some(json!(false))
        );
        assert_eq!(
            coerce(def("active"), &json!("TRUE"), "active").unwrap(),
            Some(json!(true))
        );
        assert!(coerce(def("active"), &json!("yes"), "active").is_err());
        assert!(coerce(def("active"), &json!(1), "active").is_err());
        assert_eq!(coerce(def("title"), &json!(""), "title").unwrap(), None);
        assert_eq!(coerce(def("title"), &Value::Null, "title").unwrap(), None);
        assert!(
            coerce(def("title"), &json!({"a": 1}), "title")
                .unwrap_err()
                .detail()
                .contains("'title'")
        );
    }

    #[test]
    fn complex_and_multi() {
        let emails = coerce(
            def("emails"),
            &json!([{"Value": "a@x", "Primary": "True", "type": "work", "bogus": 1}, null]),
            "emails",
        )
        .unwrap();
        assert_eq!(
            emails,
            Some(json!([{"value": "a@x", "primary": true, "type": "work"}]))
        );
        let single = coerce(def("emails"), &json!({"value": "a@x"}), "emails").unwrap();
        assert_eq!(single, Some(json!([{"value": "a@x"}])));
        assert_eq!(coerce(def("emails"), &json!([]), "emails").unwrap(), None);
    }

    #[test]
    fn manager_shapes() {
        let m = def("manager");
        assert_eq!(
            coerce(m, &json!("271"), "manager").unwrap(),
            Some(json!({"value": "271"}))
        );
        assert_eq!(coerce(m, &json!({"value": ""}), "manager").unwrap(), None);
        assert_eq!(coerce(m, &json!(""), "manager").unwrap(), None);
        let arr = json!([{"$ref": "http://x/Users/1", "value": "1", "displayName": "Boss"}]);
        assert_eq!(
            coerce(m, &arr, "manager").unwrap(),
            Some(json!({"$ref": "http://x/Users/1", "value": "1"}))
        );
    }

    #[test]
    fn roles_as_json_strings() {
        let r = coerce(
            def("roles"),
            &json!([{"primary": false, "type": "WindowsAzureActiveDirectoryRole",
                     "value": "{\"id\":\"7\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}, "User"]),
            "roles",
        )
        .unwrap();
        assert_eq!(
            r,
            Some(json!([
                {"value": "Admin", "display": "Admin", "primary": false, "type": "WindowsAzureActiveDirectoryRole"},
                {"value": "User"}
            ]))
        );
        // AppRoleAssignmentsComplex POST: a plain object that also says `displayName`.
        let r = coerce(
            def("roles"),
            &json!([{"primary": false, "displayName": "Admin", "value": "Admin"},
                    {"display": "Kept", "displayName": "Ignored", "value": "x"}]),
            "roles",
        )
        .unwrap();
        assert_eq!(
            r,
            Some(json!([
                {"primary": false, "display": "Admin", "value": "Admin"},
                {"display": "Kept", "value": "x"}
            ]))
        );
    }

    #[test]
    fn primary_exclusivity() {
        let d = def("emails");
        assert!(
            check_primary(
                d,
                &json!([{"value": "a", "primary": true}, {"value": "b"}]),
                "emails"
            )
            .is_ok()
        );
        assert!(
            check_primary(
                d,
                &json!([{"value": "a", "primary": true}, {"value": "b", "primary": true}]),
                "emails"
            )
            .is_err()
        );
    }
}
