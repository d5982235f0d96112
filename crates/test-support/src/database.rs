//! Throwaway Postgres databases: one per test, named at random, so tests run in parallel
//! without seeing each other's rows.

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection, PgPool};
use uuid::Uuid;

/// The maintenance database tests create theirs from (`TEST_DATABASE_URL`).
pub fn maintenance_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `url` with its database name replaced by `database`; a `?sslmode=…` query is kept.
pub fn database_url(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |index| index + 3);
    let root = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}

/// A database of its own for one test. Dropped by [`TestDatabase::drop_database`]; one left
/// behind by a failed test is untidy but harmless (its name says which test kind made it).
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDatabase {
    /// Creates `<prefix>_<random>` and a pool on it. `prefix` must be a plain identifier.
    pub async fn create(prefix: &str) -> Self {
        assert!(
            prefix.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "database prefix {prefix:?} must be lowercase letters and underscores"
        );
        // Only hex digits and underscores after the prefix, so interpolating it is safe.
        let name = format!("{prefix}_{}", &Uuid::new_v4().simple().to_string()[..16]);
        let maintenance = maintenance_url();
        let mut conn = PgConnection::connect(&maintenance)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "cannot reach the test Postgres at {maintenance} (set TEST_DATABASE_URL): {error}"
                )
            });
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|error| panic!("CREATE DATABASE {name}: {error}"));
        let _ = conn.close().await;
        let url = database_url(&maintenance, &name);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .unwrap_or_else(|error| panic!("connect to {name}: {error}"));
        Self { name, url, pool }
    }

    /// Like [`TestDatabase::create`], then applies `migrations`.
    pub async fn migrated(prefix: &str, migrations: &Migrator) -> Self {
        let database = Self::create(prefix).await;
        migrations
            .run(&database.pool)
            .await
            .unwrap_or_else(|error| panic!("migrating {}: {error}", database.name));
        database
    }

    /// Closes the pool and drops the database, also when other sessions are still on it.
    pub async fn drop_database(self) {
        self.pool.close().await;
        let mut conn = PgConnection::connect(&maintenance_url()).await.unwrap();
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|error| panic!("DROP DATABASE {}: {error}", self.name));
        let _ = conn.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn replaces_the_database_and_keeps_the_query() {
        assert_eq!(
            database_url("postgres://u@h:5432/postgres?sslmode=disable", "t_1"),
            "postgres://u@h:5432/t_1?sslmode=disable"
        );
        assert_eq!(
            database_url("postgres://u@h:5432", "t_1"),
            "postgres://u@h:5432/t_1"
        );
    }
}
