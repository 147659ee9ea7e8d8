//! What a channel an admin configures must be (A1): a text channel of this
//! server in which the bot can see, post and embed.
//!
//! Pure rules over plain numbers (Discord's channel type and the bot's
//! computed permissions in the channel), so they are unit-tested directly.

/// Discord's channel types that matter here.
pub mod kind {
    pub const TEXT: u8 = 0;
    pub const VOICE: u8 = 2;
    pub const CATEGORY: u8 = 4;
    pub const ANNOUNCEMENT: u8 = 5;
    pub const STAGE: u8 = 13;
    pub const FORUM: u8 = 15;
    pub const MEDIA: u8 = 16;
    pub const THREADS: [u8; 3] = [10, 11, 12];
}

pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const EMBED_LINKS: u64 = 1 << 14;
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;

const NAMES: [(u64, &str); 6] = [
    (VIEW_CHANNEL, "View Channel"),
    (SEND_MESSAGES, "Send Messages"),
    (EMBED_LINKS, "Embed Links"),
    (READ_MESSAGE_HISTORY, "Read Message History"),
    (CREATE_PRIVATE_THREADS, "Create Private Threads"),
    (SEND_MESSAGES_IN_THREADS, "Send Messages in Threads"),
];

/// What the bot does in a channel of each use, hence what it needs there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Admin notices and lead applications with buttons.
    Mod,
    /// Join-request cards, in a private thread per group.
    Requests,
    /// The persistent directory message.
    Directory,
}

impl Use {
    pub fn needs(self) -> u64 {
        let base = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY;
        match self {
            Use::Mod | Use::Directory => base,
            Use::Requests => base | CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS,
        }
    }
}

/// A channel as the bot sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFacts {
    pub id: u64,
    /// None for a DM.
    pub guild_id: Option<u64>,
    /// Discord's channel type.
    pub kind: u8,
    /// The bot's permissions in the channel, overwrites applied.
    pub bot_permissions: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelProblem {
    #[error("That channel isn't in this server.")]
    NotInServer,
    #[error("<#{0}> is {1}; pick a text channel.")]
    NotText(u64, &'static str),
    #[error("I can't see <#{0}>. Give my role View Channel there (Edit Channel → Permissions), then try again.")]
    CantSee(u64),
    #[error(
        "I'm missing {1} in <#{0}>. Give my role these permissions there (Edit Channel → Permissions), then try again."
    )]
    Missing(u64, String),
    #[error("That channel no longer exists.")]
    Gone,
}

fn kind_name(k: u8) -> &'static str {
    match k {
        kind::CATEGORY => "a category",
        kind::VOICE => "a voice channel",
        kind::STAGE => "a stage channel",
        kind::ANNOUNCEMENT => "an announcement channel",
        kind::FORUM => "a forum",
        kind::MEDIA => "a media channel",
        k if kind::THREADS.contains(&k) => "a thread",
        _ => "not a text channel",
    }
}

/// Whether the bot can use `c` for `what` in server `guild_id`.
pub fn check(c: &ChannelFacts, guild_id: u64, what: Use) -> Result<(), ChannelProblem> {
    if c.guild_id != Some(guild_id) {
        return Err(ChannelProblem::NotInServer);
    }
    if c.kind != kind::TEXT {
        return Err(ChannelProblem::NotText(c.id, kind_name(c.kind)));
    }
    if c.bot_permissions & VIEW_CHANNEL == 0 {
        return Err(ChannelProblem::CantSee(c.id));
    }
    let missing = what.needs() & !c.bot_permissions;
    if missing != 0 {
        let names: Vec<&str> = NAMES.iter().filter(|(b, _)| missing & b != 0).map(|(_, n)| *n).collect();
        return Err(ChannelProblem::Missing(c.id, names.join(", ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: u8, perms: u64) -> ChannelFacts {
        ChannelFacts { id: 7, guild_id: Some(1), kind, bot_permissions: perms }
    }

    const ALL: u64 = (1 << 51) - 1;

    #[test]
    fn a_text_channel_the_bot_can_post_in_is_fine() {
        assert_eq!(check(&facts(kind::TEXT, Use::Requests.needs()), 1, Use::Requests), Ok(()));
        assert_eq!(check(&facts(kind::TEXT, Use::Mod.needs()), 1, Use::Mod), Ok(()));
    }

    #[test]
    fn other_servers_and_other_kinds_are_refused() {
        assert_eq!(check(&facts(kind::TEXT, ALL), 2, Use::Mod), Err(ChannelProblem::NotInServer));
        let dm = ChannelFacts { guild_id: None, ..facts(1, ALL) };
        assert_eq!(check(&dm, 1, Use::Mod), Err(ChannelProblem::NotInServer));
        for (k, name) in [
            (kind::CATEGORY, "a category"),
            (kind::VOICE, "a voice channel"),
            (kind::FORUM, "a forum"),
            (11, "a thread"),
        ] {
            let e = check(&facts(k, ALL), 1, Use::Directory).unwrap_err();
            assert_eq!(e, ChannelProblem::NotText(7, name));
            assert!(e.to_string().contains("pick a text channel"), "{e}");
        }
    }

    #[test]
    fn missing_permissions_are_named() {
        assert_eq!(check(&facts(kind::TEXT, SEND_MESSAGES), 1, Use::Mod), Err(ChannelProblem::CantSee(7)));
        let e = check(&facts(kind::TEXT, VIEW_CHANNEL | READ_MESSAGE_HISTORY), 1, Use::Mod).unwrap_err();
        assert_eq!(e, ChannelProblem::Missing(7, "Send Messages, Embed Links".into()));
        let e = check(&facts(kind::TEXT, Use::Mod.needs()), 1, Use::Requests).unwrap_err();
        assert!(e.to_string().contains("Create Private Threads, Send Messages in Threads"), "{e}");
    }
}
