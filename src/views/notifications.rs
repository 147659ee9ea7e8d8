//! What notification DMs, digests and `/notifications` say.

use crate::domain::delivery::{Digest, Mode};

/// Discord's message length limit.
const MAX: usize = 2000;

fn link(guild_id: u64, channel_id: u64, message_id: Option<u64>) -> String {
    match message_id {
        Some(m) => format!("https://discord.com/channels/{guild_id}/{channel_id}/{m}"),
        None => format!("https://discord.com/channels/{guild_id}/{channel_id}"),
    }
}

const FOOTER: &str =
    "-# Choose how you hear about what you follow with /notifications; manage what you follow with /subscriptions.";

/// One line about a new topic (a DM's body, a digest's line).
pub fn topic_line(guild_id: u64, thread_id: u64, where_: &str) -> String {
    format!("New topic in {where_}: <#{thread_id}> {}", link(guild_id, thread_id, None))
}

/// One line about a new message in a followed thread.
pub fn thread_message_line(guild_id: u64, thread_id: u64, message_id: u64) -> String {
    format!("New message in <#{thread_id}>, a thread you follow: {}", link(guild_id, thread_id, Some(message_id)))
}

/// One line about a reply to a followed post.
pub fn post_reply_line(guild_id: u64, channel_id: u64, message_id: u64) -> String {
    format!("New reply to a post you follow, in <#{channel_id}>: {}", link(guild_id, channel_id, Some(message_id)))
}

/// A notification DM.
pub fn dm(line: &str) -> String {
    format!("🔔 {line}\n{FOOTER}")
}

/// A day's digest, within Discord's 2,000 characters: the lines that fit,
/// then how many more there were.
pub fn digest(d: &Digest) -> String {
    let head = format!("🗞️ Your daily digest for {} ({} new):", d.day, d.lines.len());
    let mut out = head;
    for (i, line) in d.lines.iter().enumerate() {
        let next = format!("\n• {line}");
        let left = d.lines.len() - i;
        let tail = format!("\n…and {left} more.\n{FOOTER}");
        if out.chars().count() + next.chars().count() + tail.chars().count() + FOOTER.len() + 2 > MAX {
            out.push_str(&tail);
            return out;
        }
        out.push_str(&next);
    }
    out.push('\n');
    out.push_str(FOOTER);
    out
}

/// `/notifications` and its answers.
pub fn status(mode: Mode, own: bool, server_default: Mode, dms_closed: bool) -> String {
    let mut s = format!("Your notifications: **{}**", mode.label());
    if !own {
        s.push_str(" (this server's default)");
    }
    s.push_str(".\n");
    s.push_str(match mode {
        Mode::Mention => "New topics in groups you follow ping you in the topic; threads you follow add you to them, and replies to posts you follow mention you.",
        Mode::Dm => "I send you a direct message for each new topic, thread message or reply you follow.",
        Mode::Digest => "Once a day I send you one direct message listing what happened in what you follow.",
        Mode::Off => "You are not notified; what you follow stays in /subscriptions.",
    });
    if dms_closed && mode.uses_dms() {
        s.push_str(
            "\n⚠️ Your direct messages are closed to me, so nothing reaches you. Allow direct messages from this server's members (Privacy Settings), then choose this mode again.",
        );
    } else if dms_closed {
        s.push_str("\n-# Your direct messages were closed to me the last time I tried.");
    }
    s.push_str(&format!(
        "\n-# Change it with `/notifications mode`. This server's default is {}.",
        server_default.label()
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_digest_fits_in_one_message() {
        let d = Digest {
            guild_id: 1,
            user_id: 2,
            day: "2026-11-28".parse().unwrap(),
            run: 1,
            lines: (0..200).map(|i| format!("line {i} {}", "x".repeat(40))).collect(),
        };
        let s = digest(&d);
        assert!(s.chars().count() <= MAX, "{}", s.chars().count());
        assert!(s.contains("more."), "{s}");
        let short = Digest { lines: vec!["only".into()], ..d };
        assert!(digest(&short).contains("• only") && digest(&short).contains("(1 new)"));
    }
}
