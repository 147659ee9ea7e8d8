//! `/reconcile` (A5, admins): a dry run that lists every difference between
//! Guildhall's records and the server, with an *Apply* button.

use super::{guild_id, require_admin};
use crate::custom_id::CustomId;
use crate::domain::reconcile::{Policy, Trigger};
use crate::replies::send_view;
use crate::service::reconcile;
use crate::types::{Context, Error};
use crate::views::group_page::View;

/// A policy as a slash-command choice.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum PolicyChoice {
    #[name = "follow: the membership follows a hand change of the role"]
    Follow,
    #[name = "restore: the role is put back as Guildhall's records say"]
    Restore,
    #[name = "report: change nothing, tell admins"]
    Report,
}

impl From<PolicyChoice> for Policy {
    fn from(c: PolicyChoice) -> Policy {
        match c {
            PolicyChoice::Follow => Policy::Follow,
            PolicyChoice::Restore => Policy::Restore,
            PolicyChoice::Report => Policy::Report,
        }
    }
}

/// The policy *Apply* repairs with: the one asked for, else the server's;
/// a server on `report` repairs as `follow` when an admin asks explicitly.
pub fn apply_policy(asked: Option<Policy>, server: Policy) -> Policy {
    match (asked, server) {
        (Some(p), _) => p,
        (None, Policy::Report) => Policy::Follow,
        (None, p) => p,
    }
}

/// Compare Guildhall's records with the server and list the differences (admins).
#[poise::command(slash_command, guild_only, ephemeral, default_member_permissions = "MANAGE_GUILD")]
pub async fn reconcile(
    ctx: Context<'_>,
    #[description = "Repair as this policy would (default: the server's)"] policy: Option<PolicyChoice>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    crate::replies::defer_command(ctx).await?;
    let app = &ctx.data().app;
    let server = crate::domain::reconcile::policy(&mut *app.pool.acquire().await?, guild).await?;
    let policy = apply_policy(policy.map(Into::into), server);
    let report = reconcile::pass(app, guild, Trigger::DryRun, Some(ctx.author().id.get()), Some(policy), None).await?;
    let apply = CustomId::ReconcileApply { policy }.encode();
    let (embed, rows) = crate::views::reconcile::dry_run(policy, server, &report.lines, &apply);
    send_view(ctx, View::embed(embed, rows)).await
}
