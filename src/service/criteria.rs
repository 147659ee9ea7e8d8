//! `/group criteria` (R1): an admin changes a group's automatic criteria.
//! The criteria are read, amended by the domain's rules and written back in
//! one transaction that holds the group's row, so two admins changing them
//! at once never lose one another's roles.

use super::App;
use crate::domain::audit;
use crate::domain::group::{self, Group};
use crate::domain::request::{self as domain, Criteria, CriteriaChange, CriteriaRefusal};
use crate::views::request::criteria_summary;

#[derive(Debug, thiserror::Error)]
pub enum CriteriaError {
    #[error(transparent)]
    Refused(#[from] CriteriaRefusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Apply `change` to the group's criteria, audited; returns the criteria
/// now in force. A refused change changes nothing.
pub async fn change(app: &App, g: &Group, actor: u64, change: &CriteriaChange) -> Result<Criteria, CriteriaError> {
    let mut tx = app.pool.begin().await?;
    group::lock(&mut tx, g.id).await?;
    let now = domain::criteria(&mut tx, g.id).await?.amended(change, g.guild_id)?;
    domain::set_criteria(&mut tx, g.id, &now).await?;
    let summary = criteria_summary(&now);
    audit::record(
        &mut tx,
        &audit::Entry::guild(g.guild_id, "group.criteria").actor(actor).group(g.id).because(&summary),
    )
    .await?;
    tx.commit().await?;
    Ok(now)
}
