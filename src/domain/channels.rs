//! What a channel an admin configures must be (A1): a text channel of this
//! server in which the bot has exactly what it needs for its use there
//! (`Use::needs`); also what the bot needs server-wide and in group channels,
//! for `/health` (A4).
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

pub const MANAGE_CHANNELS: u64 = 1 << 4;
pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const MANAGE_MESSAGES: u64 = 1 << 13;
pub const EMBED_LINKS: u64 = 1 << 14;
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
pub const MANAGE_ROLES: u64 = 1 << 28;
pub const MANAGE_THREADS: u64 = 1 << 34;
pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;

/// Discord's names for them, as the client shows them (Manage Roles is
/// "Manage Permissions" on a channel).
const NAMES: [(u64, &str); 11] = [
    (MANAGE_ROLES, "Manage Roles"),
    (MANAGE_CHANNELS, "Manage Channels"),
    (VIEW_CHANNEL, "View Channel"),
    (SEND_MESSAGES, "Send Messages"),
    (EMBED_LINKS, "Embed Links"),
    (READ_MESSAGE_HISTORY, "Read Message History"),
    (CREATE_PUBLIC_THREADS, "Create Public Threads"),
    (CREATE_PRIVATE_THREADS, "Create Private Threads"),
    (SEND_MESSAGES_IN_THREADS, "Send Messages in Threads"),
    (MANAGE_THREADS, "Manage Threads"),
    (MANAGE_MESSAGES, "Manage Messages"),
];

/// The names of the permissions in `bits` this module knows, comma-separated.
pub fn names(bits: u64) -> String {
    NAMES.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
}

/// What the bot needs server-wide (the invite link's permissions): Manage
/// Roles and Manage Channels to make and grant group roles and channels, and
/// every permission it writes into a group channel's overwrites (its own,
/// members' and leaders'), since Discord lets a bot allow or deny in an
/// overwrite only what it holds itself.
pub const SERVER: u64 = MANAGE_ROLES
    | MANAGE_CHANNELS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | MANAGE_THREADS
    | MANAGE_MESSAGES
    | EMBED_LINKS
    | READ_MESSAGE_HISTORY;

/// What the bot does in a channel of each use, hence what it needs there:
/// exactly that and no more, so an admin's own set-up (a staff channel
/// nobody posts in) works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Cards with buttons (lead applications; join requests no leader could
    /// be reached for), admin alerts, a public discussion thread started
    /// from each lead application's card (the bot posts nothing in it).
    Mod,
    /// A private thread per group, made by the bot, which adds the group's
    /// leaders and posts and edits the request cards and reminders inside
    /// it; nothing is posted in the channel itself, so Send Messages is not
    /// needed (Discord: it "has no effect in threads").
    Requests,
    /// One message, posted once and edited after every change.
    Directory,
    /// A group's channel: the bot announces topics and replies to posts
    /// (in the channel, or in its threads for a forum), adds and removes
    /// followers of threads, and manages the channel (rename, archive, its
    /// members' and leaders' permissions).
    Group,
}

impl Use {
    pub fn needs(self) -> u64 {
        // Reading back its own messages (to edit them, to start a thread on one).
        let see = VIEW_CHANNEL | READ_MESSAGE_HISTORY;
        match self {
            Use::Mod => see | SEND_MESSAGES | EMBED_LINKS | CREATE_PUBLIC_THREADS,
            Use::Requests => see | CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS | EMBED_LINKS,
            Use::Directory => see | SEND_MESSAGES | EMBED_LINKS,
            Use::Group => {
                see | SEND_MESSAGES
                    | SEND_MESSAGES_IN_THREADS
                    | EMBED_LINKS
                    | MANAGE_THREADS
                    | MANAGE_CHANNELS
                    | MANAGE_ROLES
            }
        }
    }

    /// What the channel is, as an admin reads it.
    pub fn label(self) -> &'static str {
        match self {
            Use::Mod => "the mod channel",
            Use::Requests => "the requests channel",
            Use::Directory => "the directory's channel",
            Use::Group => "a group channel",
        }
    }
}

/// What the bot lacks in a channel for `what`: everything when it can't
/// see it (Discord: denying View Channel implicitly denies the rest).
pub fn missing(bot_permissions: u64, what: Use) -> u64 {
    if bot_permissions & VIEW_CHANNEL == 0 {
        return what.needs();
    }
    what.needs() & !bot_permissions
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
    let lacking = missing(c.bot_permissions, what);
    if lacking != 0 {
        return Err(ChannelProblem::Missing(c.id, names(lacking)));
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
        assert_eq!(e, ChannelProblem::Missing(7, "Send Messages, Embed Links, Create Public Threads".into()));
        let e = check(&facts(kind::TEXT, Use::Mod.needs()), 1, Use::Requests).unwrap_err();
        assert!(e.to_string().contains("Create Private Threads, Send Messages in Threads"), "{e}");
    }

    #[test]
    fn each_use_needs_what_the_bot_does_there() {
        let see = VIEW_CHANNEL | READ_MESSAGE_HISTORY;
        // cards, alerts, a thread started from each lead application's card
        assert_eq!(Use::Mod.needs(), see | SEND_MESSAGES | EMBED_LINKS | CREATE_PUBLIC_THREADS);
        // private threads only, posted in (threads.md: "The SEND_MESSAGES
        // permission has no effect in threads")
        assert_eq!(Use::Requests.needs(), see | CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS | EMBED_LINKS);
        // one message, edited
        assert_eq!(Use::Directory.needs(), see | SEND_MESSAGES | EMBED_LINKS);
        assert_eq!(
            names(Use::Group.needs()),
            "Manage Roles, Manage Channels, View Channel, Send Messages, Embed Links, Read Message History, \
             Send Messages in Threads, Manage Threads"
        );
        // Whatever the bot needs in a channel it also writes into group
        // channels' overwrites, so it must hold it server-wide.
        for u in [Use::Mod, Use::Requests, Use::Directory, Use::Group] {
            assert_eq!(u.needs() & !SERVER, 0, "{u:?}");
        }
    }

    #[test]
    fn a_requests_channel_needs_no_send_messages_but_its_thread_permissions() {
        let staff_only =
            VIEW_CHANNEL | READ_MESSAGE_HISTORY | EMBED_LINKS | CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS;
        assert_eq!(check(&facts(kind::TEXT, staff_only), 1, Use::Requests), Ok(()));
        let plain = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY;
        assert_eq!(
            check(&facts(kind::TEXT, plain), 1, Use::Requests),
            Err(ChannelProblem::Missing(7, "Create Private Threads, Send Messages in Threads".into()))
        );
        // ... while the mod channel and the directory post in the channel itself
        assert!(check(&facts(kind::TEXT, staff_only), 1, Use::Mod).is_err());
        assert!(check(&facts(kind::TEXT, staff_only), 1, Use::Directory).is_err());
    }

    #[test]
    fn without_view_channel_everything_is_missing() {
        assert_eq!(missing(ALL & !VIEW_CHANNEL, Use::Group), Use::Group.needs());
        assert_eq!(missing(ALL, Use::Group), 0);
        assert_eq!(missing(Use::Directory.needs(), Use::Directory), 0);
        assert_eq!(missing(VIEW_CHANNEL, Use::Directory), SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY);
    }
}
