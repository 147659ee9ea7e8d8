//! `/health` as admins read it: one line per finding with its fix (problems
//! first, then warnings), or a plain "all good"; then what was looked at
//! (Discord's limits, the last reconcile, the DM queue, the join requests,
//! the gateway). One embed, within Discord's limits.

use super::sla::hours;
use super::{clip, relative};
use crate::domain::channels::{self, Use};
use crate::domain::health::Checked;
use crate::domain::health::{self, Facts, Finding, Limit, Place, Severity};
use crate::domain::role_safety::elevated_names;
use serenity::all::CreateEmbed;

/// The description's share of the embed's 6,000 characters (the fields take
/// at most ~1,700).
const DESCRIPTION_MAX: usize = 3900;

/// A name someone typed in Discord (a role's), shown without its markdown.
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '_' | '~' | '`' | '|' | '>' | '\\' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn place(p: &Place, channel_id: u64) -> String {
    match p {
        Place::Configured(u) => format!("{} <#{channel_id}>", u.label()),
        Place::Group(name) => format!("**{name}**'s channel <#{channel_id}>"),
    }
}

/// How to point a configured channel setting somewhere else.
fn reconfigure(u: Use) -> &'static str {
    match u {
        Use::Mod => "Pick another with `/config mod-channel` (until then lead applications wait in `/lead pending`).",
        Use::Requests => {
            "Pick another with `/config requests-channel` (until then join requests go to the leaders by DM)."
        }
        Use::Directory => "Post the directory again with `/directory post`.",
        Use::Group => "Run `/reconcile` and press *Apply* to make it again.",
    }
}

/// The finding as one line: what is wrong, then its fix.
pub fn line(f: &Finding, bot_role: &str) -> String {
    let bot = format!("**{}**", plain(bot_role));
    let (what, fix) = match f {
        Finding::ServerPermissions { missing } => (
            format!("I'm missing {} server-wide.", channels::names(*missing)),
            format!("In Server Settings → Roles, give my role {bot} these permissions (the invite link in the README asks for all of them)."),
        ),
        Finding::ChannelGone { place: Place::Group(name), channel_id } => (
            format!("**{name}**'s channel (<#{channel_id}>) was deleted."),
            "Run `/reconcile` and press *Apply* to make it again (its old messages are gone).".to_string(),
        ),
        Finding::ChannelGone { place: Place::Configured(u), channel_id } => {
            (format!("{} (<#{channel_id}>) no longer exists.", capitalize(u.label())), reconfigure(*u).to_string())
        }
        Finding::ChannelKind { place: p, channel_id } => {
            let u = match p {
                Place::Configured(u) => *u,
                Place::Group(_) => Use::Group,
            };
            (format!("{} is no longer a text channel.", capitalize(&place(p, *channel_id))), reconfigure(u).to_string())
        }
        Finding::ChannelPermissions { place: p, channel_id, missing } => (
            format!("I'm missing {} in {}.", channels::names(*missing), place(p, *channel_id)),
            format!("Edit Channel → Permissions: allow these for my role {bot} there, or remove the overwrite that denies them."),
        ),
        Finding::RoleGone { group, .. } => (
            format!("**{group}**'s role was deleted."),
            "Run `/reconcile` and press *Apply* to make it again and give it back to the group's members.".to_string(),
        ),
        Finding::RoleAboveBot { group, role, notify } => {
            let which = if *notify { "notification role" } else { "role" };
            (
                format!(
                    "**{group}**'s {which} **{}** is at or above my highest role {bot}, so Discord won't let me give or take it.",
                    plain(role)
                ),
                format!("In Server Settings → Roles, drag {bot} above **{}**.", plain(role)),
            )
        }
        Finding::RoleElevated { group, role, permissions } => (
            format!(
                "**{group}**'s role **{}** carries {}: a group role must carry no elevated permission, so I don't give it to anyone.",
                plain(role),
                elevated_names(*permissions)
            ),
            format!("Remove those permissions from **{}** in Server Settings → Roles.", plain(role)),
        ),
        Finding::CategoryGone { bucket, .. } => (
            format!("The **{}** category was deleted.", bucket.label()),
            "Run `/reconcile` and press *Apply* to make it again and move its groups' channels back (creating a group in that bucket makes it too).".to_string(),
        ),
        Finding::Headroom { limit, used, full } => headroom(*limit, *used, *full),
        Finding::ReconcileFailed { failed } => (
            format!("The last full reconcile could not repair {failed} difference(s)."),
            "Run `/reconcile` to see them and try again; the problems above usually say why.".to_string(),
        ),
        Finding::ReconcileReported { reported } => (
            format!("The last full reconcile only reported {reported} difference(s) (policy report): Discord and Guildhall disagree there."),
            "Run `/reconcile` to see them and press *Apply*, or let me repair them with `/config reconcile-policy`.".to_string(),
        ),
        Finding::ReconcileUnapplied { found } => (
            format!("The last reconcile was a dry run that found {found} difference(s), not applied."),
            "Run `/reconcile` and press *Apply*.".to_string(),
        ),
        Finding::ReconcileUnfinished { started_at } => (
            format!("A full reconcile started {} and never finished (the bot may have stopped during it).", relative(*started_at)),
            "It runs again when the bot next connects; `/reconcile` runs one now.".to_string(),
        ),
        Finding::DmsLate { count } => (
            format!("{count} DM(s) are more than {} minutes late.", health::DM_LATE_MINUTES),
            "Discord is rate limiting or failing; they are retried with backoff. If the number keeps growing, check the bot's logs.".to_string(),
        ),
        Finding::DmsFailed { count } => (
            format!("{count} DM(s) failed for good in the last day, after every retry."),
            "Check the bot's logs for Discord's errors (closed DMs are not counted here).".to_string(),
        ),
        Finding::AlertsUndelivered { count } => (
            format!("{count} alert(s) about overdue join requests could not reach the admins (no usable mod channel)."),
            "Set a mod channel with `/config mod-channel`; `/config show` lists the requests.".to_string(),
        ),
        Finding::RequestsOverdue { count, hours: h } => (
            format!("{count} join request(s) have waited longer than {} (the admins' alert time).", hours(*h)),
            "Their groups' leaders, or admins, decide them in `/requests`; `/config request-sla` sets the times.".to_string(),
        ),
        Finding::DiscordRetries { leftovers, notify_syncs } => (
            {
                let mut waiting = vec![];
                if *leftovers > 0 {
                    waiting.push(format!("{leftovers} role(s) or channel(s) I deleted are still on Discord"));
                }
                if *notify_syncs > 0 {
                    waiting.push(format!("{notify_syncs} follower(s)' notification roles are out of step"));
                }
                format!(
                    "Discord refused some of my changes, and I retry them every background pass: {}.",
                    waiting.join(", and ")
                )
            },
            "Usually Discord was briefly unavailable and this clears by itself; if it stays, check the problems above (Manage Roles, Manage Channels, my role's place) and the bot's logs.".to_string(),
        ),
        Finding::RoleQueueSlow { waiting, oldest_seconds } => (
            format!(
                "{waiting} member-role change(s) wait for Discord, the oldest for {}: members see \"Discord is applying your role\" meanwhile.",
                crate::views::pace::seconds(*oldest_seconds as u64)
            ),
            "Discord paces role changes to a few a second per server, so a crowd of joins takes a while and clears by itself; if it does not move, check my Manage Roles permission and my role's place, and the bot's logs.".to_string(),
        ),
        Finding::SlowGateway { ms } => (
            format!("The gateway answers in {ms} ms."),
            "Discord or the bot's host is slow, so replies may be late; if it lasts, check the host's network and load.".to_string(),
        ),
    };
    let mark = match f.severity() {
        Severity::Problem => "❌",
        Severity::Warning => "⚠️",
    };
    format!("{mark} {what} **Fix:** {fix}")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn headroom(limit: Limit, used: usize, full: bool) -> (String, String) {
    let (what, max, each) = match limit {
        Limit::Roles => (
            "The server has".to_string(),
            health::ROLE_LIMIT,
            "roles (each group takes one, and one more for notifications once someone follows it)",
        ),
        Limit::Channels => ("The server has".to_string(), health::CHANNEL_LIMIT, "channels (threads don't count)"),
        Limit::Category(b) => (format!("The **{}** category holds", b.label()), health::CATEGORY_LIMIT, "channels"),
    };
    let fix = match limit {
        Limit::Roles => "Delete roles you no longer use in Server Settings → Roles.",
        Limit::Channels => "Delete channels you no longer use (`/group delete` deletes a group's channel too).",
        Limit::Category(_) => "Move channels that aren't groups' out of it, or delete groups you no longer need.",
    };
    let what = if full {
        format!("{what} {used} {each}, Discord's limit of {max}: no new group can be made there.")
    } else {
        format!("{what} {used} of Discord's {max} {each}: {} left.", max.saturating_sub(used))
    };
    (what, fix.to_string())
}

fn limits(f: &Facts) -> String {
    let s = &f.server;
    let mut out = format!(
        "Roles: {} of {}. Channels: {} of {} (threads don't count).",
        s.roles.len(),
        health::ROLE_LIMIT,
        s.channels.len(),
        health::CHANNEL_LIMIT
    );
    let per: Vec<String> = f
        .buckets
        .iter()
        .map(|(b, id)| {
            let n = s.channels.iter().filter(|c| c.parent_id == Some(*id)).count();
            format!("{} {n}", b.label())
        })
        .collect();
    if !per.is_empty() {
        out.push_str(&format!(" Bucket categories (of {} each): {}.", health::CATEGORY_LIMIT, per.join(", ")));
    }
    out
}

fn last_run(f: &Facts) -> String {
    let Some(r) = &f.last_run else { return "Never: no full reconcile has run on this server yet.".to_string() };
    let by = r.actor_id.map(|a| format!(" by <@{a}>")).unwrap_or_default();
    let how = match r.trigger.as_str() {
        "session" => "after the bot connected".to_string(),
        "command" => format!("with `/reconcile`{by}"),
        "dry-run" => format!("a dry run of `/reconcile`{by}"),
        other => other.to_string(),
    };
    let mut out = match r.finished_at {
        None => format!("Started {} ({how}), not finished.", relative(r.started_at)),
        Some(_) => format!(
            "{} ({how}, policy {}): found {}, repaired {}, reported {}, failed {}.",
            relative(r.started_at),
            r.policy,
            r.found,
            r.repaired,
            r.reported,
            r.failed
        ),
    };
    let summary: Vec<&str> = r.summary.lines().filter(|l| !l.trim().is_empty()).take(5).collect();
    if !summary.is_empty() {
        out.push('\n');
        out.push_str(&summary.iter().map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n"));
    }
    out
}

fn queue(f: &Facts) -> String {
    let q = &f.queue;
    let oldest = q.oldest_due.map(|t| format!(" (the oldest due {})", relative(t))).unwrap_or_default();
    let closed = match q.closed_dms {
        0 => "No member has closed their DMs to me.".to_string(),
        n => format!("{n} member(s) have closed their DMs to me: they get no DMs (and leaders no request cards) until they open them."),
    };
    format!("{} waiting{oldest}; {} failed in the last day. {closed}", q.waiting, q.failed_last_day)
}

fn role_queue(f: &Facts) -> String {
    let q = &f.role_queue;
    if q.waiting == 0 {
        return "Nothing waiting: every membership's role is as Postgres says.".to_string();
    }
    format!(
        "{} waiting for Discord, the oldest for {}; lately applied at {:.1} a second.",
        q.waiting,
        crate::views::pace::seconds(q.oldest_seconds as u64),
        q.per_second
    )
}

fn requests(f: &Facts) -> String {
    let r = &f.requests;
    let oldest = r.oldest.map(|t| format!(", the oldest since {}", relative(t))).unwrap_or_default();
    format!(
        "{} pending{oldest}; {} past the leaders' reminder ({}), {} past the admins' alert ({}).",
        r.pending,
        r.past_remind,
        hours(r.sla.remind_hours),
        r.past_alert,
        hours(r.sla.escalate_hours)
    )
}

/// The whole report.
pub fn render(c: &Checked) -> CreateEmbed {
    let bot_role = &c.facts.server.bot_role;
    let mut ordered: Vec<&Finding> = c.findings.iter().filter(|f| f.severity() == Severity::Problem).collect();
    let problems = ordered.len();
    ordered.extend(c.findings.iter().filter(|f| f.severity() == Severity::Warning));
    let warnings = ordered.len() - problems;
    let description = if ordered.is_empty() {
        "✅ **All good.** I checked my permissions (server-wide, and in the mod, requests, directory and group channels), every group's role and channel, the bucket categories, Discord's limits, the last reconcile, the DM queue and the join requests: nothing needs fixing.".to_string()
    } else {
        let mut d = format!(
            "Found {problems} problem(s) and {warnings} warning(s). Each line says how to fix it; run `/health` again afterwards.\n"
        );
        for (i, f) in ordered.iter().enumerate() {
            let l = format!("\n{}", line(f, bot_role));
            let rest = ordered.len() - i;
            let tail = format!("\n…and {rest} more: fix these first, then run `/health` again.");
            if d.chars().count() + l.chars().count() + tail.chars().count() > DESCRIPTION_MAX {
                d.push_str(&tail);
                break;
            }
            d.push_str(&l);
        }
        d
    };
    CreateEmbed::new()
        .title("Server health")
        .description(description)
        .field("Discord's limits", clip(&limits(&c.facts), 300), false)
        .field("Last full reconcile", clip(&last_run(&c.facts), 700), false)
        .field("DM queue", clip(&queue(&c.facts), 300), false)
        .field("Role changes", clip(&role_queue(&c.facts), 300), false)
        .field("Join requests", clip(&requests(&c.facts), 300), false)
        .field(
            "Gateway latency",
            c.facts.latency_ms.map_or_else(|| "Not measured yet.".to_string(), |ms| format!("{ms} ms")),
            false,
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::group::Bucket;

    fn every_finding() -> Vec<Finding> {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        vec![
            Finding::ServerPermissions { missing: channels::MANAGE_ROLES },
            Finding::ChannelGone { place: Place::Group("Rust".into()), channel_id: 7 },
            Finding::ChannelGone { place: Place::Configured(Use::Mod), channel_id: 7 },
            Finding::ChannelKind { place: Place::Configured(Use::Requests), channel_id: 7 },
            Finding::ChannelPermissions { place: Place::Configured(Use::Directory), channel_id: 7, missing: 1 << 11 },
            Finding::RoleGone { group: "Rust".into(), role_id: 5 },
            Finding::RoleAboveBot { group: "Rust".into(), role: "Rust".into(), notify: false },
            Finding::RoleElevated { group: "Rust".into(), role: "Rust".into(), permissions: 1 << 3 },
            Finding::CategoryGone { bucket: Bucket::Interest, channel_id: 7 },
            Finding::Headroom { limit: Limit::Roles, used: 230, full: false },
            Finding::Headroom { limit: Limit::Category(Bucket::Impact), used: 50, full: true },
            Finding::ReconcileFailed { failed: 1 },
            Finding::ReconcileReported { reported: 1 },
            Finding::ReconcileUnapplied { found: 1 },
            Finding::ReconcileUnfinished { started_at: t },
            Finding::DmsLate { count: 1 },
            Finding::DmsFailed { count: 1 },
            Finding::AlertsUndelivered { count: 1 },
            Finding::RequestsOverdue { count: 1, hours: 72 },
            Finding::DiscordRetries { leftovers: 0, notify_syncs: 2 },
            Finding::RoleQueueSlow { waiting: 3, oldest_seconds: 130 },
            Finding::SlowGateway { ms: 2000 },
        ]
    }

    #[test]
    fn every_finding_is_one_line_with_its_fix() {
        for f in every_finding() {
            let l = line(&f, "Guildhall");
            assert!(!l.contains('\n'), "{l}");
            assert!(l.contains(" **Fix:** "), "{l}");
            assert!(l.starts_with(if f.severity() == Severity::Problem { "❌" } else { "⚠️" }), "{l}");
        }
        let l = line(&every_finding()[6], "Guild*hall");
        assert!(l.contains("drag **Guild\\*hall** above **Rust**"), "role names lose their markdown: {l}");
        let l = line(&every_finding()[4], "Guildhall");
        assert!(l.contains("I'm missing Send Messages in the directory's channel <#7>"), "{l}");
        let l = line(&every_finding()[9], "Guildhall");
        assert!(l.contains("230 of Discord's 250 roles") && l.contains("20 left"), "{l}");
        let l = line(&Finding::DiscordRetries { leftovers: 0, notify_syncs: 2 }, "Guildhall");
        assert!(l.contains(": 2 follower(s)' notification roles are out of step."), "{l}");
        assert!(!l.contains("role(s) or channel(s)"), "only what waits is named: {l}");
        let l = line(&every_finding()[10], "Guildhall");
        assert!(l.contains("**Impact** category holds 50 channels, Discord's limit of 50"), "{l}");
        let l = line(&Finding::RoleQueueSlow { waiting: 300, oldest_seconds: 200 }, "Guildhall");
        assert!(l.contains("300 member-role change(s) wait for Discord, the oldest for 4 minutes"), "{l}");
        assert!(l.contains("clears by itself"), "with what to do: {l}");
    }

    fn checked(findings: Vec<Finding>) -> Checked {
        use crate::domain::health::{Configured, Queue, Requests, Server};
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let facts = Facts {
            server: Server {
                bot_permissions: 0,
                bot_top: 1,
                bot_role: "Guildhall".into(),
                roles: vec![],
                channels: vec![],
            },
            groups: vec![],
            buckets: vec![(Bucket::Interest, 3)],
            configured: Configured::default(),
            last_run: None,
            queue: Queue::default(),
            role_queue: Default::default(),
            retries: Default::default(),
            requests: Requests {
                sla: crate::domain::sla::Sla::default(),
                pending: 0,
                past_remind: 0,
                past_alert: 0,
                alerts_undelivered: 0,
                oldest: None,
            },
            latency_ms: None,
            now,
        };
        Checked { facts, findings }
    }

    fn description(c: &Checked) -> String {
        serde_json::to_value(render(c)).unwrap()["description"].as_str().unwrap().to_string()
    }

    #[test]
    fn a_healthy_server_is_told_so_plainly_and_problems_come_before_warnings() {
        let d = description(&checked(vec![]));
        assert!(d.starts_with("✅ **All good.**"), "{d}");
        let d = description(&checked(vec![
            Finding::SlowGateway { ms: 2000 },
            Finding::RoleGone { group: "Rust".into(), role_id: 5 },
        ]));
        assert!(d.starts_with("Found 1 problem(s) and 1 warning(s)."), "{d}");
        assert!(d.find("❌").unwrap() < d.find("⚠️").unwrap(), "{d}");
    }

    #[test]
    fn many_findings_fit_the_embed_and_say_how_many_more() {
        let many: Vec<Finding> = (0..300)
            .map(|i| Finding::ChannelPermissions {
                place: Place::Group(format!("Group {i}")),
                channel_id: 1_000_000_000_000_000_000 + i,
                missing: Use::Group.needs(),
            })
            .collect();
        let c = checked(many);
        let d = description(&c);
        assert!(d.chars().count() <= DESCRIPTION_MAX, "{}", d.chars().count());
        assert!(d.contains("more: fix these first"), "{d}");
        let v = serde_json::to_value(render(&c)).unwrap();
        let total: usize = v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().chars().count() + f["value"].as_str().unwrap().chars().count())
            .sum::<usize>()
            + d.chars().count()
            + v["title"].as_str().unwrap().chars().count();
        assert!(total <= 6000, "Discord's limit for an embed: {total}");
    }
}
