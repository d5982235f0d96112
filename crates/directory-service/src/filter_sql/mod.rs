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
//! Columns filled from Rust-lowercased text (`user_name_lower`, `display_name_lower`,
//! `value_lower`) are compared with parameters lowercased in Rust, so the indexes apply.

use chrono::{DateTime, Utc};
use scim_model::schema::{self, AttrType, AttributeDef, ResourceSchema};
use scim_model::{AttrPath, CompareOp, CompareValue, Filter, ScimError, validate_filter};

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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `prelowered`: the column holds Rust-lowercased text; compare with a lowercased param.
    Text {
        case_exact: bool,
        prelowered: bool,
    },
    /// `users.user_name_lower`, which holds `normalize_user_name(userName)` (the uniqueness
    /// key): lookups must normalise the same way or an IdP would miss a user and then collide.
    UserName,
    Bool,
    Number,
    Timestamp,
    /// A JSON object (complex attribute without a `value`): only `pr` applies.
    Json,
}

#[derive(Debug, Clone, PartialEq)]
struct Col {
    expr: String,
    kind: Kind,
}

fn col(expr: impl Into<String>, kind: Kind) -> Col {
    Col {
        expr: expr.into(),
        kind,
    }
}

const EXACT: Kind = Kind::Text {
    case_exact: true,
    prelowered: false,
};
const LOWERED: Kind = Kind::Text {
    case_exact: false,
    prelowered: true,
};
const CASELESS: Kind = Kind::Text {
    case_exact: false,
    prelowered: false,
};

/// Where the values of a multi-valued attribute live.
#[derive(Debug, Clone, PartialEq)]
enum Elem {
    Emails,
    Members,
    UserGroups,
    Json { array: String },
}

/// `'{"a","b"}'` for `#>`/`#>>`. Names come from the schema, never from the client.
fn json_path(ext: Option<&str>, names: &[&str]) -> String {
    let parts: Vec<String> = ext
        .into_iter()
        .chain(names.iter().copied())
        .map(|n| format!("\"{n}\""))
        .collect();
    format!("'{{{}}}'", parts.join(","))
}

fn typed_json(text_expr: String, def: &AttributeDef) -> Col {
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
fn column(
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

fn element_source(
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
        (FilterTarget::Users, None, "emails") if in_table(&["value", "type", "primary"]) => {
            Elem::Emails
        }
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

fn element_col(
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
        (Elem::Emails, Some("primary")) => Ok(col("e.is_primary", Kind::Bool)),
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

fn wrap_exists(target: FilterTarget, elem: &Elem, cond: &str) -> String {
    let a = target.alias();
    match elem {
        Elem::Emails => format!(
            "EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND ({cond}))"
        ),
        Elem::Members => format!(
            "EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id AND ({cond}))"
        ),
        Elem::UserGroups => format!(
            "EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = {a}.tenant_id AND m.member_id = {a}.id AND ({cond}))"
        ),
        Elem::Json { array } => {
            format!("EXISTS (SELECT 1 FROM jsonb_array_elements({array}) x WHERE ({cond}))")
        }
    }
}

/// Sub-attribute names a value filter refers to, to pick a table that has them all.
fn sub_names<'f>(f: &'f Filter, out: &mut Vec<&'f str>) {
    match f {
        Filter::Compare { path, .. } | Filter::Present(path) => out.push(&path.attribute),
        Filter::And(a, b) | Filter::Or(a, b) => {
            sub_names(a, out);
            sub_names(b, out);
        }
        Filter::Not(x) => sub_names(x, out),
        Filter::ValuePath { .. } => {}
    }
}

fn like_pattern(op: CompareOp, text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    match op {
        CompareOp::Sw => format!("{escaped}%"),
        CompareOp::Ew => format!("%{escaped}"),
        _ => format!("%{escaped}%"),
    }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "IS DISTINCT FROM",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "LIKE",
    }
}

fn negate(sql: &str) -> String {
    format!("NOT COALESCE(({sql}), false)")
}

struct Compiler {
    target: FilterTarget,
    first_param: usize,
    params: Vec<SqlParam>,
}

/// Inside `attr[...]`: where the element lives and which attribute it belongs to.
type ElemScope<'s> = (&'s Elem, &'static AttributeDef);

impl Compiler {
    fn bind(&mut self, p: SqlParam) -> String {
        self.params.push(p);
        format!("${}", self.first_param + self.params.len() - 1)
    }

    fn filter(&mut self, f: &Filter, scope: Option<ElemScope<'_>>) -> Result<String, ScimError> {
        match f {
            Filter::And(a, b) => Ok(format!(
                "({} AND {})",
                self.filter(a, scope)?,
                self.filter(b, scope)?
            )),
            Filter::Or(a, b) => Ok(format!(
                "({} OR {})",
                self.filter(a, scope)?,
                self.filter(b, scope)?
            )),
            Filter::Not(x) => Ok(negate(&self.filter(x, scope)?)),
            Filter::Present(path) => self.attr(path, None, scope),
            Filter::Compare { path, op, value } => self.attr(path, Some((*op, value)), scope),
            Filter::ValuePath { path, filter } => {
                let unknown =
                    || ScimError::InvalidFilter(format!("'{path}' cannot take a value filter"));
                let r = self
                    .target
                    .schema()
                    .resolve(path)
                    .filter(|_| scope.is_none())
                    .ok_or_else(unknown)?;
                let mut subs = Vec::new();
                sub_names(filter, &mut subs);
                if !r.attribute.multi_valued {
                    return Err(unknown());
                }
                let elem = element_source(self.target, r.extension, r.attribute, &subs);
                let cond = self.filter(filter, Some((&elem, r.attribute)))?;
                Ok(wrap_exists(self.target, &elem, &cond))
            }
        }
    }

    fn attr(
        &mut self,
        path: &AttrPath,
        cmp: Option<(CompareOp, &CompareValue)>,
        scope: Option<ElemScope<'_>>,
    ) -> Result<String, ScimError> {
        let unknown = || ScimError::InvalidFilter(format!("unknown attribute '{path}'"));
        if let Some((elem, parent)) = scope {
            let def = parent.sub_attribute(&path.attribute).ok_or_else(unknown)?;
            let c = element_col(elem, parent, Some(def))?;
            return self.condition(&c, cmp, path);
        }
        let r = self.target.schema().resolve(path).ok_or_else(unknown)?;
        // A complex attribute compared without a sub-attribute is compared through `value`.
        let sub = r.sub_attribute.or_else(|| {
            (r.attribute.multi_valued || cmp.is_some())
                .then(|| r.attribute.sub_attribute("value"))
                .flatten()
        });
        if !r.attribute.multi_valued {
            let c = column(self.target, r.extension, r.attribute, sub)
                .ok_or_else(|| ScimError::InvalidFilter(format!("'{path}' is not filterable")))?;
            return self.condition(&c, cmp, path);
        }
        let sub_name = sub.map_or("value", |s| s.name.as_str());
        let elem = element_source(self.target, r.extension, r.attribute, &[sub_name]);
        let c = element_col(&elem, r.attribute, sub)?;
        // Over a set of values, `ne` and `eq null` negate "some value equals / is present".
        let (inner, negated) = match cmp {
            Some((CompareOp::Ne, CompareValue::Null)) => (self.condition(&c, None, path)?, false),
            Some((CompareOp::Eq, CompareValue::Null)) => (self.condition(&c, None, path)?, true),
            Some((CompareOp::Ne, v)) => (self.condition(&c, Some((CompareOp::Eq, v)), path)?, true),
            other => (self.condition(&c, other, path)?, false),
        };
        let exists = wrap_exists(self.target, &elem, &inner);
        Ok(if negated { negate(&exists) } else { exists })
    }

    fn present(c: &Col) -> String {
        match c.kind {
            Kind::Text { .. } | Kind::UserName => {
                format!("({e} IS NOT NULL AND {e} <> '')", e = c.expr)
            }
            _ => format!("{} IS NOT NULL", c.expr),
        }
    }

    fn condition(
        &mut self,
        c: &Col,
        cmp: Option<(CompareOp, &CompareValue)>,
        path: &AttrPath,
    ) -> Result<String, ScimError> {
        let Some((op, value)) = cmp else {
            return Ok(Self::present(c));
        };
        let bad = |why: &str| Err(ScimError::InvalidFilter(format!("'{path} {op}' {why}")));
        match (op, value) {
            (CompareOp::Eq, CompareValue::Null) => return Ok(negate(&Self::present(c))),
            (CompareOp::Ne, CompareValue::Null) => return Ok(Self::present(c)),
            (_, CompareValue::Null) => return bad("cannot compare with null"),
            _ => {}
        }
        let sop = sql_op(op);
        match c.kind {
            Kind::Text { .. } | Kind::UserName => {
                let Some(text) = value.as_text() else {
                    return bad("needs a value");
                };
                let (case_exact, prelowered) = match c.kind {
                    Kind::Text {
                        case_exact,
                        prelowered,
                    } => (case_exact, prelowered),
                    _ => (false, true),
                };
                let text = match c.kind {
                    Kind::UserName if !op.is_substring() => scim_model::normalize_user_name(&text),
                    _ if prelowered && !case_exact => text.to_lowercase(),
                    _ => text,
                };
                let text = if op.is_substring() {
                    like_pattern(op, &text)
                } else {
                    text
                };
                let p = self.bind(SqlParam::Text(text));
                let escape = if op.is_substring() {
                    " ESCAPE '\\'"
                } else {
                    ""
                };
                Ok(if case_exact || prelowered {
                    format!("{} {sop} {p}{escape}", c.expr)
                } else {
                    format!("lower({}) {sop} lower({p}){escape}", c.expr)
                })
            }
            Kind::Bool => match (op, value.as_bool()) {
                (CompareOp::Eq | CompareOp::Ne, Some(b)) => {
                    let p = self.bind(SqlParam::Bool(b));
                    Ok(format!("{} {sop} {p}", c.expr))
                }
                _ => bad("needs a boolean and eq/ne"),
            },
            Kind::Number => match value.as_f64() {
                Some(n) if !op.is_substring() => {
                    let p = self.bind(SqlParam::Number(n));
                    Ok(format!("{} {sop} {p}", c.expr))
                }
                _ => bad("needs a number and a comparison operator"),
            },
            Kind::Timestamp => {
                let ts = value
                    .as_text()
                    .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
                    .map(|t| t.with_timezone(&Utc));
                match ts {
                    Some(ts) if !op.is_substring() => {
                        let p = self.bind(SqlParam::Timestamp(ts));
                        Ok(format!("{} {sop} {p}", c.expr))
                    }
                    _ => bad("needs an RFC 3339 dateTime and a comparison operator"),
                }
            }
            Kind::Json => bad("is not supported on a complex attribute"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use scim_model::parse_filter;

    fn users(f: &str) -> SqlFilter {
        compile_filter(&parse_filter(f).unwrap(), FilterTarget::Users, 2).unwrap()
    }

    fn groups(f: &str) -> SqlFilter {
        compile_filter(&parse_filter(f).unwrap(), FilterTarget::Groups, 2).unwrap()
    }

    fn text(s: &str) -> SqlParam {
        SqlParam::Text(s.to_string())
    }

    #[test]
    fn idp_lookup_user_name_uses_the_lowered_column() {
        let f = users(r#"userName eq "Test_User_00aa@Contoso.com""#);
        assert_eq!(f.sql, "u.user_name_lower = $2");
        assert_eq!(f.params, vec![text("test_user_00aa@contoso.com")]);
    }

    #[test]
    fn idp_lookup_external_id_is_case_exact() {
        let f = users(r#"externalId eq "0A21f0f2-8d2a""#);
        assert_eq!(f.sql, "u.external_id = $2");
        assert_eq!(f.params, vec![text("0A21f0f2-8d2a")]);
        // Unquoted, as Entra's docs and some tools send it.
        assert_eq!(users("externalId eq 12345").params, vec![text("12345")]);
    }

    #[test]
    fn idp_lookup_work_email() {
        let f = users(r#"emails[type eq "work"].value eq "User@Contoso.com""#);
        assert_eq!(
            f.sql,
            "EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id \
             AND ((lower(e.type) = lower($2) AND e.value_lower = $3)))"
        );
        assert_eq!(f.params, vec![text("work"), text("user@contoso.com")]);
        let f = users(r#"emails.value eq "A@B.c""#);
        assert_eq!(
            f.sql,
            "EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND (e.value_lower = $2))"
        );
    }

    #[test]
    fn idp_lookup_display_name() {
        let f = groups(r#"displayName eq "Sales Team""#);
        assert_eq!(f.sql, "g.display_name_lower = $2");
        assert_eq!(f.params, vec![text("sales team")]);
        let f = users(r#"displayName eq "Babs""#);
        assert_eq!(f.sql, "lower(u.display_name) = lower($2)");
    }

    #[test]
    fn composite_filters() {
        let f = users(
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        );
        assert_eq!(
            f.sql,
            "(lower(u.resource #>> '{\"userType\"}') = lower($2) AND \
             (EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND (e.value_lower LIKE $3 ESCAPE '\\')) OR \
             EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND (e.value_lower LIKE $4 ESCAPE '\\'))))"
        );
        assert_eq!(
            f.params,
            vec![
                text("Employee"),
                text("%example.com%"),
                text("%example.org%")
            ]
        );

        let f = users(r#"id eq "54D382A4" and manager eq "2819c223""#);
        assert_eq!(
            f.sql,
            "(u.id = $2 AND lower(u.resource #>> '{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\",\"manager\",\"value\"}') = lower($3))"
        );

        let f = users(r#"not (title pr) or active eq "False""#);
        assert_eq!(
            f.sql,
            "(NOT COALESCE(((u.resource #>> '{\"title\"}' IS NOT NULL AND u.resource #>> '{\"title\"}' <> '')), false) OR u.active = $2)"
        );
        assert_eq!(f.params, vec![SqlParam::Bool(false)]);
    }

    #[test]
    fn dates_numbers_and_ordering() {
        let f = users(
            r#"meta.lastModified gt "2011-05-13T04:42:34Z" and meta.created le "2011-05-13T06:42:34+02:00""#,
        );
        assert_eq!(f.sql, "(u.last_modified > $2 AND u.created <= $3)");
        let ts = DateTime::parse_from_rfc3339("2011-05-13T04:42:34Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            f.params,
            vec![SqlParam::Timestamp(ts), SqlParam::Timestamp(ts)]
        );
        let f = users(r#"userName eq " Padded@X ""#);
        assert_eq!(
            f.params,
            vec![text("padded@x")],
            "normalised like the uniqueness key"
        );
        let f = users(r#"userName ge "m""#);
        assert_eq!(f.sql, "u.user_name_lower >= $2");
        let f = users(r#"name.familyName lt "Z""#);
        assert_eq!(
            f.sql,
            "lower(u.resource #>> '{\"name\",\"familyName\"}') < lower($2)"
        );
    }

    #[test]
    fn like_patterns_are_escaped() {
        let f = users(r#"userName sw "100%_a\\b""#);
        assert_eq!(f.sql, "u.user_name_lower LIKE $2 ESCAPE '\\'");
        assert_eq!(f.params, vec![text("100\\%\\_a\\\\b%")]);
        let f = users(r#"externalId ew "X_""#);
        assert_eq!(f.params, vec![text("%X\\_")]);
    }

    #[test]
    fn injection_stays_in_parameters() {
        let f = users(r#"userName eq "x'; DROP TABLE users; --""#);
        assert_eq!(f.sql, "u.user_name_lower = $2");
        assert!(!f.sql.contains("DROP"));
    }

    #[test]
    fn negation_and_absence() {
        let f = users(r#"userName ne "bob""#);
        assert_eq!(f.sql, "u.user_name_lower IS DISTINCT FROM $2");
        let f = users(r#"emails.value ne "a@b.c""#);
        assert_eq!(
            f.sql,
            "NOT COALESCE((EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND (e.value_lower = $2))), false)"
        );
        let f = users("emails pr");
        assert!(
            f.sql.starts_with("EXISTS (SELECT 1 FROM user_emails e"),
            "{}",
            f.sql
        );
        let f = users("nickName eq null");
        assert!(f.sql.starts_with("NOT COALESCE"), "{}", f.sql);
        assert!(f.params.is_empty());
    }

    #[test]
    fn json_multi_valued() {
        let f = users(r#"phoneNumbers[type eq "mobile" and value sw "+44"]"#);
        assert_eq!(
            f.sql,
            "EXISTS (SELECT 1 FROM jsonb_array_elements(u.resource #> '{\"phoneNumbers\"}') x \
             WHERE ((lower((x ->> 'type')) = lower($2) AND lower((x ->> 'value')) LIKE lower($3) ESCAPE '\\')))"
        );
        // A sub-attribute the email table lacks falls back to the JSON document.
        let f = users(r#"emails[display eq "Work" and type eq "work"]"#);
        assert!(
            f.sql
                .contains("jsonb_array_elements(u.resource #> '{\"emails\"}')"),
            "{}",
            f.sql
        );
        let f = users(r#"emails[primary eq true].value eq "a@b.c""#);
        assert!(f.sql.contains("e.is_primary = $2"), "{}", f.sql);
        let f = users(r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#);
        assert!(
            f.sql.contains("lower((x #>> '{}')) = lower($2)"),
            "{}",
            f.sql
        );
    }

    #[test]
    fn members_and_groups() {
        let f = groups(r#"members[value eq "2819c223"]"#);
        assert_eq!(
            f.sql,
            "EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id AND (m.member_id = $2))"
        );
        assert_eq!(groups(r#"members.value eq "2819c223""#).sql, f.sql);
        assert_eq!(groups(r#"members eq "2819c223""#).sql, f.sql);
        let f = users(r#"groups.value eq "g1""#);
        assert!(
            f.sql.contains("m.member_id = u.id AND (m.group_id = $2)"),
            "{}",
            f.sql
        );
        let f = groups(r#"externalId eq "x" and meta.created gt "2020-01-01T00:00:00Z""#);
        assert_eq!(f.sql, "(g.external_id = $2 AND g.created > $3)");
    }

    #[test]
    fn parameter_numbering_starts_where_asked() {
        let f = compile_filter(
            &parse_filter(r#"userName eq "a" or userName eq "b""#).unwrap(),
            FilterTarget::Users,
            5,
        )
        .unwrap();
        assert_eq!(f.sql, "(u.user_name_lower = $5 OR u.user_name_lower = $6)");
    }

    #[test]
    fn rejects_what_it_cannot_answer() {
        let bad = |f: &str, t: FilterTarget| {
            let err = compile_filter(&parse_filter(f).unwrap(), t, 1).unwrap_err();
            assert!(matches!(err, ScimError::InvalidFilter(_)), "{f}: {err:?}");
        };
        bad(r#"noSuchAttr eq "x""#, FilterTarget::Users);
        bad(r#"userName eq "x""#, FilterTarget::Groups);
        bad("active gt true", FilterTarget::Users);
        bad(r#"meta.created gt "yesterday""#, FilterTarget::Users);
        bad(r#"members.display eq "x""#, FilterTarget::Groups);
        bad(r#"meta.version eq "x""#, FilterTarget::Users);
        bad(r#"name eq "x""#, FilterTarget::Users);
        bad(r#"title gt null"#, FilterTarget::Users);
    }

    #[test]
    fn sort_columns() {
        assert_eq!(
            sort_column("userName", FilterTarget::Users).unwrap(),
            "u.user_name_lower"
        );
        assert_eq!(
            sort_column("DisplayName", FilterTarget::Groups).unwrap(),
            "g.display_name_lower"
        );
        assert_eq!(
            sort_column("displayName", FilterTarget::Users).unwrap(),
            "lower(u.display_name)"
        );
        assert_eq!(
            sort_column("meta.lastModified", FilterTarget::Users).unwrap(),
            "u.last_modified"
        );
        assert_eq!(
            sort_column("name.familyName", FilterTarget::Users).unwrap(),
            "lower(u.resource #>> '{\"name\",\"familyName\"}')"
        );
        assert_eq!(
            sort_column("emails", FilterTarget::Users).unwrap(),
            "(SELECT e.value_lower FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id \
             ORDER BY e.is_primary DESC, e.value_lower LIMIT 1)"
        );
        assert!(
            sort_column("phoneNumbers.value", FilterTarget::Users)
                .unwrap()
                .contains("IS TRUE DESC, n LIMIT 1")
        );
        assert!(sort_column("nope", FilterTarget::Users).is_err());
        assert!(sort_column("emails[type eq \"work\"]", FilterTarget::Users).is_err());
    }
}
