//! The benchmark modes and the steps they share (creating users, building groups,
//! discovering what a previous run created).

pub mod big_group;
pub mod incremental;
pub mod initial_sync;
pub mod lookup;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::anyhow;
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng as _;
use serde_json::Value;

use crate::cli::{Common, Mode};
use crate::client::{ListQuery, Resource, Scim, resource_id};
use crate::payload::{self, UserSpec};
use crate::stats::{Recorder, Report};

/// Operation names shared by several modes.
pub const USER_LOOKUP: &str = "user.lookup";
pub const USER_CREATE: &str = "user.create";
pub const USER_LIST: &str = "user.list";
pub const GROUP_LOOKUP: &str = "group.lookup";
pub const GROUP_CREATE: &str = "group.create";
pub const GROUP_LIST: &str = "group.list";
pub const GROUP_PATCH: &str = "group.patch";

/// What a run shares: the client, the run prefix and the options every mode has.
pub struct Ctx {
    pub scim: Scim,
    /// The run prefix; `None` only for modes that work on whatever exists.
    pub prefix: Option<String>,
    pub concurrency: usize,
    pub domain: String,
    quiet: bool,
}

/// What a mode reports besides the recorded requests.
#[derive(Debug, Default)]
pub struct Outcome {
    pub params: Value,
    pub notes: Vec<String>,
}

/// Runs `mode` and gathers its report.
pub async fn execute(mode: &Mode) -> anyhow::Result<Report> {
    let common = mode.common();
    let creates = matches!(mode, Mode::InitialSync(_) | Mode::BigGroup(_));
    let prefix = match &common.prefix {
        Some(p) => Some(p.clone()),
        None if creates => Some(random_prefix()),
        None => None,
    };
    let ctx = Ctx::new(common, prefix)?;
    ctx.scim.preflight().await?;
    if let Some(p) = &ctx.prefix {
        ctx.say(&format!("{}: run prefix {p}", mode.name()));
    }

    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let started = Instant::now();
    let outcome = match mode {
        Mode::InitialSync(args) => initial_sync::run(&ctx, args).await?,
        Mode::Incremental(args) => incremental::run(&ctx, args).await?,
        Mode::Lookup(args) => lookup::run(&ctx, args).await?,
        Mode::BigGroup(args) => big_group::run(&ctx, args).await?,
    };
    let elapsed_s = started.elapsed().as_secs_f64();

    let recorder = ctx.scim.recorder();
    let operations = recorder.rows();
    Ok(Report {
        mode: mode.name().to_owned(),
        base_url: common.base_url.clone(),
        prefix: ctx.prefix.clone().unwrap_or_else(|| "(none)".into()),
        concurrency: common.concurrency,
        started_unix_ms,
        elapsed_s,
        params: outcome.params,
        total_requests: operations.iter().map(|o| o.count).sum(),
        total_errors: recorder.total_errors(),
        error_samples: recorder.error_samples(),
        operations,
        notes: outcome.notes,
        cpu: None,
    })
}

/// `b` and six random base-36 characters.
fn random_prefix() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..6)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect();
    format!("b{tail}")
}

/// How an ensured resource came to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    Created(String),
    Existing(String),
    Failed,
}

impl Ensured {
    pub fn id(&self) -> Option<&str> {
        match self {
            Ensured::Created(id) | Ensured::Existing(id) => Some(id),
            Ensured::Failed => None,
        }
    }
}

/// Counts of an [`ensure_users`] / group step, for the notes.
pub fn tally(items: &[Ensured]) -> (usize, usize, usize) {
    items.iter().fold((0, 0, 0), |(c, e, f), item| match item {
        Ensured::Created(_) => (c + 1, e, f),
        Ensured::Existing(_) => (c, e + 1, f),
        Ensured::Failed => (c, e, f + 1),
    })
}

impl Ctx {
    fn new(common: &Common, prefix: Option<String>) -> anyhow::Result<Self> {
        let concurrency = usize::try_from(common.concurrency).unwrap_or(64).max(1);
        let recorder = Arc::new(Recorder::new(common.show_errors));
        let scim = Scim::new(
            &common.base_url,
            &common.token,
            concurrency,
            common.timeout(),
            recorder,
        )?;
        Ok(Self {
            scim,
            prefix,
            concurrency,
            domain: common.domain.clone(),
            quiet: common.quiet,
        })
    }

    /// The run prefix, for modes that create resources.
    pub fn run_prefix(&self) -> anyhow::Result<&str> {
        self.prefix
            .as_deref()
            .ok_or_else(|| anyhow!("this mode needs a run prefix"))
    }

    /// A progress bar on stderr (hidden with --quiet or when stderr is not a terminal).
    pub fn bar(&self, len: usize, message: &'static str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len as u64);
        let style = ProgressStyle::with_template(
            "{msg:>14} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(message);
        bar
    }

    /// A status line on stderr, unless --quiet.
    pub fn say(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// Creates the users of `specs` (in order), `concurrency` at a time. With `match_first`
    /// each create is preceded by a `userName eq` lookup, as IdPs do; without, a 409 is
    /// answered by a lookup. Either way a re-run with the same prefix reuses the users.
    pub async fn ensure_users(
        &self,
        specs: &[UserSpec],
        match_first: bool,
        message: &'static str,
    ) -> Vec<Ensured> {
        let bar = self.bar(specs.len(), message);
        let mut out = vec![Ensured::Failed; specs.len()];
        let mut results = futures::stream::iter(specs.iter().enumerate())
            .map(|(i, spec)| async move { (i, self.ensure_user(spec, match_first).await) })
            .buffer_unordered(self.concurrency);
        while let Some((i, ensured)) = results.next().await {
            out[i] = ensured;
            bar.inc(1);
        }
        bar.finish_and_clear();
        out
    }

    async fn ensure_user(&self, spec: &UserSpec, match_first: bool) -> Ensured {
        let filter = payload::eq_filter("userName", &spec.user_name);
        if match_first {
            match self
                .scim
                .find_one(USER_LOOKUP, Resource::Users, &filter, None)
                .await
            {
                Ok(Some(user)) => return existing(resource_id(&user)),
                Ok(None) => {}
                Err(_) => return Ensured::Failed,
            }
        }
        match self
            .scim
            .create(USER_CREATE, Resource::Users, &spec.create_body())
            .await
        {
            Ok(Some(id)) => Ensured::Created(id),
            Ok(None) => match self
                .scim
                .find_one(USER_LOOKUP, Resource::Users, &filter, None)
                .await
            {
                Ok(Some(user)) => existing(resource_id(&user)),
                Ok(None) => {
                    self.scim.unexpected(
                        USER_LOOKUP,
                        &format!("409 on create but no user matches {filter}"),
                    );
                    Ensured::Failed
                }
                Err(_) => Ensured::Failed,
            },
            Err(_) => Ensured::Failed,
        }
    }

    /// Finds the group named `display_name` (members excluded, as Entra asks) or creates it
    /// empty.
    pub async fn ensure_group(&self, display_name: &str, external_id: &str) -> Ensured {
        let filter = payload::eq_filter("displayName", display_name);
        match self
            .scim
            .find_one(GROUP_LOOKUP, Resource::Groups, &filter, Some("members"))
            .await
        {
            Ok(Some(group)) => return existing(resource_id(&group)),
            Ok(None) => {}
            Err(_) => return Ensured::Failed,
        }
        let body = payload::group_create_body(display_name, external_id);
        match self
            .scim
            .create(GROUP_CREATE, Resource::Groups, &body)
            .await
        {
            Ok(Some(id)) => Ensured::Created(id),
            Ok(None) => match self
                .scim
                .find_one(GROUP_LOOKUP, Resource::Groups, &filter, Some("members"))
                .await
            {
                Ok(Some(group)) => existing(resource_id(&group)),
                _ => Ensured::Failed,
            },
            Err(_) => Ensured::Failed,
        }
    }

    /// Adds `members` to the group in PATCHes of `batch` members, `parallel` in flight;
    /// returns how many PATCHes failed.
    pub async fn fill_group(
        &self,
        group_id: &str,
        members: &[String],
        batch: usize,
        parallel: usize,
        bar: &ProgressBar,
    ) -> usize {
        let bodies: Vec<Value> = payload::batches(members, batch)
            .iter()
            .map(|ids| payload::add_members(ids))
            .collect();
        let mut results = futures::stream::iter(bodies.iter())
            .map(|body| {
                self.scim
                    .patch(GROUP_PATCH, Resource::Groups, group_id, body)
            })
            .buffer_unordered(parallel.max(1));
        let mut failed = 0;
        while let Some(result) = results.next().await {
            if result.is_err() {
                failed += 1;
            }
            bar.inc(1);
        }
        failed
    }

    /// Pages through `GET /<resource>` with the filter and attribute selection of `query`
    /// until `limit` resources are found or the listing ends.
    pub async fn discover(
        &self,
        op: &str,
        resource: Resource,
        query: ListQuery<'_>,
        limit: usize,
        page_size: usize,
    ) -> anyhow::Result<Vec<Value>> {
        let mut found = Vec::new();
        let mut start_index = 1;
        while found.len() < limit {
            let page_query = ListQuery {
                start_index: Some(start_index),
                count: Some(page_size.clamp(1, limit - found.len())),
                ..query.clone()
            };
            let page = self
                .scim
                .list(op, resource, &page_query)
                .await
                .map_err(|f| anyhow!("listing {resource:?} failed (status {:?})", f.status))?;
            let got = page.resources.len();
            found.extend(page.resources);
            start_index += got;
            if got == 0 || start_index as u64 > page.total_results {
                break;
            }
        }
        Ok(found)
    }

    /// Users of the run prefix, or of the whole tenant without one.
    pub async fn discover_users(
        &self,
        limit: usize,
        page_size: usize,
    ) -> anyhow::Result<Vec<Value>> {
        let filter = self
            .prefix
            .as_ref()
            .map(|p| payload::sw_filter("userName", &format!("{p}.")));
        let query = ListQuery {
            filter: filter.as_deref(),
            attributes: Some("userName,externalId,emails,active"),
            ..ListQuery::default()
        };
        self.discover(USER_LIST, Resource::Users, query, limit, page_size)
            .await
    }

    /// Groups of the run prefix, or of the whole tenant without one; members excluded.
    pub async fn discover_groups(
        &self,
        limit: usize,
        page_size: usize,
    ) -> anyhow::Result<Vec<Value>> {
        let filter = self
            .prefix
            .as_ref()
            .map(|p| payload::sw_filter("displayName", &format!("{p}-")));
        let query = ListQuery {
            filter: filter.as_deref(),
            excluded_attributes: Some("members"),
            ..ListQuery::default()
        };
        self.discover(GROUP_LIST, Resource::Groups, query, limit, page_size)
            .await
    }
}

fn existing(id: Option<String>) -> Ensured {
    id.map_or(Ensured::Failed, Ensured::Existing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_prefixes_are_valid_and_differ() {
        let a = random_prefix();
        assert_eq!(a.len(), 7);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_prefix());
    }

    #[test]
    fn tally_counts_each_kind() {
        let items = [
            Ensured::Created("a".into()),
            Ensured::Existing("b".into()),
            Ensured::Failed,
            Ensured::Created("c".into()),
        ];
        assert_eq!(tally(&items), (2, 1, 1));
        assert_eq!(items[1].id(), Some("b"));
        assert_eq!(items[2].id(), None);
    }
}
