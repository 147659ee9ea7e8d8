//! Notifications in Discord-native mention mode (S3, S5 default, S6).
//!
//! Each group that has subscribers gets a "<group> notify" role with no
//! permissions; its holders are exactly the group's subscribers (kept in
//! step by `sync_member` after every group (un)subscription, join, leave and
//! removal). A new topic in the group's channel is announced by ONE message
//! in the topic itself that mentions that role, whatever the number of
//! subscribers (plus, by name, followers the role doesn't cover, split over
//! as few messages as Discord's 2,000 characters allow). The topic is claimed
//! in `announced_topics`, and the DMs and digest lines queued, in one
//! transaction that commits BEFORE the pings are posted: it happens once
//! across replayed events, resumes and restarts, and a refused post (400,
//! 403, a deleted message) costs nobody their DM or digest line and is not
//! retried (it is logged and audited as `notify.post_failed`). `catch_up`
//! announces at start-up the topics created while the bot was down.

use super::App;
use crate::discord::messages::{post_pinging, Mentions};
use crate::discord::{notify as dn, roles, DiscordError};
use crate::domain::delivery::{self, Follower, Mode};
use crate::domain::group::{self, Group};
use crate::domain::subscription::{self, Kind};
use crate::domain::{audit, notify};
use crate::views::notifications as nv;

// A group's mention-mode followers are pinged by name (a message holds
// about 90 mentions) while there are at most `App::notify_by_name_max` of
// them (`NOTIFY_BY_NAME_MAX`, 50 by default): the author is never pinged
// about their own topic (S3), and a join costs one member-role call, not
// two (N6). Past it, the group's notification role is handed out and
// mentioned (S5: one message whatever the number), and an author who
// follows the group is pinged with the others: Discord has no way to leave
// one role holder out of a role mention.

/// Discord allows 250 roles per guild; notification roles are only made
/// while the guild has fewer than this many, leaving room for group roles
/// and the server's own.
pub const ROLE_CAP: usize = 230;

/// Discord's epoch, for a snowflake's timestamp.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

fn snowflake_ms(id: u64) -> i64 {
    (id >> 22) as i64 + DISCORD_EPOCH_MS
}

/// The group's notification role, made now if it has none. `None` when the
/// guild is too close to Discord's role limit (reported in the audit trail).
/// Discord is asked holding no connection (N6); two syncs making the role
/// at once keep the one remembered first, and the other is deleted again.
async fn ensure_role(app: &App, g: &Group) -> Result<Option<u64>, Box<dyn std::error::Error + Send + Sync>> {
    if let Some(r) = notify::role_of(&mut *app.pool.acquire().await?, g.id).await? {
        return Ok(Some(r));
    }
    let count = roles::guild_roles(&app.http, g.guild_id).await?.len();
    if count >= ROLE_CAP {
        audit::record(
            &mut *app.pool.acquire().await?,
            &audit::Entry::guild(g.guild_id, "notify.role_cap")
                .group(g.id)
                .because("too many roles for a notification role; the group's followers are pinged by name"),
        )
        .await?;
        tracing::warn!(group_id = g.id, roles = count, "no notification role: the guild is near the role limit");
        return Ok(None);
    }
    let name = role_name(&g.name);
    let reason = format!("Guildhall: notifications for \"{}\"", g.name);
    let role = roles::create(&app.http, g.guild_id, &name, true, &reason).await?;
    let kept = notify::claim_role(&mut *app.pool.acquire().await?, g.guild_id, g.id, role).await;
    match kept {
        Ok(kept) if kept == role => Ok(Some(role)),
        other => {
            // Another sync made it first (or the database failed): ours goes.
            delete_role(app, g.guild_id, role, "Guildhall: a second notification role").await;
            Ok(Some(other?))
        }
    }
}

/// The name of a group's notification role (Discord allows 100 characters).
fn role_name(group_name: &str) -> String {
    format!("{group_name} notify").chars().take(100).collect()
}

/// The group was renamed: its notification role follows. Never fails its
/// caller (the rename already happened); a failure is logged.
pub async fn group_renamed(app: &App, g: &Group) {
    let role = match app.pool.acquire().await {
        Ok(mut conn) => notify::role_of(&mut conn, g.id).await,
        Err(e) => Err(e),
    };
    let result = match role {
        Ok(Some(role)) => crate::discord::provision::rename_role(
            &app.http,
            g.guild_id,
            role,
            &role_name(&g.name),
            &format!("Guildhall: group renamed to \"{}\"", g.name),
        )
        .await
        .map_err(|e| e.to_string()),
        Ok(None) => Ok(()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        tracing::warn!(group_id = g.id, error = %e, "could not rename the notification role");
    }
}

/// Give or take the group's notification role so that it matches whether
/// the member follows the group in mention mode (members in another mode
/// must not hold it, or they would be pinged too). Never fails its caller
/// (the membership or subscription change already happened): a failure is
/// logged and the sync is left pending (`notify_sync_pending`) for the
/// background pass to try again (`retry_pending`), so the role comes back
/// in step within a tick of Discord taking calls again (N5).
pub async fn sync_member(app: &App, g: &Group, user_id: u64) {
    let result = try_sync_member(app, g, user_id, false).await;
    settle_sync(app, g, user_id, result, false).await;
}

/// Record how a sync ended: pending when it failed. A success clears a
/// pending row only on a retry: the hot path (every join and subscription
/// change) writes nothing when all is well, and a row a later sync made
/// moot costs one more, harmless, retry.
async fn settle_sync(app: &App, g: &Group, user_id: u64, result: Result<(), BoxError>, retrying: bool) {
    let recorded = match (&result, retrying) {
        (Ok(()), false) => Ok(()),
        _ => match app.pool.acquire().await {
            Ok(mut conn) => match &result {
                Ok(()) => notify::clear_sync_pending(&mut conn, g.id, user_id).await,
                Err(_) => notify::mark_sync_pending(&mut conn, g.guild_id, g.id, user_id).await,
            },
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        tracing::warn!(group_id = g.id, user_id, error = %e, "could not sync the notification role; retried next pass");
    }
    if let Err(e) = recorded {
        tracing::warn!(group_id = g.id, user_id, error = %e, "could not record how a notification role sync ended");
    }
}

/// Try each pending notification-role sync once more (the background
/// pass). A member or role Discord still calls unknown is settled: the
/// member left (their departure is reconciled) or the role is gone (made
/// again for the next follower).
pub async fn retry_pending(app: &App) -> Result<usize, BoxError> {
    let pending = notify::pending_syncs(&mut *app.pool.acquire().await?, 500).await?;
    let mut done = 0;
    for (guild_id, group_id, user_id) in pending {
        let g = group::get(&mut *app.pool.acquire().await?, guild_id, group_id).await?;
        let Some(g) = g else {
            notify::clear_sync_pending(&mut *app.pool.acquire().await?, group_id, user_id).await?;
            continue;
        };
        let result = try_sync_member(app, &g, user_id, true).await;
        done += usize::from(result.is_ok());
        settle_sync(app, &g, user_id, result, true).await;
    }
    Ok(done)
}

/// One sync. On a first try a 404 is an error like any other (a member or
/// role the bot has just seen is not taken as gone on one answer); on a
/// retry it settles the sync.
async fn try_sync_member(app: &App, g: &Group, user_id: u64, retrying: bool) -> Result<(), BoxError> {
    // Held until this sync's Discord calls are done.
    let _turn = app.notify_syncs.turn(g.id, user_id).await;
    let (subscribed, role, followers) = {
        let mut conn = app.pool.acquire().await?;
        (
            subscription::is_subscribed(&mut conn, user_id, Kind::Group, g.id).await?
                && delivery::mode_of(&mut conn, g.guild_id, user_id).await? == Mode::Mention,
            notify::role_of(&mut conn, g.id).await?,
            notify::mention_followers(&mut conn, g.guild_id, g.id).await?,
        )
    };
    let reason = format!("Guildhall: notifications for \"{}\"", g.name);
    if subscribed && followers <= app.notify_by_name_max {
        // Pinged by name while the group is small: no role call. Whoever
        // follows now without the role gets it once the group grows.
        if role.is_some() {
            notify::role_incomplete(&mut *app.pool.acquire().await?, g.id).await?;
        }
        return Ok(());
    }
    if subscribed {
        let Some(role) = (match role {
            Some(r) => Some(r),
            None => ensure_role(app, g).await?,
        }) else {
            return Ok(());
        };
        match roles::grant(&app.http, g.guild_id, user_id, role, &reason).await {
            Ok(()) => {}
            Err(DiscordError::Unknown("role", _)) => {
                // Deleted by hand: forget it, make a new one and give it to
                // this member now, and to the other followers as the
                // background pass retries them.
                {
                    let mut tx = app.pool.begin().await?;
                    notify::forget_role(&mut tx, g.id).await?;
                    for other in subscription::followers_of_group(&mut tx, g.id).await? {
                        if other != user_id {
                            notify::mark_sync_pending(&mut tx, g.guild_id, g.id, other).await?;
                        }
                    }
                    tx.commit().await?;
                }
                if let Some(role) = ensure_role(app, g).await? {
                    roles::grant(&app.http, g.guild_id, user_id, role, &reason).await?;
                }
            }
            Err(DiscordError::Unknown("member", _)) if retrying => {}
            Err(e) => return Err(e.into()),
        }
        // Past the by-name limit: the followers who joined without the role
        // get it (once, from whichever sync gets here first), through the
        // background pass's retries.
        let mut tx = app.pool.begin().await?;
        if notify::role_completing(&mut tx, g.id).await? {
            for other in subscription::followers_of_group(&mut tx, g.id).await? {
                if other != user_id {
                    notify::mark_sync_pending(&mut tx, g.guild_id, g.id, other).await?;
                }
            }
        }
        tx.commit().await?;
    } else if let Some(role) = role {
        match roles::revoke(&app.http, g.guild_id, user_id, role, &reason).await {
            Ok(()) => {}
            Err(DiscordError::Unknown(..)) if retrying => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Takes turns for the notification-role syncs of one member in one group,
/// in this process: each sync reads what the member should hold and makes
/// Discord say so, so a later change's sync can't overtake an earlier one
/// still waiting on Discord (a 429, a slow answer) and then be undone by
/// it. In memory rather than an advisory lock: a sync would otherwise hold
/// a database connection across its Discord calls, and a thousand joins at
/// once would drain the pool (a sync that makes the role needs a second
/// connection). A member's changes come through the one process that
/// holds their server's shard.
#[derive(Debug, Default)]
pub struct Syncs(std::sync::Mutex<Turns>);

/// Each (group, member)'s turn, while anyone holds or waits for it.
type Turns = std::collections::HashMap<(i64, u64), std::sync::Weak<tokio::sync::Mutex<()>>>;

impl Syncs {
    /// Wait for this member's turn in this group; the turn lasts as long as
    /// the guard.
    pub async fn turn(&self, group_id: i64, user_id: u64) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().expect("sync turns");
            map.retain(|_, w| w.strong_count() > 0);
            match map.get(&(group_id, user_id)).and_then(|w| w.upgrade()) {
                Some(l) => l,
                None => {
                    let l = std::sync::Arc::new(tokio::sync::Mutex::new(()));
                    map.insert((group_id, user_id), std::sync::Arc::downgrade(&l));
                    l
                }
            }
        };
        lock.lock_owned().await
    }
}

/// Discord allows 100 user ids in `allowed_mentions.users`: one message
/// pings at most this many members by name.
pub const MAX_USER_PINGS: usize = 100;

/// Discord's limit on a message's content, in characters.
pub const MAX_CONTENT: usize = 2000;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One message of pings: its content and exactly who it may ping.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pings {
    content: String,
    role: Option<u64>,
    users: Vec<u64>,
}

/// Spread the mentions of `role` and `users` over as few messages as needed,
/// nobody left out: each is `head` (`next_head` after the first), a space
/// and a mention per pinged one, then `tail`, within `MAX_CONTENT`
/// characters and `MAX_USER_PINGS` users. The role goes in the first.
fn ping_messages(head: &str, next_head: &str, tail: &str, role: Option<u64>, users: &[u64]) -> Vec<Pings> {
    let len = |s: &str| s.chars().count();
    let mut out = Vec::new();
    let start = |head: &str, role: Option<u64>| {
        let mut content = head.to_string();
        if let Some(r) = role {
            content.push_str(&format!(" <@&{r}>"));
        }
        Pings { content, role, users: Vec::new() }
    };
    let mut cur = start(head, role);
    for u in users {
        let mention = format!(" <@{u}>");
        if !cur.users.is_empty()
            && (cur.users.len() == MAX_USER_PINGS || len(&cur.content) + len(&mention) + len(tail) > MAX_CONTENT)
        {
            cur.content.push_str(tail);
            out.push(std::mem::replace(&mut cur, start(next_head, None)));
        }
        cur.content.push_str(&mention);
        cur.users.push(*u);
    }
    if cur.role.is_some() || !cur.users.is_empty() {
        cur.content.push_str(tail);
        out.push(cur);
    }
    out
}

/// Post ping messages (after the claim and the queued rows are committed).
/// Returns the first message's id. A refusal stops the posting; the caller
/// reports it (`post_failed`) and nothing retries it.
async fn post_pings(
    app: &App,
    channel_id: u64,
    reply_to: Option<u64>,
    messages: &[Pings],
) -> Result<Option<u64>, DiscordError> {
    let mut first = None;
    for (i, m) in messages.iter().enumerate() {
        // One nonce per message (a topic's thread or the replied-to message
        // names it): a send retried after a lost answer posts once.
        let nonce = format!("gh{:x}.{i}", reply_to.unwrap_or(channel_id));
        let pings = Mentions { users: &m.users, role: m.role, reply_to, nonce: Some(&nonce) };
        let id = post_pinging(&app.http, channel_id, &m.content, pings).await?;
        first.get_or_insert(id);
    }
    Ok(first)
}

/// A ping post was refused: log it and leave a line in the audit trail.
async fn post_failed(app: &App, guild_id: u64, group_id: Option<i64>, channel_id: u64, e: &DiscordError) {
    tracing::warn!(guild_id, channel_id, error = %e, "could not post notification pings; not retried");
    let detail: String = format!("<#{channel_id}>: {e}").chars().take(200).collect();
    let r = match app.pool.acquire().await {
        Ok(mut conn) => {
            audit::record(
                &mut conn,
                &audit::Entry::guild(guild_id, "notify.post_failed")
                    .in_group(group_id)
                    .because("Discord refused the notification pings; DMs and digests were still queued")
                    .detail(&detail),
            )
            .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = r {
        tracing::warn!(guild_id, error = %e, "could not audit a refused ping post");
    }
}

/// Who hears about an event, split by how.
#[derive(Debug, Default)]
struct Fanout {
    /// Mention mode, reached through the group's notification role.
    by_role: bool,
    /// Mention mode, pinged by name.
    by_name: Vec<u64>,
    dm: Vec<u64>,
    digest: Vec<u64>,
}

fn split(followers: &[Follower], role_covers_group: bool) -> Fanout {
    let mut f = Fanout::default();
    for x in followers {
        match x.mode {
            Mode::Mention if x.via_group && role_covers_group => f.by_role = true,
            Mode::Mention => f.by_name.push(x.user_id),
            Mode::Dm => f.dm.push(x.user_id),
            Mode::Digest => f.digest.push(x.user_id),
            Mode::Off => {}
        }
    }
    f
}

/// Queue DMs and digest lines for an event, in the caller's transaction.
async fn queue(
    app: &App,
    conn: &mut sqlx::PgConnection,
    guild_id: u64,
    key: &str,
    line: &str,
    f: &Fanout,
) -> Result<bool, sqlx::Error> {
    let now = app.clock.now();
    let dms = delivery::enqueue_dms(conn, guild_id, &f.dm, key, &nv::dm(line), "dm", now).await?;
    delivery::add_digest_items(conn, guild_id, &f.digest, key, line, now).await?;
    Ok(dms > 0)
}

/// A thread was created (THREAD_CREATE, or found at start-up): announce it
/// once if it is a topic in a group's channel or in a followed channel.
/// Mention mode: a message in the topic mentioning the group's
/// notification role and, by name, the followers the role doesn't cover
/// (followers of the channel only, or every group follower when the group
/// has no role because of `ROLE_CAP`), in as many messages as Discord's
/// limits need (`ping_messages`). DM and digest modes: a queued DM or a
/// digest line per member, committed with the claim before any ping is
/// posted. The author is never told, and a closed group's topics reach its
/// members only. Returns whether an announcement was sent.
pub async fn topic_created(
    app: &App,
    guild_id: u64,
    thread_id: u64,
    parent_id: u64,
    author_id: Option<u64>,
) -> Result<bool, BoxError> {
    if author_id == Some(app.bot_id) {
        return Ok(false);
    }
    let mut tx = app.pool.begin().await?;
    let group_id = notify::group_of_channel(&mut tx, guild_id, parent_id).await?;
    let forum = (Kind::Forum, crate::domain::db_id(parent_id));
    if group_id.is_none() && !delivery::anyone_follows(&mut tx, &[forum]).await? {
        return Ok(false);
    }
    // Topics older than the feature (or than the bot's first start) are not news.
    if snowflake_ms(thread_id) < notify::watermark_ms(&mut tx, guild_id).await? {
        return Ok(false);
    }
    if !notify::claim_topic(&mut tx, guild_id, group_id, thread_id).await? {
        return Ok(false);
    }
    let g = match group_id {
        Some(id) => group::get(&mut tx, guild_id, id).await?,
        None => None,
    };
    let mut targets = vec![forum];
    if let Some(g) = &g {
        targets.push((Kind::Group, g.id));
    }
    let closed = g.as_ref().filter(|g| g.visibility == crate::domain::group::Visibility::Closed).map(|g| g.id);
    let followers = delivery::followers(&mut tx, guild_id, &targets, author_id.unwrap_or(0), closed).await?;
    // The role, only past the by-name limit (counted as the role syncs
    // count it) and once every follower holds it; by name otherwise (never
    // the author, S3).
    let role = match &g {
        Some(g) if notify::mention_followers(&mut tx, guild_id, g.id).await? > app.notify_by_name_max => {
            notify::role_state(&mut tx, g.id).await?.filter(|(_, complete)| *complete).map(|(r, _)| r)
        }
        _ => None,
    };
    let f = split(&followers, role.is_some());
    let where_ = match &g {
        Some(g) => format!("**{}**", g.name),
        None => format!("<#{parent_id}>"),
    };
    let woke =
        queue(app, &mut tx, guild_id, &format!("topic:{thread_id}"), &nv::topic_line(guild_id, thread_id, &where_), &f)
            .await?;
    // The claim and the queued DMs and digest lines stand whatever becomes
    // of the pings below.
    tx.commit().await?;
    if woke {
        super::deliveries::wake(app);
    }
    let role = role.filter(|_| f.by_role);
    if role.is_none() && f.by_name.is_empty() {
        // Nobody to ping here (the author is not told of their own topic).
        return Ok(false);
    }
    let by = author_id.map(|a| format!(" by <@{a}>")).unwrap_or_default();
    let why = match &g {
        Some(g) => format!("you follow **{}** or this channel", g.name),
        None => "you follow this channel".to_string(),
    };
    let messages = ping_messages(
        &format!("📣 New topic in {where_}: <#{thread_id}>{by}."),
        &format!("📣 New topic <#{thread_id}> (continued):"),
        &format!("\n-# You get this because {why}; manage what you follow with /subscriptions, how you hear with /notifications."),
        role,
        &f.by_name,
    );
    match post_pings(app, thread_id, None, &messages).await {
        Ok(Some(message)) => {
            notify::set_announcement(&mut *app.pool.acquire().await?, thread_id, message).await?;
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(e) => {
            post_failed(app, guild_id, g.as_ref().map(|g| g.id), thread_id, &e).await;
            Ok(false)
        }
    }
}

/// A message was posted (MESSAGE_CREATE): tell the followers of its thread
/// and, for a reply, of the post it answers. Mention mode: thread followers
/// are members of the thread, which Discord notifies natively (nothing
/// posted); post followers get a reply mentioning them (more than one when
/// Discord's limits need it, `ping_messages`), posted after the claim and
/// the queued rows are committed. DM and digest modes: queued. Never the
/// author, never about a closed group's channel to a non-member; once per
/// message.
pub async fn message_created(
    app: &App,
    guild_id: u64,
    channel_id: u64,
    message_id: u64,
    author_id: u64,
    reply_to: Option<u64>,
) -> Result<bool, BoxError> {
    if author_id == app.bot_id {
        return Ok(false);
    }
    let thread = (Kind::Thread, crate::domain::db_id(channel_id));
    let post = reply_to.map(|p| (Kind::Post, crate::domain::db_id(p)));
    let targets: Vec<_> = std::iter::once(thread).chain(post).collect();
    if !delivery::anyone_follows(&mut *app.pool.acquire().await?, &targets).await? {
        return Ok(false);
    }
    // Where the message is decides who can see it: a thread's parent, or
    // the channel itself.
    let home = dn::thread_parent(&app.http, channel_id).await?.unwrap_or(channel_id);
    let mut tx = app.pool.begin().await?;
    if !delivery::claim_message(&mut tx, guild_id, message_id, app.clock.now()).await? {
        return Ok(false);
    }
    let closed = match notify::group_of_channel(&mut tx, guild_id, home).await? {
        Some(id) => group::get(&mut tx, guild_id, id)
            .await?
            .filter(|g| g.visibility == crate::domain::group::Visibility::Closed)
            .map(|g| g.id),
        None => None,
    };
    let mut woke = false;
    let mut told: Vec<u64> = Vec::new();
    let mut pinged: Vec<u64> = Vec::new();
    if let Some(p) = post {
        let f = split(&delivery::followers(&mut tx, guild_id, &[p], author_id, closed).await?, false);
        let line = nv::post_reply_line(guild_id, channel_id, message_id);
        woke |= queue(app, &mut tx, guild_id, &format!("msg:{message_id}"), &line, &f).await?;
        told.extend(f.dm.iter().chain(&f.digest));
        pinged = f.by_name;
    }
    let mut f = split(&delivery::followers(&mut tx, guild_id, &[thread], author_id, closed).await?, false);
    // Someone following both hears once.
    f.dm.retain(|u| !told.contains(u));
    f.digest.retain(|u| !told.contains(u));
    let line = nv::thread_message_line(guild_id, channel_id, message_id);
    woke |= queue(app, &mut tx, guild_id, &format!("msg:{message_id}"), &line, &f).await?;
    tx.commit().await?;
    if woke {
        super::deliveries::wake(app);
    }
    if pinged.is_empty() {
        return Ok(false);
    }
    let messages = ping_messages(
        "↩️ A new reply to a post you follow.",
        "↩️ A new reply to a post you follow (continued):",
        "\n-# Manage what you follow with /subscriptions, how you hear with /notifications.",
        None,
        &pinged,
    );
    match post_pings(app, channel_id, Some(message_id), &messages).await {
        Ok(first) => Ok(first.is_some()),
        Err(e) => {
            post_failed(app, guild_id, None, channel_id, &e).await;
            Ok(false)
        }
    }
}

/// At start-up: announce the active topics in group channels created while
/// the bot was down (after the watermark, not announced yet).
pub async fn catch_up(app: &App, guild_id: u64) {
    // The first start sets the watermark: older topics are never announced.
    match app.pool.acquire().await {
        Ok(mut conn) => {
            if let Err(e) = notify::watermark_ms(&mut conn, guild_id).await {
                tracing::warn!(guild_id, error = %e, "could not read the notification watermark");
                return;
            }
        }
        Err(e) => {
            tracing::warn!(guild_id, error = %e, "no database connection to catch up");
            return;
        }
    }
    let threads = match dn::active_threads(&app.http, guild_id).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(guild_id, error = %e, "could not list active threads to catch up");
            return;
        }
    };
    for t in threads {
        let Some(parent) = t.parent_id.filter(|_| !t.private) else { continue };
        match topic_created(app, guild_id, t.id, parent, t.owner_id).await {
            Ok(true) => tracing::info!(guild_id, thread_id = t.id, "announced a topic missed while down"),
            Ok(false) => {}
            Err(e) => tracing::warn!(guild_id, thread_id = t.id, error = %e, "could not announce a missed topic"),
        }
    }
}

/// Delete a deleted group's notification role, so it doesn't hold a slot
/// of the role limit. Never fails its caller.
pub async fn delete_role(app: &App, guild_id: u64, role_id: u64, reason: &str) {
    let left = match crate::discord::provision::delete_role(&app.http, guild_id, role_id, reason).await {
        Ok(()) => false,
        // Gone, says Discord: asked again by the background pass.
        Err(DiscordError::Unknown(..)) => true,
        Err(e) => {
            tracing::warn!(guild_id, role_id, error = %e, "could not delete a notification role; retried each pass");
            true
        }
    };
    if left {
        let l = crate::domain::leftover::Leftover {
            guild_id,
            object_id: role_id,
            kind: crate::domain::leftover::Kind::Role,
            reason: reason.to_string(),
        };
        let remembered = match app.pool.acquire().await {
            Ok(mut conn) => crate::domain::leftover::remember(&mut conn, &l).await,
            Err(e) => Err(e),
        };
        if let Err(e) = remembered {
            tracing::warn!(guild_id, role_id, error = %e, "could not remember a notification role to delete");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_are_spread_over_messages_within_discords_limits_and_nobody_is_dropped() {
        let head = "📣 New topic in **Rust**: <#1234567890123456789> by <@1234567890123456789>.";
        let next = "📣 New topic <#1234567890123456789> (continued):";
        let tail = "\n-# You get this because you follow **Rust** or this channel; manage it with /subscriptions.";
        for n in [0usize, 1, 77, 78, 90, 100, 101, 250, 1000] {
            let users: Vec<u64> = (0..n as u64).map(|i| 1_200_000_000_000_000_000 + i).collect();
            for role in [None, Some(987_654_321_987_654_321u64)] {
                let out = ping_messages(head, next, tail, role, &users);
                if n == 0 && role.is_none() {
                    assert!(out.is_empty());
                    continue;
                }
                let all: Vec<u64> = out.iter().flat_map(|m| m.users.clone()).collect();
                assert_eq!(all, users, "everyone once, in order");
                for (i, m) in out.iter().enumerate() {
                    assert!(m.content.chars().count() <= MAX_CONTENT, "{} chars", m.content.chars().count());
                    assert!(m.users.len() <= MAX_USER_PINGS);
                    assert!(m.content.starts_with(if i == 0 { head } else { next }) && m.content.ends_with(tail));
                    assert_eq!(m.role, if i == 0 { role } else { None });
                    for u in &m.users {
                        assert!(m.content.contains(&format!("<@{u}>")));
                    }
                }
                // As few messages as needed: each but the last was full.
                for m in &out[..out.len() - 1] {
                    let room = MAX_CONTENT - m.content.chars().count();
                    assert!(m.users.len() == MAX_USER_PINGS || room < " <@1200000000000000000>".len());
                }
                if n == 90 {
                    assert_eq!(out.len(), 2, "90 mentions don't fit one message");
                }
            }
        }
    }
}
