//! Connecting to Postgres: create the database when it is missing, then
//! apply the embedded migrations.

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Postgres;
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    use anyhow::Context as _;
    let exists = Postgres::database_exists(url).await.context("DATABASE_URL: cannot reach PostgreSQL")?;
    if !exists {
        tracing::info!("creating the database");
        if let Err(e) = Postgres::create_database(url).await {
            // Another process may have created it in the meantime.
            if !Postgres::database_exists(url).await.unwrap_or(false) {
                return Err(e).context("DATABASE_URL: cannot create the database");
            }
        }
    }
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .context("DATABASE_URL: cannot connect")?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
    Ok(pool)
}
