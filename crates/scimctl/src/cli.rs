//! Command-line surface of `scimctl` (clap derive).

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Admin CLI for the SCIM provisioning platform: tenants, SCIM
/// configurations, bearer tokens, license pools and the audit log.
///
/// Every call carries the operator credential (`--admin-token` /
/// `ADMIN_TOKEN`). With `--output json` each command prints exactly one JSON
/// object on stdout, suitable for scripts.
#[derive(Debug, Parser)]
#[command(name = "scimctl", version, propagate_version = true)]
pub struct Cli {
    /// gRPC URL of directory-service (tenants, configurations, tokens).
    #[arg(
        long,
        global = true,
        env = "SCIMCTL_DIRECTORY_URL",
        default_value = "https://127.0.0.1:50051"
    )]
    pub directory_url: String,

    /// gRPC URL of license-service (pools, assignments).
    #[arg(
        long,
        global = true,
        env = "SCIMCTL_LICENSE_URL",
        default_value = "https://127.0.0.1:50052"
    )]
    pub license_url: String,

    /// gRPC URL of audit-service (provisioning log).
    #[arg(
        long,
        global = true,
        env = "SCIMCTL_AUDIT_URL",
        default_value = "https://127.0.0.1:50053"
    )]
    pub audit_url: String,

    /// The CA certificate (PEM) the services' certificates are checked against: the gRPC
    /// services speak TLS only. `cargo xtask up` issues one under `.local/pki/`.
    #[arg(
        long,
        global = true,
        env = "SCIMCTL_CA",
        default_value = ".local/pki/ca.pem"
    )]
    pub ca: std::path::PathBuf,

    /// Base URL of the account center (sign-in links for tenants' admins).
    #[arg(
        long,
        global = true,
        env = "SCIMCTL_ACCOUNT_CENTER_URL",
        default_value = "http://127.0.0.1:8090"
    )]
    pub account_center_url: String,

    /// Operator credential sent as `authorization: Bearer <token>`.
    #[arg(
        long,
        global = true,
        env = "ADMIN_TOKEN",
        default_value = "dev-admin-token",
        hide_env_values = true
    )]
    pub admin_token: String,

    /// Output format: human-readable text or one JSON object per command.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Deadline for each gRPC call, in seconds.
    #[arg(long, global = true, default_value_t = 30)]
    pub timeout_secs: u64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tenants (organisations).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// SCIM configurations of a tenant.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Bearer tokens of a SCIM configuration.
    #[command(subcommand)]
    Token(TokenCommand),
    /// License pools.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// What the vendor offers a tenant: seats per application instance and
    /// license type, which the tenant's admins switch auto-assign on for.
    #[command(subcommand)]
    Offering(OfferingCommand),
    /// Licenses held by one user.
    Licenses(UserLicensesArgs),
    /// Manual license assignment and revocation.
    #[command(subcommand)]
    License(LicenseCommand),
    /// The provisioning (audit) log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Events a service's projection could not apply and set aside.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// Tenants' administrators in the account center.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The NATS users and permissions of the services, and the setup step that creates the
    /// event stream and the userName bucket.
    #[command(subcommand)]
    Nats(NatsCommand),
    /// Certificates for the services' gRPC identities, for a stack without a CA of its own.
    #[command(subcommand)]
    Pki(PkiCommand),
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Issue a private CA and one certificate per service into a directory (keys readable by
    /// their owner only), unless it holds them already: what `cargo xtask up` does under
    /// `.local/pki/`, and docker-compose's `pki` step. For development; a deployment uses its
    /// own CA (docs/operations.md).
    Issue {
        /// Where the files go: ca.pem, <service>.pem, <service>-key.pem.
        #[arg(long)]
        dir: std::path::PathBuf,
        /// Another name (or IP address) every certificate carries beside the service's own
        /// name, e.g. `localhost`. Repeatable.
        #[arg(long = "host")]
        hosts: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServerConfigFormat {
    Nats,
    Helm,
}

#[derive(Debug, Subcommand)]
pub enum NatsCommand {
    /// Print the nats-server `authorization` block: an admin user with full rights and one
    /// user per service allowed only what it needs. Passwords are references to the server's
    /// environment (`$SCIM_GATEWAY_NATS_PASSWORD`, …), so the output holds no secret.
    ServerConfig {
        /// The services' EVENT_NAMESPACE.
        #[arg(long, env = "EVENT_NAMESPACE", default_value = "scim")]
        namespace: String,
        /// `nats`: a nats-server configuration file (include it, or pass it with `-c`);
        /// `helm`: values for the official NATS Helm chart (deploy/k8s/nats/values.yaml).
        #[arg(long, value_enum, default_value_t = ServerConfigFormat::Nats)]
        format: ServerConfigFormat,
    },
    /// Create the event stream and the userName bucket if they do not exist, as the admin
    /// user (NATS_USER, NATS_PASSWORD). Run it before the services start: where NATS
    /// enforces permissions, they may not create them.
    Setup {
        /// The NATS server(s), comma-separated.
        #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
        nats_url: String,
        /// The services' EVENT_NAMESPACE.
        #[arg(long, env = "EVENT_NAMESPACE", default_value = "scim")]
        namespace: String,
        /// Replicas of the stream and the bucket: 3 in production (see docs/operations.md).
        #[arg(long, env = "NATS_STREAM_REPLICAS", default_value_t = 1)]
        replicas: usize,
        /// Connect over TLS, checking the server against this CA (PEM), as the services do
        /// with the same variable.
        #[arg(long, env = "NATS_TLS_CA")]
        nats_tls_ca: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Print a one-time sign-in link to the account center for an admin of the tenant
    /// (valid once, for ACCOUNT_CENTER_INVITE_TTL_HOURS, 24 by default).
    Invite {
        #[arg(long)]
        tenant: String,
        /// Who the admin is (shown in the provisioning log); "admin" when omitted.
        #[arg(long)]
        email: Option<String>,
    },
}

/// Which service's projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProjectionService {
    Directory,
    License,
    Audit,
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List the quarantined events of one service, oldest first.
    List {
        #[arg(long, value_enum)]
        service: ProjectionService,
    },
    /// Apply quarantined events again (after fixing their cause), in stream order.
    Retry {
        #[arg(long, value_enum)]
        service: ProjectionService,
        /// The event's stream sequence; without it, every quarantined event is retried.
        #[arg(long)]
        sequence: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Display name of the tenant.
        name: String,
    },
    /// List all tenants.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Create a SCIM configuration for a tenant.
    Create {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Name of the configuration, e.g. "Entra ID".
        name: String,
        /// What the configuration is for (up to 1,000 characters).
        #[arg(long)]
        description: Option<String>,
    },
    /// List a tenant's SCIM configurations (deleted ones are not listed).
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Rename, describe, disable or enable a configuration. A disabled configuration's tokens
    /// are refused at once, on every gateway replica; enabling accepts them again.
    Update(ConfigUpdateArgs),
    /// Delete a configuration: every token of it is revoked, and it is no longer listed. The
    /// users and groups it provisioned stay, and so do their licenses.
    Delete {
        /// SCIM configuration id.
        #[arg(long)]
        config: String,
    },
}

#[derive(Debug, Args)]
pub struct ConfigUpdateArgs {
    /// SCIM configuration id.
    #[arg(long)]
    pub config: String,
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    /// New description ("" clears it).
    #[arg(long)]
    pub description: Option<String>,
    /// Refuse the configuration's tokens until it is enabled again.
    #[arg(long, conflicts_with = "enable")]
    pub disable: bool,
    /// Accept the configuration's tokens again (those not revoked or expired).
    #[arg(long)]
    pub enable: bool,
}

impl ConfigUpdateArgs {
    /// `Some(true)` for `--disable`, `Some(false)` for `--enable`, `None` to leave it.
    pub fn disabled(&self) -> Option<bool> {
        match (self.disable, self.enable) {
            (true, _) => Some(true),
            (false, true) => Some(false),
            (false, false) => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a new bearer token. The secret is printed once and cannot be
    /// shown again.
    Issue {
        /// SCIM configuration id.
        #[arg(long)]
        config: String,
        /// Lifetime in days (default: 730 days, or the server's maximum
        /// TOKEN_MAX_VALID_DAYS when shorter; longer is refused).
        #[arg(long)]
        valid_days: Option<u32>,
    },
    /// List a configuration's tokens (never their secrets).
    List {
        /// SCIM configuration id.
        #[arg(long)]
        config: String,
    },
    /// Revoke a token immediately, on every gateway replica.
    Revoke {
        /// Token id (from `token list`).
        token_id: String,
    },
    /// Revoke every still-valid token of a configuration at once (a suspected leak). The
    /// configuration stays enabled: issue a new token and paste it into the IdP.
    RevokeAll {
        /// SCIM configuration id.
        #[arg(long)]
        config: String,
    },
    /// Issue a successor of a token (its secret is printed once) and end the old token after
    /// an overlap, time to paste the new secret into the identity provider.
    Rotate {
        /// Token id (from `token list`).
        #[arg(long)]
        token: String,
        /// Hours the old token keeps working, at most 168; 0 ends it now. Never lengthens
        /// the old token's life.
        #[arg(long)]
        overlap_hours: u32,
        /// Lifetime of the new token in days (default: the server's default, 730 days).
        #[arg(long)]
        valid_days: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Create the pool for (configuration, application instance, license
    /// type), or update its seat count and auto-assign flag.
    Upsert(PoolUpsertArgs),
    /// List a tenant's pools with seats used / total.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Who holds a seat (oldest first) and who waits for one (next first).
    Members(PoolMembersArgs),
}

#[derive(Debug, Args)]
pub struct PoolMembersArgs {
    /// Pool id.
    #[arg(long)]
    pub pool: String,
    /// Members per page (server default 50, at most 500).
    #[arg(long)]
    pub page_size: Option<u32>,
    /// Cursor from a previous page's `next_page_token`.
    #[arg(long)]
    pub page_token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum OfferingCommand {
    /// Create or update one offering of a tenant. Changing its seats changes
    /// the seats of the pool drawing on it (shrinking keeps seats given).
    Set(OfferingSetArgs),
    /// List a tenant's offerings and the pool drawing on each.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Args)]
pub struct OfferingSetArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
    /// Application instance, e.g. "sales-navigator".
    #[arg(long, visible_alias = "app-instance")]
    pub application_instance: String,
    /// License type, e.g. "core".
    #[arg(long)]
    pub license_type: String,
    /// Number of seats offered.
    #[arg(long)]
    pub seats: u32,
}

#[derive(Debug, Args)]
pub struct PoolUpsertArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
    /// SCIM configuration id.
    #[arg(long)]
    pub config: String,
    /// Application instance, e.g. "sales-navigator".
    #[arg(long)]
    pub app_instance: String,
    /// License type, e.g. "core".
    #[arg(long)]
    pub license_type: String,
    /// Number of seats.
    #[arg(long)]
    pub seats: u32,
    /// Assign a seat automatically to each provisioned user.
    #[arg(long, action = ArgAction::Set, default_value_t = true, value_name = "true|false")]
    pub auto_assign: bool,
}

#[derive(Debug, Args)]
pub struct UserLicensesArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
    /// SCIM user id.
    #[arg(long)]
    pub user: String,
}

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// Assign a seat of a pool to a user (fails when the pool is full).
    Assign(AssignmentArgs),
    /// Release a user's seat in a pool.
    Revoke(AssignmentArgs),
}

#[derive(Debug, Args)]
pub struct AssignmentArgs {
    /// Pool id.
    #[arg(long)]
    pub pool: String,
    /// SCIM user id.
    #[arg(long)]
    pub user: String,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Query a tenant's provisioning log.
    Query(AuditQueryArgs),
    /// Show one record of a tenant's provisioning log, with its event.
    Get(AuditGetArgs),
    /// Requests and failed requests per time bucket, flagging buckets over the threshold
    /// (an IdP such as Entra ID quarantines a connection above 40 % failures).
    FailureRate(FailureRateArgs),
    /// Check a tenant's provisioning log against its hash chain: prints `verified N records`
    /// and exits 0, or prints the first record that breaks the chain and exits 1.
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
}

#[derive(Debug, Args)]
pub struct FailureRateArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
    /// SCIM configuration id; every configuration of the tenant when omitted.
    #[arg(long)]
    pub config: Option<String>,
    /// Inclusive lower bound, RFC 3339; 24 hours before `--to` when omitted.
    #[arg(long)]
    pub from: Option<String>,
    /// Exclusive upper bound, RFC 3339; now when omitted.
    #[arg(long)]
    pub to: Option<String>,
    /// Bucket width: a number with s, m, h or d (e.g. 15m, 1h, 1d).
    #[arg(long, default_value = "1h", value_parser = parse_bucket)]
    pub bucket: u32,
    /// Failure percentage above which a bucket is flagged (default 40, Entra ID's).
    #[arg(long)]
    pub threshold: Option<f64>,
}

/// `15m`, `1h`, `1d`, `90s` as seconds.
fn parse_bucket(value: &str) -> Result<u32, String> {
    let value = value.trim();
    let split = value.len().saturating_sub(1);
    let (number, unit) = value.split_at_checked(split).unwrap_or((value, ""));
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{value:?}: expected a number with s, m, h or d, e.g. 1h"
            ));
        }
    };
    number
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(unit_seconds))
        .filter(|seconds| *seconds > 0)
        .ok_or_else(|| format!("{value:?}: expected a number with s, m, h or d, e.g. 1h"))
}

#[derive(Debug, Args)]
pub struct AuditQueryArgs {
    /// Tenant id (queries never cross tenants).
    #[arg(long)]
    pub tenant: String,
    /// Inclusive lower bound, RFC 3339 (e.g. 2025-01-31T00:00:00Z).
    #[arg(long)]
    pub from: Option<String>,
    /// Exclusive upper bound, RFC 3339.
    #[arg(long)]
    pub to: Option<String>,
    /// Target resource id, userName or displayName (case-insensitive).
    #[arg(long)]
    pub target: Option<String>,
    /// Operation, e.g. create, update, delete, license.assign, reject, admin.token.issue;
    /// `admin.` for every admin action.
    #[arg(long)]
    pub operation: Option<String>,
    /// Outcome: success or failure.
    #[arg(long)]
    pub outcome: Option<String>,
    /// SCIM configuration id, token id or admin (`admin:<id>:<email>`, `operator`) that
    /// performed the action.
    #[arg(long)]
    pub actor: Option<String>,
    /// Correlation id of a request.
    #[arg(long)]
    pub correlation_id: Option<String>,
    /// Records per page (server default when omitted).
    #[arg(long)]
    pub page_size: Option<u32>,
    /// Cursor from a previous page's `next_page_token`.
    #[arg(long)]
    pub page_token: Option<String>,
    /// Newest records first (a page token continues only the order it came from).
    #[arg(long)]
    pub newest_first: bool,
}

#[derive(Debug, Args)]
pub struct AuditGetArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
    /// The record's stream sequence (the SEQ column of `audit query`).
    #[arg(long)]
    pub sequence: u64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn failure_rate_buckets_take_units() {
        assert_eq!(parse_bucket("1h"), Ok(3600));
        assert_eq!(parse_bucket("15m"), Ok(900));
        assert_eq!(parse_bucket("2d"), Ok(172_800));
        assert_eq!(parse_bucket("90s"), Ok(90));
        for bad in ["", "h", "1", "0h", "1w", "-1h", "99999999d"] {
            assert!(parse_bucket(bad).is_err(), "{bad:?}");
        }
        let cli = Cli::try_parse_from([
            "scimctl",
            "audit",
            "failure-rate",
            "--tenant",
            "t1",
            "--config",
            "c1",
        ])
        .unwrap();
        let Command::Audit(AuditCommand::FailureRate(args)) = cli.command else {
            panic!("not failure-rate");
        };
        assert_eq!(args.bucket, 3600);
        assert_eq!(args.config.as_deref(), Some("c1"));
    }

    #[test]
    fn audit_get_and_newest_first_parse() {
        let cli = Cli::try_parse_from([
            "scimctl",
            "audit",
            "get",
            "--tenant",
            "t1",
            "--sequence",
            "42",
        ])
        .unwrap();
        let Command::Audit(AuditCommand::Get(args)) = cli.command else {
            panic!("not audit get");
        };
        assert_eq!((args.tenant.as_str(), args.sequence), ("t1", 42));
        assert!(
            Cli::try_parse_from(["scimctl", "audit", "get", "--tenant", "t1"]).is_err(),
            "the sequence is required"
        );
        let cli = Cli::try_parse_from([
            "scimctl",
            "audit",
            "query",
            "--tenant",
            "t1",
            "--newest-first",
        ])
        .unwrap();
        let Command::Audit(AuditCommand::Query(args)) = cli.command else {
            panic!("not audit query");
        };
        assert!(args.newest_first);
    }

    #[test]
    fn audit_verify_needs_a_tenant() {
        let cli = Cli::try_parse_from(["scimctl", "audit", "verify", "--tenant", "t1"]).unwrap();
        let Command::Audit(AuditCommand::Verify(args)) = cli.command else {
            panic!("not audit verify");
        };
        assert_eq!(args.tenant, "t1");
        assert!(Cli::try_parse_from(["scimctl", "audit", "verify"]).is_err());
    }

    #[test]
    fn pool_upsert_parses_auto_assign_values() {
        let cli = Cli::try_parse_from([
            "scimctl",
            "pool",
            "upsert",
            "--tenant",
            "t",
            "--config",
            "c",
            "--app-instance",
            "sales-navigator",
            "--license-type",
            "core",
            "--seats",
            "10",
            "--auto-assign",
            "false",
        ])
        .unwrap();
        match cli.command {
            Command::Pool(PoolCommand::Upsert(args)) => {
                assert!(!args.auto_assign);
                assert_eq!(args.seats, 10);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn offering_set_and_pool_members_parse() {
        let cli = Cli::try_parse_from([
            "scimctl",
            "offering",
            "set",
            "--tenant",
            "t",
            "--application-instance",
            "sales-navigator",
            "--license-type",
            "core",
            "--seats",
            "25",
        ])
        .unwrap();
        match cli.command {
            Command::Offering(OfferingCommand::Set(args)) => {
                assert_eq!(args.application_instance, "sales-navigator");
                assert_eq!(args.seats, 25);
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli = Cli::try_parse_from([
            "scimctl",
            "pool",
            "members",
            "--pool",
            "p1",
            "--page-size",
            "2",
        ])
        .unwrap();
        match cli.command {
            Command::Pool(PoolCommand::Members(args)) => {
                assert_eq!((args.pool.as_str(), args.page_size), ("p1", Some(2)));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn config_update_takes_disable_or_enable() {
        let parse = |extra: &[&str]| {
            let args = ["scimctl", "config", "update", "--config", "c1"]
                .iter()
                .chain(extra)
                .copied()
                .collect::<Vec<_>>();
            Cli::try_parse_from(args).map(|cli| match cli.command {
                Command::Config(ConfigCommand::Update(args)) => args,
                other => panic!("unexpected {other:?}"),
            })
        };
        assert_eq!(parse(&["--disable"]).unwrap().disabled(), Some(true));
        assert_eq!(parse(&["--enable"]).unwrap().disabled(), Some(false));
        let renamed = parse(&["--name", "Okta EU", "--description", ""]).unwrap();
        assert_eq!(renamed.disabled(), None);
        assert_eq!(renamed.name.as_deref(), Some("Okta EU"));
        assert_eq!(renamed.description.as_deref(), Some(""));
        assert!(parse(&["--disable", "--enable"]).is_err());
    }

    #[test]
    fn token_rotate_needs_the_overlap() {
        assert!(Cli::try_parse_from(["scimctl", "token", "rotate", "--token", "k1"]).is_err());
        let cli = Cli::try_parse_from([
            "scimctl",
            "token",
            "rotate",
            "--token",
            "k1",
            "--overlap-hours",
            "48",
        ])
        .unwrap();
        match cli.command {
            Command::Token(TokenCommand::Rotate {
                token,
                overlap_hours,
                valid_days,
            }) => assert_eq!(
                (token.as_str(), overlap_hours, valid_days),
                ("k1", 48, None)
            ),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn admin_invite_names_the_tenant_and_optionally_the_email() {
        let cli = Cli::try_parse_from(["scimctl", "admin", "invite", "--tenant", "t1"]).unwrap();
        match cli.command {
            Command::Admin(AdminCommand::Invite { tenant, email }) => {
                assert_eq!((tenant.as_str(), email), ("t1", None));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cli::try_parse_from(["scimctl", "admin", "invite"]).is_err());
        let cli = Cli::try_parse_from([
            "scimctl",
            "admin",
            "invite",
            "--tenant",
            "t1",
            "--email",
            "ada@contoso.com",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Admin(AdminCommand::Invite { email: Some(_), .. })
        ));
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from(["scimctl", "tenant", "list", "--output", "json"]).unwrap();
        assert_eq!(cli.output, OutputFormat::Json);
    }
}
