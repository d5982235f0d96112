//! `cargo xtask test`: the whole suite against real NATS and Postgres.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{Context, Result};

use crate::infra;
use crate::supervisor::Supervisor;
use crate::sys;

pub fn run(supervisor: &mut Supervisor, root: &Path, extra_args: &[String]) -> Result<i32> {
    let infra = infra::ensure(supervisor, root, None)?;
    infra::ensure_browser()?;
    let test_database_url = infra.maintenance_url();
    // The restart tests run a nats-server of their own: the pinned one, also when NATS_URL
    // names the shared server, unless NATS_SERVER_BIN names another.
    let given_bin = std::env::var_os("NATS_SERVER_BIN").filter(|path| !path.is_empty());
    let nats_server_bin = match (given_bin, infra.nats_server_bin.clone()) {
        (Some(given), _) => PathBuf::from(given),
        (None, Some(pinned)) => pinned,
        (None, None) => infra::install_pinned_nats(&sys::local_dir(root)?).context(
            "the restart tests need the pinned nats-server; or set NATS_SERVER_BIN to one",
        )?,
    };
    println!("xtask: NATS_URL={}", infra.nats_url);
    println!("xtask: NATS_SERVER_BIN={}", nats_server_bin.display());
    println!("xtask: TEST_DATABASE_URL={test_database_url}");

    let cargo = |runner: &[&str], scope: &[&str]| {
        let mut command = sys::cargo();
        command
            .args(runner)
            .args(scope)
            .arg("--no-fail-fast")
            .args(extra_args)
            .current_dir(root)
            .env("NATS_URL", &infra.nats_url)
            .env("NATS_SERVER_BIN", &nats_server_bin)
            .env("TEST_DATABASE_URL", &test_database_url);
        command
    };

    // `-p <crate>` among the extra arguments narrows the run.
    let narrowed = extra_args.iter().any(|a| {
        a == "-p"
            || a == "--package"
            || a.starts_with("--package=")
            || (a.starts_with("-p") && a.len() > 2)
    });
    let scope: &[&str] = if narrowed { &[] } else { &["--workspace"] };
    // The lint discipline is checked, not kept by hand: formatting and clippy (warnings are
    // errors) run first on a full run. Every step runs even when an earlier one fails, so one
    // run tells everything; the last line names the steps that failed (a CI log is read from
    // its end), and the exit code is the first failure's.
    let mut steps: Vec<(&str, i32)> = Vec::new();
    let full_run = extra_args.is_empty();
    if full_run {
        steps.push((
            "cargo fmt --check",
            run_status(
                sys::cargo()
                    .args(["fmt", "--all", "--", "--check"])
                    .current_dir(root),
            )?,
        ));
        steps.push((
            "cargo clippy",
            run_status(
                sys::cargo()
                    .args([
                        "clippy",
                        "--workspace",
                        "--all-targets",
                        "--",
                        "-D",
                        "warnings",
                    ])
                    .current_dir(root),
            )?,
        ));
    }
    if nextest_available() {
        // nextest does not run doctests: run them first, so the runner's summary stays
        // near the end of the output.
        if full_run {
            let mut doc = sys::cargo();
            doc.args(["test", "--workspace", "--doc"])
                .current_dir(root)
                .env("NATS_URL", &infra.nats_url)
                .env("NATS_SERVER_BIN", &nats_server_bin)
                .env("TEST_DATABASE_URL", &test_database_url);
            steps.push(("doctests", run_status(&mut doc)?));
        }
        steps.push((
            "cargo nextest run",
            run_status(&mut cargo(&["nextest", "run"], scope))?,
        ));
    } else {
        println!("xtask: cargo-nextest is not installed; using cargo test");
        steps.push(("cargo test", run_status(&mut cargo(&["test"], scope))?));
    }
    Ok(verdict(&steps))
}

/// Prints which steps failed and returns the first failure's exit code (0 when none did).
fn verdict(steps: &[(&str, i32)]) -> i32 {
    let failed: Vec<String> = steps
        .iter()
        .filter(|(_, code)| *code != 0)
        .map(|(name, code)| format!("{name} (exit {code})"))
        .collect();
    if failed.is_empty() {
        println!("xtask: test: every step passed");
    } else {
        println!("xtask: test: FAILED: {}", failed.join(", "));
    }
    steps
        .iter()
        .map(|(_, code)| *code)
        .find(|code| *code != 0)
        .unwrap_or(0)
}

fn nextest_available() -> bool {
    sys::cargo()
        .args(["nextest", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn run_status(command: &mut Command) -> Result<i32> {
    println!("xtask: {}", sys::describe(command));
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", sys::describe(command)))?;
    Ok(exit_code(status))
}

/// The exit code to propagate (128 + signal when killed by one).
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::verdict;

    #[test]
    fn the_first_failing_step_decides_the_exit_code() {
        assert_eq!(verdict(&[("fmt", 0), ("clippy", 0), ("nextest", 0)]), 0);
        assert_eq!(verdict(&[("fmt", 1), ("clippy", 0), ("nextest", 100)]), 1);
        assert_eq!(verdict(&[("fmt", 0), ("clippy", 0), ("nextest", 100)]), 100);
    }
}
