//! The service's database pool acting as its runtime role (least privilege, I13).

use sqlx::{AssertSqlSafe, PgPool};

/// A pool like `migrated` (same server, database, login and pool settings) whose every
/// connection first runs `SET ROLE role`, so the service holds only that role's grants while
/// the login role keeps what migrations need; `migrated` is closed. Fails unless a connection
/// can take the role, so a misconfiguration stops the start rather than the first query.
pub async fn acting_as(migrated: PgPool, role: &str) -> Result<PgPool, sqlx::Error> {
    // An identifier cannot be bound: quoted, with embedded quotes doubled.
    let set_role = format!("SET ROLE \"{}\"", role.replace('"', "\"\""));
    let runtime = migrated
        .options()
        .clone()
        .after_connect(move |connection, _| {
            let set_role = set_role.clone();
            Box::pin(async move {
                sqlx::query(AssertSqlSafe(set_role))
                    .execute(connection)
                    .await?;
                Ok(())
            })
        })
        .connect_with(migrated.connect_options().as_ref().clone())
        .await?;
    migrated.close().await;
    runtime.acquire().await?;
    Ok(runtime)
}
