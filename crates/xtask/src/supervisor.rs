//! Starting child processes and stopping them again — also when xtask
//! itself is killed by Ctrl-C, SIGTERM or even SIGKILL.
//!
//! std cannot catch signals without `unsafe` (forbidden here) or a crate,
//! so cleanup is delegated to a *reaper*: a second xtask process
//! (`xtask __reaper`) in its own process group, whose stdin is a pipe whose
//! only write end is held by the main xtask. The main process tells the
//! reaper over that pipe what to stop (one tab-separated line per process or
//! command). When the main process exits — normally, with an error, or
//! killed by any signal — the kernel closes the pipe, the reaper reads EOF
//! and stops everything in order: the gateway, the other services, NATS,
//! Postgres. Children get their own process groups, so a Ctrl-C in the
//! terminal reaches only xtask (and the test runner), never the services,
//! which would otherwise all stop at once and in no particular order.
//!
//! Service output goes through `xtask __prefix <name>` helper processes
//! (also in their own process groups) that prefix each line. They exit at
//! end of input, so the services' shutdown logs are still printed after the
//! main xtask is gone.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, IsTerminal, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// The xtask executable, resolved once at start: a later `cargo build`
/// may replace the file, after which `current_exe()` names a deleted file.
static XTASK_EXE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Remembers the path of the running executable (call first thing in main).
pub fn remember_exe() {
    if let Ok(exe) = std::env::current_exe() {
        let _ = XTASK_EXE.set(exe);
    }
}

fn xtask_exe() -> Result<std::path::PathBuf> {
    match XTASK_EXE.get() {
        Some(exe) => Ok(exe.clone()),
        None => std::env::current_exe().context("cannot locate the xtask executable"),
    }
}

/// Shutdown stages, stopped in ascending order.
pub const STAGE_GATEWAY: u8 = 0;
pub const STAGE_SERVICES: u8 = 1;
pub const STAGE_NATS: u8 = 2;
pub const STAGE_POSTGRES: u8 = 3;

/// A supervised child of the main xtask.
struct Supervised {
    name: String,
    child: Child,
}

pub struct Supervisor {
    lifeline: Option<std::io::PipeWriter>,
    reaper: Option<Child>,
    children: Vec<Supervised>,
    /// The output helpers of the services: reaped once they end (with their service), so a
    /// service restarted many times leaves no zombies behind.
    helpers: Vec<Child>,
    /// How many things the reaper was told to stop.
    registered: usize,
}

impl Supervisor {
    /// Starts the reaper.
    pub fn start(root: &Path) -> Result<Self> {
        let (reader, writer) = std::io::pipe().context("cannot create the lifeline pipe")?;
        let mut command = Command::new(xtask_exe()?);
        command
            .arg("__reaper")
            .current_dir(root)
            .stdin(reader)
            .process_group(0);
        let reaper = command.spawn().context("cannot start the xtask reaper")?;
        drop(command);
        Ok(Self {
            lifeline: Some(writer),
            reaper: Some(reaper),
            children: Vec::new(),
            helpers: Vec::new(),
            registered: 0,
        })
    }

    fn tell(&mut self, line: &str) {
        if let Some(lifeline) = &mut self.lifeline
            && lifeline.write_all(format!("{line}\n").as_bytes()).is_err()
        {
            eprintln!("xtask: warning: the reaper is gone; stop leftover processes by hand");
            self.lifeline = None;
        }
    }

    /// Stops process group `pid` at `stage`: SIGTERM, then SIGKILL after
    /// `grace`.
    pub fn stop_process(&mut self, stage: u8, pid: u32, name: &str, grace: Duration) {
        self.registered += 1;
        self.tell(&format!(
            "proc\t{stage}\t{pid}\t{name}\t{}",
            grace.as_secs()
        ));
    }

    /// Runs `argv` at `stage` (e.g. `pg_ctl stop`).
    pub fn stop_command(&mut self, stage: u8, name: &str, argv: &[String]) {
        self.registered += 1;
        self.tell(&format!("cmd\t{stage}\t{name}\t{}", argv.join("\t")));
    }

    /// Whether anything was started that must be stopped at the end.
    pub fn owns_anything(&self) -> bool {
        self.registered > 0
    }

    /// Keeps `child` to watch it and to reap it at the end.
    pub fn adopt(&mut self, name: &str, child: Child) {
        self.children.push(Supervised {
            name: name.to_owned(),
            child,
        });
    }

    /// The first adopted child that has exited, if any.
    pub fn exited(&mut self) -> Option<(String, ExitStatus)> {
        self.helpers
            .retain_mut(|helper| matches!(helper.try_wait(), Ok(None)));
        let position = self
            .children
            .iter_mut()
            .position(|s| matches!(s.child.try_wait(), Ok(Some(_)) | Err(_)))?;
        let mut supervised = self.children.remove(position);
        let pid = supervised.child.id();
        // Tell the reaper the pid is gone: it may be reused by then.
        self.tell(&format!("gone\t{pid}"));
        let status = supervised
            .child
            .try_wait()
            .ok()
            .flatten()
            .unwrap_or_else(|| std::os::unix::process::ExitStatusExt::from_raw(1));
        Some((supervised.name, status))
    }

    /// Stops everything registered and waits until it is done.
    pub fn shutdown(&mut self) {
        // Reap children concurrently so the reaper sees them disappear
        // (an unreaped zombie still looks alive to `kill -0`).
        let children: Vec<Supervised> = std::mem::take(&mut self.children);
        if !children.is_empty() {
            std::thread::spawn(move || {
                for mut supervised in children {
                    let _ = supervised.child.wait();
                }
            });
        }
        self.lifeline = None;
        if let Some(mut reaper) = self.reaper.take() {
            let _ = reaper.wait();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Spawns `command` as a service: own process group, stdout and stderr
/// through a `__prefix` helper that labels each line with `name`. The
/// service is registered with the reaper (at `stage`) and adopted at once,
/// so it is stopped even if a later step fails.
pub fn spawn_prefixed(
    supervisor: &mut Supervisor,
    mut command: Command,
    name: &str,
    stage: u8,
    width: usize,
    color: usize,
) -> Result<()> {
    let exe = xtask_exe()?;
    let (reader, writer) = std::io::pipe().context("cannot create an output pipe")?;
    command
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {name} ({})", crate::sys::describe(&command)))?;
    supervisor.stop_process(stage, child.id(), name, Duration::from_secs(25));
    supervisor.adopt(name, child);
    // The Command holds copies of the pipe's write end: drop them, so the
    // helper sees EOF as soon as the service exits.
    drop(command);
    let mut prefixer = Command::new(exe);
    prefixer
        .args(["__prefix", name, &width.to_string(), &color.to_string()])
        .stdin(reader)
        .process_group(0);
    let helper = prefixer
        .spawn()
        .with_context(|| format!("cannot start the output helper for {name}"))?;
    supervisor.helpers.push(helper);
    Ok(())
}

/// `xtask __prefix <name> <width> <color>`: copies stdin to stdout, each line
/// prefixed with the name. Keeps draining input if stdout goes away, so the
/// writer never sees a broken pipe.
pub fn prefix_main(args: &[String]) -> i32 {
    let name = args.first().map_or("?", String::as_str);
    let width: usize = args
        .get(1)
        .and_then(|w| w.parse().ok())
        .unwrap_or(name.len());
    let color: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(0);
    let stdout = std::io::stdout();
    let label = if stdout.is_terminal() {
        const COLORS: [u8; 6] = [36, 32, 33, 35, 34, 31];
        let code = COLORS.get(color % COLORS.len()).copied().unwrap_or(36);
        format!("\x1b[{code}m{name:<width$} |\x1b[0m ")
    } else {
        format!("{name:<width$} | ")
    };
    let mut input = std::io::stdin().lock();
    let mut line = Vec::new();
    let mut out_ok = true;
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return 0,
            Ok(_) => {}
        }
        if out_ok {
            let mut out = stdout.lock();
            out_ok = out.write_all(label.as_bytes()).is_ok()
                && out.write_all(&line).is_ok()
                && (line.ends_with(b"\n") || out.write_all(b"\n").is_ok())
                && out.flush().is_ok();
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Process {
        pid: u32,
        name: String,
        grace: Duration,
    },
    Command {
        name: String,
        argv: Vec<String>,
    },
}

/// Parses the reaper protocol; returns entries by stage.
fn parse_entries(lines: impl Iterator<Item = String>) -> BTreeMap<u8, Vec<Entry>> {
    let mut stages: BTreeMap<u8, Vec<Entry>> = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["proc", stage, pid, name, grace] => {
                if let (Ok(stage), Ok(pid), Ok(grace)) = (stage.parse(), pid.parse(), grace.parse())
                {
                    stages.entry(stage).or_default().push(Entry::Process {
                        pid,
                        name: (*name).to_owned(),
                        grace: Duration::from_secs(grace),
                    });
                }
            }
            ["cmd", stage, name, argv @ ..] if !argv.is_empty() => {
                if let Ok(stage) = stage.parse() {
                    stages.entry(stage).or_default().push(Entry::Command {
                        name: (*name).to_owned(),
                        argv: argv.iter().map(|a| (*a).to_owned()).collect(),
                    });
                }
            }
            ["gone", pid] => {
                if let Ok(pid) = pid.parse::<u32>() {
                    for entries in stages.values_mut() {
                        entries
                            .retain(|e| !matches!(e, Entry::Process { pid: p, .. } if *p == pid));
                    }
                }
            }
            _ => {}
        }
    }
    stages
}

/// Whether `pid` is a live (not zombie) process.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) if Path::new("/proc/self/stat").exists() => false,
        Err(_) => signal_group(pid, "0", false),
    }
}

/// `kill -s <signal> -- -<pgid>` (the whole process group) through `sh`,
/// whose builtin kill exists everywhere.
fn signal_group(pid: u32, signal: &str, group: bool) -> bool {
    let target = if group {
        format!("-{pid}")
    } else {
        pid.to_string()
    };
    let script = if signal == "0" {
        format!("kill -0 {target}")
    } else {
        format!("kill -s {signal} -- {target}")
    };
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Prints a line on stderr, ignoring errors: the terminal may be gone
/// (hang-up) while the reaper still has work to do.
fn say(line: String) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// `xtask __reaper`: waits for EOF on stdin, then stops what it was told.
pub fn reaper_main() -> i32 {
    let lines = std::io::stdin().lock().lines().map_while(Result::ok);
    let stages = parse_entries(lines);
    if stages.values().all(Vec::is_empty) {
        return 0;
    }
    for entries in stages.values() {
        let processes: Vec<(u32, &str, Duration)> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Process { pid, name, grace } if alive(*pid) => {
                    Some((*pid, name.as_str(), *grace))
                }
                _ => None,
            })
            .collect();
        if !processes.is_empty() {
            let names: Vec<&str> = processes.iter().map(|(_, name, _)| *name).collect();
            say(format!("xtask: stopping {}", names.join(", ")));
            for (pid, _, _) in &processes {
                signal_group(*pid, "TERM", true);
            }
            let grace = processes
                .iter()
                .map(|(_, _, g)| *g)
                .max()
                .unwrap_or_default();
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline && processes.iter().any(|(pid, _, _)| alive(*pid)) {
                std::thread::sleep(Duration::from_millis(100));
            }
            for (pid, name, _) in &processes {
                if alive(*pid) {
                    say(format!(
                        "xtask: {name} did not stop within {}s; killing it",
                        grace.as_secs()
                    ));
                    signal_group(*pid, "KILL", true);
                }
            }
        }
        for entry in entries {
            if let Entry::Command { name, argv } = entry {
                say(format!("xtask: stopping {name}"));
                if let Some((program, args)) = argv.split_first() {
                    let result = Command::new(OsStr::new(program))
                        .args(args)
                        .stdin(Stdio::null())
                        .output();
                    match result {
                        Ok(output) if output.status.success() => {}
                        Ok(output) => say(format!(
                            "xtask: stopping {name} failed ({}): {}",
                            output.status,
                            String::from_utf8_lossy(&output.stderr).trim()
                        )),
                        Err(error) => say(format!("xtask: cannot run {program}: {error}")),
                    }
                }
            }
        }
    }
    say("xtask: everything stopped".to_owned());
    0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn protocol_parses_and_forgets_gone_processes() {
        let lines = [
            "proc\t0\t100\tscim-gateway\t15",
            "proc\t1\t101\tdirectory-service\t20",
            "cmd\t3\tpostgres\t/usr/bin/pg_ctl\t-D\t/data dir\tstop",
            "gone\t100",
            "garbage",
        ];
        let stages = parse_entries(lines.iter().map(|l| (*l).to_owned()));
        assert!(stages[&0].is_empty());
        assert_eq!(
            stages[&1],
            vec![Entry::Process {
                pid: 101,
                name: "directory-service".into(),
                grace: Duration::from_secs(20)
            }]
        );
        assert_eq!(
            stages[&3],
            vec![Entry::Command {
                name: "postgres".into(),
                argv: vec![
                    "/usr/bin/pg_ctl".into(),
                    "-D".into(),
                    "/data dir".into(),
                    "stop".into()
                ]
            }]
        );
    }

    #[test]
    fn liveness_of_own_process_and_a_reaped_child() {
        assert!(alive(std::process::id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid));
    }
}
