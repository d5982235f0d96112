//! Does the cost of a single-member PATCH grow with the group? For each size: build a group
//! of that many members, then time one-member adds and removes, one at a time.

use std::time::Instant;

use anyhow::bail;
use serde_json::json;

use super::{Ctx, Outcome, tally};
use crate::cli::BigGroupArgs;
use crate::client::Resource;
use crate::payload::{self, UserSpec};
use crate::stats::OpRow;

pub fn add_op(size: usize) -> String {
    format!("group.member_add[size={size}]")
}

pub fn remove_op(size: usize) -> String {
    format!("group.member_remove[size={size}]")
}

pub async fn run(ctx: &Ctx, args: &BigGroupArgs) -> anyhow::Result<Outcome> {
    let prefix = ctx.run_prefix()?;
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let Some(&largest) = sizes.last() else {
        bail!("--sizes is empty");
    };
    let samples = args.samples.max(1);
    let batch = usize::try_from(args.member_batch).unwrap_or(100);
    let parallel = usize::try_from(args.per_group_concurrency).unwrap_or(1);
    let mut notes = Vec::new();

    // Members 0..largest are shared by all groups; `samples` more users are the probes that
    // get added and removed.
    let t = Instant::now();
    let specs: Vec<UserSpec> = (0..largest + samples)
        .map(|i| UserSpec::new(prefix, "bg", i, &ctx.domain))
        .collect();
    let users = ctx.ensure_users(&specs, false, "users").await;
    let (created, existing, failed) = tally(&users);
    notes.push(format!(
        "users: {created} created, {existing} already there, {failed} failed ({:.1} s)",
        t.elapsed().as_secs_f64()
    ));
    let (member_users, probe_users) = users.split_at(largest);
    let members: Vec<String> = member_users
        .iter()
        .filter_map(|u| u.id().map(str::to_owned))
        .collect();
    let probes: Vec<String> = probe_users
        .iter()
        .filter_map(|u| u.id().map(str::to_owned))
        .collect();
    if probes.is_empty() {
        bail!("none of the probe users could be created");
    }

    for &size in &sizes {
        let t = Instant::now();
        let name = payload::group_name(prefix, "big", size);
        let group = ctx.ensure_group(&name, &format!("{name}-ext")).await;
        let Some(group_id) = group.id() else {
            notes.push(format!("size {size}: the group could not be created"));
            continue;
        };
        let fill = &members[..size.min(members.len())];
        let bar = ctx.bar(fill.len().div_ceil(batch.max(1)), "building");
        let failed = ctx.fill_group(group_id, fill, batch, parallel, &bar).await;
        bar.finish_and_clear();
        notes.push(format!(
            "size {size}: group built with {} members in {:.1} s ({failed} member PATCHes failed)",
            fill.len(),
            t.elapsed().as_secs_f64()
        ));

        let (add, remove) = (add_op(size), remove_op(size));
        let bar = ctx.bar(samples, "add/remove");
        for i in 0..samples {
            let probe = &probes[i % probes.len()];
            let added = ctx
                .scim
                .patch(
                    &add,
                    Resource::Groups,
                    group_id,
                    &payload::add_members(std::slice::from_ref(probe)),
                )
                .await;
            if added.is_ok() {
                let _ = ctx
                    .scim
                    .patch(
                        &remove,
                        Resource::Groups,
                        group_id,
                        &payload::remove_member(probe),
                    )
                    .await;
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
    }

    notes.extend(growth_summary(&ctx.scim.recorder().rows(), &sizes));
    Ok(Outcome {
        params: json!({
            "sizes": sizes,
            "samples": samples,
            "member_batch": batch,
            "per_group_concurrency": parallel,
        }),
        notes,
    })
}

/// One line per size: p50 / p95 of the timed add and remove.
pub fn growth_summary(rows: &[OpRow], sizes: &[usize]) -> Vec<String> {
    let find = |name: String| rows.iter().find(|r| r.operation == name);
    sizes
        .iter()
        .filter_map(|&size| {
            let add = find(add_op(size))?;
            let line = match find(remove_op(size)) {
                Some(remove) => format!(
                    "size {size:>7}: add p50 {:.2} ms p95 {:.2} ms | remove p50 {:.2} ms p95 {:.2} ms",
                    add.p50_ms, add.p95_ms, remove.p50_ms, remove.p95_ms
                ),
                None => format!(
                    "size {size:>7}: add p50 {:.2} ms p95 {:.2} ms | no remove succeeded",
                    add.p50_ms, add.p95_ms
                ),
            };
            Some(line)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(operation: String, p50_ms: f64) -> OpRow {
        OpRow {
            operation,
            count: 1,
            errors: 0,
            throughput_rps: 1.0,
            mean_ms: p50_ms,
            p50_ms,
            p95_ms: p50_ms * 2.0,
            p99_ms: p50_ms * 2.0,
            max_ms: p50_ms * 2.0,
        }
    }

    #[test]
    fn summary_lists_each_measured_size() {
        let rows = vec![
            row(add_op(10), 1.0),
            row(remove_op(10), 2.0),
            row(add_op(1000), 3.0),
        ];
        let lines = growth_summary(&rows, &[10, 1000, 100_000]);
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            "size      10: add p50 1.00 ms p95 2.00 ms | remove p50 2.00 ms p95 4.00 ms"
        );
        assert!(lines[1].ends_with("no remove succeeded"));
    }
}
