//! The semantics of multi-valued attributes under PATCH (RFC 7644 §3.5.2): whole values,
//! sub-attributes of every value, filtered values, and the single `primary` (RFC 7643 §2.4).

use serde_json::{Map, Value};

use super::PatchOp;
use crate::error::ScimError;
use crate::filter::{CompareOp, CompareValue, Filter, element_matches};
use crate::schema::AttributeDef;
use crate::value::{coerce, coerce_single, elements, is_present, remove_ci};

type Obj = Map<String, Value>;

fn take_array(c: &mut Obj, name: &str) -> Vec<Value> {
    match remove_ci(c, name) {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => Vec::new(),
        Some(other) => vec![other],
    }
}

fn put_array(c: &mut Obj, name: &str, mut arr: Vec<Value>) {
    arr.retain(|e| !e.is_null() && e.as_object().is_none_or(|o| !o.is_empty()));
    if !arr.is_empty() {
        c.insert(name.to_string(), Value::Array(arr));
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

/// Setting one value primary clears the flag on the others (RFC 7643 §2.4).
fn clear_other_primaries(arr: &mut [Value], keep: usize) {
    for (i, e) in arr.iter_mut().enumerate() {
        if i != keep
            && is_primary(e)
            && let Some(o) = e.as_object_mut()
        {
            o.insert("primary".into(), Value::Bool(false));
        }
    }
}

fn text_eq(def: Option<&AttributeDef>, a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.and_then(Value::as_str), b.and_then(Value::as_str)) {
        (Some(x), Some(y)) if def.is_some_and(|d| !d.case_exact) => {
            x.to_lowercase() == y.to_lowercase()
        }
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Two values of a multi-valued attribute denote the same thing: same `value` and `type`.
fn same_element(attr: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(x), Some(y)) if attr.sub_attribute("value").is_some() => {
            text_eq(attr.sub_attribute("value"), x.get("value"), y.get("value"))
                && text_eq(attr.sub_attribute("type"), x.get("type"), y.get("type"))
        }
        _ => a == b,
    }
}

/// Whether `listed` (from a remove's `value`) designates `e`: by `value`, and by `type` if given.
fn listed_matches(attr: &AttributeDef, e: &Value, listed: &Value) -> bool {
    match listed.as_object() {
        Some(l) if l.contains_key("value") => {
            text_eq(attr.sub_attribute("value"), e.get("value"), l.get("value"))
                && (!l.contains_key("type")
                    || text_eq(attr.sub_attribute("type"), e.get("type"), l.get("type")))
        }
        _ => e == listed,
    }
}

/// A complex value whose `value` changed is a different referent (a new manager): its other
/// sub-attributes (`$ref`) must not survive a merge.
fn identity_changed(attr: &AttributeDef, old: &Obj, new: &Obj) -> bool {
    attr.sub_attribute("value").is_some()
        && new.contains_key("value")
        && old.get("value") != new.get("value")
}

pub(super) fn apply_whole(
    c: &mut Obj,
    op: PatchOp,
    attr: &AttributeDef,
    value: &Value,
    name: &str,
) -> Result<(), ScimError> {
    if op == PatchOp::Remove {
        if attr.required {
            return Err(ScimError::Mutability(format!(
                "required attribute '{name}' cannot be removed"
            )));
        }
        if attr.multi_valued && is_present(value) {
            // Entra removes multi-valued entries by listing them in `value` (non-RFC).
            let listed = coerce(attr, value, name)?.unwrap_or(Value::Null);
            let listed = elements(&listed);
            let mut arr = take_array(c, &attr.name);
            arr.retain(|e| !listed.iter().any(|l| listed_matches(attr, e, l)));
            put_array(c, &attr.name, arr);
        } else {
            remove_ci(c, &attr.name);
        }
        return Ok(());
    }
    let Some(new) = coerce(attr, value, name)? else {
        // null / "" / [] clears (Entra's null-and-empty update test).
        remove_ci(c, &attr.name);
        return Ok(());
    };
    if attr.multi_valued && op == PatchOp::Add {
        let mut arr = take_array(c, &attr.name);
        for item in elements(&new) {
            let idx = match arr.iter().position(|e| same_element(attr, e, item)) {
                Some(i) => {
                    if let (Some(Value::Object(old)), Value::Object(add)) = (arr.get_mut(i), item) {
                        old.extend(add.clone());
                    }
                    i
                }
                None => {
                    arr.push(item.clone());
                    arr.len() - 1
                }
            };
            if arr.get(idx).is_some_and(is_primary) {
                clear_other_primaries(&mut arr, idx);
            }
        }
        put_array(c, &attr.name, arr);
    } else if attr.is_complex() && !attr.multi_valued {
        let merged = match (remove_ci(c, &attr.name), new) {
            (Some(Value::Object(mut old)), Value::Object(add))
                if !identity_changed(attr, &old, &add) =>
            {
                old.extend(add);
                Value::Object(old)
            }
            (_, new) => new,
        };
        c.insert(attr.name.clone(), merged);
    } else {
        remove_ci(c, &attr.name);
        c.insert(attr.name.clone(), new);
    }
    Ok(())
}

fn set_sub(el: &mut Obj, attr: &AttributeDef, sub: &AttributeDef, v: Option<&Value>) {
    if let Some(v) = v
        && sub.name == "value"
        && !attr.multi_valued
        && el.get("value").is_some_and(|old| old != v)
    {
        el.clear();
    }
    remove_ci(el, &sub.name);
    if let Some(v) = v {
        el.insert(sub.name.clone(), v.clone());
    }
}

/// `attr.sub` without a filter: on a multi-valued attribute it addresses every value.
pub(super) fn apply_sub(
    c: &mut Obj,
    op: PatchOp,
    attr: &AttributeDef,
    sub: &AttributeDef,
    value: &Value,
    name: &str,
) -> Result<(), ScimError> {
    let new = if op == PatchOp::Remove {
        None
    } else {
        coerce(sub, value, name)?
    };
    let mut arr = take_array(c, &attr.name);
    if arr.is_empty() && new.is_some() {
        arr.push(Value::Object(Map::new()));
    }
    for el in arr.iter_mut() {
        if let Some(o) = el.as_object_mut() {
            set_sub(o, attr, sub, new.as_ref());
        }
    }
    if attr.multi_valued {
        put_array(c, &attr.name, arr);
    } else if let Some(obj) = arr
        .into_iter()
        .find(|e| e.as_object().is_some_and(|o| !o.is_empty()))
    {
        c.insert(attr.name.clone(), obj);
    }
    Ok(())
}

/// The element an `eq`-only filter describes (`type eq "work"` → `{"type": "work"}`), used to
/// create a missing value as Entra expects for `emails[type eq "work"].value`.
fn template(filter: &Filter, attr: &AttributeDef) -> Option<Obj> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.schema_urn.is_none() && path.sub_attribute.is_none() => {
            let sub = attr.sub_attribute(&path.attribute)?;
            let raw = match value {
                CompareValue::String(s) => Value::String(s.clone()),
                CompareValue::Bool(b) => Value::Bool(*b),
                CompareValue::Number(n) => Value::Number(n.clone()),
                CompareValue::Null => return None,
            };
            let v = coerce(sub, &raw, &sub.name).ok()??;
            let mut m = Map::new();
            m.insert(sub.name.clone(), v);
            Some(m)
        }
        Filter::And(a, b) => {
            let mut m = template(a, attr)?;
            m.extend(template(b, attr)?);
            Some(m)
        }
        _ => None,
    }
}

pub(super) fn apply_filtered(
    c: &mut Obj,
    op: PatchOp,
    attr: &AttributeDef,
    filter: &Filter,
    sub: Option<&AttributeDef>,
    value: &Value,
    name: &str,
) -> Result<(), ScimError> {
    let mut arr = take_array(c, &attr.name);
    let matched: Vec<usize> = arr
        .iter()
        .enumerate()
        .filter(|(_, e)| element_matches(filter, e, attr))
        .map(|(i, _)| i)
        .collect();
    let no_target = || {
        ScimError::NoTarget(format!(
            "no value of '{name}' matches and none can be created from the filter"
        ))
    };
    let mut primary_at: Option<usize> = None;
    match (op, sub) {
        (PatchOp::Remove, None) => {
            let mut i = 0;
            arr.retain(|_| {
                i += 1;
                !matched.contains(&(i - 1))
            });
        }
        (_, Some(s)) => {
            let new = if op == PatchOp::Remove {
                None
            } else {
                coerce(s, value, name)?
            };
            let created = matched.is_empty() && new.is_some();
            let targets = if created {
                let el = template(filter, attr).ok_or_else(no_target)?;
                arr.push(Value::Object(el));
                vec![arr.len() - 1]
            } else {
                matched
            };
            for &i in &targets {
                if let Some(Value::Object(o)) = arr.get_mut(i) {
                    set_sub(o, attr, s, new.as_ref());
                }
            }
            let first = targets.first().copied();
            if (s.name == "primary" && new == Some(Value::Bool(true)))
                || (created && first.and_then(|i| arr.get(i)).is_some_and(is_primary))
            {
                primary_at = first;
            }
        }
        (_, None) => {
            let one = match value {
                Value::Array(a) if a.len() == 1 => a.first().unwrap_or(&Value::Null),
                other => other,
            };
            let new = coerce_single(attr, one, name)?;
            match new {
                None => {
                    let mut i = 0;
                    arr.retain(|_| {
                        i += 1;
                        !matched.contains(&(i - 1))
                    });
                }
                Some(Value::Object(new)) => {
                    let base = template(filter, attr);
                    if matched.is_empty() {
                        let mut el = base.clone().ok_or_else(no_target)?;
                        el.extend(new.clone());
                        arr.push(Value::Object(el));
                        primary_at =
                            Some(arr.len() - 1).filter(|i| arr.get(*i).is_some_and(is_primary));
                    }
                    for &i in &matched {
                        if let Some(Value::Object(o)) = arr.get_mut(i) {
                            if op == PatchOp::Replace {
                                *o = base.clone().unwrap_or_default();
                            }
                            o.extend(new.clone());
                        }
                        if primary_at.is_none() && arr.get(i).is_some_and(is_primary) {
                            primary_at = Some(i);
                        }
                    }
                }
                Some(_) => {
                    return Err(ScimError::InvalidValue(format!(
                        "'{name}' needs an object value"
                    )));
                }
            }
        }
    }
    if let Some(i) = primary_at {
        clear_other_primaries(&mut arr, i);
    }
    put_array(c, &attr.name, arr);
    Ok(())
}
