//! `Sim`: a fake Discord, a fresh database and the bot, started together.

use fake_discord::scenario::{components_of, message_text};
use fake_discord::world::Message;
use fake_discord::{Actor, FakeDiscord, Reply};
use guildhall::clock::Clock;
use guildhall::config::{Config, Token};
use guildhall::custom_id::CustomId;
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
    /// Bot processes started with `start_process` (each running a range
    /// of the shards), by the index it returned; `None` once crashed.
    processes: Vec<Option<guildhall::Running>>,
    /// Users and roles the test expects the bot to ping (`expect_ping`);
    /// a ping of anyone else fails the test (A6).
    expected_pings: std::sync::Mutex<Vec<u64>>,
    /// The bot's `NOTIFY_BY_NAME_MAX`, kept across restarts.
    notify_by_name_max: u32,
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
    /// [`Sim::start`] with the bot's configuration changed by `change`.
    pub async fn start_with(change: impl FnOnce(&mut Config)) -> Sim {
        let mut sim = Sim::start_without_bot().await;
        sim.start_bot_as(change).await;
        sim
    }

    /// A bot that pings every group's followers through its notification
    /// role from the first follower on (`NOTIFY_BY_NAME_MAX=0`), for the
    /// scenarios of the role itself (S5).
    pub async fn start_with_notify_roles() -> Sim {
        let mut sim = Sim::start_without_bot().await;
        sim.notify_by_name_max = 0;
        sim.start_bot().await;
        sim
    }

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
        Sim::assemble(fake, database_url, pool, clock, Some(bot))
    }

    /// A `Sim` of these parts, expecting no pings yet.
    fn assemble(
        fake: FakeDiscord,
        database_url: String,
        pool: sqlx::PgPool,
        clock: Clock,
        bot: Option<guildhall::Running>,
    ) -> Sim {
        Sim {
            fake,
            database_url,
            pool,
            clock,
            bot,
            second: None,
            processes: Vec::new(),
            expected_pings: Default::default(),
            notify_by_name_max: guildhall::config::DEFAULT_NOTIFY_BY_NAME_MAX,
        }
    }

    /// A fake Discord and a fresh database, and no bot yet: the test starts
    /// bot processes with `start_process` (or a bot of its own settings
    /// with `start_bot_as`).
    pub async fn start_without_bot() -> Sim {
        let fake = FakeDiscord::start().await;
        let database_url = fresh_database_url();
        // The bot creates and migrates the database; the test's pool
        // connects once it has (`connect_pool`).
        let clock = Clock::manual(chrono::Utc::now());
        let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy(&database_url).expect("a database URL");
        Sim::assemble(fake, database_url, pool, clock, None)
    }

    /// Start a bot process running shards `range` of `count` (SHARD_COUNT,
    /// SHARD_RANGE), commands registered globally (the guilds are many),
    /// on the sim's database and clock; returns once every shard of the
    /// range has a session with its guilds and the process's background
    /// loop runs. Its index is for `process` and `crash_process`.
    pub async fn start_process(&mut self, range: std::ops::Range<u32>, count: u32) -> usize {
        let loops = self.processes.iter().flatten().count() + usize::from(self.bot.is_some());
        let config = Config {
            dev_guild_id: None,
            shard_count: Some(count),
            shard_range: Some(range.clone()),
            ..config_for_one_of_two(&self.fake, &self.database_url, &self.clock)
        };
        let bot = guildhall::start(config).await.expect("the bot process starts");
        for shard in range {
            self.fake.wait_for_shard([shard as u64, count as u64]).await;
        }
        self.fake.wait_for_commands().await;
        self.clock.wait_for_loops(loops + 1).await;
        self.processes.push(Some(bot));
        self.processes.len() - 1
    }

    /// Handlers, event handlers and background passes running now in
    /// every bot process of the sim.
    pub fn bot_in_flight(&self) -> usize {
        self.bot.iter().chain(self.second.iter()).chain(self.processes.iter().flatten()).map(|b| b.in_flight()).sum()
    }

    /// Wait (at most 30 s) until the bot is idle: nothing in flight in any
    /// of its processes and no request reached the fake for 300 ms. The
    /// control a "nothing more happened" check waits for, instead of a
    /// fixed sleep: an event the bot was sent is being handled (in flight)
    /// or has been, and what it did has reached the fake.
    pub async fn idle(&self) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), self.fake.changed()).await.is_err();
            if quiet && self.bot_in_flight() == 0 {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "the bot was still busy after 30 s");
        }
    }

    /// A process started with `start_process`.
    pub fn process(&self, i: usize) -> &guildhall::Running {
        self.processes[i].as_ref().expect("the process runs")
    }

    /// Kill a process started with `start_process`, as a crash would
    /// (nothing drained); its shards have no session until started again.
    pub async fn crash_process(&mut self, i: usize) {
        let bot = self.processes[i].take().expect("the process runs");
        bot.crash().await;
        let left = self.processes.iter().flatten().count() + usize::from(self.bot.is_some());
        self.clock.wait_for_loops(left).await;
    }

    /// Start the bot with `config` (from `config_for`'s defaults, changed by
    /// `change`), e.g. behind a stand-in rate-limit proxy.
    pub async fn start_bot_as(&mut self, change: impl FnOnce(&mut Config)) {
        assert!(self.bot.is_none(), "the bot is already running");
        let mut config = config_for(&self.fake, &self.database_url, &self.clock);
        config.notify_by_name_max = self.notify_by_name_max;
        change(&mut config);
        let before = self.fake.identify_count();
        self.bot = Some(guildhall::start(config).await.expect("the bot starts"));
        self.fake.wait_for_identify(before).await;
        self.fake.wait_for_bot().await;
        self.fake.wait_for_commands().await;
    }

    /// Like `start`, with the bot serving `/metrics`, `/healthz` and
    /// `/readyz` on a free loopback port (`ops_url`), and reaching Postgres
    /// through `db_port` on loopback when given (a `Forwarder` the test can
    /// cut); the test's own pool connects directly.
    pub async fn start_operated(db_port: Option<u16>) -> Sim {
        let fake = FakeDiscord::start().await;
        let database_url = fresh_database_url();
        let bot_url = match db_port {
            None => database_url.clone(),
            Some(port) => {
                let (_, name) = database_url.rsplit_once('/').expect("a database name");
                format!("postgres://postgres@127.0.0.1:{port}/{name}")
            }
        };
        let clock = Clock::manual(chrono::Utc::now());
        let addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let bot = start_bot_with(&fake, &bot_url, &clock, fake.identify_count(), addr).await;
        let pool = sqlx::PgPool::connect(&database_url).await.expect("connect to the test database");
        Sim::assemble(fake, database_url, pool, clock, Some(bot))
    }

    /// Like `start_operated` (metrics served), the fake's address given as
    /// Discord's own origin, as every sim does (`config_for`): the bot paces
    /// its requests by the answers' rate-limit headers and its share of the
    /// global limit.
    pub async fn start_direct() -> Sim {
        Sim::start_operated(None).await
    }

    /// `http://addr/path` on the bot's metrics address (`start_operated`).
    pub fn ops_url(&self, path: &str) -> String {
        let addr = self.bot.as_ref().and_then(|b| b.metrics_addr()).expect("the bot serves metrics");
        format!("http://{addr}{path}")
    }

    /// Stop the bot process and start a new one against the same database
    /// and the same Discord.
    pub async fn restart(&mut self) {
        if let Some(bot) = self.bot.take() {
            bot.shutdown().await;
        }
        self.start_bot().await;
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
        self.start_bot_as(|_| {}).await;
    }

    /// Start a second bot process against the same fake Discord, database and
    /// clock, and wait until both background loops run (`clock.advance` then
    /// waits for a pass of each). Background work only: the fake, like a
    /// gateway with two sessions on one shard, dispatches every event to both
    /// processes, so INTERACTION_CREATE would reach both and be answered
    /// twice (a violation). Keep users' commands and clicks out of the window
    /// between this and `stop_second_bot`. The first process keeps its whole
    /// share of Discord's global limit, the second takes one request a
    /// second (processes of `start_process` take half each).
    pub async fn start_second_bot(&mut self) {
        assert!(self.bot.is_some() && self.second.is_none(), "one bot runs, and no second one yet");
        let before = self.fake.identify_count();
        // The first keeps its whole share (40 a second, bursts of 8: at
        // most 48 in any second), so the second takes what is left of
        // Discord's 50: one a second. Its background work, the role queue's
        // included, goes slowly but within the global limit together.
        let config = Config {
            rest_rate_per_sec: 1,
            dm_rate_per_sec: 1,
            ..config_for(&self.fake, &self.database_url, &self.clock)
        };
        self.second = Some(guildhall::start(config).await.expect("the second bot starts"));
        self.fake.wait_for_identify(before).await;
        self.fake.wait_for_bot().await;
        self.fake.wait_for_commands().await;
        self.clock.wait_for_loops(2).await;
    }

    /// Stop the second bot process (gracefully).
    pub async fn stop_second_bot(&mut self) {
        if let Some(bot) = self.second.take() {
            bot.shutdown().await;
        }
        self.clock.wait_for_loops(1).await;
    }

    /// The test expects the bot to ping this user or role (a notification
    /// it asked for); any other ping fails the test when it ends.
    pub fn expect_ping(&self, id: u64) {
        self.expected_pings.lock().expect("expected pings").push(id);
    }

    /// Pings of the bot's messages that no test expected.
    pub fn unexpected_pings(&self) -> Vec<String> {
        let expected = self.expected_pings.lock().expect("expected pings").clone();
        let bot = self.fake.bot_user_id();
        self.fake.with(|w| {
            w.pings
                .iter()
                .filter(|(_, author, _, _)| *author == bot)
                .flat_map(|(mid, _, channel, p)| {
                    let mut out: Vec<String> = p
                        .users
                        .iter()
                        .chain(p.roles.iter())
                        .filter(|id| !expected.contains(id))
                        .map(|id| format!("message {mid} in {channel} pinged {id}"))
                        .collect();
                    if p.everyone {
                        out.push(format!("message {mid} in {channel} pinged @everyone"));
                    }
                    out
                })
                .collect()
        })
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
        let (done, n) = poll_until(|| self.count(sql), |n| *n == want).await;
        assert!(done, "timed out waiting for {what}: {sql} is {n}, not {want}");
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

    /// A text channel made by hand and set as the requests channel with
    /// `/config requests-channel`, as an admin would. Returns its id.
    pub async fn requests_channel(&self, admin: &Actor) -> u64 {
        let id =
            self.fake.create_channel_by_hand("join-requests", fake_discord::world::channel_type::TEXT, None, vec![]);
        let r = admin.slash("config requests-channel", &[("channel", &id.to_string())]).await;
        assert!(r.text().contains("the requests channel is"), "{}", r.text());
        id
    }

    /// Make `role` the server's admin role with `/config admin-role`.
    pub async fn admin_role(&self, admin: &Actor, role: u64) {
        let r = admin.slash("config admin-role", &[("role", &role.to_string())]).await;
        assert!(r.text().contains("are admins now"), "{}", r.text());
    }

    /// Write the community guidelines in the `/config guidelines` form, as
    /// an admin would; returns the version members will be asked to accept.
    pub async fn set_guidelines(&self, admin: &Actor, text: &str) -> i32 {
        let opened = admin.slash("config guidelines", &[]).await;
        let r = admin.submit(&opened.modal(), &[("text", text)]).await;
        let said = r.text();
        let version = said
            .split("version ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok());
        version.unwrap_or_else(|| panic!("no guidelines version in {said}"))
    }

    /// Every way Postgres and the fake's guild disagree, named: members that
    /// are not away ⇔ holders of the group role; each group's role and
    /// channel exist (a closed group's channel hidden from @everyone and open
    /// to its role); holders of a notification role ⇔ the group's followers
    /// in mention mode who are in the server; each group's kept member count
    /// is its members counted; no role or channel the bot made that no row
    /// owns, and nothing waiting on a person who left
    /// (`strays_and_stale_rows`).
    pub async fn differences(&self) -> Vec<String> {
        let mut out = Vec::new();
        let groups: Vec<(i64, String, i64, i64, String)> = sqlx::query_as(
            "select id, name, role_id, channel_id, visibility from groups where role_id is not null and channel_id is not null",
        )
        .fetch_all(&self.pool)
        .await
        .expect("groups");
        let (gid, guild) = (self.fake.guild_id, self.fake.with(|w| w.guilds[&self.fake.guild_id].clone()));
        for (id, name, role, channel, visibility) in groups {
            let (role, channel) = (role as u64, channel as u64);
            if !guild.roles.iter().any(|r| r.id == role) {
                out.push(format!("group {name}: its role {role} is gone"));
            }
            match self.fake.with(|w| w.channels.get(&channel).cloned()) {
                None => out.push(format!("group {name}: its channel {channel} is gone")),
                Some(ch) if visibility == "closed" => {
                    let everyone = ch.overwrites.iter().find(|o| o.id == gid);
                    if everyone.is_none_or(|o| o.deny & fake_discord::perms::VIEW_CHANNEL == 0) {
                        out.push(format!("group {name}: its closed channel is not hidden from @everyone"));
                    }
                    if !ch.overwrites.iter().any(|o| o.id == role && o.allow & fake_discord::perms::VIEW_CHANNEL != 0) {
                        out.push(format!("group {name}: its role can't see its closed channel"));
                    }
                }
                Some(_) => {}
            }
            let members: Vec<i64> = sqlx::query_scalar(
                "select user_id from memberships where group_id = $1 and away_since is null order by user_id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .expect("members");
            let mut holders: Vec<i64> =
                guild.members.values().filter(|m| m.roles.contains(&role)).map(|m| m.user_id as i64).collect();
            holders.sort();
            for m in members.iter().filter(|m| !holders.contains(m)) {
                out.push(format!("group {name}: member <@{m}> lacks its role"));
            }
            for h in holders.iter().filter(|h| !members.contains(h)) {
                out.push(format!("group {name}: <@{h}> holds its role but is no member"));
            }
            let kept: Option<i64> = sqlx::query_scalar("select members from group_member_counts where group_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .expect("member count");
            if kept.unwrap_or(0) != members.len() as i64 {
                out.push(format!("group {name}: its kept member count {kept:?} is not its {} members", members.len()));
            }
            let notify: Option<i64> = sqlx::query_scalar("select role_id from notify_roles where group_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .expect("notify role");
            if let Some(notify) = notify.map(|r| r as u64) {
                let mut want: Vec<i64> = sqlx::query_scalar(
                    "select s.user_id from subscriptions s
                     left join notification_prefs p on p.guild_id = s.guild_id and p.user_id = s.user_id
                     left join guild_settings gs on gs.guild_id = s.guild_id
                     where s.kind = 'group' and s.target_id = $1
                       and coalesce(p.mode, gs.notify_default_mode, 'mention') = 'mention'
                     order by s.user_id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .expect("followers");
                want.retain(|u| guild.members.contains_key(&(*u as u64)));
                let mut have: Vec<i64> =
                    guild.members.values().filter(|m| m.roles.contains(&notify)).map(|m| m.user_id as i64).collect();
                have.sort();
                if want != have && guild.roles.iter().any(|r| r.id == notify) {
                    out.push(format!("group {name}: notify role holders {have:?}, mention-mode followers {want:?}"));
                }
            }
        }
        out.extend(self.strays_and_stale_rows().await);
        out
    }

    /// Every role and channel the bot made that still exists and no row
    /// owns (a group's role or channel, a notification role, a bucket's
    /// category); every pending request, pending invitation and open lead
    /// application whose person is not in the server any more.
    async fn strays_and_stale_rows(&self) -> Vec<String> {
        let mut out = Vec::new();
        let owned: Vec<i64> = sqlx::query_scalar(
            "select role_id from groups where role_id is not null
             union select channel_id from groups where channel_id is not null
             union select role_id from notify_roles
             union select category_id from bucket_categories",
        )
        .fetch_all(&self.pool)
        .await
        .expect("what rows own");
        out.extend(self.fake.with(|w| {
            w.made_by_bot
                .iter()
                .filter(|id| !owned.contains(&(**id as i64)))
                .filter_map(|id| {
                    let role = w.guilds.values().flat_map(|g| g.roles.iter()).find(|r| r.id == *id);
                    match (role, w.channels.get(id)) {
                        (Some(r), _) => Some(format!("role {} ({id}) was made by the bot and no row owns it", r.name)),
                        (None, Some(c)) => {
                            Some(format!("channel #{} ({id}) was made by the bot and no row owns it", c.name))
                        }
                        (None, None) => None,
                    }
                })
                .collect::<Vec<_>>()
        }));
        let waiting: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "select 'request', id, guild_id, user_id from join_requests where status = 'pending'
             union all select 'invitation', id, guild_id, invitee_id from invitations where status = 'pending'
             union all select 'lead application', id, guild_id, applicant_id from lead_applications where status = 'open'",
        )
        .fetch_all(&self.pool)
        .await
        .expect("what waits");
        out.extend(self.fake.with(|w| {
            waiting
                .iter()
                .filter(|(_, _, g, u)| {
                    w.guilds.get(&(*g as u64)).is_some_and(|g| !g.members.contains_key(&(*u as u64)))
                })
                .map(|(what, id, _, u)| format!("{what} #{id} waits, but <@{u}> is not in the server"))
                .collect::<Vec<_>>()
        }));
        out
    }

    /// Wait (up to 15 s) until Postgres and the guild agree; panics naming
    /// each difference that remains.
    pub async fn assert_consistent(&self) {
        let d = self.settled_differences().await;
        assert!(d.is_empty(), "Postgres and Discord disagree:\n{}", d.join("\n"));
    }

    /// The differences once Postgres and the guild agree, or those left
    /// after 15 s (a resumed gateway's catch-up, a retried call, a queued
    /// job have had their time).
    pub async fn settled_differences(&self) -> Vec<String> {
        poll_until(|| self.differences(), |d| d.is_empty()).await.1
    }

    /// The texts the bot posted in a channel, oldest first.
    pub fn texts_in(&self, channel: u64) -> Vec<String> {
        self.fake.with(|w| w.channel_messages(channel).iter().map(fake_discord::scenario::message_text).collect())
    }
}

/// Read a value until `done` holds of it, for at most 15 s: whether it
/// did, and the last value read. For what the bot writes to Postgres after
/// its last call to Discord, which no change of the fake's state announces,
/// so it is polled (every 25 ms).
async fn poll_until<T, F, Fut>(mut read: F, done: impl Fn(&T) -> bool) -> (bool, T)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let v = read().await;
        if done(&v) || tokio::time::Instant::now() > deadline {
            return (done(&v), v);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
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
    start_bot_with(fake, database_url, clock, identifies_before, None).await
}

async fn start_bot_with(
    fake: &FakeDiscord,
    database_url: &str,
    clock: &Clock,
    identifies_before: usize,
    metrics_addr: Option<std::net::SocketAddr>,
) -> guildhall::Running {
    let config = Config { metrics_addr, ..config_for(fake, database_url, clock) };
    let bot = guildhall::start(config).await.expect("the bot starts");
    fake.wait_for_identify(identifies_before).await;
    fake.wait_for_bot().await;
    fake.wait_for_commands().await;
    bot
}

/// A bot process's settings in a `Sim`: the fake in Discord's place (no
/// `DISCORD_API_BASE_URL`: the bot paces itself by the fake's rate-limit
/// headers and Discord's global limit, as it does against Discord, and a
/// 429 it earns fails the test), commands in the fake's first guild, the
/// sim's clock.
fn config_for(fake: &FakeDiscord, database_url: &str, clock: &Clock) -> Config {
    Config {
        token: Token::new("test-token"),
        database_url: database_url.to_string(),
        dev_guild_id: Some(fake.guild_id),
        api_base_url: None,
        discord_origin: fake.base_url(),
        clock: clock.clone(),
        // Passes run when a test moves the clock; this only paces the rest.
        tick: std::time::Duration::from_secs(60),
        metrics_addr: None,
        shard_count: None,
        shard_range: None,
        dm_rate_per_sec: guildhall::config::DEFAULT_DM_RATE_PER_SEC,
        rest_rate_per_sec: guildhall::config::DEFAULT_REST_RATE_PER_SEC,
        notify_by_name_max: guildhall::config::DEFAULT_NOTIFY_BY_NAME_MAX,
    }
}

/// `config_for`, for one of two processes of the bot: each takes half of
/// Discord's global limit (README, "Several processes").
fn config_for_one_of_two(fake: &FakeDiscord, database_url: &str, clock: &Clock) -> Config {
    Config {
        rest_rate_per_sec: guildhall::config::DEFAULT_REST_RATE_PER_SEC / 2,
        dm_rate_per_sec: guildhall::config::DEFAULT_DM_RATE_PER_SEC / 2,
        ..config_for(fake, database_url, clock)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // Reported at the end of every test (Discord bans an address past
        // 10,000 in 10 minutes; the fake records that as a violation).
        let invalid = self.fake.invalid_requests();
        eprintln!("invalid requests (401, 403, 429) answered to the bot in the last 10 minutes: {invalid} (Discord's limit: 10,000)");
        if !std::thread::panicking() {
            self.fake.assert_no_violations();
            let pings = self.unexpected_pings();
            assert!(pings.is_empty(), "the bot pinged someone the test did not expect (A6):\n{}", pings.join("\n"));
        }
    }
}

// Fixtures shared by several scenario files.

/// An admin creates a group; returns its role and channel ids.
pub async fn group(sim: &Sim, admin: &Actor, name: &str, visibility: &str) -> (u64, u64) {
    let r = admin.slash("group create", &[("name", name), ("bucket", "Interest"), ("visibility", visibility)]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    let role = sim.fake.role_named(name).expect("role").id;
    let slug = name.to_lowercase().replace(' ', "-");
    let channel = sim.fake.channel_named(&slug).expect("channel").id;
    (role, channel)
}

/// An admin makes `who` a leader of `group`.
pub async fn make_leader(admin: &Actor, group: &str, who: &Actor) {
    let r = admin.slash("group leader add", &[("group", group), ("user", &who.user_id.to_string())]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
}

/// `/request-join`, with a message if given.
pub async fn ask(who: &Actor, group: &str, message: Option<&str>) -> Reply {
    let mut opts = vec![("group", group)];
    if let Some(m) = message {
        opts.push(("message", m));
    }
    who.slash("request-join", &opts).await
}

/// The latest card (a message with an embed) in a channel or thread.
pub fn card(sim: &Sim, thread: u64) -> Message {
    sim.fake
        .with(|w| w.channel_messages(thread).to_vec())
        .into_iter()
        .rev()
        .find(|m| !m.embeds.as_array().unwrap().is_empty())
        .expect("a card")
}

/// A message as it is now.
pub fn refreshed(sim: &Sim, m: &Message) -> Message {
    sim.fake.with(|w| w.find_message(m.id).cloned()).expect("card still there")
}

/// The custom id of the button labelled `label` on a message.
pub fn button(m: &Message, label: &str) -> String {
    components_of(m)
        .into_iter()
        .find(|c| c.label == label)
        .unwrap_or_else(|| panic!("no {label} on {}", message_text(m)))
        .custom_id
}

/// The status of a member's latest request to join.
pub async fn status_of(sim: &Sim, user: u64) -> String {
    sqlx::query_scalar::<_, String>(&format!(
        "select status from join_requests where user_id = {user} order by id desc limit 1"
    ))
    .fetch_one(&sim.pool)
    .await
    .unwrap()
}

/// A TCP forwarder on loopback to `target` that a test can cut (every
/// connection dropped, new ones refused) and restore: Postgres "stopped"
/// for one bot without stopping the server everyone shares.
pub struct Forwarder {
    pub port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    live: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Forwarder {
    pub async fn start(target: std::net::SocketAddr) -> Forwarder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
        let port = listener.local_addr().unwrap().port();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let live = std::sync::Arc::new(std::sync::Mutex::new(Vec::<tokio::task::AbortHandle>::new()));
        let (o, l) = (open.clone(), live.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                l.lock().unwrap().push(conn.abort_handle());
            }
        });
        Forwarder { port, open, live, accept }
    }

    /// Drop every connection and refuse new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for c in self.live.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    /// Accept and forward connections again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.accept.abort();
        for c in self.live.lock().unwrap().drain(..) {
            c.abort();
        }
    }
}

/// The rows a custom id names (`every_custom_id`).
pub struct Rows {
    pub group: i64,
    pub request: i64,
    pub application: i64,
    pub invitation: i64,
    pub version: i32,
    pub newest_audit: i64,
}

/// One id of every `CustomId` variant, naming `r`'s rows wherever it
/// names a row (`forged.rs` checks that it is every variant, with an
/// exhaustive `match`; the fault matrix presses each kind in a flow).
pub fn every_custom_id(r: &Rows) -> Vec<CustomId> {
    use guildhall::domain::group::Bucket;
    use guildhall::domain::reconcile::Policy;
    let g = r.group;
    vec![
        CustomId::DirectoryPage { bucket: Some(Bucket::Interest), page: 0 },
        CustomId::Join { group: g },
        CustomId::Leave { group: g },
        CustomId::Subscribe { group: g },
        CustomId::Request { group: g },
        CustomId::Agree { group: g, version: r.version, prompt: 1 },
        CustomId::Disagree,
        CustomId::AuditPage { group_id: Some(g), user_id: None, upto: r.newest_audit, page: 0 },
        CustomId::GuidelinesModal,
        CustomId::GroupDelete { group_id: g },
        CustomId::GroupDeleteCancel { group_id: g },
        CustomId::LeadApplyForm { group: g },
        CustomId::LeadProposeForm { bucket: Bucket::Interest },
        CustomId::LeadApprove { application: r.application },
        CustomId::LeadDecline { application: r.application },
        CustomId::LeadDeclineForm { application: r.application },
        CustomId::LeadWithdraw { application: r.application },
        CustomId::RequestApprove { request: r.request },
        CustomId::RequestDeny { request: r.request },
        CustomId::RequestDenyForm { request: r.request },
        CustomId::RequestWithdraw { request: r.request },
        CustomId::SubscriptionsPage { page: 0 },
        CustomId::SubscriptionsDelete { page: 0 },
        CustomId::SubscriptionsAll,
        CustomId::SubscriptionsAllConfirm,
        CustomId::InviteAccept { invitation: r.invitation },
        CustomId::InviteDecline { invitation: r.invitation },
        CustomId::InviteRevoke { invitation: r.invitation },
        CustomId::InviteAgree { invitation: r.invitation, version: r.version },
        CustomId::ReconcileApply { policy: Policy::Restore },
    ]
}
