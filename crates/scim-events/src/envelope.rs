//! The event envelope every service reads: who, what, when and the payload, versioned so
//! consumers can upcast older shapes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Bumped when a payload changes shape incompatibly; consumers upcast older versions.
pub const SCHEMA_VERSION: u16 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateKind {
    User,
    Group,
    License,
    Request,
    /// A SCIM configuration, as the subject of admin actions (its tokens, its licenses).
    Config,
}

impl AggregateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::License => "license",
            Self::Request => "request",
            Self::Config => "config",
        }
    }
}

/// Who caused the event: the SCIM configuration and the token it used, or an
/// internal component such as the license service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Actor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// Set when the actor is a service or an operator rather than an IdP token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The person who acted in the account center (`admin:<id>:<email>`) or `operator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
}

/// What an admin or the operator did to a tenant's configuration, its tokens or its
/// licenses. A closed set, so the provisioning log's operation names stay bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminActionKind {
    ConfigCreate,
    ConfigUpdate,
    ConfigDisable,
    ConfigEnable,
    ConfigDelete,
    TokenIssue,
    TokenRotate,
    TokenRevoke,
    AutoAssignEnable,
    AutoAssignDisable,
    OfferingUpsert,
}

impl AdminActionKind {
    /// The provisioning log's operation name.
    pub fn operation(self) -> &'static str {
        match self {
            Self::ConfigCreate => "admin.config.create",
            Self::ConfigUpdate => "admin.config.update",
            Self::ConfigDisable => "admin.config.disable",
            Self::ConfigEnable => "admin.config.enable",
            Self::ConfigDelete => "admin.config.delete",
            Self::TokenIssue => "admin.token.issue",
            Self::TokenRotate => "admin.token.rotate",
            Self::TokenRevoke => "admin.token.revoke",
            Self::AutoAssignEnable => "admin.license.auto_assign.enable",
            Self::AutoAssignDisable => "admin.license.auto_assign.disable",
            Self::OfferingUpsert => "admin.offering.upsert",
        }
    }
}

/// An admin action, recorded in the provisioning log. Its aggregate is the
/// configuration it concerns (subject `<root>.adm.<tenant>.config.<config id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminAction {
    pub action: AdminActionKind,
    /// "config", "token", "pool" or "offering".
    pub target_type: String,
    pub target_id: String,
    /// A name to show for the target (configuration name, token prefix, pool's
    /// `application_instance/license_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// What changed, in words (e.g. "renamed from \"Okta\" to \"Okta EU\"", "overlap 48 h").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The attributes of a group other than its members. Every group event carries
/// it, so the group's current state is always the last event on its subject,
/// while no event ever carries the whole member list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    /// The group as SCIM JSON without `members` and without `meta`.
    pub resource: Value,
    pub created: DateTime<Utc>,
}

/// A member as a group event names it. Written as the bare id when the client sent no
/// `display` with it (every event before displays were kept has only ids), and as
/// `{"value": id, "display": name}` when it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "MemberWire", into = "MemberWire")]
pub struct GroupMember {
    pub id: String,
    pub display: Option<String>,
}

impl GroupMember {
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            display: None,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum MemberWire {
    Id(String),
    Shown { value: String, display: String },
}

impl From<MemberWire> for GroupMember {
    fn from(wire: MemberWire) -> Self {
        match wire {
            MemberWire::Id(id) => Self::id(id),
            MemberWire::Shown { value, display } => Self {
                id: value,
                display: Some(display),
            },
        }
    }
}

impl From<GroupMember> for MemberWire {
    fn from(member: GroupMember) -> Self {
        match member.display {
            None => Self::Id(member.id),
            Some(display) => Self::Shown {
                value: member.id,
                display,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseChange {
    pub pool_id: String,
    pub user_id: String,
    pub application_instance: String,
    pub license_type: String,
    /// "auto" or "manual".
    pub source: String,
    /// Why a seat was released or refused (e.g. "user deactivated", "pool exhausted").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A request the gateway answered with an error, for an authenticated tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub method: String,
    pub path: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
}

/// A projection could not apply one of the tenant's events and set it aside (quarantined)
/// instead of stopping for everyone; an operator can retry it once the cause is fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineNotice {
    /// The projection's consumer, e.g. `scim_directory`.
    pub consumer: String,
    pub sequence: u64,
    pub subject: String,
    pub error: String,
}

impl QuarantineNotice {
    /// Bytes of the error kept: enough to diagnose, and always storable.
    const MAX_ERROR_BYTES: usize = 1024;

    pub fn new(consumer: &str, sequence: u64, subject: &str, error: &str) -> Self {
        let mut kept = String::new();
        for c in error.chars() {
            let c = if c.is_control() && c != '\n' {
                '\u{fffd}'
            } else {
                c
            };
            if kept.len() + c.len_utf8() > Self::MAX_ERROR_BYTES {
                break;
            }
            kept.push(c);
        }
        Self {
            consumer: consumer.to_owned(),
            sequence,
            subject: subject.to_owned(),
            error: kept,
        }
    }
}

/// What happened. User events carry the user's full resulting state (a user is
/// small), so loading a user is one read of the last message on its subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum EventPayload {
    UserCreated {
        /// The user as SCIM JSON without `meta`.
        resource: Value,
    },
    /// Full replacement (PUT) or partial modification (PATCH); `resource` is
    /// the state after the change.
    UserUpdated {
        resource: Value,
        created: DateTime<Utc>,
        /// "replace" (PUT) or "patch".
        method: String,
    },
    UserDeleted {
        user_name: String,
    },
    GroupCreated {
        group: GroupState,
        #[serde(rename = "member_ids")]
        members: Vec<GroupMember>,
        /// Member ids the request named that are not users of the tenant.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members_skipped: Vec<String>,
    },
    /// Attribute and membership changes of one request, as a delta.
    GroupUpdated {
        group: GroupState,
        /// All members were removed before `members_added` applies (PUT, or
        /// PATCH replace/remove of `members`); the removed ids are not listed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        members_cleared: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members_added: Vec<GroupMember>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members_removed: Vec<String>,
        /// Member ids the request named that are not users of the tenant;
        /// skipped rather than failing the request.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members_skipped: Vec<String>,
        method: String,
    },
    GroupDeleted {
        display_name: String,
    },
    LicenseAssigned(LicenseChange),
    LicenseReleased(LicenseChange),
    /// Auto-assignment found no free seat.
    LicenseDenied(LicenseChange),
    RequestRejected(Rejection),
    EventQuarantined(QuarantineNotice),
    AdminActionTaken(AdminAction),
}

impl EventPayload {
    /// Stable name of the event type, carried in the `Scim-Event-Type` header.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::UserCreated { .. } => "UserCreated",
            Self::UserUpdated { .. } => "UserUpdated",
            Self::UserDeleted { .. } => "UserDeleted",
            Self::GroupCreated { .. } => "GroupCreated",
            Self::GroupUpdated { .. } => "GroupUpdated",
            Self::GroupDeleted { .. } => "GroupDeleted",
            Self::LicenseAssigned(_) => "LicenseAssigned",
            Self::LicenseReleased(_) => "LicenseReleased",
            Self::LicenseDenied(_) => "LicenseDenied",
            Self::RequestRejected(_) => "RequestRejected",
            Self::EventQuarantined(_) => "EventQuarantined",
            Self::AdminActionTaken(_) => "AdminActionTaken",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub schema_version: u16,
    pub event_id: Uuid,
    pub tenant_id: String,
    pub aggregate_kind: AggregateKind,
    pub aggregate_id: String,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    /// The request that caused the event (the gateway's request id), or the
    /// event that caused it for derived events such as license decisions.
    pub correlation_id: String,
    #[serde(flatten)]
    pub payload: EventPayload,
}

impl EventEnvelope {
    pub fn new(
        tenant_id: impl Into<String>,
        aggregate_kind: AggregateKind,
        aggregate_id: impl Into<String>,
        actor: Actor,
        correlation_id: impl Into<String>,
        payload: EventPayload,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::now_v7(),
            tenant_id: tenant_id.into(),
            aggregate_kind,
            aggregate_id: aggregate_id.into(),
            occurred_at: Utc::now(),
            actor,
            correlation_id: correlation_id.into(),
            payload,
        }
    }

    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Deterministic JetStream message id for appending this change at
    /// `expected_version`: a retry of the same command after a publish timeout
    /// produces the same id and is dropped by the server's duplicate window,
    /// while a different command at the same version gets a different id (and
    /// then fails the expected-sequence check instead of being mistaken for a
    /// duplicate).
    pub fn message_id(&self, expected_version: u64) -> Result<String, serde_json::Error> {
        let payload = serde_json::to_vec(&self.payload)?;
        let mut hasher = Sha256::new();
        hasher.update(self.tenant_id.as_bytes());
        hasher.update([0]);
        hasher.update(self.aggregate_kind.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(self.aggregate_id.as_bytes());
        hasher.update([0]);
        hasher.update(expected_version.to_be_bytes());
        hasher.update(&payload);
        Ok(hex::encode(&hasher.finalize()[..16]))
    }

    /// The SCIM operation name used by the audit log.
    pub fn operation(&self) -> &'static str {
        match &self.payload {
            EventPayload::UserCreated { .. } | EventPayload::GroupCreated { .. } => "create",
            EventPayload::UserUpdated { method, .. }
            | EventPayload::GroupUpdated { method, .. } => {
                if method == "replace" {
                    "replace"
                } else {
                    "patch"
                }
            }
            EventPayload::UserDeleted { .. } | EventPayload::GroupDeleted { .. } => "delete",
            EventPayload::LicenseAssigned(_) => "license.assign",
            EventPayload::LicenseReleased(_) => "license.release",
            EventPayload::LicenseDenied(_) => "license.deny",
            EventPayload::RequestRejected(_) => "reject",
            EventPayload::EventQuarantined(_) => "quarantine",
            EventPayload::AdminActionTaken(action) => action.action.operation(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn created(user_name: &str) -> EventEnvelope {
        EventEnvelope::new(
            "t1",
            AggregateKind::User,
            "u1",
            Actor::default(),
            "req-1",
            EventPayload::UserCreated {
                resource: json!({"userName": user_name}),
            },
        )
    }

    /// Members written before displays were kept are bare ids; they still read, and a member
    /// without a display is still written that way, so such events keep their message ids.
    #[test]
    fn group_members_read_both_shapes_and_write_ids_bare() {
        let stored = json!({"type": "GroupUpdated", "data": {
            "group": {"resource": {"displayName": "G"}, "created": "2026-11-26T00:00:00Z"},
            "members_added": ["u1", {"value": "u2", "display": "Uma"}],
            "method": "patch"
        }});
        let payload: EventPayload = serde_json::from_value(stored.clone()).unwrap();
        let EventPayload::GroupUpdated { members_added, .. } = &payload else {
            panic!("{payload:?}")
        };
        assert_eq!(
            members_added,
            &[
                GroupMember::id("u1"),
                GroupMember {
                    id: "u2".into(),
                    display: Some("Uma".into())
                }
            ]
        );
        assert_eq!(serde_json::to_value(&payload).unwrap(), stored);
        let created: EventPayload =
            serde_json::from_value(json!({"type": "GroupCreated", "data": {
                "group": {"resource": {"displayName": "G"}, "created": "2026-11-26T00:00:00Z"},
                "member_ids": ["u1"]
            }}))
            .unwrap();
        assert!(
            matches!(&created, EventPayload::GroupCreated { members, .. } if members == &[GroupMember::id("u1")])
        );
    }

    #[test]
    fn envelope_round_trips_through_json() {
        let event = created("alice");
        let bytes = event.to_json().unwrap();
        let parsed = EventEnvelope::from_json(&bytes).unwrap();
        assert_eq!(parsed, event);
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["type"], "UserCreated");
        assert_eq!(value["data"]["resource"]["userName"], "alice");
    }

    #[test]
    fn message_id_is_stable_across_retries_of_one_command() {
        let mut first = created("alice");
        let mut retry = first.clone();
        retry.event_id = Uuid::now_v7();
        retry.occurred_at = Utc::now();
        assert_eq!(first.message_id(0).unwrap(), retry.message_id(0).unwrap());
        first.correlation_id = "other".into();
        assert_eq!(first.message_id(0).unwrap(), retry.message_id(0).unwrap());
    }

    #[test]
    fn message_id_differs_for_other_changes_or_versions() {
        let alice = created("alice");
        let bob = created("bob");
        assert_ne!(alice.message_id(0).unwrap(), bob.message_id(0).unwrap());
        assert_ne!(alice.message_id(0).unwrap(), alice.message_id(7).unwrap());
    }
}
