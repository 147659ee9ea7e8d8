//! Requests to join as leaders and requesters see them: the card (in the
//! group's review thread, a leader's DMs or the mod channel), the outcome
//! DM, `/requests`, the criteria.

use super::group_page::View;
use super::{clip, when};
use crate::custom_id::CustomId;
use crate::domain::request::{CardPlace, Check, Criteria, Request, Status};
use serenity::all::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter};

pub fn status_label(s: Status) -> &'static str {
    match s {
        Status::Pending => "pending",
        Status::Approved => "approved",
        Status::Denied => "denied",
        Status::Withdrawn => "withdrawn",
        Status::Expired => "expired",
    }
}

/// One line saying where a request stands.
pub fn standing(r: &Request) -> String {
    let at = r.decided_at.map(when).unwrap_or_default();
    let by = r.decided_by.unwrap_or_default();
    match r.status {
        Status::Pending => {
            let mut s = format!("pending since {}, waiting for the group's leaders", when(r.created_at));
            if let Some(n) = &r.note {
                s.push_str(&format!(". {n}"));
            }
            s
        }
        Status::Approved => format!("approved by <@{by}> {at}"),
        Status::Denied => {
            format!("denied by <@{by}> {at}. Reason: {}", r.reason.as_deref().unwrap_or("none given"))
        }
        Status::Withdrawn => match &r.note {
            // e.g. joined through an invitation instead
            Some(n) => format!("withdrawn {at}. {n}"),
            None => format!("withdrawn {at}"),
        },
        Status::Expired => format!("expired {at} without a decision"),
    }
}

/// The criteria checklist, one line each.
pub fn checklist(checks: &[Check]) -> String {
    if checks.is_empty() {
        return "No automatic criteria set.".to_string();
    }
    checks.iter().map(|c| format!("{} {}", if c.ok { "✅" } else { "❌" }, c.label)).collect::<Vec<_>>().join("\n")
}

pub fn decision_buttons(r: &Request, numbered: bool) -> CreateActionRow {
    let suffix = if numbered { format!(" #{}", r.id) } else { String::new() };
    CreateActionRow::Buttons(vec![
        CreateButton::new(CustomId::RequestApprove { request: r.id }.encode())
            .label(format!("Approve{suffix}"))
            .style(ButtonStyle::Success),
        CreateButton::new(CustomId::RequestDeny { request: r.id }.encode())
            .label(format!("Deny{suffix}"))
            .style(ButtonStyle::Danger),
    ])
}

/// The card in the group's review thread (see `card_for`).
pub fn card(r: &Request) -> View {
    card_for(r, CardPlace::Thread)
}

/// A request's card where it is: who, their standing when they asked (kept
/// after the decision), their message, the checklist, and the buttons
/// (pending) or the decision. A leader's DM says which group and server it
/// is about (a DM has no server around it); the mod channel's says why the
/// admins have it.
pub fn card_for(r: &Request, place: CardPlace) -> View {
    let mut e = CreateEmbed::new().title(clip(&format!("Request to join {}", r.group_name), 256)).field(
        "Requester",
        format!("<@{}>", r.user_id),
        true,
    );
    if let Some(a) = &r.snapshot {
        e = e
            .field("Account age", format!("{} days", a.account_age_days), true)
            .field("Days in server", a.days_in_server.to_string(), true)
            .field("Criteria", clip(&checklist(&a.checks), 1024), false);
    }
    e = e
        .field("Message", clip(r.message.as_deref().unwrap_or("(none)"), 1024), false)
        .field("Status", clip(&standing(r), 1024), false)
        .footer(CreateEmbedFooter::new(format!("Request #{}", r.id)));
    let server = format!("https://discord.com/channels/{}", r.guild_id);
    let (content, components) = match (r.status, place) {
        (Status::Pending, CardPlace::Thread) => (
            "New request to join. Only this group's leaders and admins can decide.".to_string(),
            vec![decision_buttons(r, false)],
        ),
        (Status::Pending, CardPlace::Dm) => (
            format!(
                "New request to join **{}**, a group you lead in [this server]({server}). Only its leaders and admins can decide; the first decision counts, and this card then shows it.",
                r.group_name
            ),
            vec![decision_buttons(r, false)],
        ),
        (Status::Pending, CardPlace::Mod) => (
            format!(
                "New request to join **{}**. None of its leaders could be reached (no usable requests channel, and no leader accepts DMs from me), so it's here: admins and members with Manage Roles can decide.",
                r.group_name
            ),
            vec![decision_buttons(r, false)],
        ),
        (Status::Expired, _) => ("Request to join expired: nobody decided in time.".to_string(), vec![]),
        (s, CardPlace::Thread) => (format!("Request to join {}.", status_label(s)), vec![]),
        (s, _) => (format!("Request to join **{}** {}.", r.group_name, status_label(s)), vec![]),
    };
    View { content, embeds: vec![e], components }
}

/// A pending request past the admins' alert time, as leaders and admins see it.
fn overdue(r: &Request) -> &'static str {
    match r.escalation_delivered {
        Some(false) => " ⚠️ Overdue: the admins could not be alerted (no usable mod channel).",
        Some(true) => " ⚠️ Overdue: the admins were alerted.",
        None => "",
    }
}

/// The DM telling the requester the outcome.
pub fn outcome_dm(r: &Request) -> String {
    match r.status {
        Status::Approved => format!(
            "Your request to join **{}** was approved: you're a member now, and subscribed to the group.",
            r.group_name
        ),
        Status::Denied => format!(
            "Your request to join **{}** was denied. Reason: {}",
            r.group_name,
            r.reason.as_deref().unwrap_or("none given")
        ),
        Status::Expired => format!(
            "Your request to join **{}** expired: the group's leaders didn't decide in time. You may ask again with `/request-join`.",
            r.group_name
        ),
        s => format!("Your request to join **{}** is {}.", r.group_name, status_label(s)),
    }
}

pub fn approval_failed_dm(group: &str) -> String {
    format!(
        "A leader approved your request to join **{group}**, but I couldn't give you the group's role because of how the server's roles are set up. Your request is still pending; the admins were told."
    )
}

/// `/requests`: the requester's own requests (with *Withdraw* on pending
/// ones) and the pending requests the viewer may decide (first four with
/// buttons).
pub fn listing(l: &crate::domain::request::Listing) -> View {
    let mut embeds = vec![];
    let mut components = vec![];
    if !l.to_decide.is_empty() {
        let lines: Vec<String> = l
            .to_decide
            .iter()
            .map(|r| {
                let msg = r.message.as_deref().map(|m| format!(": \"{}\"", clip(m, 100))).unwrap_or_default();
                format!(
                    "**#{}** <@{}> wants to join **{}** since {}{msg}{}",
                    r.id,
                    r.user_id,
                    r.group_name,
                    when(r.created_at),
                    overdue(r)
                )
            })
            .collect();
        embeds.push(
            CreateEmbed::new().title("Requests waiting for your decision").description(clip(&lines.join("\n"), 4000)),
        );
        components.extend(l.to_decide.iter().take(4).map(|r| decision_buttons(r, true)));
    }
    if !l.own.is_empty() {
        let lines: Vec<String> = l
            .own
            .iter()
            .map(|r| {
                let again = if r.status == Status::Expired { " You may ask again with `/request-join`." } else { "" };
                format!("**#{}** to join **{}**: {}.{again}", r.id, r.group_name, standing(r))
            })
            .collect();
        embeds.push(CreateEmbed::new().title("Your requests to join").description(clip(&lines.join("\n"), 4000)));
        let buttons: Vec<CreateButton> = l
            .own
            .iter()
            .filter(|r| r.status == Status::Pending)
            .take(5)
            .map(|r| {
                CreateButton::new(CustomId::RequestWithdraw { request: r.id }.encode())
                    .label(format!("Withdraw #{}", r.id))
                    .style(ButtonStyle::Secondary)
            })
            .collect();
        if !buttons.is_empty() {
            components.push(CreateActionRow::Buttons(buttons));
        }
    }
    let content = if embeds.is_empty() {
        "You have no requests to join, and none is waiting for your decision. Ask to join a closed group with `/request-join`.".to_string()
    } else {
        String::new()
    };
    View { content, embeds, components }
}

/// The criteria in one line (for `/group criteria` and the audit trail).
pub fn criteria_summary(c: &Criteria) -> String {
    let mut parts = vec![];
    if c.min_days_in_server > 0 {
        parts.push(format!("at least {} days in the server", c.min_days_in_server));
    }
    if c.min_account_age_days > 0 {
        parts.push(format!("an account at least {} days old", c.min_account_age_days));
    }
    for r in &c.required_role_ids {
        parts.push(format!("the <@&{r}> role"));
    }
    for r in &c.blocked_role_ids {
        parts.push(format!("not the <@&{r}> role"));
    }
    if parts.is_empty() {
        "no automatic criteria".to_string()
    } else {
        parts.join(", ")
    }
}
