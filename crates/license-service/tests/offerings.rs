//! The account center's side of the license service against real NATS and Postgres:
//! offerings, the auto-assign switch, pool members and the admin actor in the log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ADMIN_TOKEN, LicenseEnv as _, TestEnv, eventually};
use scim_events::{AdminActionKind, AggregateKind, EventEnvelope, EventPayload};
use scim_rpc::license::license_admin_client::LicenseAdminClient;
use scim_rpc::license::{
    AssignLicenseRequest, GetPoolRequest, ListOfferingsRequest, ListPoolMembersRequest,
    ListPoolMembersResponse, Offering, Pool, RevokeLicenseRequest, SetAutoAssignRequest,
    UpsertOfferingRequest,
};
use service_kit::admin_auth::{OperatorCredential, name_actor};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request};

type Client = LicenseAdminClient<InterceptedService<Channel, OperatorCredential>>;

const TENANT: &str = "tenant1";
const CONFIG: &str = "cfg1";
const OTHER_CONFIG: &str = "cfg2";
const ADA: &str = "admin:a1:ada@example.com";

async fn client(app: &common::RunningApp) -> Client {
    LicenseAdminClient::with_interceptor(
        app.channel().await,
        OperatorCredential::new(ADMIN_TOKEN).unwrap(),
    )
}

/// A request made in the account center by Ada.
fn as_ada<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    name_actor(&mut request, ADA).unwrap();
    request
}

fn offering_request(license_type: &str, seats: u32) -> UpsertOfferingRequest {
    UpsertOfferingRequest {
        tenant_id: TENANT.into(),
        application_instance: "crm".into(),
        license_type: license_type.into(),
        seats,
    }
}

async fn offer(client: &mut Client, license_type: &str, seats: u32) -> Offering {
    client
        .upsert_offering(as_ada(offering_request(license_type, seats)))
        .await
        .unwrap()
        .into_inner()
}

fn switch_request(config: &str, license_type: &str, enabled: bool) -> SetAutoAssignRequest {
    SetAutoAssignRequest {
        tenant_id: TENANT.into(),
        config_id: config.into(),
        enabled,
        application_instance: if enabled { "crm".into() } else { String::new() },
        license_type: if enabled {
            license_type.into()
        } else {
            String::new()
        },
    }
}

async fn switch_on(client: &mut Client, config: &str, license_type: &str) -> Pool {
    client
        .set_auto_assign(as_ada(switch_request(config, license_type, true)))
        .await
        .unwrap()
        .into_inner()
        .pool
        .unwrap()
}

async fn pool(client: &mut Client, pool_id: &str) -> Pool {
    client
        .get_pool(GetPoolRequest {
            pool_id: pool_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn members(client: &mut Client, pool_id: &str) -> ListPoolMembersResponse {
    client
        .list_pool_members(ListPoolMembersRequest {
            pool_id: pool_id.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

fn holder_ids(page: &ListPoolMembersResponse) -> Vec<&str> {
    page.holders
        .iter()
        .map(|holder| holder.user_id.as_str())
        .collect()
}

fn waiting_ids(page: &ListPoolMembersResponse) -> Vec<(&str, u64)> {
    page.waiting
        .iter()
        .map(|waiting| (waiting.user_id.as_str(), waiting.position))
        .collect()
}

/// The last event on a subject of the stream, with its actor.
async fn last_event(env: &TestEnv, kind: AggregateKind, id: &str) -> Option<EventEnvelope> {
    env.store
        .load_last(TENANT, kind, id)
        .await
        .unwrap()
        .map(|event| event.envelope)
}

/// Every admin action on the subject of `aggregate_id`, oldest first, once the
/// relay has published everything (the test stream is small: read it whole).
async fn admin_actions(env: &TestEnv, aggregate_id: &str) -> Vec<EventEnvelope> {
    eventually(|| async { env.scalar("SELECT count(*) FROM outbox").await == 0 }).await;
    let mut events = Vec::new();
    for sequence in 1..=env.store.last_sequence().await.unwrap() {
        let Some(stored) = env.store.load_sequence(sequence).await.unwrap() else {
            continue;
        };
        let envelope = stored.envelope;
        if envelope.aggregate_kind == AggregateKind::Config && envelope.aggregate_id == aggregate_id
        {
            events.push(envelope);
        }
    }
    events
}

fn action_of(event: &EventEnvelope) -> (AdminActionKind, &str, &str) {
    match &event.payload {
        EventPayload::AdminActionTaken(action) => (
            action.action,
            action.target_type.as_str(),
            action.target_id.as_str(),
        ),
        other => panic!("not an admin action: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offerings_are_created_updated_listed_and_validated() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut admin = client(&app).await;

    let created = offer(&mut admin, " standard ", 5).await;
    assert_eq!(
        (
            created.application_instance.as_str(),
            created.license_type.as_str(),
            created.seats
        ),
        ("crm", "standard", 5)
    );
    assert_eq!(
        (created.config_id.as_str(), created.pool_id.as_str()),
        ("", "")
    );
    let updated = offer(&mut admin, "standard", 7).await;
    assert_eq!(updated.seats, 7);
    offer(&mut admin, "premium", 1).await;

    let listed = admin
        .list_offerings(ListOfferingsRequest {
            tenant_id: TENANT.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .offerings;
    let summary: Vec<(&str, u32)> = listed
        .iter()
        .map(|offering| (offering.license_type.as_str(), offering.seats))
        .collect();
    assert_eq!(summary, [("premium", 1), ("standard", 7)]);
    let others = admin
        .list_offerings(ListOfferingsRequest {
            tenant_id: "someone-else".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .offerings;
    assert!(others.is_empty(), "offerings never cross tenants");

    for (request, what) in [
        (offering_request(" ", 1), "blank license type"),
        (offering_request(&"x".repeat(201), 1), "201 characters"),
        (offering_request("core\u{7}", 1), "a control character"),
        (
            offering_request("core", 1_000_001),
            "more seats than the maximum",
        ),
        (
            UpsertOfferingRequest {
                tenant_id: "a.b".into(),
                ..offering_request("core", 1)
            },
            "a tenant id that is no subject token",
        ),
    ] {
        let status = admin.upsert_offering(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    }
    assert_eq!(env.scalar("SELECT count(*) FROM offerings").await, 2);

    // Each upsert is in the log, on the tenant's own subject while no
    // configuration draws on the offering, with the acting admin.
    let actions = admin_actions(&env, TENANT).await;
    assert_eq!(actions.len(), 3);
    for (event, target) in actions
        .iter()
        .zip(["crm/standard", "crm/standard", "crm/premium"])
    {
        assert_eq!(event.actor.admin.as_deref(), Some(ADA));
        assert_eq!(
            action_of(event),
            (AdminActionKind::OfferingUpsert, "offering", target)
        );
    }
    match &actions[1].payload {
        EventPayload::AdminActionTaken(action) => {
            assert_eq!(action.detail.as_deref(), Some("seats 5 -> 7"));
        }
        other => panic!("{other:?}"),
    }

    app.stop().await;
    env.cleanup().await;
}

/// Users provisioned before the switch get seats or join the queue in the order
/// they arrived; revoking a holder by hand gives the seat to the next in line;
/// newcomers queue; a grown offering serves the queue; switching off keeps seats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_auto_assign_on_serves_the_configurations_users_in_arrival_order() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut admin = client(&app).await;
    offer(&mut admin, "standard", 2).await;

    // Arrival order differs from id order, and a deactivated user and another
    // configuration's user are no candidates.
    let mut last = 0;
    for (user, config, active) in [
        ("carol", CONFIG, true),
        ("alice", CONFIG, true),
        ("dave", CONFIG, false),
        ("erin", OTHER_CONFIG, true),
        ("bob", CONFIG, true),
    ] {
        last = env.create_user(TENANT, config, user, active).await;
    }
    env.wait_for_checkpoint(last).await;
    assert_eq!(env.scalar("SELECT count(*) FROM assignments").await, 0);

    let enabled = switch_on(&mut admin, CONFIG, "standard").await;
    assert!(enabled.auto_assign);
    assert_eq!((enabled.seats, enabled.seats_used), (2, 2));
    let page = members(&mut admin, &enabled.id).await;
    assert_eq!(holder_ids(&page), ["carol", "alice"]);
    assert_eq!(waiting_ids(&page), [("bob", 1)]);
    assert_eq!((page.holders_total, page.waiting_total), (2, 1));
    assert!(page.holders.iter().all(|holder| holder.source == "auto"));

    // The offering now names the pool drawing on it.
    let listed = admin
        .list_offerings(ListOfferingsRequest {
            tenant_id: TENANT.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .offerings;
    assert_eq!(
        (listed[0].config_id.as_str(), listed[0].pool_id.as_str()),
        (CONFIG, enabled.id.as_str())
    );

    // The decisions are published, caused by Ada's switch.
    for (user, assigned) in [("carol", true), ("alice", true), ("bob", false)] {
        eventually(|| async {
            last_event(&env, AggregateKind::License, user)
                .await
                .is_some()
        })
        .await;
        let event = last_event(&env, AggregateKind::License, user)
            .await
            .unwrap();
        assert_eq!(event.actor.admin.as_deref(), Some(ADA), "{user}");
        assert_eq!(
            matches!(event.payload, EventPayload::LicenseAssigned(_)),
            assigned,
            "{user}: {:?}",
            event.payload
        );
    }

    // Revoking a holder by hand hands the seat to the user waiting longest.
    let revoked = admin
        .revoke_license(as_ada(RevokeLicenseRequest {
            pool_id: enabled.id.clone(),
            user_id: "carol".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(revoked.revoked);
    let page = members(&mut admin, &enabled.id).await;
    assert_eq!(holder_ids(&page), ["alice", "bob"]);
    assert!(page.waiting.is_empty());
    eventually(|| async {
        matches!(
            last_event(&env, AggregateKind::License, "carol").await,
            Some(event) if matches!(event.payload, EventPayload::LicenseReleased(_))
                && event.actor.admin.as_deref() == Some(ADA)
        )
    })
    .await;
    eventually(|| async {
        matches!(
            env.last_license_event(TENANT, "bob").await,
            Some(EventPayload::LicenseAssigned(_))
        )
    })
    .await;

    // A newcomer finds the pool full and queues; a grown offering grows the
    // pool and serves the queue.
    let newcomer = env.create_user(TENANT, CONFIG, "frank", true).await;
    env.wait_for_checkpoint(newcomer).await;
    assert_eq!(
        waiting_ids(&members(&mut admin, &enabled.id).await),
        [("frank", 1)]
    );
    let grown = offer(&mut admin, "standard", 3).await;
    assert_eq!(grown.pool_id, enabled.id);
    let page = members(&mut admin, &enabled.id).await;
    assert_eq!(holder_ids(&page), ["alice", "bob", "frank"]);
    assert_eq!(pool(&mut admin, &enabled.id).await.seats, 3);

    // Shrinking the offering shrinks the pool but keeps every seat given.
    offer(&mut admin, "standard", 1).await;
    let shrunk = pool(&mut admin, &enabled.id).await;
    assert_eq!((shrunk.seats, shrunk.seats_used), (1, 3));

    // Off: seats stay, newcomers get nothing.
    let off = admin
        .set_auto_assign(as_ada(switch_request(CONFIG, "", false)))
        .await
        .unwrap()
        .into_inner();
    assert!(off.pool.is_none());
    let current = pool(&mut admin, &enabled.id).await;
    assert_eq!((current.auto_assign, current.seats_used), (false, 3));
    offer(&mut admin, "standard", 10).await;
    let late = env.create_user(TENANT, CONFIG, "grace", true).await;
    env.wait_for_checkpoint(late).await;
    let page = members(&mut admin, &enabled.id).await;
    assert_eq!((page.holders_total, page.waiting_total), (3, 0));

    // On again: the user provisioned while it was off gets a seat, and so
    // does carol, who was revoked but is still an active user.
    let again = switch_on(&mut admin, CONFIG, "standard").await;
    assert_eq!(again.id, enabled.id);
    let page = members(&mut admin, &enabled.id).await;
    assert_eq!(
        holder_ids(&page),
        ["alice", "bob", "frank", "carol", "grace"]
    );

    // The configuration's log: enable, disable, enable (and the offering
    // changes, now that a configuration draws on it), each by Ada.
    let actions = admin_actions(&env, CONFIG).await;
    let kinds: Vec<AdminActionKind> = actions.iter().map(|event| action_of(event).0).collect();
    assert_eq!(
        kinds,
        [
            AdminActionKind::AutoAssignEnable,
            AdminActionKind::OfferingUpsert,
            AdminActionKind::OfferingUpsert,
            AdminActionKind::AutoAssignDisable,
            AdminActionKind::OfferingUpsert,
            AdminActionKind::AutoAssignEnable,
        ]
    );
    for event in &actions {
        assert_eq!(event.actor.admin.as_deref(), Some(ADA));
        assert_eq!(event.aggregate_kind, AggregateKind::Config);
    }
    assert_eq!(
        action_of(&actions[0]),
        (
            AdminActionKind::AutoAssignEnable,
            "pool",
            enabled.id.as_str()
        )
    );

    app.stop().await;
    env.cleanup().await;
}

/// The account center's browser test: the switch goes on before any user
/// exists; users then arrive and are served first come, first served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_arriving_after_the_switch_are_served_first_come_first_served() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut admin = client(&app).await;
    offer(&mut admin, "standard", 2).await;
    let enabled = switch_on(&mut admin, CONFIG, "standard").await;
    assert_eq!((enabled.seats, enabled.seats_used), (2, 0));

    let mut last = 0;
    for user in ["u3", "u1", "u2"] {
        last = env.create_user(TENANT, CONFIG, user, true).await;
    }
    env.wait_for_checkpoint(last).await;
    let page = members(&mut admin, &enabled.id).await;
    assert_eq!(holder_ids(&page), ["u3", "u1"]);
    assert_eq!(waiting_ids(&page), [("u2", 1)]);

    // Manual decisions name the admin; the operator's own calls say so.
    admin
        .revoke_license(as_ada(RevokeLicenseRequest {
            pool_id: enabled.id.clone(),
            user_id: "u3".into(),
        }))
        .await
        .unwrap();
    admin
        .revoke_license(RevokeLicenseRequest {
            pool_id: enabled.id.clone(),
            user_id: "u1".into(),
        })
        .await
        .unwrap();
    let page = members(&mut admin, &enabled.id).await;
    assert_eq!(
        holder_ids(&page),
        ["u2"],
        "one waiting user, two free seats"
    );
    let assigned = admin
        .assign_license(as_ada(AssignLicenseRequest {
            pool_id: enabled.id.clone(),
            user_id: "u3".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(assigned.source, "manual");
    // The last decisions: u3's manual seat by Ada, u1's revocation by the
    // operator (no x-scim-actor).
    for (user, admin_name, manual_assignment) in [("u3", ADA, true), ("u1", "operator", false)] {
        eventually(|| async {
            last_event(&env, AggregateKind::License, user)
                .await
                .is_some_and(|event| {
                    event.actor.admin.as_deref() == Some(admin_name)
                        && match event.payload {
                            EventPayload::LicenseAssigned(change) => {
                                manual_assignment && change.source == "manual"
                            }
                            EventPayload::LicenseReleased(_) => !manual_assignment,
                            _ => false,
                        }
                })
        })
        .await;
    }

    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_switch_refuses_missing_offerings_and_offerings_in_use() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut admin = client(&app).await;

    let missing = admin
        .set_auto_assign(as_ada(switch_request(CONFIG, "standard", true)))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::FailedPrecondition);
    assert!(missing.message().contains("crm/standard"), "{missing:?}");

    offer(&mut admin, "standard", 2).await;
    offer(&mut admin, "premium", 4).await;
    let standard = switch_on(&mut admin, CONFIG, "standard").await;
    let taken = admin
        .set_auto_assign(as_ada(switch_request(OTHER_CONFIG, "standard", true)))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::FailedPrecondition);
    assert!(taken.message().contains(CONFIG), "{taken:?}");

    // Picking another offering moves auto-assign to its pool.
    let premium = switch_on(&mut admin, CONFIG, "premium").await;
    assert_ne!(premium.id, standard.id);
    assert_eq!((premium.seats, premium.auto_assign), (4, true));
    assert!(!pool(&mut admin, &standard.id).await.auto_assign);
    // The configuration's standard pool remains (with any seat it gave), so
    // the offering stays in its use.
    let still_taken = admin
        .set_auto_assign(as_ada(switch_request(OTHER_CONFIG, "standard", true)))
        .await
        .unwrap_err();
    assert_eq!(still_taken.code(), Code::FailedPrecondition);

    let invalid = admin
        .set_auto_assign(as_ada(switch_request(CONFIG, " ", true)))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    let foreign = admin
        .set_auto_assign(SetAutoAssignRequest {
            tenant_id: "someone-else".into(),
            ..switch_request(CONFIG, "", false)
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound, "{foreign:?}");

    let kinds: Vec<(AdminActionKind, String)> = admin_actions(&env, CONFIG)
        .await
        .iter()
        .map(|event| {
            let (kind, _, target) = action_of(event);
            (kind, target.to_owned())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (AdminActionKind::AutoAssignEnable, standard.id.clone()),
            (AdminActionKind::AutoAssignDisable, standard.id.clone()),
            (AdminActionKind::AutoAssignEnable, premium.id.clone()),
        ],
        "refused switches leave no trace"
    );

    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_members_are_paged_holders_first_then_the_queue() {
    let env = TestEnv::new().await;
    let app = env.start().await;
    let mut admin = client(&app).await;
    offer(&mut admin, "standard", 3).await;
    let enabled = switch_on(&mut admin, CONFIG, "standard").await;
    let users: Vec<String> = (1..=7).map(|index| format!("user{index}")).collect();
    let mut last = 0;
    for user in &users {
        last = env.create_user(TENANT, CONFIG, user, true).await;
    }
    env.wait_for_checkpoint(last).await;

    let mut holders = Vec::new();
    let mut waiting = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = admin
            .list_pool_members(ListPoolMembersRequest {
                pool_id: enabled.id.clone(),
                page_size: 2,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert_eq!((page.holders_total, page.waiting_total), (3, 4));
        assert!(page.holders.len() + page.waiting.len() <= 2);
        holders.extend(page.holders.iter().map(|holder| holder.user_id.clone()));
        waiting.extend(
            page.waiting
                .iter()
                .map(|user| (user.user_id.clone(), user.position)),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 4);
    assert_eq!(holders, users[..3]);
    let expected: Vec<(String, u64)> = users[3..].iter().cloned().zip(1..).collect();
    assert_eq!(waiting, expected);

    let everything = members(&mut admin, &enabled.id).await;
    assert_eq!((everything.holders.len(), everything.waiting.len()), (3, 4));
    assert!(everything.next_page_token.is_empty());
    assert!(!everything.waiting[0].waiting_since.is_empty());

    let forged = admin
        .list_pool_members(ListPoolMembersRequest {
            pool_id: enabled.id.clone(),
            page_size: 2,
            page_token: "not-a-token".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::InvalidArgument);
    let unknown = admin
        .list_pool_members(ListPoolMembersRequest {
            pool_id: "nope".into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    app.stop().await;
    env.cleanup().await;
}
