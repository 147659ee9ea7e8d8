//! Connecting to Postgres: create the database when it is missing, then
//! apply the embedded migrations.

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Postgres;
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a caller waits for a connection in one turn. Short enough that
/// an interaction is still answered within Discord's 3 s when PostgreSQL is
/// out of reach ("try again in a moment", N6); a busy pool (every
/// connection open and in use) is waited on longer (`Pool::patiently`).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

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
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await
        .context("DATABASE_URL: cannot connect")?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
    Ok(pool)
}

/// The pool the use cases take connections from: `PgPool`, with each wait
/// for a connection counted (O1). A caller that finds no idle connection
/// (sqlx's `try_acquire` says none is free without waiting) waits in
/// `acquire`; how long is recorded.
#[derive(Clone, Debug)]
pub struct Pool(PgPool);

impl From<PgPool> for Pool {
    fn from(p: PgPool) -> Pool {
        Pool(p)
    }
}

impl std::ops::Deref for Pool {
    type Target = PgPool;
    fn deref(&self) -> &PgPool {
        &self.0
    }
}

/// How long a caller waits in all while every connection is open and in use
/// (the database is there, only busy), past `ACQUIRE_TIMEOUT`'s turns.
pub const BUSY_WAIT: Duration = Duration::from_secs(10);

impl Pool {
    /// A connection, as `PgPool::acquire`.
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<Postgres>, sqlx::Error> {
        if let Some(c) = self.0.try_acquire() {
            return Ok(c);
        }
        let started = std::time::Instant::now();
        let c = self.patiently(started, || self.0.acquire()).await;
        crate::telemetry::pool_wait(started.elapsed());
        c
    }

    /// A transaction, as `PgPool::begin`.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, Postgres>, sqlx::Error> {
        if let Some(tx) = self.0.try_begin().await? {
            return Ok(tx);
        }
        let started = std::time::Instant::now();
        let tx = self.patiently(started, || self.0.begin()).await;
        crate::telemetry::pool_wait(started.elapsed());
        tx
    }

    /// Wait for a connection: a turn of `ACQUIRE_TIMEOUT` timing out while
    /// every connection is open (a busy pool: the database answers) is
    /// waited again, up to `BUSY_WAIT` in all; one timing out with
    /// connections missing (they could not be opened: the database is out
    /// of reach, and a broken one is closed when it fails) is the caller's
    /// at once, so an interaction can still say so in time.
    async fn patiently<T, F, Fut>(&self, started: std::time::Instant, mut f: F) -> Result<T, sqlx::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        loop {
            match f().await {
                Err(sqlx::Error::PoolTimedOut)
                    if self.0.size() >= self.0.options().get_max_connections() && started.elapsed() < BUSY_WAIT => {}
                other => return other,
            }
        }
    }
}
