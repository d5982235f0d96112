//! Postgres over TLS: a service's pool with `sslmode=verify-full&sslrootcert=<CA>` reaches a
//! server that takes only TLS clients, and the connection is encrypted; the same server
//! refuses plaintext, and a server certificate from another CA is refused by the service.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private Postgres cluster on 127.0.0.1 that accepts TCP clients only over TLS, with the
/// certificate the test PKI issued to `directory-service` (it names 127.0.0.1).
struct TlsPostgres {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Postgres refuses to run as root: as root, the server runs as the `postgres` user.
fn server_user() -> Option<(u32, u32)> {
    if !is_root() {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "no postgres user to run the server as"
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    Some((id("-u"), id("-g")))
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim() == "0"
}

fn server_bindir() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("the PostgreSQL server packages (cargo xtask test installs them)")
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    candidates.sort();
    candidates.pop().expect("initdb under /usr/lib/postgresql")
}

fn as_server_user(command: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        command.gid(gid).uid(uid);
    }
    command
}

fn own(path: &Path, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
}

impl TlsPostgres {
    fn start() -> Self {
        let user = server_user();
        let bindir = server_bindir();
        let dir = std::env::temp_dir().join(format!("pg-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        own(&dir, user);
        let data = dir.join("data");
        let status = as_server_user(
            Command::new(bindir.join("initdb")).args([
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
            ]),
            user,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
        assert!(status.success(), "initdb failed");

        let files = test_support::pki::grpc_tls_files("directory-service");
        for (from, to) in [(&files.cert, "server.crt"), (&files.key, "server.key")] {
            let target = data.join(to);
            std::fs::copy(from, &target).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
            own(&target, user);
        }
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
        .unwrap();

        let port = free_port();
        let child = as_server_user(
            Command::new(bindir.join("postgres")).args([
                "-D",
                data.to_str().unwrap(),
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                &format!("unix_socket_directories={}", dir.display()),
                "-c",
                "ssl=on",
            ]),
            user,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let server = Self { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/tls_probe?{query}",
            self.port
        )
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Postgres can take a moment after its port opens before it accepts logins.
async fn connect_when_ready(url: &str) -> Result<sqlx::PgPool, sqlx::Error> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match service_kit::postgres::connect(url, 2).await {
            Err(error)
                if Instant::now() < deadline && error.to_string().contains("starting up") =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            result => return result,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_pool_talks_tls_to_a_server_of_its_ca_and_to_no_other() {
    let server = TlsPostgres::start();
    let ca = test_support::pki::grpc_tls_files("scim-gateway").ca;

    // verify-full with the deployment's CA: connected (the database created), over TLS.
    let pool = connect_when_ready(
        &server.url(&format!("sslmode=verify-full&sslrootcert={}", ca.display())),
    )
    .await
    .unwrap();
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(encrypted, "the connection is not encrypted");
    pool.close().await;

    // Plaintext is refused by the server's rules: TLS is not something the client chose.
    let error = connect_when_ready(&server.url("sslmode=disable"))
        .await
        .expect_err("a plaintext connection was accepted");
    assert!(error.to_string().contains("pg_hba.conf"), "{error}");

    // On loopback a URL without sslmode means plaintext (TLS there protects nothing), so
    // this server, which insists on TLS, refuses it too.
    let error = connect_when_ready(&server.url(""))
        .await
        .expect_err("loopback without sslmode negotiated TLS");
    assert!(error.to_string().contains("pg_hba.conf"), "{error}");

    // A server certificate from another CA: the service refuses the server.
    let foreign = server.dir.join("foreign-ca");
    service_pki::issue("another CA", &["db"], &["127.0.0.1"])
        .unwrap()
        .write(&foreign)
        .unwrap();
    let foreign_ca = service_pki::service_files(&foreign, "db").ca;
    let error = connect_when_ready(&server.url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        foreign_ca.display()
    )))
    .await
    .expect_err("a server of another CA was accepted");
    let text = error.to_string().to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("tls"),
        "{error}"
    );
}
