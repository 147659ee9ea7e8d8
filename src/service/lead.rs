//! Leading a group (L1-L4): applications posted to the mod channel, decided
//! by admins (first decision wins), the applicant told by DM; groups left
//! without a leader flagged to admins once.

use super::groups::{self, CreateError};
use super::membership::{self, MembershipError};
use super::App;
use crate::discord::{review, roles, DiscordError};
use crate::domain::group::{self, Group, NewGroup, Visibility};
use crate::domain::lead::{self, Answers, Application, ApplyError, Status, Target};
use crate::domain::{audit, settings};
use crate::views::lead as view;
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    #[error("no such group")]
    NoGroup,
    #[error("the group is archived")]
    Archived,
    #[error("already a leader of the group")]
    AlreadyLeader,
    #[error("a group with the proposed name exists")]
    NameExists,
    #[error("an open application exists")]
    AlreadyOpen(Box<Application>),
    #[error("no such application")]
    NotFound,
    #[error("the application is no longer open")]
    AlreadyClosed(Box<Application>),
    #[error("the applicant left the server")]
    ApplicantGone,
    #[error("making the applicant a leader failed: {0}")]
    Leader(MembershipError),
    #[error("creating the group failed: {0}")]
    Create(CreateError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<ApplyError> for LeadError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::AlreadyOpen(a) => LeadError::AlreadyOpen(a),
            ApplyError::Db(e) => LeadError::Db(e),
        }
    }
}

/// Where an application's card went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    Card {
        channel_id: u64,
        message_id: u64,
    },
    /// No mod channel is configured: the application waits in `/lead pending`.
    NoModChannel,
    /// The configured channel is gone or the bot can't post there.
    ModChannelUnusable,
}

async fn load(app: &App, guild_id: u64, id: i64) -> Result<Application, LeadError> {
    lead::get(&mut *app.pool.acquire().await?, guild_id, id).await?.ok_or(LeadError::NotFound)
}

/// Check an application can be made before the form is shown: the group
/// exists, is active, and the member neither leads it nor has applied.
pub async fn check_can_apply(app: &App, guild_id: u64, user_id: u64, group_id: i64) -> Result<Group, LeadError> {
    let mut conn = app.pool.acquire().await?;
    let g = group::get(&mut conn, guild_id, group_id).await?.ok_or(LeadError::NoGroup)?;
    if g.archived {
        return Err(LeadError::Archived);
    }
    if crate::domain::membership::is_leader(&mut conn, g.id, user_id).await? {
        return Err(LeadError::AlreadyLeader);
    }
    let target = Target::Existing { group_id: g.id, group_name: g.name.clone() };
    if let Some(a) = lead::open_for(&mut conn, guild_id, user_id, &target).await? {
        return Err(LeadError::AlreadyOpen(Box::new(a)));
    }
    Ok(g)
}

/// Store an application, then post it to the mod channel.
pub async fn apply(
    app: &App,
    guild_id: u64,
    user_id: u64,
    target: Target,
    answers: &Answers,
) -> Result<(Application, Posted), LeadError> {
    let mut tx = app.pool.begin().await?;
    let (group_id, target) = match target {
        Target::Existing { group_id, .. } => {
            let g = check_can_apply(app, guild_id, user_id, group_id).await?;
            (Some(g.id), Target::Existing { group_id: g.id, group_name: g.name })
        }
        Target::Proposal { ref name, .. } => {
            let name = crate::domain::text::GroupName::parse(name).map_err(|_| LeadError::NameExists)?;
            if group::name_taken(&mut tx, guild_id, &name).await? {
                return Err(LeadError::NameExists);
            }
            (None, target)
        }
    };
    let id = lead::insert(&mut tx, guild_id, user_id, &target, answers).await?;
    audit::record(
        &mut tx,
        &audit::Entry {
            guild_id,
            actor_id: Some(user_id),
            subject_id: Some(user_id),
            group_id,
            action: "lead.apply",
            reason: Some(&format!("application {id}: {}", target.name())),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    info!(application = id, guild_id, user_id, "lead application stored");
    let a = load(app, guild_id, id).await?;
    let posted = post(app, &a).await?;
    Ok((load(app, guild_id, id).await?, posted))
}

/// Post an application's card (with *Approve* / *Decline*) and a thread for
/// discussion in the mod channel. Nothing is lost when there is no usable
/// mod channel: the row stays open and unposted.
pub async fn post(app: &App, a: &Application) -> Result<Posted, sqlx::Error> {
    let channel = settings::mod_channel(&mut *app.pool.acquire().await?, a.guild_id).await?;
    let Some(channel) = channel else { return Ok(Posted::NoModChannel) };
    let card = view::card(a);
    let message = match review::post_card(&app.http, channel, &card.content, card.embeds, card.components).await {
        Ok(m) => m,
        Err(e) => {
            warn!(application = a.id, channel, error = %e, "could not post a lead application to the mod channel");
            let mut conn = app.pool.acquire().await?;
            audit::record(
                &mut conn,
                &audit::Entry {
                    guild_id: a.guild_id,
                    subject_id: Some(a.applicant_id),
                    action: "lead.post_failed",
                    reason: Some(&format!("application {}: {e}", a.id)),
                    ..Default::default()
                },
            )
            .await?;
            return Ok(Posted::ModChannelUnusable);
        }
    };
    let thread_name = format!("Lead application: {}", a.target.name());
    let thread = match review::start_thread(&app.http, channel, message, &thread_name).await {
        Ok(t) => Some(t),
        Err(e) => {
            warn!(application = a.id, error = %e, "could not start a discussion thread");
            None
        }
    };
    let mut tx = app.pool.begin().await?;
    lead::set_card(&mut tx, a.id, channel, message, thread).await?;
    audit::record(
        &mut tx,
        &audit::Entry {
            guild_id: a.guild_id,
            subject_id: Some(a.applicant_id),
            action: "lead.posted",
            reason: Some(&format!("application {}", a.id)),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Posted::Card { channel_id: channel, message_id: message })
}

/// What a decision did besides changing the row.
#[derive(Debug, Clone)]
pub struct Decided {
    pub application: Application,
    pub card_updated: bool,
    pub dm_delivered: bool,
}

/// Approve: add the applicant as a leader of the group, or create the
/// proposed group as `/group create` does and make them its leader. The row
/// stays locked while this happens, so a second admin waits and then learns
/// who decided.
pub async fn approve(app: &App, guild_id: u64, id: i64, admin_id: u64) -> Result<Decided, LeadError> {
    let mut tx = app.pool.begin().await?;
    let a = lead::lock(&mut tx, guild_id, id).await?.ok_or(LeadError::NotFound)?;
    if a.status != Status::Open {
        return Err(LeadError::AlreadyClosed(Box::new(a)));
    }
    // A member who left can't lead; find out before making anything.
    match roles::member_role_ids(&app.http, guild_id, a.applicant_id).await {
        Ok(_) => {}
        Err(DiscordError::Unknown(..)) => return Err(LeadError::ApplicantGone),
        Err(e) => return Err(LeadError::Leader(MembershipError::Discord(e))),
    }
    let (g, created) = match &a.target {
        Target::Existing { group_id, .. } => {
            let g = group::get(&mut tx, guild_id, *group_id).await?.ok_or(LeadError::NoGroup)?;
            if g.archived {
                return Err(LeadError::Archived);
            }
            (g, None)
        }
        Target::Proposal { name, bucket, description } => {
            let new = NewGroup::parse(guild_id, admin_id, name, *bucket, Visibility::Open, Some(description))
                .map_err(|_| LeadError::NameExists)?;
            let g = groups::create(app, &new).await.map_err(|e| match e {
                CreateError::NameTaken => LeadError::NameExists,
                e => LeadError::Create(e),
            })?;
            let id = g.id;
            (g, Some(id))
        }
    };
    if let Err(e) = membership::add_leader(app, &g, admin_id, a.applicant_id).await {
        warn!(application = id, group_id = g.id, error = %e, "approved applicant could not be made a leader");
        return Err(LeadError::Leader(e));
    }
    lead::close(&mut tx, id, Status::Approved, admin_id, None, created).await?;
    audit::record(
        &mut tx,
        &audit::Entry::of(guild_id, g.id, admin_id, a.applicant_id, "lead.approve")
            .because(&format!("application {id}")),
    )
    .await?;
    tx.commit().await?;
    info!(application = id, group_id = g.id, admin_id, "lead application approved");
    finish(app, guild_id, id).await
}

/// Whether the application can still be decided (before asking a reason).
pub async fn still_open(app: &App, guild_id: u64, id: i64) -> Result<Application, LeadError> {
    let a = load(app, guild_id, id).await?;
    if a.status != Status::Open {
        return Err(LeadError::AlreadyClosed(Box::new(a)));
    }
    Ok(a)
}

/// Decline with a reason (required).
pub async fn decline(app: &App, guild_id: u64, id: i64, admin_id: u64, reason: &str) -> Result<Decided, LeadError> {
    let mut tx = app.pool.begin().await?;
    let a = lead::lock(&mut tx, guild_id, id).await?.ok_or(LeadError::NotFound)?;
    if !lead::close(&mut tx, id, Status::Declined, admin_id, Some(reason), None).await? {
        return Err(LeadError::AlreadyClosed(Box::new(a)));
    }
    audit::record(
        &mut tx,
        &audit::Entry {
            guild_id,
            actor_id: Some(admin_id),
            subject_id: Some(a.applicant_id),
            group_id: match a.target {
                Target::Existing { group_id, .. } => Some(group_id),
                Target::Proposal { .. } => None,
            },
            action: "lead.decline",
            reason: Some(reason),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    finish(app, guild_id, id).await
}

/// The applicant withdraws an open application.
pub async fn withdraw(app: &App, guild_id: u64, id: i64, user_id: u64) -> Result<Application, LeadError> {
    let mut tx = app.pool.begin().await?;
    let a = lead::lock(&mut tx, guild_id, id).await?.ok_or(LeadError::NotFound)?;
    if a.applicant_id != user_id {
        return Err(LeadError::NotFound);
    }
    if !lead::close(&mut tx, id, Status::Withdrawn, user_id, None, None).await? {
        return Err(LeadError::AlreadyClosed(Box::new(a)));
    }
    audit::record(
        &mut tx,
        &audit::Entry {
            guild_id,
            actor_id: Some(user_id),
            subject_id: Some(user_id),
            action: "lead.withdraw",
            reason: Some(&format!("application {id}")),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    let a = load(app, guild_id, id).await?;
    update_card(app, &a).await;
    Ok(a)
}

/// Update the card to show the outcome; `false` when it's gone.
async fn update_card(app: &App, a: &Application) -> bool {
    let what = format!("lead application {}", a.id);
    super::outcome::show_on_card(app, (a.mod_channel_id, a.mod_message_id), view::card(a), &what).await
}

/// After a decision: update the card, tell the applicant by DM, remember
/// whether the DM arrived (closed DMs: `/lead status` still shows it).
async fn finish(app: &App, guild_id: u64, id: i64) -> Result<Decided, LeadError> {
    let a = load(app, guild_id, id).await?;
    let card_updated = update_card(app, &a).await;
    let what = format!("lead application {id}");
    let dm_delivered = match super::outcome::tell(app, a.applicant_id, &view::outcome_dm(&a), &what).await {
        Ok(()) => true,
        Err(e) => {
            let mut conn = app.pool.acquire().await?;
            audit::record(
                &mut conn,
                &audit::Entry {
                    guild_id,
                    subject_id: Some(a.applicant_id),
                    action: "lead.dm_failed",
                    reason: Some(&format!("application {id}: {e}")),
                    ..Default::default()
                },
            )
            .await?;
            false
        }
    };
    lead::set_dm_delivered(&mut *app.pool.acquire().await?, id, dm_delivered).await?;
    let application = load(app, guild_id, id).await?;
    Ok(Decided { application, card_updated, dm_delivered })
}

/// A member's applications, newest first.
pub async fn status(app: &App, guild_id: u64, user_id: u64) -> Result<Vec<Application>, sqlx::Error> {
    lead::for_applicant(&mut *app.pool.acquire().await?, guild_id, user_id, 10).await
}

/// What `/lead pending` shows admins.
pub struct Pending {
    pub mod_channel: Option<u64>,
    pub reposted: usize,
    pub open: Vec<Application>,
    pub leaderless: Vec<(i64, String, bool)>,
}

/// Open applications and leaderless groups; applications that never
/// reached a mod channel are posted now if one is set.
pub async fn pending(app: &App, guild_id: u64) -> Result<Pending, sqlx::Error> {
    let (mod_channel, open) = {
        let mut conn = app.pool.acquire().await?;
        (settings::mod_channel(&mut conn, guild_id).await?, lead::open_in_guild(&mut conn, guild_id).await?)
    };
    let mut reposted = 0;
    if mod_channel.is_some() {
        for a in open.iter().filter(|a| a.mod_message_id.is_none()) {
            if matches!(post(app, a).await?, Posted::Card { .. }) {
                reposted += 1;
            }
        }
    }
    let mut conn = app.pool.acquire().await?;
    Ok(Pending {
        mod_channel,
        reposted,
        open: lead::open_in_guild(&mut conn, guild_id).await?,
        leaderless: lead::leaderless(&mut conn, guild_id).await?,
    })
}

/// A member left the server (GUILD_MEMBER_REMOVE): they no longer lead
/// anything; groups left without a leader are flagged to admins.
pub async fn member_left(app: &App, guild_id: u64, user_id: u64) -> Result<(), sqlx::Error> {
    let led = lead::led_by(&mut *app.pool.acquire().await?, guild_id, user_id).await?;
    for group_id in led {
        let mut tx = app.pool.begin().await?;
        if !crate::domain::membership::remove_leader(&mut tx, group_id, user_id).await? {
            continue;
        }
        audit::record(
            &mut tx,
            &audit::Entry {
                guild_id,
                subject_id: Some(user_id),
                group_id: Some(group_id),
                action: "leader.left_server",
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        let g = group::get(&mut *app.pool.acquire().await?, guild_id, group_id).await?;
        if let Some(g) = g {
            if let Some(ch) = g.channel_id {
                let reason = "Guildhall: leader left the server";
                if let Err(e) = crate::discord::provision::remove_member_overwrite(&app.http, ch, user_id, reason).await
                {
                    warn!(group_id, error = %e, "could not remove a departed leader's channel overwrite");
                }
            }
            flag_if_leaderless(app, &g).await?;
        }
    }
    Ok(())
}

/// Tell admins in the mod channel, once, that a group has no leader. When
/// it can't be posted the claim is released, so `/lead pending` lists the
/// group and a later change tries again.
pub async fn flag_if_leaderless(app: &App, g: &Group) -> Result<bool, sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    if !lead::claim_leaderless_flag(&mut tx, g.id).await? {
        return Ok(false);
    }
    audit::record(
        &mut tx,
        &audit::Entry { guild_id: g.guild_id, group_id: Some(g.id), action: "group.leaderless", ..Default::default() },
    )
    .await?;
    let channel = settings::mod_channel(&mut tx, g.guild_id).await?;
    tx.commit().await?;
    let posted = match channel {
        Some(ch) => match review::post_card(&app.http, ch, &view::leaderless_flag(g), vec![], vec![]).await {
            Ok(_) => true,
            Err(e) => {
                warn!(group_id = g.id, error = %e, "could not flag a leaderless group");
                false
            }
        },
        None => false,
    };
    if !posted {
        lead::clear_leaderless_flag(&mut *app.pool.acquire().await?, g.id).await?;
    }
    Ok(posted)
}
