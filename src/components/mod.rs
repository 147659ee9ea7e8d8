//! Buttons, selects and modals, dispatched by custom id from one global
//! handler so they keep working after a restart (N2).
//!
//! A custom id names what it acts on (a database row, a page) and nothing
//! else; the handler looks it up again and re-checks who may use it. A
//! custom id that does not parse, or names something gone, is refused.

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
}

impl CustomId {
    pub fn encode(&self) -> String {
        match self {
            CustomId::DirectoryPage { bucket, page } => {
                format!("gh:dir:{}:{page}", bucket.map(|b| b.key()).unwrap_or("all"))
            }
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
            _ => None,
        }
    }
}

/// Handle a component interaction; every outcome answers it exactly once.
pub async fn handle(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction) {
    let _guard = data.inflight.enter();
    let result = match CustomId::parse(&i.data.custom_id) {
        Some(CustomId::DirectoryPage { bucket, page }) => directory_page(ctx, data, i, bucket, page).await,
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

async fn refuse(ctx: &SerenityContext, i: &ComponentInteraction, msg: &str) -> Result<(), crate::types::Error> {
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
        ] {
            assert_eq!(CustomId::parse(bad), None, "{bad:?}");
        }
    }
}
