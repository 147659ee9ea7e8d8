//! The playground (P1): Guildhall with no Discord at all. The embedded fake
//! Discord (the `fake-discord` crate), the real bot against it, a demo server
//! seeded the way an admin would set one up, and a page on loopback that
//! shows that server as a Discord client would (see `web`).

mod seed;
mod web;

use crate::config::{Config, Token, DEFAULT_DATABASE_URL, DEFAULT_TICK};
use anyhow::Context;
use fake_discord::FakeDiscord;
use std::future::Future;

/// The playground's own database, on the server `DATABASE_URL` names.
pub const DATABASE: &str = "guildhall_playground";
/// Where the page is served unless `PLAYGROUND_ADDR` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// What the playground reads from the environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The server part of `DATABASE_URL` (`postgres://user@host:port`).
    pub server: String,
    pub addr: std::net::SocketAddr,
    /// `PLAYGROUND_KEEP=1`: keep the database of the last run instead of
    /// making it fresh (and skip the seeding when it is already seeded).
    pub keep: bool,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let url = get("DATABASE_URL").filter(|v| !v.trim().is_empty()).unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let server = server_of(url.trim()).context("DATABASE_URL is malformed: it must be postgres://host/database")?;
        let addr = get("PLAYGROUND_ADDR").unwrap_or_else(|| DEFAULT_ADDR.into());
        let addr =
            addr.trim().parse().with_context(|| format!("PLAYGROUND_ADDR is malformed: {addr:?} is not host:port"))?;
        let keep = get("PLAYGROUND_KEEP").is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
        Ok(Settings { server, addr, keep })
    }
}

/// `postgres://u@h:p/db?x` → `postgres://u@h:p`.
fn server_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))?;
    let host = rest.split(['/', '?']).next()?;
    (!host.is_empty()).then(|| format!("postgres://{host}"))
}

/// Make the playground database (fresh unless `keep`); `Err` carries the
/// one line to show when no PostgreSQL answers.
async fn prepare_database(s: &Settings) -> anyhow::Result<String> {
    let admin_url = format!("{}/postgres", s.server);
    let opts =
        sqlx::postgres::PgPoolOptions::new().max_connections(1).acquire_timeout(std::time::Duration::from_secs(3));
    let pool = opts.connect(&admin_url).await.map_err(|_| {
        anyhow::anyhow!("no PostgreSQL answers at {}: start one with `scripts/pg-up` (or set DATABASE_URL)", s.server)
    })?;
    let exists: bool = sqlx::query_scalar("select exists (select from pg_database where datname = $1)")
        .bind(DATABASE)
        .fetch_one(&pool)
        .await?;
    if exists && !s.keep {
        sqlx::query(&format!("drop database {DATABASE} with (force)")).execute(&pool).await?;
    }
    if !exists || !s.keep {
        sqlx::query(&format!("create database {DATABASE}")).execute(&pool).await?;
    }
    pool.close().await;
    Ok(format!("{}/{DATABASE}", s.server))
}

/// Run the playground until `shutdown`.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let database_url = prepare_database(&settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("cannot serve the playground on {} (set PLAYGROUND_ADDR)", settings.addr))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("Guildhall playground: open {url} once it says ready (a demo of the bot against a fake Discord; Ctrl-C stops it)");
    let fake = FakeDiscord::start().await;
    let gid = fake.guild_id;
    fake.mutate(|w| {
        if let Some(g) = w.guilds.get_mut(&gid) {
            g.name = "Guildhall Playground".into();
        }
    });
    let config = Config {
        token: Token::new("playground"),
        database_url: database_url.clone(),
        dev_guild_id: Some(gid),
        api_base_url: Some(fake.base_url()),
        clock: crate::clock::Clock::system(),
        tick: DEFAULT_TICK,
        metrics_addr: None,
    };
    let bot = crate::start(config).await?;
    fake.wait_for_bot().await;
    fake.wait_for_commands().await;
    let people = seed::seed(&fake).await.context("seeding the demo server")?;
    let app = web::router(web::Playground::new(fake.clone(), people));
    println!("Guildhall playground ready: {url}");
    tracing::info!(%url, database = %database_url, "playground ready");
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    bot.shutdown().await;
    served.context("serving the playground")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_loopback_and_the_local_server() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(s.server, "postgres://postgres@127.0.0.1:5432");
        assert!(!s.keep);
        let s = Settings::from_lookup(|k| match k {
            "DATABASE_URL" => Some("postgresql://me:pw@db:6543/other?sslmode=disable".into()),
            "PLAYGROUND_ADDR" => Some("127.0.0.1:9999".into()),
            "PLAYGROUND_KEEP" => Some("1".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!((s.server.as_str(), s.addr.port(), s.keep), ("postgres://me:pw@db:6543", 9999, true));
        assert!(Settings::from_lookup(|k| (k == "PLAYGROUND_ADDR").then(|| "nowhere".into())).is_err());
        assert!(Settings::from_lookup(|k| (k == "DATABASE_URL").then(|| "mysql://x".into())).is_err());
    }
}
