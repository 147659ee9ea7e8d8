//! Subscriptions (S2, S4): toggling what a member follows, "My
//! Subscriptions", and deleting some or all of them. Group subscriptions keep
//! the group's notification role in step (`notify::sync_member`).

use super::App;
use crate::domain::group::{self, Group, Visibility};
use crate::domain::membership::PageFacts;
use crate::domain::subscription::{self, Item, Kind};
use crate::domain::{audit, membership};

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("no such group")]
    NoGroup,
    #[error("the group {0} is archived")]
    Archived(String),
    #[error("{0}: a closed group the member is not in")]
    CannotSee(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

async fn audit_change(
    conn: &mut sqlx::PgConnection,
    guild_id: u64,
    user_id: u64,
    group_id: Option<i64>,
    now: bool,
    what: &str,
) -> Result<(), sqlx::Error> {
    audit::record(
        conn,
        &audit::Entry::guild(guild_id, if now { "subscription.add" } else { "subscription.remove" })
            .actor(user_id)
            .subject(user_id)
            .in_group(group_id)
            .because(what),
    )
    .await
}

/// Toggle a group subscription (`/subscribe group`); returns the group and
/// whether the member now follows it. A closed group is only followed by
/// its members, who can see its channel.
pub async fn toggle_group(
    app: &App,
    guild_id: u64,
    user_id: u64,
    group_id: i64,
) -> Result<(Group, bool), SubscribeError> {
    let (g, now) = toggle_committed(app, guild_id, user_id, group_id).await?;
    super::notify::sync_member(app, &g, user_id).await;
    Ok((g, now))
}

/// The rule (S2), then the toggle committed; the notification role is the
/// caller's to bring in step.
async fn toggle_committed(
    app: &App,
    guild_id: u64,
    user_id: u64,
    group_id: i64,
) -> Result<(Group, bool), SubscribeError> {
    let g = can_toggle(app, guild_id, user_id, group_id).await?;
    let now = super::membership::toggle_group_subscription(app, &g, user_id).await?;
    Ok((g, now))
}

/// The group, if the member may follow it or is following it (S2).
async fn can_toggle(app: &App, guild_id: u64, user_id: u64, group_id: i64) -> Result<Group, SubscribeError> {
    let mut conn = app.pool.acquire().await?;
    let g = group::get(&mut conn, guild_id, group_id).await?.ok_or(SubscribeError::NoGroup)?;
    let following = subscription::is_subscribed(&mut conn, user_id, Kind::Group, g.id).await?;
    if !following {
        if g.archived {
            return Err(SubscribeError::Archived(g.name));
        }
        if g.visibility == Visibility::Closed && !membership::is_member(&mut conn, g.id, user_id).await? {
            return Err(SubscribeError::CannotSee(g.name));
        }
    }
    Ok(g)
}

/// Toggle from the Group Page, and the page to show again: the page is read
/// while the notification role follows (S2), not after it.
pub async fn toggle_group_page(
    app: &App,
    guild_id: u64,
    user_id: u64,
    group_id: i64,
) -> Result<(PageFacts, bool), SubscribeError> {
    let (g, now) = toggle_committed(app, guild_id, user_id, group_id).await?;
    let (facts, ()) = tokio::join!(
        super::membership::page_facts_of(app, g.clone(), user_id),
        super::notify::sync_member(app, &g, user_id)
    );
    Ok((facts?, now))
}

/// Toggle a forum, thread or post subscription. The caller vouches that the
/// member can see it (`/subscribe` runs in the channel, so Discord tells
/// the member's permissions there).
pub async fn toggle(app: &App, guild_id: u64, user_id: u64, kind: Kind, target: u64) -> Result<bool, sqlx::Error> {
    let target = crate::domain::db_id(target);
    let mut tx = app.pool.begin().await?;
    let now = if subscription::unsubscribe(&mut tx, user_id, kind, target).await? {
        false
    } else {
        subscription::subscribe(&mut tx, guild_id, user_id, kind, target).await?
    };
    audit_change(&mut tx, guild_id, user_id, None, now, kind.key()).await?;
    let mention =
        crate::domain::delivery::mode_of(&mut tx, guild_id, user_id).await? == crate::domain::delivery::Mode::Mention;
    tx.commit().await?;
    // Following a thread in mention mode makes the member a thread member:
    // Discord then notifies them of its new messages itself.
    if kind == Kind::Thread && mention {
        super::notifications::sync_thread(app, target as u64, user_id, now).await;
    }
    Ok(now)
}

/// Everything the member follows in the guild.
pub async fn mine(app: &App, guild_id: u64, user_id: u64) -> Result<Vec<Item>, sqlx::Error> {
    subscription::list(&mut *app.pool.acquire().await?, guild_id, user_id).await
}

/// The longest "My Subscriptions" waits for Discord to name the channels
/// and threads of a page; past it they are shown as mentions, which a
/// member's client names itself.
pub const NAMES_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// Everything the member follows (as `mine`), the forums, channels and
/// threads on page `page` of "My Subscriptions" named as Discord has them
/// now: a select's options can't show a mention, only text.
pub async fn page(app: &App, guild_id: u64, user_id: u64, page: usize) -> Result<Vec<Item>, sqlx::Error> {
    let mut items = mine(app, guild_id, user_id).await?;
    let shown = crate::views::subscriptions::page_range(items.len(), page);
    let of = |kind: Kind| -> Vec<u64> {
        items[shown.clone()].iter().filter(|i| i.kind == kind).map(|i| i.target as u64).collect()
    };
    let (channels, threads) = (of(Kind::Forum), of(Kind::Thread));
    if channels.is_empty() && threads.is_empty() {
        return Ok(items);
    }
    let read = crate::discord::channels::names(&app.http, guild_id, &channels, &threads);
    let names = tokio::time::timeout(NAMES_WAIT, read).await.unwrap_or_else(|_| {
        tracing::warn!(guild_id, "Discord took too long to name the followed channels; listed as mentions");
        Default::default()
    });
    for item in &mut items[shown] {
        if matches!(item.kind, Kind::Forum | Kind::Thread) {
            item.channel = names.get(&(item.target as u64)).cloned();
        }
    }
    Ok(items)
}

/// Delete some of the member's own subscriptions (ids of others' are
/// ignored), or all of them; returns how many went.
pub async fn delete(app: &App, guild_id: u64, user_id: u64, ids: Option<&[i64]>) -> Result<usize, sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    let gone = match ids {
        Some(ids) => subscription::delete_own(&mut tx, guild_id, user_id, ids).await?,
        None => subscription::delete_all(&mut tx, guild_id, user_id).await?,
    };
    for (kind, target) in &gone {
        let group = (*kind == Kind::Group).then_some(*target);
        audit_change(&mut tx, guild_id, user_id, group, false, kind.key()).await?;
    }
    let mention =
        crate::domain::delivery::mode_of(&mut tx, guild_id, user_id).await? == crate::domain::delivery::Mode::Mention;
    tx.commit().await?;
    for (kind, target) in &gone {
        match kind {
            Kind::Group => {
                let g = group::get(&mut *app.pool.acquire().await?, guild_id, *target).await?;
                if let Some(g) = g {
                    super::notify::sync_member(app, &g, user_id).await;
                }
            }
            // Following a thread in mention mode made the member a thread
            // member: take them out, or Discord keeps notifying them. (A
            // failure, e.g. an archived thread or no Manage Threads, is
            // logged by `sync_thread`.)
            Kind::Thread if mention => super::notifications::sync_thread(app, *target as u64, user_id, false).await,
            Kind::Thread | Kind::Forum | Kind::Post => {}
        }
    }
    Ok(gone.len())
}
