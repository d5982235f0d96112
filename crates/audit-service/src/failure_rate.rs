//! Failure rate of a tenant's (or one configuration's) SCIM requests per time bucket.
//!
//! Entra ID quarantines a provisioning job when more than 40 % of its requests fail, and backs
//! off on 429s; the admin sees only "quarantined". This query shows the streak that led there
//! from the log the service already keeps: accepted writes and rejected requests. Successful
//! reads are not in the log, so the percentage is of recorded requests and can read higher than
//! the IdP's own figure; a streak of failures still shows as one.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use scim_rpc::audit::{FailureRateBucket, FailureRateRequest, FailureRateResponse};
use sqlx::{FromRow, PgPool};

use crate::error::ServiceError;
use crate::query::{non_empty, timestamp};
use crate::record::FAILURE;

pub const DEFAULT_BUCKET_SECONDS: u32 = 3600;
/// Entra ID's quarantine threshold.
pub const DEFAULT_THRESHOLD_PERCENT: f64 = 40.0;
const MIN_BUCKET_SECONDS: u32 = 60;
const MAX_BUCKET_SECONDS: u32 = 7 * 86_400;
/// Bounds the answer (and the scan) of one query.
const MAX_BUCKETS: i64 = 10_000;

/// The operations that stand for one SCIM request of an IdP. License decisions and quarantine
/// notes are the platform's own events, not requests.
const REQUEST_OPERATIONS: [&str; 5] = ["create", "replace", "patch", "delete", "reject"];

#[derive(Debug, Clone, PartialEq)]
pub struct FailureRateQuery {
    pub tenant_id: String,
    pub config_id: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bucket_seconds: u32,
    pub threshold_percent: f64,
}

impl FailureRateQuery {
    pub fn parse(request: &FailureRateRequest, now: DateTime<Utc>) -> Result<Self, ServiceError> {
        let invalid = |message: String| ServiceError::InvalidArgument(message);
        let tenant_id =
            non_empty(&request.tenant_id).ok_or_else(|| invalid("tenant_id is required".into()))?;
        let to = timestamp("to", &request.to)?.unwrap_or(now);
        let from = timestamp("from", &request.from)?.unwrap_or(to - Duration::hours(24));
        if from >= to {
            return Err(invalid("from must be before to".into()));
        }
        let bucket_seconds = match request.bucket_seconds {
            0 => DEFAULT_BUCKET_SECONDS,
            seconds if (MIN_BUCKET_SECONDS..=MAX_BUCKET_SECONDS).contains(&seconds) => seconds,
            seconds => {
                return Err(invalid(format!(
                    "bucket_seconds must be between {MIN_BUCKET_SECONDS} and \
                     {MAX_BUCKET_SECONDS}, got {seconds}"
                )));
            }
        };
        if (to - from).num_seconds() / i64::from(bucket_seconds) > MAX_BUCKETS {
            return Err(invalid(format!(
                "the range spans more than {MAX_BUCKETS} buckets; widen the bucket or narrow the range"
            )));
        }
        let threshold_percent = match request.threshold_percent {
            0.0 => DEFAULT_THRESHOLD_PERCENT,
            t if t > 0.0 && t < 100.0 => t,
            t => {
                return Err(invalid(format!(
                    "threshold_percent must be above 0 and below 100, got {t}"
                )));
            }
        };
        Ok(Self {
            tenant_id,
            config_id: non_empty(&request.config_id),
            from,
            to,
            bucket_seconds,
            threshold_percent,
        })
    }
}

#[derive(Debug, FromRow)]
struct BucketRow {
    start: DateTime<Utc>,
    requests: i64,
    failures: i64,
    throttled: i64,
}

/// One bucket's figures, flagged against the threshold.
pub fn bucket(
    start: DateTime<Utc>,
    requests: u64,
    failures: u64,
    throttled: u64,
    threshold_percent: f64,
) -> FailureRateBucket {
    // Counts of one bucket stay far below 2^52, where f64 is exact.
    #[allow(clippy::cast_precision_loss)]
    let failure_percent = if requests == 0 {
        0.0
    } else {
        failures as f64 * 100.0 / requests as f64
    };
    FailureRateBucket {
        start: start.to_rfc3339_opts(SecondsFormat::Secs, true),
        requests,
        failures,
        throttled,
        failure_percent,
        over_threshold: failure_percent > threshold_percent,
    }
}

pub async fn run(
    db: &PgPool,
    query: &FailureRateQuery,
) -> Result<FailureRateResponse, ServiceError> {
    // Buckets are aligned to the epoch, so the same hour is the same bucket in every query.
    let rows: Vec<BucketRow> = sqlx::query_as(
        "SELECT to_timestamp(floor(extract(epoch FROM occurred_at) / $5) * $5) AS start, \
                count(*) AS requests, \
                count(*) FILTER (WHERE outcome = $6) AS failures, \
                count(*) FILTER (WHERE status = 429) AS throttled \
         FROM audit_log \
         WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
           AND ($4::text IS NULL OR actor_config_id = $4) \
           AND operation = ANY($7) \
         GROUP BY 1 ORDER BY 1",
    )
    .bind(&query.tenant_id)
    .bind(query.from)
    .bind(query.to)
    .bind(query.config_id.as_deref())
    .bind(f64::from(query.bucket_seconds))
    .bind(FAILURE)
    .bind(REQUEST_OPERATIONS.map(str::to_owned).to_vec())
    .fetch_all(db)
    .await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(FailureRateResponse {
        buckets: rows
            .into_iter()
            .map(|row| {
                bucket(
                    row.start,
                    count(row.requests),
                    count(row.failures),
                    count(row.throttled),
                    query.threshold_percent,
                )
            })
            .collect(),
        threshold_percent: query.threshold_percent,
        bucket_seconds: query.bucket_seconds,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn request() -> FailureRateRequest {
        FailureRateRequest {
            tenant_id: "t1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_are_the_last_day_by_the_hour_against_forty_percent() {
        let query = FailureRateQuery::parse(&request(), now()).unwrap();
        assert_eq!(query.to, now());
        assert_eq!(query.from, now() - Duration::hours(24));
        assert_eq!(query.bucket_seconds, 3600);
        assert!((query.threshold_percent - 40.0).abs() < f64::EPSILON);
        assert_eq!(query.config_id, None);
    }

    #[test]
    fn requests_are_validated() {
        let bad = [
            FailureRateRequest::default(),
            FailureRateRequest {
                bucket_seconds: 59,
                ..request()
            },
            FailureRateRequest {
                threshold_percent: 100.0,
                ..request()
            },
            FailureRateRequest {
                threshold_percent: -1.0,
                ..request()
            },
            FailureRateRequest {
                from: "2026-06-02T00:00:00Z".into(),
                to: "2026-06-01T00:00:00Z".into(),
                ..request()
            },
            FailureRateRequest {
                from: "2016-01-01T00:00:00Z".into(),
                bucket_seconds: 60,
                ..request()
            },
            FailureRateRequest {
                from: "an hour ago".into(),
                ..request()
            },
        ];
        for request in bad {
            assert!(
                FailureRateQuery::parse(&request, now()).is_err(),
                "{request:?}"
            );
        }
    }

    #[test]
    fn a_bucket_is_flagged_only_above_the_threshold() {
        let start = now();
        let at = bucket(start, 5, 2, 0, 40.0);
        assert!((at.failure_percent - 40.0).abs() < 1e-9);
        assert!(!at.over_threshold, "exactly 40 % is not over 40 %");
        let over = bucket(start, 10, 5, 3, 40.0);
        assert!((over.failure_percent - 50.0).abs() < 1e-9);
        assert!(over.over_threshold);
        assert_eq!(over.throttled, 3);
        assert_eq!(over.start, "2026-06-01T12:00:00Z");
        assert!(!bucket(start, 0, 0, 0, 40.0).over_threshold);
    }
}
