//! Invitations (M5): a leader (or a member, where the group allows it)
//! invites someone; the invitee gets a DM with the group card and *Accept* /
//! *Decline* (or finds it in `/invites` when their DMs are closed). Accepting
//! admits through membership's admit path, behind the guidelines gate, into
//! open and closed groups alike. Invitations expire (background pass) and are
//! capped per inviter per day; leaders and the inviter can revoke a pending
//! one. Every outcome reaches the inviter by DM (closed DMs: recorded, shown
//! in `/invites`) and is audited.

use super::decision::{self, Audit, Decidable, Verdict};
use super::journal::Journal;
use super::membership::{self, Grant, MembershipError};
use super::App;
use crate::discord::{review, roles, DiscordError};
use crate::domain::group::{self, Group};
pub use crate::domain::invite::Listing;
use crate::domain::invite::{self as domain, Invitation, Limits, Status};
use crate::domain::role_sync::Reopens;
use crate::domain::{audit, membership as members, settings};
use crate::views::invite as view;
use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("no such group")]
    NoGroup,
    #[error("the group is archived")]
    Archived(String),
    #[error("not allowed to invite to the group")]
    NotAllowed(String),
    #[error("the inviter may no longer invite to the group")]
    InviterNoLongerMay { group: String, inviter: u64 },
    #[error("bots can't be invited")]
    Bot,
    #[error("you can't invite yourself")]
    Yourself,
    #[error("not in the server")]
    NotInServer,
    #[error("already a member")]
    AlreadyMember(String),
    #[error("banned from the group")]
    Banned(String),
    #[error("an invitation is already pending")]
    AlreadyPending(Box<Invitation>),
    #[error("the daily cap is reached")]
    Cap { cap: i32, free_at: DateTime<Utc> },
    #[error("no such invitation")]
    NotFound,
    #[error("the invitation is someone else's")]
    NotYours,
    #[error("the invitation is no longer pending")]
    NoLongerOpen(Box<Invitation>),
    #[error("not allowed to revoke")]
    NotAllowedToRevoke,
    #[error("only the group's leaders and admins may do this")]
    NotModerator(String),
    #[error("the guidelines must be accepted first")]
    NeedsGuidelines(settings::Guidelines, Box<Invitation>),
    #[error("admitting the invitee failed: {0}")]
    Admit(MembershipError),
    #[error("Discord refused: {0}")]
    Discord(#[from] DiscordError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What `/invite` did.
#[derive(Debug, Clone)]
pub struct Sent {
    pub invitation: Invitation,
    /// The invitation card reached the invitee's DMs.
    pub dm_delivered: bool,
}

/// What a decision did besides changing the row.
#[derive(Debug, Clone)]
pub struct Decided {
    pub invitation: Invitation,
    /// `None` when the inviter was not told (they decided it themselves).
    pub inviter_told: Option<bool>,
}

async fn load(app: &App, id: i64) -> Result<Invitation, InviteError> {
    domain::get(&mut *app.pool.acquire().await?, id).await?.ok_or(InviteError::NotFound)
}

/// Whether `actor` may invite people to `g`: its leaders and admins; members
/// too when the group allows it.
async fn may_invite(app: &App, g: &Group, actor: u64, actor_is_admin: bool) -> Result<bool, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    let leads = members::is_leader(&mut conn, g.id, actor).await?;
    let members_can_invite = domain::members_can_invite(&mut conn, g.id).await?;
    let is_member = members::is_member(&mut conn, g.id, actor).await?;
    Ok(crate::auth::may_invite(actor_is_admin, leads, members_can_invite, is_member))
}

/// Whether the inviter may still invite to `g` now: an invitation is only as
/// good as its inviter's right to send it (a leader removed, a member who
/// left or lost the group's permission to invite, an admin no longer one).
/// Leaders and members from Postgres; admins asked of Discord (the owner,
/// Administrator or Manage Server, or the admin role).
async fn inviter_still_may(app: &App, g: &Group, inviter: u64) -> Result<bool, InviteError> {
    if may_invite(app, g, inviter, false).await? {
        return Ok(true);
    }
    let held = match roles::member_role_ids(&app.http, g.guild_id, inviter).await {
        Ok(held) => held,
        Err(DiscordError::Unknown(..)) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if roles::guild_owner(&app.http, g.guild_id).await? == inviter {
        return Ok(true);
    }
    let perms = roles::guild_roles(&app.http, g.guild_id)
        .await?
        .iter()
        .filter(|r| r.id == g.guild_id || held.contains(&r.id))
        .fold(0, |acc, r| acc | r.permissions);
    let perms = serenity::all::Permissions::from_bits_truncate(perms);
    Ok(super::access::is_admin(app, g.guild_id, perms, &held).await?)
}

/// Whether the user is still in the server (asked of Discord).
async fn in_server(app: &App, guild_id: u64, user_id: u64) -> Result<bool, InviteError> {
    match roles::member_role_ids(&app.http, guild_id, user_id).await {
        Ok(_) => Ok(true),
        Err(DiscordError::Unknown(..)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// `/invite <user> <group>`: every check first, then the row (under the
/// inviter's cap), then the DM card.
pub async fn invite(
    app: &App,
    g: &Group,
    inviter: u64,
    inviter_is_admin: bool,
    invitee: u64,
    invitee_is_bot: bool,
) -> Result<Sent, InviteError> {
    if g.archived {
        return Err(InviteError::Archived(g.name.clone()));
    }
    if !may_invite(app, g, inviter, inviter_is_admin).await? {
        return Err(InviteError::NotAllowed(g.name.clone()));
    }
    if invitee_is_bot {
        return Err(InviteError::Bot);
    }
    if invitee == inviter {
        return Err(InviteError::Yourself);
    }
    {
        let mut conn = app.pool.acquire().await?;
        if members::is_member(&mut conn, g.id, invitee).await? {
            return Err(InviteError::AlreadyMember(g.name.clone()));
        }
        if members::is_banned(&mut conn, g.id, invitee).await? {
            return Err(InviteError::Banned(g.name.clone()));
        }
        if let Some(i) = domain::pending_for(&mut conn, g.id, invitee).await? {
            return Err(InviteError::AlreadyPending(Box::new(i)));
        }
    }
    if !in_server(app, g.guild_id, invitee).await? {
        return Err(InviteError::NotInServer);
    }
    let now = app.clock.now();
    let mut tx = app.pool.begin().await?;
    domain::lock_inviter(&mut tx, g.guild_id, inviter).await?;
    let limits = domain::limits(&mut tx, g.guild_id).await?;
    let (sent, oldest) = domain::sent_in_last_day(&mut tx, g.guild_id, inviter, now).await?;
    if sent >= limits.daily_cap as i64 {
        let free_at = oldest.unwrap_or(now) + Duration::hours(24);
        return Err(InviteError::Cap { cap: limits.daily_cap, free_at });
    }
    let expires_at = now + Duration::days(limits.expiry_days as i64);
    let Some(id) = domain::insert(&mut tx, g.guild_id, g.id, inviter, invitee, now, expires_at).await? else {
        drop(tx);
        return match domain::pending_for(&mut *app.pool.acquire().await?, g.id, invitee).await? {
            Some(i) => Err(InviteError::AlreadyPending(Box::new(i))),
            None => Err(InviteError::NotFound),
        };
    };
    audit::record(
        &mut tx,
        &audit::Entry::of(g.guild_id, g.id, inviter, invitee, "invite.create").because(&format!("invitation {id}")),
    )
    .await?;
    tx.commit().await?;
    info!(invitation = id, group_id = g.id, inviter, invitee, "invitation stored");
    let inv = load(app, id).await?;
    let facts = membership::page_facts(app, g.guild_id, g.id, invitee).await.map_err(|e| match e {
        MembershipError::Db(e) => InviteError::Db(e),
        _ => InviteError::NoGroup,
    })?;
    let card = view::dm_card(&inv, &facts);
    let delivered = match review::dm_card(&app.http, invitee, &card.content, card.embeds, card.components).await {
        Ok(c) => Some(c),
        Err(e) => {
            if !matches!(e, DiscordError::DmsClosed) {
                warn!(invitation = id, error = %e, "could not DM an invitation");
            }
            None
        }
    };
    domain::set_card(&mut *app.pool.acquire().await?, id, delivered).await?;
    Ok(Sent { invitation: load(app, id).await?, dm_delivered: delivered.is_some() })
}

/// The invitation, if `user` is its invitee (for the guidelines step).
pub async fn own(app: &App, id: i64, user: u64) -> Result<Invitation, InviteError> {
    let inv = load(app, id).await?;
    if inv.invitee_id != user {
        return Err(InviteError::NotYours);
    }
    Ok(inv)
}

impl Decidable for Invitation {
    const TABLE: &'static str = "invitations";
    const NOUN: &'static str = "invitation";
    type Error = InviteError;
    type Outcome = Decided;

    fn id(&self) -> i64 {
        self.id
    }

    fn guild_id(&self) -> u64 {
        self.guild_id
    }

    fn is_open(&self, now: DateTime<Utc>) -> bool {
        Invitation::is_open(self, now)
    }

    /// By id; a press in a DM carries no server, one in a server must be
    /// that server's.
    async fn get(conn: &mut PgConnection, guild: Option<u64>, id: i64) -> Result<Option<Self>, sqlx::Error> {
        Ok(domain::get(conn, id).await?.filter(|i| guild.is_none_or(|g| g == i.guild_id)))
    }

    fn not_found() -> InviteError {
        InviteError::NotFound
    }

    fn no_longer_open(self) -> InviteError {
        InviteError::NoLongerOpen(Box::new(self))
    }

    fn grant_refused(e: MembershipError) -> InviteError {
        InviteError::Admit(e)
    }

    async fn announce(app: &App, inv: Invitation, _tell: bool) -> Result<Decided, InviteError> {
        finish(app, inv.id).await
    }
}

/// The invitee answers: *Accept* (`accept`) or *Decline*.
struct Answer {
    invitee: u64,
    accept: bool,
}

/// What accepting an invitation asked of Discord before the lock.
#[derive(Default)]
struct Asked {
    inviter_may: bool,
    in_server: bool,
}

impl Verdict<Invitation> for Answer {
    type Prepared = Asked;

    fn actor(&self) -> Option<u64> {
        Some(self.invitee)
    }

    async fn may_decide(&self, _conn: &mut PgConnection, inv: &Invitation) -> Result<bool, InviteError> {
        Ok(inv.invitee_id == self.invitee)
    }

    fn refused(&self) -> InviteError {
        InviteError::NotYours
    }

    /// Accepting asks Discord first, holding no connection: the inviter
    /// may still invite, the invitee is still in the server, and the
    /// group's role is one the bot may grant (A3).
    async fn prepare(&self, app: &App, inv: &Invitation, _journal: &mut Journal) -> Result<Asked, InviteError> {
        if !self.accept {
            return Ok(Asked::default());
        }
        let g = group::get(&mut *app.pool.acquire().await?, inv.guild_id, inv.group_id)
            .await?
            .ok_or(InviteError::NoGroup)?;
        if g.archived {
            return Err(InviteError::Archived(g.name));
        }
        let inviter_may = inviter_still_may(app, &g, inv.inviter_id).await?;
        let in_server = in_server(app, g.guild_id, self.invitee).await?;
        if inviter_may && in_server {
            membership::check_grantable(app, &g).await.map_err(InviteError::Admit)?;
        }
        Ok(Asked { inviter_may, in_server })
    }

    /// Accepting: only while they are in the server and not banned, while
    /// the inviter may still invite, behind the guidelines gate; then
    /// admitted as a join is (a closed group needs no request), the grant
    /// queued (N6) and the invitation reopened if Discord refuses it.
    async fn apply(
        &self,
        app: &App,
        tx: &mut PgConnection,
        inv: &Invitation,
        now: DateTime<Utc>,
        asked: &Asked,
    ) -> Result<Audit, InviteError> {
        let user = self.invitee;
        let reason = Some(format!("invitation {} from <@{}>", inv.id, inv.inviter_id));
        if !self.accept {
            domain::close(tx, inv.id, Status::Declined, Some(user), now).await?;
            return Ok(Audit {
                action: "invite.decline",
                subject: Some(user),
                group: Some(inv.group_id),
                reason,
                grant: None,
            });
        }
        let g = group::get(tx, inv.guild_id, inv.group_id).await?.ok_or(InviteError::NoGroup)?;
        if g.archived {
            return Err(InviteError::Archived(g.name));
        }
        if members::is_banned(tx, g.id, user).await? {
            return Err(InviteError::Banned(g.name));
        }
        if !asked.inviter_may {
            return Err(InviteError::InviterNoLongerMay { group: g.name, inviter: inv.inviter_id });
        }
        let mut grant = None;
        if !members::is_member(tx, g.id, user).await? {
            if !asked.in_server {
                return Err(InviteError::NotInServer);
            }
            if let Some(gl) = membership::pending_guidelines(app, g.guild_id, user).await? {
                return Err(InviteError::NeedsGuidelines(gl, Box::new(inv.clone())));
            }
            let how = Grant::Decision(Some(Reopens::Invitation(inv.id)));
            grant = match membership::admit_in(app, tx, &g, user, user, "membership.invite_accepted", how).await {
                Ok(sync) => sync,
                Err(e) => {
                    warn!(invitation = inv.id, group_id = g.id, error = %e, "invitee could not be admitted");
                    return Err(InviteError::Admit(e));
                }
            };
        }
        domain::close(tx, inv.id, Status::Accepted, Some(user), now).await?;
        Ok(Audit { action: "invite.accept", subject: Some(user), group: Some(g.id), reason, grant })
    }

    async fn failed(&self, app: &App, inv: &Invitation, e: &InviteError) {
        let InviteError::Admit(e) = e else { return };
        if let Ok(Some(g)) =
            async { group::get(&mut *app.pool.acquire().await?, inv.guild_id, inv.group_id).await }.await
        {
            membership::grant_failed(app, &g, self.invitee, self.invitee, e).await;
        }
    }

    /// A pending request of theirs to the group is settled: they are in.
    async fn after(&self, app: &App, inv: &Invitation) {
        if !self.accept {
            return;
        }
        let g = match app.pool.acquire().await {
            Ok(mut conn) => group::get(&mut conn, inv.guild_id, inv.group_id).await,
            Err(e) => Err(e),
        };
        match g {
            Ok(Some(g)) => {
                membership::admitted(app, &g, self.invitee).await;
                let note = format!("Joined through <@{}>'s invitation #{} instead.", inv.inviter_id, inv.id);
                super::request::settle_joined_otherwise(app, &g, self.invitee, &note).await;
            }
            Ok(None) => {}
            Err(e) => warn!(invitation = inv.id, error = %e, "could not read the group of an accepted invitation"),
        }
    }
}

/// *Revoke*: its inviter, the group's leaders, admins (`privileged`).
struct Revoke {
    actor: u64,
    privileged: bool,
}

impl Verdict<Invitation> for Revoke {
    type Prepared = ();

    fn actor(&self) -> Option<u64> {
        Some(self.actor)
    }

    async fn may_decide(&self, conn: &mut PgConnection, inv: &Invitation) -> Result<bool, InviteError> {
        let leads = members::is_leader(conn, inv.group_id, self.actor).await?;
        Ok(crate::auth::may_revoke_invitation(self.privileged, inv.inviter_id == self.actor, leads))
    }

    fn refused(&self) -> InviteError {
        InviteError::NotAllowedToRevoke
    }

    async fn apply(
        &self,
        _app: &App,
        tx: &mut PgConnection,
        inv: &Invitation,
        now: DateTime<Utc>,
        _prepared: &(),
    ) -> Result<Audit, InviteError> {
        domain::close(tx, inv.id, Status::Revoked, Some(self.actor), now).await?;
        Ok(Audit {
            action: "invite.revoke",
            subject: Some(inv.invitee_id),
            group: Some(inv.group_id),
            reason: Some(format!("invitation {} from <@{}>", inv.id, inv.inviter_id)),
            grant: None,
        })
    }
}

/// *Accept*: only the invitee, only while pending and unexpired, only while
/// they are in the server and not banned; behind the guidelines gate; then
/// admitted as a join is (a closed group needs no request). The row stays
/// locked meanwhile, so a concurrent revoke or a double click waits.
pub async fn accept(app: &App, id: i64, user: u64) -> Result<Decided, InviteError> {
    decision::decide(app, None, id, &Answer { invitee: user, accept: true }).await
}

/// *Decline*: only the invitee, only while pending.
pub async fn decline(app: &App, id: i64, user: u64) -> Result<Decided, InviteError> {
    decision::decide(app, None, id, &Answer { invitee: user, accept: false }).await
}

/// Revoke a pending invitation: its inviter, the group's leaders, admins
/// (`privileged`). The invitee's card then says so and *Accept* refuses.
pub async fn revoke(app: &App, guild_id: u64, id: i64, actor: u64, privileged: bool) -> Result<Decided, InviteError> {
    decision::decide(app, Some(guild_id), id, &Revoke { actor, privileged }).await
}

/// The note on an invitation whose inviter left the server (not told: gone).
const INVITER_LEFT: &str = "the person who sent it left the server";

/// Someone left the server (A5): every pending invitation they sent or
/// received there is cancelled with a note; its card says so and the inviter
/// (when it is not the one who left) is told. Never fails its caller.
pub async fn cancel_departed(app: &App, guild_id: u64, user_id: u64) -> usize {
    let now = app.clock.now();
    let cancelled = async {
        let mut tx = app.pool.begin().await?;
        let ids = domain::lock_pending_involving(&mut tx, guild_id, user_id).await?;
        let mut done = Vec::new();
        for id in ids {
            let Some(inv) = domain::get(&mut tx, id).await? else { continue };
            let note = if inv.invitee_id == user_id { "the invitee left the server" } else { INVITER_LEFT };
            if domain::cancel(&mut tx, id, note, now).await? {
                audit::record(
                    &mut tx,
                    &audit::Entry {
                        guild_id,
                        subject_id: Some(inv.invitee_id),
                        group_id: Some(inv.group_id),
                        action: "invite.cancelled_left_server",
                        reason: Some(&format!("invitation {id}: {note}")),
                        ..Default::default()
                    },
                )
                .await?;
                done.push(id);
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(done)
    }
    .await;
    let ids = match cancelled {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(guild_id, user_id, error = %e, "could not cancel the invitations of a member who left");
            return 0;
        }
    };
    for id in &ids {
        if let Err(e) = finish(app, *id).await {
            tracing::warn!(invitation = id, error = %e, "could not show a cancelled invitation");
        }
    }
    ids.len()
}

/// The background pass: every pending invitation past its expiry is marked
/// expired (claimed row by row, so two processes never both act), its card
/// loses its buttons and the inviter is told. Returns how many expired.
pub async fn expire_due(app: &App) -> Result<usize, sqlx::Error> {
    let now = app.clock.now();
    let mut n = 0;
    // Bounded per pass; the next pass picks up the rest.
    while n < 200 {
        let mut tx = app.pool.begin().await?;
        let Some(inv) = domain::claim_expired(&mut tx, now).await? else { break };
        audit::record(
            &mut tx,
            &audit::Entry {
                guild_id: inv.guild_id,
                subject_id: Some(inv.invitee_id),
                group_id: Some(inv.group_id),
                action: "invite.expire",
                reason: Some(&format!("invitation {} from <@{}>", inv.id, inv.inviter_id)),
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        n += 1;
        if let Err(e) = finish(app, inv.id).await {
            warn!(invitation = inv.id, error = %e, "could not announce an expired invitation");
        }
    }
    Ok(n)
}

/// After a decision: the invitee's card shows the outcome without buttons,
/// and the inviter is told by DM (unless they decided it themselves);
/// whether that DM arrived is recorded for `/invites`.
async fn finish(app: &App, id: i64) -> Result<Decided, InviteError> {
    let inv = load(app, id).await?;
    let what = format!("invitation {id}");
    let at = (inv.card_channel_id, inv.card_message_id);
    super::outcome::show_on_card(app, at, view::closed_card(&inv), &what).await;
    let inviter_told = if inv.decided_by == Some(inv.inviter_id) || inv.note.as_deref() == Some(INVITER_LEFT) {
        None
    } else {
        let delivered = super::outcome::tell(app, inv.inviter_id, &view::inviter_dm(&inv), &what).await.is_ok();
        domain::set_inviter_dm_delivered(&mut *app.pool.acquire().await?, id, delivered).await?;
        Some(delivered)
    };
    Ok(Decided { invitation: load(app, id).await?, inviter_told })
}

/// Discord refused the role of an invitee who accepted (N6): the
/// invitation was reopened (`reopen`); its DM card offers it again and the
/// invitee is told. Never fails its caller.
pub(crate) async fn acceptance_refused(app: &App, id: i64, group: &str) {
    let shown = async {
        let inv = load(app, id).await?;
        let g = group::get(&mut *app.pool.acquire().await?, inv.guild_id, inv.group_id)
            .await?
            .ok_or(InviteError::NoGroup)?;
        let facts = membership::page_facts_of(app, g, inv.invitee_id).await?;
        let what = format!("invitation {id}");
        super::outcome::show_on_card(
            app,
            (inv.card_channel_id, inv.card_message_id),
            view::dm_card(&inv, &facts),
            &what,
        )
        .await;
        let _ = super::outcome::tell(app, inv.invitee_id, &view::acceptance_failed_dm(group), &what).await;
        Ok::<_, InviteError>(())
    }
    .await;
    if let Err(e) = shown {
        warn!(invitation = id, error = %e, "could not show a reopened invitation");
    }
}

pub async fn listing(app: &App, guild_id: u64, user: u64, privileged: bool) -> Result<Listing, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    Ok(Listing {
        received: domain::received(&mut conn, guild_id, user, 10).await?,
        sent: domain::sent(&mut conn, guild_id, user, 10).await?,
        to_manage: domain::pending_for_leader(&mut conn, guild_id, user, privileged, 10).await?,
        now: app.clock.now(),
    })
}

/// Let (or stop letting) members who don't lead the group invite people to
/// it: its leaders and admins only. Audited.
pub async fn set_members_can_invite(
    app: &App,
    g: &Group,
    actor: u64,
    actor_is_admin: bool,
    allowed: bool,
) -> Result<(), InviteError> {
    if !membership::may_moderate(app, g, actor, actor_is_admin).await? {
        return Err(InviteError::NotModerator(g.name.clone()));
    }
    let mut tx = app.pool.begin().await?;
    domain::set_members_can_invite(&mut tx, g.id, allowed).await?;
    audit::record(
        &mut tx,
        &audit::Entry {
            guild_id: g.guild_id,
            actor_id: Some(actor),
            group_id: Some(g.id),
            action: "group.invite-policy",
            detail: Some(if allowed { "members can invite" } else { "leaders and admins invite" }),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The server's invitation limits.
pub async fn limits(app: &App, guild_id: u64) -> Result<Limits, sqlx::Error> {
    domain::limits(&mut *app.pool.acquire().await?, guild_id).await
}

/// `/config invitations`: change the expiry and/or the daily cap (admins),
/// validated and audited as `config.invitations`. Returns the limits now in
/// force; pending invitations keep the expiry they were sent with.
pub async fn set_limits(
    app: &App,
    guild_id: u64,
    actor: u64,
    expiry_days: Option<i64>,
    daily_cap: Option<i64>,
) -> Result<Result<Limits, domain::LimitError>, sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    let current = domain::limits(&mut tx, guild_id).await?;
    let l = match current.with(expiry_days, daily_cap) {
        Ok(l) => l,
        Err(e) => return Ok(Err(e)),
    };
    domain::set_limits(&mut tx, guild_id, l).await?;
    let detail = format!("expiry {} days, cap {} per day", l.expiry_days, l.daily_cap);
    super::config::record(&mut tx, guild_id, actor, "config.invitations", &detail).await?;
    tx.commit().await?;
    Ok(Ok(l))
}
