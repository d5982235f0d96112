//! The gateway's configuration, read from the environment through a lookup so it can be tested.

use std::net::SocketAddr;

use service_kit::config::{CommonConfig, ConfigError, parse_or, process_env, string_or};

#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    /// The public port: SCIM and nothing else.
    pub http_addr: SocketAddr,
    /// `/metrics`, `/healthz` and `/readyz`, kept off the public port so that identity
    /// providers (and anyone on the internet) cannot read or probe them.
    pub metrics_addr: SocketAddr,
    /// What clients see as the SCIM base URL (behind a proxy it differs from
    /// the bind address); used in `meta.location` and `Location`.
    pub public_base_url: String,
    pub directory_url: String,
    pub max_body_bytes: usize,
    /// `/Bulk` limits, advertised in `/ServiceProviderConfig` and enforced (413).
    pub bulk_max_operations: usize,
    pub bulk_max_payload_bytes: usize,
    /// How long a write waits for the directory to show it before answering
    /// 503 (the write itself is durable by then).
    pub await_applied_ms: u32,
    pub default_page_size: u64,
    pub max_page_size: u64,
    /// Groups with more members answer POST/PUT/PATCH without `members`
    /// (unless `attributes=members` asks for them), so a one-member change
    /// never costs a read of the whole group.
    pub write_response_max_members: u32,
    /// How long an accepted token is remembered (0 disables the cache).
    /// Revocations evict at once; this only bounds how long a missed
    /// revocation signal could go unnoticed.
    pub auth_cache_ttl: std::time::Duration,
    /// Per-tenant admission on this replica (429 with `Retry-After` beyond it).
    pub tenant_limits: crate::tenant_limits::TenantLimitSettings,
    /// `GATEWAY_AUTH_LOOKUPS_PER_SECOND`: directory lookups of tokens this replica does not
    /// know, per second (burst twice that); `0` disables the limit.
    pub auth_lookups_per_second: u32,
    /// The longest a SCIM request may take before it is answered 503.
    pub request_timeout: std::time::Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&process_env)
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let public_base_url = string_or(
            lookup,
            "GATEWAY_PUBLIC_BASE_URL",
            "http://127.0.0.1:8080/scim/v2",
        )
        .trim_end_matches('/')
        .to_owned();
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "GATEWAY_PUBLIC_BASE_URL",
                value: public_base_url,
                reason: "must be an absolute http(s) URL".into(),
            });
        }
        Ok(Self {
            common: CommonConfig::from_lookup(lookup)?,
            http_addr: parse_or(
                lookup,
                "GATEWAY_HTTP_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 8080)),
            )?,
            metrics_addr: parse_or(
                lookup,
                "GATEWAY_METRICS_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9100)),
            )?,
            public_base_url,
            directory_url: string_or(lookup, "DIRECTORY_GRPC_URL", "https://127.0.0.1:50051"),
            max_body_bytes: parse_or(lookup, "GATEWAY_MAX_BODY_BYTES", 1_048_576)?,
            bulk_max_operations: parse_or(lookup, "GATEWAY_BULK_MAX_OPERATIONS", 1_000)?,
            bulk_max_payload_bytes: parse_or(lookup, "GATEWAY_BULK_MAX_PAYLOAD_BYTES", 1_048_576)?,
            await_applied_ms: parse_or(lookup, "GATEWAY_AWAIT_APPLIED_MS", 5_000)?,
            default_page_size: parse_or(lookup, "GATEWAY_DEFAULT_PAGE_SIZE", 100)?,
            max_page_size: parse_or(lookup, "GATEWAY_MAX_PAGE_SIZE", 1_000)?,
            write_response_max_members: parse_or(
                lookup,
                "GATEWAY_WRITE_RESPONSE_MAX_MEMBERS",
                1_000,
            )?,
            auth_cache_ttl: std::time::Duration::from_secs(parse_or(
                lookup,
                "GATEWAY_AUTH_CACHE_SECONDS",
                30,
            )?),
            tenant_limits: crate::tenant_limits::TenantLimitSettings {
                rate_per_second: parse_or(lookup, "GATEWAY_TENANT_RATE_PER_SECOND", 10_000)?,
                burst: parse_or(lookup, "GATEWAY_TENANT_BURST", 10_000)?,
                max_concurrent: parse_or(lookup, "GATEWAY_TENANT_MAX_CONCURRENT", 128)?,
            },
            auth_lookups_per_second: parse_or(lookup, "GATEWAY_AUTH_LOOKUPS_PER_SECOND", 200)?,
            request_timeout: std::time::Duration::from_millis(parse_or(
                lookup,
                "GATEWAY_REQUEST_TIMEOUT_MS",
                60_000,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ops_endpoints_listen_apart_from_scim() {
        let lookup = |name: &str| (name == "ADMIN_TOKEN").then(|| "0123456789abcdef".to_owned());
        let config = Config::from_lookup(&lookup).unwrap();
        assert_eq!(config.http_addr.port(), 8080);
        assert_eq!(
            config.metrics_addr,
            SocketAddr::from(([127, 0, 0, 1], 9100))
        );

        let error = Config::from_lookup(&|name: &str| match name {
            "GATEWAY_METRICS_ADDR" => Some("9100".to_owned()),
            other => lookup(other),
        })
        .unwrap_err();
        assert!(
            error.to_string().contains("GATEWAY_METRICS_ADDR"),
            "{error}"
        );
    }
}
