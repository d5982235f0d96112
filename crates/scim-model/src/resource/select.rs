//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) and `returned` characteristics.

use serde_json::{Map, Value};

use crate::path::parse_attr_path;
use crate::schema::{AttributeDef, ResourceSchema, Returned};
use crate::urn::known_schema_urn;

/// One parsed selection entry, in canonical names.
#[derive(Debug, PartialEq)]
struct Sel {
    /// `None` = top level; `Some(urn)` = inside that extension.
    container: Option<String>,
    /// `None` = the whole container (only for extension URNs).
    attribute: Option<String>,
    sub: Option<String>,
}

fn parse_selection(items: &[String], schema: &ResourceSchema) -> Vec<Sel> {
    items
        .iter()
        .flat_map(|item| item.split(','))
        .filter_map(|raw| {
            // Microsoft's Postman suite sends `attributes=emails[type eq "work"]`; the filter is
            // not part of the RFC syntax, so the whole attribute is selected.
            let raw = strip_value_filter(raw.trim());
            if raw.is_empty() {
                return None;
            }
            if let Some(urn) = known_schema_urn(&raw) {
                let ext = schema.extension(urn)?;
                return Some(Sel {
                    container: Some(ext.schema.id.clone()),
                    attribute: None,
                    sub: None,
                });
            }
            let r = schema.resolve(&parse_attr_path(&raw).ok()?)?;
            Some(Sel {
                container: r.extension.map(str::to_string),
                attribute: Some(r.attribute.name.clone()),
                sub: r.sub_attribute.map(|s| s.name.clone()),
            })
        })
        .collect()
}

fn strip_value_filter(s: &str) -> String {
    match (s.find('['), s.rfind(']')) {
        (Some(open), Some(close)) if close > open => format!("{}{}", &s[..open], &s[close + 1..]),
        _ => s.to_string(),
    }
}

/// Projects a resource for a response. `attributes` wins over defaults; `excludedAttributes`
/// then removes; `returned: always` survives both and `returned: never` never appears.
pub fn apply_attribute_selection(
    resource: &Value,
    attributes: &[String],
    excluded: &[String],
    schema: &ResourceSchema,
) -> Value {
    let Some(obj) = resource.as_object() else {
        return resource.clone();
    };
    let include = parse_selection(attributes, schema);
    let exclude = parse_selection(excluded, schema);
    // A list naming only unknown attributes still selects: it yields just the `always` ones.
    let include_mode = attributes.iter().any(|a| !a.trim().is_empty());
    let sel = Selection {
        include_mode,
        include: &include,
        exclude: &exclude,
    };
    let mut out = project(obj, None, &sel, schema);
    if let Some(schemas) = obj.get("schemas") {
        out.insert("schemas".into(), schemas.clone());
    }
    Value::Object(out)
}

struct Selection<'a> {
    include_mode: bool,
    include: &'a [Sel],
    exclude: &'a [Sel],
}

fn project(
    obj: &Map<String, Value>,
    container: Option<&str>,
    sel: &Selection<'_>,
    schema: &ResourceSchema,
) -> Map<String, Value> {
    let (include, exclude) = (sel.include, sel.exclude);
    let in_container = |s: &&Sel| s.container.as_deref() == container;
    let whole_container_included = include
        .iter()
        .filter(in_container)
        .any(|s| s.attribute.is_none());
    let mut out = Map::new();
    for (key, v) in obj {
        if container.is_none()
            && let Some(ext) = schema.extension(key)
        {
            let Some(inner) = v.as_object() else { continue };
            let urn = ext.schema.id.as_str();
            if exclude
                .iter()
                .any(|s| s.container.as_deref() == Some(urn) && s.attribute.is_none())
            {
                continue;
            }
            let p = project(inner, Some(urn), sel, schema);
            if !p.is_empty() {
                out.insert(key.clone(), Value::Object(p));
            }
            continue;
        }
        let def = match container {
            None => schema.top_level_attribute(key),
            Some(urn) => schema.extension(urn).and_then(|e| e.schema.attribute(key)),
        };
        let Some(def) = def else {
            // Unknown keys are not part of the SCIM view; keep them only in the default view.
            if !sel.include_mode && key != "schemas" {
                out.insert(key.clone(), v.clone());
            }
            continue;
        };
        let named = |list: &[Sel]| -> Vec<Option<String>> {
            list.iter()
                .filter(in_container)
                .filter(|s| {
                    s.attribute
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(&def.name))
                })
                .map(|s| s.sub.clone())
                .collect()
        };
        let inc = named(include);
        let exc = named(exclude);
        let projected = match def.returned {
            Returned::Never => None,
            Returned::Always => Some(strip_never(def, v)),
            _ if exc.iter().any(Option::is_none) => None,
            Returned::Default if !sel.include_mode || whole_container_included => {
                Some(strip_never(def, v))
            }
            _ if inc.iter().any(Option::is_none) => Some(strip_never(def, v)),
            _ if !inc.is_empty() => Some(keep_subs(def, v, &inc)),
            _ => None,
        };
        let Some(mut projected) = projected else {
            continue;
        };
        let excluded_subs: Vec<&String> = exc.iter().flatten().collect();
        if !excluded_subs.is_empty() {
            drop_subs(def, &mut projected, &excluded_subs);
        }
        out.insert(def.name.clone(), projected);
    }
    out
}

fn for_each_element(v: &mut Value, mut f: impl FnMut(&mut Map<String, Value>)) {
    match v {
        Value::Object(o) => f(o),
        Value::Array(a) => a.iter_mut().filter_map(Value::as_object_mut).for_each(f),
        _ => {}
    }
}

fn strip_never(def: &AttributeDef, v: &Value) -> Value {
    let mut v = v.clone();
    remove_never_returned_subs(def, &mut v);
    v
}

/// Removes, in place, the sub-attributes of `def` whose `returned` is `never`.
fn remove_never_returned_subs(def: &AttributeDef, v: &mut Value) {
    let never: Vec<&str> = def
        .sub_attributes
        .iter()
        .filter(|s| s.returned == Returned::Never)
        .map(|s| s.name.as_str())
        .collect();
    if !never.is_empty() {
        for_each_element(v, |o| {
            o.retain(|k, _| !never.iter().any(|n| n.eq_ignore_ascii_case(k)))
        });
    }
}

fn keep_subs(def: &AttributeDef, v: &Value, subs: &[Option<String>]) -> Value {
    let mut v = strip_never(def, v);
    let keep = |k: &str| {
        def.sub_attribute(k)
            .is_some_and(|s| s.returned == Returned::Always)
            || subs.iter().flatten().any(|s| s.eq_ignore_ascii_case(k))
    };
    for_each_element(&mut v, |o| o.retain(|k, _| keep(k)));
    if let Value::Array(a) = &mut v {
        a.retain(|e| e.as_object().is_none_or(|o| !o.is_empty()));
    }
    v
}

fn drop_subs(def: &AttributeDef, v: &mut Value, subs: &[&String]) {
    let drop = |k: &str| {
        subs.iter().any(|s| s.eq_ignore_ascii_case(k))
            && def
                .sub_attribute(k)
                .is_none_or(|s| s.returned != Returned::Always)
    };
    for_each_element(v, |o| o.retain(|k, _| !drop(k)));
}

/// Removes attributes whose `returned` is `never` (e.g. `password`) at every level.
pub fn strip_never_returned(resource: &mut Value, schema: &ResourceSchema) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    strip_map(obj, schema.common.iter().chain(&schema.core.attributes));
    for ext in &schema.extensions {
        if let Some(Value::Object(inner)) = obj.get_mut(&ext.schema.id) {
            strip_map(inner, ext.schema.attributes.iter());
        }
    }
}

fn strip_map<'a>(obj: &mut Map<String, Value>, defs: impl Iterator<Item = &'a AttributeDef>) {
    // Every returned resource passes here, so only the few attributes that hide something
    // are looked at, and values are changed in place, never copied.
    for def in defs {
        let hides_subs = def
            .sub_attributes
            .iter()
            .any(|sub| sub.returned == Returned::Never);
        if def.returned != Returned::Never && !hides_subs {
            continue;
        }
        let keys: Vec<String> = obj
            .keys()
            .filter(|k| k.eq_ignore_ascii_case(&def.name))
            .cloned()
            .collect();
        for k in keys {
            if def.returned == Returned::Never {
                obj.remove(&k);
            } else if let Some(v) = obj.get_mut(&k) {
                remove_never_returned_subs(def, v);
            }
        }
    }
}
