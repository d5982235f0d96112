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

/// A listed group with more members than this is listed without them (`members_omitted`);
/// a read of the group itself returns them. Keeps a page of groups bounded whatever their
/// sizes (I9, I11).
pub const LIST_MAX_MEMBERS_PER_GROUP: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRow {
    pub id: String,
    pub version: u64,
    pub json: ResourceJson,
    /// Members were left out because the group has more than a bounded read allows.
    pub members_omitted: bool,
}

/// A resource's SCIM JSON: as a tree where members are to be attached (groups), or as the
/// text it will be sent as (users), spliced from the stored text without building a tree.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceJson {
    Tree(Value),
    Text(String),
}

impl ResourceJson {
    pub fn into_text(self) -> String {
        match self {
            Self::Tree(value) => value.to_string(),
            Self::Text(text) => text,
        }
    }
}

/// Which members a single-group read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberSelection {
    None,
    All,
    /// All of them if there are at most this many, otherwise none: the cost
    /// of the read stays bounded whatever the group's size (I9).
    AtMost(u32),
}

impl MemberSelection {
    pub fn from_request(exclude_members: bool, max_members: u32) -> Self {
        match (exclude_members, max_members) {
            (true, _) => Self::None,
            (false, 0) => Self::All,
            (false, max) => Self::AtMost(max),
        }
    }
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
        members: MemberSelection,
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
        if kind == Kind::Group && members != MemberSelection::None {
            let limit = match members {
                MemberSelection::AtMost(max) => Some(i64::from(max) + 1),
                _ => None,
            };
            let list = self
                .group_members_json(tenant_id, &resource.id, limit)
                .await?;
            if limit.is_some_and(|limit| list.len() as i64 >= limit) {
                resource.members_omitted = true;
            } else {
                attach_members(&mut resource, list);
            }
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
        let filtered = query
            .filter
            .as_deref()
            .is_some_and(|f| !f.trim().is_empty());
        if let Some(filter) = query.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            let parsed = scim_model::parse_filter(filter)?;
            let compiled = compile_filter(&parsed, kind.target(), 2)?;
            where_sql.push_str(" AND (");
            where_sql.push_str(&compiled.sql);
            where_sql.push(')');
            params = compiled.params;
        }
        let count_sql = format!("SELECT count(*) FROM {} WHERE {where_sql}", kind.table());
        let count_all = || async {
            let total: i64 = bind_params!(
                sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone())).bind(tenant_id),
                &params
            )
            .fetch_one(&self.pool)
            .await?;
            Ok::<_, DirectoryError>(u64::try_from(total).unwrap_or(0))
        };
        if query.count == 0 {
            return Ok((count_all().await?, Vec::new()));
        }
        let order = match query.sort_by.as_deref().filter(|s| !s.is_empty()) {
            Some(sort_by) => sort_column(sort_by, kind.target())?,
            None => format!("{alias}.created"),
        };
        let direction = if query.descending { "DESC" } else { "ASC" };
        let limit_param = params.len() + 2;
        // A filtered list (the lookup an IdP makes before every write) carries
        // its total along with the page: one round trip. An unfiltered list
        // counts separately, because a window over the whole tenant would
        // fetch every row instead of an index-only count plus one page.
        let total_column = if filtered {
            "count(*) OVER ()"
        } else {
            "NULL::bigint"
        };
        let sql = format!(
            "SELECT id, resource, version, created, last_modified, {total_column} AS total_results
             FROM {} WHERE {where_sql}
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
        let carried = match rows.first() {
            Some(row) => row.try_get::<Option<i64>, _>("total_results")?,
            None if offset == 0 && filtered => Some(0),
            None => None,
        };
        let total = match carried {
            Some(total) => u64::try_from(total).unwrap_or(0),
            None => count_all().await?,
        };
        let mut resources = rows
            .iter()
            .map(|row| render(kind, row))
            .collect::<Result<Vec<_>, _>>()?;
        if kind == Kind::Group && !query.exclude_members {
            let ids: Vec<String> = resources.iter().map(|r| r.id.clone()).collect();
            let mut members = self.members_json(tenant_id, &ids).await?;
            for resource in &mut resources {
                let list = members.remove(&resource.id).unwrap_or_default();
                if list.len() > LIST_MAX_MEMBERS_PER_GROUP {
                    resource.members_omitted = true;
                } else {
                    attach_members(resource, list);
                }
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

    /// One group's members, at most `limit` of them.
    async fn group_members_json(
        &self,
        tenant_id: &str,
        group_id: &str,
        limit: Option<i64>,
    ) -> Result<Vec<Value>, DirectoryError> {
        let rows = sqlx::query(
            "SELECT member_id, display FROM group_members WHERE tenant_id = $1 AND group_id = $2
             ORDER BY member_id LIMIT $3",
        )
        .bind(tenant_id)
        .bind(group_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(member_json).collect()
    }

    async fn members_json(
        &self,
        tenant_id: &str,
        group_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<Value>>, DirectoryError> {
        // Members carry the `display` the client sent with them, never one looked up: a join
        // per member would make large groups expensive to read, and a name the client never
        // set would not round-trip through PATCH.
        // One more than a listed group may carry tells which groups have too many.
        let rows = sqlx::query(
            "SELECT group_id, member_id, display FROM (
                 SELECT m.group_id, m.member_id, m.display,
                        row_number() OVER (PARTITION BY m.group_id ORDER BY m.member_id) AS position
                 FROM group_members m
                 WHERE m.tenant_id = $1 AND m.group_id = ANY($2)
             ) ranked
             WHERE position <= $3
             ORDER BY group_id, member_id",
        )
        .bind(tenant_id)
        .bind(group_ids)
        .bind(i64::try_from(LIST_MAX_MEMBERS_PER_GROUP).unwrap_or(i64::MAX) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut members: std::collections::HashMap<String, Vec<Value>> =
            std::collections::HashMap::new();
        for row in &rows {
            let group_id: String = row.try_get("group_id")?;
            members.entry(group_id).or_default().push(member_json(row)?);
        }
        Ok(members)
    }
}

/// A member row (`member_id`, `display`) as SCIM JSON.
fn member_json(row: &PgRow) -> Result<Value, DirectoryError> {
    let mut member = Map::new();
    member.insert("value".into(), Value::String(row.try_get("member_id")?));
    member.insert("type".into(), Value::String("User".into()));
    if let Some(display) = row.try_get::<Option<String>, _>("display")? {
        member.insert("display".into(), Value::String(display));
    }
    Ok(Value::Object(member))
}

fn attach_members(resource: &mut ResourceRow, members: Vec<Value>) {
    if let ResourceJson::Tree(Value::Object(map)) = &mut resource.json {
        map.insert("members".into(), Value::Array(members));
    }
}

fn render(kind: Kind, row: &PgRow) -> Result<ResourceRow, DirectoryError> {
    let id: String = row.try_get("id")?;
    let version: i64 = row.try_get("version")?;
    let created: DateTime<Utc> = row.try_get("created")?;
    let last_modified: DateTime<Utc> = row.try_get("last_modified")?;
    let version = u64::try_from(version).unwrap_or(0);
    let meta = json!({
        "resourceType": kind.resource_type(),
        "created": created.to_rfc3339_opts(SecondsFormat::Millis, true),
        "lastModified": last_modified.to_rfc3339_opts(SecondsFormat::Millis, true),
        "version": format!("W/\"{version}\""),
    });
    let json = match kind {
        // Users are sent as they are stored, with id and meta added: every lookup and listing
        // returns them, and a tree would only be built to be written out again.
        Kind::User => {
            let sqlx::types::Json(stored): sqlx::types::Json<Box<serde_json::value::RawValue>> =
                row.try_get("resource")?;
            match splice_id_and_meta(stored.get(), &id, &meta) {
                Some(text) => ResourceJson::Text(text),
                None => ResourceJson::Tree(with_id_and_meta(
                    serde_json::from_str(stored.get())
                        .map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
                    &id,
                    meta,
                )),
            }
        }
        Kind::Group => {
            let sqlx::types::Json(stored): sqlx::types::Json<Value> = row.try_get("resource")?;
            ResourceJson::Tree(with_id_and_meta(stored, &id, meta))
        }
    };
    Ok(ResourceRow {
        id,
        version,
        json,
        members_omitted: false,
    })
}

fn with_id_and_meta(mut resource: Value, id: &str, meta: Value) -> Value {
    if let Value::Object(map) = &mut resource {
        map.insert("id".into(), Value::String(id.to_owned()));
        map.insert("meta".into(), meta);
    }
    resource
}

/// `stored` (a JSON object's text) with `id` and `meta` put first, or `None` when the text
/// might already hold either key (stored resources never do, but a duplicate key must not be
/// the price of a wrong guess): then the caller takes the tree path, which replaces them.
fn splice_id_and_meta(stored: &str, id: &str, meta: &Value) -> Option<String> {
    let body = stored.trim().strip_prefix('{')?;
    if stored.contains("\"id\"") || stored.contains("\"meta\"") {
        return None;
    }
    let id = serde_json::to_string(id).ok()?;
    let meta = meta.to_string();
    let mut text = String::with_capacity(stored.len() + id.len() + meta.len() + 16);
    text.push_str("{\"id\":");
    text.push_str(&id);
    text.push_str(",\"meta\":");
    text.push_str(&meta);
    if !body.trim_start().starts_with('}') {
        text.push(',');
    }
    text.push_str(body);
    Some(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn meta() -> Value {
        json!({"resourceType": "User", "version": "W/\"7\"", "created": "2026-12-03T10:00:00.000Z"})
    }

    /// What the splice gives must be, as JSON, exactly what the tree path gives.
    #[test]
    fn the_spliced_text_is_the_resource_with_id_and_meta() {
        let stored = json!({
            "userName": "Zoë \"the\" Müller@example.com",
            "name": {"givenName": "Zoë"},
            "emails": [{"value": "z@example.com", "primary": true}],
            "active": true
        });
        // jsonb's own text form, spaces after separators included.
        let text = r#"{"name": {"givenName": "Zoë"}, "active": true, "emails": [{"value": "z@example.com", "primary": true}], "userName": "Zoë \"the\" Müller@example.com"}"#;
        let spliced = splice_id_and_meta(text, "id-\"1\"", &meta()).unwrap();
        let parsed: Value = serde_json::from_str(&spliced).unwrap();
        assert_eq!(parsed, with_id_and_meta(stored, "id-\"1\"", meta()));
    }

    #[test]
    fn an_empty_resource_gets_no_dangling_comma() {
        let spliced = splice_id_and_meta("{}", "u1", &meta()).unwrap();
        let parsed: Value = serde_json::from_str(&spliced).unwrap();
        assert_eq!(parsed, json!({"id": "u1", "meta": meta()}));
        assert!(splice_id_and_meta(" { } ", "u1", &meta()).is_some());
    }

    #[test]
    fn text_that_may_hold_id_or_meta_takes_the_tree_path() {
        assert!(splice_id_and_meta(r#"{"id": "old", "userName": "a"}"#, "u1", &meta()).is_none());
        assert!(splice_id_and_meta(r#"{"meta": {}, "userName": "a"}"#, "u1", &meta()).is_none());
        // Even as a value: the check is conservative, never wrong.
        assert!(splice_id_and_meta(r#"{"title": "id"}"#, "u1", &meta()).is_none());
        assert!(splice_id_and_meta("[1, 2]", "u1", &meta()).is_none());
    }
}
