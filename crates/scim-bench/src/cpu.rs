//! CPU time of the platform's processes on this machine during a run, from `/proc`: what a
//! provisioned user costs in each process, beside how fast it went.

use std::collections::BTreeMap;

use serde::Serialize;

/// Linux reports `utime`/`stime` in clock ticks of `USER_HZ`, which the kernel's ABI fixes at
/// 100 on every mainstream architecture (it is not the kernel's internal `HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

/// The load generator's group: measured, but not part of what the platform spent.
const LOAD: &str = "scim-bench (load)";

/// The process groups measured, by the name the kernel keeps for them (`comm`, at most 15
/// bytes, so `directory-service` is `directory-servi`).
const GROUPS: [(&str, &str); 8] = [
    ("postgres", "postgres"),
    ("nats-server", "nats-server"),
    ("scim-gateway", "scim-gateway"),
    ("directory-servi", "directory-service"),
    ("license-service", "license-service"),
    ("audit-service", "audit-service"),
    ("account-center", "account-center"),
    ("scim-bench", LOAD),
];

/// CPU seconds so far of every live process of each group.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    per_process: BTreeMap<(String, u32), f64>,
}

impl Snapshot {
    pub fn take() -> std::io::Result<Self> {
        let mut per_process = BTreeMap::new();
        for entry in std::fs::read_dir("/proc")? {
            let Ok(entry) = entry else { continue };
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            // A process may exit between listing and reading: skip it.
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            if let Some((group, seconds)) = parse_stat(&stat) {
                per_process.insert((group.to_owned(), pid), seconds);
            }
        }
        Ok(Self { per_process })
    }

    /// CPU seconds each group used between `self` and `later`. A process that started in
    /// between counts from zero; one that exited in between is missed (its time is gone from
    /// `/proc`), which the services' and Postgres' long-lived processes make rare.
    pub fn usage_until(&self, later: &Snapshot) -> CpuUsage {
        let mut seconds: BTreeMap<String, f64> = BTreeMap::new();
        for ((group, pid), after) in &later.per_process {
            let before = self
                .per_process
                .get(&(group.clone(), *pid))
                .copied()
                .unwrap_or(0.0);
            *seconds.entry(group.clone()).or_default() += (after - before).max(0.0);
        }
        CpuUsage { seconds }
    }
}

/// The group and CPU seconds (user + system) of one `/proc/<pid>/stat` line.
fn parse_stat(stat: &str) -> Option<(&'static str, f64)> {
    // The name is in parentheses and may itself contain spaces or parentheses.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let group = GROUPS
        .iter()
        .find(|(name, _)| *name == comm)
        .map(|(_, group)| *group)?;
    // After the name: state (field 3) … utime (14), stime (15).
    let mut fields = stat.get(close + 1..)?.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((group, (user + system) / TICKS_PER_SECOND))
}

/// CPU seconds per process group over a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuUsage {
    pub seconds: BTreeMap<String, f64>,
}

impl CpuUsage {
    /// Everything but the load generator: what the platform spent.
    pub fn platform_seconds(&self) -> f64 {
        self.seconds
            .iter()
            .filter(|(group, _)| group.as_str() != LOAD)
            .map(|(_, seconds)| seconds)
            .sum()
    }

    /// A table of CPU seconds and share per group, and the platform's CPU per `unit`
    /// (`count` of them, e.g. provisioned users) in milliseconds.
    pub fn render(&self, unit: &str, count: u64) -> String {
        use std::fmt::Write as _;
        let total: f64 = self.seconds.values().sum();
        let mut rows: Vec<(&String, &f64)> = self.seconds.iter().collect();
        rows.sort_by(|a, b| b.1.total_cmp(a.1));
        let mut out = format!("{:<20} {:>9} {:>7}\n", "process", "CPU s", "share");
        for (group, seconds) in rows {
            let share = if total > 0.0 {
                100.0 * seconds / total
            } else {
                0.0
            };
            let _ = writeln!(out, "{group:<20} {seconds:>9.1} {share:>6.0}%");
        }
        let platform = self.platform_seconds();
        let _ = write!(out, "platform (without the load): {platform:.1} CPU s");
        if count > 0 {
            let _ = write!(
                out,
                ", {:.3} ms per {unit}",
                1000.0 * platform / count as f64
            );
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_its_group_and_user_plus_system_seconds() {
        let line = "4242 (directory-servi) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 130 0 0 \
                    20 0 9 0 100 1000000 500 18446744073709551615";
        assert_eq!(parse_stat(line), Some(("directory-service", 3.8)));
        let odd_name = "7 (a (b) c) S 1 7 7 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1 1";
        assert_eq!(parse_stat(odd_name), None);
        let postgres = "99 (postgres) S 1 99 99 0 -1 0 0 0 0 0 100 0 0 0 20 0 1 0 1 1 1 1";
        assert_eq!(parse_stat(postgres), Some(("postgres", 1.0)));
    }

    #[test]
    fn usage_counts_what_each_process_added_and_new_processes_from_zero() {
        let snapshot = |entries: &[(&str, u32, f64)]| Snapshot {
            per_process: entries
                .iter()
                .map(|(group, pid, seconds)| (((*group).to_owned(), *pid), *seconds))
                .collect(),
        };
        let before = snapshot(&[("postgres", 1, 10.0), ("postgres", 2, 5.0)]);
        let after = snapshot(&[
            ("postgres", 1, 12.5),
            ("postgres", 3, 1.0),
            ("scim-bench (load)", 9, 4.0),
        ]);
        let usage = before.usage_until(&after);
        assert_eq!(usage.seconds["postgres"], 3.5);
        assert_eq!(usage.platform_seconds(), 3.5);
        let table = usage.render("user", 1000);
        assert!(table.contains("3.500 ms per user"), "{table}");
    }

    #[test]
    fn this_process_is_found_in_proc() {
        // The test binary is not one of the groups, so nothing of it is counted; the
        // snapshot itself must work on this machine.
        let snapshot = Snapshot::take().unwrap();
        assert!(
            snapshot
                .per_process
                .keys()
                .all(|(group, _)| GROUPS.iter().any(|(_, known)| known == group))
        );
    }
}
