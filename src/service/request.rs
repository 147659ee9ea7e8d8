//! Requests to join closed groups (R1-R4): automatic criteria, the request
//! card brought to the group's leaders (their private review thread; by DM
//! without a usable requests channel; the mod channel when no leader could
//! be reached), decisions by the group's leaders (first decision wins, by a
//! row lock; every copy of the card shows it), approval through the same
//! admit path as a join, the outcome by DM, withdrawals.

use super::decision::{self, Audit, Decidable, Verdict};
use super::journal::Journal;
use super::membership::{self, Grant, MembershipError};
use super::App;
use crate::discord::{review, DiscordError};
use crate::domain::group::{self, Group, Visibility};
pub use crate::domain::request::Listing;
use crate::domain::request::{self as domain, Applicant, Card, CardPlace, Check, Request, Snapshot, Status};
use crate::domain::role_sync::Reopens;
use crate::domain::{audit, settings};
use crate::views::request as view;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
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
    let known = domain::review_thread(&mut conn, g.id).await?;
    let thread = match known {
        Some((ch, thread)) if ch == channel => thread,
        _ => {
            // One maker per group in this process: first requests arriving
            // together wait for the first to make the thread, then find it.
            // No connection or lock is held while Discord makes it (N6);
            // another process making one meanwhile keeps the one remembered
            // first, and ours is deleted again.
            drop(conn);
            let _turn = app.thread_makers.turn(g.id, 0).await;
            let mut conn = app.pool.acquire().await?;
            let known = domain::review_thread(&mut conn, g.id).await?;
            match known {
                Some((ch, thread)) if ch == channel => thread,
                _ => {
                    drop(conn);
                    let made = match review::start_private_thread(&app.http, channel, &format!("Requests: {}", g.name))
                        .await
                    {
                        Ok(t) => t,
                        Err(e) => {
                            warn!(group_id = g.id, channel, error = %e, "could not start a private review thread");
                            return Ok(None);
                        }
                    };
                    let expected = known.map(|(_, t)| t);
                    let kept =
                        domain::claim_review_thread(&mut *app.pool.acquire().await?, g.id, channel, expected, made)
                            .await?;
                    if kept != made {
                        if let Err(e) = crate::discord::provision::delete_channel(
                            &app.http,
                            made,
                            "Guildhall: a second review thread",
                        )
                        .await
                        {
                            warn!(group_id = g.id, thread = made, error = %e, "could not delete a second review thread");
                        }
                    }
                    kept
                }
            }
        }
    };
    let mut conn = app.pool.acquire().await?;
    let leaders = crate::domain::membership::leaders(&mut conn, g.id).await?;
    // No connection held across the Discord calls, which its rate limits
    // pace: 200 requests at once would otherwise take every connection.
    drop(conn);
    for leader in leaders {
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

impl Decidable for Request {
    const TABLE: &'static str = "join_requests";
    const NOUN: &'static str = "join request";
    type Error = RequestError;
    type Outcome = Decided;

    fn id(&self) -> i64 {
        self.id
    }

    fn guild_id(&self) -> u64 {
        self.guild_id
    }

    fn is_open(&self, _now: DateTime<Utc>) -> bool {
        self.status == Status::Pending
    }

    async fn get(conn: &mut PgConnection, guild: Option<u64>, id: i64) -> Result<Option<Self>, sqlx::Error> {
        match guild {
            Some(g) => domain::get(conn, g, id).await,
            None => domain::get_any(conn, id).await,
        }
    }

    fn not_found() -> RequestError {
        RequestError::NotFound
    }

    fn no_longer_open(self) -> RequestError {
        RequestError::AlreadyDecided(Box::new(self))
    }

    fn grant_refused(e: MembershipError) -> RequestError {
        RequestError::Admit(e)
    }

    /// Update every copy of the card; DM the requester and remember whether
    /// the DM arrived (closed DMs: `/requests` still shows the outcome).
    async fn announce(app: &App, r: Request, tell: bool) -> Result<Decided, RequestError> {
        if !tell {
            update_card(app, &r).await;
            return Ok(Decided { request: r, dm_delivered: false });
        }
        let what = format!("join request {}", r.id);
        let dm = view::outcome_dm(&r);
        // The card(s) and the requester's DM are independent Discord calls.
        let (_, told) = tokio::join!(update_card(app, &r), super::outcome::tell(app, r.user_id, &dm, &what));
        let dm_delivered = told.is_ok();
        domain::set_dm_delivered(&mut *app.pool.acquire().await?, r.id, dm_delivered).await?;
        Ok(Decided { request: load(app, r.guild_id, r.id).await?, dm_delivered })
    }
}

/// The note a request carries after an approval by `actor` at `at` could
/// not give the requester the group's role: shown to the requester.
pub(crate) fn approval_failed_note(actor: u64, at: DateTime<Utc>) -> String {
    format!(
        "An approval by <@{actor}> on <t:{}:f> could not be completed: the bot could not give you the group's role. Admins were told; the request is still pending.",
        at.timestamp()
    )
}

/// Discord refused the role of an approved requester after the approval
/// (N6): the request was reopened (`reopen`); its card shows it pending
/// again and the requester is told. Never fails its caller.
pub(crate) async fn approval_refused(app: &App, guild_id: u64, id: i64, group: &str) {
    let r = match app.pool.acquire().await {
        Ok(mut conn) => domain::get(&mut conn, guild_id, id).await,
        Err(e) => Err(e),
    };
    let r = match r {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => return warn!(request = id, error = %e, "could not read a reopened request"),
    };
    update_card(app, &r).await;
    let _ = review::dm(&app.http, r.user_id, &view::approval_failed_dm(group)).await;
}

/// One of the group's leaders now, or someone with Manage Roles or an admin
/// (`privileged`), deciding.
#[derive(Clone, Copy)]
struct Decider {
    actor: u64,
    privileged: bool,
}

impl Decider {
    async fn may(&self, conn: &mut PgConnection, r: &Request) -> Result<bool, RequestError> {
        let leads = crate::domain::membership::is_leader(conn, r.group_id, self.actor).await?;
        Ok(crate::auth::may_decide_request(self.privileged, leads))
    }
}

/// What a decider chose: *Approve*, or *Deny* with an optional reason
/// given to the requester.
enum Choice {
    Approve,
    Deny(Option<String>),
}

/// A decision on a request. Approving admits the requester as a join does:
/// A3 is asked of Discord before the lock, the admission commits with the
/// close and its grant is queued (N6); a grant Discord refuses for good
/// reopens the request (`reopen`).
struct Decide {
    by: Decider,
    choice: Choice,
}

impl Verdict<Request> for Decide {
    type Prepared = ();

    fn actor(&self) -> Option<u64> {
        Some(self.by.actor)
    }

    async fn may_decide(&self, conn: &mut PgConnection, r: &Request) -> Result<bool, RequestError> {
        self.by.may(conn, r).await
    }

    fn refused(&self) -> RequestError {
        RequestError::NotAllowed
    }

    /// Approving: the group's role must be one the bot may grant (A3).
    async fn prepare(&self, app: &App, r: &Request, _journal: &mut Journal) -> Result<(), RequestError> {
        if matches!(self.choice, Choice::Approve) {
            let g = group::get(&mut *app.pool.acquire().await?, r.guild_id, r.group_id)
                .await?
                .ok_or(RequestError::NoGroup)?;
            if g.archived {
                return Err(RequestError::Archived);
            }
            membership::check_grantable(app, &g).await.map_err(RequestError::Admit)?;
        }
        Ok(())
    }

    async fn apply(
        &self,
        app: &App,
        tx: &mut PgConnection,
        r: &Request,
        now: DateTime<Utc>,
        _prepared: &(),
    ) -> Result<Audit, RequestError> {
        let actor = self.by.actor;
        if let Choice::Deny(reason) = &self.choice {
            domain::close(tx, r.id, Status::Denied, Some(actor), reason.as_deref(), now).await?;
            return Ok(Audit {
                action: "request.deny",
                subject: Some(r.user_id),
                group: Some(r.group_id),
                reason: reason.clone(),
                grant: None,
            });
        }
        let g = group::get(tx, r.guild_id, r.group_id).await?.ok_or(RequestError::NoGroup)?;
        if g.archived {
            return Err(RequestError::Archived);
        }
        let grant = Grant::Decision(Some(Reopens::Request(r.id)));
        let sync = membership::admit_in(app, tx, &g, r.user_id, actor, "membership.request_approved", grant)
            .await
            .map_err(RequestError::Admit)?;
        domain::close(tx, r.id, Status::Approved, Some(actor), None, now).await?;
        Ok(Audit {
            action: "request.approve",
            subject: Some(r.user_id),
            group: Some(g.id),
            reason: Some(format!("request {}", r.id)),
            grant: sync,
        })
    }

    /// A grant that failed: the card says so, admins find it in the audit
    /// trail, and the requester learns the request is still pending.
    async fn failed(&self, app: &App, r: &Request, e: &RequestError) {
        let RequestError::Admit(e) = e else { return };
        warn!(request = r.id, group_id = r.group_id, error = %e, "approved requester could not be admitted");
        let actor = self.by.actor;
        if let Ok(Some(g)) = async { group::get(&mut *app.pool.acquire().await?, r.guild_id, r.group_id).await }.await {
            membership::grant_failed(app, &g, actor, r.user_id, e).await;
        }
        let note = approval_failed_note(actor, app.clock.now());
        let noted = async {
            let mut tx = app.pool.begin().await?;
            domain::set_note(&mut tx, r.id, Some(&note)).await?;
            let why = format!("request {}: {e}", r.id);
            let entry =
                audit::Entry::of(r.guild_id, r.group_id, actor, r.user_id, "request.approve_failed").because(&why);
            audit::record(&mut tx, &entry).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = noted {
            warn!(request = r.id, error = %e, "could not note a failed approval");
        }
        let _ = review::dm(&app.http, r.user_id, &view::approval_failed_dm(&r.group_name)).await;
    }

    async fn after(&self, app: &App, r: &Request) {
        if !matches!(self.choice, Choice::Approve) {
            return;
        }
        let g = match app.pool.acquire().await {
            Ok(mut conn) => group::get(&mut conn, r.guild_id, r.group_id).await,
            Err(e) => Err(e),
        };
        match g {
            Ok(Some(g)) => membership::admitted(app, &g, r.user_id).await,
            Ok(None) => {}
            Err(e) => warn!(request = r.id, error = %e, "could not read the group of an approved request"),
        }
    }
}

/// The request ends without a decision on it: the requester withdrew it
/// (`by`), joined another way (`by`, with a note), or left the server
/// (nobody, with a note). The requester is not told: they know.
struct Withdraw {
    by: Option<u64>,
    note: Option<String>,
    action: &'static str,
}

impl Verdict<Request> for Withdraw {
    type Prepared = ();

    fn actor(&self) -> Option<u64> {
        self.by
    }

    async fn may_decide(&self, _conn: &mut PgConnection, r: &Request) -> Result<bool, RequestError> {
        Ok(self.by.is_none_or(|by| by == r.user_id))
    }

    /// Someone else's request is not theirs to see.
    fn refused(&self) -> RequestError {
        RequestError::NotFound
    }

    async fn apply(
        &self,
        _app: &App,
        tx: &mut PgConnection,
        r: &Request,
        now: DateTime<Utc>,
        _prepared: &(),
    ) -> Result<Audit, RequestError> {
        domain::close(tx, r.id, Status::Withdrawn, self.by, None, now).await?;
        if let Some(note) = &self.note {
            domain::set_note(tx, r.id, Some(note)).await?;
        }
        let reason = match (&self.note, self.by) {
            (Some(note), Some(_)) => format!("request {}: {note}", r.id),
            _ => format!("request {}", r.id),
        };
        Ok(Audit {
            action: self.action,
            subject: Some(r.user_id),
            group: Some(r.group_id),
            reason: Some(reason),
            grant: None,
        })
    }

    fn tells(&self) -> bool {
        false
    }
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
    let check = Decide { by: Decider { actor, privileged }, choice: Choice::Deny(None) };
    decision::decidable(app, Some(guild_id), id, &check).await
}

/// Approve: admit the requester as a join does. The row stays locked while
/// the role is granted, so a second decider waits and then learns who
/// decided; a failed grant leaves the request pending, with a note.
pub async fn approve(app: &App, guild_id: u64, id: i64, actor: u64, privileged: bool) -> Result<Decided, RequestError> {
    decision::decide(app, Some(guild_id), id, &Decide { by: Decider { actor, privileged }, choice: Choice::Approve })
        .await
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
    let deny = Decide { by: Decider { actor, privileged }, choice: Choice::Deny(reason.map(str::to_string)) };
    decision::decide(app, Some(guild_id), id, &deny).await
}

/// The requester withdraws a pending request.
pub async fn withdraw(app: &App, guild_id: u64, id: i64, user_id: u64) -> Result<Request, RequestError> {
    let w = Withdraw { by: Some(user_id), note: None, action: "request.withdraw" };
    Ok(decision::decide(app, Some(guild_id), id, &w).await?.request)
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
    let left =
        Withdraw { by: None, note: Some("They left the server.".to_string()), action: "request.withdrawn_left_server" };
    let mut n = 0;
    for id in pending {
        match decision::decide(app, Some(guild_id), id, &left).await {
            Ok(_) => n += 1,
            Err(RequestError::AlreadyDecided(_)) => {}
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

pub async fn listing(app: &App, guild_id: u64, user_id: u64, privileged: bool) -> Result<Listing, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    Ok(Listing {
        own: domain::for_user(&mut conn, guild_id, user_id, 10).await?,
        to_decide: domain::pending_for_leader(&mut conn, guild_id, user_id, privileged, 10).await?,
    })
}

/// The member joined the group another way (an accepted invitation): their
/// pending request to it, if any, is closed as withdrawn by them (nobody
/// approved it), with a note saying why, audited, and its card updated.
/// Never fails its caller.
pub async fn settle_joined_otherwise(app: &App, g: &Group, user_id: u64, note: &str) {
    let pending = match app.pool.acquire().await {
        Ok(mut conn) => domain::pending_for(&mut conn, g.id, user_id).await,
        Err(e) => Err(e),
    };
    let r = match pending {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => return warn!(group_id = g.id, user_id, error = %e, "could not read a pending join request"),
    };
    let w = Withdraw { by: Some(user_id), note: Some(note.to_string()), action: "request.withdraw" };
    match decision::decide(app, Some(g.guild_id), r.id, &w).await {
        Ok(_) | Err(RequestError::AlreadyDecided(_)) => {}
        Err(e) => warn!(group_id = g.id, user_id, error = %e, "could not settle a pending join request"),
    }
}
