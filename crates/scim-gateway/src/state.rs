use std::sync::Arc;

use event_store::EventStore;
use prometheus_client::registry::Registry;
use service_kit::ops_http::Readiness;

use crate::config::Config;
use crate::directory::DirectoryClient;
use crate::metrics::GatewayMetrics;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: EventStore,
    directory: DirectoryClient,
    metrics: GatewayMetrics,
    registry: Registry,
    readiness: Readiness,
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
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                directory,
                metrics,
                registry,
                readiness,
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

    pub fn metrics(&self) -> &GatewayMetrics {
        &self.inner.metrics
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    pub fn base_url(&self) -> &str {
        &self.inner.config.public_base_url
    }
}
