//! The user write path: what a PUT, PATCH or DELETE of a user decides, as events.

use chrono::{DateTime, SecondsFormat, Utc};
use event_store::claims::ClaimOutcome;
use event_store::{AppendError, StoredEvent};
use scim_events::{AggregateKind, EventEnvelope, EventPayload};
use scim_model::ScimError;
use serde_json::{Value, json};

use super::{MAX_ATTEMPTS, actor, with_id, without_id};
use crate::directory::TenantContext;
use crate::error::ApiError;
use crate::state::AppState;

/// A user as the write path knows it: the state in its last event.
#[derive(Debug, Clone)]
pub struct UserState {
    pub resource: Value,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub version: u64,
}

impl UserState {
    /// The SCIM representation (without `meta.location`, added by the route).
    pub fn to_json(&self, id: &str) -> Value {
        let mut json = self.resource.clone();
        if let Value::Object(map) = &mut json {
            map.insert("id".into(), Value::String(id.to_owned()));
            map.insert(
                "meta".into(),
                json!({
                    "resourceType": "User",
                    "created": self.created.to_rfc3339_opts(SecondsFormat::Millis, true),
                    "lastModified": self.last_modified.to_rfc3339_opts(SecondsFormat::Millis, true),
                    "version": crate::http::etag(self.version),
                }),
            );
        }
        json
    }
}

pub struct UserCommands<'a> {
    state: &'a AppState,
    tenant: &'a TenantContext,
    request_id: &'a str,
}

impl<'a> UserCommands<'a> {
    pub fn new(state: &'a AppState, tenant: &'a TenantContext, request_id: &'a str) -> Self {
        Self {
            state,
            tenant,
            request_id,
        }
    }

    pub async fn create(&self, body: &Value) -> Result<(String, UserState), ApiError> {
        let resource = scim_model::prepare_new_user(body)?;
        let user_name = scim_model::user_name(&resource)
            .ok_or_else(|| ScimError::InvalidValue("userName is required".into()))?;
        let normalized = scim_model::normalize_user_name(user_name);
        let id = uuid::Uuid::now_v7().to_string();
        self.claim(&normalized, &id).await?;
        let event = self.event(
            &id,
            EventPayload::UserCreated {
                resource: resource.clone(),
            },
        );
        let version = match self.state.store().append(&event, 0).await {
            Ok(version) => version,
            Err(error) => {
                self.release(&normalized, &id).await;
                return Err(error.into());
            }
        };
        self.await_visible(version).await?;
        Ok((
            id,
            UserState {
                resource,
                created: event.occurred_at,
                last_modified: event.occurred_at,
                version,
            },
        ))
    }

    pub async fn load(&self, id: &str) -> Result<UserState, ApiError> {
        let last = self
            .state
            .store()
            .load_last(&self.tenant.tenant_id, AggregateKind::User, id)
            .await?;
        user_state(last).ok_or_else(|| ApiError::NotFound(format!("User {id} not found")))
    }

    /// PUT: a full replacement under the readOnly/immutable rules.
    pub async fn replace(
        &self,
        id: &str,
        if_match: Option<u64>,
        body: &Value,
    ) -> Result<UserState, ApiError> {
        self.update(id, if_match, "replace", |current| {
            scim_model::prepare_replaced_user(current, body)
        })
        .await
    }

    pub async fn patch(
        &self,
        id: &str,
        if_match: Option<u64>,
        body: &Value,
    ) -> Result<UserState, ApiError> {
        let operations = scim_model::parse_patch_request(body)?;
        self.update(id, if_match, "patch", |current| {
            scim_model::apply_user_patch(current, &operations)
        })
        .await
    }

    /// PUT and PATCH: `change` computes the new resource from the current one.
    async fn update(
        &self,
        id: &str,
        if_match: Option<u64>,
        method: &str,
        change: impl Fn(&Value) -> Result<Value, ScimError>,
    ) -> Result<UserState, ApiError> {
        let mut turn = Some(self.state.aggregate_locks().turn(self.lock_key(id)).await);
        for _ in 0..MAX_ATTEMPTS {
            let current = self.load(id).await?;
            if if_match.is_some_and(|expected| expected != current.version) {
                return Err(version_mismatch());
            }
            let updated = without_id(change(&with_id(&current.resource, id))?);
            if updated == current.resource {
                // The next writer may go while this one waits for the read model.
                drop(turn.take());
                self.await_visible(current.version).await?;
                return Ok(current);
            }
            let old_name =
                scim_model::user_name(&current.resource).map(scim_model::normalize_user_name);
            let new_name = scim_model::user_name(&updated)
                .map(scim_model::normalize_user_name)
                .ok_or_else(|| ScimError::InvalidValue("userName is required".into()))?;
            let renamed = old_name.as_deref() != Some(new_name.as_str());
            if renamed {
                self.claim(&new_name, id).await?;
            }
            let event = self.event(
                id,
                EventPayload::UserUpdated {
                    resource: updated.clone(),
                    created: current.created,
                    method: method.to_owned(),
                },
            );
            match self.state.store().append(&event, current.version).await {
                Ok(version) => {
                    if let (true, Some(old_name)) = (renamed, old_name) {
                        self.release(&old_name, id).await;
                    }
                    // The next writer may go while this one waits for the read model.
                    drop(turn.take());
                    self.await_visible(version).await?;
                    return Ok(UserState {
                        resource: updated,
                        created: current.created,
                        last_modified: event.occurred_at,
                        version,
                    });
                }
                Err(AppendError::Conflict { .. }) => {
                    self.state.metrics().publish_conflicts.inc();
                    if renamed {
                        self.release(&new_name, id).await;
                    }
                    if if_match.is_some() {
                        return Err(version_mismatch());
                    }
                }
                Err(error) => {
                    if renamed {
                        self.release(&new_name, id).await;
                    }
                    return Err(error.into());
                }
            }
        }
        Err(ApiError::Unavailable(
            "too many concurrent changes to this user; retry".into(),
        ))
    }

    pub async fn delete(&self, id: &str, if_match: Option<u64>) -> Result<(), ApiError> {
        let mut turn = Some(self.state.aggregate_locks().turn(self.lock_key(id)).await);
        for _ in 0..MAX_ATTEMPTS {
            let current = self.load(id).await?;
            if if_match.is_some_and(|expected| expected != current.version) {
                return Err(version_mismatch());
            }
            let user_name = scim_model::user_name(&current.resource)
                .unwrap_or_default()
                .to_owned();
            let event = self.event(
                id,
                EventPayload::UserDeleted {
                    user_name: user_name.clone(),
                },
            );
            match self.state.store().append(&event, current.version).await {
                Ok(version) => {
                    self.release(&scim_model::normalize_user_name(&user_name), id)
                        .await;
                    // The next writer may go while this one waits for the read model.
                    drop(turn.take());
                    return self.await_visible(version).await;
                }
                Err(AppendError::Conflict { .. }) if if_match.is_none() => {
                    self.state.metrics().publish_conflicts.inc();
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(ApiError::Unavailable(
            "too many concurrent changes to this user; retry".into(),
        ))
    }

    fn lock_key(&self, id: &str) -> String {
        format!("{}/user/{id}", self.tenant.tenant_id)
    }

    fn event(&self, id: &str, payload: EventPayload) -> EventEnvelope {
        EventEnvelope::new(
            self.tenant.tenant_id.clone(),
            AggregateKind::User,
            id,
            actor(self.tenant),
            self.request_id,
            payload,
        )
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
        self.state
            .directory()
            .await_applied(version, self.state.config().await_applied_ms)
            .await
    }
}

fn version_mismatch() -> ApiError {
    ApiError::PreconditionFailed(
        "If-Match does not match the current version of the resource".into(),
    )
}

pub fn user_state(last: Option<StoredEvent>) -> Option<UserState> {
    let last = last?;
    let modified = last.envelope.occurred_at;
    match last.envelope.payload {
        EventPayload::UserCreated { resource } => Some(UserState {
            resource,
            created: modified,
            last_modified: modified,
            version: last.sequence,
        }),
        EventPayload::UserUpdated {
            resource, created, ..
        } => Some(UserState {
            resource,
            created,
            last_modified: modified,
            version: last.sequence,
        }),
        _ => None,
    }
}
