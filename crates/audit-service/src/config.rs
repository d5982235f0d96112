//! The audit service's configuration: the shared backend settings under its own defaults.

use service_kit::config::{BackendConfig, BackendEnv};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/scim_audit";

pub type Config = BackendConfig;

/// The database role the service acts as once migrations ran (`SET ROLE` on every pooled
/// connection); unset, it acts as the login role of `AUDIT_DATABASE_URL`. The migrations
/// create `scim_audit_writer` with exactly what the service needs.
pub const DATABASE_ROLE: &str = "AUDIT_DATABASE_ROLE";

/// [`DATABASE_ROLE`] from `lookup` (normally the process environment).
pub fn database_role(lookup: &impl Fn(&str) -> Option<String>) -> Option<String> {
    service_kit::config::optional(lookup, DATABASE_ROLE).map(|role| role.trim().to_owned())
}

pub const ENV: BackendEnv = BackendEnv {
    database_url: "AUDIT_DATABASE_URL",
    default_database_url: DEFAULT_DATABASE_URL,
    grpc_addr: "AUDIT_GRPC_ADDR",
    default_grpc_port: 50053,
    metrics_addr: "AUDIT_METRICS_ADDR",
    default_metrics_port: 9103,
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_the_variable() {
        let config = Config::from_lookup(&ENV, &test_support::minimal_env).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.grpc_addr.port(), 50053);
        assert_eq!(config.metrics_addr.port(), 9103);

        let error = Config::from_lookup(&ENV, &|name| match name {
            "AUDIT_GRPC_ADDR" => Some("nope".to_owned()),
            other => test_support::minimal_env(other),
        })
        .unwrap_err();
        assert!(error.to_string().contains("AUDIT_GRPC_ADDR"), "{error}");

        assert_eq!(database_role(&|_| None), None);
        assert_eq!(database_role(&|_| Some(" ".to_owned())), None);
        let role = database_role(&|name| {
            (name == DATABASE_ROLE).then(|| " scim_audit_writer ".to_owned())
        });
        assert_eq!(role.as_deref(), Some("scim_audit_writer"));
    }
}
