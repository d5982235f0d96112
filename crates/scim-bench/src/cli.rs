//! Command line: one subcommand per mode, each with the common connection options.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "scim-bench",
    version,
    about = "Drives a SCIM 2.0 endpoint the way an IdP does and reports latency percentiles",
    long_about = "Drives a SCIM 2.0 endpoint the way an IdP (Entra ID, Okta) does and reports, \
                  per request type, count, errors, throughput and p50/p95/p99/max latency.\n\n\
                  Every mode takes --base-url and --token (or SCIM_BASE_URL / SCIM_TOKEN, as \
                  written to .local/stack.env by `cargo xtask up`). Resources are named after a \
                  run prefix (random, or --prefix) so runs do not collide; pass the prefix an \
                  initial-sync printed to incremental and lookup to work on its users.",
    after_help = "Exit status: 0 when every request succeeded, 1 when some failed (the report is \
                  still printed and written), 2 when the run could not start or finish."
)]
pub struct Cli {
    #[command(subcommand)]
    pub mode: Mode,
}

#[derive(Debug, Subcommand)]
pub enum Mode {
    /// First provisioning cycle: match + create every user (enterprise extension, work
    /// email), set managers by PATCH, then create groups and fill them in batches.
    InitialSync(InitialSyncArgs),
    /// Incremental cycle over existing users: attribute updates, deactivations and
    /// membership changes.
    Incremental(IncrementalArgs),
    /// Filtered GETs by userName, externalId and emails.value over existing users.
    Lookup(LookupArgs),
    /// Builds groups of growing size and times single-member add and remove PATCHes on each,
    /// to show whether their cost grows with the group.
    BigGroup(BigGroupArgs),
}

impl Mode {
    pub fn name(&self) -> &'static str {
        match self {
            Mode::InitialSync(_) => "initial-sync",
            Mode::Incremental(_) => "incremental",
            Mode::Lookup(_) => "lookup",
            Mode::BigGroup(_) => "big-group",
        }
    }

    pub fn common(&self) -> &Common {
        match self {
            Mode::InitialSync(a) => &a.common,
            Mode::Incremental(a) => &a.common,
            Mode::Lookup(a) => &a.common,
            Mode::BigGroup(a) => &a.common,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct Common {
    /// SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2
    #[arg(long, env = "SCIM_BASE_URL")]
    pub base_url: String,
    /// Bearer token of the SCIM configuration.
    #[arg(long, env = "SCIM_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Run prefix for the names of created resources (and the set incremental/lookup work
    /// on). Random when omitted for initial-sync and big-group.
    #[arg(long, value_parser = parse_prefix)]
    pub prefix: Option<String>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Timeout of a single request, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
    /// How many error responses to print in full at the end.
    #[arg(long, default_value_t = 5)]
    pub show_errors: usize,
    /// Mail domain of created users.
    #[arg(long, default_value = "bench.example.com")]
    pub domain: String,
    /// No progress bar and no status lines on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Also measure the CPU seconds of the platform's processes on this machine (PostgreSQL,
    /// NATS, the services, and this load generator) from /proc during the run, and report
    /// the platform's CPU per request (and per user for initial-sync).
    #[arg(long)]
    pub cpu: bool,
}

impl Common {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }
}

#[derive(Debug, Clone, Args)]
pub struct InitialSyncArgs {
    #[command(flatten)]
    pub common: Common,
    /// Users to provision.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Groups to create.
    #[arg(long, default_value_t = 10)]
    pub groups: usize,
    /// Members per group (taken from the users round-robin, so groups overlap when
    /// groups × group-size > users).
    #[arg(long, default_value_t = 100)]
    pub group_size: usize,
    /// Every N-th user is a manager of the N-1 users after it (0: no managers).
    #[arg(long, default_value_t = 10)]
    pub manager_every: usize,
    /// Members per group PATCH (IdPs send up to 100 per request).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub member_batch: u32,
    /// Member PATCHes in flight per group (1 = one after the other, as IdPs do).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub per_group_concurrency: u32,
}

#[derive(Debug, Clone, Args)]
pub struct IncrementalArgs {
    #[command(flatten)]
    pub common: Common,
    /// Changes to send (one per user; users are reused when fewer exist).
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Percentage of changes that deactivate the user (replace active false).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub deactivate_pct: u8,
    /// Percentage of changes that move the user between two groups (an add to one group,
    /// a remove from another). The rest replace title and displayName.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub membership_pct: u8,
    /// Page size of the discovery listing.
    #[arg(long, default_value_t = 200)]
    pub page_size: usize,
}

#[derive(Debug, Clone, Args)]
pub struct LookupArgs {
    #[command(flatten)]
    pub common: Common,
    /// Lookups to send (rotating over userName, externalId and emails.value).
    #[arg(long, default_value_t = 1000)]
    pub requests: usize,
    /// Users to discover and pick lookup targets from.
    #[arg(long, default_value_t = 1000)]
    pub sample: usize,
    /// Page size of the discovery listing.
    #[arg(long, default_value_t = 200)]
    pub page_size: usize,
}

#[derive(Debug, Clone, Args)]
pub struct BigGroupArgs {
    #[command(flatten)]
    pub common: Common,
    /// Group sizes to build and measure.
    #[arg(long, value_delimiter = ',', default_value = "10,1000,100000")]
    pub sizes: Vec<usize>,
    /// Timed add + remove pairs per size (sent one at a time).
    #[arg(long, default_value_t = 20)]
    pub samples: usize,
    /// Members per PATCH while building a group.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub member_batch: u32,
    /// Member PATCHes in flight while building a group.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub per_group_concurrency: u32,
}

/// A prefix ends up in userNames, filters and displayNames: keep it to safe characters.
fn parse_prefix(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 40
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("use 1-40 characters out of a-z, A-Z, 0-9, '-' and '_'".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_a_mode_with_common_options_after_it() {
        let cli = Cli::try_parse_from([
            "scim-bench",
            "big-group",
            "--base-url",
            "http://127.0.0.1:8080/scim/v2",
            "--token",
            "t",
            "--sizes",
            "10,1000",
            "--concurrency",
            "8",
        ])
        .unwrap();
        let Mode::BigGroup(args) = &cli.mode else {
            panic!("wrong mode")
        };
        assert_eq!(args.sizes, vec![10, 1000]);
        assert_eq!(cli.mode.common().concurrency, 8);
        assert_eq!(cli.mode.name(), "big-group");
    }

    #[test]
    fn prefixes_are_restricted() {
        assert!(parse_prefix("run-1_a").is_ok());
        assert!(parse_prefix("").is_err());
        assert!(parse_prefix("a\"b").is_err());
        assert!(parse_prefix("a b").is_err());
    }
}
