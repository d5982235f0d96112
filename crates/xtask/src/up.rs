//! `cargo xtask up`: the whole system on one machine, in the foreground.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::infra::{self, Infra};
use crate::nats_auth::NatsAuth;
use crate::restart::{Policy, Restarts};
use crate::supervisor::{self, STAGE_GATEWAY, STAGE_SERVICES, Supervisor};
use crate::sys;
use crate::urls::{HostPort, parse_host_port};

const DATABASES: [&str; 4] = [
    "scim_directory",
    "scim_license",
    "scim_audit",
    "scim_account_center",
];
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// One of the service binaries and its addresses.
struct Service {
    name: &'static str,
    stage: u8,
    /// Where readiness is checked: `GET <addr>/readyz` must answer 200.
    ready_addr: HostPort,
    /// Listen addresses that must be free before starting.
    listens: Vec<(&'static str, HostPort)>,
    env: Vec<(String, String)>,
}

fn addr_env(name: &'static str, default: &str) -> Result<(String, HostPort)> {
    let value = std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned());
    let hp = parse_host_port(value.trim(), 0).with_context(|| format!("{name}={value:?}"))?;
    if hp.port == 0 {
        bail!("{name}={value:?} needs an explicit port");
    }
    Ok((value, hp))
}

struct Plan {
    services: Vec<Service>,
    /// The CA the services' certificates chain to (`scimctl --ca`).
    ca: PathBuf,
    admin_token: String,
    base_url: String,
    directory_url: String,
    license_url: String,
    audit_url: String,
    /// Where admins open the account center.
    console_url: String,
}

/// The development CA and a certificate for each of `services` (named as the service, which
/// is its gRPC identity) in `dir`, issued once and kept: a new CA each run would only make an
/// earlier `SCIMCTL_CA` stale.
fn ensure_pki(dir: &Path, services: &[&str]) -> Result<()> {
    let issued = service_pki::ensure(
        dir,
        service_pki::DEVELOPMENT_CA_NAME,
        services,
        &["localhost", "127.0.0.1"],
    )?;
    if issued {
        eprintln!(
            "xtask: pki: issued a development CA and the services' certificates in {}",
            dir.display()
        );
    }
    Ok(())
}

/// The variables naming `service`'s certificate, key and CA in `pki`.
fn tls_env(pki: &Path, service: &str) -> Vec<(String, String)> {
    let files = service_pki::service_files(pki, service);
    [
        ("GRPC_TLS_CERT", files.cert),
        ("GRPC_TLS_KEY", files.key),
        ("GRPC_TLS_CA", files.ca),
    ]
    .into_iter()
    .map(|(variable, path)| (variable.to_owned(), path.display().to_string()))
    .collect()
}

fn plan(infra: &Infra, pki: &Path) -> Result<Plan> {
    let admin_token = std::env::var("ADMIN_TOKEN")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "dev-admin-token".to_owned());
    let common = vec![
        ("NATS_URL".to_owned(), infra.nats_url.clone()),
        ("ADMIN_TOKEN".to_owned(), admin_token.clone()),
        // A private stack on this machine: the development token (or any short one) is
        // allowed, and every service says so in a warning at start.
        ("ALLOW_DEV_ADMIN_TOKEN".to_owned(), "true".to_owned()),
    ];

    let mut services = Vec::new();
    let mut grpc_urls = Vec::new();
    for (name, db_var, db, grpc_var, grpc, metrics_var, metrics) in [
        (
            "directory-service",
            "DIRECTORY_DATABASE_URL",
            "scim_directory",
            "DIRECTORY_GRPC_ADDR",
            "127.0.0.1:50051",
            "DIRECTORY_METRICS_ADDR",
            "127.0.0.1:9101",
        ),
        (
            "license-service",
            "LICENSE_DATABASE_URL",
            "scim_license",
            "LICENSE_GRPC_ADDR",
            "127.0.0.1:50052",
            "LICENSE_METRICS_ADDR",
            "127.0.0.1:9102",
        ),
        (
            "audit-service",
            "AUDIT_DATABASE_URL",
            "scim_audit",
            "AUDIT_GRPC_ADDR",
            "127.0.0.1:50053",
            "AUDIT_METRICS_ADDR",
            "127.0.0.1:9103",
        ),
    ] {
        let (grpc_value, grpc_hp) = addr_env(grpc_var, grpc)?;
        let (metrics_value, metrics_hp) = addr_env(metrics_var, metrics)?;
        grpc_urls.push(format!(
            "https://{}",
            grpc_hp.connectable().to_addr_string()
        ));
        let mut env = common.clone();
        env.extend(tls_env(pki, name));
        env.push((db_var.to_owned(), infra.pg.with_db(db)));
        env.push((grpc_var.to_owned(), grpc_value));
        env.push((metrics_var.to_owned(), metrics_value));
        if name == "audit-service" {
            // Least privilege as in production: the log can be read and appended, no more
            // (the migration creates the role; the local login is a superuser).
            env.push((
                "AUDIT_DATABASE_ROLE".to_owned(),
                "scim_audit_writer".to_owned(),
            ));
        }
        services.push(Service {
            name,
            stage: STAGE_SERVICES,
            ready_addr: metrics_hp.connectable(),
            listens: vec![(grpc_var, grpc_hp), (metrics_var, metrics_hp)],
            env,
        });
    }
    let [directory_url, license_url, audit_url] = <[String; 3]>::try_from(grpc_urls)
        .map_err(|_| anyhow::anyhow!("expected three gRPC services"))?;

    let (http_value, http_hp) = addr_env("GATEWAY_HTTP_ADDR", "127.0.0.1:8080")?;
    let (gateway_metrics_value, gateway_metrics_hp) =
        addr_env("GATEWAY_METRICS_ADDR", "127.0.0.1:9100")?;
    let base_url = std::env::var("GATEWAY_PUBLIC_BASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| format!("http://{}/scim/v2", http_hp.connectable().to_addr_string()));
    let mut env = common.clone();
    env.extend(tls_env(pki, "scim-gateway"));
    env.push(("GATEWAY_HTTP_ADDR".to_owned(), http_value));
    env.push(("GATEWAY_METRICS_ADDR".to_owned(), gateway_metrics_value));
    env.push(("GATEWAY_PUBLIC_BASE_URL".to_owned(), base_url.clone()));
    env.push(("DIRECTORY_GRPC_URL".to_owned(), directory_url.clone()));
    services.push(Service {
        name: "scim-gateway",
        stage: STAGE_GATEWAY,
        // The public port serves SCIM only; readiness is on the ops port.
        ready_addr: gateway_metrics_hp.connectable(),
        listens: vec![
            ("GATEWAY_HTTP_ADDR", http_hp),
            ("GATEWAY_METRICS_ADDR", gateway_metrics_hp),
        ],
        env,
    });

    let (console_value, console_hp) = addr_env("ACCOUNT_CENTER_HTTP_ADDR", "127.0.0.1:8090")?;
    let (console_metrics_value, console_metrics_hp) =
        addr_env("ACCOUNT_CENTER_METRICS_ADDR", "127.0.0.1:9104")?;
    let console_url = std::env::var("ACCOUNT_CENTER_PUBLIC_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| format!("http://{}", console_hp.connectable().to_addr_string()));
    let mut env = common;
    env.extend(tls_env(pki, "account-center"));
    env.extend([
        (
            "ACCOUNT_CENTER_DATABASE_URL".to_owned(),
            infra.pg.with_db("scim_account_center"),
        ),
        ("ACCOUNT_CENTER_HTTP_ADDR".to_owned(), console_value),
        (
            "ACCOUNT_CENTER_METRICS_ADDR".to_owned(),
            console_metrics_value,
        ),
        ("ACCOUNT_CENTER_PUBLIC_URL".to_owned(), console_url.clone()),
        ("ACCOUNT_CENTER_SCIM_BASE_URL".to_owned(), base_url.clone()),
        ("DIRECTORY_GRPC_URL".to_owned(), directory_url.clone()),
        ("LICENSE_GRPC_URL".to_owned(), license_url.clone()),
        ("AUDIT_GRPC_URL".to_owned(), audit_url.clone()),
    ]);
    services.push(Service {
        name: "account-center",
        stage: STAGE_GATEWAY,
        ready_addr: console_metrics_hp.connectable(),
        listens: vec![
            ("ACCOUNT_CENTER_HTTP_ADDR", console_hp),
            ("ACCOUNT_CENTER_METRICS_ADDR", console_metrics_hp),
        ],
        env,
    });
    Ok(Plan {
        services,
        ca: service_pki::service_files(pki, "scim-gateway").ca,
        admin_token,
        base_url,
        directory_url,
        license_url,
        audit_url,
        console_url,
    })
}

/// Which cargo profile `up` builds and runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

pub fn run(supervisor: &mut Supervisor, root: &Path, profile: Profile) -> Result<i32> {
    // Built first: the NATS configuration is rendered by scimctl.
    // xtask itself is excluded: rebuilding it would replace the running
    // executable.
    let mut build = vec!["build", "--workspace", "--bins", "--exclude", "xtask"];
    if profile == Profile::Release {
        build.push("--release");
    }
    println!("xtask: cargo {}", build.join(" "));
    let status = sys::cargo()
        .args(&build)
        .current_dir(root)
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build failed ({status})");
    }
    let bin_dir = sys::target_dir(root).join(match profile {
        Profile::Debug => "debug",
        Profile::Release => "release",
    });
    let scimctl_bin = bin_dir.join("scimctl");
    let namespace = std::env::var("EVENT_NAMESPACE")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "scim".to_owned());
    let auth = if std::env::var("NATS_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!(
            "xtask: nats: NATS_URL is given, so xtask does not configure that server: NATS \
             permissions are enforced only if it was configured with `scimctl nats server-config`"
        );
        None
    } else {
        Some(NatsAuth::prepare(
            &sys::local_dir(root)?,
            &scimctl_bin,
            &namespace,
        )?)
    };
    let infra = infra::ensure(supervisor, root, auth.as_ref())?;
    infra::create_databases(&infra, &DATABASES)?;
    let pki = sys::local_dir(root)?.join("pki");
    let mut plan = plan(&infra, &pki)?;
    let identities: Vec<&str> = plan.services.iter().map(|service| service.name).collect();
    ensure_pki(&pki, &identities)?;
    if let Some(auth) = &auth {
        // Before any service: where permissions are enforced, services may not create these.
        auth.setup(&scimctl_bin, &infra.nats_url, &namespace)?;
        for service in &mut plan.services {
            service.env.extend(auth.login_env(service.name));
        }
    }

    for service in &plan.services {
        for (var, addr) in &service.listens {
            if !sys::port_free(addr) {
                bail!(
                    "{} ({var} of {}) is already in use. Is another stack running? Stop it, or set {var} to a free address.",
                    addr.to_addr_string(),
                    service.name
                );
            }
        }
    }

    let width = plan
        .services
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    let start = |supervisor: &mut Supervisor, index: usize, service: &Service| {
        let binary = bin_dir.join(service.name);
        if !binary.exists() {
            bail!(
                "{} was not built ({} is missing)",
                service.name,
                binary.display()
            );
        }
        let mut command = Command::new(&binary);
        command
            .current_dir(root)
            .envs(service.env.iter().map(|(k, v)| (k, v)));
        supervisor::spawn_prefixed(
            supervisor,
            command,
            service.name,
            service.stage,
            width,
            index,
        )
    };
    let mut restarts = Restarts::new(Policy::DEVELOPMENT);
    for (index, service) in plan.services.iter().enumerate() {
        start(supervisor, index, service)?;
        restarts.started(service.name, Instant::now());
    }

    wait_ready(supervisor, &plan.services)?;

    let demo = create_demo(&scimctl_bin, &plan)?;
    let env_file = write_stack_env(root, &plan, &infra, &demo)?;
    print_banner(&plan, &demo, &env_file, &bin_dir);

    // Foreground until xtask is interrupted (then the reaper stops everything). A service
    // that dies is started again, as its Deployment would be; NATS or Postgres dying ends
    // the stack, since nothing works without them.
    loop {
        while let Some((name, status)) = supervisor.exited() {
            let Some(scheduled) = restarts.exited(&name, Instant::now()) else {
                eprintln!("xtask: {name} exited ({status}); stopping the stack");
                return Ok(1);
            };
            eprintln!(
                "xtask: {name} exited ({status}) after {:.1} s; restart {} in {:.0} s",
                scheduled.ran_for.as_secs_f64(),
                scheduled.restart,
                scheduled.delay.as_secs_f64(),
            );
        }
        for name in restarts.due(Instant::now()) {
            let Some((index, service)) = plan
                .services
                .iter()
                .enumerate()
                .find(|(_, service)| service.name == name)
            else {
                continue;
            };
            eprintln!("xtask: starting {name} again");
            start(supervisor, index, service)?;
            restarts.started(&name, Instant::now());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_ready(supervisor: &mut Supervisor, services: &[Service]) -> Result<()> {
    let started = Instant::now();
    let mut pending: Vec<&Service> = services.iter().collect();
    while !pending.is_empty() {
        if let Some((name, status)) = supervisor.exited() {
            bail!("{name} exited ({status}) during start-up; see its output above");
        }
        pending.retain(|service| sys::http_status(&service.ready_addr, "/readyz") != Some(200));
        if pending.is_empty() {
            break;
        }
        if started.elapsed() > STARTUP_TIMEOUT {
            let waiting: Vec<String> = pending
                .iter()
                .map(|s| {
                    format!(
                        "{} (http://{}/readyz)",
                        s.name,
                        s.ready_addr.to_addr_string()
                    )
                })
                .collect();
            bail!(
                "not ready after {}s: {}",
                STARTUP_TIMEOUT.as_secs(),
                waiting.join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    println!(
        "xtask: all {} services are ready ({:.1}s)",
        services.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

struct Demo {
    tenant_id: String,
    config_id: String,
    token: String,
    token_id: String,
    pool_id: String,
    /// A one-time sign-in link to the account center for the demo tenant's admin.
    sign_in_url: String,
}

/// Runs `scimctl --output json <args>` and parses its one JSON object.
fn scimctl(binary: &Path, plan: &Plan, args: &[&str]) -> Result<Value> {
    let mut command = Command::new(binary);
    command
        .arg("--output")
        .arg("json")
        .args(args)
        .env("SCIMCTL_DIRECTORY_URL", &plan.directory_url)
        .env("SCIMCTL_LICENSE_URL", &plan.license_url)
        .env("SCIMCTL_AUDIT_URL", &plan.audit_url)
        .env("SCIMCTL_ACCOUNT_CENTER_URL", &plan.console_url)
        .env("SCIMCTL_CA", &plan.ca)
        .env("ADMIN_TOKEN", &plan.admin_token)
        .stdin(Stdio::null());
    sys::run_json(&mut command)
}

fn string_at(value: &Value, pointer: &str) -> Result<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .with_context(|| format!("no {pointer} in {value}"))
}

/// The id of the first element of `value[list]` whose `name` is `name`.
fn find_named(value: &Value, list: &str, name: &str) -> Option<String> {
    value
        .get(list)?
        .as_array()?
        .iter()
        .find(|item| item.get("name").and_then(Value::as_str) == Some(name))?
        .get("id")?
        .as_str()
        .map(str::to_owned)
}

/// Tenant "demo", configuration "Entra ID", a fresh token and a 10-seat
/// auto-assign pool. Re-running reuses the tenant and configuration.
fn create_demo(scimctl_bin: &Path, plan: &Plan) -> Result<Demo> {
    let tenants = scimctl(scimctl_bin, plan, &["tenant", "list"])?;
    let tenant_id = match find_named(&tenants, "tenants", "demo") {
        Some(id) => id,
        None => string_at(
            &scimctl(scimctl_bin, plan, &["tenant", "create", "demo"])?,
            "/id",
        )?,
    };
    let configs = scimctl(
        scimctl_bin,
        plan,
        &["config", "list", "--tenant", &tenant_id],
    )?;
    let config_id = match find_named(&configs, "configs", "Entra ID") {
        Some(id) => id,
        None => string_at(
            &scimctl(
                scimctl_bin,
                plan,
                &["config", "create", "--tenant", &tenant_id, "Entra ID"],
            )?,
            "/id",
        )?,
    };
    let issued = scimctl(
        scimctl_bin,
        plan,
        &["token", "issue", "--config", &config_id],
    )?;
    let token = string_at(&issued, "/secret")?;
    let token_id = string_at(&issued, "/info/id").unwrap_or_default();
    let pool = scimctl(
        scimctl_bin,
        plan,
        &[
            "pool",
            "upsert",
            "--tenant",
            &tenant_id,
            "--config",
            &config_id,
            "--app-instance",
            "sales-navigator",
            "--license-type",
            "core",
            "--seats",
            "10",
            "--auto-assign",
            "true",
        ],
    )?;
    let pool_id = string_at(&pool, "/id")?;
    // What the vendor offers the demo tenant, so its admin can switch auto-assign in the
    // account center.
    scimctl(
        scimctl_bin,
        plan,
        &[
            "offering",
            "set",
            "--tenant",
            &tenant_id,
            "--application-instance",
            "sales-navigator",
            "--license-type",
            "core",
            "--seats",
            "10",
        ],
    )?;
    let invite = scimctl(
        scimctl_bin,
        plan,
        &["admin", "invite", "--tenant", &tenant_id],
    )?;
    let sign_in_url = string_at(&invite, "/url")?;
    Ok(Demo {
        tenant_id,
        config_id,
        token,
        token_id,
        pool_id,
        sign_in_url,
    })
}

fn write_stack_env(root: &Path, plan: &Plan, infra: &Infra, demo: &Demo) -> Result<PathBuf> {
    let path = sys::local_dir(root)?.join("stack.env");
    let content = format!(
        "# Written by `cargo xtask up`; `set -a; . .local/stack.env; set +a` to use it.\n\
         SCIM_BASE_URL={}\n\
         SCIM_TOKEN={}\n\
         TENANT_ID={}\n\
         CONFIG_ID={}\n\
         POOL_ID={}\n\
         ADMIN_TOKEN={}\n\
         NATS_URL={}\n\
         TEST_DATABASE_URL={}\n\
         SCIMCTL_DIRECTORY_URL={}\n\
         SCIMCTL_LICENSE_URL={}\n\
         SCIMCTL_AUDIT_URL={}\n\
         SCIMCTL_ACCOUNT_CENTER_URL={}\n\
         SCIMCTL_CA={}\n\
         ACCOUNT_CENTER_URL={}\n",
        plan.base_url,
        demo.token,
        demo.tenant_id,
        demo.config_id,
        demo.pool_id,
        plan.admin_token,
        infra.nats_url,
        infra.maintenance_url(),
        plan.directory_url,
        plan.license_url,
        plan.audit_url,
        plan.console_url,
        plan.ca.display(),
        demo.sign_in_url,
    );
    // The file holds secrets: owner-only.
    let _ = std::fs::remove_file(&path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(content.as_bytes())?;
    Ok(path)
}

fn print_banner(plan: &Plan, demo: &Demo, env_file: &Path, bin_dir: &Path) {
    let scimctl = bin_dir.join("scimctl");
    println!(
        "\n\
         ================================================================\n\
         SCIM provisioning stack is up.\n\n\
         SCIM base URL : {base}\n\
         Bearer token  : {token}\n\
         (token id {token_id}; shown once, also saved in {env})\n\n\
         tenant {tenant} / config {config} / pool {pool} (sales-navigator, core, 10 seats, auto-assign)\n\n\
         Account center: {console}\n\
         Sign in as the demo tenant's admin (one-time link, valid 24 h):\n\
         \x20 {sign_in}\n\n\
         Try:\n\
         \x20 set -a; . {env}; set +a\n\
         \x20 curl -s -H \"Authorization: Bearer $SCIM_TOKEN\" \"$SCIM_BASE_URL/Users\"\n\
         \x20 {scimctl} pool list --tenant $TENANT_ID\n\
         \x20 {scimctl} audit query --tenant $TENANT_ID\n\n\
         Press Ctrl-C to stop everything.\n\
         ================================================================\n",
        base = plan.base_url,
        token = demo.token,
        token_id = if demo.token_id.is_empty() {
            "?"
        } else {
            &demo.token_id
        },
        env = env_file.display(),
        tenant = demo.tenant_id,
        config = demo.config_id,
        pool = demo.pool_id,
        console = plan.console_url,
        sign_in = demo.sign_in_url,
        scimctl = scimctl.display(),
    );
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_existing_demo_entities_by_name() {
        let tenants =
            json!({"tenants": [{"id": "t1", "name": "acme"}, {"id": "t2", "name": "demo"}]});
        assert_eq!(
            find_named(&tenants, "tenants", "demo").as_deref(),
            Some("t2")
        );
        assert_eq!(find_named(&tenants, "tenants", "nope"), None);
        assert_eq!(find_named(&json!({}), "configs", "Entra ID"), None);
    }

    #[test]
    fn plan_wires_addresses_and_databases() {
        let infra = Infra {
            nats_url: "nats://127.0.0.1:4222".into(),
            nats_server_bin: None,
            pg: crate::urls::PgServer::local(5432),
            pg_bindir: None,
        };
        let pki = std::path::PathBuf::from("/work/.local/pki");
        let plan = plan(&infra, &pki).unwrap();
        let gateway = plan
            .services
            .iter()
            .find(|s| s.name == "scim-gateway")
            .unwrap();
        let env: std::collections::HashMap<_, _> = gateway.env.iter().cloned().collect();
        assert!(env["DIRECTORY_GRPC_URL"].starts_with("https://"));
        assert!(env["GATEWAY_PUBLIC_BASE_URL"].ends_with("/scim/v2"));
        // The public port serves SCIM only: readiness is asked on the ops port.
        let ops = parse_host_port(&env["GATEWAY_METRICS_ADDR"], 0).unwrap();
        let public = parse_host_port(&env["GATEWAY_HTTP_ADDR"], 0).unwrap();
        assert_eq!(gateway.ready_addr.port, ops.port);
        assert_ne!(gateway.ready_addr.port, public.port);
        for service in &plan.services {
            let env: std::collections::HashMap<_, _> = service.env.iter().cloned().collect();
            assert_eq!(env["ALLOW_DEV_ADMIN_TOKEN"], "true", "{}", service.name);
            assert_eq!(env["ADMIN_TOKEN"], plan.admin_token, "{}", service.name);
            // Each service presents its own certificate.
            assert_eq!(
                env["GRPC_TLS_CERT"],
                format!("/work/.local/pki/{}.pem", service.name)
            );
            assert_eq!(env["GRPC_TLS_CA"], "/work/.local/pki/ca.pem");
        }
        let directory = plan
            .services
            .iter()
            .find(|s| s.name == "directory-service")
            .unwrap();
        let env: std::collections::HashMap<_, _> = directory.env.iter().cloned().collect();
        assert!(env["DIRECTORY_DATABASE_URL"].ends_with("/scim_directory"));
        assert_eq!(env["NATS_URL"], "nats://127.0.0.1:4222");
    }
}
