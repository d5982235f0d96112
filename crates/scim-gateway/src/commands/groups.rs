//! The group write path: what a PUT, PATCH or DELETE of a group decides, as events.

use std::collections::HashSet;

use chrono::Utc;
use event_store::{AppendError, StoredEvent};
use scim_events::{AggregateKind, EventEnvelope, EventPayload, GroupState};
use scim_model::{GroupPatchOutcome, ScimError};
use serde_json::Value;

use super::{MAX_ATTEMPTS, actor, with_id, without_id};
use crate::directory::TenantContext;
use crate::error::ApiError;
use crate::state::AppState;

/// A membership change expressed as a delta: no event ever carries the whole
/// member list of an existing group (I9).
#[derive(Debug, Default, Clone, PartialEq)]
struct MembershipDelta {
    cleared: bool,
    added: Vec<String>,
    removed: Vec<String>,
}

impl MembershipDelta {
    fn from_patch(outcome: &GroupPatchOutcome) -> Self {
        match &outcome.replace_members {
            Some(replacement) => Self {
                cleared: true,
                added: unique(replacement.iter().chain(&outcome.members_added)),
                removed: Vec::new(),
            },
            None => Self {
                cleared: outcome.remove_all_members,
                added: unique(outcome.members_added.iter()),
                removed: unique(outcome.members_removed.iter()),
            },
        }
    }

    fn is_empty(&self) -> bool {
        !self.cleared && self.added.is_empty() && self.removed.is_empty()
    }
}

fn unique<'a>(ids: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.filter(|id| seen.insert(id.as_str())).cloned().collect()
}

pub struct GroupCommands<'a> {
    state: &'a AppState,
    tenant: &'a TenantContext,
    request_id: &'a str,
}

impl<'a> GroupCommands<'a> {
    pub fn new(state: &'a AppState, tenant: &'a TenantContext, request_id: &'a str) -> Self {
        Self {
            state,
            tenant,
            request_id,
        }
    }

    /// Creates the group; returns its id and version.
    pub async fn create(&self, body: &Value) -> Result<(String, u64), ApiError> {
        let (resource, member_ids) = scim_model::prepare_new_group(body)?;
        let (members, skipped) = self.split_known_members(unique(member_ids.iter())).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let event = self.event(
            &id,
            EventPayload::GroupCreated {
                group: GroupState {
                    resource,
                    created: Utc::now(),
                },
                member_ids: members,
                members_skipped: skipped,
            },
        );
        let version = self.state.store().append(&event, 0).await?;
        self.await_visible(version).await?;
        Ok((id, version))
    }

    pub async fn load(&self, id: &str) -> Result<(GroupState, u64), ApiError> {
        let last = self
            .state
            .store()
            .load_last(&self.tenant.tenant_id, AggregateKind::Group, id)
            .await?;
        group_state(last).ok_or_else(|| ApiError::NotFound(format!("Group {id} not found")))
    }

    pub async fn patch(
        &self,
        id: &str,
        if_match: Option<u64>,
        body: &Value,
    ) -> Result<u64, ApiError> {
        let operations = scim_model::parse_patch_request(body)?;
        self.update(id, if_match, "patch", |group| {
            let outcome = scim_model::apply_group_patch(&with_id(group, id), &operations)?;
            let delta = MembershipDelta::from_patch(&outcome);
            Ok((without_id(outcome.resource), delta))
        })
        .await
    }

    pub async fn replace(
        &self,
        id: &str,
        if_match: Option<u64>,
        body: &Value,
    ) -> Result<u64, ApiError> {
        self.update(id, if_match, "replace", |group| {
            let (resource, members) = scim_model::prepare_replaced_group(group, body)?;
            Ok((
                resource,
                MembershipDelta {
                    cleared: true,
                    added: unique(members.iter()),
                    removed: Vec::new(),
                },
            ))
        })
        .await
    }

    async fn update(
        &self,
        id: &str,
        if_match: Option<u64>,
        method: &str,
        change: impl Fn(&Value) -> Result<(Value, MembershipDelta), ScimError>,
    ) -> Result<u64, ApiError> {
        let mut turn = Some(self.state.aggregate_locks().turn(self.lock_key(id)).await);
        for _ in 0..MAX_ATTEMPTS {
            let (current, version) = self.load(id).await?;
            if if_match.is_some_and(|expected| expected != version) {
                return Err(version_mismatch());
            }
            let (resource, mut delta) = change(&current.resource)?;
            if resource == current.resource && delta.is_empty() {
                // The next writer may go while this one waits for the read model.
                drop(turn.take());
                self.await_visible(version).await?;
                return Ok(version);
            }
            let (known, skipped) = self
                .split_known_members(std::mem::take(&mut delta.added))
                .await?;
            delta.added = known;
            let event = self.event(
                id,
                EventPayload::GroupUpdated {
                    group: GroupState {
                        resource,
                        created: current.created,
                    },
                    members_cleared: delta.cleared,
                    members_added: delta.added,
                    members_removed: delta.removed,
                    members_skipped: skipped,
                    method: method.to_owned(),
                },
            );
            match self.state.store().append(&event, version).await {
                Ok(version) => {
                    // The next writer may go while this one waits for the read model.
                    drop(turn.take());
                    self.await_visible(version).await?;
                    return Ok(version);
                }
                Err(AppendError::Conflict { .. }) if if_match.is_none() => {
                    self.state.metrics().publish_conflicts.inc();
                }
                Err(AppendError::Conflict { .. }) => return Err(version_mismatch()),
                Err(error) => return Err(error.into()),
            }
        }
        Err(ApiError::Unavailable(
            "too many concurrent changes to this group; retry".into(),
        ))
    }

    pub async fn delete(&self, id: &str, if_match: Option<u64>) -> Result<(), ApiError> {
        let mut turn = Some(self.state.aggregate_locks().turn(self.lock_key(id)).await);
        for _ in 0..MAX_ATTEMPTS {
            let (current, version) = self.load(id).await?;
            if if_match.is_some_and(|expected| expected != version) {
                return Err(version_mismatch());
            }
            let display_name = scim_model::display_name(&current.resource)
                .unwrap_or_default()
                .to_owned();
            let event = self.event(id, EventPayload::GroupDeleted { display_name });
            match self.state.store().append(&event, version).await {
                Ok(version) => {
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
            "too many concurrent changes to this group; retry".into(),
        ))
    }

    /// Splits requested member ids into users of this tenant and unknown ids.
    /// Unknown ids are skipped rather than failing the request: an IdP would
    /// retry a 400 forever, and the audit log records what was skipped.
    async fn split_known_members(
        &self,
        ids: Vec<String>,
    ) -> Result<(Vec<String>, Vec<String>), ApiError> {
        if ids.is_empty() {
            return Ok((ids, Vec::new()));
        }
        let existing: HashSet<String> = self
            .state
            .directory()
            .existing_user_ids(self.tenant, ids.clone())
            .await?
            .into_iter()
            .collect();
        Ok(ids.into_iter().partition(|id| existing.contains(id)))
    }

    fn lock_key(&self, id: &str) -> String {
        format!("{}/group/{id}", self.tenant.tenant_id)
    }

    fn event(&self, id: &str, payload: EventPayload) -> EventEnvelope {
        EventEnvelope::new(
            self.tenant.tenant_id.clone(),
            AggregateKind::Group,
            id,
            actor(self.tenant),
            self.request_id,
            payload,
        )
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

fn group_state(last: Option<StoredEvent>) -> Option<(GroupState, u64)> {
    let last = last?;
    match last.envelope.payload {
        EventPayload::GroupCreated { group, .. } | EventPayload::GroupUpdated { group, .. } => {
            Some((group, last.sequence))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome() -> GroupPatchOutcome {
        GroupPatchOutcome {
            resource: json!({"displayName": "g"}),
            members_added: vec!["a".into(), "a".into(), "b".into()],
            members_removed: vec!["c".into()],
            remove_all_members: false,
            replace_members: None,
        }
    }

    #[test]
    fn patch_deltas_are_deduplicated_and_never_list_current_members() {
        let delta = MembershipDelta::from_patch(&outcome());
        assert_eq!(
            delta,
            MembershipDelta {
                cleared: false,
                added: vec!["a".into(), "b".into()],
                removed: vec!["c".into()],
            }
        );
    }

    #[test]
    fn replacing_members_clears_then_adds() {
        let mut replace = outcome();
        replace.replace_members = Some(vec!["x".into()]);
        replace.members_added = vec!["y".into()];
        let delta = MembershipDelta::from_patch(&replace);
        assert!(delta.cleared);
        assert_eq!(delta.added, vec!["x".to_owned(), "y".to_owned()]);
        assert!(delta.removed.is_empty());
    }
}
