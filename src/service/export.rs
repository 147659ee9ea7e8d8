//! `/export` (O2): one server's groups, memberships, requests and audit
//! trail as CSV files within the attachment limit Discord gives the
//! interaction, grouped into messages (`render::tables`).

use super::App;
use crate::domain::export;
use crate::render::tables::{self, id, text, time, File, Table};

/// Every table of `guild_id`, as files of at most `limit` bytes each.
pub async fn files(app: &App, guild_id: u64, limit: usize) -> Result<Vec<File>, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    let groups = export::groups(&mut conn, guild_id).await?;
    let memberships = export::memberships(&mut conn, guild_id).await?;
    let requests = export::requests(&mut conn, guild_id).await?;
    let audit = export::audit(&mut conn, guild_id).await?;
    drop(conn);
    let tables = [
        Table {
            name: "groups",
            header: &[
                "id",
                "name",
                "bucket",
                "visibility",
                "description",
                "criteria",
                "role_id",
                "channel_id",
                "created_by",
                "created_at",
                "archived_at",
                "members",
                "leaders",
            ],
            rows: groups
                .into_iter()
                .map(|g| {
                    (
                        g.created_at,
                        vec![
                            g.id.to_string(),
                            text(&g.name),
                            g.bucket,
                            g.visibility,
                            text(&g.description),
                            text(&g.criteria),
                            id(g.role_id),
                            id(g.channel_id),
                            g.created_by.to_string(),
                            time(Some(g.created_at)),
                            time(g.archived_at),
                            g.members.to_string(),
                            g.leaders,
                        ],
                    )
                })
                .collect(),
        },
        Table {
            name: "memberships",
            header: &["group_id", "group", "user_id", "joined_at", "away_since"],
            rows: memberships
                .into_iter()
                .map(|m| {
                    (
                        m.joined_at,
                        vec![
                            m.group_id.to_string(),
                            text(&m.group_name),
                            m.user_id.to_string(),
                            time(Some(m.joined_at)),
                            time(m.away_since),
                        ],
                    )
                })
                .collect(),
        },
        Table {
            name: "requests",
            header: &[
                "id",
                "group_id",
                "group",
                "user_id",
                "status",
                "message",
                "created_at",
                "decided_by",
                "decided_at",
                "reason",
            ],
            rows: requests
                .into_iter()
                .map(|r| {
                    (
                        r.created_at,
                        vec![
                            r.id.to_string(),
                            r.group_id.to_string(),
                            text(&r.group_name),
                            r.user_id.to_string(),
                            r.status,
                            text(r.message.as_deref().unwrap_or_default()),
                            time(Some(r.created_at)),
                            id(r.decided_by),
                            time(r.decided_at),
                            text(r.reason.as_deref().unwrap_or_default()),
                        ],
                    )
                })
                .collect(),
        },
        Table {
            name: "audit",
            header: &["id", "created_at", "actor_id", "subject_id", "group_id", "group", "action", "reason", "detail"],
            rows: audit
                .into_iter()
                .map(|a| {
                    (
                        a.created_at,
                        vec![
                            a.id.to_string(),
                            time(Some(a.created_at)),
                            id(a.actor_id),
                            id(a.subject_id),
                            id(a.group_id),
                            text(a.group_name.as_deref().unwrap_or_default()),
                            a.action,
                            text(a.reason.as_deref().unwrap_or_default()),
                            text(a.detail.as_deref().unwrap_or_default()),
                        ],
                    )
                })
                .collect(),
        },
    ];
    Ok(tables.iter().flat_map(|t| tables::files(t, limit)).collect())
}
