//! Joining and leaving groups (M1, M3), leaders (M4, L3's admin part),
//! removing and banning members (M4), behind the guidelines gate (M2) and the
//! role-safety checks before every grant (A3).

use super::applier::{self, Answer, Settled};
use super::journal::{Journal, Undo};
use super::App;
use crate::discord::{provision, DiscordError};
use crate::domain::group::{self, Group, Visibility};
pub use crate::domain::membership::PageFacts;
use crate::domain::role_safety::{self, RoleProblem};
use crate::domain::role_sync::Reopens;
use crate::domain::subscription::{self, Kind};
use crate::domain::{audit, membership, reconcile, role_sync, settings};
use sqlx::PgConnection;

#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error("no such group")]
    NoGroup,
    #[error("the group is archived")]
    Archived,
    #[error("the group is closed")]
    Closed,
    #[error("banned from the group")]
    Banned,
    #[error("the guidelines must be accepted first")]
    NeedsGuidelines(settings::Guidelines),
    #[error("not a member")]
    NotMember,
    #[error("not allowed")]
    NotAllowed,
    #[error("the group's role is unsafe: {0}")]
    UnsafeRole(RoleProblem),
    #[error("the group's role or channel is gone")]
    Broken,
    /// Discord refused the role change for good after the decision was
    /// committed; the applier undid it (N6).
    #[error("Discord refused the role change; undone")]
    Refused,
    #[error("Discord refused: {0}")]
    Discord(#[from] DiscordError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What a join did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    Joined(Group),
    AlreadyMember(Group),
    /// Decided and committed; Discord is still applying the role (N6): about
    /// this many seconds to go, and the answer is edited when it lands.
    Applying(Group, u64),
}

/// What a leave did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Left {
    Left(Group),
    /// Decided and committed; Discord is still taking the role away.
    Applying(Group, u64),
}

/// The name of a group of this server, or "" when it is gone (for the
/// texts of a join or leave that name it whatever happened).
pub async fn group_name(app: &App, guild_id: u64, group_id: i64) -> Result<String, sqlx::Error> {
    Ok(group_name_if_any(app, guild_id, group_id).await?.unwrap_or_default())
}

/// The group's name; `None` when there is no such group in the server
/// (deleted since its button was shown).
pub async fn group_name_if_any(app: &App, guild_id: u64, group_id: i64) -> Result<Option<String>, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    Ok(group::get(&mut conn, guild_id, group_id).await?.map(|g| g.name))
}

async fn load(conn: &mut PgConnection, guild_id: u64, group_id: i64) -> Result<Group, MembershipError> {
    group::get(conn, guild_id, group_id).await?.ok_or(MembershipError::NoGroup)
}

/// The guidelines the member still has to accept, if any (none set: no gate).
pub async fn pending_guidelines(
    app: &App,
    guild_id: u64,
    user_id: u64,
) -> Result<Option<settings::Guidelines>, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    let g = settings::guidelines(&mut conn, guild_id).await?;
    if g.version == 0 || settings::has_accepted(&mut conn, guild_id, user_id, g.version).await? {
        return Ok(None);
    }
    Ok(Some(g))
}

/// Record acceptance of `version`; `false` when it is no longer the current
/// version (the member must read the new text).
pub async fn accept_guidelines(app: &App, guild_id: u64, user_id: u64, version: i32) -> Result<bool, sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    let current = settings::guidelines(&mut tx, guild_id).await?;
    if current.version != version {
        return Ok(false);
    }
    settings::accept(&mut tx, guild_id, user_id, version).await?;
    audit::record(
        &mut tx,
        &audit::Entry {
            guild_id,
            actor_id: Some(user_id),
            subject_id: Some(user_id),
            action: "guidelines.accept",
            reason: Some(&format!("version {version}")),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Add a member: row, group subscription, audit and the role change queued
/// (N6), in one transaction holding no Discord call; then, when an answer
/// is owed, wait a moment for the applier. `None` when they already were a
/// member.
async fn admit(
    app: &App,
    g: &Group,
    user_id: u64,
    actor_id: u64,
    action: &str,
    answer: Option<&Answer>,
) -> Result<Option<Settled>, MembershipError> {
    let mut tx = app.pool.begin().await?;
    let Some(sync) = admit_in(app, &mut tx, g, user_id, actor_id, action, Grant::Join(answer)).await? else {
        return Ok(None);
    };
    tx.commit().await?;
    // Member counts changed (in the background: the answer waits for the
    // role only); the notification role follows the group role in the
    // applier, so a join's answer never waits behind it in Discord's bucket.
    super::directory::spawn_refresh(app, g.guild_id);
    Ok(Some(settled(app, sync, answer).await?))
}

/// The answer a queued role change owes, as its row keeps it.
fn owed(answer: Option<&Answer>) -> Option<(&str, chrono::DateTime<chrono::Utc>)> {
    answer.map(|a| (a.token.as_str(), a.expires_at))
}

/// Wait for a queued role change: until the answer's deadline, or (no
/// answer owed) the usual budget.
async fn settled(app: &App, sync: i64, answer: Option<&Answer>) -> Result<Settled, sqlx::Error> {
    match answer {
        Some(a) => applier::settle(app, sync, a.deadline).await,
        None => {
            applier::wait(app, sync, tokio::time::Instant::now() + Answer::BUDGET).await;
            Ok(Settled::Applied)
        }
    }
}

/// After an admission failed and was rolled back: when it was the grant
/// that failed (A3 refused it, the role is gone, Discord refused), admins
/// can read why in the audit trail. Never fails its caller.
pub(crate) async fn grant_failed(app: &App, g: &Group, actor_id: u64, user_id: u64, e: &MembershipError) {
    if !matches!(e, MembershipError::UnsafeRole(_) | MembershipError::Broken | MembershipError::Discord(_)) {
        return;
    }
    let why = e.to_string();
    let entry = audit::Entry::of(g.guild_id, g.id, actor_id, user_id, "membership.grant_failed").because(&why);
    let recorded = match app.pool.acquire().await {
        Ok(mut conn) => audit::record(&mut conn, &entry).await,
        Err(e) => Err(e),
    };
    if let Err(e) = recorded {
        tracing::warn!(group_id = g.id, user_id, error = %e, "could not record a failed grant");
    }
}

/// How an admission's grant is queued (N6): never made inside the
/// admitting transaction; the applier makes it, checking A3 first.
pub(crate) enum Grant<'a> {
    /// A join, with the answer owed to whoever pressed.
    Join(Option<&'a Answer>),
    /// A decision that admits (an approval, an accepted invitation, a new
    /// leader): ended again, and `Reopens` reopened, when Discord refuses
    /// the grant for good (R3, M5, L2).
    Decision(Option<Reopens>),
}

/// Check that the bot may grant the group's role right now (A3): before a
/// decision commits (a Discord read, no connection held), so an unsafe role
/// refuses the decision at once; the applier checks again before it grants.
pub(crate) async fn check_grantable(app: &App, g: &Group) -> Result<u64, MembershipError> {
    let role_id = g.role_id.ok_or(MembershipError::Broken)?;
    let h = app.hierarchy.load(&app.http, g.guild_id, app.bot_id).await?;
    let role = h.role(role_id).ok_or(MembershipError::Broken)?;
    role_safety::grantable(role, h.bot_top).map_err(MembershipError::UnsafeRole)?;
    Ok(role_id)
}

/// The database part of admitting a member, in the caller's transaction
/// (a join, or a decision that admits): row, group subscription, audit, and
/// the grant queued for the applier (which checks A3 before it grants).
/// `None` when they were already a member, else the queued row's id.
pub(crate) async fn admit_in(
    app: &App,
    tx: &mut PgConnection,
    g: &Group,
    user_id: u64,
    actor_id: u64,
    action: &str,
    grant: Grant<'_>,
) -> Result<Option<i64>, MembershipError> {
    reconcile::lock_member(tx, g.guild_id, user_id).await?;
    if !membership::add_member(tx, g.id, user_id).await? {
        return Ok(None);
    }
    if g.role_id.is_none() {
        return Err(MembershipError::Broken);
    }
    subscription::subscribe(tx, g.guild_id, user_id, Kind::Group, g.id).await?;
    audit::record(tx, &audit::Entry::of(g.guild_id, g.id, actor_id, user_id, action)).await?;
    let s = role_sync::NewSync::admitting(g.guild_id, g.id, user_id, action, Some(actor_id));
    let s = match grant {
        Grant::Join(answer) => s.answering(owed(answer)),
        Grant::Decision(reopens) => s.reopening(reopens),
    };
    let sync = role_sync::enqueue(tx, &s, app.clock.now()).await?;
    Ok(Some(sync))
}

/// After an admission committed: member counts changed. (The group
/// subscription's notification role follows the group role in the
/// applier, N6.)
pub(crate) async fn admitted(app: &App, g: &Group, _user_id: u64) {
    super::directory::refresh(app, g.guild_id).await;
}

/// `/join` and the *Join group* button on an open group; `answer`: the
/// press's answer, edited by the applier when the role lands late.
pub async fn join(
    app: &App,
    guild_id: u64,
    user_id: u64,
    group_id: i64,
    answer: Option<&Answer>,
) -> Result<Joined, MembershipError> {
    let g = {
        let mut conn = app.pool.acquire().await?;
        let g = load(&mut conn, guild_id, group_id).await?;
        if g.archived {
            return Err(MembershipError::Archived);
        }
        if membership::is_member(&mut conn, g.id, user_id).await? {
            return Ok(Joined::AlreadyMember(g));
        }
        if membership::is_banned(&mut conn, g.id, user_id).await? {
            return Err(MembershipError::Banned);
        }
        if g.visibility == Visibility::Closed {
            return Err(MembershipError::Closed);
        }
        g
    };
    if let Some(gl) = pending_guidelines(app, guild_id, user_id).await? {
        return Err(MembershipError::NeedsGuidelines(gl));
    }
    match admit(app, &g, user_id, user_id, "membership.join", answer).await? {
        None => Ok(Joined::AlreadyMember(g)),
        Some(Settled::Applied) => Ok(Joined::Joined(g)),
        Some(Settled::Refused) => Err(MembershipError::Refused),
        Some(Settled::Failed(why)) => Err(MembershipError::Discord(DiscordError::Other(why))),
        Some(Settled::Applying { eta_seconds }) => Ok(Joined::Applying(g, eta_seconds)),
    }
}

/// End a membership: row, group subscription (S1), leadership, audit, and
/// the role's removal queued for the applier (N6), in one transaction
/// holding no Discord call. `None` when they were not a member.
async fn dismiss(
    app: &App,
    g: &Group,
    user_id: u64,
    actor_id: u64,
    action: &str,
    reason: Option<&str>,
    answer: Option<&Answer>,
) -> Result<Option<Settled>, MembershipError> {
    let mut tx = app.pool.begin().await?;
    reconcile::lock_member(&mut tx, g.guild_id, user_id).await?;
    if !membership::remove_member(&mut tx, g.id, user_id).await? {
        return Ok(None);
    }
    subscription::unsubscribe(&mut tx, user_id, Kind::Group, g.id).await?;
    let was_leader = membership::remove_leader(&mut tx, g.id, user_id).await?;
    audit::record(
        &mut tx,
        &audit::Entry {
            guild_id: g.guild_id,
            actor_id: Some(actor_id),
            subject_id: Some(user_id),
            group_id: Some(g.id),
            action,
            reason,
            ..Default::default()
        },
    )
    .await?;
    let sync = match g.role_id {
        Some(_) => {
            let s = role_sync::NewSync::dismissing(g.guild_id, g.id, user_id, action, Some(actor_id));
            Some(role_sync::enqueue(&mut tx, &s.answering(owed(answer)), app.clock.now()).await?)
        }
        None => None,
    };
    tx.commit().await?;
    if was_leader {
        if let Some(ch) = g.channel_id {
            let _ =
                provision::remove_member_overwrite(&app.http, ch, user_id, "Guildhall: leader left the group").await;
        }
    }
    // Member counts changed; the notification role goes after the group
    // role, in the applier.
    super::directory::spawn_refresh(app, g.guild_id);
    if was_leader {
        leadership_ended(app, g, user_id).await;
    }
    Ok(Some(match sync {
        Some(sync) => settled(app, sync, answer).await?,
        None => Settled::Applied,
    }))
}

/// After someone stopped leading `g` (stepped down, removed as leader, left
/// the group): they leave the group's request review thread, and the group
/// is flagged to admins if it has no leader left (L4). Never fails its
/// caller; problems are logged.
pub(crate) async fn leadership_ended(app: &App, g: &Group, user_id: u64) {
    super::request::leave_review_thread(app, g, user_id).await;
    if let Err(e) = super::lead::flag_if_leaderless(app, g).await {
        tracing::warn!(group_id = g.id, error = %e, "could not flag a leaderless group");
    }
}

/// `/leave` and the *Leave group* button.
pub async fn leave(
    app: &App,
    guild_id: u64,
    user_id: u64,
    group_id: i64,
    answer: Option<&Answer>,
) -> Result<Left, MembershipError> {
    let g = load(&mut *app.pool.acquire().await?, guild_id, group_id).await?;
    match dismiss(app, &g, user_id, user_id, "membership.leave", None, answer).await? {
        None => Err(MembershipError::NotMember),
        Some(Settled::Applied) => Ok(Left::Left(g)),
        Some(Settled::Refused) => Err(MembershipError::Refused),
        Some(Settled::Failed(why)) => Err(MembershipError::Discord(DiscordError::Other(why))),
        Some(Settled::Applying { eta_seconds }) => Ok(Left::Applying(g, eta_seconds)),
    }
}

/// Whether `actor` may moderate the group: one of its leaders, or an admin.
pub async fn may_moderate(app: &App, g: &Group, actor_id: u64, actor_is_admin: bool) -> Result<bool, sqlx::Error> {
    let leads = membership::is_leader(&mut *app.pool.acquire().await?, g.id, actor_id).await?;
    Ok(crate::auth::may_moderate(actor_is_admin, leads))
}

/// A leader (or admin) removes a member, with a reason, optionally banning them.
pub async fn remove(
    app: &App,
    g: &Group,
    actor_id: u64,
    actor_is_admin: bool,
    target: u64,
    reason: &str,
    ban: bool,
) -> Result<bool, MembershipError> {
    if !may_moderate(app, g, actor_id, actor_is_admin).await? {
        return Err(MembershipError::NotAllowed);
    }
    let removed = dismiss(app, g, target, actor_id, "membership.remove", Some(reason), None).await?.is_some();
    if ban {
        set_ban(app, g, actor_id, actor_is_admin, target, Some(reason), true).await?;
    }
    Ok(removed)
}

/// Ban or unban a user from joining or asking to join a group.
pub async fn set_ban(
    app: &App,
    g: &Group,
    actor_id: u64,
    actor_is_admin: bool,
    target: u64,
    reason: Option<&str>,
    banned: bool,
) -> Result<bool, MembershipError> {
    if !may_moderate(app, g, actor_id, actor_is_admin).await? {
        return Err(MembershipError::NotAllowed);
    }
    let mut tx = app.pool.begin().await?;
    let changed = if banned {
        membership::ban(&mut tx, g.id, target, actor_id, reason).await?
    } else {
        membership::unban(&mut tx, g.id, target).await?
    };
    if changed {
        audit::record(
            &mut tx,
            &audit::Entry {
                guild_id: g.guild_id,
                actor_id: Some(actor_id),
                subject_id: Some(target),
                group_id: Some(g.id),
                action: if banned { "membership.ban" } else { "membership.unban" },
                reason,
                ..Default::default()
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// Admins make someone a leader: a member of the group (joined if needed,
/// without the guidelines gate: an admin vouches) with moderation rights on
/// the group's channel only. Discord first (A3 read, the channel
/// overwrite, journalled), then one transaction holding no Discord call;
/// the role is granted through the queue (N6).
pub async fn add_leader(app: &App, g: &Group, actor_id: u64, user_id: u64) -> Result<bool, MembershipError> {
    if membership::is_leader(&mut *app.pool.acquire().await?, g.id, user_id).await? {
        return Ok(false);
    }
    let mut journal = Journal::default();
    let prepared = async {
        check_grantable(app, g).await?;
        leader_overwrite(app, g.channel_id, &g.name, user_id, &mut journal).await
    }
    .await;
    let made = match prepared {
        Ok(()) => {
            async {
                let mut tx = app.pool.begin().await?;
                let made = add_leader_in(app, &mut tx, g, actor_id, user_id, None).await?;
                tx.commit().await?;
                Ok::<_, MembershipError>(made)
            }
            .await
        }
        Err(e) => Err(e),
    };
    let made = match made {
        Ok(made) => made,
        Err(e) => {
            journal.undo(app, "Guildhall: undoing a new leader that failed").await;
            grant_failed(app, g, actor_id, user_id, &e).await;
            return Err(e);
        }
    };
    decision_settled(app, made.sync).await?;
    admitted(app, g, user_id).await;
    Ok(made.made)
}

/// Give a new leader of `g` moderation rights on its channel (before the
/// decision's transaction; journalled, so a decision that fails takes them
/// back).
pub(crate) async fn leader_overwrite(
    app: &App,
    channel: Option<u64>,
    group_name: &str,
    user_id: u64,
    journal: &mut Journal,
) -> Result<(), MembershipError> {
    let channel = channel.ok_or(MembershipError::Broken)?;
    let reason = format!("Guildhall: leader of \"{group_name}\"");
    provision::set_leader_overwrite(&app.http, channel, user_id, &reason).await?;
    journal.push(Undo::Overwrite { channel_id: channel, target: user_id, before: None });
    Ok(())
}

/// What [`add_leader_in`] did.
pub(crate) struct NewLeader {
    /// They were not a leader before.
    pub made: bool,
    /// The queued grant of the group's role, when they were not a member.
    pub sync: Option<i64>,
}

/// [`add_leader`] in the caller's transaction (a lead application's
/// approval), after [`leader_overwrite`]; no Discord call. After the
/// commit, call [`decision_settled`] and [`admitted`].
pub(crate) async fn add_leader_in(
    app: &App,
    tx: &mut PgConnection,
    g: &Group,
    actor_id: u64,
    user_id: u64,
    reopens: Option<Reopens>,
) -> Result<NewLeader, MembershipError> {
    let sync = admit_in(app, tx, g, user_id, actor_id, "membership.join", Grant::Decision(reopens)).await?;
    if g.channel_id.is_none() {
        return Err(MembershipError::Broken);
    }
    if !membership::add_leader(tx, g.id, user_id, actor_id).await? {
        return Ok(NewLeader { made: false, sync });
    }
    crate::domain::lead::clear_leaderless_flag(tx, g.id).await?;
    audit::record(tx, &audit::Entry::of(g.guild_id, g.id, actor_id, user_id, "leader.add")).await?;
    Ok(NewLeader { made: true, sync })
}

/// After a decision that admitted someone committed: wait a moment for its
/// queued grant (`sync`), so a refusal Discord gives at once is the
/// decider's answer (the applier has ended the admission and reopened the
/// decision by then). A grant still waiting in Discord's bucket is no
/// error: the applier reopens the decision and tells the member if Discord
/// refuses it later.
pub(crate) async fn decision_settled(app: &App, sync: Option<i64>) -> Result<(), MembershipError> {
    let Some(sync) = sync else { return Ok(()) };
    match applier::outcome_within(app, sync, tokio::time::Instant::now() + Answer::BUDGET).await? {
        Some(Settled::Refused) => Err(MembershipError::Refused),
        Some(Settled::Failed(why)) => Err(MembershipError::Discord(DiscordError::Other(why))),
        _ => Ok(()),
    }
}

pub async fn remove_leader(app: &App, g: &Group, actor_id: u64, user_id: u64) -> Result<bool, MembershipError> {
    let mut tx = app.pool.begin().await?;
    if !membership::remove_leader(&mut tx, g.id, user_id).await? {
        return Ok(false);
    }
    if let Some(channel) = g.channel_id {
        match provision::remove_member_overwrite(&app.http, channel, user_id, "Guildhall: no longer a leader").await {
            Ok(()) | Err(DiscordError::Unknown(..)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    audit::record(&mut tx, &audit::Entry::of(g.guild_id, g.id, actor_id, user_id, "leader.remove")).await?;
    tx.commit().await?;
    leadership_ended(app, g, user_id).await;
    Ok(true)
}

/// Toggle the group subscription from the Group Page (S2); returns whether
/// the member is now subscribed.
pub async fn toggle_group_subscription(app: &App, g: &Group, user_id: u64) -> Result<bool, sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    let now = if subscription::unsubscribe(&mut tx, user_id, Kind::Group, g.id).await? {
        false
    } else {
        subscription::subscribe(&mut tx, g.guild_id, user_id, Kind::Group, g.id).await?
    };
    audit::record(
        &mut tx,
        &audit::Entry::of(
            g.guild_id,
            g.id,
            user_id,
            user_id,
            if now { "subscription.add" } else { "subscription.remove" },
        )
        .because("group"),
    )
    .await?;
    tx.commit().await?;
    Ok(now)
}

pub async fn page_facts(app: &App, guild_id: u64, group_id: i64, viewer: u64) -> Result<PageFacts, MembershipError> {
    let mut conn = app.pool.acquire().await?;
    let group = load(&mut conn, guild_id, group_id).await?;
    Ok(membership::page_facts(&mut conn, group, viewer).await?)
}

/// The Group Page's facts for a group already loaded.
pub async fn page_facts_of(app: &App, group: Group, viewer: u64) -> Result<PageFacts, sqlx::Error> {
    membership::page_facts(&mut *app.pool.acquire().await?, group, viewer).await
}
