//! Leading a group (L1-L4): applications posted to the mod channel, decided
//! by admins (first decision wins), the applicant told by DM; groups left
//! without a leader flagged to admins once.

use super::decision::{self, Audit, Decidable, Verdict};
use super::groups::{self, CreateError};
use super::journal::Journal;
use super::membership::{self, MembershipError};
use super::App;
use crate::discord::{review, roles, DiscordError};
use crate::domain::group::{self, Group, NewGroup, Visibility};
pub use crate::domain::lead::Pending;
use crate::domain::lead::{self, Answers, Application, ApplyError, Status, Target};
use crate::domain::role_sync::Reopens;
use crate::domain::{audit, settings};
use crate::views::lead as view;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
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
    #[error("only admins decide lead applications")]
    NotAllowed,
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

impl Decidable for Application {
    const TABLE: &'static str = "lead_applications";
    const NOUN: &'static str = "lead application";
    type Error = LeadError;
    type Outcome = Decided;

    fn id(&self) -> i64 {
        self.id
    }

    fn guild_id(&self) -> u64 {
        self.guild_id
    }

    fn is_open(&self, _now: DateTime<Utc>) -> bool {
        self.status == Status::Open
    }

    /// Applications are decided in their server's mod channel only.
    async fn get(conn: &mut PgConnection, guild: Option<u64>, id: i64) -> Result<Option<Self>, sqlx::Error> {
        match guild {
            Some(g) => lead::get(conn, g, id).await,
            None => Ok(None),
        }
    }

    fn not_found() -> LeadError {
        LeadError::NotFound
    }

    fn no_longer_open(self) -> LeadError {
        LeadError::AlreadyClosed(Box::new(self))
    }

    fn grant_refused(e: MembershipError) -> LeadError {
        LeadError::Leader(e)
    }

    /// Update the card; tell the applicant by DM and remember whether the
    /// DM arrived (closed DMs: `/lead status` still shows it).
    async fn announce(app: &App, a: Application, tell: bool) -> Result<Decided, LeadError> {
        if !tell {
            let card_updated = update_card(app, &a).await;
            return Ok(Decided { application: a, card_updated, dm_delivered: false });
        }
        let what = format!("lead application {}", a.id);
        let dm = view::outcome_dm(&a);
        // The card and the applicant's DM are independent Discord calls.
        let (card_updated, told) =
            tokio::join!(update_card(app, &a), super::outcome::tell(app, a.applicant_id, &dm, &what));
        let dm_delivered = match told {
            Ok(()) => true,
            Err(e) => {
                let why = format!("application {}: {e}", a.id);
                let entry = audit::Entry::guild(a.guild_id, "lead.dm_failed").subject(a.applicant_id).because(&why);
                audit::record(&mut *app.pool.acquire().await?, &entry).await?;
                false
            }
        };
        lead::set_dm_delivered(&mut *app.pool.acquire().await?, a.id, dm_delivered).await?;
        Ok(Decided { application: load(app, a.guild_id, a.id).await?, card_updated, dm_delivered })
    }
}

/// An admin's decision (`privileged`: they are one): *Approve*, or
/// *Decline* with a reason (required).
///
/// Approving adds the applicant as a leader of the group, or creates the
/// proposed group as `/group create` does with them as its leader; the
/// group, the leadership and the close are one transaction, and the group's
/// role and channel are journalled, so a failure at any step leaves no group
/// behind and the application open.
struct Decide {
    admin: u64,
    privileged: bool,
    /// `Some(reason)`: declined.
    decline: Option<String>,
}

/// What approving an application made on Discord before the lock: a
/// proposal's group (its row is inserted in the decision's transaction).
#[derive(Default)]
struct Approval {
    proposal: Option<(NewGroup, groups::Made)>,
}

impl Verdict<Application> for Decide {
    type Prepared = Approval;

    fn actor(&self) -> Option<u64> {
        Some(self.admin)
    }

    async fn may_decide(&self, _conn: &mut PgConnection, _a: &Application) -> Result<bool, LeadError> {
        Ok(crate::auth::may_decide_lead(self.privileged))
    }

    fn refused(&self) -> LeadError {
        LeadError::NotAllowed
    }

    /// Approving asks and changes Discord first, holding no connection: the
    /// applicant is still here; a proposal's group is made (role, category,
    /// channel); the group's role is one the bot may grant (A3); the new
    /// leader's overwrite is set. All journalled.
    async fn prepare(&self, app: &App, a: &Application, journal: &mut Journal) -> Result<Approval, LeadError> {
        if self.decline.is_some() {
            return Ok(Approval::default());
        }
        // A member who left can't lead; find out before making anything.
        match roles::member_role_ids(&app.http, a.guild_id, a.applicant_id).await {
            Ok(_) => {}
            Err(DiscordError::Unknown(..)) => return Err(LeadError::ApplicantGone),
            Err(e) => return Err(LeadError::Leader(MembershipError::Discord(e))),
        }
        match &a.target {
            Target::Existing { group_id, .. } => {
                let mut conn = app.pool.acquire().await?;
                let g = group::get(&mut conn, a.guild_id, *group_id).await?.ok_or(LeadError::NoGroup)?;
                if g.archived {
                    return Err(LeadError::Archived);
                }
                let leads = crate::domain::membership::is_leader(&mut conn, g.id, a.applicant_id).await?;
                drop(conn);
                membership::check_grantable(app, &g).await.map_err(LeadError::Leader)?;
                if !leads {
                    membership::leader_overwrite(app, g.channel_id, &g.name, a.applicant_id, journal)
                        .await
                        .map_err(LeadError::Leader)?;
                }
                Ok(Approval { proposal: None })
            }
            Target::Proposal { name, bucket, description } => {
                let new = NewGroup::parse(a.guild_id, self.admin, name, *bucket, Visibility::Open, Some(description))
                    .map_err(|_| LeadError::NameExists)?;
                if group::name_taken(&mut *app.pool.acquire().await?, a.guild_id, &new.name).await? {
                    return Err(LeadError::NameExists);
                }
                let made = groups::provision(app, &new, journal).await.map_err(LeadError::Create)?;
                let name = new.name.as_str().to_string();
                membership::leader_overwrite(app, Some(made.channel_id), &name, a.applicant_id, journal)
                    .await
                    .map_err(LeadError::Leader)?;
                Ok(Approval { proposal: Some((new, made)) })
            }
        }
    }

    async fn apply(
        &self,
        app: &App,
        tx: &mut PgConnection,
        a: &Application,
        now: DateTime<Utc>,
        approval: &Approval,
    ) -> Result<Audit, LeadError> {
        if let Some(reason) = &self.decline {
            lead::close(tx, a.id, Status::Declined, self.admin, Some(reason), None, now).await?;
            let group = match a.target {
                Target::Existing { group_id, .. } => Some(group_id),
                Target::Proposal { .. } => None,
            };
            return Ok(Audit {
                action: "lead.decline",
                subject: Some(a.applicant_id),
                group,
                reason: Some(reason.clone()),
                grant: None,
            });
        }
        let (group_id, created, reopens) = match (&a.target, &approval.proposal) {
            (Target::Existing { group_id, .. }, _) => (*group_id, None, Some(Reopens::LeadApplication(a.id))),
            (Target::Proposal { .. }, Some((new, made))) => {
                let id = groups::record_in(tx, new, *made, "group.create").await.map_err(|e| match e {
                    CreateError::NameTaken => LeadError::NameExists,
                    e => LeadError::Create(e),
                })?;
                // A leader's role refused later unmakes the group with the
                // approval (`reopen`), so the proposal can be approved again.
                (id, Some(id), Some(Reopens::LeadApplication(a.id)))
            }
            (Target::Proposal { .. }, None) => return Err(LeadError::NoGroup),
        };
        let g = group::get(tx, a.guild_id, group_id).await?.ok_or(LeadError::NoGroup)?;
        if g.archived {
            return Err(LeadError::Archived);
        }
        let leader = match membership::add_leader_in(app, tx, &g, self.admin, a.applicant_id, reopens).await {
            Ok(leader) => leader,
            Err(e) => {
                warn!(application = a.id, group_id = g.id, error = %e, "approved applicant could not be made a leader");
                return Err(LeadError::Leader(e));
            }
        };
        lead::close(tx, a.id, Status::Approved, self.admin, None, created, now).await?;
        Ok(Audit {
            action: "lead.approve",
            subject: Some(a.applicant_id),
            group: Some(g.id),
            reason: Some(format!("application {}", a.id)),
            grant: leader.sync,
        })
    }

    /// A leader of an existing group who could not be given its role:
    /// admins read why in the audit trail (a proposed group is gone again).
    async fn failed(&self, app: &App, a: &Application, e: &LeadError) {
        let (LeadError::Leader(e), Target::Existing { group_id, .. }) = (e, &a.target) else { return };
        if let Ok(Some(g)) = async { group::get(&mut *app.pool.acquire().await?, a.guild_id, *group_id).await }.await {
            membership::grant_failed(app, &g, self.admin, a.applicant_id, e).await;
        }
    }

    /// The new leader's notification role and the directory (a new group,
    /// a new member).
    async fn after(&self, app: &App, a: &Application) {
        if self.decline.is_some() {
            return;
        }
        let decided = async {
            let mut conn = app.pool.acquire().await?;
            let Some(a) = lead::get(&mut conn, a.guild_id, a.id).await? else { return Ok(None) };
            let group_id = match a.target {
                Target::Existing { group_id, .. } => Some(group_id),
                Target::Proposal { .. } => a.created_group_id,
            };
            match group_id {
                Some(id) => group::get(&mut conn, a.guild_id, id).await,
                None => Ok(None),
            }
        }
        .await;
        match decided {
            Ok(Some(g)) => membership::admitted(app, &g, a.applicant_id).await,
            Ok(None) => {}
            Err(e) => warn!(application = a.id, error = %e, "could not read the group of an approved application"),
        }
    }
}

/// The applicant withdraws an open application (not told: they know).
struct Withdraw {
    applicant: u64,
}

impl Verdict<Application> for Withdraw {
    type Prepared = ();

    fn actor(&self) -> Option<u64> {
        Some(self.applicant)
    }

    async fn may_decide(&self, _conn: &mut PgConnection, a: &Application) -> Result<bool, LeadError> {
        Ok(a.applicant_id == self.applicant)
    }

    /// Someone else's application is not theirs to see.
    fn refused(&self) -> LeadError {
        LeadError::NotFound
    }

    async fn apply(
        &self,
        _app: &App,
        tx: &mut PgConnection,
        a: &Application,
        now: DateTime<Utc>,
        _prepared: &(),
    ) -> Result<Audit, LeadError> {
        lead::close(tx, a.id, Status::Withdrawn, self.applicant, None, None, now).await?;
        Ok(Audit {
            action: "lead.withdraw",
            subject: Some(self.applicant),
            group: None,
            reason: Some(format!("application {}", a.id)),
            grant: None,
        })
    }

    fn tells(&self) -> bool {
        false
    }
}

/// Whether the application can still be decided by someone who is an admin
/// (`privileged`) or not: before deferring an approval or asking a reason.
pub async fn decidable(app: &App, guild_id: u64, id: i64, privileged: bool) -> Result<Application, LeadError> {
    let check = Decide { admin: 0, privileged, decline: None };
    decision::decidable(app, Some(guild_id), id, &check).await
}

/// Approve (admins, `privileged`). The row stays locked while this happens,
/// so a second admin waits and then learns who decided.
pub async fn approve(app: &App, guild_id: u64, id: i64, admin_id: u64, privileged: bool) -> Result<Decided, LeadError> {
    decision::decide(app, Some(guild_id), id, &Decide { admin: admin_id, privileged, decline: None }).await
}

/// Decline (admins, `privileged`) with a reason (required).
pub async fn decline(
    app: &App,
    guild_id: u64,
    id: i64,
    admin_id: u64,
    privileged: bool,
    reason: &str,
) -> Result<Decided, LeadError> {
    let d = Decide { admin: admin_id, privileged, decline: Some(reason.to_string()) };
    decision::decide(app, Some(guild_id), id, &d).await
}

/// The applicant withdraws an open application.
pub async fn withdraw(app: &App, guild_id: u64, id: i64, user_id: u64) -> Result<Application, LeadError> {
    Ok(decision::decide(app, Some(guild_id), id, &Withdraw { applicant: user_id }).await?.application)
}

/// Discord refused the group's role of an approved applicant after the
/// approval (N6): the application was reopened (`reopen`); its card offers
/// the decision again and the applicant is told. Never fails its caller.
pub(crate) async fn approval_refused(app: &App, guild_id: u64, id: i64, group: &str) {
    let a = match app.pool.acquire().await {
        Ok(mut conn) => lead::get(&mut conn, guild_id, id).await,
        Err(e) => Err(e),
    };
    let a = match a {
        Ok(Some(a)) => a,
        Ok(None) => return,
        Err(e) => return warn!(application = id, error = %e, "could not read a reopened application"),
    };
    update_card(app, &a).await;
    let _ = review::dm(&app.http, a.applicant_id, &view::approval_failed_dm(group)).await;
}

/// Update the card to show the outcome; `false` when it's gone.
async fn update_card(app: &App, a: &Application) -> bool {
    let what = format!("lead application {}", a.id);
    super::outcome::show_on_card(app, (a.mod_channel_id, a.mod_message_id), view::card(a), &what).await
}

/// A member's applications, newest first.
pub async fn status(app: &App, guild_id: u64, user_id: u64) -> Result<Vec<Application>, sqlx::Error> {
    lead::for_applicant(&mut *app.pool.acquire().await?, guild_id, user_id, 10).await
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
