//! Throwaway Postgres databases for the account-center tests.
//!
//! Each test gets its own freshly migrated database, so tests run in
//! parallel without seeing each other's rows, and the schema under test is
//! whatever `migrations/` holds at build time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _, PgPool};
use uuid::Uuid;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Runs `test` against a new, migrated database and drops the database
/// afterwards, also when the test panics (the panic is then re-raised).
pub(crate) async fn with_database<F, Fut>(test: F)
where
    F: FnOnce(PgPool) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let admin: PgConnectOptions = url
        .parse()
        .unwrap_or_else(|error| panic!("bad TEST_DATABASE_URL {url:?}: {error}"));
    // Only hex digits and underscores, so interpolating it is safe.
    let name = format!("test_acc_{}", Uuid::new_v4().simple());

    let mut conn = admin.connect().await.unwrap_or_else(|error| {
        panic!("cannot reach the test Postgres at {url} (set TEST_DATABASE_URL): {error}")
    });
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|error| panic!("CREATE DATABASE {name}: {error}"));
    let _ = conn.close().await;

    let options = admin.clone().database(&name);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_lazy_with(options);
    // Futures are lazy, so nothing in `test` runs before the migrations.
    let test = test(pool.clone());
    let migrated = pool.clone();
    let outcome = tokio::spawn(async move {
        crate::migrate(&migrated)
            .await
            .expect("migrations apply to an empty database");
        test.await;
    })
    .await;

    pool.close().await;
    drop_database(&admin, &name).await;
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(error) => panic!("test task did not finish: {error}"),
        }
    }
}

// Best effort: a leftover database is untidy but harmless.
async fn drop_database(admin: &PgConnectOptions, name: &str) {
    let result = async {
        let mut conn = admin.connect().await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await?;
        conn.close().await
    }
    .await;
    if let Err(error) = result {
        eprintln!("could not drop test database {name}: {error}");
    }
}
