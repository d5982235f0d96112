//! Incremental cycle over existing users: attribute updates, deactivations and moves between
//! groups, as an IdP sends them after the initial sync.

use anyhow::bail;
use futures::StreamExt as _;
use rand::{Rng, SeedableRng as _};
use serde_json::{Value, json};

use super::{Ctx, Outcome};
use crate::cli::IncrementalArgs;
use crate::client::{Resource, resource_id};
use crate::payload;

pub const USER_PATCH: &str = "user.patch";
pub const USER_DEACTIVATE: &str = "user.deactivate";
pub const MEMBER_ADD: &str = "group.member_add";
pub const MEMBER_REMOVE: &str = "group.member_remove";

/// Groups considered for membership changes at most.
const MAX_GROUPS: usize = 1000;

/// One change, by index into the discovered users and groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Replace title and displayName.
    Update { user: usize },
    /// Replace active with false.
    Deactivate { user: usize },
    /// Add to one group, then (with two or more groups) remove from another.
    Move {
        user: usize,
        add_to: usize,
        remove_from: Option<usize>,
    },
}

/// `n` changes over `users` users (each user once while `n <= users`) and `groups` groups;
/// the kind of each is drawn with the given percentages. Without groups, moves become updates.
pub fn plan(
    n: usize,
    users: usize,
    groups: usize,
    deactivate_pct: u8,
    membership_pct: u8,
    rng: &mut impl Rng,
) -> Vec<Change> {
    if users == 0 {
        return Vec::new();
    }
    let deactivate = u32::from(deactivate_pct);
    let membership = deactivate + u32::from(membership_pct);
    (0..n)
        .map(|i| {
            let user = i % users;
            let roll = rng.random_range(0..100u32);
            if roll < deactivate {
                Change::Deactivate { user }
            } else if roll < membership && groups > 0 {
                let add_to = rng.random_range(0..groups);
                let remove_from = (groups > 1).then(|| {
                    // Any group but `add_to`.
                    (add_to + rng.random_range(1..groups)) % groups
                });
                Change::Move {
                    user,
                    add_to,
                    remove_from,
                }
            } else {
                Change::Update { user }
            }
        })
        .collect()
}

pub async fn run(ctx: &Ctx, args: &IncrementalArgs) -> anyhow::Result<Outcome> {
    let mut notes = Vec::new();
    let users = ctx.discover_users(args.users, args.page_size).await?;
    let user_ids: Vec<String> = users.iter().filter_map(resource_id).collect();
    if user_ids.is_empty() {
        bail!(
            "no users found{}; run initial-sync first (and pass its --prefix)",
            ctx.prefix
                .as_ref()
                .map(|p| format!(" with userName sw \"{p}.\""))
                .unwrap_or_default()
        );
    }
    let groups = ctx.discover_groups(MAX_GROUPS, args.page_size).await?;
    let group_ids: Vec<String> = groups.iter().filter_map(resource_id).collect();
    notes.push(format!(
        "discovered {} users and {} groups",
        user_ids.len(),
        group_ids.len()
    ));
    if group_ids.is_empty() && args.membership_pct > 0 {
        notes.push("no groups found: membership changes were sent as updates".into());
    }

    let mut rng = rand::rngs::StdRng::from_os_rng();
    let revision: u32 = rng.random_range(1..1_000_000);
    let changes = plan(
        args.users,
        user_ids.len(),
        group_ids.len(),
        args.deactivate_pct,
        args.membership_pct,
        &mut rng,
    );
    let bar = ctx.bar(changes.len(), "changes");
    let mut results = futures::stream::iter(changes.iter())
        .map(|change| apply(ctx, change, &user_ids, &group_ids, revision))
        .buffer_unordered(ctx.concurrency);
    while results.next().await.is_some() {
        bar.inc(1);
    }
    bar.finish_and_clear();

    let count = |f: fn(&Change) -> bool| changes.iter().filter(|c| f(c)).count();
    notes.push(format!(
        "{} updates, {} deactivations, {} group moves (revision tag {revision})",
        count(|c| matches!(c, Change::Update { .. })),
        count(|c| matches!(c, Change::Deactivate { .. })),
        count(|c| matches!(c, Change::Move { .. })),
    ));
    Ok(Outcome {
        params: json!({
            "users": args.users,
            "deactivate_pct": args.deactivate_pct,
            "membership_pct": args.membership_pct,
        }),
        notes,
    })
}

async fn apply(ctx: &Ctx, change: &Change, users: &[String], groups: &[String], revision: u32) {
    let scim = &ctx.scim;
    match *change {
        Change::Update { user } => {
            let body = update_body(user, revision);
            let _ = scim
                .patch(USER_PATCH, Resource::Users, &users[user], &body)
                .await;
        }
        Change::Deactivate { user } => {
            let _ = scim
                .patch(
                    USER_DEACTIVATE,
                    Resource::Users,
                    &users[user],
                    &payload::deactivate(),
                )
                .await;
        }
        Change::Move {
            user,
            add_to,
            remove_from,
        } => {
            let member = std::slice::from_ref(&users[user]);
            let added = scim
                .patch(
                    MEMBER_ADD,
                    Resource::Groups,
                    &groups[add_to],
                    &payload::add_members(member),
                )
                .await;
            if let (Ok(_), Some(from)) = (added, remove_from) {
                let _ = scim
                    .patch(
                        MEMBER_REMOVE,
                        Resource::Groups,
                        &groups[from],
                        &payload::remove_member(&users[user]),
                    )
                    .await;
            }
        }
    }
}

/// New title and displayName carrying the run's revision, so every update is a real change.
fn update_body(user: usize, revision: u32) -> Value {
    payload::replace_title_and_display_name(
        &format!("Title r{revision}"),
        &format!("Bench User {user} r{revision}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn plan_touches_each_user_once_and_follows_the_mix() {
        let changes = plan(10_000, 10_000, 5, 10, 30, &mut rng());
        assert_eq!(changes.len(), 10_000);
        let users = |c: &Change| match *c {
            Change::Update { user } | Change::Deactivate { user } | Change::Move { user, .. } => {
                user
            }
        };
        assert!(changes.iter().enumerate().all(|(i, c)| users(c) == i));
        let deact = changes
            .iter()
            .filter(|c| matches!(c, Change::Deactivate { .. }))
            .count();
        let moves = changes
            .iter()
            .filter(|c| matches!(c, Change::Move { .. }))
            .count();
        assert!((800..1200).contains(&deact), "{deact}");
        assert!((2700..3300).contains(&moves), "{moves}");
        for c in &changes {
            if let Change::Move {
                add_to,
                remove_from,
                ..
            } = *c
            {
                assert!(add_to < 5);
                let from = remove_from.unwrap();
                assert!(from < 5 && from != add_to);
            }
        }
    }

    #[test]
    fn plan_degrades_without_groups_or_users() {
        let changes = plan(100, 3, 0, 0, 100, &mut rng());
        assert!(changes.iter().all(|c| matches!(c, Change::Update { .. })));
        assert!(plan(10, 0, 3, 10, 30, &mut rng()).is_empty());
        let one = plan(50, 3, 1, 0, 100, &mut rng());
        assert!(one.iter().all(|c| matches!(
            c,
            Change::Move {
                add_to: 0,
                remove_from: None,
                ..
            }
        )));
    }

    #[test]
    fn updates_are_real_changes() {
        let body = update_body(3, 42);
        assert_eq!(body["Operations"][0]["value"], "Title r42");
        assert_eq!(body["Operations"][1]["value"], "Bench User 3 r42");
    }
}
