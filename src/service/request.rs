//! Requests to join closed groups (R1-R4): automatic criteria, the request
//! card brought to the group's leaders (their private review thread; by DM
//! without a usable requests channel; the mod channel when no leader could
//! be reached), decisions by the group's leaders (first decision wins, by a
//! row lock; every copy of the card shows it), approval through the same
//! admit path as a join, the outcome by DM, withdrawals.

use super::membership::{self, MembershipError};
use super::App;
use crate::discord::{review, DiscordError};
use crate::domain::group::{self, Group, Visibility};
use crate::domain::request::{self as domain, Applicant, Card, CardPlace, Check, Criteria, Request, Snapshot, Status};
use crate::domain::{audit, settings};
use crate::views::request as view;
use chrono::{DateTime, Utc};
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("no such group")]
    NoGroup,
    #[error("the group is archived")]
    Archived,
    #[error("the group is open")]
    Open(Group),
    #[error("already a member")]
    AlreadyMember(Group),
    #[error("banned from the group")]
    Banned(Group),
    #[error("the guidelines must be accepted first")]
    NeedsGuidelines(settings::Guidelines, Group),
    #[error("denied recently")]
    Cooldown(Group, DateTime<Utc>),
    #[error("criteria not met")]
    Criteria(Group, Vec<Check>),
    #[error("a request is already pending")]
    AlreadyPending(Box<Request>),
    #[error("no such request")]
    NotFound,
    #[error("the request is no longer pending")]
    AlreadyDecided(Box<Request>),
    #[error("not allowed to decide")]
    NotAllowed,
    #[error("admitting the member failed: {0}")]
    Admit(MembershipError),
    #[error("Discord: {0}")]
    Discord(DiscordError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Where a request's card went (R2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// The group's private review thread in the requests channel.
    Thread,
    /// No usable requests channel: by DM to this many of the group's leaders.
    Dms(usize),
    /// No leader could be reached (none, or none accepts DMs): the mod channel.
    ModChannel,
    /// None of those: it waits in `/requests`.
    Nowhere,
}

/// What a stored request did.
#[derive(Debug, Clone)]
pub struct Requested {
    pub request: Request,
    pub posted: Posted,
}

/// What a decision did besides changing the row.
#[derive(Debug, Clone)]
pub struct Decided {
    pub request: Request,
    pub dm_delivered: bool,
}

async fn load(app: &App, guild_id: u64, id: i64) -> Result<Request, RequestError> {
    domain::get(&mut *app.pool.acquire().await?, guild_id, id).await?.ok_or(RequestError::NotFound)
}

/// What Discord tells us about a requester: account age from the id's
/// snowflake, days in the server from the member's `joined_at`, roles; ages
/// as of `now` (the app's clock).
pub fn applicant(
    user: &serenity::all::User,
    member: Option<&serenity::all::Member>,
    now: chrono::DateTime<chrono::Utc>,
) -> Applicant {
    let joined = member.and_then(|m| m.joined_at).and_then(|t| chrono::DateTime::from_timestamp(t.unix_timestamp(), 0));
    Applicant {
        account_age_days: domain::days_since(domain::snowflake_time(user.id.get()), now),
        days_in_server: joined.map(|t| domain::days_since(t, now)).unwrap_or(0),
        role_ids: member.map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default(),
    }
}

/// `/request-join` and the *Send request to join* button: every automatic
/// check first, then one pending request per member per group, then the card.
pub async fn request(
    app: &App,
    guild_id: u64,
    user_id: u64,
    group_id: i64,
    applicant: &Applicant,
    message: Option<&str>,
) -> Result<Requested, RequestError> {
    let mut conn = app.pool.acquire().await?;
    let g = group::get(&mut conn, guild_id, group_id).await?.ok_or(RequestError::NoGroup)?;
    if g.archived {
        return Err(RequestError::Archived);
    }
    if crate::domain::membership::is_member(&mut conn, g.id, user_id).await? {
        return Err(RequestError::AlreadyMember(g));
    }
    if crate::domain::membership::is_banned(&mut conn, g.id, user_id).await? {
        return Err(RequestError::Banned(g));
    }
    if g.visibility == Visibility::Open {
        return Err(RequestError::Open(g));
    }
    if let Some(r) = domain::pending_for(&mut conn, g.id, user_id).await? {
        return Err(RequestError::AlreadyPending(Box::new(r)));
    }
    let now = app.clock.now();
    let cooldown = crate::domain::sla::get(&mut conn, guild_id).await?.cooldown();
    if let Some(at) = domain::denied_since(&mut conn, g.id, user_id, now - cooldown).await? {
        return Err(RequestError::Cooldown(g, at + cooldown));
    }
    let checks = domain::check(&domain::criteria(&mut conn, g.id).await?, applicant);
    if checks.iter().any(|c| !c.ok) {
        return Err(RequestError::Criteria(g, checks));
    }
    drop(conn);
    if let Some(gl) = membership::pending_guidelines(app, guild_id, user_id).await? {
        return Err(RequestError::NeedsGuidelines(gl, g));
    }
    let mut tx = app.pool.begin().await?;
    let snapshot = Snapshot {
        account_age_days: applicant.account_age_days,
        days_in_server: applicant.days_in_server,
        checks: checks.clone(),
    };
    let new = domain::NewRequest { guild_id, group_id: g.id, user_id, message, snapshot: &snapshot, now };
    let Some(id) = domain::insert(&mut tx, &new).await? else {
        drop(tx);
        let r = domain::pending_for(&mut *app.pool.acquire().await?, g.id, user_id).await?;
        return match r {
            Some(r) => Err(RequestError::AlreadyPending(Box::new(r))),
            None => Err(RequestError::NotFound),
        };
    };
    audit::record(
        &mut tx,
        &audit::Entry::of(guild_id, g.id, user_id, user_id, "request.create").because(&format!("request {id}")),
    )
    .await?;
    tx.commit().await?;
    info!(request = id, group_id = g.id, user_id, "join request stored");
    let r = load(app, guild_id, id).await?;
    let posted = post(app, &g, &r).await?;
    Ok(Requested { request: load(app, guild_id, id).await?, posted })
}

/// The group's private review thread in the requests channel, made on first
/// use. Its current leaders are (re-)added each time, so a leader appointed
/// later sees the next card. `None` when there is no usable one.
pub(crate) async fn review_thread(app: &App, g: &Group) -> Result<Option<u64>, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    let Some(channel) = settings::requests_channel(&mut conn, g.guild_id).await? else { return Ok(None) };
    let thread = match domain::review_thread(&mut conn, g.id).await? {
        Some((ch, thread)) if ch == channel => thread,
        _ => match review::start_private_thread(&app.http, channel, &format!("Requests: {}", g.name)).await {
            Ok(t) => {
                domain::set_review_thread(&mut conn, g.id, channel, t).await?;
                t
            }
            Err(e) => {
                warn!(group_id = g.id, channel, error = %e, "could not start a private review thread");
                return Ok(None);
            }
        },
    };
    for leader in crate::domain::membership::leaders(&mut conn, g.id).await? {
        if let Err(e) = crate::discord::channels::add_thread_member(&app.http, thread, leader).await {
            warn!(group_id = g.id, leader, error = %e, "could not add a leader to the review thread");
        }
    }
    Ok(Some(thread))
}

/// Someone no longer leads `g`: take them out of its private review thread,
/// so they stop seeing its requests (they could no longer decide them
/// anyway). Never fails its caller.
pub async fn leave_review_thread(app: &App, g: &Group, user_id: u64) {
    let thread = match app.pool.acquire().await {
        Ok(mut conn) => domain::review_thread(&mut conn, g.id).await,
        Err(e) => Err(e),
    };
    match thread {
        Ok(Some((_, thread))) => match crate::discord::channels::remove_thread_member(&app.http, thread, user_id).await
        {
            Ok(()) | Err(DiscordError::Unknown(..)) => {}
            Err(e) => {
                warn!(group_id = g.id, user_id, error = %e, "could not take a former leader out of the review thread")
            }
        },
        Ok(None) => {}
        Err(e) => warn!(group_id = g.id, error = %e, "could not look up the review thread"),
    }
}

/// Bring the request's card to the group's leaders: in its review thread;
/// without a usable requests channel, by DM to each leader; when no leader
/// could be reached, in the mod channel. Every copy is remembered, so a
/// decision shows on all of them; one made while the copies were being
/// sent is shown on them at the end.
async fn post(app: &App, g: &Group, r: &Request) -> Result<Posted, sqlx::Error> {
    let posted = if post_in_thread(app, g, r).await? {
        Posted::Thread
    } else {
        match post_to_leaders(app, g, r).await? {
            0 if post_in_mod_channel(app, r).await? => Posted::ModChannel,
            0 => {
                warn!(request = r.id, group_id = g.id, "a join request reached no leader and no mod channel");
                Posted::Nowhere
            }
            n => Posted::Dms(n),
        }
    };
    if posted != Posted::Nowhere {
        if let Ok(now) = load(app, r.guild_id, r.id).await {
            if now.status != Status::Pending {
                update_card(app, &now).await;
            }
        }
    }
    Ok(posted)
}

/// Remember a copy of the card; a card in a server channel is also the one
/// alerts link to.
async fn remember(app: &App, request_id: i64, card: &Card) -> Result<(), sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    if card.place != CardPlace::Dm {
        domain::set_card(&mut tx, request_id, card.channel_id, card.message_id).await?;
    }
    domain::add_card(&mut tx, request_id, card).await?;
    tx.commit().await
}

/// Post the card in the group's review thread (made again once if it was
/// deleted); whether it got there.
async fn post_in_thread(app: &App, g: &Group, r: &Request) -> Result<bool, sqlx::Error> {
    let card = view::card_for(r, CardPlace::Thread);
    for _ in 0..2 {
        let Some(thread) = review_thread(app, g).await? else { return Ok(false) };
        match review::post_card(&app.http, thread, &card.content, card.embeds.clone(), card.components.clone()).await {
            Ok(message) => {
                let c = Card { place: CardPlace::Thread, channel_id: thread, message_id: message, recipient_id: None };
                remember(app, r.id, &c).await?;
                return Ok(true);
            }
            Err(DiscordError::Unknown(..)) => {
                warn!(request = r.id, thread, "the review thread is gone; making a new one");
                domain::forget_review_thread(&mut *app.pool.acquire().await?, g.id).await?;
            }
            Err(e) => {
                warn!(request = r.id, thread, error = %e, "could not post a join request card");
                return Ok(false);
            }
        }
    }
    Ok(false)
}

/// DM the card to each of the group's leaders; how many got it (closed DMs
/// are skipped).
async fn post_to_leaders(app: &App, g: &Group, r: &Request) -> Result<usize, sqlx::Error> {
    let leaders = crate::domain::membership::leaders(&mut *app.pool.acquire().await?, g.id).await?;
    let card = view::card_for(r, CardPlace::Dm);
    let mut sent = 0;
    for leader in leaders {
        match review::dm_card(&app.http, leader, &card.content, card.embeds.clone(), card.components.clone()).await {
            Ok((channel_id, message_id)) => {
                let c = Card { place: CardPlace::Dm, channel_id, message_id, recipient_id: Some(leader) };
                remember(app, r.id, &c).await?;
                sent += 1;
            }
            Err(DiscordError::DmsClosed) => info!(request = r.id, leader, "a leader's DMs are closed"),
            Err(e) => warn!(request = r.id, leader, error = %e, "could not DM a join request card to a leader"),
        }
    }
    Ok(sent)
}

/// Post the card in the mod channel, if one is set; whether it got there.
async fn post_in_mod_channel(app: &App, r: &Request) -> Result<bool, sqlx::Error> {
    let Some(channel) = settings::mod_channel(&mut *app.pool.acquire().await?, r.guild_id).await? else {
        return Ok(false);
    };
    let card = view::card_for(r, CardPlace::Mod);
    match review::post_card(&app.http, channel, &card.content, card.embeds, card.components).await {
        Ok(message) => {
            let c = Card { place: CardPlace::Mod, channel_id: channel, message_id: message, recipient_id: None };
            remember(app, r.id, &c).await?;
            Ok(true)
        }
        Err(e) => {
            warn!(request = r.id, channel, error = %e, "could not post a join request card in the mod channel");
            Ok(false)
        }
    }
}

/// The request a press in a DM names: a leader's DM card carries no
/// server, so the request is found by the custom id's row id alone (and who
/// may decide it is then checked against its own server and group).
pub async fn by_id(app: &App, id: i64) -> Result<Request, RequestError> {
    domain::get_any(&mut *app.pool.acquire().await?, id).await?.ok_or(RequestError::NotFound)
}

/// Whether `user_id` may decide `guild_id`'s requests without leading the
/// group, as Discord has them now (a press in a DM carries no member):
/// Manage Roles, or an admin (`auth`). Someone who left the server may not.
pub async fn privileged_in(app: &App, guild_id: u64, user_id: u64) -> Result<bool, RequestError> {
    let (perms, roles) = match crate::discord::roles::member_permissions(&app.http, guild_id, user_id).await {
        Ok(p) => p,
        Err(DiscordError::Unknown(..)) => return Ok(false),
        Err(e) => return Err(RequestError::Discord(e)),
    };
    let perms = serenity::all::Permissions::from_bits_truncate(perms);
    Ok(super::access::decides_any_request(app, guild_id, perms, &roles).await?)
}

/// Whether `user_id` leads the group of request `id` (a DM press by one of
/// its leaders needs nothing from Discord).
pub async fn leads_group_of(app: &App, r: &Request, user_id: u64) -> Result<bool, sqlx::Error> {
    crate::domain::membership::is_leader(&mut *app.pool.acquire().await?, r.group_id, user_id).await
}

/// Whether `actor` may decide the group's requests: one of its leaders now,
/// or someone with Manage Roles or an admin (`privileged`).
async fn may_decide(app: &App, group_id: i64, actor: u64, privileged: bool) -> Result<bool, sqlx::Error> {
    let leads = crate::domain::membership::is_leader(&mut *app.pool.acquire().await?, group_id, actor).await?;
    Ok(crate::auth::may_decide_request(privileged, leads))
}

/// The request, if it is still pending and `actor` may decide it (before
/// asking for a deny reason).
pub async fn decidable(
    app: &App,
    guild_id: u64,
    id: i64,
    actor: u64,
    privileged: bool,
) -> Result<Request, RequestError> {
    let r = load(app, guild_id, id).await?;
    if !may_decide(app, r.group_id, actor, privileged).await? {
        return Err(RequestError::NotAllowed);
    }
    if r.status != Status::Pending {
        return Err(RequestError::AlreadyDecided(Box::new(r)));
    }
    Ok(r)
}

/// Lock a request's row in a new transaction. While another decider holds
/// it, wait without holding a connection; once it is decided, say so.
async fn lock(
    app: &App,
    guild_id: u64,
    id: i64,
) -> Result<(sqlx::Transaction<'static, sqlx::Postgres>, Request), RequestError> {
    for _ in 0..600 {
        let mut tx = app.pool.begin().await?;
        match domain::try_lock(&mut tx, guild_id, id).await {
            Ok(Some(r)) => return Ok((tx, r)),
            Ok(None) => return Err(RequestError::NotFound),
            Err(domain::LockError::Db(e)) => return Err(e.into()),
            Err(domain::LockError::Busy) => {
                drop(tx);
                let r = load(app, guild_id, id).await?;
                if r.status != Status::Pending {
                    return Err(RequestError::AlreadyDecided(Box::new(r)));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    Err(RequestError::Db(sqlx::Error::PoolTimedOut))
}

/// Approve: admit the requester as a join does. The row stays locked while
/// the role is granted, so a second decider waits and then learns who
/// decided; a failed grant leaves the request pending, with a note.
pub async fn approve(app: &App, guild_id: u64, id: i64, actor: u64, privileged: bool) -> Result<Decided, RequestError> {
    if !may_decide(app, load(app, guild_id, id).await?.group_id, actor, privileged).await? {
        return Err(RequestError::NotAllowed);
    }
    let (mut tx, r) = lock(app, guild_id, id).await?;
    let leads = crate::domain::membership::is_leader(&mut tx, r.group_id, actor).await?;
    if !crate::auth::may_decide_request(privileged, leads) {
        return Err(RequestError::NotAllowed);
    }
    if r.status != Status::Pending {
        return Err(RequestError::AlreadyDecided(Box::new(r)));
    }
    let g = group::get(&mut tx, guild_id, r.group_id).await?.ok_or(RequestError::NoGroup)?;
    if g.archived {
        return Err(RequestError::Archived);
    }
    if let Err(e) = membership::admit_approved(app, &g, r.user_id, actor).await {
        warn!(request = id, group_id = g.id, error = %e, "approved requester could not be admitted");
        let note = format!(
            "An approval by <@{actor}> on <t:{}:f> could not be completed: the bot could not give you the group's role. Admins were told; the request is still pending.",
            app.clock.now().timestamp()
        );
        domain::set_note(&mut tx, id, Some(&note)).await?;
        audit::record(
            &mut tx,
            &audit::Entry::of(guild_id, g.id, actor, r.user_id, "request.approve_failed")
                .because(&format!("request {id}: {e}")),
        )
        .await?;
        tx.commit().await?;
        let _ = review::dm(&app.http, r.user_id, &view::approval_failed_dm(&g.name)).await;
        return Err(RequestError::Admit(e));
    }
    domain::close(&mut tx, id, Status::Approved, Some(actor), None, app.clock.now()).await?;
    audit::record(
        &mut tx,
        &audit::Entry::of(guild_id, g.id, actor, r.user_id, "request.approve").because(&format!("request {id}")),
    )
    .await?;
    tx.commit().await?;
    info!(request = id, group_id = g.id, actor, "join request approved");
    finish(app, guild_id, id).await
}

/// Deny, with an optional reason given to the requester.
pub async fn deny(
    app: &App,
    guild_id: u64,
    id: i64,
    actor: u64,
    privileged: bool,
    reason: Option<&str>,
) -> Result<Decided, RequestError> {
    if !may_decide(app, load(app, guild_id, id).await?.group_id, actor, privileged).await? {
        return Err(RequestError::NotAllowed);
    }
    let (mut tx, r) = lock(app, guild_id, id).await?;
    let leads = crate::domain::membership::is_leader(&mut tx, r.group_id, actor).await?;
    if !crate::auth::may_decide_request(privileged, leads) {
        return Err(RequestError::NotAllowed);
    }
    if !domain::close(&mut tx, id, Status::Denied, Some(actor), reason, app.clock.now()).await? {
        return Err(RequestError::AlreadyDecided(Box::new(r)));
    }
    audit::record(
        &mut tx,
        &audit::Entry {
            guild_id,
            actor_id: Some(actor),
            subject_id: Some(r.user_id),
            group_id: Some(r.group_id),
            action: "request.deny",
            reason,
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    finish(app, guild_id, id).await
}

/// The requester withdraws a pending request.
pub async fn withdraw(app: &App, guild_id: u64, id: i64, user_id: u64) -> Result<Request, RequestError> {
    let (mut tx, r) = lock(app, guild_id, id).await?;
    if r.user_id != user_id {
        return Err(RequestError::NotFound);
    }
    if !domain::close(&mut tx, id, Status::Withdrawn, Some(user_id), None, app.clock.now()).await? {
        return Err(RequestError::AlreadyDecided(Box::new(r)));
    }
    audit::record(
        &mut tx,
        &audit::Entry::of(guild_id, r.group_id, user_id, user_id, "request.withdraw").because(&format!("request {id}")),
    )
    .await?;
    tx.commit().await?;
    let r = load(app, guild_id, id).await?;
    update_card(app, &r).await;
    Ok(r)
}

/// The requester left the server (A5): each of their pending requests in it
/// is withdrawn with a note the leaders see on the card. Never fails its
/// caller; problems are logged.
pub async fn withdraw_departed(app: &App, guild_id: u64, user_id: u64) -> usize {
    let pending = match app.pool.acquire().await {
        Ok(mut conn) => domain::for_user(&mut conn, guild_id, user_id, 100).await,
        Err(e) => Err(e),
    };
    let pending: Vec<i64> = match pending {
        Ok(list) => list.into_iter().filter(|r| r.status == Status::Pending).map(|r| r.id).collect(),
        Err(e) => {
            tracing::warn!(guild_id, user_id, error = %e, "could not list the requests of a member who left");
            return 0;
        }
    };
    let mut n = 0;
    for id in pending {
        let done = async {
            let (mut tx, r) = lock(app, guild_id, id).await?;
            if !domain::close(&mut tx, id, Status::Withdrawn, None, None, app.clock.now()).await? {
                return Ok::<_, RequestError>(None);
            }
            domain::set_note(&mut tx, id, Some("They left the server.")).await?;
            audit::record(
                &mut tx,
                &audit::Entry {
                    guild_id,
                    subject_id: Some(user_id),
                    group_id: Some(r.group_id),
                    action: "request.withdrawn_left_server",
                    reason: Some(&format!("request {id}")),
                    ..Default::default()
                },
            )
            .await?;
            tx.commit().await?;
            Ok(Some(load(app, guild_id, id).await?))
        }
        .await;
        match done {
            Ok(Some(r)) => {
                update_card(app, &r).await;
                n += 1;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(request = id, error = %e, "could not withdraw the request of a member who left"),
        }
    }
    n
}

/// Show where the request stands on every copy of its card (the review
/// thread's, each leader's DM, the mod channel's); whether any was updated.
pub(crate) async fn update_card(app: &App, r: &Request) -> bool {
    let cards = match app.pool.acquire().await {
        Ok(mut conn) => domain::cards(&mut conn, r.id).await,
        Err(e) => Err(e),
    };
    let cards = match cards {
        Ok(c) => c,
        Err(e) => {
            warn!(request = r.id, error = %e, "could not read the cards of a join request");
            return false;
        }
    };
    let mut any = false;
    for c in cards {
        let what = format!("join request {}", r.id);
        let at = (Some(c.channel_id), Some(c.message_id));
        any |= super::outcome::show_on_card(app, at, view::card_for(r, c.place), &what).await;
    }
    any
}

/// After a decision: update the card, DM the requester, remember whether the
/// DM arrived (closed DMs: `/requests` still shows the outcome).
async fn finish(app: &App, guild_id: u64, id: i64) -> Result<Decided, RequestError> {
    let r = load(app, guild_id, id).await?;
    update_card(app, &r).await;
    let what = format!("join request {id}");
    let dm_delivered = super::outcome::tell(app, r.user_id, &view::outcome_dm(&r), &what).await.is_ok();
    domain::set_dm_delivered(&mut *app.pool.acquire().await?, id, dm_delivered).await?;
    Ok(Decided { request: load(app, guild_id, id).await?, dm_delivered })
}

/// What `/requests` shows: the member's own requests, and the pending
/// requests of the groups they lead (all groups for `privileged`).
pub struct Listing {
    pub own: Vec<Request>,
    pub to_decide: Vec<Request>,
}

pub async fn listing(app: &App, guild_id: u64, user_id: u64, privileged: bool) -> Result<Listing, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    Ok(Listing {
        own: domain::for_user(&mut conn, guild_id, user_id, 10).await?,
        to_decide: domain::pending_for_leader(&mut conn, guild_id, user_id, privileged, 10).await?,
    })
}

/// Set a group's criteria (admins), audited.
pub async fn set_criteria(app: &App, g: &Group, actor: u64, c: &Criteria) -> Result<(), sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    domain::set_criteria(&mut tx, g.id, c).await?;
    audit::record(
        &mut tx,
        &audit::Entry {
            guild_id: g.guild_id,
            actor_id: Some(actor),
            group_id: Some(g.id),
            action: "group.criteria",
            reason: Some(&view::criteria_summary(c)),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await
}

pub async fn criteria(app: &App, group_id: i64) -> Result<Criteria, sqlx::Error> {
    domain::criteria(&mut *app.pool.acquire().await?, group_id).await
}

/// The member joined the group another way (an accepted invitation): their
/// pending request to it, if any, is closed as withdrawn by them (nobody
/// approved it), with a note saying why, audited, and its card updated.
/// Never fails its caller.
pub async fn settle_joined_otherwise(app: &App, g: &Group, user_id: u64, note: &str) {
    let settled = async {
        let Some(r) = domain::pending_for(&mut *app.pool.acquire().await?, g.id, user_id).await? else {
            return Ok::<_, RequestError>(None);
        };
        let (mut tx, r) = lock(app, g.guild_id, r.id).await?;
        if !domain::close(&mut tx, r.id, Status::Withdrawn, Some(user_id), None, app.clock.now()).await? {
            return Ok(None);
        }
        domain::set_note(&mut tx, r.id, Some(note)).await?;
        audit::record(
            &mut tx,
            &audit::Entry::of(g.guild_id, g.id, user_id, user_id, "request.withdraw")
                .because(&format!("request {}: {note}", r.id)),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(load(app, g.guild_id, r.id).await?))
    }
    .await;
    match settled {
        Ok(Some(r)) => {
            update_card(app, &r).await;
        }
        Ok(None) => {}
        Err(e) => warn!(group_id = g.id, user_id, error = %e, "could not settle a pending join request"),
    }
}
