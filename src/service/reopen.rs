//! A decision that admitted someone (an approved join request, an accepted
//! invitation, an approved lead application) whose role Discord then
//! refused for good (N6). The grant is queued after the decision commits,
//! so a refusal can come after the decider's answer; the applier ends the
//! admission and, in the same transaction, reopens the decision here: the
//! request or application is pending again, the invitation open again while
//! it lives. Then its card shows it and its person is told.

use super::journal::Undo;
use super::App;
use crate::domain::audit;
use crate::domain::group::{self, Group};
use crate::domain::role_sync::{Claimed, Reopens};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A decision reopened, and the group its approval had made from a
/// proposal (its row deleted with the reopening; its role and channel are
/// unmade after the commit).
pub(crate) struct Reopened {
    pub decision: Reopens,
    pub unmade: Option<Group>,
}

/// Reopen `decision` in the undo's transaction, audited with `why`;
/// `None` when it could not be (decided otherwise since, expired).
pub(crate) async fn reopen_in(
    tx: &mut PgConnection,
    decision: Reopens,
    c: &Claimed,
    why: &str,
    now: DateTime<Utc>,
) -> Result<Option<Reopened>, sqlx::Error> {
    let actor = c.actor_id.unwrap_or(c.user_id);
    let mut unmade = None;
    let (reopened, action, what) = match decision {
        Reopens::Request(id) => {
            let note = super::request::approval_failed_note(actor, now);
            (crate::domain::request::reopen(tx, id, &note).await?, "request.approve_failed", format!("request {id}"))
        }
        Reopens::Invitation(id) => {
            (crate::domain::invite::reopen(tx, id, now).await?, "invite.accept_failed", format!("invitation {id}"))
        }
        Reopens::LeadApplication(id) => {
            let reopened = crate::domain::lead::reopen(tx, id).await?;
            if let Some(Some(made)) = reopened {
                // A proposal's group, made by this approval: unmade with it
                // (N5), so the application can be approved again.
                unmade = group::get(tx, c.guild_id, made).await?;
                group::delete(tx, c.guild_id, made).await?;
            }
            (reopened.is_some(), "lead.approve_failed", format!("application {id}"))
        }
    };
    if !reopened {
        return Ok(None);
    }
    let why = format!("{what}: {why}");
    let group = if unmade.is_some() { None } else { Some(c.group_id) };
    let mut entry = audit::Entry::guild(c.guild_id, action).actor(actor).subject(c.user_id).because(&why);
    entry = entry.in_group(group);
    audit::record(tx, &entry).await?;
    Ok(Some(Reopened { decision, unmade }))
}

/// After the reopening committed: a proposal's group is unmade on Discord,
/// the card shows the decision open again and its person is told. Never
/// fails its caller.
pub(crate) async fn reopened(app: &App, r: Reopened, guild_id: u64, g: Option<&Group>) {
    let unmade = r.unmade.as_ref();
    let group = g.or(unmade).map_or("the group", |g| g.name.as_str());
    if let Some(made) = unmade {
        let mut journal = super::journal::Journal::default();
        if let Some(role_id) = made.role_id {
            journal.push(Undo::DeleteRole { guild_id, role_id });
        }
        if let Some(channel_id) = made.channel_id {
            journal.push(Undo::DeleteChannel { guild_id, channel_id });
        }
        journal.undo(app, "Guildhall: the proposal's leader could not be given its role").await;
        super::directory::refresh(app, guild_id).await;
    }
    match r.decision {
        Reopens::Request(id) => super::request::approval_refused(app, guild_id, id, group).await,
        Reopens::Invitation(id) => super::invite::acceptance_refused(app, id, group).await,
        Reopens::LeadApplication(id) => super::lead::approval_refused(app, guild_id, id, group).await,
    }
}
