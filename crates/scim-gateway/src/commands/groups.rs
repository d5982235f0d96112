//! The group write path: what a PUT, PATCH or DELETE of a group decides, as events.

use std::collections::HashSet;

use chrono::Utc;
use event_store::StoredEvent;
use scim_events::{AggregateKind, EventPayload, GroupMember, GroupState};
use scim_model::{GroupPatchOutcome, Member, ScimError};
use serde_json::Value;

use super::write::{Change, Decision, Outcome, Writer};
use super::{with_id, without_id};
use crate::directory::TenantContext;
use crate::error::ApiError;
use crate::state::AppState;

/// A membership change expressed as a delta: no event ever carries the whole
/// member list of an existing group (I9).
#[derive(Debug, Default, Clone, PartialEq)]
struct MembershipDelta {
    cleared: bool,
    added: Vec<Member>,
    removed: Vec<String>,
}

impl MembershipDelta {
    fn from_patch(outcome: &GroupPatchOutcome) -> Self {
        match &outcome.replace_members {
            Some(replacement) => Self {
                cleared: true,
                added: first_of_each(replacement.iter().chain(&outcome.members_added), |m| &m.id),
                removed: Vec::new(),
            },
            None => Self {
                cleared: outcome.remove_all_members,
                added: first_of_each(outcome.members_added.iter(), |m| &m.id),
                removed: first_of_each(outcome.members_removed.iter(), |id| id),
            },
        }
    }

    fn is_empty(&self) -> bool {
        !self.cleared && self.added.is_empty() && self.removed.is_empty()
    }
}

/// The first of `items` with each id. `GroupPatchOutcome`'s lists are public fields, so the
/// delta does not rely on them being free of repeats.
fn first_of_each<'a, T: Clone + 'a>(
    items: impl Iterator<Item = &'a T>,
    id: impl Fn(&'a T) -> &'a String,
) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .filter(|item| seen.insert(id(item)))
        .cloned()
        .collect()
}

pub struct GroupCommands<'a> {
    writer: Writer<'a>,
}

impl<'a> GroupCommands<'a> {
    pub fn new(state: &'a AppState, tenant: &'a TenantContext, request_id: &'a str) -> Self {
        Self {
            writer: Writer::new(state, tenant, request_id, AggregateKind::Group),
        }
    }

    /// Creates the group; returns its id and version.
    pub async fn create(&self, body: &Value) -> Result<(String, u64), ApiError> {
        // The model names each member once, in order.
        let (resource, requested) = scim_model::prepare_new_group(body)?;
        let (members, skipped) = self.split_known_members(requested).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let payload = EventPayload::GroupCreated {
            group: GroupState {
                resource,
                created: Utc::now(),
            },
            members,
            members_skipped: skipped,
        };
        let created = self.writer.create(&id, Change::new(payload, ())).await?;
        Ok((id, created.version))
    }

    pub async fn load(&self, id: &str) -> Result<(GroupState, u64), ApiError> {
        let last = self
            .writer
            .state
            .store()
            .load_last(&self.writer.tenant.tenant_id, AggregateKind::Group, id)
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
                    added: members,
                    removed: Vec::new(),
                },
            ))
        })
        .await
    }

    /// PUT and PATCH: `change` computes the new resource and the membership delta from the
    /// current resource; members that are not users of the tenant are skipped.
    async fn update(
        &self,
        id: &str,
        if_match: Option<u64>,
        method: &str,
        change: impl Fn(&Value) -> Result<(Value, MembershipDelta), ScimError>,
    ) -> Result<u64, ApiError> {
        let change = &change;
        let decide = move |current: GroupState, _version: u64| async move {
            let (resource, mut delta) = change(&current.resource)?;
            if resource == current.resource && delta.is_empty() {
                return Ok(Decision::Unchanged(()));
            }
            let (known, skipped) = self
                .split_known_members(std::mem::take(&mut delta.added))
                .await?;
            let payload = EventPayload::GroupUpdated {
                group: GroupState {
                    resource,
                    created: current.created,
                },
                members_cleared: delta.cleared,
                members_added: known,
                members_removed: delta.removed,
                members_skipped: skipped,
                method: method.to_owned(),
            };
            Ok(Decision::Append(Box::new(Change::new(payload, ()))))
        };
        let load = || self.load(id);
        Ok(
            match self.writer.update(id, if_match, load, decide).await? {
                Outcome::Unchanged { version, .. } => version,
                Outcome::Appended(appended) => appended.version,
            },
        )
    }

    pub async fn delete(&self, id: &str, if_match: Option<u64>) -> Result<(), ApiError> {
        let decide = |current: GroupState, _version: u64| async move {
            let display_name = scim_model::display_name(&current.resource)
                .unwrap_or_default()
                .to_owned();
            let payload = EventPayload::GroupDeleted { display_name };
            Ok::<_, ApiError>(Decision::Append(Box::new(Change::new(payload, ()))))
        };
        let load = || self.load(id);
        self.writer.update(id, if_match, load, decide).await?;
        Ok(())
    }

    /// Splits requested members into users of this tenant and the ids of unknown ones.
    /// Unknown ids are skipped rather than failing the request: an IdP would
    /// retry a 400 forever, and the audit log records what was skipped.
    async fn split_known_members(
        &self,
        members: Vec<Member>,
    ) -> Result<(Vec<GroupMember>, Vec<String>), ApiError> {
        if members.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let ids = members.iter().map(|member| member.id.clone()).collect();
        let existing: HashSet<String> = self
            .writer
            .state
            .directory()
            .existing_user_ids(self.writer.tenant, ids)
            .await?
            .into_iter()
            .collect();
        let mut known = Vec::with_capacity(members.len());
        let mut skipped = Vec::new();
        for Member { id, display } in members {
            if existing.contains(&id) {
                known.push(GroupMember { id, display });
            } else {
                skipped.push(id);
            }
        }
        Ok((known, skipped))
    }
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
            members_added: vec![Member::id("a"), Member::id("a"), Member::id("b")],
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
                added: vec![Member::id("a"), Member::id("b")],
                removed: vec!["c".into()],
            }
        );
    }

    #[test]
    fn replacing_members_clears_then_adds() {
        let mut replace = outcome();
        replace.replace_members = Some(vec![Member::id("x")]);
        replace.members_added = vec![Member::id("y")];
        let delta = MembershipDelta::from_patch(&replace);
        assert!(delta.cleared);
        assert_eq!(delta.added, vec![Member::id("x"), Member::id("y")]);
        assert!(delta.removed.is_empty());
    }
}
