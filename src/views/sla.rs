//! The request SLA (R5) as people see it: the leaders' reminder, the
//! admins' alert, and the settings in `/config show`.

use crate::domain::request::Request;
use crate::domain::sla::Sla;
use chrono::{DateTime, Utc};
use serenity::all::CreateEmbed;

/// At most this many requests are listed in one reminder or alert; the rest
/// are counted and found in `/requests`.
const LISTED: usize = 10;

/// A link to a request's card, when it has one.
fn card_link(r: &Request) -> String {
    match (r.card_channel_id, r.card_message_id) {
        (Some(c), Some(m)) => format!(" [card](https://discord.com/channels/{}/{c}/{m})", r.guild_id),
        _ => String::new(),
    }
}

/// "3 days 4 h", "5 h".
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let h = (now - since).num_hours().max(0);
    match (h / 24, h % 24) {
        (0, h) => format!("{h} h"),
        (1, 0) => "1 day".to_string(),
        (d, 0) => format!("{d} days"),
        (1, h) => format!("1 day {h} h"),
        (d, h) => format!("{d} days {h} h"),
    }
}

/// A duration in hours, as the settings show it: "24 h", "7 days".
pub fn hours(h: i32) -> String {
    if h % 24 == 0 {
        match h / 24 {
            1 => "1 day (24 h)".to_string(),
            d => format!("{d} days"),
        }
    } else {
        format!("{h} h")
    }
}

fn clip(s: String) -> String {
    if s.chars().count() <= 2000 {
        s
    } else {
        let mut out: String = s.chars().take(1999).collect();
        out.push('…');
        out
    }
}

fn more(n: usize) -> String {
    if n > LISTED {
        format!("\n…and {} more: see `/requests`.", n - LISTED)
    } else {
        String::new()
    }
}

/// The reminder in a group's review thread: pings the group's leaders (the
/// only mentions the message allows), lists the waiting requests.
pub fn reminder(group: &str, leaders: &[u64], requests: &[Request], sla: &Sla, now: DateTime<Utc>) -> String {
    let pings: Vec<String> = leaders.iter().map(|l| format!("<@{l}>")).collect();
    let head = if requests.len() == 1 {
        format!("1 request to join **{group}** has waited more than {} for a decision:", hours(sla.remind_hours))
    } else {
        format!(
            "{} requests to join **{group}** have waited more than {} for a decision:",
            requests.len(),
            hours(sla.remind_hours)
        )
    };
    let lines: Vec<String> = requests
        .iter()
        .take(LISTED)
        .map(|r| format!("• #{} <@{}>, waiting {}{}", r.id, r.user_id, age(r.created_at, now), card_link(r)))
        .collect();
    let who = if pings.is_empty() { "Reminder".to_string() } else { format!("{} reminder", pings.join(" ")) };
    clip(format!(
        "{who}: {head}\n{}{}\nApprove or deny on the cards or in `/requests`. Unanswered requests go to the admins after {} and expire after {}.",
        lines.join("\n"),
        more(requests.len()),
        hours(sla.escalate_hours),
        hours(sla.expire_hours)
    ))
}

/// The admins' alert in the mod channel (no pings): group, requester, age, card.
pub fn escalation(requests: &[Request], sla: &Sla, now: DateTime<Utc>) -> String {
    let lines: Vec<String> = requests
        .iter()
        .take(LISTED)
        .map(|r| {
            format!(
                "• **{}**: #{} <@{}>, waiting {}{}",
                r.group_name,
                r.id,
                r.user_id,
                age(r.created_at, now),
                card_link(r)
            )
        })
        .collect();
    clip(format!(
        "Join requests nobody decided within {}:\n{}{}\nThe groups' leaders were reminded. Decide in `/requests` (admins may decide any group's requests); unanswered requests expire after {}.",
        hours(sla.escalate_hours),
        lines.join("\n"),
        more(requests.len()),
        hours(sla.expire_hours)
    ))
}

/// The SLA lines of `/config show`, and a warning for alerts that could not
/// reach the admins.
pub fn config_fields(e: CreateEmbed, sla: &Sla, undelivered: &[Request]) -> CreateEmbed {
    let times = format!(
        "Leaders reminded after {}; admins alerted in the mod channel after {}; requests expire after {}. A deny blocks a new request for {} {}. Change with /config request-sla.",
        hours(sla.remind_hours),
        hours(sla.escalate_hours),
        hours(sla.expire_hours),
        sla.cooldown_days,
        if sla.cooldown_days == 1 { "day" } else { "days" }
    );
    let mut e = e.field("Join request times", times, false);
    if !undelivered.is_empty() {
        let ids: Vec<String> =
            undelivered.iter().map(|r| format!("#{} ({}, <@{}>)", r.id, r.group_name, r.user_id)).collect();
        let text = format!(
            "⚠️ {} overdue request(s) could not be brought to the admins (no usable mod channel): {}. Decide them in /requests, and set a mod channel with /config mod-channel.",
            undelivered.len(),
            ids.join(", ")
        );
        let text: String = text.chars().take(1024).collect();
        e = e.field("Overdue requests", text, false);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_hours_read_naturally() {
        let t = Utc::now();
        assert_eq!(age(t, t + chrono::Duration::hours(5)), "5 h");
        assert_eq!(age(t, t + chrono::Duration::hours(24)), "1 day");
        assert_eq!(age(t, t + chrono::Duration::hours(73)), "3 days 1 h");
        assert_eq!(hours(24), "1 day (24 h)");
        assert_eq!(hours(168), "7 days");
        assert_eq!(hours(36), "36 h");
    }
}
