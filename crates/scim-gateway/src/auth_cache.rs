//! Remembers which bearer tokens the directory accepted, so a request does not
//! cost a directory round trip (and a database read) just to authenticate.
//!
//! Entries are keyed by the token's SHA-256, never the secret itself. An entry
//! lives until the first of: the configured TTL, the token's own expiry, or an
//! admin action on its SCIM configuration (a token revoked or rotated, the
//! configuration disabled or deleted), which every gateway reads from the event
//! stream (`revocations.rs`) and which evicts the configuration's entries. Only
//! successful authentications are cached: an unknown token is asked about every
//! time, so a token issued a moment ago works immediately.
//!
//! An acceptance the directory gave before an eviction but that arrives after it
//! is not cached: otherwise a request racing a revocation would put the revoked
//! token back for a whole TTL.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use scim_rpc::directory::TokenRefusal;
use scim_rpc::directory::token_refusal::Reason as RefusalReason;

use crate::directory::TenantContext;

/// How long a token refused for good (unknown, revoked, expired) is answered 401 without
/// asking the directory again: an IdP (or anyone) retrying such a token in a loop then costs
/// the directory's small authentication pool one query per token and replica every
/// half-minute, not one per request. A token of a disabled configuration is not remembered:
/// enabling the configuration must let it in again at once.
pub const REFUSAL_TTL: Duration = Duration::from_secs(30);

/// Bounds memory when many distinct tokens are seen; far above what any
/// deployment uses (a few tokens per SCIM configuration).
const MAX_ENTRIES: usize = 10_000;

type TokenHash = [u8; 32];

#[derive(Debug, Clone)]
struct Entry {
    tenant: TenantContext,
    valid_until: Instant,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<TokenHash, Entry>,
    /// Well-formed tokens the directory refused, and until when that answer stands.
    refused: HashMap<TokenHash, (TokenRefusal, Instant)>,
    /// When each configuration's entries were last evicted, kept for a TTL: an acceptance
    /// asked for before that moment is stale.
    evicted: HashMap<String, Instant>,
}

#[derive(Debug)]
pub struct AuthCache {
    ttl: Duration,
    state: RwLock<State>,
}

impl AuthCache {
    /// A zero `ttl` disables caching.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: RwLock::new(State::default()),
        }
    }

    pub fn get(&self, token: &str) -> Option<TenantContext> {
        self.get_at(token, Instant::now())
    }

    /// Remembers a token the directory accepted when asked at `asked_at`, for the TTL or
    /// until it expires if sooner, unless its configuration was evicted since.
    pub fn insert(
        &self,
        token: &str,
        tenant: TenantContext,
        token_valid_for: Duration,
        asked_at: Instant,
    ) {
        self.insert_at(token, tenant, token_valid_for, asked_at, Instant::now());
    }

    /// The directory's refusal of `token`, if it was refused less than [`REFUSAL_TTL`] ago.
    pub fn refusal(&self, token: &str) -> Option<TokenRefusal> {
        self.refusal_at(token, Instant::now())
    }

    /// Remembers that the directory refused `token` for good, for [`REFUSAL_TTL`]; a refusal
    /// that can be undone (the configuration is disabled) is not remembered.
    pub fn remember_refusal(&self, token: &str, refusal: &TokenRefusal) {
        self.remember_refusal_at(token, refusal, Instant::now());
    }

    fn refusal_at(&self, token: &str, now: Instant) -> Option<TokenRefusal> {
        if self.ttl.is_zero() {
            return None;
        }
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state
            .refused
            .get(&hash(token))
            .filter(|(_, until)| *until > now)
            .map(|(refusal, _)| refusal.clone())
    }

    fn remember_refusal_at(&self, token: &str, refusal: &TokenRefusal, now: Instant) {
        if self.ttl.is_zero() || refusal.reason() == RefusalReason::ConfigurationDisabled {
            return;
        }
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if state.refused.len() >= MAX_ENTRIES {
            state.refused.retain(|_, (_, until)| *until > now);
            if state.refused.len() >= MAX_ENTRIES {
                state.refused.clear();
            }
        }
        state
            .refused
            .insert(hash(token), (refusal.clone(), now + REFUSAL_TTL));
    }

    /// Forgets every entry of the configuration `config_id`.
    pub fn evict_config(&self, config_id: &str) {
        self.evict_config_at(config_id, Instant::now());
    }

    fn evict_config_at(&self, config_id: &str, now: Instant) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state
            .entries
            .retain(|_, entry| entry.tenant.config_id != config_id);
        let ttl = self.ttl;
        if state.evicted.len() >= MAX_ENTRIES {
            state
                .evicted
                .retain(|_, at| now.saturating_duration_since(*at) < ttl);
        }
        state.evicted.insert(config_id.to_owned(), now);
    }

    fn get_at(&self, token: &str, now: Instant) -> Option<TenantContext> {
        if self.ttl.is_zero() {
            return None;
        }
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state
            .entries
            .get(&hash(token))
            .filter(|entry| entry.valid_until > now)
            .map(|entry| entry.tenant.clone())
    }

    fn insert_at(
        &self,
        token: &str,
        tenant: TenantContext,
        token_valid_for: Duration,
        asked_at: Instant,
        now: Instant,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if state
            .evicted
            .get(&tenant.config_id)
            .is_some_and(|evicted_at| *evicted_at >= asked_at)
        {
            return;
        }
        let entries = &mut state.entries;
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| entry.valid_until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            hash(token),
            Entry {
                tenant,
                valid_until: now + self.ttl.min(token_valid_for),
            },
        );
    }
}

fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(token_id: &str) -> TenantContext {
        TenantContext {
            tenant_id: "t".into(),
            config_id: "c".into(),
            token_id: token_id.into(),
        }
    }

    fn other_config(token_id: &str) -> TenantContext {
        TenantContext {
            config_id: "d".into(),
            ..tenant(token_id)
        }
    }

    const LONG: Duration = Duration::from_secs(3600);

    #[test]
    fn accepted_tokens_are_remembered_for_the_ttl() {
        let cache = AuthCache::new(Duration::from_secs(30));
        let now = Instant::now();
        cache.insert_at("secret", tenant("tok-1"), LONG, now, now);
        assert_eq!(
            cache
                .get_at("secret", now + Duration::from_secs(29))
                .map(|t| t.token_id),
            Some("tok-1".to_owned())
        );
        assert!(
            cache
                .get_at("secret", now + Duration::from_secs(30))
                .is_none()
        );
        assert!(cache.get_at("other", now).is_none());
    }

    #[test]
    fn an_entry_never_outlives_the_token() {
        let cache = AuthCache::new(Duration::from_secs(30));
        let now = Instant::now();
        cache.insert_at("secret", tenant("tok-1"), Duration::from_secs(5), now, now);
        assert!(
            cache
                .get_at("secret", now + Duration::from_secs(4))
                .is_some()
        );
        assert!(
            cache
                .get_at("secret", now + Duration::from_secs(5))
                .is_none()
        );
    }

    #[test]
    fn an_admin_action_evicts_its_configuration_at_once() {
        let cache = AuthCache::new(Duration::from_secs(30));
        let now = Instant::now();
        cache.insert_at("a", tenant("tok-1"), LONG, now, now);
        cache.insert_at("b", tenant("tok-2"), LONG, now, now);
        cache.insert_at("c", other_config("tok-3"), LONG, now, now);
        cache.evict_config_at("c", now);
        assert!(cache.get_at("a", now).is_none());
        assert!(cache.get_at("b", now).is_none());
        assert!(
            cache.get_at("c", now).is_some(),
            "other configurations stay"
        );
    }

    #[test]
    fn an_acceptance_asked_for_before_an_eviction_is_not_cached() {
        let cache = AuthCache::new(Duration::from_secs(30));
        let asked = Instant::now();
        // The directory accepted the token, then the revocation arrived, then the answer.
        cache.evict_config_at("c", asked + Duration::from_millis(1));
        let answered = asked + Duration::from_millis(2);
        cache.insert_at("a", tenant("tok-1"), LONG, asked, answered);
        assert!(cache.get_at("a", answered).is_none());
        // Asked after the eviction: cached as usual.
        let later = answered + Duration::from_millis(1);
        cache.insert_at("a", tenant("tok-1"), LONG, later, later);
        assert!(cache.get_at("a", later).is_some());
    }

    #[test]
    fn a_refusal_stands_for_a_few_seconds_per_token() {
        let cache = AuthCache::new(Duration::from_secs(30));
        let now = Instant::now();
        let refusal = TokenRefusal {
            prefix: "scimtok_AbCd".into(),
            reason: RefusalReason::Revoked.into(),
            ..TokenRefusal::default()
        };
        cache.remember_refusal_at("bad", &refusal, now);
        assert_eq!(
            cache.refusal_at("bad", now + REFUSAL_TTL - Duration::from_secs(1)),
            Some(refusal)
        );
        assert_eq!(cache.refusal_at("bad", now + REFUSAL_TTL), None);
        assert_eq!(cache.refusal_at("other", now), None);
        assert!(
            cache.get_at("bad", now).is_none(),
            "a refusal is no acceptance"
        );

        // A disabled configuration may be enabled again: its tokens are asked about each time.
        let disabled = TokenRefusal {
            reason: RefusalReason::ConfigurationDisabled.into(),
            ..TokenRefusal::default()
        };
        cache.remember_refusal_at("paused", &disabled, now);
        assert_eq!(cache.refusal_at("paused", now), None);
    }

    #[test]
    fn a_zero_ttl_disables_the_cache() {
        let cache = AuthCache::new(Duration::ZERO);
        cache.insert("secret", tenant("tok-1"), LONG, Instant::now());
        assert!(cache.get("secret").is_none());
    }
}
