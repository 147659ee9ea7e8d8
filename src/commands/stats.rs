//! `/stats` (admins), `/group stats` (a group's leaders and admins) and
//! `/export` (admins): O2. Charts and files are made in `render`, from
//! figures and rows read in `domain`.

use super::{author_is_admin, autocomplete_group, find_group, guild_id, require_admin};
use crate::domain::stats::Period;
use crate::render;
use crate::replies::{send_files, Upload};
use crate::service::stats::StatsError;
use crate::types::{Context, Error};
use crate::views::group_page::View;
use crate::views::stats as sv;

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum PeriodChoice {
    #[name = "30 days"]
    Days30,
    #[name = "90 days"]
    Days90,
    #[name = "365 days"]
    Days365,
}

impl From<Option<PeriodChoice>> for Period {
    fn from(p: Option<PeriodChoice>) -> Period {
        match p {
            None | Some(PeriodChoice::Days30) => Period::Days30,
            Some(PeriodChoice::Days90) => Period::Days90,
            Some(PeriodChoice::Days365) => Period::Days365,
        }
    }
}

/// The chart (drawn off the runtime's threads) and the figures as text.
async fn answer(ctx: Context<'_>, title: String, figures: crate::domain::stats::Figures) -> Result<(), Error> {
    let (t, f) = (title.clone(), figures.clone());
    let png = tokio::task::spawn_blocking(move || render::chart::png(&t, &f)).await??;
    let chart = Upload { name: sv::CHART_FILE.to_string(), bytes: png, description: Some(sv::alt_text(&title)) };
    send_files(ctx, View::embed(sv::embed(&title, &figures), vec![]), vec![chart]).await
}

/// Charts of this server's members, requests and notifications, with the figures (admins).
#[poise::command(slash_command, guild_only, ephemeral, default_member_permissions = "MANAGE_GUILD")]
pub async fn stats(
    ctx: Context<'_>,
    #[description = "How far back to look (30 days unless chosen)"] period: Option<PeriodChoice>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    crate::replies::defer_command(ctx).await?;
    let period = Period::from(period);
    let figures = crate::service::stats::server(&ctx.data().app, guild, period).await?;
    answer(ctx, format!("Server stats · last {} days", period.days()), figures).await
}

/// Charts of a group's members, requests and notifications, with the figures (its leaders and admins).
#[poise::command(slash_command, guild_only, ephemeral, rename = "stats")]
pub async fn group_stats(
    ctx: Context<'_>,
    #[description = "The group"]
    #[autocomplete = "autocomplete_group"]
    group: String,
    #[description = "How far back to look (30 days unless chosen)"] period: Option<PeriodChoice>,
) -> Result<(), Error> {
    let g = find_group(ctx, &group).await?;
    let admin = author_is_admin(ctx).await?;
    crate::replies::defer_command(ctx).await?;
    let period = Period::from(period);
    let figures = crate::service::stats::group(&ctx.data().app, &g, ctx.author().id.get(), admin, period)
        .await
        .map_err(|e| match e {
            StatsError::NotAllowed => crate::error::user(e.to_string()),
            StatsError::Db(e) => Box::new(e) as Error,
        })?;
    answer(ctx, format!("{} · last {} days", g.name, period.days()), figures).await
}

/// What an unboosted server allows when an interaction does not say.
const DEFAULT_ATTACHMENT_LIMIT: usize = 10 * 1024 * 1024;

/// Download this server's groups, memberships, requests and audit trail as CSV files (admins).
#[poise::command(slash_command, guild_only, ephemeral, default_member_permissions = "MANAGE_GUILD")]
pub async fn export(ctx: Context<'_>) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    crate::replies::defer_command(ctx).await?;
    // The largest file Discord takes in this server (it grows with boosts).
    let limit = match ctx {
        poise::Context::Application(a) => a.interaction.attachment_size_limit as usize,
        poise::Context::Prefix(_) => 0,
    };
    let limit = if limit == 0 { DEFAULT_ATTACHMENT_LIMIT } else { limit };
    let files = crate::service::export::files(&ctx.data().app, guild, limit).await?;
    let messages = render::tables::messages(files);
    let parts = messages.len();
    for (i, m) in messages.into_iter().enumerate() {
        let names: Vec<String> = m.iter().map(|f| f.name.clone()).collect();
        let rows = m.iter().map(|f| f.rows).sum();
        let line = sv::export_part("this server", i + 1, parts, &names, rows);
        let files = m.into_iter().map(|f| Upload { name: f.name, bytes: f.bytes, description: None }).collect();
        send_files(ctx, View::text(line), files).await?;
    }
    Ok(())
}
