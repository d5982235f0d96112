//! Just enough URL parsing for NATS and Postgres connection strings
//! (no dependency on a URL crate).

use anyhow::{Context, Result, bail};

/// A TCP endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    /// `host:port`, with brackets around IPv6 literals.
    pub fn to_addr_string(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "127.0.0.1" | "localhost" | "::1")
    }

    /// The address to connect to for a listen address: `0.0.0.0` and `::`
    /// (any interface) are reached through loopback.
    pub fn connectable(&self) -> HostPort {
        let host = match self.host.as_str() {
            "0.0.0.0" | "" => "127.0.0.1".to_owned(),
            "::" => "::1".to_owned(),
            other => other.to_owned(),
        };
        HostPort {
            host,
            port: self.port,
        }
    }
}

/// Splits `host[:port]` / `[v6][:port]`.
pub fn parse_host_port(authority: &str, default_port: u16) -> Result<HostPort> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .with_context(|| format!("unterminated IPv6 address in {authority:?}"))?;
        (host.to_owned(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        }
    };
    let port = match port {
        None | Some("") => default_port,
        Some(port) => port
            .parse()
            .with_context(|| format!("invalid port {port:?} in {authority:?}"))?,
    };
    Ok(HostPort { host, port })
}

/// The first server of a `NATS_URL` (`nats://[user:pass@]host[:port][,...]`).
pub fn nats_endpoint(url: &str) -> Result<HostPort> {
    let first = url.split(',').next().unwrap_or_default().trim();
    let rest = first.split_once("://").map_or(first, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if authority.is_empty() {
        bail!("NATS_URL {url:?} names no host");
    }
    let mut endpoint = parse_host_port(authority, 4222)?;
    if endpoint.host.is_empty() {
        endpoint.host = "127.0.0.1".into();
    }
    Ok(endpoint)
}

/// A Postgres server URL without its database:
/// `postgres://[userinfo@]host:port/<db>[?query]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgServer {
    scheme: String,
    userinfo: String,
    pub endpoint: HostPort,
    query: String,
}

impl PgServer {
    pub fn parse(url: &str) -> Result<Self> {
        let (scheme, rest) = url
            .split_once("://")
            .with_context(|| format!("{url:?} is not a postgres:// URL"))?;
        if scheme != "postgres" && scheme != "postgresql" {
            bail!("{url:?} is not a postgres:// URL");
        }
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, format!("?{query}")),
            None => (rest, String::new()),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (userinfo.to_owned(), host_port),
            None => (String::new(), authority),
        };
        let mut endpoint = parse_host_port(host_port, 5432)?;
        if endpoint.host.is_empty() {
            endpoint.host = "127.0.0.1".into();
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            userinfo,
            endpoint,
            query,
        })
    }

    /// A trust-auth server on loopback (the private cluster xtask starts).
    pub fn local(port: u16) -> Self {
        Self {
            scheme: "postgres".into(),
            userinfo: "postgres".into(),
            endpoint: HostPort {
                host: "127.0.0.1".into(),
                port,
            },
            query: String::new(),
        }
    }

    /// The URL of database `db` on this server.
    pub fn with_db(&self, db: &str) -> String {
        let at = if self.userinfo.is_empty() { "" } else { "@" };
        format!(
            "{}://{}{at}{}/{db}{}",
            self.scheme,
            self.userinfo,
            self.endpoint.to_addr_string(),
            self.query
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nats_urls() {
        let hp = nats_endpoint("nats://127.0.0.1:4222").unwrap();
        assert_eq!(hp.to_addr_string(), "127.0.0.1:4222");
        let hp = nats_endpoint("nats://u:p@nats.example:4333,nats://other:4222").unwrap();
        assert_eq!(hp.to_addr_string(), "nats.example:4333");
        assert_eq!(nats_endpoint("localhost").unwrap().port, 4222);
        assert_eq!(
            nats_endpoint("tls://[::1]:5000").unwrap().to_addr_string(),
            "[::1]:5000"
        );
        assert!(nats_endpoint("nats://").is_err());
    }

    #[test]
    fn postgres_urls_keep_credentials_and_query() {
        let pg = PgServer::parse("postgres://app:s3cret@db.internal:6432/anything?sslmode=require")
            .unwrap();
        assert_eq!(
            pg.with_db("scim_audit"),
            "postgres://app:s3cret@db.internal:6432/scim_audit?sslmode=require"
        );
        let pg = PgServer::parse("postgresql://127.0.0.1").unwrap();
        assert_eq!(
            pg.with_db("postgres"),
            "postgresql://127.0.0.1:5432/postgres"
        );
        assert_eq!(
            PgServer::local(5544).with_db("scim_directory"),
            "postgres://postgres@127.0.0.1:5544/scim_directory"
        );
        assert!(PgServer::parse("mysql://x").is_err());
    }

    #[test]
    fn listen_addresses_become_connectable() {
        let any = parse_host_port("0.0.0.0:8080", 0).unwrap();
        assert_eq!(any.connectable().to_addr_string(), "127.0.0.1:8080");
        let v6 = parse_host_port("[::]:9101", 0).unwrap();
        assert_eq!(v6.connectable().to_addr_string(), "[::1]:9101");
    }
}
