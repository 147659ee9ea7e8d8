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

/// How long a use case waits for a connection at most while every
/// connection is open and busy (within an interaction's 15 minutes).
const LONGEST_BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

impl Pool {
    /// A connection, as `PgPool::acquire`, waiting on while the pool is busy
    /// (`wait`).
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<Postgres>, sqlx::Error> {
        if let Some(c) = self.0.try_acquire() {
            return Ok(c);
        }
        self.wait(|| self.0.acquire()).await
    }

    /// A transaction, as `PgPool::begin`, waiting on while the pool is busy
    /// (`wait`).
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, Postgres>, sqlx::Error> {
        if let Some(tx) = self.0.try_begin().await? {
            return Ok(tx);
        }
        self.wait(|| self.0.begin()).await
    }

    /// Take a connection (`take`), counting the wait. sqlx gives up after
    /// the pool's acquire timeout (10 s), which is right when the database
    /// cannot be reached: the person is told at once. But when every
    /// connection is open and in use, the database is there and the bot is
    /// busy: a thousand joins at once hold connections across role grants
    /// that Discord's rate limits pace at some 45 a second, so the last
    /// joins wait longer than 10 s for a connection by design. Then the
    /// wait goes on (the interaction is deferred by then, with 15 minutes
    /// to be answered), up to `LONGEST_BUSY_WAIT`.
    async fn wait<T, F, Fut>(&self, mut take: F) -> Result<T, sqlx::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        let started = std::time::Instant::now();
        loop {
            let taken = take().await;
            let busy = self.0.size() >= self.0.options().get_max_connections() && !self.0.is_closed();
            if matches!(taken, Err(sqlx::Error::PoolTimedOut)) && busy && started.elapsed() < LONGEST_BUSY_WAIT {
                tracing::debug!(waited = ?started.elapsed(), "every database connection is busy: waiting on");
                continue;
            }
            crate::telemetry::pool_wait(started.elapsed());
            return taken;
        }
    }
}
