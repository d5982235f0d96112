//! What was promised against what is stored, once every consumer has caught up.
//!
//! The stream is read independently of every service (an ordered consumer of our own), so the
//! checks do not take any projection's word for what happened:
//! - every user the client was answered 2xx for exists once, with its last acknowledged
//!   `active` and manager; every acknowledged member is in its group;
//! - every acknowledged version is an event of that resource in the stream;
//! - no userName has two users (in the stream or the read model), and every claim in the
//!   userName bucket belongs to the user holding that name, with no claim left over;
//! - seats used = min(pool, active users), held by the first active users in stream order;
//! - every event of the tenant is in the provisioning log, once;
//! - the directory's read model equals one rebuilt from the stream into a fresh database;
//! - each consumer's checkpoint reached the end of what it consumes, and the outboxes are empty.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream;
use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use event_store::consumer::{ConsumerMetrics, ConsumerSettings};
use event_store::{EventStore, StoreSettings};
use futures::StreamExt as _;
use scim_events::{EventEnvelope, EventPayload, Namespace};
use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::workload::Ledger;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// How long the consumers may take to catch up after the sync.
const DRAIN_DEADLINE: Duration = Duration::from_secs(180);

/// Where the stored state lives.
pub struct Stores<'a> {
    pub nats_url: &'a str,
    pub namespace: &'a Namespace,
    pub tenant_id: &'a str,
    pub pool_id: &'a str,
    pub seats: usize,
    pub directory: &'a PgPool,
    pub license: &'a PgPool,
    pub audit: &'a PgPool,
    /// A fresh database for the rebuild of the directory's read model.
    pub rebuild_url: &'a str,
}

#[derive(Debug, Default)]
pub struct Verdict {
    /// Acknowledged changes not found in what is stored.
    pub lost: u64,
    /// Things stored twice: a second user for one userName, a user nobody asked for.
    pub duplicated: u64,
    /// Every other broken invariant, one line each.
    pub violations: Vec<String>,
}

impl Verdict {
    fn lost(&mut self, what: String) {
        self.lost += 1;
        self.note(what);
    }

    fn duplicated(&mut self, what: String) {
        self.duplicated += 1;
        self.note(what);
    }

    fn note(&mut self, what: String) {
        // The first few are enough to debug; the counters carry the rest.
        if self.violations.len() < 20 {
            self.violations.push(what);
        }
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    pub fn passed(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.violations.is_empty()
    }
}

/// The checks' own NATS connection, anonymous like the stack chaos runs, and waiting for a
/// server that a scenario may just have restarted (as the services do).
async fn connect_nats(stores: &Stores<'_>) -> Result<async_nats::Client, async_nats::ConnectError> {
    let login = service_kit::nats::Login {
        wait_for_server: true,
        ..service_kit::nats::Login::tool("scim-chaos", None)
    };
    service_kit::nats::connect(stores.nats_url, &login).await
}

/// Waits until every consumer has nothing pending or unacknowledged and the license
/// service's outbox is empty, twice in a row. Returns how long that took.
pub async fn wait_for_drain(stores: &Stores<'_>) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let client = connect_nats(stores).await?;
    let context = jetstream::new(client);
    let stream = context
        .get_stream(stores.namespace.stream_name())
        .await
        .context("the event stream")?;
    let mut quiet_polls = 0;
    loop {
        let mut quiet = true;
        for service in ["directory", "license", "audit"] {
            match stream
                .consumer_info(stores.namespace.consumer_name(service))
                .await
            {
                Ok(info) => quiet &= info.num_pending == 0 && info.num_ack_pending == 0,
                Err(_) => quiet = false,
            }
        }
        let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
            .fetch_one(stores.license)
            .await
            .unwrap_or(1);
        quiet &= outbox == 0;
        quiet_polls = if quiet { quiet_polls + 1 } else { 0 };
        if quiet_polls >= 2 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > DRAIN_DEADLINE {
            anyhow::bail!("the consumers did not catch up within {DRAIN_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One event of the stream, as much of it as the checks need.
struct Seen {
    subject: String,
    envelope: EventEnvelope,
}

pub async fn verify(stores: &Stores<'_>, ledger: &Ledger) -> anyhow::Result<Verdict> {
    let mut verdict = Verdict::default();
    let events = read_stream(stores).await?;
    let tenant_events: BTreeMap<u64, &Seen> = events
        .iter()
        .filter(|(_, seen)| seen.envelope.tenant_id == stores.tenant_id)
        .map(|(sequence, seen)| (*sequence, seen))
        .collect();

    check_stream_duplicates(&tenant_events, &mut verdict);
    let users = stored_users(stores).await?;
    check_users(ledger, &users, &mut verdict);
    check_groups(stores, ledger, &mut verdict).await?;
    check_acknowledged_versions(ledger, &events, &mut verdict);
    check_claims(stores, &users, &mut verdict).await?;
    check_seats(stores, &tenant_events, &users, &mut verdict).await?;
    check_audit(stores, &tenant_events, &mut verdict).await?;
    check_checkpoints(stores, &events, &mut verdict).await?;
    check_rebuild(stores, &events, &mut verdict).await?;
    Ok(verdict)
}

async fn read_stream(stores: &Stores<'_>) -> anyhow::Result<BTreeMap<u64, Seen>> {
    let client = connect_nats(stores).await?;
    let context = jetstream::new(client);
    let stream = context
        .get_stream(stores.namespace.stream_name())
        .await
        .context("the event stream")?;
    let last = stream.get_info().await?.state.last_sequence;
    let mut events = BTreeMap::new();
    if last == 0 {
        return Ok(events);
    }
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: stores.namespace.all_subjects(),
            deliver_policy: DeliverPolicy::All,
            ..OrderedConfig::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message?;
        let sequence = message.info().map_err(anyhow::Error::msg)?.stream_sequence;
        let envelope: EventEnvelope = serde_json::from_slice(&message.payload)
            .with_context(|| format!("event {sequence} does not decode"))?;
        events.insert(
            sequence,
            Seen {
                subject: message.subject.to_string(),
                envelope,
            },
        );
        if sequence >= last {
            break;
        }
    }
    Ok(events)
}

/// A second create of one userName (or group name) under another id is a duplicate the
/// claim was there to prevent.
fn check_stream_duplicates(events: &BTreeMap<u64, &Seen>, verdict: &mut Verdict) {
    let mut users: HashMap<String, BTreeSet<&str>> = HashMap::new();
    let mut groups: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for seen in events.values() {
        let id = seen.envelope.aggregate_id.as_str();
        match &seen.envelope.payload {
            EventPayload::UserCreated { resource } => {
                let name = resource["userName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase();
                users.entry(name).or_default().insert(id);
            }
            EventPayload::GroupCreated { group, .. } => {
                groups
                    .entry(
                        group.resource["displayName"]
                            .as_str()
                            .unwrap_or_default()
                            .to_lowercase(),
                    )
                    .or_default()
                    .insert(id);
            }
            _ => {}
        }
    }
    for (name, ids) in users.iter().chain(groups.iter()) {
        if ids.len() > 1 {
            for _ in 1..ids.len() {
                verdict.duplicated(format!("{name} was created {} times: {ids:?}", ids.len()));
            }
        }
    }
}

struct StoredUser {
    id: String,
    user_name: String,
    active: bool,
    manager: Option<String>,
}

async fn stored_users(stores: &Stores<'_>) -> anyhow::Result<Vec<StoredUser>> {
    let rows: Vec<(String, String, bool, Option<String>)> = sqlx::query_as(
        "SELECT id, user_name_lower, active, resource -> $2 -> 'manager' ->> 'value' \
         FROM users WHERE tenant_id = $1",
    )
    .bind(stores.tenant_id)
    .bind(ENTERPRISE)
    .fetch_all(stores.directory)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, user_name, active, manager)| StoredUser {
            id,
            user_name,
            active,
            manager,
        })
        .collect())
}

fn check_users(ledger: &Ledger, users: &[StoredUser], verdict: &mut Verdict) {
    let mut by_name: HashMap<&str, Vec<&StoredUser>> = HashMap::new();
    for user in users {
        by_name
            .entry(user.user_name.as_str())
            .or_default()
            .push(user);
    }
    let promised: BTreeSet<String> = ledger
        .users
        .iter()
        .map(|user| user.user_name.to_lowercase())
        .collect();
    for (name, stored) in &by_name {
        if stored.len() > 1 {
            verdict.duplicated(format!("{name} is stored {} times", stored.len()));
        }
        if !promised.contains(*name) {
            verdict.duplicated(format!("{name} is stored but was never sent"));
        }
    }
    for promise in &ledger.users {
        let Some(id) = &promise.id else {
            if !promise.unresolved {
                verdict.violation(format!("{} has no id and no failure", promise.user_name));
            }
            continue;
        };
        let stored = by_name
            .get(promise.user_name.to_lowercase().as_str())
            .and_then(|users| users.first());
        let Some(stored) = stored else {
            verdict.lost(format!("{} ({id}) is not stored", promise.user_name));
            continue;
        };
        if &stored.id != id {
            verdict.lost(format!(
                "{} is stored as {}, the client was told {id}",
                promise.user_name, stored.id
            ));
            continue;
        }
        if promise.unresolved {
            continue;
        }
        if stored.active != promise.active {
            verdict.lost(format!(
                "{}: active is {}, acknowledged {}",
                promise.user_name, stored.active, promise.active
            ));
        }
        if stored.manager != promise.manager {
            verdict.lost(format!(
                "{}: manager is {:?}, acknowledged {:?}",
                promise.user_name, stored.manager, promise.manager
            ));
        }
    }
}

async fn check_groups(
    stores: &Stores<'_>,
    ledger: &Ledger,
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT group_id, member_id FROM group_members WHERE tenant_id = $1")
            .bind(stores.tenant_id)
            .fetch_all(stores.directory)
            .await?;
    let mut members: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (group, member) in rows {
        members.entry(group).or_default().insert(member);
    }
    let groups: i64 = sqlx::query_scalar("SELECT count(*) FROM groups WHERE tenant_id = $1")
        .bind(stores.tenant_id)
        .fetch_one(stores.directory)
        .await?;
    let promised = ledger
        .groups
        .iter()
        .filter(|group| group.id.is_some())
        .count();
    if usize::try_from(groups).unwrap_or(0) > ledger.groups.len() {
        verdict.duplicated(format!(
            "{groups} groups stored, {} were sent",
            ledger.groups.len()
        ));
    }
    if usize::try_from(groups).unwrap_or(0) < promised {
        verdict.lost(format!("{groups} groups stored, {promised} acknowledged"));
    }
    let empty = BTreeSet::new();
    for group in &ledger.groups {
        let Some(id) = &group.id else { continue };
        let stored = members.get(id).unwrap_or(&empty);
        for member in group.members.difference(stored) {
            verdict.lost(format!(
                "{}: acknowledged member {member} is missing",
                group.display_name
            ));
        }
        if !group.unresolved && stored.len() != group.members.len() {
            verdict.violation(format!(
                "{}: {} members stored, {} acknowledged",
                group.display_name,
                stored.len(),
                group.members.len()
            ));
        }
    }
    Ok(())
}

/// The version an answer carried is the stream sequence of the event that made it.
fn check_acknowledged_versions(
    ledger: &Ledger,
    events: &BTreeMap<u64, Seen>,
    verdict: &mut Verdict,
) {
    for acknowledged in &ledger.acknowledged {
        match events.get(&acknowledged.version) {
            Some(seen) if seen.envelope.aggregate_id == acknowledged.resource_id => {}
            Some(seen) => verdict.lost(format!(
                "version {} of {} is an event of {}",
                acknowledged.version, acknowledged.resource_id, seen.envelope.aggregate_id
            )),
            None => verdict.lost(format!(
                "version {} of {} is not in the stream",
                acknowledged.version, acknowledged.resource_id
            )),
        }
    }
}

/// Every stored user owns the claim of its userName, and no claim is left without its user.
async fn check_claims(
    stores: &Stores<'_>,
    users: &[StoredUser],
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let client = connect_nats(stores).await?;
    let bucket = jetstream::new(client)
        .get_key_value(stores.namespace.username_bucket())
        .await?;
    let prefix = format!("{}.", stores.tenant_id);
    let mut claims = HashMap::new();
    let mut keys = bucket.keys().await?;
    while let Some(key) = keys.next().await {
        let key = key?;
        if key.starts_with(&prefix)
            && let Some(owner) = bucket.get(&key).await?
        {
            claims.insert(key, String::from_utf8_lossy(&owner).into_owned());
        }
    }
    for user in users {
        let key = event_store::claims::claim_key(stores.tenant_id, &user.user_name);
        match claims.remove(&key) {
            Some(owner) if owner == user.id => {}
            Some(owner) => verdict.violation(format!(
                "the claim of {} names {owner}, the user is {}",
                user.user_name, user.id
            )),
            None => verdict.violation(format!("{} holds no claim", user.user_name)),
        }
    }
    if !claims.is_empty() {
        verdict.violation(format!(
            "{} claims belong to no user (orphans): {:?}",
            claims.len(),
            claims.values().take(5).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

/// Seats used = min(pool, active users), and the holders are the first active users in the
/// order the stream first saw them (first come, first served).
async fn check_seats(
    stores: &Stores<'_>,
    events: &BTreeMap<u64, &Seen>,
    users: &[StoredUser],
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let mut first_seen: HashMap<&str, u64> = HashMap::new();
    for (sequence, seen) in events {
        if seen.subject.contains(".dir.") && seen.subject.contains(".user.") {
            first_seen
                .entry(seen.envelope.aggregate_id.as_str())
                .or_insert(*sequence);
        }
    }
    let mut active: Vec<(u64, &str)> = users
        .iter()
        .filter(|user| user.active)
        .map(|user| {
            (
                first_seen
                    .get(user.id.as_str())
                    .copied()
                    .unwrap_or(u64::MAX),
                user.id.as_str(),
            )
        })
        .collect();
    active.sort();
    let expected: BTreeSet<&str> = active
        .iter()
        .take(stores.seats)
        .map(|(_, id)| *id)
        .collect();
    let holders: Vec<String> =
        sqlx::query_scalar("SELECT user_id FROM assignments WHERE pool_id = $1")
            .bind(stores.pool_id)
            .fetch_all(stores.license)
            .await?;
    let used: i32 = sqlx::query_scalar("SELECT seats_used FROM pools WHERE id = $1")
        .bind(stores.pool_id)
        .fetch_one(stores.license)
        .await?;
    let holders: BTreeSet<&str> = holders.iter().map(String::as_str).collect();
    let want = stores.seats.min(active.len());
    if holders.len() != want || usize::try_from(used).ok() != Some(holders.len()) {
        verdict.violation(format!(
            "{} seats held ({used} counted), min(pool {}, active {}) = {want}",
            holders.len(),
            stores.seats,
            active.len()
        ));
    }
    let wrong: Vec<&&str> = holders.difference(&expected).take(5).collect();
    if !wrong.is_empty() {
        verdict.violation(format!(
            "{} seat holders are not among the first {want} active users, e.g. {wrong:?}",
            holders.difference(&expected).count()
        ));
    }
    Ok(())
}

/// Every event of the tenant is in its provisioning log, under its own sequence, once.
async fn check_audit(
    stores: &Stores<'_>,
    events: &BTreeMap<u64, &Seen>,
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let logged: Vec<i64> =
        sqlx::query_scalar("SELECT sequence FROM audit_log WHERE tenant_id = $1")
            .bind(stores.tenant_id)
            .fetch_all(stores.audit)
            .await?;
    let logged: BTreeSet<u64> = logged
        .into_iter()
        .filter_map(|sequence| u64::try_from(sequence).ok())
        .collect();
    let missing: Vec<u64> = events
        .keys()
        .filter(|sequence| !logged.contains(sequence))
        .copied()
        .collect();
    for sequence in missing.iter().take(5) {
        verdict.note(format!("event {sequence} is not in the provisioning log"));
    }
    verdict.lost += missing.len() as u64;
    let extra = logged
        .iter()
        .filter(|sequence| !events.contains_key(sequence))
        .count();
    if extra > 0 {
        verdict.violation(format!(
            "{extra} provisioning-log records have no event of the tenant in the stream"
        ));
    }
    Ok(())
}

/// Each projection's checkpoint reached the last event it consumes.
async fn check_checkpoints(
    stores: &Stores<'_>,
    events: &BTreeMap<u64, Seen>,
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let directory_prefix = format!("{}.dir.", stores.namespace.name());
    let last_directory = events
        .iter()
        .rev()
        .find(|(_, seen)| seen.subject.starts_with(&directory_prefix))
        .map_or(0, |(sequence, _)| *sequence);
    let last = events.keys().next_back().copied().unwrap_or(0);
    for (service, pool, needed) in [
        ("directory", stores.directory, last_directory),
        ("license", stores.license, last_directory),
        ("audit", stores.audit, last),
    ] {
        let checkpoint: Option<i64> =
            sqlx::query_scalar("SELECT last_sequence FROM checkpoint WHERE name = $1")
                .bind(stores.namespace.consumer_name(service))
                .fetch_optional(pool)
                .await?;
        let checkpoint = checkpoint
            .and_then(|value| u64::try_from(value).ok())
            .unwrap_or(0);
        if checkpoint < needed {
            verdict.violation(format!(
                "the {service} checkpoint is {checkpoint}, the stream has {needed}"
            ));
        }
    }
    Ok(())
}

/// Replays the stream into a fresh database with the directory's own projection code and
/// compares the two read models row by row.
async fn check_rebuild(
    stores: &Stores<'_>,
    events: &BTreeMap<u64, Seen>,
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let directory_prefix = format!("{}.dir.", stores.namespace.name());
    let target = events
        .iter()
        .rev()
        .find(|(_, seen)| seen.subject.starts_with(&directory_prefix))
        .map_or(0, |(sequence, _)| *sequence);
    let pool = service_kit::postgres::connect(stores.rebuild_url, 4).await?;
    directory_service::migrate(&pool).await?;
    let client = connect_nats(stores).await?;
    let store =
        EventStore::connect(client, stores.namespace.clone(), &StoreSettings::default()).await?;
    let (applied_tx, mut applied_rx) =
        watch::channel(directory_service::projection::Applied::default());
    let settings = ConsumerSettings {
        durable_name: stores.namespace.consumer_name("chaos_rebuild"),
        filter_subject: stores.namespace.directory_subjects(),
        batch_size: 500,
        ack_wait: Duration::from_secs(30),
    };
    let mut projection = directory_service::projection::DirectoryProjection::new(
        pool.clone(),
        applied_tx,
        directory_service::projection::checkpoint_name(stores.namespace),
    );
    let stop = CancellationToken::new();
    let metrics = ConsumerMetrics::default();
    let replay = event_store::consumer::run(&store, &settings, &mut projection, &metrics, &stop);
    let caught_up = async {
        while applied_rx.borrow_and_update().sequence < target {
            if applied_rx.changed().await.is_err() {
                break;
            }
        }
        stop.cancel();
    };
    let (replayed, ()) =
        tokio::time::timeout(DRAIN_DEADLINE, async { tokio::join!(replay, caught_up) })
            .await
            .context("the rebuild did not catch up")?;
    replayed?;
    let _ = store.stream().delete_consumer(&settings.durable_name).await;

    for (what, query) in [
        (
            "users",
            "SELECT id || ' ' || user_name || ' ' || active || ' ' || version || ' ' || resource::text \
             FROM users WHERE tenant_id = $1 ORDER BY id",
        ),
        (
            "groups",
            "SELECT id || ' ' || display_name || ' ' || version || ' ' || resource::text \
             FROM groups WHERE tenant_id = $1 ORDER BY id",
        ),
        (
            "memberships",
            "SELECT group_id || ' ' || member_id FROM group_members WHERE tenant_id = $1 \
             ORDER BY group_id, member_id",
        ),
    ] {
        let live: Vec<String> = sqlx::query_scalar(query)
            .bind(stores.tenant_id)
            .fetch_all(stores.directory)
            .await?;
        let rebuilt: Vec<String> = sqlx::query_scalar(query)
            .bind(stores.tenant_id)
            .fetch_all(&pool)
            .await?;
        if live != rebuilt {
            let differing = live
                .iter()
                .zip(rebuilt.iter())
                .filter(|(left, right)| left != right)
                .count();
            verdict.violation(format!(
                "the read model's {what} differ from a rebuild from the stream: {} live, {} rebuilt, {differing} rows differ",
                live.len(),
                rebuilt.len()
            ));
        }
    }
    pool.close().await;
    Ok(())
}
