//! The playground (P1): Guildhall with no Discord at all. The embedded fake
//! Discord (the `fake-discord` crate), the real bot against it, a demo server
//! seeded the way an admin would set one up, and a page on loopback that
//! shows that server as a Discord client would (see `web`).

mod postgres;
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
    /// `PLAYGROUND_KEEP`: carry on with the last run's server (its database
    /// and the fake Discord's world, saved in `state`) instead of a fresh
    /// one.
    pub keep: bool,
    /// Where the fake Discord's world is saved as it changes and on stop
    /// (`PLAYGROUND_STATE`; by default `<database>.world.json` in the
    /// system's temporary directory).
    pub state: std::path::PathBuf,
    /// Where to start a private PostgreSQL cluster when none answers on
    /// this machine (`PLAYGROUND_PGDATA`; by default
    /// `guildhall-playground-pgdata` in the temporary directory; `None`:
    /// only say how to start one). See `postgres`.
    pub pgdata: Option<std::path::PathBuf>,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let url = get("DATABASE_URL").filter(|v| !v.trim().is_empty()).unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let server = server_of(url.trim()).context("DATABASE_URL is malformed: it must be postgres://host/database")?;
        let addr = get("PLAYGROUND_ADDR").unwrap_or_else(|| DEFAULT_ADDR.into());
        let addr =
            addr.trim().parse().with_context(|| format!("PLAYGROUND_ADDR is malformed: {addr:?} is not host:port"))?;
        let keep = match get("PLAYGROUND_KEEP").as_deref().map(str::trim) {
            None | Some("" | "0" | "false" | "no") => false,
            Some("1" | "true" | "yes") => true,
            Some(other) => anyhow::bail!("PLAYGROUND_KEEP is malformed: {other:?} is not 1 or 0"),
        };
        let state = match get("PLAYGROUND_STATE").filter(|v| !v.trim().is_empty()) {
            Some(path) => path.trim().into(),
            None => default_state(DATABASE),
        };
        let pgdata = match get("PLAYGROUND_PGDATA").filter(|v| !v.trim().is_empty()) {
            Some(dir) => dir.trim().into(),
            None => std::env::temp_dir().join("guildhall-playground-pgdata"),
        };
        Ok(Settings { server, addr, database: DATABASE.into(), keep, state, pgdata: Some(pgdata) })
    }

    /// Use `database` (a test's own), its world saved beside the others.
    pub fn with_database(mut self, database: &str) -> Settings {
        self.database = database.into();
        self.state = default_state(database);
        self
    }
}

fn default_state(database: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{database}.world.json"))
}

/// What a run leaves for the next one to carry on from: the fake Discord's
/// world and the people the page offers. The database it goes with is the
/// one named in the settings.
#[derive(serde::Serialize)]
struct Saving<'a> {
    people: &'a [seed::Person],
    world: &'a fake_discord::World,
}

#[derive(serde::Deserialize)]
struct Kept {
    people: Vec<seed::Person>,
    world: fake_discord::World,
}

/// Write the world to `state` (through a file beside it, so a run stopped
/// half-way through a save leaves the last whole one).
fn save(fake: &FakeDiscord, people: &[seed::Person], state: &std::path::Path) -> anyhow::Result<()> {
    let bytes = fake.with(|world| serde_json::to_vec(&Saving { people, world }))?;
    let partial = state.with_extension("partial");
    std::fs::write(&partial, bytes).with_context(|| format!("saving the playground to {}", partial.display()))?;
    std::fs::rename(&partial, state).with_context(|| format!("saving the playground to {}", state.display()))?;
    Ok(())
}

/// The last run's world, when there is one to carry on from.
fn load(state: &std::path::Path) -> Result<Kept, String> {
    let bytes = std::fs::read(state).map_err(|e| format!("{} cannot be read ({e})", state.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a saved playground ({e})", state.display()))
}

/// `postgres://u@h:p/db?x` → `postgres://u@h:p`.
fn server_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))?;
    let host = rest.split(['/', '?']).next()?;
    (!host.is_empty()).then(|| format!("postgres://{host}"))
}

/// What the playground says between "starting" and "ready", a line at a
/// time (the run command prints them; tests collect them).
pub type Say<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// A pool on the server's `postgres` database, starting a private cluster
/// first when none answers and there is one to start (see `postgres`);
/// `Err` carries the one line to show when there is not.
async fn admin_pool(s: &Settings, say: Say<'_>) -> anyhow::Result<sqlx::PgPool> {
    use sqlx::ConnectOptions;
    let admin: sqlx::postgres::PgConnectOptions = format!("{}/postgres", s.server).parse()?;
    // `drop database ... with (force)` can take a second: sqlx's slow-statement
    // warning would otherwise print before the address line.
    let admin = admin.disable_statement_logging();
    let connect = |wait: u64| {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(wait))
            .connect_with(admin.clone())
    };
    if let Ok(pool) = connect(3).await {
        return Ok(pool);
    }
    let server = postgres::Server::parse(&s.server).context("DATABASE_URL is malformed")?;
    let installed = if server.is_loopback() { postgres::installed() } else { None };
    match postgres::plan(&server, installed, s.pgdata.as_deref()) {
        postgres::Plan::Hint(hint) => anyhow::bail!(hint),
        postgres::Plan::Start { bindir, datadir } => {
            say(&format!(
                "no PostgreSQL answers on {}:{}: starting a private one in {} ...",
                server.host,
                server.port,
                datadir.display()
            ));
            let (srv, dir) = (server.clone(), datadir.clone());
            let stop = tokio::task::spawn_blocking(move || postgres::start(&srv, &bindir, &dir)).await??;
            say(&format!(
                "PostgreSQL is up on {}:{}; it stays up for the next run (stop it with: {stop})",
                server.host, server.port
            ));
            connect(30).await.with_context(|| {
                format!("the PostgreSQL started in {} does not let {} in", datadir.display(), server.user)
            })
        }
    }
}

/// Make the playground database fresh, or keep it with the world saved
/// beside it (`keep`, when both are there: a database without its world
/// would describe roles, channels and people that no longer exist). The
/// last run's database stays after it stops (to look at with psql) until
/// the next start.
async fn prepare_database(s: &Settings, say: Say<'_>) -> anyhow::Result<Prepared> {
    let pool = admin_pool(s, say).await?;
    say("preparing the playground database ...");
    let db = &s.database;
    anyhow::ensure!(
        !db.is_empty() && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "the playground database name {db:?} must be letters, digits and _"
    );
    let exists: bool = sqlx::query_scalar("select exists (select from pg_database where datname = $1)")
        .bind(db)
        .fetch_one(&pool)
        .await?;
    let url = format!("{}/{db}", s.server);
    let mut note = None;
    if s.keep {
        match (exists, load(&s.state)) {
            (true, Ok(kept)) => {
                pool.close().await;
                let note = format!("carrying on from the last run ({db}, {})", s.state.display());
                return Ok(Prepared { url, kept: Some(kept), note: Some(note) });
            }
            (false, _) => note = Some(format!("nothing to keep (no database {db}): starting afresh")),
            (true, Err(why)) => note = Some(format!("nothing to keep ({why}): starting afresh")),
        }
    }
    if exists {
        sqlx::query(&format!("drop database {db} with (force)")).execute(&pool).await?;
    }
    sqlx::query(&format!("create database {db}")).execute(&pool).await?;
    pool.close().await;
    Ok(Prepared { url, kept: None, note })
}

/// The database to run on, the world kept with it, and what to tell the
/// person about keeping.
struct Prepared {
    url: String,
    kept: Option<Kept>,
    note: Option<String>,
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
    /// Whether this run carries on from the last one (`keep`).
    pub kept: bool,
    stop: tokio::sync::watch::Sender<bool>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    saver: tokio::task::JoinHandle<()>,
    state: std::path::PathBuf,
    bot: crate::Running,
}

impl Started {
    /// Stop serving the page (its event streams end, so an open tab does
    /// not hold the stop up), then the bot.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        let mut served = self.served;
        // A connection that still will not close after a second (a request
        // half-sent) is cut.
        let served = match tokio::time::timeout(std::time::Duration::from_secs(1), &mut served).await {
            Ok(done) => done,
            Err(_) => {
                served.abort();
                Ok(Ok(()))
            }
        };
        self.saver.abort();
        self.bot.shutdown().await;
        // Last, so the next run carries on from exactly where this one ended.
        save(&self.fake, &self.people, &self.state)?;
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

/// Start the fake Discord (on the kept world, if any) and the bot on
/// `database_url`, seed a fresh one, serve, and save the world as it changes.
async fn serve(
    listener: tokio::net::TcpListener,
    url: String,
    database_url: String,
    kept: Option<Kept>,
    state: std::path::PathBuf,
    say: Say<'_>,
) -> anyhow::Result<Started> {
    let (fake, kept_people) = match kept {
        Some(k) => {
            (FakeDiscord::start_from(k.world).await.context("the saved playground has no server")?, Some(k.people))
        }
        None => (FakeDiscord::start().await, None),
    };
    let gid = fake.guild_id;
    let resumed = kept_people.is_some();
    if !resumed {
        fake.mutate(|w| {
            if let Some(g) = w.guilds.get_mut(&gid) {
                g.name = "Guildhall Playground".into();
            }
        });
    }
    let config = Config {
        token: Token::new("playground"),
        database_url: database_url.clone(),
        dev_guild_id: Some(gid),
        // The fake stands for Discord itself, with its rate limits: the bot
        // paces its requests as it does against Discord.
        api_base_url: None,
        discord_origin: fake.base_url(),
        clock: crate::clock::Clock::system(),
        tick: DEFAULT_TICK,
        metrics_addr: None,
        shard_count: None,
        shard_range: None,
        dm_rate_per_sec: crate::config::DEFAULT_DM_RATE_PER_SEC,
        rest_rate_per_sec: crate::config::DEFAULT_REST_RATE_PER_SEC,
        notify_by_name_max: crate::config::DEFAULT_NOTIFY_BY_NAME_MAX,
    };
    say("starting the bot (its migrations, then connecting to the fake Discord) ...");
    let bot = crate::start(config).await?;
    fake.wait_for_bot().await;
    say("waiting for the bot to register its commands ...");
    fake.wait_for_commands().await;
    let people = match kept_people {
        Some(people) => people,
        None => {
            say("seeding the demo server (guidelines, eight groups, their leaders, a few topics) ...");
            seed::seed(&fake).await.context("seeding the demo server")?
        }
    };
    save(&fake, &people, &state)?;
    let saver = tokio::spawn(keep_saving(fake.clone(), people.clone(), state.clone()));
    let (stop, mut stopping) = tokio::sync::watch::channel(false);
    let app = web::router(web::Playground::new(fake.clone(), people.clone(), stopping.clone()));
    let served = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Started { url, fake, people, database_url, kept: resumed, stop, served, saver, state, bot })
}

/// Save the world a second after it changes (at most once a second), so a
/// run that is killed rather than stopped loses at most that second; the
/// bot's start-up reconcile pass settles any difference with the database.
async fn keep_saving(fake: FakeDiscord, people: Vec<seed::Person>, state: std::path::PathBuf) {
    loop {
        fake.changed().await;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if let Err(e) = save(&fake, &people, &state) {
            tracing::warn!(error = %format!("{e:#}"), "could not save the playground");
        }
    }
}

/// Start the playground (for tests: `addr` port 0 picks a free port).
pub async fn start(settings: Settings) -> anyhow::Result<Started> {
    start_saying(settings, &|_| {}).await
}

/// `start`, saying what it is doing on the way (see `Say`).
pub async fn start_saying(settings: Settings, say: Say<'_>) -> anyhow::Result<Started> {
    let (listener, url) = bind(&settings).await?;
    launch(&settings, listener, url, say).await
}

async fn launch(
    settings: &Settings,
    listener: tokio::net::TcpListener,
    url: String,
    say: Say<'_>,
) -> anyhow::Result<Started> {
    let Prepared { url: database_url, kept, note } = prepare_database(settings, say).await?;
    if let Some(note) = note {
        say(&note);
    } else if !settings.keep {
        say("a fresh server (PLAYGROUND_KEEP=1 carries on from this one next time)");
    }
    serve(listener, url, database_url, kept, settings.state.clone(), say).await
}

/// Run the playground until `shutdown`: where it will be first, then what
/// it is doing until it is ready.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let (listener, url) = bind(&settings).await?;
    println!("Guildhall playground: open {url} once it says ready (a demo of the bot against a fake Discord; Ctrl-C stops it)");
    let say = |line: &str| println!("Guildhall playground: {line}");
    let started = launch(&settings, listener, url.clone(), &say).await?;
    println!("Guildhall playground ready: {url}");
    tracing::info!(%url, database = %started.database_url, "playground ready");
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
        let mut s = Settings::from_lookup(|k| {
            (k == "DATABASE_URL").then(|| format!("postgres://postgres@127.0.0.1:{port}/guildhall"))
        })
        .unwrap();
        // Told not to start one (starting one is `playground.rs`'s scenario).
        s.pgdata = None;
        let e = match start(s).await {
            Ok(_) => panic!("started with no PostgreSQL"),
            Err(e) => format!("{e:#}"),
        };
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(e.contains(&format!("127.0.0.1:{port}")) && e.contains(&format!("port {port}")), "{e}");
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
        assert!(!s.keep, "a fresh server unless asked");
        assert_eq!(s.state, std::env::temp_dir().join("guildhall_playground.world.json"));
        assert_eq!(s.pgdata, Some(std::env::temp_dir().join("guildhall-playground-pgdata")));
        let kept = Settings::from_lookup(|k| match k {
            "PLAYGROUND_KEEP" => Some("1".into()),
            "PLAYGROUND_STATE" => Some("/var/lib/guildhall/world.json".into()),
            _ => None,
        })
        .unwrap();
        assert!(kept.keep);
        assert_eq!(kept.state, std::path::Path::new("/var/lib/guildhall/world.json"));
        assert!(Settings::from_lookup(|k| (k == "PLAYGROUND_KEEP").then(|| "sometimes".into())).is_err());
        assert!(Settings::from_lookup(|k| (k == "PLAYGROUND_ADDR").then(|| "nowhere".into())).is_err());
        assert!(Settings::from_lookup(|k| (k == "DATABASE_URL").then(|| "mysql://x".into())).is_err());
    }
}
