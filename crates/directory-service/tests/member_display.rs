//! A member's `display` as the client sent it is kept with the membership and read back, on
//! a single read and in a listing: set on create, given by a later add, kept by an add without
//! one, gone with a PUT that names the member without one, untouched by a redelivered add.
//! Real Postgres (`TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use directory_service::projection::{Applied, DirectoryProjection};
use directory_service::read::{DirectoryReader, Kind, ListQuery, MemberSelection};
use event_store::StoredEvent;
use event_store::consumer::BatchHandler;
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload, GroupMember, GroupState};
use serde_json::{Value, json};
use sqlx::migrate::Migrator;
use test_support::TestDatabase;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

const TENANT: &str = "tenant-displays";
const GROUP: &str = "g1";

fn event(sequence: u64, payload: EventPayload) -> StoredEvent {
    StoredEvent {
        sequence,
        subject: format!("displays.group.{GROUP}"),
        envelope: EventEnvelope::new(
            TENANT,
            AggregateKind::Group,
            GROUP,
            Actor::default(),
            format!("req-{sequence}"),
            payload,
        ),
        headers: None,
    }
}

fn state() -> GroupState {
    GroupState {
        resource: json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Tour Guides"}),
        created: Utc::now(),
    }
}

fn shown(id: &str, display: &str) -> GroupMember {
    GroupMember {
        id: id.into(),
        display: Some(display.into()),
    }
}

fn added(sequence: u64, cleared: bool, members: Vec<GroupMember>) -> StoredEvent {
    event(
        sequence,
        EventPayload::GroupUpdated {
            group: state(),
            members_cleared: cleared,
            members_added: members,
            members_removed: Vec::new(),
            members_skipped: Vec::new(),
            method: if cleared { "replace" } else { "patch" }.into(),
        },
    )
}

/// `(value, display)` of each member, from a single read and from a listing (which must agree).
async fn members(reader: &DirectoryReader) -> Vec<(String, Option<String>)> {
    let read = reader
        .get(TENANT, Kind::Group, GROUP, MemberSelection::All)
        .await
        .unwrap();
    let read: Value = serde_json::from_str(&read.json.into_text()).unwrap();
    let query = ListQuery {
        start_index: 1,
        count: 10,
        ..ListQuery::default()
    };
    let (_, rows) = reader.list(TENANT, Kind::Group, &query).await.unwrap();
    let listed: Value = serde_json::from_str(&rows[0].json.clone().into_text()).unwrap();
    assert_eq!(read["members"], listed["members"]);
    read["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| {
            assert_eq!(member["type"], "User");
            (
                member["value"].as_str().unwrap().to_owned(),
                member["display"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn pair(id: &str, display: Option<&str>) -> (String, Option<String>) {
    (id.to_owned(), display.map(str::to_owned))
}

#[tokio::test]
async fn member_displays_are_kept_as_sent() {
    let database = TestDatabase::migrated("directory_member_display", &MIGRATIONS).await;
    let pool = &database.pool;
    let (applied, _watch) = tokio::sync::watch::channel(Applied::default());
    let mut projection = DirectoryProjection::new(pool.clone(), applied, "displays".into());
    let reader = DirectoryReader::new(pool.clone());

    projection
        .apply(vec![event(
            1,
            EventPayload::GroupCreated {
                group: state(),
                members: vec![shown("u1", "Babs Jensen"), GroupMember::id("u2")],
                members_skipped: Vec::new(),
            },
        )])
        .await
        .unwrap();
    assert_eq!(
        members(&reader).await,
        [pair("u1", Some("Babs Jensen")), pair("u2", None)]
    );

    // A later add names u2 and leaves u1's name alone when it sends none.
    let naming_add = added(
        2,
        false,
        vec![GroupMember::id("u1"), shown("u2", "new User")],
    );
    projection.apply(vec![naming_add.clone()]).await.unwrap();
    assert_eq!(
        members(&reader).await,
        [
            pair("u1", Some("Babs Jensen")),
            pair("u2", Some("new User"))
        ]
    );

    // A replacement (PUT) is the whole truth: u1 without a name has none.
    projection
        .apply(vec![added(3, true, vec![GroupMember::id("u1")])])
        .await
        .unwrap();
    assert_eq!(members(&reader).await, [pair("u1", None)]);

    // A redelivery of the earlier add (a consumer restarted behind its checkpoint) changes
    // nothing: neither its member nor its name comes back.
    projection.apply(vec![naming_add]).await.unwrap();
    assert_eq!(members(&reader).await, [pair("u1", None)]);
}
