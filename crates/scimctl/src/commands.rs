//! Executes one parsed command against the admin gRPC APIs.

use std::time::Duration;

use anyhow::{Context, Result};
use scim_events::Namespace;
use scim_rpc::account::account_admin_client::AccountAdminClient;
use scim_rpc::account::{
    CreateScimConfigRequest, CreateTenantRequest, DeleteScimConfigRequest, IssueTokenRequest,
    ListScimConfigsRequest, ListTenantsRequest, ListTokensRequest, RevokeConfigTokensRequest,
    RevokeTokenRequest, RotateTokenRequest, UpdateScimConfigRequest,
};
use scim_rpc::audit::audit_query_client::AuditQueryClient;
use scim_rpc::audit::{AuditQueryRequest, FailureRateRequest, GetRecordRequest, VerifyRequest};
use scim_rpc::license::license_admin_client::LicenseAdminClient;
use scim_rpc::license::{
    AssignLicenseRequest, ListOfferingsRequest, ListPoolMembersRequest, ListPoolsRequest,
    RevokeLicenseRequest, UpsertOfferingRequest, UpsertPoolRequest, UserLicensesRequest,
};
use serde_json::json;
use tonic::Request;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::cli::{
    AdminCommand, AuditCommand, AuditGetArgs, AuditQueryArgs, AuditVerifyArgs, Cli, Command,
    ConfigCommand, FailureRateArgs, LicenseCommand, NatsCommand, OfferingCommand, PkiCommand,
    PoolCommand, PoolMembersArgs, ProjectionService, QuarantineCommand, ServerConfigFormat,
    TenantCommand, TokenCommand,
};
use crate::render::{self, FailedCheck, Rendered};

/// Connection settings shared by every command.
struct Ctx {
    authorization: MetadataValue<Ascii>,
    timeout: Duration,
}

impl Ctx {
    /// Wraps a message with the operator credential and a deadline.
    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", self.authorization.clone());
        request.set_timeout(self.timeout);
        request
    }
}

/// A TLS connection that checks the service's certificate against `--ca`; the operator
/// proves who it is with its credential, not a certificate.
async fn connect(cli: &Cli, service: &str, url: &str, flag: &str) -> Result<Channel> {
    if !url.starts_with("https://") {
        anyhow::bail!("{flag} {url:?}: the services speak TLS only; use https://");
    }
    let ca = std::fs::read(&cli.ca).with_context(|| {
        format!(
            "cannot read the CA certificate {} (--ca / SCIMCTL_CA)",
            cli.ca.display()
        )
    })?;
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    let endpoint = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("invalid {flag} {url:?}"))?
        .connect_timeout(Duration::from_secs(5))
        .tls_config(tls)
        .with_context(|| format!("TLS settings for {flag} {url:?}"))?;
    endpoint.connect().await.with_context(|| {
        format!("cannot connect to {service} at {url} (is it running? see {flag})")
    })
}

async fn account(cli: &Cli) -> Result<AccountAdminClient<Channel>> {
    let channel = connect(
        cli,
        "directory-service",
        &cli.directory_url,
        "--directory-url",
    )
    .await?;
    Ok(AccountAdminClient::new(channel))
}

async fn license(cli: &Cli) -> Result<LicenseAdminClient<Channel>> {
    let channel = connect(cli, "license-service", &cli.license_url, "--license-url").await?;
    Ok(LicenseAdminClient::new(channel))
}

async fn audit(cli: &Cli) -> Result<AuditQueryClient<Channel>> {
    let channel = connect(cli, "audit-service", &cli.audit_url, "--audit-url").await?;
    Ok(AuditQueryClient::new(channel))
}

fn non_empty(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

pub async fn run(cli: &Cli) -> Result<Rendered> {
    let authorization: MetadataValue<Ascii> = format!("Bearer {}", cli.admin_token)
        .parse()
        .context("--admin-token / ADMIN_TOKEN contains characters not allowed in a header")?;
    let ctx = Ctx {
        authorization,
        timeout: Duration::from_secs(cli.timeout_secs.max(1)),
    };

    match &cli.command {
        Command::Tenant(TenantCommand::Create { name }) => {
            let tenant = account(cli)
                .await?
                .create_tenant(ctx.request(CreateTenantRequest { name: name.clone() }))
                .await
                .context("create tenant")?
                .into_inner();
            Ok(Rendered {
                text: format!("created tenant {} ({})\n", tenant.id, tenant.name),
                json: render::tenant_json(&tenant),
            })
        }
        Command::Tenant(TenantCommand::List) => {
            let tenants = account(cli)
                .await?
                .list_tenants(ctx.request(ListTenantsRequest {}))
                .await
                .context("list tenants")?
                .into_inner()
                .tenants;
            Ok(Rendered {
                text: render::tenants_table(&tenants),
                json: json!({ "tenants": tenants.iter().map(render::tenant_json).collect::<Vec<_>>() }),
            })
        }
        Command::Config(ConfigCommand::Create {
            tenant,
            name,
            description,
        }) => {
            let config = account(cli)
                .await?
                .create_scim_config(ctx.request(CreateScimConfigRequest {
                    tenant_id: tenant.clone(),
                    name: name.clone(),
                    description: non_empty(description),
                }))
                .await
                .context("create SCIM configuration")?
                .into_inner();
            Ok(Rendered {
                text: format!(
                    "created SCIM configuration {} ({}) for tenant {}\n",
                    config.id, config.name, config.tenant_id
                ),
                json: render::config_json(&config),
            })
        }
        Command::Config(ConfigCommand::List { tenant }) => {
            let configs = account(cli)
                .await?
                .list_scim_configs(ctx.request(ListScimConfigsRequest {
                    tenant_id: tenant.clone(),
                }))
                .await
                .context("list SCIM configurations")?
                .into_inner()
                .configs;
            Ok(Rendered {
                text: render::configs_table(&configs),
                json: json!({ "configs": configs.iter().map(render::config_json).collect::<Vec<_>>() }),
            })
        }
        Command::Config(ConfigCommand::Update(args)) => {
            let config = account(cli)
                .await?
                .update_scim_config(ctx.request(UpdateScimConfigRequest {
                    config_id: args.config.clone(),
                    name: args.name.clone(),
                    description: args.description.clone(),
                    disabled: args.disabled(),
                }))
                .await
                .context("update SCIM configuration")?
                .into_inner();
            Ok(Rendered {
                text: format!(
                    "SCIM configuration {} ({}) is {}\n",
                    config.id,
                    config.name,
                    render::config_status(&config)
                ),
                json: render::config_json(&config),
            })
        }
        Command::Config(ConfigCommand::Delete { config }) => {
            let deleted = account(cli)
                .await?
                .delete_scim_config(ctx.request(DeleteScimConfigRequest {
                    config_id: config.clone(),
                }))
                .await
                .context("delete SCIM configuration")?
                .into_inner();
            Ok(Rendered {
                text: format!(
                    "deleted SCIM configuration {config}; {} tokens revoked\n",
                    deleted.tokens_revoked
                ),
                json: json!({ "config_id": config, "tokens_revoked": deleted.tokens_revoked }),
            })
        }
        Command::Token(TokenCommand::Issue { config, valid_days }) => {
            let issued = account(cli)
                .await?
                .issue_token(ctx.request(IssueTokenRequest {
                    config_id: config.clone(),
                    valid_days: valid_days.unwrap_or(0),
                }))
                .await
                .context("issue token")?
                .into_inner();
            warn_secret_shown_once();
            Ok(Rendered {
                text: render::issued_token_text(&issued),
                json: render::issued_token_json(&issued),
            })
        }
        Command::Token(TokenCommand::Rotate {
            token,
            overlap_hours,
            valid_days,
        }) => {
            let rotated = account(cli)
                .await?
                .rotate_token(ctx.request(RotateTokenRequest {
                    token_id: token.clone(),
                    overlap_hours: *overlap_hours,
                    valid_days: valid_days.unwrap_or(0),
                }))
                .await
                .context("rotate token")?
                .into_inner();
            warn_secret_shown_once();
            Ok(render::rotated_token(&rotated))
        }
        Command::Token(TokenCommand::List { config }) => {
            let tokens = account(cli)
                .await?
                .list_tokens(ctx.request(ListTokensRequest {
                    config_id: config.clone(),
                }))
                .await
                .context("list tokens")?
                .into_inner()
                .tokens;
            Ok(Rendered {
                text: render::tokens_table(&tokens),
                json: json!({ "tokens": tokens.iter().map(render::token_json).collect::<Vec<_>>() }),
            })
        }
        Command::Token(TokenCommand::RevokeAll { config }) => {
            let revoked = account(cli)
                .await?
                .revoke_config_tokens(ctx.request(RevokeConfigTokensRequest {
                    config_id: config.clone(),
                }))
                .await
                .context("revoke the configuration's tokens")?
                .into_inner()
                .revoked;
            Ok(Rendered {
                text: format!(
                    "revoked {} token(s) of config {config}\n{}",
                    revoked.len(),
                    render::tokens_table(&revoked)
                ),
                json: json!({ "revoked": revoked.iter().map(render::token_json).collect::<Vec<_>>() }),
            })
        }
        Command::Token(TokenCommand::Revoke { token_id }) => {
            let info = account(cli)
                .await?
                .revoke_token(ctx.request(RevokeTokenRequest {
                    token_id: token_id.clone(),
                }))
                .await
                .context("revoke token")?
                .into_inner();
            Ok(Rendered {
                text: format!(
                    "revoked token {} (config {}) at {}\n",
                    info.id,
                    info.config_id,
                    if info.revoked_at.is_empty() {
                        "now"
                    } else {
                        &info.revoked_at
                    }
                ),
                json: render::token_json(&info),
            })
        }
        Command::Pool(PoolCommand::Upsert(args)) => {
            let pool = license(cli)
                .await?
                .upsert_pool(ctx.request(UpsertPoolRequest {
                    tenant_id: args.tenant.clone(),
                    config_id: args.config.clone(),
                    application_instance: args.app_instance.clone(),
                    license_type: args.license_type.clone(),
                    seats: args.seats,
                    auto_assign: args.auto_assign,
                }))
                .await
                .context("upsert license pool")?
                .into_inner();
            Ok(Rendered {
                text: format!(
                    "pool {} ({}/{}): {}/{} seats used, auto-assign {}\n",
                    pool.id,
                    pool.application_instance,
                    pool.license_type,
                    pool.seats_used,
                    pool.seats,
                    if pool.auto_assign { "on" } else { "off" }
                ),
                json: render::pool_json(&pool),
            })
        }
        Command::Pool(PoolCommand::List { tenant }) => {
            let pools = license(cli)
                .await?
                .list_pools(ctx.request(ListPoolsRequest {
                    tenant_id: tenant.clone(),
                }))
                .await
                .context("list license pools")?
                .into_inner()
                .pools;
            Ok(Rendered {
                text: render::pools_table(&pools),
                json: json!({ "pools": pools.iter().map(render::pool_json).collect::<Vec<_>>() }),
            })
        }
        Command::Pool(PoolCommand::Members(args)) => pool_members(cli, &ctx, args).await,
        Command::Offering(command) => offering(cli, &ctx, command).await,
        Command::Licenses(args) => {
            let assignments = license(cli)
                .await?
                .user_licenses(ctx.request(UserLicensesRequest {
                    tenant_id: args.tenant.clone(),
                    user_id: args.user.clone(),
                }))
                .await
                .context("list user licenses")?
                .into_inner()
                .assignments;
            Ok(Rendered {
                text: render::assignments_table(&assignments),
                json: json!({
                    "assignments": assignments.iter().map(render::assignment_json).collect::<Vec<_>>()
                }),
            })
        }
        Command::License(LicenseCommand::Assign(args)) => {
            let assignment = license(cli)
                .await?
                .assign_license(ctx.request(AssignLicenseRequest {
                    pool_id: args.pool.clone(),
                    user_id: args.user.clone(),
                }))
                .await
                .context("assign license")?
                .into_inner();
            Ok(Rendered {
                text: format!(
                    "assigned a seat of pool {} to user {}\n",
                    assignment.pool_id, assignment.user_id
                ),
                json: render::assignment_json(&assignment),
            })
        }
        Command::License(LicenseCommand::Revoke(args)) => {
            let response = license(cli)
                .await?
                .revoke_license(ctx.request(RevokeLicenseRequest {
                    pool_id: args.pool.clone(),
                    user_id: args.user.clone(),
                }))
                .await
                .context("revoke license")?
                .into_inner();
            Ok(Rendered {
                text: if response.revoked {
                    format!("revoked user {}'s seat in pool {}\n", args.user, args.pool)
                } else {
                    format!("user {} held no seat in pool {}\n", args.user, args.pool)
                },
                json: json!({ "pool_id": args.pool, "user_id": args.user, "revoked": response.revoked }),
            })
        }
        Command::Audit(AuditCommand::Query(args)) => audit_query(cli, &ctx, args).await,
        Command::Audit(AuditCommand::Get(args)) => audit_get(cli, &ctx, args).await,
        Command::Audit(AuditCommand::FailureRate(args)) => failure_rate(cli, &ctx, args).await,
        Command::Audit(AuditCommand::Verify(args)) => audit_verify(cli, &ctx, args).await,
        Command::Quarantine(command) => quarantine(cli, &ctx, command).await,
        // No gRPC service is involved: the setup runs before any of them starts.
        Command::Nats(command) => nats(command).await,
        Command::Pki(PkiCommand::Issue { dir, hosts }) => pki_issue(dir, hosts),
        Command::Admin(AdminCommand::Invite { tenant, email }) => {
            crate::invite::invite(cli, tenant, email.as_deref()).await
        }
    }
}

async fn offering(cli: &Cli, ctx: &Ctx, command: &OfferingCommand) -> Result<Rendered> {
    let mut client = license(cli).await?;
    match command {
        OfferingCommand::Set(args) => {
            let offering = client
                .upsert_offering(ctx.request(UpsertOfferingRequest {
                    tenant_id: args.tenant.clone(),
                    application_instance: args.application_instance.clone(),
                    license_type: args.license_type.clone(),
                    seats: args.seats,
                }))
                .await
                .context("set offering")?
                .into_inner();
            Ok(render::offering_set(&offering))
        }
        OfferingCommand::List { tenant } => {
            let offerings = client
                .list_offerings(ctx.request(ListOfferingsRequest {
                    tenant_id: tenant.clone(),
                }))
                .await
                .context("list offerings")?
                .into_inner()
                .offerings;
            Ok(render::offerings(&offerings))
        }
    }
}

async fn pool_members(cli: &Cli, ctx: &Ctx, args: &PoolMembersArgs) -> Result<Rendered> {
    let response = license(cli)
        .await?
        .list_pool_members(ctx.request(ListPoolMembersRequest {
            pool_id: args.pool.clone(),
            page_size: args.page_size.unwrap_or(0),
            page_token: non_empty(&args.page_token),
        }))
        .await
        .context("list pool members")?
        .into_inner();
    Ok(render::pool_members(&response))
}

fn warn_secret_shown_once() {
    eprintln!(
        "warning: this is the only time the token secret is shown; it is stored only as a hash and cannot be retrieved again. Keep it somewhere safe."
    );
}

async fn quarantine(cli: &Cli, ctx: &Ctx, command: &QuarantineCommand) -> Result<Rendered> {
    use scim_rpc::quarantine::quarantine_admin_client::QuarantineAdminClient;
    use scim_rpc::quarantine::{ListQuarantinedRequest, RetryQuarantinedRequest};

    let service = match command {
        QuarantineCommand::List { service } | QuarantineCommand::Retry { service, .. } => *service,
    };
    let (name, url, flag) = match service {
        ProjectionService::Directory => {
            ("directory-service", &cli.directory_url, "--directory-url")
        }
        ProjectionService::License => ("license-service", &cli.license_url, "--license-url"),
        ProjectionService::Audit => ("audit-service", &cli.audit_url, "--audit-url"),
    };
    let mut client = QuarantineAdminClient::new(connect(cli, name, url, flag).await?);
    match command {
        QuarantineCommand::List { .. } => {
            let events = client
                .list(ctx.request(ListQuarantinedRequest {}))
                .await
                .context("list quarantined events")?
                .into_inner()
                .events;
            Ok(render::quarantined(&events))
        }
        QuarantineCommand::Retry { sequence, .. } => {
            let results = client
                .retry(ctx.request(RetryQuarantinedRequest {
                    sequence: sequence.unwrap_or(0),
                }))
                .await
                .context("retry quarantined events")?
                .into_inner()
                .results;
            Ok(render::retried(&results))
        }
    }
}

async fn audit_query(cli: &Cli, ctx: &Ctx, args: &AuditQueryArgs) -> Result<Rendered> {
    let response = audit(cli)
        .await?
        .query(ctx.request(AuditQueryRequest {
            tenant_id: args.tenant.clone(),
            from: non_empty(&args.from),
            to: non_empty(&args.to),
            target: non_empty(&args.target),
            operation: non_empty(&args.operation),
            outcome: non_empty(&args.outcome),
            actor: non_empty(&args.actor),
            correlation_id: non_empty(&args.correlation_id),
            page_size: args.page_size.unwrap_or(0),
            page_token: non_empty(&args.page_token),
            newest_first: args.newest_first,
        }))
        .await
        .context("query audit log")?
        .into_inner();
    let mut text = if response.records.is_empty() {
        "no matching audit records\n".to_owned()
    } else {
        render::audit_table(&response.records)
    };
    if !response.next_page_token.is_empty() {
        text.push_str(&format!(
            "\nmore records: repeat with --page-token {}\n",
            response.next_page_token
        ));
    }
    Ok(Rendered {
        text,
        json: json!({
            "records": response.records.iter().map(render::audit_record_json).collect::<Vec<_>>(),
            "next_page_token": if response.next_page_token.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::Value::String(response.next_page_token.clone())
            },
        }),
    })
}

async fn audit_get(cli: &Cli, ctx: &Ctx, args: &AuditGetArgs) -> Result<Rendered> {
    let record = audit(cli)
        .await?
        .get_record(ctx.request(GetRecordRequest {
            tenant_id: args.tenant.clone(),
            sequence: args.sequence,
        }))
        .await
        .context("get audit record")?
        .into_inner();
    Ok(render::audit_record(&record))
}

/// A broken chain is an answer, printed like any other, that fails the command: scripts and
/// cron jobs see the exit status.
async fn audit_verify(cli: &Cli, ctx: &Ctx, args: &AuditVerifyArgs) -> Result<Rendered> {
    let mut client = audit(cli).await?;
    let response = client
        .verify(ctx.request(VerifyRequest {
            tenant_id: args.tenant.clone(),
        }))
        .await
        .context("verify audit log")?
        .into_inner();
    if response.ok {
        return Ok(render::chain_verified(&args.tenant, &response));
    }
    // The broken record itself, when it is still there (a deleted one is reported at the
    // record after it, which is).
    let record = client
        .get_record(ctx.request(GetRecordRequest {
            tenant_id: args.tenant.clone(),
            sequence: response.broken_sequence,
        }))
        .await
        .ok()
        .map(tonic::Response::into_inner);
    Err(FailedCheck(render::chain_broken(
        &args.tenant,
        &response,
        record.as_ref(),
    ))
    .into())
}

async fn failure_rate(cli: &Cli, ctx: &Ctx, args: &FailureRateArgs) -> Result<Rendered> {
    let response = audit(cli)
        .await?
        .failure_rate(ctx.request(FailureRateRequest {
            tenant_id: args.tenant.clone(),
            config_id: non_empty(&args.config),
            from: non_empty(&args.from),
            to: non_empty(&args.to),
            bucket_seconds: args.bucket,
            threshold_percent: args.threshold.unwrap_or(0.0),
        }))
        .await
        .context("query failure rate")?
        .into_inner();
    Ok(render::failure_rate(&response))
}

fn pki_issue(dir: &std::path::Path, hosts: &[String]) -> Result<Rendered> {
    let services = service_kit::callers::ALL_SERVICES;
    let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let issued = service_pki::ensure(dir, service_pki::DEVELOPMENT_CA_NAME, &services, &hosts)
        .with_context(|| format!("issuing certificates into {}", dir.display()))?;
    let verb = if issued {
        "issued"
    } else {
        "kept the existing"
    };
    Ok(Rendered {
        text: format!(
            "{verb} CA and certificates of {} in {}\n",
            services.join(", "),
            dir.display()
        ),
        json: json!({
            "dir": dir.display().to_string(),
            "issued": issued,
            "services": services,
        }),
    })
}

async fn nats(command: &NatsCommand) -> Result<Rendered> {
    match command {
        NatsCommand::ServerConfig { namespace, format } => {
            let namespace = Namespace::new(namespace.clone()).context("--namespace")?;
            use event_store::access::{ADMIN_PASSWORD_VARIABLE, ADMIN_USER, Service};
            let config = match format {
                ServerConfigFormat::Nats => event_store::access::render_server_config(&namespace),
                ServerConfigFormat::Helm => event_store::access::render_helm_values(&namespace),
            };
            // Who logs in with which password variable, for a script that provisions them.
            let mut users = vec![json!({
                "user": ADMIN_USER,
                "password_variable": ADMIN_PASSWORD_VARIABLE,
                "service": null,
            })];
            users.extend(Service::ALL.iter().map(|service| {
                json!({
                    "user": service.user(),
                    "password_variable": service.password_variable(),
                    "service": service.token(),
                })
            }));
            Ok(Rendered {
                json: json!({ "namespace": namespace.name(), "config": config, "users": users }),
                text: config,
            })
        }
        NatsCommand::Setup {
            nats_url,
            namespace,
            replicas,
            nats_tls_ca,
        } => {
            let namespace = Namespace::new(namespace.clone()).context("--namespace")?;
            let url = service_kit::nats::url_without_credential(nats_url.clone())?;
            let credential =
                service_kit::nats::Credential::from_lookup(&service_kit::config::process_env)?;
            let settings = event_store::StoreSettings {
                replicas: *replicas,
                ..event_store::StoreSettings::default()
            };
            service_kit::nats::setup(
                &url,
                credential,
                nats_tls_ca.clone(),
                namespace.clone(),
                &settings,
            )
            .await?;
            Ok(Rendered {
                text: format!(
                    "stream {} and bucket {} are in place\n",
                    namespace.stream_name(),
                    namespace.username_bucket()
                ),
                json: json!({
                    "stream": namespace.stream_name(),
                    "bucket": namespace.username_bucket(),
                }),
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pki_issue_issues_once_and_then_keeps_what_it_issued() {
        let dir = std::env::temp_dir().join(format!("scimctl-pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = pki_issue(&dir, &["localhost".to_owned()]).unwrap();
        assert_eq!(first.json["issued"], true, "{}", first.text);
        let services = service_kit::callers::ALL_SERVICES;
        assert!(service_pki::complete(&dir, &services));
        let ca = std::fs::read(dir.join("ca.pem")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let key = service_pki::service_files(&dir, "scim-gateway").key;
            let mode = std::fs::metadata(key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "a key is readable by others: {mode:o}");
        }

        let second = pki_issue(&dir, &["localhost".to_owned()]).unwrap();
        assert_eq!(second.json["issued"], false, "{}", second.text);
        assert!(second.text.starts_with("kept"), "{}", second.text);
        assert_eq!(std::fs::read(dir.join("ca.pem")).unwrap(), ca);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
