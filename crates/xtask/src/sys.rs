//! Small OS helpers on top of std: paths, users, TCP probes, commands.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::urls::HostPort;

/// The workspace root (xtask lives in `crates/xtask`).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.ancestors().nth(2).unwrap_or(manifest);
    root.canonicalize().unwrap_or_else(|_| root.to_path_buf())
}

/// `<root>/.local`, created on demand (git-ignored).
pub fn local_dir(root: &Path) -> Result<PathBuf> {
    let dir = root.join(".local");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The cargo that runs us (`$CARGO` under `cargo run`), else `cargo`.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // `cargo xtask` is `cargo run`, which describes the xtask package to it in these
    // variables. Passed on, they reach the build scripts of the nested build, some of which
    // (ring's) rerun when they change: every nested build would then rebuild ring, rustls
    // and async-nats, and the next plain `cargo` build would rebuild them back.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(describes_the_running_package) {
            command.env_remove(name);
        }
    }
    command
}

fn describes_the_running_package(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_MANIFEST_")
        || matches!(
            name,
            "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR"
        )
}

/// Cargo's target directory.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        _ => root.join("target"),
    }
}

/// The effective user id (Linux `/proc`, else `id -u`).
pub fn euid() -> Option<u32> {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let uid = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|id| id.parse().ok());
        if uid.is_some() {
            return uid;
        }
    }
    let output = Command::new("id").arg("-u").output().ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

pub fn is_root() -> bool {
    euid() == Some(0)
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Finds `name` on `PATH`, then in `extra` directories (e.g. `/usr/sbin`,
/// which is not on a normal user's `PATH`).
pub fn which(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Quotes a word for `sh`.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Whether something accepts TCP connections at `endpoint`.
pub fn tcp_reachable(endpoint: &HostPort, timeout: Duration) -> bool {
    connect(endpoint, timeout).is_some()
}

fn connect(endpoint: &HostPort, timeout: Duration) -> Option<TcpStream> {
    let addrs = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .ok()?;
    addrs
        .into_iter()
        .find_map(|addr| TcpStream::connect_timeout(&addr, timeout).ok())
}

/// The INFO line a NATS server sends on connect, if it is one.
pub fn nats_info(endpoint: &HostPort) -> Option<String> {
    let stream = connect(endpoint, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut line = String::new();
    BufReader::new(stream.take(16 * 1024))
        .read_line(&mut line)
        .ok()?;
    line.starts_with("INFO").then_some(line)
}

/// Whether `host:port` can be bound (nothing listens there).
pub fn port_free(endpoint: &HostPort) -> bool {
    TcpListener::bind(endpoint.to_addr_string()).is_ok()
}

/// A port the OS considers free on loopback right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free TCP port")?;
    Ok(listener.local_addr()?.port())
}

/// Status code of `GET http://<endpoint><path>`, or None when unreachable.
pub fn http_status(endpoint: &HostPort, path: &str) -> Option<u16> {
    let mut stream = connect(endpoint, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: */*\r\n\r\n",
        endpoint.to_addr_string()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line).ok()?;
    status_line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs a command to completion, capturing its output; fails with the
/// command line and its stderr when it exits non-zero.
pub fn run_captured(command: &mut Command) -> Result<Output> {
    let shown = describe(command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !output.status.success() {
        bail!(
            "{shown} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

/// A command line as a shell would show it.
pub fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| shell_quote(&word.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `lines` lines of a log file, for error messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A short stable hash (FNV-1a) for naming per-checkout temp directories.
pub fn short_hash(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:08x}", hash & 0xffff_ffff)
}

/// Runs `command` (no stdin) and parses the one JSON value it prints; a failure shows the
/// command and what it said.
pub fn run_json(command: &mut Command) -> Result<serde_json::Value> {
    command.stdin(Stdio::null());
    let shown = describe(command);
    let output = command
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !output.status.success() {
        bail!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "{shown} printed no JSON: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn the_nested_cargo_does_not_see_the_running_package() {
        for name in [
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_CRATE_NAME",
        ] {
            assert!(super::describes_the_running_package(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_JOBS",
            "PATH",
        ] {
            assert!(!super::describes_the_running_package(name), "{name}");
        }
    }

    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/usr/bin/pg_ctl"), "/usr/bin/pg_ctl");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn probes_see_a_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = HostPort {
            host: "127.0.0.1".into(),
            port: listener.local_addr().unwrap().port(),
        };
        assert!(tcp_reachable(&endpoint, Duration::from_secs(1)));
        assert!(!port_free(&endpoint));
        drop(listener);
        assert!(port_free(&endpoint));
    }

    #[test]
    fn http_status_reads_the_status_line() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0_u8; 1024];
            let _ = stream.read(&mut buf).unwrap();
            stream
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
        });
        let endpoint = HostPort {
            host: "127.0.0.1".into(),
            port,
        };
        assert_eq!(http_status(&endpoint, "/readyz"), Some(503));
        server.join().unwrap();
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(short_hash("/work/main"), short_hash("/work/main"));
        assert_ne!(short_hash("/a"), short_hash("/b"));
    }
}
