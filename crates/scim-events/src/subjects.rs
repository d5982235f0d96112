//! Subject and resource naming on the event stream.
//!
//! Layout: `<root>.<category>.<tenant>.<kind>.<id>`, one subject per aggregate
//! instance so that `Nats-Expected-Last-Subject-Sequence` is a per-aggregate
//! version check. The event type lives in a header and the payload, never in
//! the subject (that would split one aggregate into several versions).
//!
//! - `dir`: users and groups (`<root>.dir.<tenant>.user.<id>`)
//! - `lic`: license decisions (`<root>.lic.<tenant>.user.<id>`)
//! - `rej`: rejected requests (`<root>.rej.<tenant>.request.<request-id>`)
//! - `adm`: admin actions on a configuration (`<root>.adm.<tenant>.config.<config-id>`)

use thiserror::Error;

use crate::AggregateKind;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SubjectError {
    #[error("namespace must be 1-32 characters of [a-z0-9_], got {0:?}")]
    InvalidNamespace(String),
    #[error("subject token {0:?} is empty or contains '.', '*', '>' or whitespace")]
    InvalidToken(String),
}

/// Names the stream, subjects, KV bucket and consumers of one deployment.
/// Tests give each run its own namespace so they never share state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    name: String,
}

impl Namespace {
    pub fn new(name: impl Into<String>) -> Result<Self, SubjectError> {
        let name = name.into();
        let valid = !name.is_empty()
            && name.len() <= 32
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if valid {
            Ok(Self { name })
        } else {
            Err(SubjectError::InvalidNamespace(name))
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn stream_name(&self) -> String {
        format!("{}_EVENTS", self.name.to_ascii_uppercase())
    }

    pub fn username_bucket(&self) -> String {
        format!("{}_USERNAMES", self.name.to_ascii_uppercase())
    }

    /// All subjects of the stream.
    pub fn all_subjects(&self) -> String {
        format!("{}.>", self.name)
    }

    /// Users and groups of every tenant: what the directory and license service read.
    pub fn directory_subjects(&self) -> String {
        format!("{}.dir.>", self.name)
    }

    /// Admin actions on every tenant's SCIM configurations: what the gateways follow to
    /// forget the cached tokens of a configuration that changed (a token revoked, the
    /// configuration disabled).
    pub fn admin_subjects(&self) -> String {
        format!("{}.adm.>", self.name)
    }

    pub fn consumer_name(&self, service: &str) -> String {
        format!("{}_{service}", self.name)
    }

    /// The subject of one aggregate instance.
    pub fn aggregate_subject(
        &self,
        tenant_id: &str,
        kind: AggregateKind,
        id: &str,
    ) -> Result<String, SubjectError> {
        validate_token(tenant_id)?;
        validate_token(id)?;
        let category = match kind {
            AggregateKind::User | AggregateKind::Group => "dir",
            AggregateKind::License => "lic",
            AggregateKind::Request => "rej",
            AggregateKind::Config => "adm",
        };
        let kind_token = match kind {
            AggregateKind::License => "user",
            other => other.as_str(),
        };
        Ok(format!(
            "{}.{category}.{tenant_id}.{kind_token}.{id}",
            self.name
        ))
    }
}

fn validate_token(token: &str) -> Result<(), SubjectError> {
    let invalid = token.is_empty()
        || token
            .chars()
            .any(|c| c == '.' || c == '*' || c == '>' || c.is_whitespace());
    if invalid {
        Err(SubjectError::InvalidToken(token.to_owned()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_put_the_aggregate_id_last_and_the_type_nowhere() {
        let ns = Namespace::new("scim").unwrap();
        assert_eq!(
            ns.aggregate_subject("t1", AggregateKind::User, "u1")
                .unwrap(),
            "scim.dir.t1.user.u1"
        );
        assert_eq!(
            ns.aggregate_subject("t1", AggregateKind::Group, "g1")
                .unwrap(),
            "scim.dir.t1.group.g1"
        );
        assert_eq!(
            ns.aggregate_subject("t1", AggregateKind::License, "u1")
                .unwrap(),
            "scim.lic.t1.user.u1"
        );
        assert_eq!(ns.stream_name(), "SCIM_EVENTS");
    }

    #[test]
    fn tokens_that_would_change_the_subject_shape_are_refused() {
        let ns = Namespace::new("scim").unwrap();
        for bad in ["", "a.b", "*", ">", "a b"] {
            assert!(
                ns.aggregate_subject("t1", AggregateKind::User, bad)
                    .is_err(),
                "{bad:?}"
            );
        }
        assert!(Namespace::new("Has-Upper").is_err());
        assert!(Namespace::new("").is_err());
    }
}
