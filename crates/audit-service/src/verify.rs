//! `AuditQuery.Verify`: walks a tenant's hash chain in pages, in bounded memory, and reports
//! the first record that breaks it.

use scim_rpc::audit::{ChainBreak, VerifyRequest, VerifyResponse};
use sqlx::{FromRow, PgPool};

use crate::chain::{ChainedRecord, GENESIS, event_digest};
use crate::error::ServiceError;
use crate::query::{RecordRow, non_empty};

/// Rows per page of the walk: what one round trip carries, and all the walk holds.
const PAGE_SIZE: i64 = 1000;

pub fn tenant(request: &VerifyRequest) -> Result<String, ServiceError> {
    non_empty(&request.tenant_id)
        .ok_or_else(|| ServiceError::InvalidArgument("tenant_id is required".into()))
}

#[derive(Debug, FromRow)]
struct ChainRow {
    #[sqlx(flatten)]
    record: RecordRow,
    chain_position: i64,
    record_hash: Vec<u8>,
}

impl ChainRow {
    fn chained(&self) -> Result<ChainedRecord<'_>, ServiceError> {
        let event: serde_json::Value = serde_json::from_str(&self.record.event_json)?;
        Ok(ChainedRecord {
            sequence: self.record.sequence,
            chain_position: self.chain_position,
            event_id: self.record.event_id,
            tenant_id: &self.record.tenant_id,
            occurred_at_micros: self.record.occurred_at.timestamp_micros(),
            operation: &self.record.operation,
            outcome: &self.record.outcome,
            resource_type: self.record.resource_type.as_deref(),
            target_id: self.record.target_id.as_deref(),
            target_name: self.record.target_name.as_deref(),
            actor_config_id: self.record.actor_config_id.as_deref(),
            actor_token_id: self.record.actor_token_id.as_deref(),
            actor_admin: self.record.actor_admin.as_deref(),
            correlation_id: &self.record.correlation_id,
            status: self.record.status,
            detail: self.record.detail.as_deref(),
            event_digest: event_digest(&event),
        })
    }
}

/// Where the walk stands: the last record that checked out.
struct Walk {
    verified: u64,
    position: i64,
    sequence: i64,
    hash: Vec<u8>,
}

/// The first break, if any, as the response reports it.
struct Break {
    sequence: i64,
    reason: ChainBreak,
    detail: String,
}

impl Walk {
    /// Checks `row` as the successor of the last record walked.
    fn step(&mut self, row: &ChainRow) -> Result<Option<Break>, ServiceError> {
        let expected = self.position + 1;
        let broken = |reason, detail| {
            Ok(Some(Break {
                sequence: row.record.sequence,
                reason,
                detail,
            }))
        };
        if row.chain_position > expected {
            return broken(
                ChainBreak::MissingPredecessor,
                format!(
                    "record {} is at chain position {} but the chain has no position {}: \
                     records were deleted",
                    row.record.sequence, row.chain_position, expected
                ),
            );
        }
        if row.chain_position < expected {
            return broken(
                ChainBreak::OrderBroken,
                format!(
                    "record {} repeats chain position {}, already taken by record {}",
                    row.record.sequence, row.chain_position, self.sequence
                ),
            );
        }
        let computed = row.chained()?.hash(&self.hash);
        if computed.as_slice() != row.record_hash.as_slice() {
            return broken(
                ChainBreak::HashMismatch,
                format!(
                    "record {} (chain position {}) does not hash to its stored record hash: \
                     it was altered, moved, or inserted without the chain",
                    row.record.sequence, row.chain_position
                ),
            );
        }
        self.verified += 1;
        self.position = row.chain_position;
        self.sequence = row.record.sequence;
        self.hash = row.record_hash.clone();
        Ok(None)
    }
}

pub async fn run(db: &PgPool, tenant_id: &str) -> Result<VerifyResponse, ServiceError> {
    let mut walk = Walk {
        verified: 0,
        position: 0,
        sequence: 0,
        hash: GENESIS.to_vec(),
    };
    let mut found = None;
    'pages: loop {
        // Keyset on (position, sequence): a repeated position (possible only if the unique
        // index was dropped) is still walked, and reported.
        let page: Vec<ChainRow> = sqlx::query_as(
            "SELECT sequence, chain_position, record_hash, event_id, tenant_id, occurred_at, \
             operation, outcome, resource_type, target_id, target_name, actor_config_id, \
             actor_token_id, actor_admin, correlation_id, status, detail, event::text AS event_json \
             FROM audit_log \
             WHERE tenant_id = $1 AND chain_position IS NOT NULL \
               AND (chain_position, sequence) > ($2, $3) \
             ORDER BY chain_position, sequence LIMIT $4",
        )
        .bind(tenant_id)
        .bind(walk.position)
        .bind(walk.sequence)
        .bind(PAGE_SIZE)
        .fetch_all(db)
        .await?;
        let complete = i64::try_from(page.len()).unwrap_or(i64::MAX) < PAGE_SIZE;
        for row in &page {
            if let Some(broken) = walk.step(row)? {
                found = Some(broken);
                break 'pages;
            }
        }
        if complete {
            break;
        }
    }
    if found.is_none() {
        found = first_unchained_after_origin(db, tenant_id).await?;
    }
    let unchained: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND chain_position IS NULL",
    )
    .bind(tenant_id)
    .fetch_one(db)
    .await?;
    let unchained_records = u64::try_from(unchained).unwrap_or(0);
    Ok(match found {
        None => VerifyResponse {
            records_verified: walk.verified,
            ok: true,
            head_position: u64::try_from(walk.position).unwrap_or(0),
            head_hash: if walk.verified == 0 {
                String::new()
            } else {
                hex::encode(&walk.hash)
            },
            unchained_records,
            ..VerifyResponse::default()
        },
        Some(broken) => VerifyResponse {
            records_verified: walk.verified,
            ok: false,
            broken_sequence: u64::try_from(broken.sequence).unwrap_or(0),
            reason: broken.reason.into(),
            detail: broken.detail,
            unchained_records,
            ..VerifyResponse::default()
        },
    })
}

/// A row of the tenant without a link although the projection had begun chaining before its
/// sequence: inserted by hand (see the migration that made `audit_chain_origin`).
async fn first_unchained_after_origin(
    db: &PgPool,
    tenant_id: &str,
) -> Result<Option<Break>, ServiceError> {
    let sequence: Option<i64> = sqlx::query_scalar(
        "SELECT min(sequence) FROM audit_log \
         WHERE tenant_id = $1 AND chain_position IS NULL \
           AND sequence >= (SELECT first_chained_sequence FROM audit_chain_origin)",
    )
    .bind(tenant_id)
    .fetch_one(db)
    .await?;
    Ok(sequence.map(|sequence| Break {
        sequence,
        reason: ChainBreak::Unchained,
        detail: format!(
            "record {sequence} has no chain link although it was written after the chain \
             began: it was inserted outside the service"
        ),
    }))
}
