//! Compiles SCIM filters to parameterised Postgres `WHERE` fragments over the read model:
//!
//! ```sql
//! users u(tenant_id, id, user_name, user_name_lower, external_id, display_name, active,
//!         resource jsonb, version, created, last_modified)
//! user_emails e(tenant_id, user_id, value_lower, type, is_primary)
//! groups g(tenant_id, id, display_name, display_name_lower, external_id, resource jsonb,
//!          version, created, last_modified)
//! group_members m(tenant_id, group_id, member_id)
//! ```
//!
//! Client text only ever travels as a bind parameter; the SQL text is built from schema
//! (canonical) attribute names. Semantics match `scim_model::matches`: a comparison on a
//! multi-valued attribute matches if any value does, and `ne`/`not` also match resources where
//! the attribute is absent, which is why negations are wrapped in `COALESCE(…, false)`.
//! Columns filled from Rust-lowercased text (`display_name_lower`, `value_lower`) are compared
//! with parameters lowercased in Rust, so the indexes apply; `user_name_lower` holds the
//! userName identity key (`scim_model::normalize_user_name`) and is compared with parameters
//! normalised by the same function.

mod columns;
mod compiler;

use chrono::{DateTime, Utc};
use scim_model::schema::{self, ResourceSchema};
use scim_model::{Filter, ScimError, validate_filter};

use columns::{Col, Elem, Kind, column, element_col, element_source};
use compiler::Compiler;

#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Text(String),
    Bool(bool),
    Number(f64),
    Timestamp(DateTime<Utc>),
}

/// A fragment to AND into a query, and its parameters (bound as `$first_param`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFilter {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterTarget {
    Users,
    Groups,
}

impl FilterTarget {
    fn alias(self) -> &'static str {
        match self {
            FilterTarget::Users => "u",
            FilterTarget::Groups => "g",
        }
    }

    fn schema(self) -> &'static ResourceSchema {
        match self {
            FilterTarget::Users => schema::user(),
            FilterTarget::Groups => schema::group(),
        }
    }
}

/// Compiles `filter`; parameters are numbered from `first_param`. Unknown attributes and
/// operators the attribute type cannot take are `invalidFilter`, never an empty result.
pub fn compile_filter(
    filter: &Filter,
    target: FilterTarget,
    first_param: usize,
) -> Result<SqlFilter, ScimError> {
    validate_filter(filter, target.schema())?;
    let mut c = Compiler {
        target,
        first_param,
        params: Vec::new(),
    };
    let sql = c.filter(filter, None)?;
    Ok(SqlFilter {
        sql,
        params: c.params,
    })
}

/// The `ORDER BY` expression for `sortBy`; the caller appends the id as a tie-breaker. A
/// multi-valued attribute sorts by its primary (else first) value, as RFC 7644 §3.4.2.3 asks.
pub fn sort_column(sort_by: &str, target: FilterTarget) -> Result<String, ScimError> {
    let bad = || ScimError::InvalidValue(format!("cannot sort by '{sort_by}'"));
    let path = scim_model::parse_attr_path(sort_by).map_err(|_| bad())?;
    let r = target.schema().resolve(&path).ok_or_else(bad)?;
    let sub = r
        .sub_attribute
        .or_else(|| r.attribute.sub_attribute("value"));
    let sortable = |col: Col| match col.kind {
        Kind::Text {
            case_exact: false,
            prelowered: false,
        } => Some(format!("lower({})", col.expr)),
        Kind::Json => None,
        _ => Some(col.expr),
    };
    if !r.attribute.multi_valued {
        return column(target, r.extension, r.attribute, sub)
            .and_then(sortable)
            .ok_or_else(bad);
    }
    let elem = element_source(
        target,
        r.extension,
        r.attribute,
        &[sub.map_or("value", |s| s.name.as_str())],
    );
    let expr = element_col(&elem, r.attribute, sub)
        .ok()
        .and_then(sortable)
        .ok_or_else(bad)?;
    let alias = target.alias();
    Ok(match elem {
        Elem::Emails => format!(
            "(SELECT {expr} FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id \
             ORDER BY e.is_primary DESC, e.value_lower LIMIT 1)"
        ),
        Elem::Members => format!(
            "(SELECT {expr} FROM group_members m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id \
             ORDER BY m.member_id LIMIT 1)"
        ),
        Elem::UserGroups => format!(
            "(SELECT {expr} FROM group_members m WHERE m.tenant_id = {alias}.tenant_id AND m.member_id = {alias}.id \
             ORDER BY m.group_id LIMIT 1)"
        ),
        Elem::Json { array } => {
            let primary = if r.attribute.sub_attribute("primary").is_some() {
                "(x ->> 'primary')::boolean IS TRUE DESC, "
            } else {
                ""
            };
            format!(
                "(SELECT {expr} FROM jsonb_array_elements({array}) WITH ORDINALITY AS t(x, n) ORDER BY {primary}n LIMIT 1)"
            )
        }
    })
}

#[cfg(test)]
mod tests;
