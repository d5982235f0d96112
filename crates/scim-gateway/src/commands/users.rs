//! The user write path: what a PUT, PATCH or DELETE of a user decides, as events.

use chrono::{DateTime, SecondsFormat, Utc};
use event_store::StoredEvent;
use scim_events::{AggregateKind, EventPayload};
use scim_model::ScimError;
use serde_json::{Value, json};

use super::write::{Appended, Change, Decision, Outcome, Writer};
use super::{with_id, without_id};
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
    writer: Writer<'a>,
}

impl<'a> UserCommands<'a> {
    pub fn new(state: &'a AppState, tenant: &'a TenantContext, request_id: &'a str) -> Self {
        Self {
            writer: Writer::new(state, tenant, request_id, AggregateKind::User),
        }
    }

    pub async fn create(&self, body: &Value) -> Result<(String, UserState), ApiError> {
        let resource = scim_model::prepare_new_user(body)?;
        let id = uuid::Uuid::now_v7().to_string();
        let mut change = Change::new(
            EventPayload::UserCreated {
                resource: resource.clone(),
            },
            resource,
        );
        change.claim = Some(normalized_user_name(&change.value)?);
        let created = self.writer.create(&id, change).await?;
        let user = UserState {
            resource: created.value,
            created: created.at,
            last_modified: created.at,
            version: created.version,
        };
        Ok((id, user))
    }

    pub async fn load(&self, id: &str) -> Result<UserState, ApiError> {
        let last = self
            .writer
            .state
            .store()
            .load_last(&self.writer.tenant.tenant_id, AggregateKind::User, id)
            .await?;
        user_state(last).ok_or_else(|| ApiError::NotFound(format!("User {id} not found")))
    }

    async fn load_versioned(&self, id: &str) -> Result<(UserState, u64), ApiError> {
        let user = self.load(id).await?;
        let version = user.version;
        Ok((user, version))
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

    /// PUT and PATCH: `change` computes the new resource from the current one; a new
    /// userName is claimed, the old one released.
    async fn update(
        &self,
        id: &str,
        if_match: Option<u64>,
        method: &str,
        change: impl Fn(&Value) -> Result<Value, ScimError>,
    ) -> Result<UserState, ApiError> {
        let load = || self.load_versioned(id);
        let change = &change;
        let decide = move |current: UserState, _version: u64| async move {
            let updated = without_id(change(&with_id(&current.resource, id))?);
            if updated == current.resource {
                return Ok(Decision::Unchanged(current));
            }
            let old_name =
                scim_model::user_name(&current.resource).map(scim_model::normalize_user_name);
            let new_name = normalized_user_name(&updated)?;
            let renamed = old_name.as_deref() != Some(new_name.as_str());
            let payload = EventPayload::UserUpdated {
                resource: updated.clone(),
                created: current.created,
                method: method.to_owned(),
            };
            Ok(Decision::Append(Box::new(Change {
                payload,
                claim: renamed.then_some(new_name),
                release: old_name.filter(|_| renamed),
                value: UserState {
                    resource: updated,
                    ..current
                },
            })))
        };
        Ok(
            match self.writer.update(id, if_match, load, decide).await? {
                Outcome::Unchanged { value, .. } => value,
                Outcome::Appended(Appended { value, version, at }) => UserState {
                    last_modified: at,
                    version,
                    ..value
                },
            },
        )
    }

    pub async fn delete(&self, id: &str, if_match: Option<u64>) -> Result<(), ApiError> {
        let load = || self.load_versioned(id);
        let decide = |current: UserState, _version: u64| async move {
            let user_name = scim_model::user_name(&current.resource)
                .unwrap_or_default()
                .to_owned();
            let mut change = Change::new(
                EventPayload::UserDeleted {
                    user_name: user_name.clone(),
                },
                (),
            );
            change.release = Some(scim_model::normalize_user_name(&user_name));
            Ok::<_, ApiError>(Decision::Append(Box::new(change)))
        };
        self.writer.update(id, if_match, load, decide).await?;
        Ok(())
    }
}

/// The uniqueness key of the user's userName, which every user has.
fn normalized_user_name(resource: &Value) -> Result<String, ApiError> {
    scim_model::user_name(resource)
        .map(scim_model::normalize_user_name)
        .ok_or_else(|| ScimError::InvalidValue("userName is required".into()).into())
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
