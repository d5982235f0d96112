//! Connecting to NATS the same way in every service, each with its own credential and reply
//! inbox (see `event_store::access` for what each may do once connected).

use event_store::access::{self, Service};
use scim_events::Namespace;

use crate::config::{ConfigError, optional};

const USER_VARIABLE: &str = "NATS_USER";
const PASSWORD_VARIABLE: &str = "NATS_PASSWORD";

/// What a service says when it cannot open the stream. The two usual causes where NATS
/// enforces permissions: the login was refused (async-nats logs each refused attempt as an
/// `authorization violation`), or the operator's setup step has not created the
/// stream, which a service may look up but not create.
pub const STREAM_SETUP_HINT: &str = "opening the event stream and the userName bucket; where \
     NATS enforces permissions, check that the server accepts NATS_USER and NATS_PASSWORD (a \
     refused login is logged as an authorization violation), and that `scimctl nats setup` \
     has created the stream and the bucket for this EVENT_NAMESPACE with the admin credential";

/// A NATS user and password (`NATS_USER`, `NATS_PASSWORD`). The password never shows in
/// `Debug` output, so a logged configuration does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: String,
    password: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credential {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    /// For the connection, and for a test that configures a server with it; never log it.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `NATS_USER` and `NATS_PASSWORD`, both or neither (`None`: connect without a credential,
    /// to a server that enforces no authorization).
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        match (
            optional(lookup, USER_VARIABLE),
            optional(lookup, PASSWORD_VARIABLE),
        ) {
            (None, None) => Ok(None),
            (Some(user), Some(password)) => Ok(Some(Self::new(user.trim(), password))),
            (Some(_), None) => Err(ConfigError::Missing {
                name: PASSWORD_VARIABLE,
                reason: "NATS_USER is set, so the service logs in to NATS and needs its password",
            }),
            (None, Some(_)) => Err(ConfigError::Missing {
                name: USER_VARIABLE,
                reason: "NATS_PASSWORD is set, so the service logs in to NATS and needs its user",
            }),
        }
    }
}

/// `NATS_URL` as given, refused when it carries a user or password: URLs end up in logs and
/// error messages, so the credential has variables of its own.
pub fn url_without_credential(url: String) -> Result<String, ConfigError> {
    let carries_userinfo = server_list(&url)
        .iter()
        .any(|server| server.split("://").last().unwrap_or(server).contains('@'));
    if carries_userinfo {
        return Err(ConfigError::Invalid {
            name: "NATS_URL",
            value: "<a URL with a user or password>".to_owned(),
            reason: "put the NATS login in NATS_USER and NATS_PASSWORD instead".to_owned(),
        });
    }
    Ok(url)
}

/// How one client presents itself to NATS.
#[derive(Debug, Clone)]
pub struct Login {
    /// The connection name the server shows in its monitoring.
    pub name: String,
    pub credential: Option<Credential>,
    /// Where JetStream sends this client's replies; `None` keeps the library's `_INBOX`.
    pub inbox_prefix: Option<String>,
    /// Keep trying the first connection in the background (a service starting before NATS);
    /// otherwise an unreachable server or a refused login fails the connect at once.
    pub wait_for_server: bool,
    /// `NATS_TLS_CA`: when set, the connection must be TLS and the server's certificate must
    /// chain to this CA (PEM).
    pub tls_ca: Option<std::path::PathBuf>,
}

impl Login {
    /// `service` of the deployment using `namespace`: its replies arrive below the inbox
    /// prefix only its user may subscribe to.
    pub fn service(
        service: Service,
        namespace: &Namespace,
        common: &crate::config::CommonConfig,
    ) -> Self {
        Self {
            name: service.user().to_owned(),
            credential: common.nats_credential.clone(),
            inbox_prefix: Some(access::inbox_prefix(namespace, service)),
            wait_for_server: true,
            tls_ca: common.nats_tls_ca.clone(),
        }
    }

    /// A tool (the setup step, the chaos checks) with full rights or on a server without
    /// authorization.
    pub fn tool(name: &str, credential: Option<Credential>) -> Self {
        Self {
            name: name.to_owned(),
            credential,
            inbox_prefix: None,
            wait_for_server: false,
            tls_ca: None,
        }
    }

    /// The same login over TLS, checking the server against `ca`, when `ca` is set.
    pub fn with_tls_ca(self, ca: Option<std::path::PathBuf>) -> Self {
        Self { tls_ca: ca, ..self }
    }
}

/// Connects to NATS as `login`. A service retries the first connection so that it can start
/// before NATS is ready (common under Kubernetes and docker-compose).
///
/// `url` may name several servers of a cluster, comma-separated: the client
/// connects to one and fails over to the others (and to any the cluster
/// announces) when that one goes away.
pub async fn connect(
    url: &str,
    login: &Login,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    let mut options = async_nats::ConnectOptions::new()
        .name(&login.name)
        .event_callback(|event| async move {
            // A refused publish or subscription arrives here, not at the call that made it
            // (that one times out): the log line is what names the subject.
            tracing::info!(%event, "nats connection event");
        });
    if login.wait_for_server {
        options = options.retry_on_initial_connect();
    }
    if let Some(credential) = &login.credential {
        options = options.user_and_password(credential.user.clone(), credential.password.clone());
    }
    if let Some(prefix) = &login.inbox_prefix {
        options = options.custom_inbox_prefix(prefix);
    }
    if let Some(ca) = &login.tls_ca {
        options = options.require_tls(true).add_root_certificates(ca.clone());
    }
    options.connect(server_list(url)).await
}

/// Why the setup step failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("connecting to NATS as the admin user failed: {0}")]
    Connect(#[from] async_nats::ConnectError),
    #[error("creating the event stream and the userName bucket failed: {0}")]
    Store(#[from] event_store::StoreError),
}

/// The operator's setup step: creates the event stream and the userName bucket of
/// `namespace` (idempotently: what exists is left as it is). Run it with the admin credential
/// before the services start; they may only look these up.
pub async fn setup(
    url: &str,
    credential: Option<Credential>,
    tls_ca: Option<std::path::PathBuf>,
    namespace: Namespace,
    settings: &event_store::StoreSettings,
) -> Result<(), SetupError> {
    let login = Login::tool("scim-nats-setup", credential).with_tls_ca(tls_ca);
    let client = connect(url, &login).await?;
    event_store::EventStore::connect(client.clone(), namespace, settings).await?;
    // Whatever is still buffered goes out before the connection closes.
    if let Err(error) = client.drain().await {
        tracing::debug!(%error, "draining the setup connection");
    }
    Ok(())
}

/// The servers of a `NATS_URL`: `async-nats` parses a plain string as one address, so a
/// comma-separated list is split here.
pub(crate) fn server_list(url: &str) -> Vec<&str> {
    url.split(',')
        .map(str::trim)
        .filter(|server| !server.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {

    use async_nats::ToServerAddrs as _;

    use super::*;
    use crate::config::tests::env;

    #[test]
    fn a_comma_separated_url_names_every_server_of_the_cluster() {
        let servers =
            server_list("nats://10.0.0.1:4222, nats://10.0.0.2:4222,nats://10.0.0.3:4222");
        let addrs: Vec<_> = servers.to_server_addrs().unwrap().collect();
        assert_eq!(addrs.len(), 3);
        assert_eq!(addrs[1].host(), "10.0.0.2");
        assert_eq!(
            server_list("nats://127.0.0.1:4222"),
            ["nats://127.0.0.1:4222"]
        );
    }

    #[test]
    fn a_credential_needs_both_variables_and_the_error_names_the_missing_one() {
        assert_eq!(Credential::from_lookup(&env(&[])).unwrap(), None);
        let credential = Credential::from_lookup(&env(&[
            ("NATS_USER", "scim-gateway"),
            ("NATS_PASSWORD", "s3cret-value"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(credential.user, "scim-gateway");
        let error = Credential::from_lookup(&env(&[("NATS_USER", "scim-gateway")])).unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::Missing {
                    name: "NATS_PASSWORD",
                    ..
                }
            ),
            "{error:?}"
        );
        let error =
            Credential::from_lookup(&env(&[("NATS_PASSWORD", "s3cret-value")])).unwrap_err();
        assert!(error.to_string().contains("NATS_USER"), "{error}");
    }

    #[test]
    fn a_url_with_a_login_is_refused_without_showing_it() {
        let error =
            url_without_credential("nats://a:4222,nats://me:s3cret@b:4222".into()).unwrap_err();
        assert!(error.to_string().contains("NATS_URL"), "{error}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert_eq!(
            url_without_credential("nats://a:4222".into()).unwrap(),
            "nats://a:4222"
        );
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let common = crate::config::CommonConfig::from_lookup(&env(&[
            ("ADMIN_TOKEN", "an-operator-credential-of-length"),
            ("NATS_USER", "scim-gateway"),
            ("NATS_PASSWORD", "s3cret-value"),
            ("NATS_TLS_CA", "/tls/nats-ca.pem"),
        ]))
        .unwrap();
        let login = Login::service(Service::Gateway, &Namespace::new("scim").unwrap(), &common);
        assert_eq!(
            login.tls_ca,
            Some(std::path::PathBuf::from("/tls/nats-ca.pem")),
            "NATS_TLS_CA reaches the connection"
        );
        let shown = format!("{login:?}");
        assert!(!shown.contains("s3cret-value"), "{shown}");
        assert!(shown.contains("scim-gateway"), "{shown}");
        assert!(shown.contains("_INBOX_scim_gateway"), "{shown}");
    }
}
