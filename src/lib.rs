//! Guildhall: community groups for Discord.
//!
//! `start` builds the bot (serenity + poise) against Postgres and Discord's
//! API (or anything that speaks it, like the fake in `fake-discord`);
//! `run` starts it and shuts it down gracefully on a signal.

pub mod auth;
pub mod background;
pub mod clock;
pub mod commands;
pub mod components;
pub mod config;
pub mod custom_id;
pub mod db;
pub mod discord;
pub mod domain;
pub mod error;
pub mod inflight;
#[cfg(feature = "playground")]
pub mod playground;
pub mod refusal;
pub mod render;
pub mod replies;
pub mod service;
pub mod telemetry;
pub mod types;
pub mod views;

use anyhow::Context as _;
use config::Config;
use serenity::all::{FullEvent, GatewayIntents, HttpBuilder, Interaction, ShardManager};
use service::App;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use types::{Data, Error};

/// The gateway intents the bot asks for. GUILD_MEMBERS is privileged: turn
/// it on in the Developer Portal (see the README).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MEMBERS | GatewayIntents::GUILD_MESSAGES
}

/// A running bot.
pub struct Running {
    shard_manager: Arc<ShardManager>,
    client_task: tokio::task::JoinHandle<Result<(), serenity::Error>>,
    pool: sqlx::PgPool,
    inflight: inflight::InFlight,
    /// Turned true to stop the background loop.
    stop: tokio::sync::watch::Sender<bool>,
    /// The background loop and the DM worker, for `crash`.
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    /// Where `/metrics`, `/healthz` and `/readyz` are served, if they are.
    metrics_addr: Option<std::net::SocketAddr>,
    /// Turned true, last, to stop the Discord request meter.
    meter_stop: tokio::sync::watch::Sender<bool>,
}

impl Running {
    /// The address `/metrics`, `/healthz` and `/readyz` answer on (the port
    /// bound when METRICS_ADDR asked for port 0); `None` when off.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_addr
    }

    /// How many handlers and background passes are running now.
    pub fn in_flight(&self) -> usize {
        self.inflight.count()
    }

    /// Stop the shards, let handlers in flight finish, close the pool.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.shard_manager.shutdown_all().await;
        if !self.inflight.drain(Duration::from_secs(10)).await {
            tracing::warn!(in_flight = self.inflight.count(), "shutting down with handlers still running");
        }
        self.client_task.abort();
        let _ = self.client_task.await;
        self.pool.close().await;
        let _ = self.meter_stop.send(true);
        tracing::info!("stopped");
    }

    /// Stop at once, as a crash would: the background loop and the DM worker
    /// are dropped wherever they are (mid-send included), nothing is drained
    /// or given back, connections are cut. For tests of what survives a crash.
    pub async fn crash(self) {
        for t in self.tasks.lock().expect("task list").drain(..) {
            t.abort();
        }
        self.client_task.abort();
        let _ = self.client_task.await;
        self.shard_manager.shutdown_all().await;
        self.pool.close().await;
        let _ = self.meter_stop.send(true);
        tracing::info!("crashed on purpose");
    }

    /// The shards this process runs now (ids, of the shard count).
    pub async fn shard_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.shard_manager.runners.lock().await.keys().map(|s| s.0).collect();
        ids.sort();
        ids
    }

    /// Wait until the client stops by itself (a fatal gateway error).
    pub async fn stopped(&mut self) -> anyhow::Result<()> {
        match (&mut self.client_task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e).context("the Discord client stopped"),
            Err(e) => Err(e).context("the Discord client task failed"),
        }
    }
}

/// serenity's HTTP client: every request to the request meter on
/// loopback (`meter`), which forwards it to Discord or the operator's
/// proxy, counts every answer (O1) and, talking to Discord itself, paces
/// requests in place of serenity's limiter (which would ignore the meter).
fn build_http(config: &Config, meter: std::net::SocketAddr) -> anyhow::Result<serenity::http::Http> {
    let client = reqwest::Client::builder().no_proxy().build().context("building the HTTP client")?;
    Ok(HttpBuilder::new(config.token.expose())
        .proxy(format!("http://{meter}"))
        .ratelimiter_disabled(true)
        .client(client)
        .build())
}

/// Connect to Postgres (creating and migrating the database), connect to
/// Discord and register the commands.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    start_with(config, Vec::new()).await
}

/// `start`, with `extra` commands registered beside Guildhall's own. For
/// benchmarks only (benches/interactions.rs adds its floor command, a single
/// PostgreSQL round trip): production starts through `start`.
pub async fn start_with(config: Config, extra: Vec<poise::Command<Data, Error>>) -> anyhow::Result<Running> {
    let pool = db::connect(&config.database_url).await?;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
    // The meter outlives the background work: handlers still in flight at
    // shutdown answer through it.
    let (meter_stop, meter_stop_rx) = tokio::sync::watch::channel(false);
    let upstream = match &config.api_base_url {
        Some(proxy) => discord::meter::Upstream::paced_there(proxy, &config.discord_origin),
        None => discord::meter::Upstream::paced_here(&config.discord_origin, config.rest_rate_per_sec),
    };
    let meter = discord::meter::start(upstream, meter_stop_rx).await.context("starting the request meter")?.0;
    let http = build_http(&config, meter)?;
    let inflight = inflight::InFlight::default();
    // The shards to run: SHARD_RANGE of SHARD_COUNT, or of what Discord
    // recommends (asked only then; GET /gateway/bot).
    let recommended = match config.shard_count {
        Some(n) => n,
        None => {
            http.get_bot_gateway().await.context("asking Discord how many shards to run (GET /gateway/bot)")?.shards
        }
    };
    let (shard_range, shard_count) = config.shards(recommended)?;
    tracing::info!(shards = ?shard_range, of = shard_count, "starting shards");
    let dm_rate = config.dm_rate_per_sec;
    let notify_by_name_max = config.notify_by_name_max;
    let dev_guild = config.dev_guild_id;
    let setup_pool = pool.clone();
    let setup_inflight = inflight.clone();
    let setup_tasks = tasks.clone();
    let gateway_url = types::GatewayUrl::default();
    let setup_gateway_url = gateway_url.clone();
    let (clock, tick) = (config.clock.clone(), config.tick);
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all().into_iter().chain(extra).collect(),
            on_error: |e| Box::pin(error::on_error(e)),
            event_handler: |fw, event| Box::pin(on_event(fw.serenity_context, event, fw.user_data)),
            allowed_mentions: Some(discord::no_pings()),
            pre_command: |ctx| {
                Box::pin(async move {
                    ctx.set_invocation_data(telemetry::Started(std::time::Instant::now())).await;
                    telemetry::begin(ctx.id(), "command", &ctx.command().qualified_name);
                    tracing::debug!(command = %ctx.command().qualified_name, user = ctx.author().id.get(), "command");
                })
            },
            post_command: |ctx| Box::pin(error::record_command(ctx, telemetry::Outcome::Ok)),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                match dev_guild {
                    Some(g) => {
                        poise::builtins::register_in_guild(ctx, &framework.options().commands, serenity::all::GuildId::new(g)).await?
                    }
                    None => poise::builtins::register_globally(ctx, &framework.options().commands).await?,
                }
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected and commands registered");
                let app = App {
                    pool: setup_pool.into(),
                    http: ctx.http.clone(),
                    bot_id: ready.user.id.get(),
                    clock: clock.clone(),
                    deliveries: std::sync::Arc::new(service::deliveries::Queue::at_rate(dm_rate)),
                    notify_syncs: Default::default(),
                    hierarchy: Default::default(),
                    applier: Default::default(),
                    notify_by_name_max: notify_by_name_max.into(),
                    thread_makers: Default::default(),
                };
                let pass = tokio::spawn(background::run(app.clone(), clock, tick, setup_inflight.clone(), stop_rx.clone()));
                // S5: the DM queue's worker (woken by new jobs, polling for others).
                let worker = tokio::spawn(service::deliveries::run(app.clone(), setup_inflight.clone(), stop_rx.clone()));
                // N6: the role queue's worker (woken by decisions, polling for others).
                let applier = tokio::spawn(service::applier::run(app.clone(), setup_inflight.clone(), stop_rx));
                setup_tasks.lock().expect("task list").extend([
                    pass.abort_handle(),
                    worker.abort_handle(),
                    applier.abort_handle(),
                ]);
                // The catch-up of missed topics (S6) and the full reconcile
                // pass (A5) run on every READY, this first one included
                // (`on_event`), not once per process.
                Ok(Data { app, inflight: setup_inflight, gateway_url: setup_gateway_url })
            })
        })
        .build();
    let mut client = serenity::all::ClientBuilder::new_with_http(http, intents())
        .framework(framework)
        .await
        .context("building the Discord client")?;
    let shard_manager = client.shard_manager.clone();
    let _ = gateway_url.set(client.ws_url.clone());
    let metrics_addr = match config.metrics_addr {
        None => None,
        Some(addr) => {
            let probe = telemetry::Probe { pool: pool.clone(), shards: shard_manager.clone() };
            let (bound, server) = telemetry::serve(addr, probe, stop.subscribe())
                .await
                .with_context(|| format!("serving metrics on METRICS_ADDR {addr}"))?;
            tasks.lock().expect("task list").push(server.abort_handle());
            Some(bound)
        }
    };
    // serenity 0.12.5's `start_shard_range(a..b, n)` boots shards a to b
    // *inclusive* (it counts `b - a + 1`), so the exclusive range ends one
    // lower; one shard at a time, 5 s apart (its shard queuer).
    let last = shard_range.end - 1;
    let client_task = tokio::spawn(async move { client.start_shard_range(shard_range.start..last, shard_count).await });
    Ok(Running { shard_manager, client_task, pool, inflight, stop, tasks, metrics_addr, meter_stop })
}

async fn on_event(ctx: &serenity::all::Context, event: &FullEvent, data: &Data) -> Result<(), Error> {
    match event {
        FullEvent::Ready { data_about_bot } => {
            telemetry::gateway_session(ctx.shard_id.0, false);
            resume_there(data, &data_about_bot.resume_gateway_url).await;
        }
        FullEvent::Resume { .. } => telemetry::gateway_session(ctx.shard_id.0, true),
        FullEvent::Ratelimit { data } => telemetry::ratelimited(data.global, &data.path),
        _ => {}
    }
    if let FullEvent::InteractionCreate { interaction: Interaction::Component(i) } = event {
        components::handle(ctx, data, i).await;
    }
    if let FullEvent::InteractionCreate { interaction: Interaction::Modal(m) } = event {
        components::handle_modal(ctx, data, m).await;
    }
    if let FullEvent::ThreadCreate { thread } = event {
        // A private thread is not a topic: only its members see it.
        let private = thread.kind == serenity::all::ChannelType::PrivateThread;
        if let Some(parent) = thread.parent_id.filter(|_| !private) {
            let _guard = data.inflight.enter();
            let owner = thread.owner_id.map(|o| o.get());
            let r =
                service::notify::topic_created(&data.app, thread.guild_id.get(), thread.id.get(), parent.get(), owner);
            if let Err(e) = r.await {
                tracing::warn!(thread_id = thread.id.get(), error = %e, "announcing a new topic failed");
            }
        }
    }
    if let FullEvent::Message { new_message: m } = event {
        // S3: a message in a followed thread, a reply to a followed post.
        // Only ids are read: no MESSAGE_CONTENT intent is needed.
        if let (Some(guild), false, true) = (m.guild_id, m.author.bot, posted_by_a_member(m)) {
            let _guard = data.inflight.enter();
            let reply_to = reply_target(m);
            let r = service::notify::message_created(
                &data.app,
                guild.get(),
                m.channel_id.get(),
                m.id.get(),
                m.author.id.get(),
                reply_to,
            );
            if let Err(e) = r.await {
                tracing::warn!(message_id = m.id.get(), error = %e, "notifying followers of a message failed");
            }
        }
    }
    on_guild_change(event, data).await;
    Ok(())
}

/// gateway.md, "Preparing to Resume": "your app should open a new
/// connection using `resume_gateway_url` rather than the URL used to
/// initially connect". serenity 0.12.5 keeps READY's URL but connects its
/// shards, to resume as to identify again, on the one URL they share
/// (`Client::ws_url`): on every READY that URL becomes the resume URL. A
/// new IDENTIFY after an invalidated session goes there too (the docs ask
/// for GET /gateway's URL; serenity gives no hook to tell the two apart).
async fn resume_there(data: &Data, resume_gateway_url: &str) {
    if let (Some(url), false) = (data.gateway_url.get(), resume_gateway_url.is_empty()) {
        *url.lock().await = resume_gateway_url.to_string();
    }
}

/// Discord changed under the bot (A5): a new gateway session (READY, after
/// start-up or an invalidated session: nothing from the gap is replayed),
/// members' roles, members leaving and coming back, roles and channels
/// edited or deleted. Each is reconciled; failures are logged (and admins
/// told by the reconciler where it matters).
async fn on_guild_change(event: &FullEvent, data: &Data) {
    let app = &data.app;
    let outcome: Result<(), Box<dyn std::error::Error + Send + Sync>> = match event {
        FullEvent::Ready { data_about_bot } => {
            let since = app.clock.now();
            for g in &data_about_bot.guilds {
                let (app, guild, guard) = (app.clone(), g.id.get(), data.inflight.clone());
                tokio::spawn(async move {
                    let _guard = guard.enter();
                    // S6: topics started while the bot was down or the session was gone.
                    service::notify::catch_up(&app, guild).await;
                    service::reconcile::after_session(&app, guild, since).await;
                });
            }
            Ok(())
        }
        FullEvent::GuildMemberUpdate { event: m, .. } => {
            let _guard = data.inflight.enter();
            let roles: Vec<u64> = m.roles.iter().map(|r| r.get()).collect();
            service::reconcile::member_updated(app, m.guild_id.get(), m.user.id.get(), &roles).await
        }
        FullEvent::GuildMemberRemoval { guild_id, user, .. } => {
            let _guard = data.inflight.enter();
            service::reconcile::member_left(app, guild_id.get(), user.id.get()).await
        }
        FullEvent::GuildMemberAddition { new_member } => {
            let _guard = data.inflight.enter();
            service::reconcile::member_returned(app, new_member.guild_id.get(), new_member.user.id.get()).await
        }
        FullEvent::GuildRoleDelete { guild_id, removed_role_id, .. } => {
            let _guard = data.inflight.enter();
            service::reconcile::role_deleted(app, guild_id.get(), removed_role_id.get()).await.map(|_| ())
        }
        FullEvent::GuildRoleUpdate { new, .. } => {
            let _guard = data.inflight.enter();
            service::reconcile::role_changed(app, new.guild_id.get(), new.id.get()).await.map(|_| ())
        }
        // serenity dispatches a deleted category as CategoryDelete.
        FullEvent::ChannelDelete { channel, .. } | FullEvent::CategoryDelete { category: channel } => {
            let _guard = data.inflight.enter();
            let (guild, id, name) = (channel.guild_id.get(), channel.id.get(), channel.name.clone());
            service::reconcile::channel_deleted(app, guild, id, Some(&name)).await.map(|_| ())
        }
        _ => Ok(()),
    };
    if let Err(e) = outcome {
        tracing::warn!(event = ?std::mem::discriminant(event), error = %e, "reconciling a change on Discord failed");
    }
}

/// The message `m` replies to, if it is a reply. Discord also sets
/// `message_reference` on pin notices (type 6), crossposts, channel-follow
/// notices and forwards (reference type FORWARD, maybe from another
/// channel): none of those is a reply. A reply is of type InlineReply (19),
/// its reference is of type DEFAULT and names the message's own channel.
fn reply_target(m: &serenity::all::Message) -> Option<u64> {
    use serenity::all::{MessageReferenceKind, MessageType};
    if m.kind != MessageType::InlineReply {
        return None;
    }
    let r = m.message_reference.as_ref()?;
    if r.kind != MessageReferenceKind::Default || r.channel_id != m.channel_id {
        return None;
    }
    r.message_id.map(|id| id.get())
}

/// Whether a message is something a member wrote (a message or a reply),
/// rather than a notice Discord posts on its own (a pin, a member joining, a
/// thread created, a boost...): followers hear only of the former.
fn posted_by_a_member(m: &serenity::all::Message) -> bool {
    use serenity::all::MessageType;
    matches!(m.kind, MessageType::Regular | MessageType::InlineReply)
}

/// Run until `shutdown` resolves (or the client fails), then stop gracefully.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let mut running = start(config).await?;
    tokio::select! {
        _ = shutdown => {
            tracing::info!("shutting down");
            running.shutdown().await;
            Ok(())
        }
        r = running.stopped() => r,
    }
}

#[cfg(test)]
mod tests {
    use super::reply_target;
    use serde_json::json;

    fn message(kind: u8, reference: Option<serde_json::Value>) -> serenity::all::Message {
        let mut v = json!({
            "id": "500", "channel_id": "10", "guild_id": "1",
            "author": {"id": "7", "username": "bob", "discriminator": "0", "global_name": null, "avatar": null},
            "content": "", "timestamp": "2026-01-01T00:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": [], "pinned": false, "type": kind,
        });
        if let Some(r) = reference {
            v["message_reference"] = r;
        }
        serde_json::from_value(v).expect("a message")
    }

    #[test]
    fn only_an_inline_reply_in_the_same_channel_is_a_reply() {
        let same = json!({"type": 0, "message_id": "400", "channel_id": "10", "guild_id": "1"});
        assert_eq!(reply_target(&message(19, Some(same.clone()))), Some(400));
        // Reference type unset: DEFAULT is assumed.
        assert_eq!(reply_target(&message(19, Some(json!({"message_id": "400", "channel_id": "10"})))), Some(400));
        assert_eq!(reply_target(&message(0, None)), None);
        assert_eq!(reply_target(&message(6, Some(same.clone()))), None, "a pin notice");
        assert_eq!(reply_target(&message(0, Some(same))), None, "a crosspost");
        let forward = json!({"type": 1, "message_id": "400", "channel_id": "11", "guild_id": "1"});
        assert_eq!(reply_target(&message(0, Some(forward))), None, "a forward");
        let other = json!({"type": 0, "message_id": "400", "channel_id": "11", "guild_id": "1"});
        assert_eq!(reply_target(&message(19, Some(other))), None, "another channel");
        assert_eq!(reply_target(&message(12, Some(json!({"channel_id": "11", "guild_id": "1"})))), None, "follow add");
    }
}
