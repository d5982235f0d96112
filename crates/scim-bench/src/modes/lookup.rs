//! Filtered GETs over existing users, rotating over the lookups IdPs send: by userName, by
//! externalId and by email. Each must find exactly one user.

use anyhow::bail;
use futures::StreamExt as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};

use super::{Ctx, Outcome};
use crate::cli::LookupArgs;
use crate::client::{ListQuery, Resource};
use crate::payload;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    UserName,
    ExternalId,
    Email,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::UserName, Kind::ExternalId, Kind::Email];

    pub fn op(self) -> &'static str {
        match self {
            Kind::UserName => "user.lookup.userName",
            Kind::ExternalId => "user.lookup.externalId",
            Kind::Email => "user.lookup.email",
        }
    }
}

/// The filter for looking `user` up by `kind`; a user without an externalId or email is
/// looked up by userName instead.
pub fn lookup_filter(kind: Kind, user: &Value) -> Option<(Kind, String)> {
    let by_user_name = || {
        user.get("userName")
            .and_then(Value::as_str)
            .map(|v| (Kind::UserName, payload::eq_filter("userName", v)))
    };
    let found = match kind {
        Kind::UserName => None,
        Kind::ExternalId => user
            .get("externalId")
            .and_then(Value::as_str)
            .map(|v| (Kind::ExternalId, payload::eq_filter("externalId", v))),
        Kind::Email => {
            first_email(user).map(|v| (Kind::Email, payload::eq_filter("emails.value", v)))
        }
    };
    found.or_else(by_user_name)
}

/// The primary email, else the first one.
fn first_email(user: &Value) -> Option<&str> {
    let emails = user.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())?
        .get("value")?
        .as_str()
}

pub async fn run(ctx: &Ctx, args: &LookupArgs) -> anyhow::Result<Outcome> {
    let users = ctx
        .discover_users(args.sample.max(1), args.page_size)
        .await?;
    if users.is_empty() {
        bail!("no users found to look up; run initial-sync first (and pass its --prefix)");
    }
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let lookups: Vec<(Kind, String)> = (0..args.requests)
        .filter_map(|i| {
            let user = &users[rng.random_range(0..users.len())];
            lookup_filter(Kind::ALL[i % Kind::ALL.len()], user)
        })
        .collect();

    let bar = ctx.bar(lookups.len(), "lookups");
    let mut misses = 0usize;
    let mut results = futures::stream::iter(lookups.iter())
        .map(|(kind, filter)| async move {
            let query = ListQuery {
                filter: Some(filter),
                ..ListQuery::default()
            };
            match ctx.scim.list(kind.op(), Resource::Users, &query).await {
                Ok(page) if page.total_results != 1 => {
                    ctx.scim.unexpected(
                        kind.op(),
                        &format!("{filter} matched {} users", page.total_results),
                    );
                    true
                }
                _ => false,
            }
        })
        .buffer_unordered(ctx.concurrency);
    while let Some(missed) = results.next().await {
        misses += usize::from(missed);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let mut notes = vec![format!(
        "{} lookups over {} discovered users",
        lookups.len(),
        users.len()
    )];
    if misses > 0 {
        notes.push(format!(
            "{misses} lookups did not find exactly one user (counted as errors)"
        ));
    }
    Ok(Outcome {
        params: json!({"requests": args.requests, "sample": args.sample}),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_per_kind() {
        let user = json!({
            "id": "1",
            "userName": "r1.u000001@d.example",
            "externalId": "r1-u-00000001",
            "emails": [{"value": "other@d.example"}, {"value": "work@d.example", "primary": true}],
        });
        assert_eq!(
            lookup_filter(Kind::UserName, &user),
            Some((
                Kind::UserName,
                r#"userName eq "r1.u000001@d.example""#.into()
            ))
        );
        assert_eq!(
            lookup_filter(Kind::ExternalId, &user),
            Some((Kind::ExternalId, r#"externalId eq "r1-u-00000001""#.into()))
        );
        assert_eq!(
            lookup_filter(Kind::Email, &user),
            Some((Kind::Email, r#"emails.value eq "work@d.example""#.into()))
        );
    }

    #[test]
    fn falls_back_to_user_name() {
        let user = json!({"id": "1", "userName": "x@y.z", "emails": []});
        assert_eq!(
            lookup_filter(Kind::ExternalId, &user).unwrap().0,
            Kind::UserName
        );
        assert_eq!(lookup_filter(Kind::Email, &user).unwrap().0, Kind::UserName);
        assert_eq!(lookup_filter(Kind::Email, &json!({"id": "1"})), None);
    }
}
