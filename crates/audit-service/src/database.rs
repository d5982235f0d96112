//! The service's database pool acting as its runtime role (least privilege, I13).

use sqlx::{AssertSqlSafe, Connection as _, PgPool};

/// A pool like `migrated` (same server, database, login and pool settings) whose every
/// connection first runs `SET ROLE role`, so the service holds only that role's grants while
/// the login keeps what migrations need; `migrated` is closed.
pub async fn acting_as(migrated: PgPool, role: &str) -> Result<PgPool, sqlx::Error> {
    // An identifier cannot be bound: quoted, with embedded quotes doubled.
    let set_role = format!("SET ROLE \"{}\"", role.replace('"', "\"\""));
    // Taken once up front on a connection of its own: the pool would retry a failing
    // `after_connect` until its acquire timeout and report only that, not why (a missing
    // role, a login that is not a member).
    let mut probe = migrated.acquire().await?.detach();
    sqlx::query(AssertSqlSafe(set_role.clone()))
        .execute(&mut probe)
        .await?;
    probe.close().await?;
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
    Ok(runtime)
}
