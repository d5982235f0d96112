//! Audit log queries: validated filters, keyset paging by stream sequence.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use scim_rpc::audit::{AuditQueryRequest, AuditQueryResponse, AuditRecord};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::ServiceError;
use crate::record::{FAILURE, SUCCESS};

pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The proto names "update" as an operation; the log records how the
/// resource was updated, so "update" covers both.
const UPDATE_OPERATIONS: [&str; 2] = ["replace", "patch"];

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub tenant_id: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub target: Option<String>,
    pub operation: Option<String>,
    pub outcome: Option<&'static str>,
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
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
        Ok(Self {
            tenant_id,
            from: timestamp("from", &request.from)?,
            to: timestamp("to", &request.to)?,
            target: non_empty(&request.target),
            operation: non_empty(&request.operation),
            outcome,
            actor: non_empty(&request.actor),
            correlation_id: non_empty(&request.correlation_id),
            after_sequence: decode_page_token(&request.page_token)?,
            page_size,
        })
    }

    /// The page query: every value is a bind parameter; only constant SQL
    /// fragments are pushed.
    fn build(&self) -> QueryBuilder<Postgres> {
        let mut query = QueryBuilder::<Postgres>::new(
            "SELECT sequence, event_id, tenant_id, occurred_at, operation, outcome, resource_type, target_id, \
             target_name, actor_config_id, actor_token_id, correlation_id, status, detail, event::text AS event_json \
             FROM audit_log WHERE tenant_id = ",
        );
        query.push_bind(self.tenant_id.clone());
        if let Some(after) = self.after_sequence {
            query.push(" AND sequence > ").push_bind(after);
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
        match self.operation.as_deref() {
            None => {}
            Some("update") => {
                query
                    .push(" AND operation = ANY(")
                    .push_bind(UPDATE_OPERATIONS.map(str::to_owned).to_vec())
                    .push(")");
            }
            Some(operation) => {
                query
                    .push(" AND operation = ")
                    .push_bind(operation.to_owned());
            }
        }
        if let Some(outcome) = self.outcome {
            query.push(" AND outcome = ").push_bind(outcome);
        }
        if let Some(actor) = &self.actor {
            query
                .push(" AND (actor_config_id = ")
                .push_bind(actor.clone())
                .push(" OR actor_token_id = ")
                .push_bind(actor.clone())
                .push(")");
        }
        if let Some(correlation_id) = &self.correlation_id {
            query
                .push(" AND correlation_id = ")
                .push_bind(correlation_id.clone());
        }
        // One row beyond the page tells whether another page exists.
        query
            .push(" ORDER BY sequence LIMIT ")
            .push_bind(i64::from(self.page_size) + 1);
        query
    }
}

#[derive(Debug, FromRow)]
struct RecordRow {
    sequence: i64,
    event_id: Uuid,
    tenant_id: String,
    occurred_at: DateTime<Utc>,
    operation: String,
    outcome: String,
    resource_type: Option<String>,
    target_id: Option<String>,
    target_name: Option<String>,
    actor_config_id: Option<String>,
    actor_token_id: Option<String>,
    correlation_id: String,
    status: Option<i32>,
    detail: Option<String>,
    event_json: String,
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
        }
    }
}

pub async fn run(db: &PgPool, filter: &Filter) -> Result<AuditQueryResponse, ServiceError> {
    let mut query = filter.build();
    let mut rows: Vec<RecordRow> = query.build_query_as().fetch_all(db).await?;
    let page_size = usize::try_from(filter.page_size).unwrap_or(usize::MAX);
    let next_page_token = if rows.len() > page_size {
        rows.truncate(page_size);
        rows.last()
            .map(|row| encode_page_token(row.sequence))
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
fn encode_page_token(sequence: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("s{sequence}"))
}

fn decode_page_token(token: &str) -> Result<Option<i64>, ServiceError> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(None);
    }
    let invalid =
        || ServiceError::InvalidArgument("page_token is not a token this service issued".into());
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let sequence = text
        .strip_prefix('s')
        .and_then(|digits| digits.parse::<i64>().ok())
        .filter(|sequence| *sequence >= 0)
        .ok_or_else(invalid)?;
    Ok(Some(sequence))
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

    #[test]
    fn page_tokens_round_trip_and_reject_forgeries() {
        let token = encode_page_token(1234);
        assert_eq!(decode_page_token(&token).unwrap(), Some(1234));
        assert_eq!(decode_page_token("").unwrap(), None);
        for bad in [
            "1234",
            "!!",
            &URL_SAFE_NO_PAD.encode("s-1"),
            &URL_SAFE_NO_PAD.encode("x1"),
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
            page_token: encode_page_token(7),
            ..request()
        })
        .unwrap();
        let sql = filter.build().into_string();
        assert!(!sql.contains("OR '1'='1"), "{sql}");
        assert!(sql.contains("operation = ANY($"), "{sql}");
        assert!(sql.ends_with("ORDER BY sequence LIMIT $12"), "{sql}");
    }
}
