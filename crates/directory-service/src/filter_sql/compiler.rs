//! The compiler proper: a filter tree to SQL text and bind parameters, with `EXISTS` over the
//! tables or JSON arrays that hold multi-valued attributes.

use chrono::{DateTime, Utc};
use scim_model::schema::AttributeDef;
use scim_model::{AttrPath, CompareOp, CompareValue, Filter, ScimError};

use super::columns::{Col, Elem, Kind, column, element_col, element_source};
use super::{FilterTarget, SqlParam};
pub(super) fn wrap_exists(target: FilterTarget, elem: &Elem, cond: &str) -> String {
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
pub(super) fn sub_names<'f>(f: &'f Filter, out: &mut Vec<&'f str>) {
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

pub(super) fn like_pattern(op: CompareOp, text: &str) -> String {
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

pub(super) fn sql_op(op: CompareOp) -> &'static str {
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

pub(super) fn negate(sql: &str) -> String {
    format!("NOT COALESCE(({sql}), false)")
}

pub(super) struct Compiler {
    pub(super) target: FilterTarget,
    pub(super) first_param: usize,
    pub(super) params: Vec<SqlParam>,
}

/// Inside `attr[...]`: where the element lives and which attribute it belongs to.
pub(super) type ElemScope<'s> = (&'s Elem, &'static AttributeDef);

impl Compiler {
    fn bind(&mut self, p: SqlParam) -> String {
        self.params.push(p);
        format!("${}", self.first_param + self.params.len() - 1)
    }

    pub(super) fn filter(
        &mut self,
        f: &Filter,
        scope: Option<ElemScope<'_>>,
    ) -> Result<String, ScimError> {
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
                    Kind::UserName if op.is_substring() => scim_model::fold_user_name(&text),
                    Kind::UserName => scim_model::normalize_user_name(&text),
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
