//! `cargo xtask fuzz --seconds N [--target NAME]`: coverage-guided fuzzing of the parsers and
//! validators that client input reaches (the cargo-fuzz project in `fuzz/`).
//!
//! Why: `scim_model::limits` bounds every input so that no request can panic a service,
//! overflow its stack, or put an event the read models cannot store into the immutable
//! stream. The property tests sample that claim; libFuzzer searches for counter-examples,
//! guided by coverage. cargo-fuzz needs nightly Rust and sanitizer flags, so `fuzz/` is a
//! workspace of its own, cargo-fuzz is installed under `.local/cargo-fuzz` on first use, and
//! it runs with `cargo +nightly`. Each target starts from the seeds in `fuzz/corpus/<target>`
//! (committed) and grows a working corpus in `.local/fuzz/corpus/<target>` (not committed);
//! crashing inputs land in `fuzz/artifacts/<target>/`.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::sys;

/// The targets in `fuzz/fuzz_targets`, in the order they run.
pub const TARGETS: [&str; 5] = ["filter", "patch", "resource", "bulk", "cursor"];

/// libFuzzer options for every target: inputs up to twice the largest limit on a filter (so
/// the limit itself is crossed), and a hang is a failure too.
const LIBFUZZER_ARGS: [&str; 3] = ["-print_final_stats=1", "-max_len=8192", "-timeout=30"];

#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub seconds: u64,
    pub targets: Vec<&'static str>,
}

/// Parses `--seconds N [--target NAME]` (also `--seconds=N`, `--target=NAME`).
pub fn parse_args(args: &[String]) -> Result<Options> {
    let mut seconds = None;
    let mut target = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| rest.next().cloned())
                .with_context(|| format!("{name} needs a value"))
        };
        match name {
            "--seconds" => {
                let text = value()?;
                let parsed = text
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .with_context(|| format!("--seconds takes a positive integer, not {text:?}"))?;
                seconds = Some(parsed);
            }
            "--target" => {
                let text = value()?;
                let known = TARGETS.iter().find(|t| **t == text).with_context(|| {
                    format!(
                        "unknown fuzz target {text:?}; the targets are {}",
                        TARGETS.join(", ")
                    )
                })?;
                target = Some(*known);
            }
            other => bail!("xtask fuzz takes --seconds N [--target NAME], not {other:?}"),
        }
    }
    let seconds = seconds.context("xtask fuzz needs --seconds N")?;
    Ok(Options {
        seconds,
        targets: target.map_or_else(|| TARGETS.to_vec(), |t| vec![t]),
    })
}

/// What one libFuzzer run reported.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub executions: u64,
    pub crashes: u64,
    pub corpus: u64,
    /// The inputs libFuzzer wrote for crashes, hangs and OOMs.
    pub artifacts: Vec<String>,
}

/// Reads libFuzzer's output: `stat::number_of_executed_units: N` (from
/// `-print_final_stats=1`), the last `corp: N/…` status, and each `Test unit written to
/// PATH` (one per crash, leak, timeout or OOM). `None` when libFuzzer never got to report
/// (the build failed).
pub fn parse_output(log: &str) -> Option<Outcome> {
    let mut outcome = Outcome::default();
    let mut reported = false;
    for line in log.lines() {
        if let Some(rest) = line.trim().strip_prefix("stat::number_of_executed_units:") {
            outcome.executions = rest.trim().parse().unwrap_or(0);
            reported = true;
        }
        if let Some(at) = line.rfind("corp: ") {
            let digits: String = line[at + 6..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                outcome.corpus = n;
            }
        }
        if let Some(at) = line.find("Test unit written to ") {
            outcome.crashes += 1;
            outcome
                .artifacts
                .push(line[at + "Test unit written to ".len()..].trim().to_owned());
        }
    }
    reported.then_some(outcome)
}

/// The part of the log that explains a failure: from the panic message (or sanitizer or
/// libFuzzer report) through the stack trace, at most 60 lines.
pub fn crash_excerpt(log: &str) -> String {
    const MARKERS: [&str; 4] = [
        "panicked at",
        "==ERROR: AddressSanitizer",
        "ERROR: libFuzzer",
        "has overflowed its stack",
    ];
    let lines: Vec<&str> = log.lines().collect();
    let start = lines
        .iter()
        .position(|line| MARKERS.iter().any(|marker| line.contains(marker)))
        .unwrap_or(lines.len().saturating_sub(60));
    lines[start..]
        .iter()
        .take(60)
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn run(root: &Path, args: &[String]) -> Result<i32> {
    let options = parse_args(args)?;
    let cargo_fuzz_root = sys::local_dir(root)?.join("cargo-fuzz");
    ensure_cargo_fuzz(root, &cargo_fuzz_root)?;
    let work = sys::local_dir(root)?.join("fuzz");
    let mut failed = false;
    let mut summary = Vec::new();
    for target in &options.targets {
        let outcome = run_target(root, &cargo_fuzz_root, &work, target, options.seconds)?;
        let line = format!(
            "fuzz {target}: {} executions, {} crashes, corpus {}",
            outcome.executions, outcome.crashes, outcome.corpus
        );
        println!("{line}");
        summary.push(line);
        failed |= outcome.crashes > 0;
    }
    if options.targets.len() > 1 {
        println!("xtask: summary");
        for line in &summary {
            println!("  {line}");
        }
    }
    Ok(i32::from(failed))
}

/// `cargo install --locked cargo-fuzz --root .local/cargo-fuzz`, unless it is there.
fn ensure_cargo_fuzz(root: &Path, cargo_fuzz_root: &Path) -> Result<()> {
    if cargo_fuzz_root.join("bin").join("cargo-fuzz").is_file() {
        return Ok(());
    }
    println!(
        "xtask: installing cargo-fuzz into {}",
        cargo_fuzz_root.display()
    );
    let status = sys::cargo()
        .args(["install", "--locked", "cargo-fuzz", "--root"])
        .arg(cargo_fuzz_root)
        .current_dir(root)
        .stdin(Stdio::null())
        .status()
        .context("cannot run cargo install")?;
    if !status.success() {
        bail!("cargo install --locked cargo-fuzz failed ({status})");
    }
    Ok(())
}

/// `PATH` with cargo-fuzz first, then `$CARGO_HOME/bin` so that `cargo` is rustup's proxy
/// (which understands `+nightly`) even under `cargo run`.
fn fuzz_path(cargo_fuzz_root: &Path) -> Result<OsString> {
    let mut dirs: Vec<PathBuf> = vec![cargo_fuzz_root.join("bin")];
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).context("cannot build PATH for cargo-fuzz")
}

fn run_target(
    root: &Path,
    cargo_fuzz_root: &Path,
    work: &Path,
    target: &str,
    seconds: u64,
) -> Result<Outcome> {
    let corpus = work.join("corpus").join(target);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("cannot create {}", corpus.display()))?;
    let seeds = root.join("fuzz").join("corpus").join(target);
    let log_path = work.join(format!("{target}.log"));
    let log =
        File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    let log_err = log.try_clone().context("cannot share the log file")?;

    let mut command = Command::new("cargo");
    command
        .args([
            "+nightly",
            "fuzz",
            "run",
            "--debug-assertions",
            "--target-dir",
        ])
        .arg(root.join("fuzz").join("target"))
        .arg(target)
        // New inputs go to the first directory; the committed seeds stay as they are.
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args(LIBFUZZER_ARGS)
        .current_dir(root)
        .env("PATH", fuzz_path(cargo_fuzz_root)?)
        // Set by the `cargo run` that started xtask; they would pin the stable toolchain or
        // the main workspace's target directory.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    println!(
        "xtask: fuzzing {target} for {seconds} s (building first; log: {})",
        log_path.display()
    );
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", sys::describe(&command)))?;
    let text = std::fs::read_to_string(&log_path)
        .with_context(|| format!("cannot read {}", log_path.display()))?;
    let Some(mut outcome) = parse_output(&text) else {
        bail!(
            "{} failed ({status}) before libFuzzer reported:\n{}",
            sys::describe(&command),
            sys::tail(&log_path, 40)
        );
    };
    if !status.success() && outcome.crashes == 0 {
        outcome.crashes = 1;
    }
    if outcome.crashes > 0 {
        eprintln!(
            "xtask: fuzz target {target} failed ({status}); from {}:\n{}",
            log_path.display(),
            crash_excerpt(&text)
        );
        for artifact in &outcome.artifacts {
            eprintln!(
                "xtask: reproduce with: cargo +nightly fuzz run --debug-assertions {target} {artifact}"
            );
        }
    }
    Ok(outcome)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn arguments() {
        assert_eq!(
            parse_args(&args(&["--seconds", "60"])).unwrap(),
            Options {
                seconds: 60,
                targets: TARGETS.to_vec()
            }
        );
        assert_eq!(
            parse_args(&args(&["--target=patch", "--seconds=5"])).unwrap(),
            Options {
                seconds: 5,
                targets: vec!["patch"]
            }
        );
        for bad in [
            &[][..],
            &["--seconds"],
            &["--seconds", "0"],
            &["--seconds", "x"],
            &["--seconds", "1", "--target", "nope"],
            &["--seconds", "1", "--fast"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn libfuzzer_output() {
        let log = "\
#2\tINITED cov: 10 ft: 11 corp: 3/120b exec/s: 0 rss: 30Mb
#1024\tpulse  cov: 50 ft: 60 corp: 17/1020b lim: 4 exec/s: 512 rss: 31Mb
#70000\tDONE   cov: 77 ft: 90 corp: 42/3kb lim: 8192 exec/s: 1166 rss: 40Mb
Done 70000 runs in 61 second(s)
stat::number_of_executed_units: 70000
stat::average_exec_per_sec:     1147
";
        assert_eq!(
            parse_output(log),
            Some(Outcome {
                executions: 70000,
                crashes: 0,
                corpus: 42,
                artifacts: vec![]
            })
        );
        let crash = "\
#5\tNEW    cov: 9 ft: 9 corp: 4/20b
thread '<unnamed>' panicked at src/x.rs:1:1:
==1== ERROR: libFuzzer: deadly signal
artifact_prefix='fuzz/artifacts/filter/'; Test unit written to fuzz/artifacts/filter/crash-ab
stat::number_of_executed_units: 6
";
        let outcome = parse_output(crash).unwrap();
        assert_eq!(
            (outcome.executions, outcome.crashes, outcome.corpus),
            (6, 1, 4)
        );
        assert_eq!(outcome.artifacts, ["fuzz/artifacts/filter/crash-ab"]);
        assert!(crash_excerpt(crash).starts_with("thread '<unnamed>' panicked at src/x.rs"));
        assert_eq!(parse_output("error: could not compile"), None);
    }
}
