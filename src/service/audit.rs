//! Reading the audit trail (A2), a page at a time.

use super::App;
use crate::domain::audit::{self, Filter};
use crate::domain::group;

pub const PAGE_SIZE: i64 = 10;

pub use crate::domain::audit::AuditPage;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("That group no longer exists.")]
    NoSuchGroup,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Page `page` of the entries matching `filter`, newest first. Without an
/// `upto`, the page is pinned to the newest entry now, so later pages do not
/// shift as entries arrive.
pub async fn page(app: &App, guild_id: u64, mut filter: Filter, page: u32) -> Result<AuditPage, AuditError> {
    let mut conn = app.pool.acquire().await?;
    let group_name = match filter.group_id {
        Some(id) => Some(group::get(&mut conn, guild_id, id).await?.ok_or(AuditError::NoSuchGroup)?.name),
        None => None,
    };
    if filter.upto.is_none() {
        filter.upto = Some(audit::newest_id(&mut conn, guild_id).await?);
    }
    let total = audit::count(&mut conn, guild_id, &filter).await?;
    let pages = (total.max(1) as u64).div_ceil(PAGE_SIZE as u64) as u32;
    let page = page.min(pages - 1);
    let entries = audit::page(&mut conn, guild_id, &filter, page as i64 * PAGE_SIZE, PAGE_SIZE).await?;
    Ok(AuditPage { filter, group_name, entries, total, page, pages })
}
