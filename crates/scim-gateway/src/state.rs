//! The state every handler shares: the event store and directory clients, the configuration,
//! the authentication cache, the per-aggregate turns, metrics and tenant limits.

use std::sync::Arc;

use event_store::EventStore;
use prometheus_client::registry::Registry;
use service_kit::ops_http::Readiness;

use crate::auth_cache::AuthCache;
use crate::auth_failures::AuthFailures;
use crate::commands::AggregateLocks;
use crate::config::Config;
use crate::directory::{DirectoryClient, TenantContext};
use crate::error::ApiError;
use crate::metrics::GatewayMetrics;
use crate::tenant_limits::{AuthLookupLimiter, TenantLimiter};

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: EventStore,
    directory: DirectoryClient,
    auth_cache: AuthCache,
    aggregate_locks: AggregateLocks,
    metrics: GatewayMetrics,
    registry: Arc<Registry>,
    readiness: Readiness,
    tenant_limiter: TenantLimiter,
    auth_lookups: AuthLookupLimiter,
    auth_failures: AuthFailures,
}

impl AppState {
    pub fn new(
        config: Config,
        store: EventStore,
        directory: DirectoryClient,
        readiness: Readiness,
    ) -> Self {
        let mut registry = Registry::with_prefix("scim_gateway");
        let metrics = GatewayMetrics::new(&mut registry);
        let auth_failures = AuthFailures::new(&mut registry);
        let auth_cache = AuthCache::new(config.auth_cache_ttl);
        let tenant_limiter = TenantLimiter::new(config.tenant_limits);
        let auth_lookups = AuthLookupLimiter::new(config.auth_lookups_per_second);
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                directory,
                auth_cache,
                aggregate_locks: AggregateLocks::default(),
                metrics,
                registry: Arc::new(registry),
                readiness,
                tenant_limiter,
                auth_lookups,
                auth_failures,
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &EventStore {
        &self.inner.store
    }

    pub fn directory(&self) -> &DirectoryClient {
        &self.inner.directory
    }

    pub fn aggregate_locks(&self) -> &AggregateLocks {
        &self.inner.aggregate_locks
    }

    pub fn auth_cache(&self) -> &AuthCache {
        &self.inner.auth_cache
    }

    /// The tenant a bearer token belongs to: from the cache, else from the
    /// directory (and then cached).
    pub async fn authenticate(&self, token: &str) -> Result<TenantContext, ApiError> {
        if let Some(tenant) = self.inner.auth_cache.get(token) {
            return Ok(tenant);
        }
        if let Some(refusal) = self.inner.auth_cache.refusal(token) {
            return Err(ApiError::TokenRefused(Box::new(refusal)));
        }
        if let Err(throttled) = self.inner.auth_lookups.admit() {
            self.inner.metrics.auth_lookups_throttled.inc();
            return Err(ApiError::TooManyRequests(throttled));
        }
        let asked_at = std::time::Instant::now();
        let (tenant, valid_for) = match self.inner.directory.authenticate(token).await {
            Ok(accepted) => accepted,
            Err(ApiError::TokenRefused(refusal)) => {
                self.inner.auth_cache.remember_refusal(token, &refusal);
                return Err(ApiError::TokenRefused(refusal));
            }
            Err(error) => return Err(error),
        };
        self.inner
            .auth_cache
            .insert(token, tenant.clone(), valid_for, asked_at);
        Ok(tenant)
    }

    pub fn auth_failures(&self) -> &AuthFailures {
        &self.inner.auth_failures
    }

    pub fn tenant_limiter(&self) -> &TenantLimiter {
        &self.inner.tenant_limiter
    }

    pub fn metrics(&self) -> &GatewayMetrics {
        &self.inner.metrics
    }

    /// What the ops endpoint (`GATEWAY_METRICS_ADDR`) serves on `/metrics`.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    pub fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    pub fn base_url(&self) -> &str {
        &self.inner.config.public_base_url
    }
}
