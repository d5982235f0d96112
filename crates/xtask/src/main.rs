//! Developer commands. `cargo xtask up` runs the whole system locally;
//! `cargo xtask test` runs the whole test suite. Both start NATS
//! (JetStream) and Postgres under `.local/` when none are reachable.
//! std + anyhow (+ serde_json to read scimctl's output) only.

mod chaos;
mod fuzz;
mod infra;
mod nats_auth;
mod restart;
mod supervisor;
mod sys;
mod test_cmd;
mod up;
mod urls;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <COMMAND>

Commands:
  up [--release]  Start NATS and Postgres if none are reachable, build and run
                  the five services, create a demo tenant, print the SCIM base
                  URL and a token (also written to .local/stack.env).
                  Runs in the foreground; Ctrl-C stops everything it started.
                  A service that exits is started again, as Kubernetes would
                  (at once, then after 1 s doubling to 30 s while it keeps
                  crashing); NATS or Postgres exiting stops the stack.
                  --release builds optimised binaries (for benchmarks).
  test [ARGS...]  Start NATS and Postgres if none are reachable, then run the
                  whole suite: `cargo nextest run --workspace --no-fail-fast`
                  (plus doctests) when cargo-nextest is installed, else
                  `cargo test --workspace --no-fail-fast`. ARGS are passed to
                  the test runner. Exits with the runner's code.
  infra           Only the infrastructure step: print the NATS_URL and
                  TEST_DATABASE_URL to export (for running tests from an IDE)
                  and, if private servers were started, keep them running
                  until Ctrl-C.
  fuzz --seconds N [--target NAME]
                  Run each cargo-fuzz target in fuzz/ (or only NAME) for N
                  seconds with nightly Rust, installing cargo-fuzz under
                  .local/cargo-fuzz when absent; one line per target with
                  executions, crashes and corpus size. Exits 1 on a crash.
  chaos [--release] [ARGS...]
                  Fault injection over the real stack: for each scenario, a
                  fresh stack of processes (two gateways, two directories,
                  license, audit), an Entra-shaped sync, one fault while it
                  runs (SIGKILL a service, restart NATS or PostgreSQL, lose a
                  node of a 3-node JetStream cluster, a rolling restart), then
                  what the client was told is checked against what is stored.
                  One line per scenario and a summary; exits 1 on any loss,
                  duplicate or broken invariant. ARGS go to `scim-chaos run`
                  (--scenario NAME, --users N, --concurrency N, ...; see
                  `scim-chaos run --help` and docs/reliability.md).
  help            Show this help.

Environment:
  NATS_URL       NATS server to use (default nats://127.0.0.1:4222)
  DATABASE_URL   Postgres server to use; its database part is ignored
                 (default postgres://postgres@127.0.0.1:5432/postgres)
  ADMIN_TOKEN    operator credential for the services (default dev-admin-token)
  *_ADDR, GATEWAY_PUBLIC_BASE_URL   service addresses (see docs/configuration.md)

Private servers keep their data in .local/nats and .local/pg.
";

/// Runs `body` with a supervisor; on error, reports it *before* stopping
/// what was started, then waits until everything is stopped.
fn supervised(
    root: &std::path::Path,
    body: impl FnOnce(&mut supervisor::Supervisor) -> anyhow::Result<i32>,
) -> anyhow::Result<i32> {
    let mut supervisor = supervisor::Supervisor::start(root)?;
    let result = body(&mut supervisor);
    let code = match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            1
        }
    };
    supervisor.shutdown();
    Ok(code)
}

fn infra_only(
    supervisor: &mut supervisor::Supervisor,
    root: &std::path::Path,
) -> anyhow::Result<i32> {
    let infra = infra::ensure(supervisor, root, None)?;
    println!("export NATS_URL={}", sys::shell_quote(&infra.nats_url));
    println!(
        "export TEST_DATABASE_URL={}",
        sys::shell_quote(&infra.maintenance_url())
    );
    if !supervisor.owns_anything() {
        return Ok(0);
    }
    println!("xtask: private servers are running; press Ctrl-C to stop them");
    loop {
        if let Some((name, status)) = supervisor.exited() {
            eprintln!("xtask: {name} exited ({status})");
            return Ok(1);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn main() -> ExitCode {
    supervisor::remember_exe();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = sys::repo_root();
    let result = match args.first().map(String::as_str) {
        Some("up") if args.len() == 1 => {
            supervised(&root, |sup| up::run(sup, &root, up::Profile::Debug))
        }
        Some("up") if args.len() == 2 && args[1] == "--release" => {
            supervised(&root, |sup| up::run(sup, &root, up::Profile::Release))
        }
        Some("up") => {
            eprintln!("xtask up takes only --release\n\n{HELP}");
            Ok(2)
        }
        Some("test") => supervised(&root, |sup| {
            test_cmd::run(sup, &root, args.get(1..).unwrap_or_default())
        }),
        Some("infra") => supervised(&root, |sup| infra_only(sup, &root)),
        Some("fuzz") => fuzz::run(&root, args.get(1..).unwrap_or_default()),
        Some("chaos") => chaos::run(&root, args.get(1..).unwrap_or_default()),
        Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(0)
        }
        // Internal helpers, started by xtask itself (see supervisor.rs).
        Some("__reaper") => Ok(supervisor::reaper_main()),
        Some("__prefix") => Ok(supervisor::prefix_main(args.get(1..).unwrap_or_default())),
        Some(other) => {
            eprintln!("unknown command {other:?}\n\n{HELP}");
            Ok(2)
        }
        None => {
            eprint!("{HELP}");
            Ok(2)
        }
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
