//! The one write protocol (I4), for every PUT, PATCH and DELETE of users and groups, alone or
//! inside `/Bulk`: take the aggregate's turn, then load → check `If-Match` → decide → claim →
//! append at the loaded version → hand the turn on → await visibility. A conflicting append
//! retries from the load (a newer version was written between load and append), except under
//! `If-Match`, where it is the client's 412. What a resource type contributes is only its load
//! and its decision.

use chrono::{DateTime, Utc};
use event_store::AppendError;
use event_store::claims::ClaimOutcome;
use scim_events::{AggregateKind, EventEnvelope, EventPayload};
use scim_model::ScimError;

use super::{MAX_ATTEMPTS, actor};
use crate::directory::TenantContext;
use crate::error::ApiError;
use crate::state::AppState;

/// What a decision asks to write.
pub(super) struct Change<T> {
    pub payload: EventPayload,
    /// A normalised userName to claim before appending; released again if the append fails.
    pub claim: Option<String>,
    /// A normalised userName to release once the append succeeded (renamed or deleted).
    pub release: Option<String>,
    /// What the caller answers with, once the change is written.
    pub value: T,
}

impl<T> Change<T> {
    pub fn new(payload: EventPayload, value: T) -> Self {
        Self {
            payload,
            claim: None,
            release: None,
            value,
        }
    }
}

/// A decision on the loaded state.
pub(super) enum Decision<T> {
    /// Nothing would change: no event; answer once the loaded version is visible.
    Unchanged(T),
    Append(Box<Change<T>>),
}

/// A change as written: the event's version and time.
pub(super) struct Appended<T> {
    pub value: T,
    pub version: u64,
    pub at: DateTime<Utc>,
}

/// What a write did.
pub(super) enum Outcome<T> {
    /// Nothing was written; `version` is the one loaded, now visible.
    Unchanged {
        value: T,
        version: u64,
    },
    Appended(Appended<T>),
}

/// Writes of one resource type, on behalf of one request.
pub(super) struct Writer<'a> {
    pub state: &'a AppState,
    pub tenant: &'a TenantContext,
    request_id: &'a str,
    kind: AggregateKind,
}

impl<'a> Writer<'a> {
    pub fn new(
        state: &'a AppState,
        tenant: &'a TenantContext,
        request_id: &'a str,
        kind: AggregateKind,
    ) -> Self {
        Self {
            state,
            tenant,
            request_id,
            kind,
        }
    }

    /// Creates the aggregate `id` (new, so there is no turn to take and nothing to load).
    pub async fn create<T>(&self, id: &str, change: Change<T>) -> Result<Appended<T>, ApiError> {
        let appended = self.append(id, 0, change).await?.map_err(ApiError::from)?;
        self.await_visible(appended.version).await?;
        Ok(appended)
    }

    /// Changes the existing aggregate `id`: `load` reads its state and version, `decide` says
    /// what to write on that state. Both run again after a conflict.
    ///
    /// Plain closures returning futures rather than async closures: the futures of async
    /// closures are not yet known to be `Send` for every lifetime, which axum handlers need.
    pub async fn update<S, T, LoadFuture, DecideFuture>(
        &self,
        id: &str,
        if_match: Option<u64>,
        load: impl Fn() -> LoadFuture,
        decide: impl Fn(S, u64) -> DecideFuture,
    ) -> Result<Outcome<T>, ApiError>
    where
        LoadFuture: Future<Output = Result<(S, u64), ApiError>>,
        DecideFuture: Future<Output = Result<Decision<T>, ApiError>>,
    {
        let mut turn = Some(
            self.state
                .aggregate_locks()
                .turn(format!(
                    "{}/{}/{id}",
                    self.tenant.tenant_id,
                    self.kind.as_str()
                ))
                .await,
        );
        for _ in 0..MAX_ATTEMPTS {
            let (current, version) = load().await?;
            if if_match.is_some_and(|expected| expected != version) {
                return Err(ApiError::version_mismatch());
            }
            let (outcome, visible) = match decide(current, version).await? {
                Decision::Unchanged(value) => (Outcome::Unchanged { value, version }, version),
                Decision::Append(change) => match self.append(id, version, *change).await? {
                    Ok(appended) => {
                        let version = appended.version;
                        (Outcome::Appended(appended), version)
                    }
                    Err(AppendError::Conflict { .. }) => {
                        self.state.metrics().publish_conflicts.inc();
                        if if_match.is_some() {
                            return Err(ApiError::version_mismatch());
                        }
                        continue;
                    }
                    Err(error) => return Err(error.into()),
                },
            };
            // The next writer may go while this one waits for the read model.
            drop(turn.take());
            self.await_visible(visible).await?;
            return Ok(outcome);
        }
        Err(ApiError::Unavailable(format!(
            "too many concurrent changes to this {}; retry",
            self.kind.as_str()
        )))
    }

    /// Claim → append at `expected` → release: the step after a decision. The outer error is
    /// the claim's; the inner one the append's, which the caller may retry.
    async fn append<T>(
        &self,
        id: &str,
        expected: u64,
        change: Change<T>,
    ) -> Result<Result<Appended<T>, AppendError>, ApiError> {
        if let Some(name) = &change.claim {
            self.claim(name, id).await?;
        }
        let event = EventEnvelope::new(
            self.tenant.tenant_id.clone(),
            self.kind,
            id,
            actor(self.tenant),
            self.request_id,
            change.payload,
        );
        match self.state.store().append(&event, expected).await {
            Ok(version) => {
                if let Some(name) = &change.release {
                    self.release(name, id).await;
                }
                Ok(Ok(Appended {
                    value: change.value,
                    version,
                    at: event.occurred_at,
                }))
            }
            Err(error) => {
                if let Some(name) = &change.claim {
                    self.release(name, id).await;
                }
                Ok(Err(error))
            }
        }
    }

    async fn claim(&self, normalized: &str, id: &str) -> Result<(), ApiError> {
        match self
            .state
            .store()
            .claim_user_name(&self.tenant.tenant_id, normalized, id)
            .await?
        {
            ClaimOutcome::Claimed { .. } => Ok(()),
            ClaimOutcome::Taken { .. } => {
                self.state.metrics().uniqueness_conflicts.inc();
                Err(ScimError::Uniqueness("a user with this userName already exists".into()).into())
            }
        }
    }

    async fn release(&self, normalized: &str, id: &str) {
        if let Err(error) = self
            .state
            .store()
            .release_user_name(&self.tenant.tenant_id, normalized, id)
            .await
        {
            // Left behind, the claim is detected as orphaned and reclaimed later.
            tracing::warn!(%error, "could not release a userName claim");
        }
    }

    async fn await_visible(&self, version: u64) -> Result<(), ApiError> {
        let settled_by = self
            .state
            .directory()
            .await_applied(version, self.state.config().await_applied_ms)
            .await?;
        self.state.metrics().visibility_settled(settled_by);
        Ok(())
    }
}
