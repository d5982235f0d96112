//! Unauthenticated traffic is visible. Every failed authentication is counted by reason (a
//! bounded label set), logged with the token's display prefix (never the secret) at most once a
//! second per replica with a count of the lines held back, and, when the token is one the
//! directory issued (revoked, expired, or of a disabled configuration), recorded in that
//! tenant's provisioning log at most once per [`REPORT_INTERVAL`] per token: an IdP retrying
//! a revoked token every second must not be a way to fill the event store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use scim_rpc::directory::TokenRefusal;
use scim_rpc::directory::token_refusal::Reason;

use crate::directory::TenantContext;
pub use crate::tenant_limits::REPORT_INTERVAL;

/// At most one log line per this long.
const LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Tokens whose last recording is remembered; beyond this, entries older than
/// [`REPORT_INTERVAL`] are forgotten (they could be recorded again anyway).
const REMEMBERED_TOKENS: usize = 10_000;

/// Why a request was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization: Bearer` header, or not a bearer scheme.
    NoBearerToken,
    /// A bearer token that is not of our format.
    Malformed,
    Unknown,
    Revoked,
    Expired,
    ConfigurationDisabled,
}

impl AuthFailure {
    /// What the directory's refusal says.
    pub fn of_refusal(refusal: &TokenRefusal) -> Self {
        match refusal.reason() {
            Reason::Revoked => Self::Revoked,
            Reason::Expired => Self::Expired,
            Reason::ConfigurationDisabled => Self::ConfigurationDisabled,
            Reason::Unknown | Reason::Unspecified => Self::Unknown,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::NoBearerToken => "no_bearer_token",
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::ConfigurationDisabled => "configuration_disabled",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Default)]
struct LogGate {
    last: Option<Instant>,
    held_back: u64,
}

pub struct AuthFailures {
    counts: Family<ReasonLabel, Counter>,
    log_gate: Mutex<LogGate>,
    recorded: Mutex<HashMap<String, Instant>>,
}

impl AuthFailures {
    pub fn new(registry: &mut Registry) -> Self {
        let counts = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "auth_failures",
            "Requests refused authentication, by reason",
            counts.clone(),
        );
        Self {
            counts,
            log_gate: Mutex::new(LogGate::default()),
            recorded: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one failure and logs it unless a line was written less than a second ago.
    /// `prefix` is the token's display prefix, when there is a well-formed token.
    pub fn observe(&self, failure: AuthFailure, prefix: Option<&str>, request_id: &str) {
        self.counts
            .get_or_create(&ReasonLabel {
                reason: failure.label(),
            })
            .inc();
        if let Some(held_back) = self.may_log(Instant::now()) {
            tracing::warn!(
                reason = failure.label(),
                token_prefix = prefix.unwrap_or("-"),
                request_id,
                held_back,
                "authentication failed (held_back: failures not logged since the last line)"
            );
        }
    }

    /// `Some(lines held back since the last one)` when a line may be written at `now`.
    fn may_log(&self, now: Instant) -> Option<u64> {
        let mut gate = self.log_gate.lock().unwrap_or_else(|p| p.into_inner());
        if gate
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < LOG_INTERVAL)
        {
            gate.held_back += 1;
            return None;
        }
        gate.last = Some(now);
        Some(std::mem::take(&mut gate.held_back))
    }

    /// The tenant whose provisioning log should show this refusal now: the token's, when the
    /// directory issued it and it was not recorded in the last [`REPORT_INTERVAL`].
    pub fn to_record(&self, refusal: &TokenRefusal) -> Option<TenantContext> {
        if refusal.tenant_id.is_empty() || refusal.token_id.is_empty() {
            return None;
        }
        self.first_in_interval(&refusal.token_id, Instant::now())
            .then(|| TenantContext {
                tenant_id: refusal.tenant_id.clone(),
                config_id: refusal.config_id.clone(),
                token_id: refusal.token_id.clone(),
            })
    }

    fn first_in_interval(&self, token_id: &str, now: Instant) -> bool {
        let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        if recorded
            .get(token_id)
            .is_some_and(|at| now.saturating_duration_since(*at) < REPORT_INTERVAL)
        {
            return false;
        }
        if recorded.len() >= REMEMBERED_TOKENS {
            recorded.retain(|_, at| now.saturating_duration_since(*at) < REPORT_INTERVAL);
        }
        recorded.insert(token_id.to_owned(), now);
        true
    }
}

/// What the tenant's admin reads in the provisioning log about a refused token.
pub fn recorded_detail(refusal: &TokenRefusal) -> String {
    let why = match AuthFailure::of_refusal(refusal) {
        AuthFailure::Revoked => "it is revoked",
        AuthFailure::Expired => "it has expired",
        AuthFailure::ConfigurationDisabled => "its SCIM configuration is disabled",
        AuthFailure::NoBearerToken | AuthFailure::Malformed | AuthFailure::Unknown => "unknown",
    };
    format!(
        "access token {} was refused: {why}; the identity provider needs a valid token",
        refusal.prefix
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures() -> AuthFailures {
        AuthFailures::new(&mut Registry::default())
    }

    fn refusal(token_id: &str, reason: Reason) -> TokenRefusal {
        TokenRefusal {
            tenant_id: if token_id.is_empty() { "" } else { "t1" }.into(),
            config_id: if token_id.is_empty() { "" } else { "c1" }.into(),
            token_id: token_id.into(),
            prefix: "scimtok_AbCd".into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn a_log_line_a_second_with_the_count_of_those_held_back() {
        let failures = failures();
        let start = Instant::now();
        assert_eq!(failures.may_log(start), Some(0));
        for n in 1..=5 {
            assert_eq!(
                failures.may_log(start + Duration::from_millis(n * 100)),
                None
            );
        }
        assert_eq!(failures.may_log(start + LOG_INTERVAL), Some(5));
        assert_eq!(failures.may_log(start + LOG_INTERVAL), None);
    }

    #[test]
    fn a_refused_token_is_recorded_once_per_interval_and_an_unknown_one_never() {
        let failures = failures();
        let start = Instant::now();
        assert!(failures.first_in_interval("k1", start));
        assert!(!failures.first_in_interval("k1", start + Duration::from_secs(1)));
        assert!(failures.first_in_interval("k2", start + Duration::from_secs(1)));
        assert!(failures.first_in_interval("k1", start + REPORT_INTERVAL));

        let revoked = refusal("k3", Reason::Revoked);
        let tenant = failures.to_record(&revoked);
        assert_eq!(tenant.map(|t| t.tenant_id), Some("t1".to_owned()));
        assert!(failures.to_record(&revoked).is_none(), "not twice in a row");
        assert!(failures.to_record(&refusal("", Reason::Unknown)).is_none());
    }

    #[test]
    fn the_remembered_tokens_stay_bounded() {
        let failures = failures();
        let start = Instant::now();
        for n in 0..REMEMBERED_TOKENS {
            failures.first_in_interval(&format!("k{n}"), start);
        }
        let later = start + REPORT_INTERVAL;
        assert!(failures.first_in_interval("fresh", later));
        let remembered = failures.recorded.lock().map(|r| r.len()).unwrap_or(0);
        assert_eq!(
            remembered, 1,
            "expired entries are dropped when the map is full"
        );
    }

    #[test]
    fn reasons_and_details() {
        assert_eq!(
            AuthFailure::of_refusal(&refusal("k", Reason::Expired)),
            AuthFailure::Expired
        );
        assert_eq!(
            AuthFailure::of_refusal(&refusal("k", Reason::ConfigurationDisabled)),
            AuthFailure::ConfigurationDisabled
        );
        let detail = recorded_detail(&refusal("k", Reason::Revoked));
        assert!(
            detail.contains("scimtok_AbCd") && detail.contains("revoked"),
            "{detail}"
        );
    }
}
