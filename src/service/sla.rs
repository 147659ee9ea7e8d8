//! The request SLA (R5), run by the background pass: expire requests older
//! than T3 (and tell the requester), alert the admins about those older than
//! T2, remind the leaders of those older than T1. And the `/config
//! request-sla` setting.
//!
//! Each step claims its rows in Postgres (`domain::sla`, `for update skip
//! locked`) and marks them in the same transaction that sends the message,
//! so with two bot processes each reminder, alert and expiry happens once.
//! A transient Discord failure rolls the claim back for the next pass; a
//! permanent one is recorded (audit) and not retried.

use super::App;
use crate::discord::messages::{post_pinging, Mentions};
use crate::discord::{review, DiscordError};
use crate::domain::request::{self as requests, Request, Status};
use crate::domain::sla::{self, Sla, SlaError};
use crate::domain::{audit, group, membership, settings};
use crate::views::request as request_view;
use crate::views::sla as view;
use chrono::{DateTime, Utc};
use tracing::{info, warn};

/// One pass: expiry first (an expired request needs no reminder), then
/// alerts, then reminders. Errors are logged; the next pass retries.
pub async fn pass(app: &App) {
    let now = app.clock.now();
    if let Err(e) = expire(app, now).await {
        warn!(error = %e, "expiring join requests failed");
    }
    if let Err(e) = announce_expired(app).await {
        warn!(error = %e, "telling requesters of expired requests failed");
    }
    if let Err(e) = escalate(app, now).await {
        warn!(error = %e, "alerting admins of overdue join requests failed");
    }
    if let Err(e) = remind(app, now).await {
        warn!(error = %e, "reminding leaders of join requests failed");
    }
}

fn ids(rs: &[Request]) -> Vec<i64> {
    rs.iter().map(|r| r.id).collect()
}

fn id_list(rs: &[Request]) -> String {
    let s: Vec<String> = rs.iter().map(|r| format!("#{}", r.id)).collect();
    let s = s.join(", ");
    s.chars().take(900).collect()
}

/// Remind each group's leaders, in one message per group in its review
/// thread, of the requests that passed T1.
async fn remind(app: &App, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let groups = sla::groups_to_remind(&mut *app.pool.acquire().await?, now).await?;
    for group_id in groups {
        let mut tx = app.pool.begin().await?;
        let due = sla::claim_reminders(&mut tx, group_id, now).await?;
        let Some(first) = due.first() else { continue };
        let guild_id = first.guild_id;
        let Some(g) = group::get(&mut tx, guild_id, group_id).await? else { continue };
        let s = sla::get(&mut tx, guild_id).await?;
        let leaders = membership::leaders(&mut tx, group_id).await?;
        let outcome = match super::request::review_thread(app, &g).await? {
            None => Err("no review thread (no usable requests channel); the leaders see them in /requests".to_string()),
            Some(thread) => {
                let text = view::reminder(&g.name, &leaders, &due, &s, now);
                // One nonce per reminder (its first request is reminded once):
                // a retried send after a lost answer posts it once.
                let nonce = format!("gh-remind-{}", first.id);
                match post_pinging(
                    &app.http,
                    thread,
                    &text,
                    Mentions { users: &leaders, nonce: Some(&nonce), ..Default::default() },
                )
                .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if e.is_transient() => {
                        warn!(group_id, error = %e, "reminder not sent; retrying next pass");
                        continue;
                    }
                    Err(e @ DiscordError::Unknown(..)) => {
                        requests::forget_review_thread(&mut *app.pool.acquire().await?, group_id).await?;
                        warn!(group_id, error = %e, "the review thread is gone; a new one is made next pass");
                        continue;
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        sla::mark_reminded(&mut tx, &ids(&due), now).await?;
        let (action, reason) = match &outcome {
            Ok(()) => ("request.remind", format!("leaders reminded of {}", id_list(&due))),
            Err(why) => ("request.remind_failed", format!("{}: {why}", id_list(&due))),
        };
        audit::record(&mut tx, &audit::Entry::guild(guild_id, action).group(group_id).because(&reason)).await?;
        tx.commit().await?;
        info!(group_id, requests = due.len(), ok = outcome.is_ok(), "leaders reminded of waiting join requests");
    }
    Ok(())
}

/// Alert each server's admins, in one message in the mod channel, of the
/// requests that passed T2. Without a mod channel the alert is recorded and
/// shown in `/config show` and `/requests`.
async fn escalate(app: &App, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let guilds = sla::guilds_to_escalate(&mut *app.pool.acquire().await?, now).await?;
    for guild_id in guilds {
        let mut tx = app.pool.begin().await?;
        let due = sla::claim_escalations(&mut tx, guild_id, now).await?;
        if due.is_empty() {
            continue;
        }
        let s = sla::get(&mut tx, guild_id).await?;
        let outcome = match settings::mod_channel(&mut tx, guild_id).await? {
            None => Err("no mod channel is set".to_string()),
            Some(channel) => {
                let (text, nonce) = (view::escalation(&due, &s, now), format!("gh-alert-{}", due[0].id));
                match post_pinging(&app.http, channel, &text, Mentions { nonce: Some(&nonce), ..Default::default() })
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if e.is_transient() => {
                        warn!(guild_id, error = %e, "escalation not sent; retrying next pass");
                        continue;
                    }
                    Err(e) => Err(format!("the mod channel refused it: {e}")),
                }
            }
        };
        sla::mark_escalated(&mut tx, &ids(&due), now, outcome.is_ok()).await?;
        for r in &due {
            let reason = match &outcome {
                Ok(()) => format!("request {} waited {}; admins alerted", r.id, view::age(r.created_at, now)),
                Err(why) => format!("request {} waited {}; not delivered: {why}", r.id, view::age(r.created_at, now)),
            };
            audit::record(
                &mut tx,
                &audit::Entry::guild(
                    guild_id,
                    if outcome.is_ok() { "request.escalate" } else { "request.escalate_failed" },
                )
                .subject(r.user_id)
                .group(r.group_id)
                .because(&reason),
            )
            .await?;
        }
        tx.commit().await?;
        info!(guild_id, requests = due.len(), delivered = outcome.is_ok(), "overdue join requests escalated");
    }
    Ok(())
}

/// Close the requests that passed T3 as expired, one transaction each, under
/// the same row lock a decider takes: whoever locks first wins, and the
/// other sees the request closed.
async fn expire(app: &App, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    for _ in 0..500 {
        let mut tx = app.pool.begin().await?;
        let Some(r) = sla::claim_expiry(&mut tx, now).await? else { return Ok(()) };
        let s = sla::get(&mut tx, r.guild_id).await?;
        requests::close(&mut tx, r.id, Status::Expired, None, None, now).await?;
        audit::record(
            &mut tx,
            &audit::Entry::guild(r.guild_id, "request.expire").subject(r.user_id).group(r.group_id).because(&format!(
                "request {}: no decision within {}",
                r.id,
                view::hours(s.expire_hours)
            )),
        )
        .await?;
        tx.commit().await?;
        info!(request = r.id, group_id = r.group_id, "join request expired");
    }
    Ok(())
}

/// For each expired request whose requester was not told yet: turn its card
/// off and DM the requester that they may ask again. Closed DMs are
/// recorded (`/requests` shows the expiry).
async fn announce_expired(app: &App) -> Result<(), sqlx::Error> {
    for _ in 0..500 {
        let mut tx = app.pool.begin().await?;
        let Some(r) = sla::claim_expired_unannounced(&mut tx).await? else { return Ok(()) };
        super::request::update_card(app, &r).await;
        let delivered = match review::dm(&app.http, r.user_id, &request_view::outcome_dm(&r)).await {
            Ok(()) => true,
            Err(e) if e.is_transient() => {
                warn!(request = r.id, error = %e, "expiry DM not sent; retrying next pass");
                return Ok(());
            }
            Err(e) => {
                if !matches!(e, DiscordError::DmsClosed) {
                    warn!(request = r.id, error = %e, "could not DM the requester that their request expired");
                }
                false
            }
        };
        requests::set_dm_delivered(&mut tx, r.id, delivered).await?;
        if !delivered {
            audit::record(
                &mut tx,
                &audit::Entry::guild(r.guild_id, "request.expire_dm_failed")
                    .subject(r.user_id)
                    .group(r.group_id)
                    .because(&format!("request {}: the requester's DMs are closed; /requests shows it", r.id)),
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error(transparent)]
    Invalid(#[from] SlaError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What `/config request-sla` changes: each `None` keeps the current value.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlaChange {
    pub remind_hours: Option<i32>,
    pub escalate_hours: Option<i32>,
    pub expire_days: Option<i32>,
    pub cooldown_days: Option<i32>,
    /// Back to the defaults first.
    pub reset: bool,
}

/// The server's SLA.
pub async fn get(app: &App, guild_id: u64) -> Result<Sla, sqlx::Error> {
    sla::get(&mut *app.pool.acquire().await?, guild_id).await
}

/// Apply a change on top of the current SLA, validate the result, store it
/// and audit it as `config.request-sla`. Returns the new SLA.
pub async fn set(app: &App, guild_id: u64, actor: u64, c: &SlaChange) -> Result<Sla, SetError> {
    let mut tx = app.pool.begin().await?;
    let current = if c.reset { sla::DEFAULT } else { sla::get(&mut tx, guild_id).await? };
    let new = Sla {
        remind_hours: c.remind_hours.unwrap_or(current.remind_hours),
        escalate_hours: c.escalate_hours.unwrap_or(current.escalate_hours),
        expire_hours: c.expire_days.map(|d| d.saturating_mul(24)).unwrap_or(current.expire_hours),
        cooldown_days: c.cooldown_days.unwrap_or(current.cooldown_days),
    };
    new.validate()?;
    sla::set(&mut tx, guild_id, &new).await?;
    let detail = format!(
        "remind {} h, alert {} h, expire {} h, cooldown {} days",
        new.remind_hours, new.escalate_hours, new.expire_hours, new.cooldown_days
    );
    super::config::record(&mut tx, guild_id, actor, "config.request-sla", &detail).await?;
    tx.commit().await?;
    Ok(new)
}

/// Pending requests whose alert could not reach the admins (for `/config show`).
pub async fn undelivered(app: &App, guild_id: u64) -> Result<Vec<Request>, sqlx::Error> {
    sla::undelivered_escalations(&mut *app.pool.acquire().await?, guild_id).await
}
