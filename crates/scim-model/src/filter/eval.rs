//! In-memory filter evaluation (used for PATCH value filters and for tests of the SQL compiler).
//!
//! Semantics: a comparison on a multi-valued attribute matches if any value matches; `ne` and
//! `not` match resources where the attribute is absent (they negate "some value equals");
//! a complex attribute compared without a sub-attribute is compared through its `value`;
//! the User's `userName` compares by its identity key (`normalize_user_name`).

use std::cmp::Ordering;

use serde_json::Value;

use super::{CompareOp, CompareValue, Filter};
use crate::path::AttrPath;
use crate::resource::{fold_user_name, normalize_user_name};
use crate::schema::{AttrType, AttributeDef, ResourceSchema};
use crate::value::{elements, get_ci, is_present, parse_bool_str, parse_datetime};

/// Whether `resource` matches `filter`, with case rules and types from `schema`.
pub fn matches(filter: &Filter, resource: &Value, schema: &ResourceSchema) -> bool {
    eval(filter, Scope::Resource(resource, schema))
}

/// Whether one element of a multi-valued complex attribute matches a value filter.
pub(crate) fn element_matches(filter: &Filter, element: &Value, parent: &AttributeDef) -> bool {
    eval(filter, Scope::Element(element, parent))
}

#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a Value, &'a ResourceSchema),
    Element(&'a Value, &'a AttributeDef),
}

fn eval(f: &Filter, scope: Scope<'_>) -> bool {
    match f {
        Filter::And(a, b) => eval(a, scope) && eval(b, scope),
        Filter::Or(a, b) => eval(a, scope) || eval(b, scope),
        Filter::Not(inner) => !eval(inner, scope),
        Filter::Present(path) => {
            values(scope, path).is_some_and(|(vals, _)| vals.into_iter().any(is_present))
        }
        Filter::Compare { path, op, value } => {
            let Some((vals, def)) = values(scope, path) else {
                return false;
            };
            let any_eq = |op| vals.iter().any(|v| compare(v, op, value, def));
            match (op, value) {
                (CompareOp::Eq, CompareValue::Null) => !vals.iter().any(|v| is_present(v)),
                (CompareOp::Ne, CompareValue::Null) => vals.iter().any(|v| is_present(v)),
                (CompareOp::Ne, _) => !any_eq(CompareOp::Eq),
                (op, _) => any_eq(*op),
            }
        }
        Filter::ValuePath { path, filter } => {
            let Scope::Resource(resource, schema) = scope else {
                return false;
            };
            let Some(resolved) = schema.resolve(path) else {
                return false;
            };
            if resolved.sub_attribute.is_some() {
                return false;
            }
            raw_attribute(resource, resolved.extension, &resolved.attribute.name).is_some_and(
                |raw| {
                    elements(raw)
                        .into_iter()
                        .any(|e| element_matches(filter, e, resolved.attribute))
                },
            )
        }
    }
}

fn raw_attribute<'a>(
    resource: &'a Value,
    extension: Option<&str>,
    name: &str,
) -> Option<&'a Value> {
    let mut container = resource.as_object()?;
    if let Some(urn) = extension {
        container = get_ci(container, urn)?.as_object()?;
    }
    get_ci(container, name)
}

/// The values a path selects, flattened, and the definition they are compared under.
fn values<'a>(scope: Scope<'a>, path: &AttrPath) -> Option<(Vec<&'a Value>, &'a AttributeDef)> {
    let (raw, attr, sub) = match scope {
        Scope::Resource(resource, schema) => {
            let r = schema.resolve(path)?;
            (
                raw_attribute(resource, r.extension, &r.attribute.name),
                r.attribute,
                r.sub_attribute,
            )
        }
        Scope::Element(element, parent) => {
            if path.schema_urn.is_some() || path.sub_attribute.is_some() {
                return None;
            }
            let def = parent.sub_attribute(&path.attribute)?;
            (
                element.as_object().and_then(|o| get_ci(o, &def.name)),
                def,
                None,
            )
        }
    };
    let tops = raw.map(elements).unwrap_or_default();
    let sub = match sub {
        Some(s) => Some(s),
        None if attr.is_complex() => attr.sub_attribute("value"),
        None => None,
    };
    Some(match sub {
        Some(sub) => {
            let vals = tops
                .into_iter()
                .filter_map(|t| t.as_object().and_then(|o| get_ci(o, &sub.name)))
                .flat_map(elements)
                .collect();
            (vals, sub)
        }
        None => (tops, attr),
    })
}

fn compare(actual: &Value, op: CompareOp, expected: &CompareValue, def: &AttributeDef) -> bool {
    match def.type_ {
        AttrType::Boolean => {
            let a = match actual {
                Value::Bool(b) => Some(*b),
                Value::String(s) => parse_bool_str(s),
                _ => None,
            };
            op == CompareOp::Eq && a.is_some() && a == expected.as_bool()
        }
        AttrType::Integer | AttrType::Decimal => {
            let a = match actual {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            match (a, expected.as_f64()) {
                (Some(a), Some(e)) => a.partial_cmp(&e).is_some_and(|o| ordering_matches(op, o)),
                _ => false,
            }
        }
        AttrType::DateTime => {
            let (Some(a), Some(e)) = (actual.as_str(), expected.as_text()) else {
                return false;
            };
            match (parse_datetime(a), parse_datetime(&e)) {
                (Some(a), Some(e)) if !op.is_substring() => ordering_matches(op, a.cmp(&e)),
                _ => compare_text(a, &e, op, def.case_exact),
            }
        }
        AttrType::Complex => false,
        AttrType::String | AttrType::Reference | AttrType::Binary => {
            match (actual.as_str(), expected.as_text()) {
                (Some(a), Some(e)) if is_user_name(def) => compare_user_name(a, &e, op),
                (Some(a), Some(e)) => compare_text(a, &e, op, def.case_exact),
                _ => false,
            }
        }
    }
}

/// The User's `userName`, by identity rather than by name: an extension may define its own
/// attribute of that name, which is an ordinary string.
fn is_user_name(def: &AttributeDef) -> bool {
    crate::schema::user()
        .core
        .attribute("userName")
        .is_some_and(|user_name| std::ptr::eq(user_name, def))
}

/// userName compares by its identity key, as uniqueness does and as the directory's SQL does
/// against its key column: a filter for one form of a name must find the user stored under
/// another, or an IdP would miss the user and then collide on create.
fn compare_user_name(actual: &str, expected: &str, op: CompareOp) -> bool {
    let a = normalize_user_name(actual);
    // A fragment's edge spaces are part of the pattern; only whole names are trimmed.
    match op {
        CompareOp::Co => a.contains(&fold_user_name(expected)),
        CompareOp::Sw => a.starts_with(&fold_user_name(expected)),
        CompareOp::Ew => a.ends_with(&fold_user_name(expected)),
        _ => ordering_matches(op, a.cmp(&normalize_user_name(expected))),
    }
}

fn compare_text(actual: &str, expected: &str, op: CompareOp, case_exact: bool) -> bool {
    let (a, e) = if case_exact {
        (actual.to_string(), expected.to_string())
    } else {
        (actual.to_lowercase(), expected.to_lowercase())
    };
    match op {
        CompareOp::Co => a.contains(&e),
        CompareOp::Sw => a.starts_with(&e),
        CompareOp::Ew => a.ends_with(&e),
        _ => ordering_matches(op, a.cmp(&e)),
    }
}

fn ordering_matches(op: CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter::parse_filter;
    use crate::schema::{group, user};

    fn bjensen() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "701984",
            "userName": "bjensen@example.com",
            "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara"},
            "displayName": "Babs Jensen",
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "ims": [{"value": "someaimhandle", "type": "aim"}],
            "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
                     "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3694e05e9dff591\""},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984", "department": "Tour Operations",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
            }
        })
    }

    fn m(f: &str) -> bool {
        matches(&parse_filter(f).unwrap(), &bjensen(), user())
    }

    #[test]
    fn user_name_compares_by_its_identity_key() {
        let user_with = |name: &str| {
            let mut user = bjensen();
            user["userName"] = json!(name);
            user
        };
        let m_on =
            |name: &str, f: &str| matches(&parse_filter(f).unwrap(), &user_with(name), user());
        assert!(m(r#"userName eq "ｂｊｅｎｓｅｎ@ｅｘａｍｐｌｅ.ｃｏｍ""#));
        assert!(m(r#"userName eq " BJensen@Example.com ""#));
        assert!(!m(r#"userName ne "ＢＪＥＮＳＥＮ@example.com""#));
        assert!(m_on("Straße", r#"userName eq "STRASSE""#));
        assert!(m_on("ﬁnn", r#"userName sw "FI""#));
        assert!(m_on("\u{212a}elvin", r#"userName co "KEL""#));
        assert!(m_on("José", "userName ew \"E\u{301}\""));
        // A fragment's spaces are not trimmed: " x" is not in a name that has no space.
        assert!(!m_on("alice", r#"userName co " ali""#));
        // Other case-insensitive attributes keep plain lowercase comparison.
        assert!(!m(r#"displayName eq "ＢＡＢＳ ＪＥＮＳＥＮ""#));
    }

    #[test]
    fn rfc_style_filters() {
        assert!(m(r#"userName eq "BJENSEN@example.com""#));
        assert!(m(r#"UserName Eq "bjensen@example.com""#));
        assert!(!m(r#"externalId eq "701984x""#));
        assert!(
            !m(r#"id eq "2819C223-7F76-453A-919D-413861904646""#),
            "id is caseExact"
        );
        assert!(m(r#"name.familyName co "ens""#));
        assert!(m(r#"userName sw "bj""#));
        assert!(m(r#"userName ew "EXAMPLE.COM""#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B""#
        ));
        assert!(m("title pr"));
        assert!(!m("nickName pr"));
        assert!(m(r#"meta.lastModified gt "2011-05-13T00:00:00Z""#));
        assert!(m(r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#));
        assert!(!m(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#));
        assert!(m(r#"meta.created le "2010-01-23T04:56:22Z""#));
        assert!(m(r#"title pr and userType eq "Employee""#));
        assert!(m(r#"title pr or userType eq "Intern""#));
        assert!(m(
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#
        ));
        assert!(!m(
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#
        ));
        assert!(m(r#"userType eq "Employee" and (emails.type eq "work")"#));
        assert!(m(
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#
        ));
        assert!(m(
            r#"emails[type eq "home" and value co "@example.com"] or ims[type eq "aim" and value co "handle"]"#
        ));
        assert!(!m(r#"emails[type eq "home" and value co "@example.com"]"#));
        assert!(m(
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#
        ));
        assert!(!m(r#"schemas eq "urn:example""#));
    }

    #[test]
    fn idp_lookups() {
        assert!(m(
            r#"emails[type eq "work"].value eq "BJensen@Example.com""#
        ));
        assert!(!m(
            r#"emails[type eq "home"].value eq "bjensen@example.com""#
        ));
        assert!(
            m("externalId eq 701984"),
            "unquoted numeric value against a string attribute"
        );
        assert!(m(r#"displayName eq "babs jensen""#));
        assert!(m(r#"active eq true"#));
        assert!(m(r#"active eq "True""#));
        assert!(!m(r#"active eq false"#));
        assert!(m(
            "id eq 2819c223-7f76-453a-919d-413861904646 and manager eq 26118915-6090-4610-87e4-49d8ca9f808d"
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr"#
        ));
        assert!(m("employeeNumber eq 701984"));
    }

    #[test]
    fn negation_and_absence() {
        assert!(m(r#"nickName ne "x""#), "ne matches an absent attribute");
        assert!(m(r#"not (nickName eq "x")"#));
        assert!(m("nickName eq null"));
        assert!(m("title ne null"));
        assert!(
            !m(r#"emails.value ne "babs@jensen.org""#),
            "some email equals"
        );
        assert!(!m("unknownAttr pr"));
        assert!(!m(r#"active gt true"#));
    }

    #[test]
    fn groups() {
        let g = json!({"id": "g1", "displayName": "Tour Guides",
                       "members": [{"value": "2819c223", "display": "Babs"}]});
        let mg = |f: &str| matches(&parse_filter(f).unwrap(), &g, group());
        assert!(mg(r#"displayName eq "tour guides""#));
        assert!(mg(r#"members[value eq "2819c223"]"#));
        assert!(!mg(r#"members.value eq "2819C223""#));
        assert!(mg(r#"members eq "2819c223""#));
    }
}
