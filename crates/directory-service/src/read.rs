//! Queries over the read model, returning SCIM JSON.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::error::DirectoryError;
use crate::filter_sql::{FilterTarget, SqlParam, compile_filter, sort_column};

/// Binds compiled filter parameters in order (works for `query` and
/// `query_scalar`, which share no trait for `bind`).
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                SqlParam::Text(value) => query.bind(value),
                SqlParam::Bool(value) => query.bind(value),
                SqlParam::Number(value) => query.bind(value),
                SqlParam::Timestamp(value) => query.bind(value),
            };
        }
        query
    }};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Self::User => "users u",
            Self::Group => "groups g",
        }
    }

    fn alias(self) -> &'static str {
        match self {
            Self::User => "u",
            Self::Group => "g",
        }
    }

    fn target(self) -> FilterTarget {
        match self {
            Self::User => FilterTarget::Users,
            Self::Group => FilterTarget::Groups,
        }
    }

    fn resource_type(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRow {
    pub id: String,
    pub version: u64,
    pub json: Value,
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<String>,
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
    pub sort_by: Option<String>,
    pub descending: bool,
    pub exclude_members: bool,
}

#[derive(Clone)]
pub struct DirectoryReader {
    pool: PgPool,
}

impl DirectoryReader {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub async fn get(
        &self,
        tenant_id: &str,
        kind: Kind,
        id: &str,
        exclude_members: bool,
    ) -> Result<ResourceRow, DirectoryError> {
        let sql = format!(
            "SELECT id, resource, version, created, last_modified FROM {} WHERE {alias}.tenant_id = $1 AND {alias}.id = $2",
            kind.table(),
            alias = kind.alias()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("{} {id}", kind.resource_type())))?;
        let mut resource = render(kind, &row)?;
        if kind == Kind::Group && !exclude_members {
            let members = self.members_json(tenant_id, &[resource.id.clone()]).await?;
            attach_members(
                &mut resource,
                members
                    .into_iter()
                    .next()
                    .map(|(_, m)| m)
                    .unwrap_or_default(),
            );
        }
        Ok(resource)
    }

    pub async fn list(
        &self,
        tenant_id: &str,
        kind: Kind,
        query: &ListQuery,
    ) -> Result<(u64, Vec<ResourceRow>), DirectoryError> {
        let alias = kind.alias();
        let mut where_sql = format!("{alias}.tenant_id = $1");
        let mut params = Vec::new();
        if let Some(filter) = query.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            let parsed = scim_model::parse_filter(filter)?;
            let compiled = compile_filter(&parsed, kind.target(), 2)?;
            where_sql.push_str(" AND (");
            where_sql.push_str(&compiled.sql);
            where_sql.push(')');
            params = compiled.params;
        }
        let count_sql = format!("SELECT count(*) FROM {} WHERE {where_sql}", kind.table());
        let total: i64 = bind_params!(
            sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)).bind(tenant_id),
            &params
        )
        .fetch_one(&self.pool)
        .await?;
        let total = u64::try_from(total).unwrap_or(0);
        if query.count == 0 || total == 0 {
            return Ok((total, Vec::new()));
        }
        let order = match query.sort_by.as_deref().filter(|s| !s.is_empty()) {
            Some(sort_by) => sort_column(sort_by, kind.target())?,
            None => format!("{alias}.created"),
        };
        let direction = if query.descending { "DESC" } else { "ASC" };
        let limit_param = params.len() + 2;
        let sql = format!(
            "SELECT id, resource, version, created, last_modified FROM {} WHERE {where_sql}
             ORDER BY {order} {direction} NULLS LAST, {alias}.id {direction}
             LIMIT ${limit_param} OFFSET ${offset_param}",
            kind.table(),
            offset_param = limit_param + 1
        );
        let offset = query.start_index.max(1) - 1;
        let rows = bind_params!(
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id),
            &params
        )
        .bind(i64::try_from(query.count).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut resources = rows
            .iter()
            .map(|row| render(kind, row))
            .collect::<Result<Vec<_>, _>>()?;
        if kind == Kind::Group && !query.exclude_members {
            let ids: Vec<String> = resources.iter().map(|r| r.id.clone()).collect();
            let mut members = self.members_json(tenant_id, &ids).await?;
            for resource in &mut resources {
                let list = members.remove(&resource.id).unwrap_or_default();
                attach_members(resource, list);
            }
        }
        Ok((total, resources))
    }

    /// The subset of `ids` that are users of the tenant.
    pub async fn existing_user_ids(
        &self,
        tenant_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, DirectoryError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND id = ANY($2)")
                .bind(tenant_id)
                .bind(ids)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn group_member_ids(
        &self,
        tenant_id: &str,
        group_id: &str,
    ) -> Result<Vec<String>, DirectoryError> {
        Ok(sqlx::query_scalar(
            "SELECT member_id FROM group_members WHERE tenant_id = $1 AND group_id = $2 ORDER BY member_id",
        )
        .bind(tenant_id)
        .bind(group_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn members_json(
        &self,
        tenant_id: &str,
        group_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<Value>>, DirectoryError> {
        // Members carry no `display`: it is optional (RFC 7643 §4.2), a join
        // per member would make large groups expensive to read, and a value
        // the client never set would not round-trip through PATCH.
        let rows = sqlx::query(
            "SELECT m.group_id, m.member_id FROM group_members m
             WHERE m.tenant_id = $1 AND m.group_id = ANY($2)
             ORDER BY m.group_id, m.member_id",
        )
        .bind(tenant_id)
        .bind(group_ids)
        .fetch_all(&self.pool)
        .await?;
        let mut members: std::collections::HashMap<String, Vec<Value>> =
            std::collections::HashMap::new();
        for row in rows {
            let group_id: String = row.try_get("group_id")?;
            let member_id: String = row.try_get("member_id")?;
            let mut member = Map::new();
            member.insert("value".into(), Value::String(member_id));
            member.insert("type".into(), Value::String("User".into()));
            members
                .entry(group_id)
                .or_default()
                .push(Value::Object(member));
        }
        Ok(members)
    }
}

fn attach_members(resource: &mut ResourceRow, members: Vec<Value>) {
    if let Value::Object(map) = &mut resource.json {
        map.insert("members".into(), Value::Array(members));
    }
}

fn render(kind: Kind, row: &PgRow) -> Result<ResourceRow, DirectoryError> {
    let id: String = row.try_get("id")?;
    let version: i64 = row.try_get("version")?;
    let created: DateTime<Utc> = row.try_get("created")?;
    let last_modified: DateTime<Utc> = row.try_get("last_modified")?;
    let sqlx::types::Json(mut json): sqlx::types::Json<Value> = row.try_get("resource")?;
    let version = u64::try_from(version).unwrap_or(0);
    if let Value::Object(map) = &mut json {
        map.insert("id".into(), Value::String(id.clone()));
        map.insert(
            "meta".into(),
            json!({
                "resourceType": kind.resource_type(),
                "created": created.to_rfc3339_opts(SecondsFormat::Millis, true),
                "lastModified": last_modified.to_rfc3339_opts(SecondsFormat::Millis, true),
                "version": format!("W/\"{version}\""),
            }),
        );
    }
    Ok(ResourceRow { id, version, json })
}
