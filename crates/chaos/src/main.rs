//! `scim-chaos run …` runs the fault-injection scenarios; `scim-chaos service <name>` is how
//! the harness starts each service process. `cargo xtask chaos` builds this and runs it with
//! the pinned nats-server and a private PostgreSQL.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use scim_chaos::{Database, Fault, Settings, SyncPlan};

#[derive(Parser)]
#[command(
    name = "scim-chaos",
    about = "Kill anything, lose nothing: fault injection over the real stack"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios (all by default) and print one line per scenario and a summary.
    Run(RunArgs),
    /// Run one service of the platform in this process (used by `run`).
    Service { name: String },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Only these scenarios (repeatable).
    #[arg(long = "scenario", value_enum)]
    scenarios: Vec<Fault>,
    #[arg(long, default_value_t = 2000)]
    users: usize,
    #[arg(long, default_value_t = 10)]
    groups: usize,
    #[arg(long, default_value_t = 200)]
    group_size: usize,
    /// License seats in the pool (default: three quarters of the users).
    #[arg(long)]
    seats: Option<usize>,
    /// Every n-th user is set inactive at the end of the sync.
    #[arg(long, default_value_t = 9)]
    leaver_every: usize,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// The fault comes once this share of the sync's requests is answered.
    #[arg(long, default_value_t = 0.3)]
    fault_at: f64,
    /// How long a killed process stays down.
    #[arg(long, default_value_t = 2000)]
    down_for_ms: u64,
    /// Logs and NATS stores, one folder per scenario.
    #[arg(long, default_value = ".local/chaos")]
    work_dir: PathBuf,
    /// Use this PostgreSQL server (a maintenance URL) instead of a private cluster; the
    /// postgres-restart scenario is then refused.
    #[arg(long, env = "CHAOS_DATABASE_URL")]
    database_url: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Service { name } => scim_chaos::serve(&name).await,
        Command::Run(args) => match run(args).await {
            Ok(code) => code,
            Err(error) => {
                eprintln!("scim-chaos: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let scenarios = if args.scenarios.is_empty() {
        Fault::ALL.to_vec()
    } else {
        args.scenarios.clone()
    };
    let work_dir = std::path::absolute(&args.work_dir)?;
    std::fs::create_dir_all(&work_dir)?;
    let private = match &args.database_url {
        Some(_) => None,
        None => {
            let run = uuid::Uuid::new_v4().simple().to_string();
            let dir = work_dir.join(format!("postgres-{}", &run[..8]));
            Some(scim_chaos::infra::Postgres::start(&dir).await?)
        }
    };
    let database = match (&private, &args.database_url) {
        (Some(postgres), _) => Database::Private(postgres),
        (None, Some(url)) => Database::Shared(url.clone()),
        (None, None) => anyhow::bail!("no PostgreSQL"),
    };
    let settings = Settings {
        plan: SyncPlan {
            users: args.users,
            groups: args.groups,
            group_size: args.group_size,
            leaver_every: args.leaver_every,
            concurrency: args.concurrency,
        },
        seats: args.seats.unwrap_or(args.users * 3 / 4),
        fault_at: args.fault_at,
        down_for: Duration::from_millis(args.down_for_ms),
        work_dir: work_dir.clone(),
        exe: std::env::current_exe()?,
        nats_server: scim_chaos::infra::nats_server_binary()?,
        database,
    };
    println!(
        "chaos: {} users, {} groups of {}, {} seats, concurrency {}, fault at {:.0} % of the sync; logs in {}",
        args.users,
        args.groups,
        args.group_size,
        settings.seats,
        args.concurrency,
        args.fault_at * 100.0,
        work_dir.display()
    );
    let mut outcomes = Vec::new();
    let mut failed = false;
    for fault in scenarios {
        match scim_chaos::scenario::run(fault, &settings).await {
            Ok(outcome) => {
                println!("{}", outcome.line());
                if !outcome.verdict.passed() {
                    failed = true;
                    for line in outcome.verdict.violations.iter().chain(&outcome.samples) {
                        println!("    {line}");
                    }
                }
                outcomes.push(outcome);
            }
            Err(error) => {
                failed = true;
                println!("chaos {}: ERROR {error:#}", fault.name());
            }
        }
    }
    println!("{}", scim_chaos::summary(&outcomes));
    if let Some(postgres) = &private {
        postgres.stop().await;
        postgres.remove();
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
