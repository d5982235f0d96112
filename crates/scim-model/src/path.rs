//! Attribute paths (`attrPath` in RFC 7644 §3.4.2.2 / §3.5.2).

use std::fmt;

use crate::error::ScimError;

/// `[schemaURN ":"] attribute ["." subAttribute]`, names kept as the client spelled them;
/// resolution against a schema is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub schema_urn: Option<String>,
    /// Empty only for a PATCH path naming a whole extension (`"urn:…:enterprise:2.0:User"`).
    pub attribute: String,
    pub sub_attribute: Option<String>,
}

impl AttrPath {
    pub fn new(attribute: impl Into<String>) -> Self {
        AttrPath {
            schema_urn: None,
            attribute: attribute.into(),
            sub_attribute: None,
        }
    }

    pub fn with_sub(attribute: impl Into<String>, sub: impl Into<String>) -> Self {
        AttrPath {
            schema_urn: None,
            attribute: attribute.into(),
            sub_attribute: Some(sub.into()),
        }
    }

    /// Whether this names a whole schema extension rather than an attribute.
    pub fn is_whole_extension(&self) -> bool {
        self.attribute.is_empty() && self.schema_urn.is_some()
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.schema_urn, self.attribute.is_empty()) {
            (Some(urn), true) => return f.write_str(urn),
            (Some(urn), false) => write!(f, "{urn}:{}", self.attribute)?,
            (None, _) => f.write_str(&self.attribute)?,
        }
        if let Some(sub) = &self.sub_attribute {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Parses an attribute path. The URN prefix ends at the last `:`, so the `2.0` inside
/// `urn:…:enterprise:2.0:User:manager.value` is never taken for a sub-attribute separator.
pub fn parse_attr_path(input: &str) -> Result<AttrPath, ScimError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(ScimError::InvalidPath("empty attribute path".into()));
    }
    if crate::urn::known_schema_urn(s).is_some() {
        return Err(ScimError::InvalidPath(format!(
            "'{s}' names a schema, not an attribute"
        )));
    }
    let (schema_urn, rest) = if let Some((urn, rest)) = dotted_schema_urn(s) {
        (Some(urn.to_string()), rest)
    } else if starts_with_ignore_case(s, "urn:") {
        match s.rfind(':') {
            Some(idx) if idx + 1 < s.len() => (Some(s[..idx].to_string()), &s[idx + 1..]),
            _ => {
                return Err(ScimError::InvalidPath(format!(
                    "'{s}' has no attribute name"
                )));
            }
        }
    } else {
        (None, s)
    };
    let mut parts = rest.split('.');
    let attribute = parts.next().unwrap_or_default();
    let sub_attribute = parts.next();
    if parts.next().is_some() {
        return Err(ScimError::InvalidPath(format!(
            "'{s}' nests deeper than one sub-attribute"
        )));
    }
    check_name(attribute, s)?;
    if let Some(sub) = sub_attribute {
        check_name(sub, s)?;
    }
    Ok(AttrPath {
        schema_urn,
        attribute: attribute.to_string(),
        sub_attribute: sub_attribute.map(str::to_string),
    })
}

/// `urn:…:enterprise:2.0:User.manager`: a known schema URN joined to its attribute by a `.`
/// instead of the `:` of RFC 7644 §3.10. Microsoft's `SCIM Inbound` test collection sends
/// this form, and read as RFC syntax it would name an attribute `User` of a schema
/// `urn:…:2.0`. Only known URNs qualify, so no real `a.b` path is reinterpreted.
fn dotted_schema_urn(s: &str) -> Option<(&'static str, &str)> {
    let (urn_part, rest) = s.split_at_checked(s.rfind(':')? + 1)?;
    let (last_segment, attribute) = rest.split_once('.')?;
    let urn = crate::urn::known_schema_urn(&format!("{urn_part}{last_segment}"))?;
    Some((urn, attribute))
}

/// ATTRNAME = ALPHA *(nameChar); `$ref` is the one RFC name outside that grammar.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_name(name: &str, whole: &str) -> Result<(), ScimError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(ScimError::InvalidPath(format!(
            "invalid attribute name '{name}' in '{whole}'"
        )))
    }
}

pub(crate) fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn simple_and_sub() {
        assert_eq!(
            parse_attr_path("userName").unwrap(),
            AttrPath::new("userName")
        );
        assert_eq!(
            parse_attr_path("name.givenName").unwrap(),
            AttrPath::with_sub("name", "givenName")
        );
        assert_eq!(
            parse_attr_path("members.$ref").unwrap(),
            AttrPath::with_sub("members", "$ref")
        );
    }

    #[test]
    fn urn_with_version_dot() {
        let p = parse_attr_path(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert_eq!(
            p.schema_urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(p.attribute, "manager");
        assert_eq!(p.sub_attribute.as_deref(), Some("value"));
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
    }

    #[test]
    fn dot_after_a_known_schema_urn_separates_the_attribute() {
        let p =
            parse_attr_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager")
                .unwrap();
        assert_eq!(
            p.schema_urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(p.attribute, "manager");
        assert_eq!(p.sub_attribute, None);
        let p =
            parse_attr_path("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER.name.givenName").unwrap();
        assert_eq!(
            p.schema_urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:core:2.0:User")
        );
        assert_eq!(
            p,
            AttrPath {
                schema_urn: p.schema_urn.clone(),
                ..AttrPath::with_sub("name", "givenName")
            }
        );
        // An unknown URN keeps the RFC reading: the last `:` ends the URN.
        let p = parse_attr_path("urn:example:custom:2.0:Thing.field").unwrap();
        assert_eq!(p.schema_urn.as_deref(), Some("urn:example:custom:2.0"));
        assert_eq!(p.attribute, "Thing");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_attr_path("").is_err());
        assert!(parse_attr_path("a.b.c").is_err());
        assert!(parse_attr_path("1abc").is_err());
        assert!(parse_attr_path("emails[type eq \"work\"]").is_err());
        assert!(
            parse_attr_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").is_err()
        );
    }
}
