//! Buttons, selects and modals, dispatched by custom id from one global
//! handler so they keep working after a restart (N2).
//!
//! A custom id names what it acts on (a database row, a page) and nothing
//! else; the handler looks it up again and re-checks who may use it. A
//! custom id that does not parse, or names something gone, is refused.

mod group_delete;

use crate::discord::no_pings;
use crate::domain::group::Bucket;
use crate::types::Data;
use serenity::all::{
    ComponentInteraction, Context as SerenityContext, CreateInteractionResponse, CreateInteractionResponseMessage,
};

/// Everything a component's custom id can say. Encoded as `gh:<kind>:...`,
/// always under Discord's 100-character limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomId {
    /// A page of the directory, for one bucket or all.
    DirectoryPage { bucket: Option<Bucket>, page: u32 },
    /// *Delete group* on a `/group delete` confirmation: `gh:gdel:<group id>`.
    GroupDelete { group_id: i64 },
    /// *Cancel* on the same confirmation: `gh:gdelx:<group id>`.
    GroupDeleteCancel { group_id: i64 },
}

impl CustomId {
    pub fn encode(&self) -> String {
        match self {
            CustomId::DirectoryPage { bucket, page } => {
                format!("gh:dir:{}:{page}", bucket.map(|b| b.key()).unwrap_or("all"))
            }
            CustomId::GroupDelete { group_id } => format!("gh:gdel:{group_id}"),
            CustomId::GroupDeleteCancel { group_id } => format!("gh:gdelx:{group_id}"),
        }
    }

    pub fn parse(s: &str) -> Option<CustomId> {
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            ["gh", "dir", bucket, page] => {
                let bucket = match *bucket {
                    "all" => None,
                    b => Some(Bucket::from_key(b)?),
                };
                let page = page.parse::<u32>().ok().filter(|p| *p < 10_000)?;
                Some(CustomId::DirectoryPage { bucket, page })
            }
            ["gh", "gdel", id] => Some(CustomId::GroupDelete { group_id: row_id(id)? }),
            ["gh", "gdelx", id] => Some(CustomId::GroupDeleteCancel { group_id: row_id(id)? }),
            _ => None,
        }
    }
}

/// A database row id in a custom id: a positive integer, digits only.
fn row_id(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|id| *id > 0)
}

/// Handle a component interaction; every outcome answers it exactly once.
pub async fn handle(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction) {
    let _guard = data.inflight.enter();
    let result = match CustomId::parse(&i.data.custom_id) {
        Some(CustomId::DirectoryPage { bucket, page }) => directory_page(ctx, data, i, bucket, page).await,
        Some(CustomId::GroupDelete { group_id }) => group_delete::confirm(ctx, data, i, group_id).await,
        Some(CustomId::GroupDeleteCancel { group_id }) => group_delete::cancel(ctx, data, i, group_id).await,
        None => {
            tracing::info!(custom_id = %i.data.custom_id, user = i.user.id.get(), "unknown custom id refused");
            refuse(
                ctx,
                i,
                "This button isn't valid (it may be from an older version of the bot). Run the command again.",
            )
            .await
        }
    };
    if let Err(e) = result {
        tracing::warn!(custom_id = %i.data.custom_id, error = %e, "component handler failed");
        let _ = refuse(ctx, i, crate::error::GENERIC).await;
    }
}

pub(crate) async fn refuse(
    ctx: &SerenityContext,
    i: &ComponentInteraction,
    msg: &str,
) -> Result<(), crate::types::Error> {
    let r = CreateInteractionResponseMessage::new()
        .content(format!("Error: {msg}"))
        .ephemeral(true)
        .allowed_mentions(no_pings());
    i.create_response(&ctx.http, CreateInteractionResponse::Message(r)).await?;
    Ok(())
}

async fn directory_page(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    bucket: Option<Bucket>,
    page: u32,
) -> Result<(), crate::types::Error> {
    let Some(guild) = i.guild_id else {
        return refuse(ctx, i, "This only works in a server.").await;
    };
    let list = crate::service::groups::directory(&data.app, guild.get(), bucket).await?;
    let p = crate::views::directory::render(&list, bucket, page as usize);
    let r =
        CreateInteractionResponseMessage::new().embed(p.embed).components(p.components).allowed_mentions(no_pings());
    i.create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(r)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_round_trip_and_stay_short() {
        for id in [
            CustomId::DirectoryPage { bucket: None, page: 0 },
            CustomId::DirectoryPage { bucket: Some(Bucket::Impact), page: 9999 },
            CustomId::GroupDelete { group_id: 1 },
            CustomId::GroupDeleteCancel { group_id: i64::MAX },
        ] {
            let s = id.encode();
            assert!(s.len() <= 100);
            assert_eq!(CustomId::parse(&s), Some(id));
        }
    }

    #[test]
    fn forged_or_malformed_ids_are_refused() {
        for bad in [
            "",
            "gh",
            "gh:dir",
            "gh:dir:all",
            "gh:dir:nope:1",
            "gh:dir:all:-1",
            "gh:dir:all:99999999999",
            "xx:dir:all:1",
            "gh:dir:all:1:extra",
            "gh:gdel",
            "gh:gdel:",
            "gh:gdel:0",
            "gh:gdel:-4",
            "gh:gdel:+4",
            "gh:gdel:4x",
            "gh:gdel:99999999999999999999",
            "gh:gdel:4:5",
            "gh:gdelx:abc",
        ] {
            assert_eq!(CustomId::parse(bad), None, "{bad:?}");
        }
    }
}
