//! SCIM filters (RFC 7644 §3.4.2.2): AST, canonical printing, schema validation.

mod eval;
mod lexer;
mod parser;

use std::fmt;

use serde_json::Value;

pub(crate) use eval::element_matches;
pub use eval::matches;
pub use parser::parse_filter;
pub(crate) use parser::parse_value_filter;

use crate::error::ScimError;
pub use crate::path::{AttrPath, parse_attr_path};
use crate::schema::{AttrType, AttributeDef, ResourceSchema};

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompareValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`; paths inside `filter` name sub-attributes of `path`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompareValue {
    String(String),
    Number(serde_json::Number),
    Bool(bool),
    Null,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Every operator of RFC 7644 §3.4.2.2.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    pub fn parse(s: &str) -> Option<CompareOp> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(s))
    }

    /// Ordering operators are undefined for booleans and binary data (RFC 7644 §3.4.2.2).
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }

    pub fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl CompareValue {
    /// The value as text, for comparisons against string attributes: IdP tools send
    /// unquoted ids such as `externalId eq 12345`.
    pub fn as_text(&self) -> Option<String> {
        match self {
            CompareValue::String(s) => Some(s.clone()),
            CompareValue::Number(n) => Some(n.to_string()),
            CompareValue::Bool(b) => Some(b.to_string()),
            CompareValue::Null => None,
        }
    }

    /// The value as a boolean, accepting `"True"`/`"False"` strings.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            CompareValue::Bool(b) => Some(*b),
            CompareValue::String(s) => crate::value::parse_bool_str(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            CompareValue::Number(n) => n.as_f64(),
            CompareValue::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

impl fmt::Display for CompareValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // serde_json's Display writes a correctly escaped JSON string literal.
            CompareValue::String(s) => write!(f, "{}", Value::String(s.clone())),
            CompareValue::Number(n) => write!(f, "{n}"),
            CompareValue::Bool(b) => write!(f, "{b}"),
            CompareValue::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(a, b) => write_binary(f, a, "and", b),
            Filter::Or(a, b) => write_binary(f, a, "or", b),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

/// Parenthesises exactly where needed for the printed form to parse back to the same tree:
/// `and` binds tighter than `or`, and both associate to the left.
fn write_binary(f: &mut fmt::Formatter<'_>, a: &Filter, op: &str, b: &Filter) -> fmt::Result {
    let is_and = op == "and";
    let left_parens = is_and && matches!(a, Filter::Or(..));
    let right_parens = match b {
        Filter::Or(..) => true,
        Filter::And(..) => is_and,
        _ => false,
    };
    write_maybe_parens(f, a, left_parens)?;
    write!(f, " {op} ")?;
    write_maybe_parens(f, b, right_parens)
}

fn write_maybe_parens(f: &mut fmt::Formatter<'_>, x: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({x})")
    } else {
        write!(f, "{x}")
    }
}

/// Rejects filters that name attributes the schema does not define or apply operators the
/// attribute type does not support. Lets the gateway answer `invalidFilter` instead of an
/// empty list: an empty answer makes an IdP create a duplicate.
pub fn validate_filter(filter: &Filter, schema: &ResourceSchema) -> Result<(), ScimError> {
    validate(filter, schema, None)
}

fn validate(
    f: &Filter,
    schema: &ResourceSchema,
    parent: Option<&AttributeDef>,
) -> Result<(), ScimError> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate(a, schema, parent)?;
            validate(b, schema, parent)
        }
        Filter::Not(inner) => validate(inner, schema, parent),
        Filter::Present(path) => resolve_in(schema, parent, path).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let def = resolve_in(schema, parent, path)?;
            check_operator(def, *op, value, path)
        }
        Filter::ValuePath { path, filter } => {
            if parent.is_some() {
                return Err(ScimError::InvalidFilter(format!(
                    "nested value filter on '{path}'"
                )));
            }
            let resolved = schema
                .resolve(path)
                .ok_or_else(|| ScimError::InvalidFilter(format!("unknown attribute '{path}'")))?;
            if resolved.sub_attribute.is_some() || !resolved.attribute.is_complex() {
                return Err(ScimError::InvalidFilter(format!(
                    "'{path}' is not a complex attribute and cannot take a value filter"
                )));
            }
            validate(filter, schema, Some(resolved.attribute))
        }
    }
}

fn resolve_in<'a>(
    schema: &'a ResourceSchema,
    parent: Option<&'a AttributeDef>,
    path: &AttrPath,
) -> Result<&'a AttributeDef, ScimError> {
    let found = match parent {
        Some(p) if path.schema_urn.is_none() && path.sub_attribute.is_none() => {
            p.sub_attribute(&path.attribute)
        }
        Some(_) => None,
        None => schema.resolve(path).map(|r| r.target()),
    };
    found.ok_or_else(|| ScimError::InvalidFilter(format!("unknown attribute '{path}'")))
}

fn check_operator(
    def: &AttributeDef,
    op: CompareOp,
    value: &CompareValue,
    path: &AttrPath,
) -> Result<(), ScimError> {
    let def = if def.is_complex() {
        def.sub_attribute("value").unwrap_or(def)
    } else {
        def
    };
    let bad = |why: &str| {
        Err(ScimError::InvalidFilter(format!(
            "'{op}' {why} on '{path}'"
        )))
    };
    match def.type_ {
        AttrType::Complex => bad("is not supported on a complex attribute"),
        AttrType::Boolean if op.is_ordering() || op.is_substring() => bad("is not supported"),
        AttrType::Binary if op.is_ordering() => bad("is not supported"),
        AttrType::Boolean if value.as_bool().is_none() && *value != CompareValue::Null => {
            bad("needs a boolean value")
        }
        AttrType::DateTime if !op.is_substring() => match value {
            CompareValue::String(s) if crate::value::parse_datetime(s).is_none() => {
                bad("needs an RFC 3339 dateTime value")
            }
            CompareValue::Number(_) | CompareValue::Bool(_) => bad("needs a dateTime value"),
            _ => Ok(()),
        },
        AttrType::Integer | AttrType::Decimal
            if value.as_f64().is_none() && *value != CompareValue::Null =>
        {
            bad("needs a numeric value")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::schema::{group, user};

    #[test]
    fn display_parenthesises_minimally() {
        for s in [
            r#"userName eq "bjensen""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"a pr or b pr and c pr"#,
            r#"a pr and (b pr and c pr)"#,
            r#"not (a pr) and b pr"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ] {
            let f = parse_filter(s).unwrap();
            assert_eq!(f.to_string(), s);
        }
    }

    #[test]
    fn validation() {
        let ok = [
            r#"userName eq "x""#,
            r#"emails[type eq "work"].value eq "a@b.c""#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"active eq "True""#,
            r#"manager eq "123""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 701984"#,
        ];
        for s in ok {
            validate_filter(&parse_filter(s).unwrap(), user()).unwrap();
        }
        let bad = [
            r#"nosuch eq "x""#,
            r#"active gt true"#,
            r#"meta.created gt "yesterday""#,
            r#"emails[nosuch eq "x"]"#,
            r#"userName[value eq "x"]"#,
            r#"name co "x""#,
        ];
        for s in bad {
            let err = validate_filter(&parse_filter(s).unwrap(), user()).unwrap_err();
            assert!(matches!(err, ScimError::InvalidFilter(_)), "{s}");
        }
        validate_filter(&parse_filter(r#"members[value eq "1"]"#).unwrap(), group()).unwrap();
    }
}
