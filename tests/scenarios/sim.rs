//! `Sim`: a fake Discord, a fresh database and the bot, started together.

use fake_discord::{Actor, FakeDiscord};
use guildhall::clock::Clock;
use guildhall::config::{Config, Token};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Sim {
    pub fake: FakeDiscord,
    pub database_url: String,
    pub pool: sqlx::PgPool,
    /// The bot's clock: it stands still until a test moves it with
    /// `clock.advance(..)`, which returns once the bot's background passes
    /// have run at the new time.
    pub clock: Clock,
    bot: Option<guildhall::Running>,
    /// A second bot process against the same database and Discord (see
    /// `start_second_bot`).
    second: Option<guildhall::Running>,
}

fn base_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database URL for a new, unique database on the same server.
fn fresh_database_url() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let base = base_url();
    let (server, _) = base.rsplit_once('/').expect("DATABASE_URL has a database name");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{server}/guildhall_sim_{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst), nanos)
}

impl Sim {
    /// Fake Discord + fresh database + the bot, connected with its commands registered.
    pub async fn start() -> Sim {
        if std::env::var("RUST_LOG").is_ok() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let fake = FakeDiscord::start().await;
        let database_url = fresh_database_url();
        let clock = Clock::manual(chrono::Utc::now());
        let bot = start_bot(&fake, &database_url, &clock).await;
        let pool = sqlx::PgPool::connect(&database_url).await.expect("connect to the test database");
        Sim { fake, database_url, pool, clock, bot: Some(bot), second: None }
    }

    /// Stop the bot process and start a new one against the same database
    /// and the same Discord.
    pub async fn restart(&mut self) {
        if let Some(bot) = self.bot.take() {
            bot.shutdown().await;
        }
        let before = self.fake.identify_count();
        self.bot = Some(start_bot_after(&self.fake, &self.database_url, &self.clock, before).await);
    }

    /// Stop the bot at once, as a crash would (nothing drained or given
    /// back); Discord goes on without it until `start_bot`.
    pub async fn crash_bot(&mut self) {
        if let Some(bot) = self.bot.take() {
            bot.crash().await;
        }
    }

    /// Stop the bot (gracefully); Discord goes on without it until `start_bot`.
    pub async fn stop_bot(&mut self) {
        if let Some(bot) = self.bot.take() {
            bot.shutdown().await;
        }
    }

    /// Start the bot again after `stop_bot`.
    pub async fn start_bot(&mut self) {
        assert!(self.bot.is_none(), "the bot is already running");
        let before = self.fake.identify_count();
        self.bot = Some(start_bot_after(&self.fake, &self.database_url, &self.clock, before).await);
    }

    /// Start a second bot process against the same fake Discord, database and
    /// clock, and wait until both background loops run (`clock.advance` then
    /// waits for a pass of each). Background work only: the fake, like a
    /// gateway with two sessions on one shard, dispatches every event to both
    /// processes, so INTERACTION_CREATE would reach both and be answered
    /// twice (a violation). Keep users' commands and clicks out of the window
    /// between this and `stop_second_bot`.
    pub async fn start_second_bot(&mut self) {
        assert!(self.bot.is_some() && self.second.is_none(), "one bot runs, and no second one yet");
        let before = self.fake.identify_count();
        self.second = Some(start_bot_after(&self.fake, &self.database_url, &self.clock, before).await);
        self.clock.wait_for_loops(2).await;
    }

    /// Stop the second bot process (gracefully).
    pub async fn stop_second_bot(&mut self) {
        if let Some(bot) = self.second.take() {
            bot.shutdown().await;
        }
        self.clock.wait_for_loops(1).await;
    }

    pub fn admin(&self, name: &str) -> Actor {
        self.fake.admin(name)
    }

    pub fn member(&self, name: &str) -> Actor {
        self.fake.member(name)
    }

    /// A count from the database.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(&self.pool).await.expect(sql)
    }

    /// Wait (up to 15 s) until a count from the database is `want`. The bot
    /// writes Postgres after its last call to Discord, so a wait on the fake's
    /// state can't see it: this polls the database instead.
    pub async fn wait_count(&self, what: &str, sql: &str, want: i64) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let n = self.count(sql).await;
            if n == want {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}: {sql} is {n}, not {want}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// How many audit entries of `action` the server has.
    pub async fn audited(&self, action: &str) -> i64 {
        self.count(&format!("select count(*) from audit_log where action = '{action}'")).await
    }

    /// A text channel made by hand and set as the mod channel with
    /// `/config mod-channel`, as an admin would. Returns its id.
    pub async fn mod_channel(&self, admin: &Actor) -> u64 {
        let id = self.fake.create_channel_by_hand("staff", fake_discord::world::channel_type::TEXT, None, vec![]);
        let r = admin.slash("config mod-channel", &[("channel", &id.to_string())]).await;
        assert!(r.text().contains("the mod channel is"), "{}", r.text());
        id
    }

    /// The texts the bot posted in a channel, oldest first.
    pub fn texts_in(&self, channel: u64) -> Vec<String> {
        self.fake.with(|w| w.channel_messages(channel).iter().map(fake_discord::scenario::message_text).collect())
    }
}

async fn start_bot(fake: &FakeDiscord, database_url: &str, clock: &Clock) -> guildhall::Running {
    start_bot_after(fake, database_url, clock, fake.identify_count()).await
}

async fn start_bot_after(
    fake: &FakeDiscord,
    database_url: &str,
    clock: &Clock,
    identifies_before: usize,
) -> guildhall::Running {
    let config = Config {
        token: Token::new("test-token"),
        database_url: database_url.to_string(),
        dev_guild_id: Some(fake.guild_id),
        api_base_url: Some(fake.base_url()),
        clock: clock.clone(),
        // Passes run when a test moves the clock; this only paces the rest.
        tick: std::time::Duration::from_secs(60),
    };
    let bot = guildhall::start(config).await.expect("the bot starts");
    fake.wait_for_identify(identifies_before).await;
    fake.wait_for_bot().await;
    fake.wait_for_commands().await;
    bot
}

impl Drop for Sim {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.fake.assert_no_violations();
        }
    }
}
