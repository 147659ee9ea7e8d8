//! The audit trail (A2), a page at a time: one line per entry with its time,
//! actor, action, subject, group and reason.

use crate::custom_id::CustomId;
use crate::domain::audit::AuditPage;
use crate::domain::audit::Recorded;
use serenity::all::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter};

/// A line never exceeds this (UTF-16 units), so ten of them and the filter
/// line stay under Discord's 4096 for a description.
const LINE_MAX: usize = 380;

pub struct Page {
    pub embed: CreateEmbed,
    pub components: Vec<CreateActionRow>,
}

fn clip(s: &str, max: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::new();
    for c in flat.chars() {
        if out.encode_utf16().count() + c.len_utf16() > max.saturating_sub(1) {
            out.push('…');
            return out;
        }
        out.push(c);
    }
    out
}

/// One entry: `<t:…:R> · <@actor> · `action` → detail · subject <@…> · group **…** · reason “…”`.
pub fn line(e: &Recorded) -> String {
    let mut parts = vec![super::relative(e.created_at)];
    parts.push(match e.actor_id {
        Some(a) => format!("<@{a}>"),
        None => "Guildhall".to_string(),
    });
    let mut action = format!("`{}`", e.action);
    if let Some(d) = &e.detail {
        action.push_str(&format!(" → {}", clip(d, 100)));
    }
    parts.push(action);
    if let Some(s) = e.subject_id {
        parts.push(format!("subject <@{s}>"));
    }
    if let Some(g) = &e.group_name {
        parts.push(format!("group **{g}**"));
    }
    if let Some(r) = e.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        parts.push(format!("reason “{}”", clip(r, 120)));
    }
    clip(&parts.join(" · "), LINE_MAX)
}

/// The page as an embed, with ◀ Previous / Next ▶ when there is more than one.
pub fn render(p: &AuditPage) -> Page {
    let mut filters = Vec::new();
    if let Some(g) = &p.group_name {
        filters.push(format!("group **{g}**"));
    }
    if let Some(u) = p.filter.user_id {
        filters.push(format!("user <@{u}> (as actor or subject)"));
    }
    let mut lines = Vec::new();
    if !filters.is_empty() {
        lines.push(format!("Only entries about {}.", filters.join(" and ")));
        lines.push(String::new());
    }
    if p.entries.is_empty() {
        lines.push(if filters.is_empty() {
            "Nothing has been recorded yet.".to_string()
        } else {
            "No entries match.".to_string()
        });
    }
    lines.extend(p.entries.iter().map(line));
    let footer = format!(
        "Page {} of {} · {} {} · newest first",
        p.page + 1,
        p.pages,
        p.total,
        if p.total == 1 { "entry" } else { "entries" }
    );
    let embed =
        CreateEmbed::new().title("Audit trail").description(lines.join("\n")).footer(CreateEmbedFooter::new(footer));
    let mut components = vec![];
    if p.pages > 1 {
        let id = |page: u32| {
            CustomId::AuditPage {
                group_id: p.filter.group_id,
                user_id: p.filter.user_id,
                upto: p.filter.upto.unwrap_or(0),
                page,
            }
            .encode()
        };
        let prev = CreateButton::new(id(p.page.saturating_sub(1)))
            .label("◀ Previous")
            .style(ButtonStyle::Secondary)
            .disabled(p.page == 0);
        let next = CreateButton::new(id(p.page + 1))
            .label("Next ▶")
            .style(ButtonStyle::Secondary)
            .disabled(p.page + 1 >= p.pages);
        components.push(CreateActionRow::Buttons(vec![prev, next]));
    }
    Page { embed, components }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Recorded {
        Recorded {
            id: 1,
            created_at: chrono::DateTime::from_timestamp(1_764_300_000, 0).unwrap(),
            actor_id: Some(42),
            subject_id: Some(43),
            group_id: Some(5),
            group_name: Some("Rust".into()),
            action: "membership.remove".into(),
            reason: Some("spam\nand more spam".into()),
            detail: None,
        }
    }

    #[test]
    fn a_line_names_time_actor_action_subject_group_and_reason() {
        assert_eq!(
            line(&entry()),
            "<t:1764300000:R> · <@42> · `membership.remove` · subject <@43> · group **Rust** · reason “spam and more spam”"
        );
        let bot = Recorded {
            actor_id: None,
            subject_id: None,
            group_name: None,
            reason: None,
            detail: Some("<#7>".into()),
            action: "config.mod-channel".into(),
            ..entry()
        };
        assert_eq!(line(&bot), "<t:1764300000:R> · Guildhall · `config.mod-channel` → <#7>");
    }

    #[test]
    fn ten_long_lines_fit_a_description() {
        let long = Recorded {
            group_name: Some("é".repeat(100)),
            reason: Some("😀".repeat(1000)),
            detail: Some("x".repeat(200)),
            ..entry()
        };
        let l = line(&long);
        assert!(l.encode_utf16().count() <= LINE_MAX, "{}", l.encode_utf16().count());
        assert!(l.ends_with('…'));
        let header = format!(
            "Only entries about group **{}** and user <@{}> (as actor or subject).\n",
            "é".repeat(100),
            u64::MAX
        );
        assert!(header.encode_utf16().count() + 10 * (LINE_MAX + 1) <= 4096);
    }
}
