//! The license service's Prometheus metrics.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

/// Decision counters. Deliberately without pool or tenant labels: those are
/// unbounded; per-pool usage is what `ListPools` is for.
#[derive(Clone, Default)]
pub struct LicenseMetrics {
    pub assigned: Counter,
    pub released: Counter,
    pub denied: Counter,
    pub published: Counter,
}

impl LicenseMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "license_seats_assigned",
            "License seats assigned (auto and manual)",
            self.assigned.clone(),
        );
        registry.register(
            "license_seats_released",
            "License seats released",
            self.released.clone(),
        );
        registry.register(
            "license_denials",
            "Auto-assignments refused because the pool was full",
            self.denied.clone(),
        );
        registry.register(
            "license_outbox_published",
            "License decision events published to JetStream",
            self.published.clone(),
        );
    }

    pub(crate) fn record(&self, tally: &Tally) {
        self.assigned.inc_by(tally.assigned);
        self.released.inc_by(tally.released);
        self.denied.inc_by(tally.denied);
    }
}

/// Decisions made inside a transaction; only counted once it committed, so a
/// retried batch is not counted twice.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub assigned: u64,
    pub released: u64,
    pub denied: u64,
}

impl Tally {
    pub fn is_empty(&self) -> bool {
        self.assigned == 0 && self.released == 0 && self.denied == 0
    }
}

impl service_kit::outbox::RelayMetrics for LicenseMetrics {
    fn published(&self, events: u64) {
        self.published.inc_by(events);
    }
}
