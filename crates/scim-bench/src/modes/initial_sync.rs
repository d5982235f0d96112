//! First provisioning cycle, as an IdP runs it: per user a match query then a create; then
//! managers by PATCH; then groups created empty and filled in member batches.

use std::time::Instant;

use futures::StreamExt as _;
use serde_json::json;

use super::{Ctx, Ensured, Outcome, tally};
use crate::cli::InitialSyncArgs;
use crate::client::Resource;
use crate::payload::{self, UserSpec};

pub const USER_PATCH: &str = "user.patch";

pub async fn run(ctx: &Ctx, args: &InitialSyncArgs) -> anyhow::Result<Outcome> {
    let prefix = ctx.run_prefix()?;
    let mut notes = Vec::new();

    let t = Instant::now();
    let specs: Vec<UserSpec> = (0..args.users)
        .map(|i| UserSpec::new(prefix, "u", i, &ctx.domain))
        .collect();
    let users = ctx.ensure_users(&specs, true, "users").await;
    let (created, existing, failed) = tally(&users);
    notes.push(format!(
        "users: {created} created, {existing} already there, {failed} failed ({:.1} s)",
        t.elapsed().as_secs_f64()
    ));

    let t = Instant::now();
    let assignments = manager_assignments(&users, args.manager_every);
    let bar = ctx.bar(assignments.len(), "managers");
    let mut results = futures::stream::iter(assignments.iter())
        .map(|(user, manager)| async move {
            let body = payload::set_manager(manager);
            ctx.scim
                .patch(USER_PATCH, Resource::Users, user, &body)
                .await
        })
        .buffer_unordered(ctx.concurrency);
    let mut manager_failures = 0;
    while let Some(result) = results.next().await {
        manager_failures += usize::from(result.is_err());
        bar.inc(1);
    }
    bar.finish_and_clear();
    notes.push(format!(
        "managers: {} set, {manager_failures} failed ({:.1} s)",
        assignments.len() - manager_failures,
        t.elapsed().as_secs_f64()
    ));

    let t = Instant::now();
    let ids: Vec<String> = users
        .iter()
        .filter_map(|u| u.id().map(str::to_owned))
        .collect();
    let batch = usize::try_from(args.member_batch).unwrap_or(100);
    let parallel = usize::try_from(args.per_group_concurrency).unwrap_or(1);
    let plans: Vec<Vec<String>> = (0..args.groups)
        .map(|g| group_members(&ids, g, args.group_size))
        .collect();
    let total_batches: usize = plans.iter().map(|m| m.len().div_ceil(batch.max(1))).sum();
    let bar = ctx.bar(args.groups + total_batches, "groups");
    let mut results = futures::stream::iter(plans.iter().enumerate())
        .map(|(g, members)| {
            let bar = &bar;
            async move {
                let name = payload::group_name(prefix, "group", g);
                let group = ctx.ensure_group(&name, &format!("{name}-ext")).await;
                bar.inc(1);
                let failed_batches = match group.id() {
                    Some(id) => ctx.fill_group(id, members, batch, parallel, bar).await,
                    None => {
                        bar.inc(members.len().div_ceil(batch.max(1)) as u64);
                        0
                    }
                };
                (group, failed_batches)
            }
        })
        .buffer_unordered(ctx.concurrency);
    let mut groups = Vec::new();
    let mut failed_batches = 0;
    while let Some((group, failed)) = results.next().await {
        groups.push(group);
        failed_batches += failed;
    }
    bar.finish_and_clear();
    let (created, existing, failed) = tally(&groups);
    notes.push(format!(
        "groups: {created} created, {existing} already there, {failed} failed; \
         {total_batches} member PATCHes of up to {batch}, {failed_batches} failed ({:.1} s)",
        t.elapsed().as_secs_f64()
    ));
    notes.push(format!(
        "to work on these users: --prefix {prefix} (incremental, lookup)"
    ));

    Ok(Outcome {
        params: json!({
            "users": args.users,
            "groups": args.groups,
            "group_size": args.group_size,
            "manager_every": args.manager_every,
            "member_batch": batch,
            "per_group_concurrency": parallel,
        }),
        notes,
    })
}

/// `(user id, manager id)`: in every block of `every` users the first is the manager of the
/// others. Users whose creation failed are left out.
pub fn manager_assignments(users: &[Ensured], every: usize) -> Vec<(String, String)> {
    if every < 2 {
        return Vec::new();
    }
    users
        .chunks(every)
        .filter_map(|block| {
            let (manager, reports) = block.split_first()?;
            let manager = manager.id()?;
            Some(
                reports
                    .iter()
                    .filter_map(|r| Some((r.id()?.to_owned(), manager.to_owned()))),
            )
        })
        .flatten()
        .collect()
}

/// Members of group `g`: `size` consecutive users starting at `g * size`, wrapping around,
/// never the same user twice.
pub fn group_members(ids: &[String], g: usize, size: usize) -> Vec<String> {
    if ids.is_empty() {
        return Vec::new();
    }
    let start = g.wrapping_mul(size) % ids.len();
    ids.iter()
        .cycle()
        .skip(start)
        .take(size.min(ids.len()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(ids: &[&str]) -> Vec<Ensured> {
        ids.iter()
            .map(|id| Ensured::Created((*id).into()))
            .collect()
    }

    #[test]
    fn managers_head_their_block() {
        let users = created(&["a", "b", "c", "d", "e"]);
        let pairs = manager_assignments(&users, 3);
        let expect = [("b", "a"), ("c", "a"), ("e", "d")];
        assert_eq!(
            pairs,
            expect.map(|(u, m)| (u.to_owned(), m.to_owned())).to_vec()
        );
        assert!(manager_assignments(&users, 0).is_empty());
        assert!(manager_assignments(&users, 1).is_empty());
    }

    #[test]
    fn failed_users_are_skipped_as_managers_and_reports() {
        let mut users = created(&["a", "b", "c", "d"]);
        users[0] = Ensured::Failed;
        users[3] = Ensured::Failed;
        assert!(manager_assignments(&users, 2).is_empty());
    }

    #[test]
    fn group_members_wrap_without_duplicates() {
        let ids: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        assert_eq!(group_members(&ids, 0, 2), ["0", "1"]);
        assert_eq!(group_members(&ids, 2, 2), ["4", "0"]);
        assert_eq!(group_members(&ids, 1, 10), ["0", "1", "2", "3", "4"]);
        assert!(group_members(&[], 3, 10).is_empty());
    }
}
