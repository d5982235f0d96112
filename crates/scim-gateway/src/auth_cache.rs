//! Remembers which bearer tokens the directory accepted, so a request does not
//! cost a directory round trip (and a database read) just to authenticate.
//!
//! Entries are keyed by the token's SHA-256, never the secret itself. An entry
//! lives until the first of: the configured TTL, the token's own expiry, or a
//! revocation announced by the directory (which evicts it at once on every
//! gateway). Only successful authentications are cached: an unknown token is
//! asked about every time, so a token issued a moment ago works immediately.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::directory::TenantContext;

/// Bounds memory when many distinct tokens are seen; far above what any
/// deployment uses (a few tokens per SCIM configuration).
const MAX_ENTRIES: usize = 10_000;

type TokenHash = [u8; 32];

#[derive(Debug, Clone)]
struct Entry {
    tenant: TenantContext,
    valid_until: Instant,
}

#[derive(Debug)]
pub struct AuthCache {
    ttl: Duration,
    entries: RwLock<HashMap<TokenHash, Entry>>,
}

impl AuthCache {
    /// A zero `ttl` disables caching.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, token: &str) -> Option<TenantContext> {
        self.get_at(token, Instant::now())
    }

    /// Remembers an accepted token for the TTL, or until it expires if sooner.
    pub fn insert(&self, token: &str, tenant: TenantContext, token_valid_for: Duration) {
        self.insert_at(token, tenant, token_valid_for, Instant::now());
    }

    /// Forgets every entry of a revoked token.
    pub fn revoke(&self, token_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, entry| entry.tenant.token_id != token_id);
        }
    }

    fn get_at(&self, token: &str, now: Instant) -> Option<TenantContext> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        entries
            .get(&hash(token))
            .filter(|entry| entry.valid_until > now)
            .map(|entry| entry.tenant.clone())
    }

    fn insert_at(
        &self,
        token: &str,
        tenant: TenantContext,
        token_valid_for: Duration,
        now: Instant,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
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

    const LONG: Duration = Duration::from_secs(3600);

    #[test]
    fn accepted_tokens_are_remembered_for_the_ttl() {
        let cache = AuthCache::new(Duration::from_secs(30));
        let now = Instant::now();
        cache.insert_at("secret", tenant("tok-1"), LONG, now);
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
        cache.insert_at("secret", tenant("tok-1"), Duration::from_secs(5), now);
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
    fn revocation_evicts_at_once() {
        let cache = AuthCache::new(Duration::from_secs(30));
        let now = Instant::now();
        cache.insert_at("a", tenant("tok-1"), LONG, now);
        cache.insert_at("b", tenant("tok-2"), LONG, now);
        cache.revoke("tok-1");
        assert!(cache.get_at("a", now).is_none());
        assert!(cache.get_at("b", now).is_some());
    }

    #[test]
    fn a_zero_ttl_disables_the_cache() {
        let cache = AuthCache::new(Duration::ZERO);
        cache.insert("secret", tenant("tok-1"), LONG);
        assert!(cache.get("secret").is_none());
    }
}
