//! `/stats` and `/group stats` (O2): who may see a group's figures, and the
//! figures themselves (`domain::stats`), read at the bot's clock.

use super::App;
use crate::domain::group::Group;
use crate::domain::stats::{self, Figures, Period, Scope};

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// Neither an admin nor one of the group's leaders.
    #[error("Only this group's leaders and admins can see its stats.")]
    NotAllowed,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The server's figures (the caller checked the admin rule).
pub async fn server(app: &App, guild_id: u64, period: Period) -> Result<Figures, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    stats::figures(&mut conn, guild_id, Scope::Guild, period, app.clock.now()).await
}

/// A group's figures, for its leaders and admins (`admin`: the admin rule,
/// as the interaction's member satisfies it).
pub async fn group(app: &App, g: &Group, user_id: u64, admin: bool, period: Period) -> Result<Figures, StatsError> {
    let mut conn = app.pool.acquire().await?;
    let leads = crate::domain::membership::is_leader(&mut conn, g.id, user_id).await?;
    if !crate::auth::may_see_group_stats(admin, leads) {
        return Err(StatsError::NotAllowed);
    }
    Ok(stats::figures(&mut conn, g.guild_id, Scope::Group(g.id), period, app.clock.now()).await?)
}
