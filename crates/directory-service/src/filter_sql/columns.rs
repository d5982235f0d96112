//! The schema-to-SQL catalogue: which column or JSON path holds each attribute, and how its
//! values compare. Adding a filterable attribute or an indexed column is an edit here only.

use scim_model::ScimError;
use scim_model::schema::{AttrType, AttributeDef};

use super::FilterTarget;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    /// `prelowered`: the column holds Rust-lowercased text; compare with a lowercased param.
    Text {
        case_exact: bool,
        prelowered: bool,
    },
    /// `users.user_name_lower`, which holds `normalize_user_name(userName)` (the uniqueness
    /// key): lookups must normalise the same way or an IdP would miss a user and then collide.
    /// `sw`/`co`/`ew` operands are folded alike (`fold_user_name`) but keep their edge spaces.
    UserName,
    Bool,
    Number,
    Timestamp,
    /// A JSON object (complex attribute without a `value`): only `pr` applies.
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Col {
    pub(super) expr: String,
    pub(super) kind: Kind,
}

pub(super) fn col(expr: impl Into<String>, kind: Kind) -> Col {
    Col {
        expr: expr.into(),
        kind,
    }
}

pub(super) const EXACT: Kind = Kind::Text {
    case_exact: true,
    prelowered: false,
};
pub(super) const LOWERED: Kind = Kind::Text {
    case_exact: false,
    prelowered: true,
};
pub(super) const CASELESS: Kind = Kind::Text {
    case_exact: false,
    prelowered: false,
};

/// Where the values of a multi-valued attribute live.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Elem {
    Emails,
    Members,
    UserGroups,
    Json { array: String },
}

/// `'{"a","b"}'` for `#>`/`#>>`. Names come from the schema, never from the client.
pub(super) fn json_path(ext: Option<&str>, names: &[&str]) -> String {
    let parts: Vec<String> = ext
        .into_iter()
        .chain(names.iter().copied())
        .map(|n| format!("\"{n}\""))
        .collect();
    format!("'{{{}}}'", parts.join(","))
}

pub(super) fn typed_json(text_expr: String, def: &AttributeDef) -> Col {
    match def.type_ {
        AttrType::Boolean => col(format!("({text_expr})::boolean"), Kind::Bool),
        AttrType::Integer | AttrType::Decimal => {
            col(format!("({text_expr})::double precision"), Kind::Number)
        }
        AttrType::DateTime => col(format!("({text_expr})::timestamptz"), Kind::Timestamp),
        AttrType::Complex => col(text_expr, Kind::Json),
        _ => col(
            text_expr,
            Kind::Text {
                case_exact: def.case_exact,
                prelowered: false,
            },
        ),
    }
}

/// A single-valued attribute (or a sub-attribute of one) as a column expression.
pub(super) fn column(
    target: FilterTarget,
    ext: Option<&str>,
    attr: &AttributeDef,
    sub: Option<&AttributeDef>,
) -> Option<Col> {
    let a = target.alias();
    let name = attr.name.as_str();
    let sub_name = sub.map(|s| s.name.as_str());
    let special = match (target, ext, name, sub_name) {
        (_, None, "id", None) => Some(col(format!("{a}.id"), EXACT)),
        (_, None, "externalId", None) => Some(col(format!("{a}.external_id"), EXACT)),
        (FilterTarget::Users, None, "userName", None) => {
            Some(col("u.user_name_lower", Kind::UserName))
        }
        (FilterTarget::Users, None, "displayName", None) => Some(col("u.display_name", CASELESS)),
        (FilterTarget::Groups, None, "displayName", None) => {
            Some(col("g.display_name_lower", LOWERED))
        }
        (FilterTarget::Users, None, "active", None) => Some(col("u.active", Kind::Bool)),
        (_, None, "meta", Some("created")) => Some(col(format!("{a}.created"), Kind::Timestamp)),
        (_, None, "meta", Some("lastModified")) => {
            Some(col(format!("{a}.last_modified"), Kind::Timestamp))
        }
        // Other meta values are computed at response time, not stored in `resource`.
        (_, None, "meta", _) => return None,
        _ => None,
    };
    if special.is_some() {
        return special;
    }
    let names: Vec<&str> = std::iter::once(name).chain(sub_name).collect();
    let def = sub.unwrap_or(attr);
    if def.type_ == AttrType::Complex {
        return Some(col(
            format!("{a}.resource #> {}", json_path(ext, &names)),
            Kind::Json,
        ));
    }
    Some(typed_json(
        format!("{a}.resource #>> {}", json_path(ext, &names)),
        def,
    ))
}

pub(super) fn element_source(
    target: FilterTarget,
    ext: Option<&str>,
    attr: &AttributeDef,
    subs: &[&str],
) -> Elem {
    let in_table = |allowed: &[&str]| {
        subs.iter()
            .all(|s| allowed.iter().any(|a| a.eq_ignore_ascii_case(s)))
    };
    match (target, ext, attr.name.as_str()) {
        // Not `primary`: the table stores an absent flag as false, and `primary eq false` must
        // not match an email that has none (scim_model::matches; the differential test).
        (FilterTarget::Users, None, "emails") if in_table(&["value", "type"]) => Elem::Emails,
        (FilterTarget::Groups, None, "members") => Elem::Members,
        (FilterTarget::Users, None, "groups") => Elem::UserGroups,
        _ => Elem::Json {
            array: format!(
                "{}.resource #> {}",
                target.alias(),
                json_path(ext, &[&attr.name])
            ),
        },
    }
}

pub(super) fn element_col(
    elem: &Elem,
    attr: &AttributeDef,
    sub: Option<&AttributeDef>,
) -> Result<Col, ScimError> {
    let sub_name = sub.map(|s| s.name.as_str());
    let not_stored = || {
        ScimError::InvalidFilter(format!(
            "'{}.{}' is not filterable",
            attr.name,
            sub_name.unwrap_or("")
        ))
    };
    match (elem, sub_name) {
        (Elem::Emails, Some("value")) => Ok(col("e.value_lower", LOWERED)),
        (Elem::Emails, Some("type")) => Ok(col("e.type", CASELESS)),
        (Elem::Members, Some("value")) => Ok(col("m.member_id", EXACT)),
        (Elem::UserGroups, Some("value")) => Ok(col("m.group_id", EXACT)),
        (Elem::UserGroups, Some("display")) => Ok(col(
            "(SELECT gg.display_name_lower FROM groups gg WHERE gg.tenant_id = m.tenant_id AND gg.id = m.group_id)",
            LOWERED,
        )),
        (Elem::Json { .. }, Some(_)) => {
            let def = sub.ok_or_else(not_stored)?;
            Ok(typed_json(format!("(x ->> '{}')", def.name), def))
        }
        (Elem::Json { .. }, None) => Ok(typed_json("(x #>> '{}')".to_string(), attr)),
        _ => Err(not_stored()),
    }
}
