//! How an event becomes an audit row. Pure: no IO.

use chrono::{DateTime, Utc};
use event_store::StoredEvent;
use scim_events::EventPayload;
use serde_json::Value;
use uuid::Uuid;

use crate::chain::{ChainedRecord, event_digest};

pub const SUCCESS: &str = "success";
pub const FAILURE: &str = "failure";

/// Beyond this many skipped member ids the detail is cut short; the event
/// itself, stored with the row, still has all of them.
const SKIPPED_IDS_IN_DETAIL: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub sequence: i64,
    pub event_id: Uuid,
    pub tenant_id: String,
    pub occurred_at: DateTime<Utc>,
    pub operation: &'static str,
    pub outcome: &'static str,
    pub resource_type: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub actor_config_id: Option<String>,
    pub actor_token_id: Option<String>,
    /// The person who acted in the account center, or the operator.
    pub actor_admin: Option<String>,
    pub correlation_id: String,
    pub status: Option<i32>,
    pub detail: Option<String>,
    pub event: Value,
}

impl AuditRow {
    pub fn from_event(stored: &StoredEvent) -> Result<Self, serde_json::Error> {
        let envelope = &stored.envelope;
        let event = serde_json::to_value(envelope)?;
        let mut row = Self {
            // JetStream sequences stay far below 2^63 in practice.
            sequence: i64::try_from(stored.sequence).unwrap_or(i64::MAX),
            event_id: envelope.event_id,
            tenant_id: envelope.tenant_id.clone(),
            occurred_at: stored_precision(envelope.occurred_at),
            operation: envelope.operation(),
            outcome: SUCCESS,
            resource_type: None,
            target_id: Some(envelope.aggregate_id.clone()),
            target_name: None,
            actor_config_id: envelope.actor.config_id.clone(),
            actor_token_id: envelope.actor.token_id.clone(),
            actor_admin: envelope.actor.admin.clone(),
            correlation_id: envelope.correlation_id.clone(),
            status: None,
            detail: None,
            event,
        };
        match &envelope.payload {
            EventPayload::UserCreated { resource } | EventPayload::UserUpdated { resource, .. } => {
                row.resource_type = Some("User".into());
                row.target_name = string_attribute(resource, "userName");
            }
            EventPayload::UserDeleted { user_name } => {
                row.resource_type = Some("User".into());
                row.target_name = Some(user_name.clone());
            }
            EventPayload::GroupCreated {
                group,
                members_skipped,
                ..
            }
            | EventPayload::GroupUpdated {
                group,
                members_skipped,
                ..
            } => {
                row.resource_type = Some("Group".into());
                row.target_name = string_attribute(&group.resource, "displayName");
                // Skipping unknown members is how the request succeeded
                // (section 5 of the design); the skipped ids must still be
                // visible to whoever investigates the group.
                if !members_skipped.is_empty() {
                    row.detail = Some(skipped_detail(members_skipped));
                }
            }
            EventPayload::GroupDeleted { display_name } => {
                row.resource_type = Some("Group".into());
                row.target_name = Some(display_name.clone());
            }
            EventPayload::LicenseAssigned(change) | EventPayload::LicenseReleased(change) => {
                row.resource_type = Some("License".into());
                row.detail = change.reason.clone();
            }
            EventPayload::LicenseDenied(change) => {
                row.resource_type = Some("License".into());
                row.outcome = FAILURE;
                row.detail = change.reason.clone();
            }
            EventPayload::RequestRejected(rejection) => {
                row.outcome = FAILURE;
                row.resource_type = rejection.resource_type.clone();
                row.target_id = rejection.target_id.clone();
                row.target_name = rejection.target_name.clone();
                row.status = Some(i32::from(rejection.status));
                row.detail = Some(rejection.detail.clone());
            }
            EventPayload::EventQuarantined(notice) => {
                row.outcome = FAILURE;
                let (resource_type, target_id) = subject_target(&notice.subject);
                row.resource_type = resource_type;
                row.target_id = target_id;
                row.detail = Some(format!(
                    "{} could not apply event {} and set it aside until an operator retries it: {}",
                    notice.consumer, notice.sequence, notice.error
                ));
            }
            EventPayload::AdminActionTaken(action) => {
                row.resource_type = resource_type_name(&action.target_type);
                row.target_id = Some(action.target_id.clone());
                row.target_name = action.target_name.clone();
                row.detail = action.detail.clone();
            }
        }
        Ok(row)
    }

    /// The fields the hash chain commits to, at `chain_position` in the tenant's chain.
    pub fn chained(&self, chain_position: i64) -> ChainedRecord<'_> {
        ChainedRecord {
            sequence: self.sequence,
            chain_position,
            event_id: self.event_id,
            tenant_id: &self.tenant_id,
            occurred_at_micros: self.occurred_at.timestamp_micros(),
            operation: self.operation,
            outcome: self.outcome,
            resource_type: self.resource_type.as_deref(),
            target_id: self.target_id.as_deref(),
            target_name: self.target_name.as_deref(),
            actor_config_id: self.actor_config_id.as_deref(),
            actor_token_id: self.actor_token_id.as_deref(),
            actor_admin: self.actor_admin.as_deref(),
            correlation_id: &self.correlation_id,
            status: self.status,
            detail: self.detail.as_deref(),
            event_digest: event_digest(&self.event),
        }
    }

    /// License events name the user only by id; the log borrows the
    /// userName from the user's earlier events so that a search for
    /// "alice@contoso.com" also finds her licenses.
    pub fn needs_user_name(&self) -> bool {
        self.resource_type.as_deref() == Some("License") && self.target_name.is_none()
    }

    /// For a user row: the key under which later license rows look it up.
    pub fn user_key(&self) -> Option<((String, String), String)> {
        if self.resource_type.as_deref() != Some("User") {
            return None;
        }
        let target_id = self.target_id.clone()?;
        let name = self.target_name.clone()?;
        Some(((self.tenant_id.clone(), target_id), name))
    }
}

/// `time` cut to whole microseconds, as Postgres stores it: the chain hashes the value that
/// is stored, so the row must not carry precision the column drops.
fn stored_precision(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time)
}

/// The resource an event subject (`<ns>.dir.<tenant>.user.<id>`) names.
fn subject_target(subject: &str) -> (Option<String>, Option<String>) {
    let tokens: Vec<&str> = subject.split('.').collect();
    let resource_type = match tokens.get(3) {
        Some(&"user") => Some("User".to_owned()),
        Some(&"group") => Some("Group".to_owned()),
        Some(&"config") => Some("Config".to_owned()),
        _ => None,
    };
    (resource_type, tokens.get(4).map(|id| (*id).to_owned()))
}

/// An admin action's `target_type` ("config", "token", "pool", "offering") as the log names
/// resource types elsewhere ("User", "Group"): capitalised.
fn resource_type_name(target_type: &str) -> Option<String> {
    let mut chars = target_type.trim().chars();
    let first = chars.next()?;
    Some(first.to_uppercase().chain(chars).collect())
}

fn skipped_detail(skipped: &[String]) -> String {
    let shown = skipped
        .iter()
        .take(SKIPPED_IDS_IN_DETAIL)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match skipped.len().checked_sub(SKIPPED_IDS_IN_DETAIL) {
        Some(more) if more > 0 => format!("skipped unknown member ids: {shown} (and {more} more)"),
        _ => format!("skipped unknown member ids: {shown}"),
    }
}

/// A top-level string attribute; SCIM attribute names are case-insensitive,
/// so an exact match is tried first and any casing after.
fn string_attribute(resource: &Value, name: &str) -> Option<String> {
    let object = resource.as_object()?;
    object
        .get(name)
        .or_else(|| {
            object
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use scim_events::{
        Actor, AdminAction, AdminActionKind, AggregateKind, EventEnvelope, GroupState,
        LicenseChange, Rejection,
    };
    use serde_json::json;

    fn stored(kind: AggregateKind, id: &str, payload: EventPayload) -> StoredEvent {
        let actor = Actor {
            config_id: Some("cfg".into()),
            token_id: Some("tok".into()),
            system: None,
            admin: None,
        };
        StoredEvent {
            sequence: 42,
            subject: String::new(),
            envelope: EventEnvelope::new("t1", kind, id, actor, "req-1", payload),
            headers: None,
        }
    }

    #[test]
    fn users_are_named_by_user_name() {
        let row = AuditRow::from_event(&stored(
            AggregateKind::User,
            "u1",
            EventPayload::UserCreated {
                resource: json!({"UserName": "Alice@Contoso.com"}),
            },
        ))
        .unwrap();
        assert_eq!((row.operation, row.outcome), ("create", SUCCESS));
        assert_eq!(row.resource_type.as_deref(), Some("User"));
        assert_eq!(row.target_id.as_deref(), Some("u1"));
        assert_eq!(row.target_name.as_deref(), Some("Alice@Contoso.com"));
        assert_eq!(row.actor_config_id.as_deref(), Some("cfg"));
        assert_eq!(row.actor_token_id.as_deref(), Some("tok"));
        assert_eq!(row.sequence, 42);
        assert_eq!(
            row.event["data"]["resource"]["UserName"],
            "Alice@Contoso.com"
        );
    }

    #[test]
    fn rejections_and_denials_are_failures() {
        let rejection = Rejection {
            method: "POST".into(),
            path: "/Users".into(),
            status: 409,
            scim_type: Some("uniqueness".into()),
            detail: "userName taken".into(),
            resource_type: Some("User".into()),
            target_id: None,
            target_name: Some("bob".into()),
        };
        let row = AuditRow::from_event(&stored(
            AggregateKind::Request,
            "req-9",
            EventPayload::RequestRejected(rejection),
        ))
        .unwrap();
        assert_eq!((row.operation, row.outcome), ("reject", FAILURE));
        assert_eq!(row.status, Some(409));
        assert_eq!(row.target_id, None);
        assert_eq!(row.target_name.as_deref(), Some("bob"));
        assert_eq!(row.detail.as_deref(), Some("userName taken"));

        let change = LicenseChange {
            pool_id: "p".into(),
            user_id: "u1".into(),
            application_instance: "crm".into(),
            license_type: "std".into(),
            source: "auto".into(),
            reason: Some("pool exhausted".into()),
        };
        let row = AuditRow::from_event(&stored(
            AggregateKind::License,
            "u1",
            EventPayload::LicenseDenied(change),
        ))
        .unwrap();
        assert_eq!((row.operation, row.outcome), ("license.deny", FAILURE));
        assert_eq!(row.detail.as_deref(), Some("pool exhausted"));
        assert!(row.needs_user_name());
    }

    #[test]
    fn skipped_members_are_recorded_on_a_successful_group_update() {
        let payload = EventPayload::GroupUpdated {
            group: GroupState {
                resource: json!({"displayName": "Sales"}),
                created: Utc::now(),
            },
            members_cleared: false,
            members_added: vec![scim_events::GroupMember::id("u1")],
            members_removed: vec![],
            members_skipped: vec!["x1".into(), "x2".into()],
            method: "patch".into(),
        };
        let row = AuditRow::from_event(&stored(AggregateKind::Group, "g1", payload)).unwrap();
        assert_eq!((row.operation, row.outcome), ("patch", SUCCESS));
        assert_eq!(row.target_name.as_deref(), Some("Sales"));
        assert_eq!(
            row.detail.as_deref(),
            Some("skipped unknown member ids: x1, x2")
        );

        let many: Vec<String> = (0..105).map(|index| format!("x{index}")).collect();
        assert!(skipped_detail(&many).ends_with("x99 (and 5 more)"));
    }

    #[test]
    fn admin_actions_name_their_target_and_the_admin() {
        let action = AdminAction {
            action: AdminActionKind::TokenRotate,
            target_type: "token".into(),
            target_id: "tok-2".into(),
            target_name: Some("scim_ab12".into()),
            detail: Some("overlap 48 h".into()),
        };
        let mut event = stored(
            AggregateKind::Config,
            "cfg",
            EventPayload::AdminActionTaken(action),
        );
        event.envelope.actor.admin = Some("admin:a1:ada@example.com".into());
        let row = AuditRow::from_event(&event).unwrap();
        assert_eq!(
            (row.operation, row.outcome),
            ("admin.token.rotate", SUCCESS)
        );
        assert_eq!(row.resource_type.as_deref(), Some("Token"));
        assert_eq!(row.target_id.as_deref(), Some("tok-2"));
        assert_eq!(row.target_name.as_deref(), Some("scim_ab12"));
        assert_eq!(row.detail.as_deref(), Some("overlap 48 h"));
        assert_eq!(row.actor_admin.as_deref(), Some("admin:a1:ada@example.com"));
        assert_eq!(row.actor_config_id.as_deref(), Some("cfg"));
        assert!(!row.needs_user_name());
        assert_eq!(resource_type_name("offering").as_deref(), Some("Offering"));
        assert_eq!(resource_type_name(" "), None);
    }
}
