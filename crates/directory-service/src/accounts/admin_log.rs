//! Admin actions in the provisioning log: each state-changing account-center call writes an
//! `AdminActionTaken` event to the outbox in the transaction of its change, so that the record
//! and the change commit or fail together; service-kit's relay publishes it afterwards.

use scim_events::{
    Actor, AdminAction, AdminActionKind, AggregateKind, EventEnvelope, EventPayload,
};
use sqlx::PgConnection;

use super::store::{ConfigRecord, TokenRecord};

/// What an admin call changed, before it is addressed to its configuration.
pub(super) struct Change {
    pub kind: AdminActionKind,
    pub target: Target,
    pub detail: Option<String>,
}

pub(super) enum Target {
    Config { id: String, name: String },
    Token { id: String, prefix: String },
}

impl Target {
    pub fn config(config: &ConfigRecord) -> Self {
        Self::Config {
            id: config.id.clone(),
            name: config.name.clone(),
        }
    }

    pub fn token(token: &TokenRecord) -> Self {
        Self::Token {
            id: token.id.clone(),
            prefix: token.prefix.clone(),
        }
    }
}

/// Writes `change` to the outbox, as done by `admin` to the configuration `config_id` of
/// `tenant_id`. The caller wakes the relay after its commit.
pub(super) async fn record(
    conn: &mut PgConnection,
    tenant_id: &str,
    config_id: &str,
    admin: &str,
    change: Change,
) -> Result<(), sqlx::Error> {
    let event = admin_action_event(tenant_id, config_id, admin, change);
    service_kit::outbox::enqueue(conn, &event).await
}

fn admin_action_event(
    tenant_id: &str,
    config_id: &str,
    admin: &str,
    change: Change,
) -> EventEnvelope {
    let (target_type, target_id, target_name) = match change.target {
        Target::Config { id, name } => ("config", id, name),
        Target::Token { id, prefix } => ("token", id, prefix),
    };
    let actor = Actor {
        config_id: Some(config_id.to_owned()),
        admin: Some(admin.to_owned()),
        ..Actor::default()
    };
    let mut event = EventEnvelope::new(
        tenant_id,
        AggregateKind::Config,
        config_id,
        actor,
        String::new(),
        EventPayload::AdminActionTaken(AdminAction {
            action: change.kind,
            target_type: target_type.to_owned(),
            target_id,
            target_name: Some(target_name),
            detail: change.detail,
        }),
    );
    // An admin call has no gateway request id; the event is its own correlation.
    event.correlation_id = event.event_id.to_string();
    event
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_event_addresses_the_configuration_and_names_the_admin() {
        let event = admin_action_event(
            "t1",
            "c1",
            "admin:a1:ada@example.com",
            Change {
                kind: AdminActionKind::TokenRevoke,
                target: Target::Token {
                    id: "k1".into(),
                    prefix: "scimtok_ab".into(),
                },
                detail: None,
            },
        );
        assert_eq!(
            (
                event.tenant_id.as_str(),
                event.aggregate_kind,
                event.aggregate_id.as_str()
            ),
            ("t1", AggregateKind::Config, "c1")
        );
        assert_eq!(event.actor.config_id.as_deref(), Some("c1"));
        assert_eq!(
            event.actor.admin.as_deref(),
            Some("admin:a1:ada@example.com")
        );
        assert_eq!(event.correlation_id, event.event_id.to_string());
        assert_eq!(event.operation(), "admin.token.revoke");
        let EventPayload::AdminActionTaken(action) = event.payload else {
            panic!("not an admin action");
        };
        assert_eq!(
            (action.target_type.as_str(), action.target_id.as_str()),
            ("token", "k1")
        );
        assert_eq!(action.target_name.as_deref(), Some("scimtok_ab"));
    }
}
