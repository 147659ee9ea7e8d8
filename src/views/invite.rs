//! Invitations as people see them: the card in the invitee's DMs, the same
//! card once decided, the outcome DM to the inviter, `/invites`, and the
//! invitation limits in `/config show`.

use super::group_page::{self, View};
use super::{clip, relative, when};
use crate::custom_id::CustomId;
use crate::domain::invite::Listing;
use crate::domain::invite::{Invitation, Limits, Status};
use crate::domain::membership::PageFacts;
use chrono::{DateTime, Utc};
use serenity::all::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed};

/// One phrase saying where an invitation stands at `now`.
pub fn standing(i: &Invitation, now: DateTime<Utc>) -> String {
    let decided = i.decided_at.map(when).unwrap_or_default();
    match i.status {
        Status::Pending if now >= i.expires_at => format!("expired {}", when(i.expires_at)),
        Status::Pending => format!("pending, expires {}", relative(i.expires_at)),
        Status::Accepted => format!("accepted {decided}"),
        Status::Declined => format!("declined {decided}"),
        Status::Expired => format!("expired {decided}"),
        Status::Revoked => match (i.decided_by, &i.note) {
            (Some(by), _) => format!("revoked by <@{by}> {decided}"),
            (None, Some(note)) => format!("cancelled {decided}: {note}"),
            (None, None) => format!("cancelled {decided}"),
        },
    }
}

fn answer_buttons(i: &Invitation, numbered: bool) -> CreateActionRow {
    let suffix = if numbered { format!(" #{}", i.id) } else { String::new() };
    CreateActionRow::Buttons(vec![
        CreateButton::new(CustomId::InviteAccept { invitation: i.id }.encode())
            .label(format!("Accept{suffix}"))
            .style(ButtonStyle::Success),
        CreateButton::new(CustomId::InviteDecline { invitation: i.id }.encode())
            .label(format!("Decline{suffix}"))
            .style(ButtonStyle::Secondary),
    ])
}

/// The invitation in the invitee's DMs: who invites them, the Group Page
/// card, *Accept* / *Decline*.
pub fn dm_card(i: &Invitation, facts: &PageFacts) -> View {
    let page = group_page::page(facts);
    View {
        content: format!(
            "<@{}> invited you to join **{}**. Accepting makes you a member (you get its role and hear about its new topics). The invitation expires {}.",
            i.inviter_id,
            i.group_name,
            relative(i.expires_at)
        ),
        embeds: page.embeds,
        components: vec![answer_buttons(i, false)],
    }
}

/// The same card once decided: the outcome, no buttons.
pub fn closed_card(i: &Invitation) -> View {
    let mut v = View::text(format!(
        "<@{}>'s invitation #{} to join **{}**: {}.",
        i.inviter_id,
        i.id,
        i.group_name,
        standing(i, i.decided_at.unwrap_or(i.expires_at))
    ));
    v.components = vec![];
    v
}

/// The outcome, as the inviter is told by DM.
pub fn inviter_dm(i: &Invitation) -> String {
    let (who, g) = (i.invitee_id, &i.group_name);
    match i.status {
        Status::Accepted => format!("<@{who}> accepted your invitation to join **{g}**: they're a member now."),
        Status::Declined => format!("<@{who}> declined your invitation to join **{g}**."),
        Status::Expired => format!("Your invitation to <@{who}> to join **{g}** expired without an answer."),
        Status::Revoked => match (i.decided_by, &i.note) {
            (Some(by), _) => format!("Your invitation to <@{who}> to join **{g}** was revoked by <@{by}>."),
            (None, note) => format!(
                "Your invitation to <@{who}> to join **{g}** was cancelled: {}.",
                note.as_deref().unwrap_or("it can no longer be accepted")
            ),
        },
        Status::Pending => format!("Your invitation to <@{who}> to join **{g}** is pending."),
    }
}

/// What the inviter reads after `/invite`.
pub fn sent_text(i: &Invitation, dm_delivered: bool) -> String {
    let how = if dm_delivered {
        "They got a DM with the group card and **Accept** / **Decline**.".to_string()
    } else {
        "I couldn't DM them (their DMs are closed); they can accept it in `/invites`.".to_string()
    };
    format!(
        "Invitation #{} sent: <@{}> is invited to join **{}**. {how} It expires {}; you'll hear how it ends. See (or revoke) it in `/invites`.",
        i.id,
        i.invitee_id,
        i.group_name,
        relative(i.expires_at)
    )
}

/// `/invites`: invitations to the member (with *Accept #n* / *Decline #n*),
/// the ones they sent (with outcomes, and *Revoke #n* while pending), and the
/// pending ones to groups they lead (*Revoke #n*).
pub fn listing(l: &Listing) -> View {
    let now = l.now;
    let mut embeds = vec![];
    let mut components = vec![];
    if !l.received.is_empty() {
        let lines: Vec<String> = l
            .received
            .iter()
            .map(|i| {
                format!("**#{}** to join **{}** from <@{}>: {}.", i.id, i.group_name, i.inviter_id, standing(i, now))
            })
            .collect();
        embeds.push(CreateEmbed::new().title("Invitations to you").description(clip(&lines.join("\n"), 4000)));
        components.extend(l.received.iter().filter(|i| i.is_open(now)).take(3).map(|i| answer_buttons(i, true)));
    }
    if !l.sent.is_empty() {
        let lines: Vec<String> = l
            .sent
            .iter()
            .map(|i| {
                let mut s = format!("**#{}** <@{}> to **{}**: {}", i.id, i.invitee_id, i.group_name, standing(i, now));
                if i.status == Status::Pending && i.invitee_dm_delivered == Some(false) {
                    s.push_str(" (their DMs are closed: they see it in `/invites`)");
                }
                if i.inviter_dm_delivered == Some(false) {
                    s.push_str(" (I couldn't DM you this outcome: your DMs are closed)");
                }
                s.push('.');
                s
            })
            .collect();
        embeds.push(CreateEmbed::new().title("Invitations you sent").description(clip(&lines.join("\n"), 4000)));
    }
    if !l.to_manage.is_empty() {
        let lines: Vec<String> = l
            .to_manage
            .iter()
            .map(|i| {
                format!(
                    "**#{}** <@{}> to **{}**, from <@{}>: {}.",
                    i.id,
                    i.invitee_id,
                    i.group_name,
                    i.inviter_id,
                    standing(i, now)
                )
            })
            .collect();
        embeds.push(
            CreateEmbed::new()
                .title("Pending invitations to groups you lead")
                .description(clip(&lines.join("\n"), 4000)),
        );
    }
    let revocable: Vec<CreateButton> = l
        .sent
        .iter()
        .chain(l.to_manage.iter())
        .filter(|i| i.status == Status::Pending)
        .take(5)
        .map(|i| {
            CreateButton::new(CustomId::InviteRevoke { invitation: i.id }.encode())
                .label(format!("Revoke #{}", i.id))
                .style(ButtonStyle::Danger)
        })
        .collect();
    if !revocable.is_empty() {
        components.push(CreateActionRow::Buttons(revocable));
    }
    let content = if embeds.is_empty() {
        "You have no invitations, sent or received. Group leaders invite people with `/invite`.".to_string()
    } else {
        String::new()
    };
    View { content, embeds, components }
}

/// The invitation limits, as `/config show` lists them: (name, value).
pub fn config_field(l: &Limits) -> (String, String) {
    (
        "Invitations".to_string(),
        format!(
            "Expire after {} days; at most {} sent per member in any 24 hours. Change with /config invitations.",
            l.expiry_days, l.daily_cap
        ),
    )
}

/// The invitee's DM when Discord refused the group's role after they
/// accepted: the invitation is open again.
pub fn acceptance_failed_dm(group: &str) -> String {
    format!(
        "You accepted the invitation to join **{group}**, but I couldn't give you the group's role because of how the server's roles are set up. The invitation is open again (see `/invites`); the admins can see why in the audit log."
    )
}
