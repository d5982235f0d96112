//! Audit log queries: validated filters, keyset paging by stream sequence in either order, and
//! single records by sequence.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use scim_rpc::audit::{AuditQueryRequest, AuditQueryResponse, AuditRecord, GetRecordRequest};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::ServiceError;
use crate::record::{FAILURE, SUCCESS};

pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The proto names "update" as an operation; the log records how the
/// resource was updated, so "update" covers both.
const UPDATE_OPERATIONS: [&str; 2] = ["replace", "patch"];

/// The one operation filter that matches by prefix: every admin action
/// (`scim_events::AdminActionKind::operation`).
const ADMIN_OPERATIONS: &str = "admin.";

/// What a record is, column by column, for every query that returns records.
const RECORD_SELECT: &str = "SELECT sequence, event_id, tenant_id, occurred_at, operation, outcome, \
     resource_type, target_id, target_name, actor_config_id, actor_token_id, actor_admin, \
     correlation_id, status, detail, event::text AS event_json FROM audit_log";

/// The order a query walks the log in. Page tokens carry it, because a
/// position means "after" in one order and "before" in the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    OldestFirst,
    NewestFirst,
}

impl Order {
    fn from_newest_first(newest_first: bool) -> Self {
        if newest_first {
            Self::NewestFirst
        } else {
            Self::OldestFirst
        }
    }

    /// `s` is what tokens carried before there was a choice of order, so
    /// tokens issued by an older replica still continue.
    fn token_tag(self) -> char {
        match self {
            Self::OldestFirst => 's',
            Self::NewestFirst => 'd',
        }
    }

    fn from_token_tag(tag: char) -> Option<Self> {
        [Self::OldestFirst, Self::NewestFirst]
            .into_iter()
            .find(|order| order.token_tag() == tag)
    }

    fn newest_first(self) -> bool {
        self == Self::NewestFirst
    }

    fn describe(self) -> &'static str {
        match self {
            Self::OldestFirst => "oldest-first",
            Self::NewestFirst => "newest-first",
        }
    }
}

/// Where the previous page of a query stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub order: Order,
    pub sequence: i64,
}

/// What the `operation` filter matches.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationMatch {
    /// One operation by its exact name.
    Exactly(String),
    /// "update": a replace or a patch.
    Update,
    /// "admin.": every admin action.
    AdminActions,
}

impl OperationMatch {
    fn parse(operation: &str) -> Result<Option<Self>, ServiceError> {
        let Some(operation) = non_empty(operation) else {
            return Ok(None);
        };
        Ok(Some(match operation.as_str() {
            "update" => Self::Update,
            ADMIN_OPERATIONS => Self::AdminActions,
            // A family name such as "license." would otherwise match nothing
            // and look like an empty log.
            family if family.ends_with('.') => {
                return Err(ServiceError::InvalidArgument(format!(
                    "operation {family:?} names no operation: only \"{ADMIN_OPERATIONS}\" \
                     matches a family (every admin action); name others exactly, \
                     e.g. \"license.assign\""
                )));
            }
            _ => Self::Exactly(operation),
        }))
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub tenant_id: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub target: Option<String>,
    pub operation: Option<OperationMatch>,
    pub outcome: Option<&'static str>,
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
    pub order: Order,
    /// The last sequence of the previous page, in `order`.
    pub after_sequence: Option<i64>,
    pub page_size: u32,
}

impl Filter {
    pub fn parse(request: &AuditQueryRequest) -> Result<Self, ServiceError> {
        let tenant_id = non_empty(&request.tenant_id)
            .ok_or_else(|| ServiceError::InvalidArgument("tenant_id is required".into()))?;
        let outcome = match non_empty(&request.outcome).as_deref() {
            None => None,
            Some(SUCCESS) => Some(SUCCESS),
            Some(FAILURE) => Some(FAILURE),
            Some(other) => {
                return Err(ServiceError::InvalidArgument(format!(
                    "outcome must be \"success\" or \"failure\", got {other:?}"
                )));
            }
        };
        let page_size = match request.page_size {
            0 => DEFAULT_PAGE_SIZE,
            size => size.min(MAX_PAGE_SIZE),
        };
        let order = Order::from_newest_first(request.newest_first);
        let after_sequence = match decode_page_token(&request.page_token)? {
            None => None,
            Some(cursor) if cursor.order == order => Some(cursor.sequence),
            Some(cursor) => {
                return Err(ServiceError::InvalidArgument(format!(
                    "page_token continues a {} query, not a {} one: continue it with \
                     newest_first = {}, or start again without a page_token",
                    cursor.order.describe(),
                    order.describe(),
                    cursor.order.newest_first()
                )));
            }
        };
        Ok(Self {
            tenant_id,
            from: timestamp("from", &request.from)?,
            to: timestamp("to", &request.to)?,
            target: non_empty(&request.target),
            operation: OperationMatch::parse(&request.operation)?,
            outcome,
            actor: non_empty(&request.actor),
            correlation_id: non_empty(&request.correlation_id),
            order,
            after_sequence,
            page_size,
        })
    }

    /// The page query: every value is a bind parameter; only constant SQL
    /// fragments are pushed. `actor_is_admin` says which columns the actor is
    /// looked up in (see [`names_an_admin`]).
    fn build(&self, actor_is_admin: bool) -> QueryBuilder<Postgres> {
        let mut query = QueryBuilder::<Postgres>::new(RECORD_SELECT);
        query
            .push(" WHERE tenant_id = ")
            .push_bind(self.tenant_id.clone());
        match (self.after_sequence, self.order) {
            (None, _) => {}
            (Some(after), Order::OldestFirst) => {
                query.push(" AND sequence > ").push_bind(after);
            }
            (Some(after), Order::NewestFirst) => {
                query.push(" AND sequence < ").push_bind(after);
            }
        }
        if let Some(from) = self.from {
            query.push(" AND occurred_at >= ").push_bind(from);
        }
        if let Some(to) = self.to {
            query.push(" AND occurred_at < ").push_bind(to);
        }
        if let Some(target) = &self.target {
            query
                .push(" AND (target_id = ")
                .push_bind(target.clone())
                .push(" OR lower(target_name) = lower(")
                .push_bind(target.clone())
                .push("))");
        }
        match &self.operation {
            None => {}
            Some(OperationMatch::Update) => {
                query
                    .push(" AND operation = ANY(")
                    .push_bind(UPDATE_OPERATIONS.map(str::to_owned).to_vec())
                    .push(")");
            }
            // A constant, not a bind: it is the predicate of
            // `audit_log_admin_actions_idx`, which a plan can only use when
            // it knows the pattern.
            Some(OperationMatch::AdminActions) => {
                query.push(" AND operation LIKE 'admin.%'");
            }
            Some(OperationMatch::Exactly(operation)) => {
                query.push(" AND operation = ").push_bind(operation.clone());
            }
        }
        if let Some(outcome) = self.outcome {
            query.push(" AND outcome = ").push_bind(outcome);
        }
        match (&self.actor, actor_is_admin) {
            (None, _) => {}
            (Some(admin), true) => {
                query.push(" AND actor_admin = ").push_bind(admin.clone());
            }
            (Some(actor), false) => {
                query
                    .push(" AND (actor_config_id = ")
                    .push_bind(actor.clone())
                    .push(" OR actor_token_id = ")
                    .push_bind(actor.clone())
                    .push(")");
            }
        }
        if let Some(correlation_id) = &self.correlation_id {
            query
                .push(" AND correlation_id = ")
                .push_bind(correlation_id.clone());
        }
        query.push(match self.order {
            Order::OldestFirst => " ORDER BY sequence",
            Order::NewestFirst => " ORDER BY sequence DESC",
        });
        // One row beyond the page tells whether another page exists.
        query
            .push(" LIMIT ")
            .push_bind(i64::from(self.page_size) + 1);
        query
    }
}

/// Whether `actor` is an admin who acted in this tenant: one probe of
/// `audit_log_actor_admin_idx`.
///
/// An actor value is either a configuration or token id (generated ids) or an
/// admin name (`admin:<id>:<email>`, `operator`), never both, so the page
/// query looks it up in the columns of its kind only. One `OR` over all three
/// columns would leave the planner a choice that a generic plan gets wrong for
/// one kind or the other: an admin's few rows need their own index, while a
/// token's rows are most of the tenant's and are best found by walking it in
/// sequence order.
async fn names_an_admin(db: &PgPool, tenant_id: &str, actor: &str) -> Result<bool, ServiceError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE tenant_id = $1 AND actor_admin = $2)",
    )
    .bind(tenant_id)
    .bind(actor)
    .fetch_one(db)
    .await?)
}

/// One record of one tenant, by stream sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordKey<'a> {
    pub tenant_id: &'a str,
    pub sequence: i64,
}

impl<'a> RecordKey<'a> {
    pub fn parse(request: &'a GetRecordRequest) -> Result<Self, ServiceError> {
        let tenant_id = request.tenant_id.trim();
        if tenant_id.is_empty() {
            return Err(ServiceError::InvalidArgument(
                "tenant_id is required".into(),
            ));
        }
        let sequence = i64::try_from(request.sequence)
            .ok()
            .filter(|sequence| *sequence > 0)
            .ok_or_else(|| {
                ServiceError::InvalidArgument(format!(
                    "sequence must be a stream sequence, from 1 to {}, got {}",
                    i64::MAX,
                    request.sequence
                ))
            })?;
        Ok(Self {
            tenant_id,
            sequence,
        })
    }
}

/// The record, or NOT_FOUND when this tenant has none at that sequence, also
/// when another tenant has (I8: the answer never tells that it exists).
pub async fn get(db: &PgPool, key: RecordKey<'_>) -> Result<AuditRecord, ServiceError> {
    let mut query = QueryBuilder::<Postgres>::new(RECORD_SELECT);
    query
        .push(" WHERE sequence = ")
        .push_bind(key.sequence)
        .push(" AND tenant_id = ")
        .push_bind(key.tenant_id.to_owned());
    let row: Option<RecordRow> = query.build_query_as().fetch_optional(db).await?;
    row.map(AuditRecord::from).ok_or_else(|| {
        ServiceError::NotFound(format!(
            "tenant {:?} has no audit record with sequence {}",
            key.tenant_id, key.sequence
        ))
    })
}

#[derive(Debug, FromRow)]
pub(crate) struct RecordRow {
    pub(crate) sequence: i64,
    pub(crate) event_id: Uuid,
    pub(crate) tenant_id: String,
    pub(crate) occurred_at: DateTime<Utc>,
    pub(crate) operation: String,
    pub(crate) outcome: String,
    pub(crate) resource_type: Option<String>,
    pub(crate) target_id: Option<String>,
    pub(crate) target_name: Option<String>,
    pub(crate) actor_config_id: Option<String>,
    pub(crate) actor_token_id: Option<String>,
    pub(crate) actor_admin: Option<String>,
    pub(crate) correlation_id: String,
    pub(crate) status: Option<i32>,
    pub(crate) detail: Option<String>,
    pub(crate) event_json: String,
}

impl From<RecordRow> for AuditRecord {
    fn from(row: RecordRow) -> Self {
        Self {
            sequence: u64::try_from(row.sequence).unwrap_or(0),
            event_id: row.event_id.to_string(),
            tenant_id: row.tenant_id,
            occurred_at: row.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            operation: row.operation,
            outcome: row.outcome,
            resource_type: row.resource_type.unwrap_or_default(),
            target_id: row.target_id.unwrap_or_default(),
            target_name: row.target_name.unwrap_or_default(),
            actor_config_id: row.actor_config_id.unwrap_or_default(),
            actor_token_id: row.actor_token_id.unwrap_or_default(),
            correlation_id: row.correlation_id,
            status: row
                .status
                .and_then(|status| u32::try_from(status).ok())
                .unwrap_or(0),
            detail: row.detail.unwrap_or_default(),
            event_json: row.event_json,
            actor_admin: row.actor_admin.unwrap_or_default(),
        }
    }
}

pub async fn run(db: &PgPool, filter: &Filter) -> Result<AuditQueryResponse, ServiceError> {
    let actor_is_admin = match &filter.actor {
        Some(actor) => names_an_admin(db, &filter.tenant_id, actor).await?,
        None => false,
    };
    let mut query = filter.build(actor_is_admin);
    let mut rows: Vec<RecordRow> = query.build_query_as().fetch_all(db).await?;
    let page_size = usize::try_from(filter.page_size).unwrap_or(usize::MAX);
    let next_page_token = if rows.len() > page_size {
        rows.truncate(page_size);
        rows.last()
            .map(|row| {
                encode_page_token(Cursor {
                    order: filter.order,
                    sequence: row.sequence,
                })
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(AuditQueryResponse {
        records: rows.into_iter().map(AuditRecord::from).collect(),
        next_page_token,
    })
}

/// Opaque to clients so the cursor's shape can change without an API change.
fn encode_page_token(cursor: Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}{}", cursor.order.token_tag(), cursor.sequence))
}

fn decode_page_token(token: &str) -> Result<Option<Cursor>, ServiceError> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(None);
    }
    let invalid =
        || ServiceError::InvalidArgument("page_token is not a token this service issued".into());
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut chars = text.chars();
    let order = chars
        .next()
        .and_then(Order::from_token_tag)
        .ok_or_else(invalid)?;
    let sequence = chars
        .as_str()
        .parse::<i64>()
        .ok()
        .filter(|sequence| *sequence >= 0)
        .ok_or_else(invalid)?;
    Ok(Some(Cursor { order, sequence }))
}

pub(crate) fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

pub(crate) fn timestamp(name: &str, value: &str) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let Some(value) = non_empty(value) else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&value)
        .map(|time| Some(time.with_timezone(&Utc)))
        .map_err(|error| {
            ServiceError::InvalidArgument(format!("{name} is not an RFC 3339 timestamp: {error}"))
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn request() -> AuditQueryRequest {
        AuditQueryRequest {
            tenant_id: "t1".into(),
            ..Default::default()
        }
    }

    fn cursor(order: Order, sequence: i64) -> Cursor {
        Cursor { order, sequence }
    }

    #[test]
    fn page_tokens_round_trip_and_reject_forgeries() {
        for order in [Order::OldestFirst, Order::NewestFirst] {
            let token = encode_page_token(cursor(order, 1234));
            assert_eq!(
                decode_page_token(&token).unwrap(),
                Some(cursor(order, 1234))
            );
        }
        // Tokens issued before there was a choice of order continue oldest-first.
        assert_eq!(
            decode_page_token(&URL_SAFE_NO_PAD.encode("s7")).unwrap(),
            Some(cursor(Order::OldestFirst, 7))
        );
        assert_eq!(decode_page_token("").unwrap(), None);
        for bad in [
            "1234",
            "!!",
            &URL_SAFE_NO_PAD.encode("s-1"),
            &URL_SAFE_NO_PAD.encode("d-1"),
            &URL_SAFE_NO_PAD.encode("d"),
            &URL_SAFE_NO_PAD.encode("x1"),
            &URL_SAFE_NO_PAD.encode("é1"),
        ] {
            assert!(decode_page_token(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn requests_are_validated() {
        assert!(
            Filter::parse(&AuditQueryRequest::default()).is_err(),
            "tenant required"
        );
        let filter = Filter::parse(&request()).unwrap();
        assert_eq!(filter.page_size, DEFAULT_PAGE_SIZE);
        let filter = Filter::parse(&AuditQueryRequest {
            page_size: 50_000,
            ..request()
        })
        .unwrap();
        assert_eq!(filter.page_size, MAX_PAGE_SIZE);
        let bad_time = AuditQueryRequest {
            from: "yesterday".into(),
            ..request()
        };
        assert!(
            Filter::parse(&bad_time)
                .unwrap_err()
                .to_string()
                .contains("from")
        );
        let bad_outcome = AuditQueryRequest {
            outcome: "maybe".into(),
            ..request()
        };
        assert!(Filter::parse(&bad_outcome).is_err());
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let filter = Filter::parse(&AuditQueryRequest {
            target: "x' OR '1'='1".into(),
            operation: "update".into(),
            actor: "a".into(),
            correlation_id: "c".into(),
            from: "2026-01-01T00:00:00Z".into(),
            to: "2026-12-31T00:00:00+01:00".into(),
            outcome: "failure".into(),
            page_token: encode_page_token(cursor(Order::OldestFirst, 7)),
            ..request()
        })
        .unwrap();
        let sql = filter.build(false).into_string();
        assert!(!sql.contains("OR '1'='1"), "{sql}");
        assert!(sql.contains("operation = ANY($"), "{sql}");
        assert!(sql.contains("sequence > $2"), "{sql}");
        assert!(sql.ends_with("ORDER BY sequence LIMIT $12"), "{sql}");
        let admin_sql = filter.build(true).into_string();
        assert!(admin_sql.contains("AND actor_admin = $"), "{admin_sql}");
        assert!(!admin_sql.contains("actor_token_id ="), "{admin_sql}");
    }

    #[test]
    fn newest_first_walks_down_and_tokens_keep_their_order() {
        let newest_first = AuditQueryRequest {
            newest_first: true,
            page_token: encode_page_token(cursor(Order::NewestFirst, 50)),
            ..request()
        };
        let filter = Filter::parse(&newest_first).unwrap();
        assert_eq!(
            (filter.order, filter.after_sequence),
            (Order::NewestFirst, Some(50))
        );
        let sql = filter.build(false).into_string();
        assert!(sql.contains("sequence < $2"), "{sql}");
        assert!(sql.ends_with("ORDER BY sequence DESC LIMIT $3"), "{sql}");

        let switched = AuditQueryRequest {
            newest_first: false,
            ..newest_first
        };
        let error = Filter::parse(&switched).unwrap_err().to_string();
        assert!(error.contains("newest-first"), "{error}");
        let switched_back = AuditQueryRequest {
            newest_first: true,
            page_token: encode_page_token(cursor(Order::OldestFirst, 50)),
            ..request()
        };
        assert!(Filter::parse(&switched_back).is_err());
    }

    #[test]
    fn only_admin_dot_matches_a_family_of_operations() {
        let parse = |operation: &str| OperationMatch::parse(operation);
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("admin.").unwrap(), Some(OperationMatch::AdminActions));
        assert_eq!(parse("update").unwrap(), Some(OperationMatch::Update));
        assert_eq!(
            parse(" admin.token.issue ").unwrap(),
            Some(OperationMatch::Exactly("admin.token.issue".into()))
        );
        assert_eq!(
            parse("admin").unwrap(),
            Some(OperationMatch::Exactly("admin".into()))
        );
        let error = parse("license.").unwrap_err().to_string();
        assert!(error.contains("\"admin.\""), "{error}");
        assert!(parse("admin.token.").is_err());

        let filter = Filter::parse(&AuditQueryRequest {
            operation: "admin.".into(),
            ..request()
        })
        .unwrap();
        let sql = filter.build(false).into_string();
        // The index's predicate, verbatim, so that every plan can use it.
        assert!(sql.contains("AND operation LIKE 'admin.%'"), "{sql}");
    }

    #[test]
    fn record_keys_are_validated() {
        let key = |tenant_id: &str, sequence: u64| GetRecordRequest {
            tenant_id: tenant_id.into(),
            sequence,
        };
        let request = key(" t1 ", 9);
        assert_eq!(
            RecordKey::parse(&request).unwrap(),
            RecordKey {
                tenant_id: "t1",
                sequence: 9
            }
        );
        let no_tenant = key("", 9);
        assert!(
            RecordKey::parse(&no_tenant)
                .unwrap_err()
                .to_string()
                .contains("tenant_id")
        );
        for sequence in [0, u64::MAX] {
            let request = key("t1", sequence);
            let error = RecordKey::parse(&request).unwrap_err().to_string();
            assert!(error.contains("sequence"), "{error}");
        }
    }
}
