//! `cargo xtask chaos`: builds `scim-chaos` and runs its scenarios with the pinned
//! nats-server and the machine's PostgreSQL server programs (installed when absent), from
//! which it starts a private cluster of its own to crash.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{infra, sys};

pub fn run(root: &Path, args: &[String]) -> Result<i32> {
    let release = args.iter().any(|arg| arg == "--release");
    let passed: Vec<&String> = args.iter().filter(|arg| *arg != "--release").collect();
    let nats_server = infra::install_pinned_nats(&sys::local_dir(root)?)?;
    let pg_bindir = infra::postgres_server_bindir()?;

    let mut build = vec!["build", "-p", "scim-chaos"];
    if release {
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
    let binary = sys::target_dir(root)
        .join(if release { "release" } else { "debug" })
        .join("scim-chaos");
    let status = Command::new(&binary)
        .arg("run")
        .args(passed)
        .current_dir(root)
        .env("NATS_SERVER_BIN", &nats_server)
        .env("PG_BINDIR", &pg_bindir)
        .status()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    Ok(status.code().unwrap_or(1))
}
