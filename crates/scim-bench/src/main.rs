//! `scim-bench`: drives a SCIM 2.0 endpoint the way an IdP does and reports latency
//! percentiles per request type. See `scim-bench --help`.
//!
//! Exit status: 0 when every request succeeded, 1 when some failed (the report is still
//! printed and written), 2 when the run could not start or finish.

mod cli;
mod client;
mod cpu;
mod modes;
mod payload;
mod stats;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(&cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("scim-bench: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: &cli::Cli) -> anyhow::Result<ExitCode> {
    let cpu_before = if cli.mode.common().cpu {
        Some(cpu::Snapshot::take().context("reading /proc for --cpu")?)
    } else {
        None
    };
    let mut report = modes::execute(&cli.mode).await?;
    if let Some(before) = cpu_before {
        let after = cpu::Snapshot::take().context("reading /proc for --cpu")?;
        report.cpu = Some(before.usage_until(&after));
    }
    print!("{}", report.render());
    if let Some(path) = &cli.mode.common().json {
        let json = serde_json::to_vec_pretty(&report).context("encoding the report")?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        println!("\nreport written to {}", path.display());
    }
    Ok(if report.total_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
