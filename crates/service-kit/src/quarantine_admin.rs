//! The `QuarantineAdmin` gRPC service every event-consuming service serves (operator
//! credential): list its quarantined events, retry them in stream order.

use chrono::SecondsFormat;
use event_store::EventStore;
use scim_rpc::quarantine::quarantine_admin_server::QuarantineAdmin;
use scim_rpc::quarantine::{
    ListQuarantinedRequest, ListQuarantinedResponse, QuarantinedEvent as EventProto,
    RetryQuarantinedRequest, RetryQuarantinedResponse, RetryResult,
};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::quarantine::{self, QuarantinedEvent, Reapply, RetryOutcome};

pub struct QuarantineAdminService<R> {
    pool: PgPool,
    store: EventStore,
    consumer: String,
    projection: R,
}

impl<R: Reapply + 'static> QuarantineAdminService<R> {
    /// `consumer` is the projection's consumer (and checkpoint) name.
    pub fn new(pool: PgPool, store: EventStore, consumer: String, projection: R) -> Self {
        Self {
            pool,
            store,
            consumer,
            projection,
        }
    }

    async fn retry_one(&self, sequence: u64) -> Result<RetryResult, Status> {
        let event = self
            .store
            .load_sequence(sequence)
            .await
            .map_err(|error| Status::unavailable(format!("event store: {error}")))?
            .ok_or_else(|| Status::not_found(format!("no event {sequence} in the stream")))?;
        let outcome = quarantine::retry(&self.pool, &self.consumer, &event, &self.projection)
            .await
            .map_err(database)?;
        Ok(match outcome {
            RetryOutcome::Applied => {
                tracing::info!(sequence, consumer = %self.consumer, "quarantined event applied on retry");
                RetryResult {
                    sequence,
                    applied: true,
                    error: String::new(),
                }
            }
            RetryOutcome::StillFailing(error) => RetryResult {
                sequence,
                applied: false,
                error,
            },
            RetryOutcome::NotQuarantined => {
                return Err(Status::not_found(format!(
                    "event {sequence} is not quarantined by {}",
                    self.consumer
                )));
            }
        })
    }
}

fn database(error: sqlx::Error) -> Status {
    tracing::error!(%error, "quarantine request failed");
    Status::unavailable("database unavailable")
}

fn to_proto(event: QuarantinedEvent) -> EventProto {
    EventProto {
        consumer: event.consumer,
        sequence: u64::try_from(event.sequence).unwrap_or(0),
        subject: event.subject,
        tenant_id: event.tenant_id,
        event_type: event.event_type,
        error: event.error,
        attempts: u32::try_from(event.attempts).unwrap_or(0),
        quarantined_at: event
            .quarantined_at
            .to_rfc3339_opts(SecondsFormat::Millis, true),
    }
}

#[tonic::async_trait]
impl<R: Reapply + 'static> QuarantineAdmin for QuarantineAdminService<R> {
    async fn list(
        &self,
        _request: Request<ListQuarantinedRequest>,
    ) -> Result<Response<ListQuarantinedResponse>, Status> {
        let events = quarantine::list(&self.pool, &self.consumer)
            .await
            .map_err(database)?;
        Ok(Response::new(ListQuarantinedResponse {
            events: events.into_iter().map(to_proto).collect(),
        }))
    }

    async fn retry(
        &self,
        request: Request<RetryQuarantinedRequest>,
    ) -> Result<Response<RetryQuarantinedResponse>, Status> {
        let sequence = request.into_inner().sequence;
        let sequences: Vec<u64> = if sequence == 0 {
            quarantine::list(&self.pool, &self.consumer)
                .await
                .map_err(database)?
                .into_iter()
                .filter_map(|event| u64::try_from(event.sequence).ok())
                .collect()
        } else {
            vec![sequence]
        };
        let mut results = Vec::with_capacity(sequences.len());
        for sequence in sequences {
            results.push(self.retry_one(sequence).await?);
        }
        Ok(Response::new(RetryQuarantinedResponse { results }))
    }
}

/// The service as served: to the admin callers only.
pub type QuarantineServer<R> = tonic::service::interceptor::InterceptedService<
    scim_rpc::quarantine::quarantine_admin_server::QuarantineAdminServer<QuarantineAdminService<R>>,
    crate::callers::CallerPolicy,
>;

/// Builds [`QuarantineServer`] for one projection.
pub fn server<R: Reapply + 'static>(
    pool: PgPool,
    store: EventStore,
    consumer: String,
    projection: R,
    callers: crate::callers::CallerPolicy,
) -> QuarantineServer<R> {
    scim_rpc::quarantine::quarantine_admin_server::QuarantineAdminServer::with_interceptor(
        QuarantineAdminService::new(pool, store, consumer, projection),
        callers,
    )
}
