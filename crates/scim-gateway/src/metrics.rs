//! The gateway's Prometheus metrics.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::directory::SettledBy;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route template, e.g. `/scim/v2/Users/{id}`: bounded cardinality.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SettledByLabels {
    /// `progress` (the followed `WatchApplied` stream) or `directory` (an `AwaitApplied` call).
    settled_by: &'static str,
}

#[derive(Clone)]
pub struct GatewayMetrics {
    visibility_waits: Family<SettledByLabels, Counter>,
    requests: Family<HttpLabels, Counter>,
    durations: Family<HttpLabels, Histogram>,
    pub publish_conflicts: Counter,
    pub uniqueness_conflicts: Counter,
    pub rejections_unrecorded: Counter,
    pub tenant_throttled: Counter,
    pub auth_lookups_throttled: Counter,
    pub panics: Counter,
}

impl GatewayMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            visibility_waits: Family::default(),
            requests: Family::default(),
            durations: Family::new_with_constructor(|| {
                Histogram::new([
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
            }),
            publish_conflicts: Counter::default(),
            uniqueness_conflicts: Counter::default(),
            rejections_unrecorded: Counter::default(),
            tenant_throttled: Counter::default(),
            auth_lookups_throttled: Counter::default(),
            panics: Counter::default(),
        };
        registry.register(
            "visibility_waits",
            "Writes answered once the directory showed them, by what told the gateway so: its \
             followed progress stream, or an AwaitApplied call (no stream open, or a sequence \
             at or below a quarantined one)",
            metrics.visibility_waits.clone(),
        );
        registry.register(
            "tenant_throttled",
            "Requests answered 429 because their tenant exceeded its rate or concurrency limit",
            metrics.tenant_throttled.clone(),
        );
        registry.register(
            "auth_lookups_throttled",
            "Requests answered 429 because this replica was already asking the directory about \
             too many unfamiliar tokens (GATEWAY_AUTH_LOOKUPS_PER_SECOND)",
            metrics.auth_lookups_throttled.clone(),
        );
        registry.register(
            "handler_panics",
            "Requests whose handler panicked (answered 500; each one is a bug)",
            metrics.panics.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered",
            metrics.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            metrics.durations.clone(),
        );
        registry.register(
            "publish_conflicts",
            "Appends retried after a concurrent change (optimistic concurrency)",
            metrics.publish_conflicts.clone(),
        );
        registry.register(
            "uniqueness_conflicts",
            "Creates or renames refused because the userName is taken",
            metrics.uniqueness_conflicts.clone(),
        );
        registry.register(
            "rejections_unrecorded",
            "Rejected requests that could not be written to the provisioning log",
            metrics.rejections_unrecorded.clone(),
        );
        metrics
    }

    pub fn visibility_settled(&self, settled_by: SettledBy) {
        let settled_by = match settled_by {
            SettledBy::Progress => "progress",
            SettledBy::Directory => "directory",
        };
        self.visibility_waits
            .get_or_create(&SettledByLabels { settled_by })
            .inc();
    }

    pub fn record(&self, labels: &HttpLabels, elapsed: Duration) {
        self.requests.get_or_create(labels).inc();
        self.durations
            .get_or_create(labels)
            .observe(elapsed.as_secs_f64());
    }
}
