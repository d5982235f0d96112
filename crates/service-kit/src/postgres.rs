//! Connecting to Postgres the same way in every service.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgPool};

/// Connects a pool to `url`, creating the database first when it is missing
/// (handy locally and in tests; production databases are provisioned ahead).
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    connect_bounded(url, max_connections, None).await
}

/// Like [`connect`], with every statement on the pool's connections cancelled by Postgres
/// after `statement_timeout`: for pools that serve tenants' requests, so no single query
/// (an unindexed filter over a huge tenant) can hold a connection for long.
pub async fn connect_bounded(
    url: &str,
    max_connections: u32,
    statement_timeout: Option<Duration>,
) -> Result<PgPool, sqlx::Error> {
    let mut options = PgConnectOptions::from_str(url)?;
    // sqlx's default, `prefer`, would negotiate TLS with a local server that offers it: a
    // handshake per connection and a cipher on every row, protecting nothing on loopback.
    if !crate::transport::names_ssl_mode(url) && crate::transport::is_local_database(&options) {
        options = options.ssl_mode(PgSslMode::Disable);
    }
    create_database_if_missing(&options).await?;
    if let Some(timeout) = statement_timeout {
        options = options.options([("statement_timeout", format!("{}", timeout.as_millis()))]);
    }
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // sqlx pings every connection on checkout by default: a second round
        // trip for every query. A broken connection fails its query instead,
        // which callers already handle (and the pool then replaces it).
        .test_before_acquire(false)
        .connect_with(options)
        .await
}

async fn create_database_if_missing(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let Some(database) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut maintenance = options.clone().database("postgres").connect().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&database)
            .fetch_one(&mut maintenance)
            .await?;
    if !exists {
        let statement = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
        // The name is quoted with embedded quotes doubled: identifiers cannot be bound.
        match sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut maintenance)
            .await
        {
            Ok(_) => {}
            // Another replica created it between our check and our create.
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("42P04") => {}
            Err(error) => return Err(error),
        }
    }
    maintenance.close().await
}
