//! Validation and normalisation of User and Group bodies for create and replace, plus the
//! accessors the gateway and directory need for indexing.

mod select;

use caseless::Caseless;
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

pub use select::{apply_attribute_selection, strip_never_returned};

use crate::error::ScimError;
use crate::limits;
use crate::schema::{self, AttrType, AttributeDef, Mutability, ResourceSchema};
use crate::value::{check_primary, coerce, get_ci, remove_ci};

/// The identity of a `userName`: two names are the same user when their keys are equal. The
/// name is stored as given; only uniqueness claims, the directory's lookup column and filters
/// use the key.
///
/// RFC 7643 makes userName case-insensitive, and lowercase alone is not enough for that: an
/// IdP or a user may send the fullwidth, ligature or compatibility form of a name
/// ("ａｌｉｃｅ", "ﬁ", U+212A KELVIN SIGN), or "ß" for "ss", and each would otherwise pass
/// uniqueness as a second user who looks like the first.
pub fn normalize_user_name(user_name: &str) -> String {
    fold_user_name(user_name.trim())
}

/// The key's folding without the trim, for filter operands that are parts of a name (`sw`,
/// `co`, `ew`): their edge spaces belong to the pattern, the rest must fold as a whole name
/// does or a fragment would not be found in the key it came from.
///
/// NFKC first so that compatibility forms fold like the letters they stand for; full case
/// folding (not lowercase) so that "ß" and "ss", "ﬁ" and "fi" meet; NFKC again because
/// folding can leave a string unnormalised ("ΐ" U+0390 folds to three code points that NFKC
/// composes again), and keys must compare equal whenever the names are canonically equal.
///
/// The lowercasing before the folding changes nothing for letters both tables know (folding
/// a lowercased letter gives the letter's folding) but covers letters newer than caseless's
/// Unicode 16 tables, which std's lowercase already maps (U+A7CE, the Beria Erfe capitals
/// U+16EA0…): without it their two cases, one user under the old lowercase key, would
/// become two.
pub fn fold_user_name(text: &str) -> String {
    // Nearly every name is ASCII, which NFKC leaves alone and full case folding lowercases:
    // the same key without the three passes, on every create, lookup and projected user.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    fold_unicode(text)
}

fn fold_unicode(text: &str) -> String {
    text.nfkc()
        .flat_map(char::to_lowercase)
        .default_case_fold()
        .nfkc()
        .collect()
}

/// Validates a `POST /Users` body into a canonical resource without `id`/`meta`.
pub fn prepare_new_user(body: &Value) -> Result<Value, ScimError> {
    let mut map = canonicalize(body, schema::user())?;
    // Users are created active unless told otherwise, and the value is stored
    // so that it is returned. A later PATCH `remove` of `active` does unset it
    // (RFC 7644 §3.5.2.2); `is_active` still reads the absence as active.
    if !map.contains_key("active") {
        map.insert("active".into(), Value::Bool(true));
    }
    finalize(map, schema::user())
}

/// Validates a `PUT /Users/{id}` body: readOnly attributes come from `existing`.
pub fn prepare_replaced_user(existing: &Value, body: &Value) -> Result<Value, ScimError> {
    let map = canonicalize(body, schema::user())?;
    let map = carry_over(existing, map, schema::user())?;
    finalize(map, schema::user())
}

/// A group member as a request names it: the member's id and, when the client sent one, the
/// name to show for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    /// `display` as sent (RFC 7643 §2.4: immutable, set by the client with the member).
    /// Microsoft's SCIM test collection writes it `displayName`, which is read the same way.
    pub display: Option<String>,
}

impl Member {
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            display: None,
        }
    }
}

/// Validates a `POST /Groups` body. Members are returned separately (deduplicated by id, in
/// order) because the directory stores membership apart from the group resource.
pub fn prepare_new_group(body: &Value) -> Result<(Value, Vec<Member>), ScimError> {
    let (body, members) = split_members(body)?;
    let map = canonicalize(&body, schema::group())?;
    Ok((finalize(map, schema::group())?, members))
}

/// Validates a `PUT /Groups/{id}` body; the member list replaces the current one.
pub fn prepare_replaced_group(
    existing: &Value,
    body: &Value,
) -> Result<(Value, Vec<Member>), ScimError> {
    let (body, members) = split_members(body)?;
    let map = canonicalize(&body, schema::group())?;
    let map = carry_over(existing, map, schema::group())?;
    Ok((finalize(map, schema::group())?, members))
}

pub fn user_name(resource: &Value) -> Option<&str> {
    resource.get("userName").and_then(Value::as_str)
}

pub fn external_id(resource: &Value) -> Option<&str> {
    resource.get("externalId").and_then(Value::as_str)
}

pub fn display_name(resource: &Value) -> Option<&str> {
    resource.get("displayName").and_then(Value::as_str)
}

/// `active` defaults to true when absent: users are created active unless told otherwise.
pub fn is_active(resource: &Value) -> bool {
    resource
        .get("active")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// `(value, type, primary)` of each email, for the directory's email index.
pub fn email_values(resource: &Value) -> Vec<(String, Option<String>, bool)> {
    let Some(emails) = resource.get("emails").and_then(Value::as_array) else {
        return Vec::new();
    };
    emails
        .iter()
        .filter_map(|e| {
            let value = e.get("value")?.as_str()?.to_string();
            let type_ = e.get("type").and_then(Value::as_str).map(str::to_string);
            let primary = e.get("primary").and_then(Value::as_bool).unwrap_or(false);
            Some((value, type_, primary))
        })
        .collect()
}

/// Canonical attribute names, coerced values, unknown and non-writable attributes dropped.
pub(crate) fn canonicalize(
    body: &Value,
    schema: &ResourceSchema,
) -> Result<Map<String, Value>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax("the resource must be a JSON object".into()))?;
    let mut out = Map::new();
    let mut extensions: Vec<(String, Map<String, Value>)> = Vec::new();
    for (key, v) in obj {
        if v.is_null() || key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            let Some(inner) = v.as_object() else {
                return Err(ScimError::InvalidValue(format!(
                    "'{}' must be an object",
                    ext.schema.id
                )));
            };
            let mut ext_out = Map::new();
            for (k, v) in inner {
                if let Some(def) = ext.schema.attribute(k) {
                    insert_writable(&mut ext_out, def, v)?;
                }
            }
            merge_extension(&mut extensions, &ext.schema.id, ext_out);
            continue;
        }
        // Full-URN keys (`urn:…:enterprise:2.0:User:department`) are accepted in bodies too, and
        // so are unqualified extension attributes (older Entra docs send `"department"` at the
        // top level).
        let Some(resolved) = schema.lookup(key) else {
            continue;
        };
        if resolved.sub_attribute.is_some() {
            continue;
        }
        match resolved.extension {
            None => insert_writable(&mut out, resolved.attribute, v)?,
            Some(urn) => {
                let mut ext_out = Map::new();
                insert_writable(&mut ext_out, resolved.attribute, v)?;
                merge_extension(&mut extensions, urn, ext_out);
            }
        }
    }
    for (urn, ext) in extensions {
        if !ext.is_empty() {
            out.insert(urn, Value::Object(ext));
        }
    }
    Ok(out)
}

fn merge_extension(
    exts: &mut Vec<(String, Map<String, Value>)>,
    urn: &str,
    add: Map<String, Value>,
) {
    match exts.iter_mut().find(|(u, _)| u == urn) {
        Some((_, m)) => m.extend(add),
        None => exts.push((urn.to_string(), add)),
    }
}

/// Inserts a coerced value unless the client may not set it: readOnly values are server-owned
/// and writeOnly ones (`password`) are never stored by this server.
fn insert_writable(
    out: &mut Map<String, Value>,
    def: &AttributeDef,
    v: &Value,
) -> Result<(), ScimError> {
    if matches!(def.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
        return Ok(());
    }
    if let Some(c) = coerce(def, v, &def.name)? {
        out.insert(def.name.clone(), c);
    }
    Ok(())
}

/// PUT: readOnly attributes survive from the stored resource; immutable ones must not change.
fn carry_over(
    existing: &Value,
    mut map: Map<String, Value>,
    schema: &ResourceSchema,
) -> Result<Map<String, Value>, ScimError> {
    let Some(old) = existing.as_object() else {
        return Ok(map);
    };
    for def in schema.common.iter().chain(&schema.core.attributes) {
        match def.mutability {
            Mutability::ReadOnly => {
                map.remove(&def.name);
                if let Some(v) = old.get(&def.name) {
                    map.insert(def.name.clone(), v.clone());
                }
            }
            Mutability::Immutable => {
                if let (Some(new), Some(prev)) = (map.get(&def.name), old.get(&def.name))
                    && new != prev
                {
                    return Err(ScimError::Mutability(format!(
                        "attribute '{}' is immutable",
                        def.name
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(map)
}

/// Sets `schemas`, then checks required attributes and primary exclusivity.
pub(crate) fn finalize(
    mut map: Map<String, Value>,
    schema: &ResourceSchema,
) -> Result<Value, ScimError> {
    remove_ci(&mut map, "schemas");
    prune_hollow_elements(&mut map, &schema.core.attributes);
    let mut urns = vec![Value::String(schema.core.id.clone())];
    for ext in &schema.extensions {
        if map
            .get(&ext.schema.id)
            .is_some_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        {
            urns.push(Value::String(ext.schema.id.clone()));
        } else {
            map.remove(&ext.schema.id);
        }
    }
    for def in &schema.core.attributes {
        let present = map.get(&def.name).is_some_and(|v| match v {
            Value::String(s) => !s.trim().is_empty(),
            other => crate::value::is_present(other),
        });
        if def.required && !present {
            return Err(ScimError::InvalidValue(format!(
                "attribute '{}' is required",
                def.name
            )));
        }
        if let Some(v) = map.get(&def.name) {
            check_primary(def, v, &def.name)?;
        }
    }
    for ext in &schema.extensions {
        if let Some(Value::Object(e)) = map.get(&ext.schema.id) {
            for def in &ext.schema.attributes {
                if let Some(v) = e.get(&def.name) {
                    check_primary(def, v, &def.name)?;
                }
            }
        }
    }
    // `schemas` first reads naturally in responses (serde_json keeps insertion order only
    // with preserve_order; harmless otherwise).
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(urns));
    out.extend(map);
    let resource = Value::Object(out);
    limits::check_resource(&resource)?;
    if let Some(text) = user_name(&resource) {
        limits::check_user_name_key(text)?;
    }
    if let Some(text) = resource.get("displayName").and_then(Value::as_str) {
        limits::check_folded("displayName", text)?;
    }
    for email in resource
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(value) = email.get("value").and_then(Value::as_str) {
            limits::check_folded("emails.value", value)?;
        }
    }
    Ok(resource)
}

/// Drops elements of multi-valued complex attributes that carry nothing but
/// labels (`type`, `primary`, `display`): what is left after an IdP clears
/// `emails[type eq "work"].value` with `""` or `null`. An attribute left with
/// no elements is removed, as if it had never been set.
fn prune_hollow_elements(map: &mut Map<String, Value>, defs: &[AttributeDef]) {
    const LABELS: [&str; 3] = ["type", "primary", "display"];
    for def in defs
        .iter()
        .filter(|d| d.multi_valued && d.type_ == AttrType::Complex)
    {
        let Some(Value::Array(elements)) = map.get_mut(&def.name) else {
            continue;
        };
        elements.retain(|element| match element {
            Value::Object(fields) => fields.iter().any(|(name, value)| {
                !LABELS.iter().any(|label| label.eq_ignore_ascii_case(name))
                    && crate::value::is_present(value)
            }),
            other => crate::value::is_present(other),
        });
        if elements.is_empty() {
            map.remove(&def.name);
        }
    }
}

/// Takes `members` out of a group body: in order, deduplicated by id. A bare string element is
/// accepted as an id (seen from validators).
fn split_members(body: &Value) -> Result<(Value, Vec<Member>), ScimError> {
    let mut body = body.clone();
    let Some(obj) = body.as_object_mut() else {
        return Err(ScimError::InvalidSyntax(
            "the resource must be a JSON object".into(),
        ));
    };
    let members = remove_ci(obj, "members");
    let members = parse_members(members.as_ref())?;
    Ok((body, members))
}

/// Members from a `members` value (array, single object, or bare strings); the first mention
/// of an id wins.
pub(crate) fn parse_members(members: Option<&Value>) -> Result<Vec<Member>, ScimError> {
    let elements = members.map(crate::value::elements).unwrap_or_default();
    limits::check_member_count(elements.len())?;
    let mut parsed: Vec<Member> = Vec::with_capacity(elements.len());
    let mut seen = std::collections::HashSet::with_capacity(elements.len());
    for m in elements {
        let (id, display) = match m {
            Value::String(s) => (s.as_str(), None),
            Value::Object(o) => match get_ci(o, "value") {
                Some(Value::String(s)) => (s.as_str(), member_display(o)?),
                None | Some(Value::Null) => continue,
                Some(_) => {
                    return Err(ScimError::InvalidValue(
                        "members.value must be a string".into(),
                    ));
                }
            },
            _ => {
                return Err(ScimError::InvalidValue(
                    "members must be objects with a 'value'".into(),
                ));
            }
        };
        if id.is_empty() {
            continue;
        }
        limits::check_member_id(id)?;
        if seen.insert(id) {
            parsed.push(Member {
                id: id.to_owned(),
                display,
            });
        }
    }
    Ok(parsed)
}

/// A member's `display` (or `displayName`); empty means none.
fn member_display(member: &Map<String, Value>) -> Result<Option<String>, ScimError> {
    let value = match get_ci(member, "display") {
        None | Some(Value::Null) => get_ci(member, "displayName"),
        given => given,
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => {
            limits::check_string("members.display", text, limits::MAX_MEMBER_DISPLAY_BYTES)?;
            Ok(Some(text.clone()))
        }
        Some(_) => Err(ScimError::InvalidValue(
            "members.display must be a string".into(),
        )),
    }
}

#[cfg(test)]
mod tests;
