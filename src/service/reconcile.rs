//! Reconciliation (A5): Discord changes under the bot, and the bot notices,
//! from gateway events and from a full pass after every new session.
//!
//! What wins (ARCHITECTURE.md, "Reconciliation"):
//! - a person's hand change of a member's group role: the server's policy
//!   (`follow`, the default: the membership follows Discord; `restore`: the
//!   role is put back as Postgres says; `report`: nothing changes, admins are
//!   told). A banned member keeps no hand-given role under any policy;
//! - a member who leaves keeps their memberships "away" (not counted, not
//!   notified); coming back gives their groups back (a setting turns it off);
//! - a deleted group role, group channel or bucket category is made again
//!   (under `report` only flagged); a deleted configured channel is cleared.
//!
//! Every repair re-reads the state under a lock first (a member's advisory
//! lock, or the guild's), so the bot never mistakes its own change in flight
//! for a hand change, and two processes that both see an event act once.

use super::journal::{sync_overwrites, Journal};
use super::App;
use crate::discord::provision::{self, Access};
use crate::discord::roles;
use crate::discord::{guild as dg, messages, DiscordError};
use crate::domain::group::{self, Bucket, Group, Visibility};
use crate::domain::reconcile::{self as rc, ConfigChannel, Counts, Drift, Expected, Policy, Repair, Trigger};
use crate::domain::role_safety;
use crate::domain::subscription::{self, Kind};
use crate::domain::{audit, membership, role_sync, settings};
use crate::views::reconcile as view;
use tracing::{info, warn};

/// A repair's audit action, counted by kind (O1) as it is recorded.
fn repaired(action: &'static str) -> &'static str {
    crate::telemetry::repair(action);
    action
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Who made a change in Discord, as the audit trail names it.
pub const SOMEONE: &str = "someone in Discord";

/// One difference between Postgres and the guild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What differs, for admins ("<@1>'s role of **Rust** was taken by hand").
    pub what: String,
    /// What the bot does about it under the policy.
    pub action: String,
    pub kind: FindingKind,
}

/// What a finding is about, so that applying it re-checks exactly that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    Member { user_id: u64 },
    Left { user_id: u64 },
    Back { user_id: u64 },
    RoleMissing { group_id: i64, role_id: u64 },
    NotifyRoleMissing { group_id: i64, role_id: u64 },
    RoleUnsafe { group_id: i64, role_id: u64 },
    ChannelMissing { group_id: i64, channel_id: u64 },
    CategoryMissing { channel_id: u64 },
    ConfiguredMissing { channel_id: u64 },
    RegrantPending { group_id: i64 },
}

/// Tell admins in the mod channel (no pings). Never fails its caller: with
/// no usable mod channel the audit trail and `/health` still hold it.
pub async fn tell_admins(app: &App, guild_id: u64, text: &str) {
    let channel = match app.pool.acquire().await {
        Ok(mut c) => settings::mod_channel(&mut c, guild_id).await.ok().flatten(),
        Err(_) => None,
    };
    let Some(channel) = channel else {
        info!(guild_id, "no mod channel to tell admins: {text}");
        return;
    };
    if let Err(e) = messages::post(&app.http, channel, text, vec![]).await {
        warn!(guild_id, error = %e, "could not tell admins in the mod channel");
    }
}

async fn group_of(app: &App, guild_id: u64, group_id: i64) -> Result<Option<Group>, sqlx::Error> {
    group::get(&mut *app.pool.acquire().await?, guild_id, group_id).await
}

// ---- Members.

/// GUILD_MEMBER_UPDATE: the member's roles now. A cheap look at Postgres
/// first; only when their group roles and memberships disagree is the
/// member reconciled (under their lock, with their roles read again).
pub async fn member_updated(app: &App, guild_id: u64, user_id: u64, roles_now: &[u64]) -> Result<(), BoxError> {
    let drift = {
        let mut conn = app.pool.acquire().await?;
        let groups = rc::group_roles(&mut conn, guild_id).await?;
        if groups.is_empty() {
            return Ok(());
        }
        let standing = rc::standings(&mut conn, guild_id, user_id).await?;
        rc::member_drift(&groups, &standing, roles_now)
    };
    if drift.is_empty() {
        return Ok(());
    }
    let policy = rc::policy(&mut *app.pool.acquire().await?, guild_id).await?;
    reconcile_member(app, guild_id, user_id, policy).await?;
    Ok(())
}

/// What reconciling one member did.
#[derive(Debug, Default)]
pub struct MemberOutcome {
    pub repaired: Vec<String>,
    pub reported: Vec<String>,
    pub failed: Vec<String>,
}

/// Bring one member's memberships and group roles in step under `policy`.
/// Holds the member's lock throughout, reads their roles from Discord under
/// it, and changes Postgres and Discord in one transaction per member.
pub async fn reconcile_member(
    app: &App,
    guild_id: u64,
    user_id: u64,
    policy: Policy,
) -> Result<MemberOutcome, BoxError> {
    let mut out = MemberOutcome::default();
    // Discord first, holding no connection (N6): the member's roles, and,
    // when they differ from Postgres, the roles that exist and who changed
    // each by hand. Then the repairs under the member's lock, on what
    // Postgres says by then; a change since the read comes as another event.
    let Some(held) = dg::member_roles(&app.http, guild_id, user_id).await? else {
        // Not in the server: GUILD_MEMBER_REMOVE (or the pass) handles it.
        return Ok(out);
    };
    let first_look = {
        let mut conn = app.pool.acquire().await?;
        let groups = rc::group_roles(&mut conn, guild_id).await?;
        let standing = rc::standings(&mut conn, guild_id, user_id).await?;
        rc::member_drift(&groups, &standing, &held).into_iter().map(|d| (d, groups.clone())).collect::<Vec<_>>()
    };
    let existing = if first_look.is_empty() { Vec::new() } else { roles::guild_roles(&app.http, guild_id).await? };
    let mut actors = std::collections::HashMap::new();
    for (d, groups) in &first_look {
        let Some(g) = groups.iter().find(|g| g.group_id == d.group_id()) else { continue };
        if let Drift::Taken { .. } | Drift::Given { .. } | Drift::BannedHolds { .. } = d {
            let added = !matches!(d, Drift::Taken { .. });
            let actor = dg::role_change_actor(&app.http, guild_id, app.bot_id, user_id, g.role_id, added).await;
            actors.insert(g.group_id, actor);
        }
    }
    let mut tx = app.pool.begin().await?;
    rc::lock_member(&mut tx, guild_id, user_id).await?;
    let groups = rc::group_roles(&mut tx, guild_id).await?;
    let standing = rc::standings(&mut tx, guild_id, user_id).await?;
    let mut drifts = rc::member_drift(&groups, &standing, &held);
    // A group role that is gone was deleted, not taken from each of its
    // members: `role_deleted` makes it again and gives it back. A
    // difference the first look did not see waits for its own event.
    drifts.retain(|d| {
        first_look.iter().any(|(f, _)| f == d)
            && groups.iter().any(|g| g.group_id == d.group_id() && existing.iter().any(|r| r.id == g.role_id))
    });
    let mut touched = Vec::new();
    let mut ended_leadership = Vec::new();
    // Memberships ended because someone took the role by hand (follow):
    // the member and the admins are told once the change is committed.
    let mut taken_by_hand = Vec::new();
    for d in drifts {
        let Some(g) = groups.iter().find(|g| g.group_id == d.group_id()) else { continue };
        let name = g.name.clone();
        let r = rc::repair(d, policy);
        let line = view::member_line(user_id, &name, d, r);
        // Who did it, where Discord tells (the audit log, when the bot may read it).
        let actor = actors.get(&g.group_id).copied().flatten();
        let who = actor.map_or_else(|| SOMEONE.to_string(), |a| format!("by <@{a}>"));
        let entry = |action| entry(guild_id, g.group_id, user_id, action).acted_by(actor);
        let result: Result<(), BoxError> = async {
            match r {
                Repair::EndMembership => {
                    membership::remove_member(&mut tx, g.group_id, user_id).await?;
                    subscription::unsubscribe(&mut tx, user_id, Kind::Group, g.group_id).await?;
                    if membership::remove_leader(&mut tx, g.group_id, user_id).await? {
                        ended_leadership.push(g.group_id);
                    }
                    if let Drift::Taken { .. } = d {
                        taken_by_hand.push((g.group_id, format!("{line} ({who})")));
                    }
                    let (action, why) = match d {
                        Drift::BannedMember { .. } => (
                            repaired("membership.banned_member_ended"),
                            "banned from the group, without its role".to_string(),
                        ),
                        _ => (
                            repaired("membership.role_taken_by_hand"),
                            format!("the group role was taken by hand ({who})"),
                        ),
                    };
                    audit::record(&mut tx, &entry(action).because(&why)).await?;
                }
                Repair::RecordMembership => {
                    membership::add_member(&mut tx, g.group_id, user_id).await?;
                    subscription::subscribe(&mut tx, guild_id, user_id, Kind::Group, g.group_id).await?;
                    let why = format!("the group role was given by hand ({who})");
                    audit::record(&mut tx, &entry(repaired("membership.role_given_by_hand")).because(&why)).await?;
                }
                Repair::GrantRole => {
                    queue_repair(app, &mut tx, guild_id, g.group_id, user_id, "reconcile.role_given_back").await?;
                    let why = match d {
                        Drift::Owed { .. } => "the group role was made again".to_string(),
                        _ => format!("the group role was taken by hand ({who}); policy restore"),
                    };
                    audit::record(&mut tx, &entry(repaired("reconcile.role_given_back")).because(&why)).await?;
                }
                Repair::RevokeRole => {
                    queue_repair(app, &mut tx, guild_id, g.group_id, user_id, "reconcile.role_taken_back").await?;
                    let why = match d {
                        Drift::BannedHolds { .. } => format!("banned from the group; role given by hand ({who})"),
                        _ => format!("the group role was given by hand ({who}); policy restore"),
                    };
                    audit::record(&mut tx, &entry(repaired("reconcile.role_taken_back")).because(&why)).await?;
                }
                Repair::Report => {
                    audit::record(&mut tx, &entry("reconcile.reported").because(&line)).await?;
                }
            }
            Ok(())
        }
        .await;
        match (result, r) {
            (Ok(()), Repair::Report) => out.reported.push(line),
            (Ok(()), _) => {
                touched.push(g.group_id);
                out.repaired.push(line);
            }
            (Err(e), _) => {
                warn!(guild_id, user_id, group_id = g.group_id, error = %e, "a reconcile repair failed");
                out.failed.push(view::failed_line(&line, &e.to_string()));
            }
        }
    }
    tx.commit().await?;
    super::applier::wake(app);
    for group_id in touched {
        if let Some(g) = group_of(app, guild_id, group_id).await? {
            super::notify::sync_member(app, &g, user_id).await;
            if ended_leadership.contains(&group_id) {
                if let Some(ch) = g.channel_id {
                    let _ = provision::remove_member_overwrite(&app.http, ch, user_id, "Guildhall: no longer a member")
                        .await;
                }
                super::membership::leadership_ended(app, &g, user_id).await;
            }
        }
    }
    if !out.repaired.is_empty() {
        super::directory::refresh(app, guild_id).await;
    }
    let mut notice = out.reported.clone();
    for (group_id, line) in taken_by_hand {
        let Some(g) = group_of(app, guild_id, group_id).await? else { continue };
        let how = view::removed_dm(&g.name, g.visibility == Visibility::Open, g.archived);
        let told = super::outcome::tell(app, user_id, &how, "a membership ended by hand").await.is_ok();
        notice.push(view::removed_line(&line, told));
    }
    notice.extend(out.failed.iter().cloned());
    if !notice.is_empty() {
        tell_admins(app, guild_id, &view::notice(policy, &notice)).await;
    }
    Ok(out)
}

/// A repair's role change, queued for the applier (N6) in the repair's
/// transaction: it makes the member's role follow Postgres.
async fn queue_repair(
    app: &App,
    tx: &mut sqlx::PgConnection,
    guild_id: u64,
    group_id: i64,
    user_id: u64,
    cause: &str,
) -> Result<i64, sqlx::Error> {
    role_sync::enqueue(tx, &role_sync::NewSync::repairing(guild_id, group_id, user_id, cause), app.clock.now()).await
}

fn entry(guild_id: u64, group_id: i64, user_id: u64, action: &str) -> audit::Entry<'_> {
    audit::Entry::guild(guild_id, action).subject(user_id).group(group_id)
}

/// GUILD_MEMBER_REMOVE: their memberships go away (kept, not counted, not
/// notified), their pending requests are withdrawn and invitations
/// cancelled, groups they led are flagged if leaderless.
pub async fn member_left(app: &App, guild_id: u64, user_id: u64) -> Result<(), BoxError> {
    // Ask Discord first, holding nothing (N6): a late event (or a pass's
    // stale page) must not mark someone away who is here. A return after
    // this read comes as its own GUILD_MEMBER_ADD, which gives back what
    // this marks away.
    if dg::member_roles(&app.http, guild_id, user_id).await?.is_some() {
        return Ok(());
    }
    let groups = {
        let mut tx = app.pool.begin().await?;
        rc::lock_member(&mut tx, guild_id, user_id).await?;
        let groups = rc::mark_away(&mut tx, guild_id, user_id, app.clock.now()).await?;
        if !groups.is_empty() {
            let why = format!("left the server; {} membership(s) kept until they come back", groups.len());
            audit::record(&mut tx, &audit::Entry::guild(guild_id, "member.left_server").subject(user_id).because(&why))
                .await?;
        }
        tx.commit().await?;
        groups
    };
    super::request::withdraw_departed(app, guild_id, user_id).await;
    super::invite::cancel_departed(app, guild_id, user_id).await;
    super::lead::member_left(app, guild_id, user_id).await?;
    if !groups.is_empty() {
        super::directory::refresh(app, guild_id).await;
    }
    Ok(())
}

/// GUILD_MEMBER_ADD of someone who was here before: the roles of their
/// groups are given back and their group subscriptions restored, except
/// groups that banned them and archived groups; one audit entry.
pub async fn member_returned(app: &App, guild_id: u64, user_id: u64) -> Result<(), BoxError> {
    // Someone new (most GUILD_MEMBER_ADDs): nothing to give back.
    if !rc::is_departed(&mut *app.pool.acquire().await?, guild_id, user_id).await? {
        return Ok(());
    }
    // Left again meanwhile: stays away (asked before the lock: nothing waits
    // on Discord holding Postgres, N6; a later departure comes as its event).
    if dg::member_roles(&app.http, guild_id, user_id).await?.is_none() {
        return Ok(());
    }
    let mut tx = app.pool.begin().await?;
    rc::lock_member(&mut tx, guild_id, user_id).await?;
    if !rc::is_departed(&mut tx, guild_id, user_id).await? {
        tx.commit().await?;
        return Ok(());
    }
    let away = rc::come_back(&mut tx, guild_id, user_id).await?;
    if away.is_empty() {
        tx.commit().await?;
        return Ok(());
    }
    let restore = rc::restore_returning(&mut tx, guild_id).await?;
    let groups = rc::group_roles(&mut tx, guild_id).await?;
    let (mut back, mut not_back, failed) = (Vec::new(), Vec::new(), Vec::new());
    for a in away {
        let Some(g) = groups.iter().find(|g| g.group_id == a.group_id) else { continue };
        if !restore || a.banned {
            membership::remove_member(&mut tx, a.group_id, user_id).await?;
            not_back.push(g.name.clone());
            continue;
        }
        if a.archived {
            // Stays away: an archived group takes nobody back.
            not_back.push(g.name.clone());
            continue;
        }
        rc::return_membership(&mut tx, a.group_id, user_id).await?;
        if a.was_subscribed {
            subscription::subscribe(&mut tx, guild_id, user_id, Kind::Group, a.group_id).await?;
        }
        // The role comes back through the applier; refused for good, the
        // membership ends again (audited, admins told by the audit trail).
        let s = role_sync::NewSync::admitting(guild_id, a.group_id, user_id, "member.returned", None);
        role_sync::enqueue(&mut tx, &s, app.clock.now()).await?;
        back.push((a.group_id, g.name.clone()));
    }
    let names: Vec<&str> = back.iter().map(|(_, n)| n.as_str()).collect();
    let why = view::returned_reason(&names, &not_back, restore);
    audit::record(&mut tx, &audit::Entry::guild(guild_id, repaired("member.returned")).subject(user_id).because(&why))
        .await?;
    tx.commit().await?;
    // The roles, and the notification roles after them, come through the
    // applier.
    super::applier::wake(app);
    super::directory::refresh(app, guild_id).await;
    if !failed.is_empty() {
        tell_admins(app, guild_id, &view::notice(Policy::Follow, &failed)).await;
    }
    Ok(())
}

// ---- Roles.

/// GUILD_ROLE_DELETE (or a role the pass found missing): a group role is
/// made again as it was (its name, no permissions), the channel's overwrite
/// points at it, and every member is given it again (paced, resumable: the
/// group stays marked until all have it). A notification role is made again
/// for the group's mention-mode followers. Under `report`: only flagged.
pub async fn role_deleted(app: &App, guild_id: u64, role_id: u64) -> Result<Option<String>, BoxError> {
    let mut tx = app.pool.begin().await?;
    group::lock_guild(&mut tx, guild_id).await?;
    let policy = rc::policy(&mut tx, guild_id).await?;
    let ours = rc::group_roles(&mut tx, guild_id).await?.iter().any(|g| g.role_id == role_id)
        || rc::notify_roles(&mut tx, guild_id).await?.iter().any(|(_, r)| *r == role_id);
    // Not ours: nothing to ask Discord. Ours: ask it under the lock, so a
    // stale event or a pass's older snapshot never makes a role that exists.
    if !ours || roles::guild_roles(&app.http, guild_id).await?.iter().any(|r| r.id == role_id) {
        return Ok(None);
    }
    if let Some(group_id) = rc::group_with_role(&mut tx, guild_id, role_id).await? {
        let g = group::get(&mut tx, guild_id, group_id).await?.ok_or("group gone")?;
        if !policy.repairs_structure() {
            let line = format!("The role of **{}** was deleted in Discord; its members lost it.", g.name);
            audit::record(&mut tx, &group_entry(guild_id, group_id, "reconcile.reported", &line)).await?;
            tx.commit().await?;
            tell_admins(app, guild_id, &view::notice(policy, std::slice::from_ref(&line))).await;
            return Ok(Some(line));
        }
        let mut journal = Journal::default();
        let made = async {
            let reason = format!("Guildhall: the role of \"{}\" was deleted; made again", g.name);
            let new_role = provision::create_role(&app.http, guild_id, &g.name, &reason).await?;
            journal.push(super::journal::Undo::DeleteRole { guild_id, role_id: new_role });
            if let Some(ch) = g.channel_id {
                match provision::channel_state(&app.http, ch).await {
                    Ok(state) => {
                        let wanted = provision::channel_overwrites(access(&g), guild_id, new_role, app.bot_id);
                        sync_overwrites(app, &state, &wanted, &reason, &mut journal).await?;
                    }
                    // The channel went too: its own repair makes it with the new role.
                    Err(DiscordError::Unknown(..)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok::<_, DiscordError>(new_role)
        }
        .await;
        let new_role = match made {
            Ok(r) => r,
            Err(e) => {
                drop(tx);
                journal.undo(app, "Guildhall: undoing a role repair that failed").await;
                let line =
                    view::failed_line(&format!("The role of **{}** was deleted in Discord", g.name), &e.to_string());
                record_failure(app, guild_id, Some(group_id), &line).await;
                tell_admins(app, guild_id, &view::notice(policy, std::slice::from_ref(&line))).await;
                return Err(e.into());
            }
        };
        rc::replace_role(&mut tx, group_id, new_role).await?;
        let line = format!("The role of **{}** was deleted in Discord; I made it again (<@&{new_role}>).", g.name);
        audit::record(&mut tx, &group_entry(guild_id, group_id, repaired("reconcile.role_remade"), &line)).await?;
        if let Err(e) = tx.commit().await {
            journal.undo(app, "Guildhall: undoing a role repair that failed").await;
            return Err(e.into());
        }
        info!(guild_id, group_id, new_role, "group role made again");
        let members = rc::active_members(&mut *app.pool.acquire().await?, group_id).await?.len();
        tell_admins(app, guild_id, &view::role_remade(&g.name, new_role, members)).await;
        regrant(app, guild_id, group_id).await?;
        return Ok(Some(line));
    }
    if let Some(group_id) = rc::group_with_notify_role(&mut tx, guild_id, role_id).await? {
        let g = group::get(&mut tx, guild_id, group_id).await?.ok_or("group gone")?;
        if !policy.repairs_structure() {
            let line = format!("The notification role of **{}** was deleted in Discord.", g.name);
            audit::record(&mut tx, &group_entry(guild_id, group_id, "reconcile.reported", &line)).await?;
            tx.commit().await?;
            tell_admins(app, guild_id, &view::notice(policy, std::slice::from_ref(&line))).await;
            return Ok(Some(line));
        }
        crate::domain::notify::forget_role(&mut tx, group_id).await?;
        let line = format!("The notification role of **{}** was deleted in Discord; I made it again.", g.name);
        audit::record(&mut tx, &group_entry(guild_id, group_id, repaired("reconcile.notify_role_remade"), &line))
            .await?;
        tx.commit().await?;
        // Giving it to each mention-mode follower makes it again, once.
        let followers = subscription::followers_of_group(&mut *app.pool.acquire().await?, group_id).await?;
        for user in followers {
            super::notify::sync_member(app, &g, user).await;
        }
        return Ok(Some(line));
    }
    tx.commit().await?;
    Ok(None)
}

fn group_entry<'a>(guild_id: u64, group_id: i64, action: &'a str, reason: &'a str) -> audit::Entry<'a> {
    audit::Entry::guild(guild_id, action).group(group_id).because(reason)
}

async fn record_failure(app: &App, guild_id: u64, group_id: Option<i64>, line: &str) {
    let r = async {
        let mut conn = app.pool.acquire().await?;
        let e = audit::Entry::guild(guild_id, "reconcile.failed").in_group(group_id).because(line);
        audit::record(&mut conn, &e).await
    }
    .await;
    if let Err(e) = r {
        warn!(guild_id, error = %e, "could not audit a failed repair");
    }
}

fn access(g: &Group) -> Access {
    Access { open: g.visibility == Visibility::Open, members_can_post: g.members_can_post, archived: g.archived }
}

/// Give a group's re-made role to every member who should hold it, through
/// the applier's queue. The group stays marked until every member has it.
pub async fn regrant(app: &App, guild_id: u64, group_id: i64) -> Result<usize, BoxError> {
    let Some(g) = group_of(app, guild_id, group_id).await? else { return Ok(0) };
    let Some(_) = g.role_id else { return Ok(0) };
    let mut conn = app.pool.acquire().await?;
    // Finished already (a pass's finding can be older than the regrant it
    // saw pending): handing it out again would undo later hand changes.
    if !rc::group_roles(&mut conn, guild_id).await?.iter().any(|r| r.group_id == group_id && r.regrant_pending) {
        return Ok(0);
    }
    let members = rc::active_members(&mut conn, group_id).await?;
    // Every member's grant queued for the applier (N6), which hands them
    // out at Discord's pace; a crash half-way loses none. The group stays
    // marked until every one is applied (`regrant_done`); asked again (the
    // next pass, a restart), rows still waiting are brought forward and
    // nobody is queued twice.
    let n = role_sync::enqueue_each(&mut conn, guild_id, group_id, &members, REGRANT, app.clock.now()).await?;
    drop(conn);
    super::applier::wake(app);
    // Nobody to give it to: done.
    regrant_done(app, group_id).await?;
    info!(guild_id, group_id, queued = n, "re-made role queued for its members");
    Ok(n as usize)
}

/// The cause of a re-made role's grants.
pub(crate) const REGRANT: &str = "reconcile.regrant";

/// After a grant of a re-made role was applied: the group's mark goes
/// once none waits.
pub(crate) async fn regrant_done(app: &App, group_id: i64) -> Result<(), sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    if role_sync::waiting_of(&mut conn, group_id, REGRANT).await? == 0 {
        rc::regranted(&mut conn, group_id).await?;
    }
    Ok(())
}

/// A repair's role change that Discord refused (the applier): recorded
/// where admins look and told in the mod channel; the applier tries it
/// again later, and the member keeps their membership meanwhile.
pub(crate) async fn repair_refused(app: &App, guild_id: u64, group_id: i64, cause: &str, why: &str) {
    let name = match group_of(app, guild_id, group_id).await {
        Ok(Some(g)) => g.name,
        _ => "a group".to_string(),
    };
    let what = if cause == REGRANT {
        format!("Giving the new role of **{name}** back to its members")
    } else {
        format!("A repair of the role of **{name}**")
    };
    let line = view::failed_line(&what, why);
    record_failure(app, guild_id, Some(group_id), &line).await;
    tell_admins(app, guild_id, &view::notice(Policy::Follow, std::slice::from_ref(&line))).await;
}

/// GUILD_ROLE_UPDATE (or the pass): a group role given an elevated
/// permission, or moved to or above the bot's highest role, is reported
/// once (A3); under `restore` its permissions are taken off again.
pub async fn role_changed(app: &App, guild_id: u64, role_id: u64) -> Result<Option<String>, BoxError> {
    let group_id = {
        let mut conn = app.pool.acquire().await?;
        let groups = rc::group_roles(&mut conn, guild_id).await?;
        match groups.iter().find(|g| g.role_id == role_id) {
            Some(g) => g.group_id,
            None => return Ok(None),
        }
    };
    let h = app.hierarchy.load(&app.http, guild_id, app.bot_id).await?;
    let Some(role) = h.role(role_id) else { return Ok(None) };
    let problem = role_safety::grantable(role, h.bot_top).err();
    let policy = rc::policy(&mut *app.pool.acquire().await?, guild_id).await?;
    let mut conn = app.pool.acquire().await?;
    let key = problem.as_ref().map(|p| p.to_string());
    if !rc::note_role_problem(&mut conn, group_id, key.as_deref()).await? {
        return Ok(None);
    }
    let Some(problem) = problem else { return Ok(None) };
    let g = group::get(&mut conn, guild_id, group_id).await?.ok_or("group gone")?;
    let elevated = role.permissions & role_safety::ELEVATED != 0;
    let mut line = format!("The role of **{}** changed in Discord: {problem}", g.name);
    if policy == Policy::Restore && elevated && role.position < h.bot_top {
        let reason = format!("Guildhall: a group role carries no permissions (\"{}\")", g.name);
        match dg::clear_role_permissions(&app.http, guild_id, role_id, &reason).await {
            Ok(()) => {
                line.push_str(" I took its permissions off again (policy restore).");
                rc::note_role_problem(&mut conn, group_id, None).await?;
            }
            Err(e) => line = view::failed_line(&line, &e.to_string()),
        }
    }
    audit::record(&mut conn, &group_entry(guild_id, group_id, "reconcile.role_unsafe", &line)).await?;
    drop(conn);
    tell_admins(app, guild_id, &view::notice(policy, std::slice::from_ref(&line))).await;
    Ok(Some(line))
}

// ---- Channels.

/// CHANNEL_DELETE (or a channel the pass found missing): a group channel is
/// made again with its overwrites (closed stays hidden, leaders keep their
/// rights) and admins are told its old messages are gone; a bucket's
/// category is made again and the bucket's channels moved back into it; a
/// configured channel is forgotten and admins told. Under `report`: flagged.
pub async fn channel_deleted(
    app: &App,
    guild_id: u64,
    channel_id: u64,
    name: Option<&str>,
) -> Result<Option<String>, BoxError> {
    let mut tx = app.pool.begin().await?;
    group::lock_guild(&mut tx, guild_id).await?;
    let policy = rc::policy(&mut tx, guild_id).await?;
    let ours = rc::expected_channels(&mut tx, guild_id).await?.iter().any(|(_, id)| *id == channel_id);
    if !ours || dg::channels(&app.http, guild_id).await?.iter().any(|c| c.id == channel_id) {
        return Ok(None);
    }
    if let Some(group_id) = rc::group_with_channel(&mut tx, guild_id, channel_id).await? {
        let g = group::get(&mut tx, guild_id, group_id).await?.ok_or("group gone")?;
        if !policy.repairs_structure() {
            let line = format!("The channel of **{}** was deleted in Discord.", g.name);
            audit::record(&mut tx, &group_entry(guild_id, group_id, "reconcile.reported", &line)).await?;
            tx.commit().await?;
            tell_admins(app, guild_id, &view::notice(policy, std::slice::from_ref(&line))).await;
            return Ok(Some(line));
        }
        let Some(role_id) = g.role_id else { return Ok(None) };
        let mut journal = Journal::default();
        let made = async {
            let category = super::groups::ensure_category(app, guild_id, g.bucket, &mut journal)
                .await
                .map_err(|e| e.to_string())?;
            let slug = crate::domain::text::GroupName::parse(&g.name).map(|n| n.channel_slug()).unwrap_or_default();
            let spec = provision::ChannelSpec {
                guild_id,
                name: name.filter(|n| !n.is_empty()).unwrap_or(&slug),
                topic: &g.description,
                category_id: category,
                open: g.visibility == Visibility::Open,
                role_id,
                bot_id: app.bot_id,
            };
            let reason = format!("Guildhall: the channel of \"{}\" was deleted; made again", g.name);
            let new = provision::create_group_channel(&app.http, &spec, &reason).await.map_err(|e| e.to_string())?;
            journal.push(super::journal::Undo::DeleteChannel { guild_id, channel_id: new });
            let a = access(&g);
            if a.archived || !a.members_can_post {
                let state = provision::channel_state(&app.http, new).await.map_err(|e| e.to_string())?;
                let wanted = provision::channel_overwrites(a, guild_id, role_id, app.bot_id);
                sync_overwrites(app, &state, &wanted, &reason, &mut journal).await.map_err(|e| e.to_string())?;
            }
            for leader in membership::leaders(&mut tx, group_id).await.map_err(|e| e.to_string())? {
                provision::set_leader_overwrite(&app.http, new, leader, &reason).await.map_err(|e| e.to_string())?;
            }
            rc::replace_channel(&mut tx, group_id, channel_id, new).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(new)
        }
        .await;
        let new = match made {
            Ok(n) => n,
            Err(e) => {
                drop(tx);
                journal.undo(app, "Guildhall: undoing a channel repair that failed").await;
                let line = view::failed_line(&format!("The channel of **{}** was deleted in Discord", g.name), &e);
                record_failure(app, guild_id, Some(group_id), &line).await;
                tell_admins(app, guild_id, &view::notice(policy, std::slice::from_ref(&line))).await;
                return Err(e.into());
            }
        };
        let line = format!("The channel of **{}** was deleted in Discord; I made <#{new}> again.", g.name);
        audit::record(&mut tx, &group_entry(guild_id, group_id, repaired("reconcile.channel_remade"), &line)).await?;
        if let Err(e) = tx.commit().await {
            journal.undo(app, "Guildhall: undoing a channel repair that failed").await;
            return Err(e.into());
        }
        info!(guild_id, group_id, new, "group channel made again");
        tell_admins(app, guild_id, &view::channel_remade(&g.name, new)).await;
        super::directory::refresh(app, guild_id).await;
        return Ok(Some(line));
    }
    if let Some(bucket) = rc::bucket_of_category(&mut tx, guild_id, channel_id).await? {
        let bucket = Bucket::from_key(&bucket).ok_or("unknown bucket")?;
        if !policy.repairs_structure() {
            let line = format!("The **{}** category was deleted in Discord.", bucket.label());
            audit::record(&mut tx, &guild_entry(guild_id, "reconcile.reported", &line)).await?;
            tx.commit().await?;
            tell_admins(app, guild_id, &view::notice(policy, std::slice::from_ref(&line))).await;
            return Ok(Some(line));
        }
        let mut journal = Journal::default();
        let made = async {
            // Makes it again and moves the bucket's channels back into it.
            super::groups::ensure_category(app, guild_id, bucket, &mut journal).await.map_err(|e| e.to_string())
        }
        .await;
        let category = match made {
            Ok(c) => c,
            Err(e) => {
                drop(tx);
                journal.undo(app, "Guildhall: undoing a category repair that failed").await;
                let line =
                    view::failed_line(&format!("The **{}** category was deleted in Discord", bucket.label()), &e);
                record_failure(app, guild_id, None, &line).await;
                tell_admins(app, guild_id, &view::notice(policy, std::slice::from_ref(&line))).await;
                return Err(e.into());
            }
        };
        let line = format!(
            "The **{}** category was deleted in Discord; I made it again and moved its group channels back.",
            bucket.label()
        );
        audit::record(&mut tx, &guild_entry(guild_id, repaired("reconcile.category_remade"), &line)).await?;
        if let Err(e) = tx.commit().await {
            journal.undo(app, "Guildhall: undoing a category repair that failed").await;
            return Err(e.into());
        }
        info!(guild_id, category, "bucket category made again");
        tell_admins(app, guild_id, &line).await;
        return Ok(Some(line));
    }
    let configured = rc::configured_as(&mut tx, guild_id, channel_id).await?;
    if configured.is_empty() {
        tx.commit().await?;
        return Ok(None);
    }
    let labels: Vec<&str> = configured.iter().map(|c| c.label()).collect();
    let line = if policy.repairs_structure() {
        for c in &configured {
            rc::clear_configured(&mut tx, guild_id, *c).await?;
        }
        view::configured_cleared(&labels)
    } else {
        format!("The {} was deleted in Discord.", labels.join(" and "))
    };
    audit::record(&mut tx, &guild_entry(guild_id, repaired("reconcile.config_channel_deleted"), &line)).await?;
    tx.commit().await?;
    if configured.contains(&ConfigChannel::Requests) && policy.repairs_structure() {
        info!(guild_id, "requests channel deleted; requests now reach leaders another way");
    }
    tell_admins(app, guild_id, &view::notice(policy, std::slice::from_ref(&line))).await;
    Ok(Some(line))
}

fn guild_entry<'a>(guild_id: u64, action: &'a str, reason: &'a str) -> audit::Entry<'a> {
    audit::Entry::guild(guild_id, action).because(reason)
}

// ---- The full pass.

/// What a pass found and, when it applied them, did.
#[derive(Debug, Default)]
pub struct PassReport {
    pub findings: Vec<Finding>,
    pub counts: Counts,
    /// Lines of what was done (or, for a dry run, would be).
    pub lines: Vec<String>,
    /// Skipped: another process held the pass, or already ran one this session.
    pub skipped: bool,
}

/// After a READY (start-up or a new gateway session), for each guild: the
/// full pass under the server's policy, once across processes (a lock; a
/// pass another process finished after `session_start` counts).
pub async fn after_session(app: &App, guild_id: u64, session_start: chrono::DateTime<chrono::Utc>) {
    match pass(app, guild_id, Trigger::Session, None, None, Some(session_start)).await {
        Ok(r) if r.skipped => info!(guild_id, "reconcile pass skipped: another process ran it"),
        Ok(r) => info!(guild_id, found = r.counts.found, repaired = r.counts.repaired, "reconcile pass done"),
        Err(e) => warn!(guild_id, error = %e, "the reconcile pass failed"),
    }
}

/// Compare Postgres with the guild (roles, channels, categories, configured
/// channels, then every member a page at a time) and, unless it is a dry
/// run, repair or report each difference under `policy` (the server's when
/// None). `session_start`: skip when another process passed since then.
pub async fn pass(
    app: &App,
    guild_id: u64,
    trigger: Trigger,
    actor: Option<u64>,
    policy: Option<Policy>,
    session_start: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<PassReport, BoxError> {
    let apply = trigger != Trigger::DryRun;
    // One pass per guild at a time across processes: a session-level lock
    // on a connection held for the whole pass.
    let mut lock_conn = app.pool.acquire().await?;
    if apply && !rc::try_lock_pass(&mut lock_conn, guild_id).await? {
        return Ok(PassReport { skipped: true, ..Default::default() });
    }
    let result = async {
        if let Some(since) = session_start {
            if rc::passed_since(&mut lock_conn, guild_id, since).await? {
                return Ok(PassReport { skipped: true, ..Default::default() });
            }
        }
        let policy = match policy {
            Some(p) => p,
            None => rc::policy(&mut lock_conn, guild_id).await?,
        };
        let run = rc::start_run(&mut lock_conn, guild_id, trigger, actor, policy, app.clock.now()).await?;
        let findings = find(app, guild_id, policy).await?;
        let mut report =
            PassReport { counts: Counts { found: findings.len() as i32, ..Default::default() }, ..Default::default() };
        for f in &findings {
            if !apply {
                report.lines.push(format!("{} → {}", f.what, f.action));
                continue;
            }
            match apply_finding(app, guild_id, policy, f).await {
                Ok(Applied::Repaired(l)) => {
                    report.counts.repaired += 1;
                    report.lines.push(l);
                }
                Ok(Applied::Reported(l)) => {
                    report.counts.reported += 1;
                    report.lines.push(l);
                }
                Ok(Applied::Nothing) => {}
                Err(e) => {
                    report.counts.failed += 1;
                    report.lines.push(view::failed_line(&f.what, &e.to_string()));
                }
            }
        }
        let summary = report.lines.join("\n");
        rc::finish_run(&mut lock_conn, run, report.counts, &summary, app.clock.now()).await?;
        report.findings = findings;
        Ok::<_, BoxError>(report)
    }
    .await;
    if apply {
        let _ = rc::unlock_pass(&mut lock_conn, guild_id).await;
    }
    result
}

enum Applied {
    Repaired(String),
    Reported(String),
    Nothing,
}

async fn apply_finding(app: &App, guild_id: u64, policy: Policy, f: &Finding) -> Result<Applied, BoxError> {
    let structural = |line: Option<String>| match line {
        Some(l) if policy.repairs_structure() => Applied::Repaired(l),
        Some(l) => Applied::Reported(l),
        None => Applied::Nothing,
    };
    Ok(match &f.kind {
        FindingKind::Member { user_id } => {
            let out = reconcile_member(app, guild_id, *user_id, policy).await?;
            if let Some(e) = out.failed.first() {
                return Err(e.clone().into());
            }
            match (out.repaired.is_empty(), out.reported.is_empty()) {
                (false, _) => Applied::Repaired(out.repaired.join("; ")),
                (true, false) => Applied::Reported(out.reported.join("; ")),
                (true, true) => Applied::Nothing,
            }
        }
        FindingKind::Left { user_id } => {
            member_left(app, guild_id, *user_id).await?;
            Applied::Repaired(f.what.clone())
        }
        FindingKind::Back { user_id } => {
            member_returned(app, guild_id, *user_id).await?;
            Applied::Repaired(f.what.clone())
        }
        FindingKind::RoleMissing { role_id, .. } | FindingKind::NotifyRoleMissing { role_id, .. } => {
            structural(role_deleted(app, guild_id, *role_id).await?)
        }
        FindingKind::RoleUnsafe { role_id, .. } => match role_changed(app, guild_id, *role_id).await? {
            Some(l) => Applied::Reported(l),
            None => Applied::Nothing,
        },
        FindingKind::ChannelMissing { channel_id, .. }
        | FindingKind::CategoryMissing { channel_id }
        | FindingKind::ConfiguredMissing { channel_id } => {
            structural(channel_deleted(app, guild_id, *channel_id, None).await?)
        }
        FindingKind::RegrantPending { group_id } => {
            let n = regrant(app, guild_id, *group_id).await?;
            Applied::Repaired(format!("{} ({n} given)", f.what))
        }
    })
}

/// Every difference between Postgres and the guild, found without changing
/// anything. Members are read a page (1,000) at a time and compared with the
/// memberships in that page's id range, so the guild is never held in
/// memory.
pub async fn find(app: &App, guild_id: u64, policy: Policy) -> Result<Vec<Finding>, BoxError> {
    let mut out = Vec::new();
    let h = app.hierarchy.load(&app.http, guild_id, app.bot_id).await?;
    let mut conn = app.pool.acquire().await?;
    let groups = rc::group_roles(&mut conn, guild_id).await?;
    let structure = if policy.repairs_structure() { "make it again" } else { "only report it" };
    for g in &groups {
        match h.role(g.role_id) {
            None => out.push(Finding {
                what: format!("The role of **{}** is gone", g.name),
                action: format!("{structure} and give it back to the members"),
                kind: FindingKind::RoleMissing { group_id: g.group_id, role_id: g.role_id },
            }),
            Some(role) => {
                if let Err(p) = role_safety::grantable(role, h.bot_top) {
                    out.push(Finding {
                        what: format!("The role of **{}**: {p}", g.name),
                        action: "report it".into(),
                        kind: FindingKind::RoleUnsafe { group_id: g.group_id, role_id: g.role_id },
                    });
                }
            }
        }
        if g.regrant_pending && h.role(g.role_id).is_some() {
            out.push(Finding {
                what: format!("The role of **{}** was made again and not every member has it yet", g.name),
                action: "give it to the rest".into(),
                kind: FindingKind::RegrantPending { group_id: g.group_id },
            });
        }
    }
    for (group_id, role_id) in rc::notify_roles(&mut conn, guild_id).await? {
        if h.role(role_id).is_none() {
            let name = groups.iter().find(|g| g.group_id == group_id).map(|g| g.name.clone()).unwrap_or_default();
            out.push(Finding {
                what: format!("The notification role of **{name}** is gone"),
                action: structure.into(),
                kind: FindingKind::NotifyRoleMissing { group_id, role_id },
            });
        }
    }
    let channels = dg::channels(&app.http, guild_id).await?;
    for (e, id) in rc::expected_channels(&mut conn, guild_id).await? {
        if channels.iter().any(|c| c.id == id) {
            continue;
        }
        out.push(match e {
            Expected::GroupChannel(group_id) => {
                let name = groups.iter().find(|g| g.group_id == group_id).map(|g| g.name.clone()).unwrap_or_default();
                Finding {
                    what: format!("The channel of **{name}** is gone"),
                    action: structure.into(),
                    kind: FindingKind::ChannelMissing { group_id, channel_id: id },
                }
            }
            Expected::Category(bucket) => Finding {
                what: format!(
                    "The **{}** category is gone",
                    Bucket::from_key(&bucket).map(|b| b.label()).unwrap_or("?")
                ),
                action: format!("{structure} and move its group channels back"),
                kind: FindingKind::CategoryMissing { channel_id: id },
            },
            Expected::Configured(c) => Finding {
                what: format!("The {} is gone", c.label()),
                action: if policy.repairs_structure() { "forget the setting".into() } else { "only report it".into() },
                kind: FindingKind::ConfiguredMissing { channel_id: id },
            },
        });
    }
    // Members, a page at a time.
    let mut after = 0u64;
    loop {
        let page = dg::members_page(&app.http, guild_id, after).await?;
        let last_page = (page.len() as u64) < dg::MEMBER_PAGE;
        let upto = if last_page { None } else { page.last().map(|m| m.user_id) };
        let known = rc::members_in_range(&mut conn, guild_id, after, upto).await?;
        let ids: Vec<u64> = page.iter().filter(|m| !m.bot).map(|m| m.user_id).collect();
        let standings = rc::standings_of(&mut conn, guild_id, &ids).await?;
        for k in &known {
            let present = page.iter().any(|m| m.user_id == k.user_id);
            if !present && k.active {
                out.push(Finding {
                    what: format!("<@{}> is no longer in the server", k.user_id),
                    action: "keep their memberships away, withdraw their requests".into(),
                    kind: FindingKind::Left { user_id: k.user_id },
                });
            } else if present && k.departed {
                out.push(Finding {
                    what: format!("<@{}> came back to the server", k.user_id),
                    action: "give their groups back".into(),
                    kind: FindingKind::Back { user_id: k.user_id },
                });
            }
        }
        for m in page.iter().filter(|m| !m.bot) {
            if known.iter().any(|k| k.user_id == m.user_id && k.departed) {
                continue; // coming back: handled above
            }
            let mine: Vec<rc::Standing> = standings.iter().filter(|(u, _)| *u == m.user_id).map(|(_, s)| *s).collect();
            let mut drifts = rc::member_drift(&groups, &mine, &m.roles);
            // Members of a group whose role is gone are the role's repair.
            drifts.retain(|d| groups.iter().any(|g| g.group_id == d.group_id() && h.role(g.role_id).is_some()));
            if drifts.is_empty() {
                continue;
            }
            let lines: Vec<String> = drifts
                .iter()
                .filter_map(|d| {
                    let g = groups.iter().find(|g| g.group_id == d.group_id())?;
                    Some(view::member_line(m.user_id, &g.name, *d, rc::repair(*d, policy)))
                })
                .collect();
            let actions: Vec<&str> = drifts.iter().map(|d| rc::repair(*d, policy).describe()).collect();
            out.push(Finding {
                what: lines.join("; "),
                action: actions.join(", "),
                kind: FindingKind::Member { user_id: m.user_id },
            });
        }
        match page.last() {
            Some(m) if !last_page => after = m.user_id,
            _ => break,
        }
    }
    Ok(out)
}
