//! What reconciliation (A5) tells admins: one line per difference, the
//! notices in the mod channel, and `/reconcile`'s dry run with *Apply*.

use crate::domain::reconcile::{Drift, Policy, Repair};
use crate::views::clip;
use serenity::all::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed};

/// One member's difference in one group, and what is done about it.
pub fn member_line(user_id: u64, group: &str, d: Drift, r: Repair) -> String {
    let what = match d {
        Drift::Taken { .. } => format!("<@{user_id}>'s role of **{group}** was taken by hand"),
        Drift::Given { .. } => format!("<@{user_id}> was given the role of **{group}** by hand"),
        Drift::BannedHolds { .. } => format!("<@{user_id}>, banned from **{group}**, was given its role by hand"),
        Drift::Owed { .. } => format!("<@{user_id}> is owed the re-made role of **{group}**"),
        Drift::BannedMember { .. } => format!("<@{user_id}> is banned from **{group}** but still recorded as a member"),
    };
    format!("{what}: {}", r.describe())
}

/// The DM to a member whose group role someone took by hand (policy
/// follow): which group, and how to come back.
pub fn removed_dm(group: &str, open: bool, archived: bool) -> String {
    let back = if archived {
        "The group is archived, so it takes nobody in for now.".to_string()
    } else if open {
        format!("To come back, use `/join` and pick **{group}**.")
    } else {
        format!("To come back, ask with `/request-join` and pick **{group}**: its leaders decide.")
    };
    format!(
        "Your role of **{group}** was taken away in Discord, so you are no longer a member of **{group}** and no longer follow it. {back}"
    )
}

/// The mod channel's line for a membership a hand removal ended, saying
/// whether the member could be told.
pub fn removed_line(line: &str, told: bool) -> String {
    if told {
        format!("{line}; I told them by DM.")
    } else {
        format!("{line}; I couldn't DM them (their DMs are closed or Discord refused).")
    }
}

/// A repair that Discord refused, with how to fix it.
pub fn failed_line(what: &str, error: &str) -> String {
    let fix = if error.contains("50013") || error.contains("missing permissions") {
        "Give my role Manage Roles and Manage Channels and keep it above the group roles (Server Settings → Roles), then run /reconcile."
    } else {
        "Run /reconcile to try again; /health lists what is wrong."
    };
    format!("{what}: I couldn't repair it ({error}). {fix}")
}

/// A notice for the mod channel: what happened, under which policy.
pub fn notice(policy: Policy, lines: &[String]) -> String {
    let head = match policy {
        Policy::Report => {
            "**Discord changed under Guildhall** (policy: report, so nothing was changed; /reconcile repairs):"
        }
        _ => "**Discord changed under Guildhall:**",
    };
    let mut out = head.to_string();
    for l in lines.iter().take(15) {
        out.push_str("\n- ");
        out.push_str(l);
    }
    if lines.len() > 15 {
        out.push_str(&format!("\n… and {} more (see /audit).", lines.len() - 15));
    }
    clip(&out, 2000)
}

pub fn role_remade(group: &str, role_id: u64, members: usize) -> String {
    format!(
        "The role of **{group}** was deleted in Discord. I made it again (<@&{role_id}>) and am giving it back to its {members} member(s); its channel's permissions point at it."
    )
}

pub fn channel_remade(group: &str, channel_id: u64) -> String {
    format!(
        "The channel of **{group}** was deleted in Discord. I made <#{channel_id}> again with the group's permissions; the old channel's messages and topics are gone for good."
    )
}

pub fn configured_cleared(labels: &[&str]) -> String {
    let what = labels.join(" and ");
    format!("The {what} was deleted in Discord, so I forgot that setting. Pick a new one with /config.")
}

/// The audit reason of a returning member.
pub fn returned_reason(back: &[&str], not_back: &[String], restore: bool) -> String {
    let mut out = if !restore {
        "came back; groups not given back (the server turned that off)".to_string()
    } else if back.is_empty() {
        "came back; no group to give back".to_string()
    } else {
        format!("came back; given back: {}", back.join(", "))
    };
    if restore && !not_back.is_empty() {
        out.push_str(&format!("; not given back (banned or archived): {}", not_back.join(", ")));
    }
    clip(&out, 1000)
}

/// `/reconcile`'s dry run: the differences, what each would get, and the
/// *Apply* button when there is anything to do.
pub fn dry_run(
    policy: Policy,
    server_policy: Policy,
    lines: &[String],
    apply_id: &str,
) -> (CreateEmbed, Vec<CreateActionRow>) {
    let mut desc = String::new();
    if server_policy == Policy::Report && policy != Policy::Report {
        desc.push_str(&format!(
            "This server's policy is **report**, so nothing changes by itself. *Apply* repairs as **{}** would.\n\n",
            policy.key()
        ));
    }
    if lines.is_empty() {
        desc.push_str("Postgres and Discord agree: nothing to repair.");
    } else {
        for (i, l) in lines.iter().enumerate() {
            let line = format!("{}. {l}\n", i + 1);
            if desc.chars().count() + line.chars().count() > 3800 {
                desc.push_str(&format!("… and {} more.", lines.len() - i));
                break;
            }
            desc.push_str(&line);
        }
    }
    let embed = CreateEmbed::new()
        .title(format!("Reconcile: {} difference(s) (dry run)", lines.len()))
        .description(desc)
        .footer(serenity::all::CreateEmbedFooter::new(format!("Policy: {}", policy.describe())));
    let rows = if lines.is_empty() {
        vec![]
    } else {
        vec![CreateActionRow::Buttons(vec![CreateButton::new(apply_id).label("Apply").style(ButtonStyle::Danger)])]
    };
    (embed, rows)
}

/// What *Apply* did.
pub fn applied(found: i32, repaired: i32, reported: i32, failed: i32, lines: &[String]) -> String {
    let mut out =
        format!("Reconcile applied: {found} found, {repaired} repaired, {reported} reported, {failed} failed.");
    for l in lines.iter().take(10) {
        out.push_str("\n- ");
        out.push_str(l);
    }
    if lines.len() > 10 {
        out.push_str(&format!("\n… and {} more (see /audit).", lines.len() - 10));
    }
    clip(&out, 2000)
}
