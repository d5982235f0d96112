//! The NATS users of `cargo xtask up`: the private nats-server it starts enforces the same
//! users and permissions as a deployment (`scimctl nats server-config`), each service logs in
//! with its own password, and the stream and bucket are made by `scimctl nats setup` with the
//! admin user before any service starts.
//!
//! The passwords are generated once and kept in `.local/nats-auth/passwords.env` (owner-only),
//! so that a server another xtask started, and the JetStream store, keep working across runs.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::sys;

/// One NATS user of the rendered configuration.
struct User {
    name: String,
    /// The nats-server's environment variable holding the password.
    variable: String,
    /// `gateway`, `directory`, `license`, `audit`; `None` for the admin.
    service: Option<String>,
    password: String,
}

pub struct NatsAuth {
    /// The rendered `authorization` block, passed to the server with `-c`.
    pub config: PathBuf,
    users: Vec<User>,
}

impl NatsAuth {
    /// Renders the configuration for `namespace` with `scimctl` and loads (or makes) the
    /// passwords under `local`.
    pub fn prepare(local: &Path, scimctl: &Path, namespace: &str) -> Result<Self> {
        let dir = local.join("nats-auth");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let rendered = sys::run_json(Command::new(scimctl).args([
            "--output",
            "json",
            "nats",
            "server-config",
            "--namespace",
            namespace,
        ]))?;
        let config_text = rendered
            .get("config")
            .and_then(Value::as_str)
            .context("scimctl nats server-config printed no config")?;
        let config = dir.join("server.conf");
        std::fs::write(&config, config_text)
            .with_context(|| format!("cannot write {}", config.display()))?;

        let passwords_path = dir.join("passwords.env");
        let mut passwords = read_passwords(&passwords_path)?;
        let mut users = Vec::new();
        let mut generated = false;
        for entry in rendered
            .get("users")
            .and_then(Value::as_array)
            .context("scimctl nats server-config printed no users")?
        {
            let field = |key: &str| {
                entry
                    .get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .with_context(|| format!("a user without {key}: {entry}"))
            };
            let variable = field("password_variable")?;
            let password = match passwords.get(&variable) {
                Some(password) => password.clone(),
                None => {
                    generated = true;
                    let password = random_password()?;
                    passwords.insert(variable.clone(), password.clone());
                    password
                }
            };
            users.push(User {
                name: field("user")?,
                variable,
                service: entry
                    .get("service")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                password,
            });
        }
        if generated {
            write_passwords(&passwords_path, &passwords)?;
        }
        Ok(Self { config, users })
    }

    /// The nats-server's environment: the passwords the configuration refers to.
    pub fn server_env(&self) -> Vec<(String, String)> {
        self.users
            .iter()
            .map(|user| (user.variable.clone(), user.password.clone()))
            .collect()
    }

    /// `NATS_USER` and `NATS_PASSWORD` of the service binary `binary` (`scim-gateway`,
    /// `directory-service`, …); none for one that does not use NATS.
    pub fn login_env(&self, binary: &str) -> Vec<(String, String)> {
        let token = binary
            .trim_start_matches("scim-")
            .trim_end_matches("-service");
        self.users
            .iter()
            .find(|user| user.service.as_deref() == Some(token))
            .map(|user| {
                vec![
                    ("NATS_USER".to_owned(), user.name.clone()),
                    ("NATS_PASSWORD".to_owned(), user.password.clone()),
                ]
            })
            .unwrap_or_default()
    }

    /// Creates the stream and the bucket as the admin user (`scimctl nats setup`).
    pub fn setup(&self, scimctl: &Path, nats_url: &str, namespace: &str) -> Result<()> {
        let admin = self
            .users
            .iter()
            .find(|user| user.service.is_none())
            .context("the rendered configuration has no admin user")?;
        sys::run_json(
            Command::new(scimctl)
                .args(["--output", "json", "nats", "setup", "--nats-url", nats_url])
                .args(["--namespace", namespace])
                .env("NATS_USER", &admin.name)
                .env("NATS_PASSWORD", &admin.password),
        )?;
        println!("xtask: nats: stream and userName bucket of namespace {namespace:?} are in place");
        Ok(())
    }
}

fn read_passwords(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    Ok(text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect())
}

fn write_passwords(path: &Path, passwords: &BTreeMap<String, String>) -> Result<()> {
    let mut content = String::from(
        "# NATS passwords of `cargo xtask up`'s private server (generated; owner-only).\n",
    );
    for (name, value) in passwords {
        content.push_str(&format!("{name}={value}\n"));
    }
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(content.as_bytes())?;
    Ok(())
}

/// 32 hex digits from the OS's randomness.
fn random_password() -> Result<String> {
    let mut bytes = [0_u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for a NATS password")?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_survive_a_round_trip_through_their_owner_only_file() {
        let dir = std::env::temp_dir().join(format!("xtask-nats-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("passwords.env");
        let mut passwords = BTreeMap::new();
        passwords.insert(
            "SCIM_ADMIN_NATS_PASSWORD".to_owned(),
            random_password().unwrap(),
        );
        write_passwords(&path, &passwords).unwrap();
        assert_eq!(read_passwords(&path).unwrap(), passwords);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_service_binary_finds_its_own_login() {
        let user = |name: &str, service: Option<&str>| User {
            name: name.to_owned(),
            variable: format!("{name}_VAR"),
            service: service.map(str::to_owned),
            password: format!("{name}-password"),
        };
        let auth = NatsAuth {
            config: PathBuf::new(),
            users: vec![
                user("scim-admin", None),
                user("scim-gateway", Some("gateway")),
                user("scim-directory", Some("directory")),
            ],
        };
        assert_eq!(
            auth.login_env("directory-service"),
            [
                ("NATS_USER".to_owned(), "scim-directory".to_owned()),
                (
                    "NATS_PASSWORD".to_owned(),
                    "scim-directory-password".to_owned()
                ),
            ]
        );
        assert_eq!(auth.login_env("scim-gateway")[0].1, "scim-gateway");
        assert!(auth.login_env("account-center").is_empty());
    }
}
