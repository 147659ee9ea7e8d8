//! The playground (P1): Guildhall with no Discord at all. The embedded fake
//! Discord (the `fake-discord` crate), the real bot against it, a demo server
//! seeded the way an admin would set one up, and a page on loopback that
//! shows that server as a Discord client would (see `web`).

pub mod seed;
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
    /// The database to make on that server ([`DATABASE`] unless a test
    /// names its own).
    pub database: String,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let url = get("DATABASE_URL").filter(|v| !v.trim().is_empty()).unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let server = server_of(url.trim()).context("DATABASE_URL is malformed: it must be postgres://host/database")?;
        let addr = get("PLAYGROUND_ADDR").unwrap_or_else(|| DEFAULT_ADDR.into());
        let addr =
            addr.trim().parse().with_context(|| format!("PLAYGROUND_ADDR is malformed: {addr:?} is not host:port"))?;
        Ok(Settings { server, addr, database: DATABASE.into() })
    }
}

/// `postgres://u@h:p/db?x` → `postgres://u@h:p`.
fn server_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))?;
    let host = rest.split(['/', '?']).next()?;
    (!host.is_empty()).then(|| format!("postgres://{host}"))
}

/// Make the playground database fresh; `Err` carries the one line to show
/// when no PostgreSQL answers. Always fresh: the fake Discord's server lives
/// in memory, so a database kept from an earlier run would describe roles,
/// channels and people that no longer exist. The last run's database stays
/// after it stops (to look at with psql) until the next start.
async fn prepare_database(s: &Settings) -> anyhow::Result<String> {
    use sqlx::ConnectOptions;
    let admin: sqlx::postgres::PgConnectOptions = format!("{}/postgres", s.server).parse()?;
    // `drop database ... with (force)` can take a second: sqlx's slow-statement
    // warning would otherwise print before the address line.
    let admin = admin.disable_statement_logging();
    let opts =
        sqlx::postgres::PgPoolOptions::new().max_connections(1).acquire_timeout(std::time::Duration::from_secs(3));
    let pool = opts.connect_with(admin).await.map_err(|_| {
        anyhow::anyhow!("no PostgreSQL answers at {}: start one with `scripts/pg-up` (or set DATABASE_URL)", s.server)
    })?;
    let db = &s.database;
    anyhow::ensure!(
        !db.is_empty() && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "the playground database name {db:?} must be letters, digits and _"
    );
    let exists: bool = sqlx::query_scalar("select exists (select from pg_database where datname = $1)")
        .bind(db)
        .fetch_one(&pool)
        .await?;
    if exists {
        sqlx::query(&format!("drop database {db} with (force)")).execute(&pool).await?;
    }
    sqlx::query(&format!("create database {db}")).execute(&pool).await?;
    pool.close().await;
    Ok(format!("{}/{db}", s.server))
}

/// A playground that is up: seeded, its page served on `url`.
pub struct Started {
    /// `http://127.0.0.1:<port>`, where the page is.
    pub url: String,
    /// The embedded fake Discord, for tests to look behind the page.
    pub fake: FakeDiscord,
    /// The people the page lets you be, admin first.
    pub people: Vec<seed::Person>,
    /// The database it runs on (`postgres://.../<database>`).
    pub database_url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    bot: crate::Running,
}

impl Started {
    /// Stop serving the page, then the bot.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        let served = self.served.await;
        self.bot.shutdown().await;
        served.context("the page's server panicked")?.context("serving the playground")
    }
}

async fn bind(settings: &Settings) -> anyhow::Result<(tokio::net::TcpListener, String)> {
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("cannot serve the playground on {} (set PLAYGROUND_ADDR)", settings.addr))?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((listener, url))
}

/// Start the fake Discord and the bot on `database_url`, seed, serve.
async fn serve(listener: tokio::net::TcpListener, url: String, database_url: String) -> anyhow::Result<Started> {
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
    let app = web::router(web::Playground::new(fake.clone(), people.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Started { url, fake, people, database_url, stop, served, bot })
}

/// Start the playground (for tests: `addr` port 0 picks a free port).
pub async fn start(settings: Settings) -> anyhow::Result<Started> {
    let database_url = prepare_database(&settings).await?;
    let (listener, url) = bind(&settings).await?;
    serve(listener, url, database_url).await
}

/// Run the playground until `shutdown`, saying where it is first.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let database_url = prepare_database(&settings).await?;
    let (listener, url) = bind(&settings).await?;
    println!("Guildhall playground: open {url} once it says ready (a demo of the bot against a fake Discord; Ctrl-C stops it)");
    let started = serve(listener, url.clone(), database_url.clone()).await?;
    println!("Guildhall playground ready: {url}");
    tracing::info!(%url, database = %database_url, "playground ready");
    shutdown.await;
    started.stop().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn with_no_postgresql_it_says_how_to_start_one() {
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let s = Settings::from_lookup(|k| {
            (k == "DATABASE_URL").then(|| format!("postgres://postgres@127.0.0.1:{port}/guildhall"))
        })
        .unwrap();
        let e = match start(s).await {
            Ok(_) => panic!("started with no PostgreSQL"),
            Err(e) => format!("{e:#}"),
        };
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(e.contains("scripts/pg-up") && e.contains(&port.to_string()), "{e}");
    }

    #[test]
    fn settings_default_to_loopback_and_the_local_server() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(s.server, "postgres://postgres@127.0.0.1:5432");
        let s = Settings::from_lookup(|k| match k {
            "DATABASE_URL" => Some("postgresql://me:pw@db:6543/other?sslmode=disable".into()),
            "PLAYGROUND_ADDR" => Some("127.0.0.1:9999".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            (s.server.as_str(), s.addr.port(), s.database.as_str()),
            ("postgres://me:pw@db:6543", 9999, DATABASE)
        );
        assert!(Settings::from_lookup(|k| (k == "PLAYGROUND_ADDR").then(|| "nowhere".into())).is_err());
        assert!(Settings::from_lookup(|k| (k == "DATABASE_URL").then(|| "mysql://x".into())).is_err());
    }
}
