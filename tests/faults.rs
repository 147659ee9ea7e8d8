//! The fault matrix (N4, N5): every flow that changes Discord is run once
//! to record the calls it makes that change something (everything but
//! reads and the answers to the interactions themselves), then once more
//! for each of those calls and each way Discord fails:
//!
//! - 403 Missing Permissions (50013),
//! - 404 with the route's unknown-object code,
//! - 429 with a `retry_after`,
//! - 500,
//! - an answer held for 3.5 s (the work done at once),
//! - the gateway closed right after the call.
//!
//! After each run: every interaction was answered within Discord's 3 s and
//! the answer is plain words (no HTTP status, no error code, nothing empty),
//! Postgres and the guild agree (`Sim::differences`), no message was posted
//! twice (nowhere more copies of a text than in the recorded run), nobody
//! was pinged whom the flow did not expect, and the bot kept to Discord's
//! contract (each request as it arrived; and in the recorded run, where
//! nothing is injected, Discord refused none of them, set-up included).
//! Where Postgres and the guild disagree after the flow, the
//! bot's own repair is given its bound first (the next background pass, a
//! minute on its clock, retries what Discord refused), then the flow's
//! documented repair if it has one (`/reconcile` for the reconcile flow);
//! such a cell is "ok(r)". The matrix is printed (flow × call × fault) and
//! the test fails on any cell that is not ok.
//!
//! A flow is listed in `FLOWS`; the commands and buttons it uses are found
//! from the recorded runs, and `every_command_that_changes_discord_is_in_a_flow`
//! fails when a registered command is in no flow and not declared read-only,
//! so a new command can't be left out by forgetting.

#[allow(dead_code)]
#[path = "scenarios/sim.rs"]
mod sim;

use fake_discord::scenario::message_text;
use fake_discord::server::route_of;
use fake_discord::{Actor, Fault, Reply};
use sim::{ask, button, card, group, make_leader, Sim};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

type Fut<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
type FlowFn = for<'a> fn(&'a mut Run) -> Fut<'a>;

/// One way Discord fails a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Failure {
    Forbidden,
    Unknown,
    RateLimited,
    ServerError,
    Slow,
    GatewayDropped,
}

const FAILURES: [Failure; 6] = [
    Failure::Forbidden,
    Failure::Unknown,
    Failure::RateLimited,
    Failure::ServerError,
    Failure::Slow,
    Failure::GatewayDropped,
];

impl Failure {
    fn label(self) -> &'static str {
        match self {
            Failure::Forbidden => "403",
            Failure::Unknown => "404",
            Failure::RateLimited => "429",
            Failure::ServerError => "500",
            Failure::Slow => "slow",
            Failure::GatewayDropped => "gw-drop",
        }
    }

    fn fault(self, call: &Call) -> Fault {
        let m = call.method.as_str();
        let f = match self {
            Failure::Forbidden => Fault::missing_permissions(m, ""),
            Failure::Unknown => {
                let (code, message) = unknown_object(m, &call.route);
                Fault::status(m, "", 404, code, message)
            }
            Failure::RateLimited => Fault::rate_limited(m, "", 0.3),
            Failure::ServerError => Fault::server_error(m, ""),
            Failure::Slow => Fault::slow_answer(m, "", Duration::from_millis(3500)),
            Failure::GatewayDropped => Fault::gateway_dropped_after(m, ""),
        };
        f.on_route(m, &call.route).skip(call.nth)
    }
}

/// The JSON error code Discord answers a 404 on this route with
/// (topics/opcodes-and-status-codes.md, "JSON Error Codes").
fn unknown_object(method: &str, route: &str) -> (u64, &'static str) {
    let segs: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    if route.contains("/messages/") {
        (10008, "Unknown Message")
    } else if route.contains("/members/") || route.contains("/thread-members/") {
        (10007, "Unknown Member")
    } else if route.contains("/bans/") || route.starts_with("/users/") {
        (10013, "Unknown User")
    } else if route.contains("/roles/") {
        (10011, "Unknown Role")
    } else if segs.first() == Some(&"guilds") && segs.len() <= 3 && method == "POST" {
        (10004, "Unknown Guild")
    } else {
        (10003, "Unknown Channel")
    }
}

/// A call a flow made: the `nth` (from 0) call of `method` on `route`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    method: String,
    route: String,
    nth: usize,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.route)?;
        if self.nth > 0 {
            write!(f, " #{}", self.nth + 1)?;
        }
        Ok(())
    }
}

/// Whether a request is one the matrix fails: it changes something in
/// Discord, and it is not the answer to an interaction (if Discord can't
/// take the answer, no bot can answer) nor the commands' registration.
fn changes_discord(method: &str, path: &str) -> bool {
    let route = route_of(path);
    method != "GET"
        && !route.starts_with("/interactions/")
        && !route.starts_with("/webhooks/")
        && !route.starts_with("/applications/")
}

/// What one run of a flow left behind.
#[derive(Default)]
struct Outcome {
    calls: Vec<Call>,
    /// Texts of the bot's messages, counted by where they are.
    posted: BTreeMap<(String, String), usize>,
    /// Commands used and buttons pressed (by custom-id kind).
    used: BTreeSet<String>,
    problems: Vec<String>,
    /// Postgres and Discord agreed only after the flow's repair.
    repaired: bool,
    /// What each answer said.
    answers: Vec<String>,
}

/// A flow being run: the sim, the failure to inject when the recorded part
/// begins, the answers to check.
struct Run {
    sim: Sim,
    fault: Option<Fault>,
    begun_at: Option<usize>,
    replies: Vec<Reply>,
    /// Commands used and custom-id kinds pressed in the recorded part.
    used: BTreeSet<String>,
    /// What the flow itself found wrong (e.g. a DM never delivered).
    problems: Vec<String>,
}

impl Run {
    /// Everything from here on is the recorded part: the failure (if any)
    /// is injected now, once the setup's work is done.
    async fn begin(&mut self) {
        self.sim.idle().await;
        self.begun_at = Some(self.sim.fake.with(|w| w.requests.len()));
        if let Some(f) = self.fault.take() {
            self.sim.fake.inject(f);
        }
    }

    /// Keep an answer to check; wait for the gateway first, so a user acts
    /// only on a bot that can hear them (after a dropped connection the
    /// bot resumes; Discord would not deliver the interaction before).
    fn keep(&mut self, r: Reply) -> Reply {
        self.replies.push(r.clone());
        r
    }

    async fn connected(&self) {
        self.sim.fake.wait_for_bot().await;
    }

    async fn slash(&mut self, who: &Actor, command: &str, options: &[(&str, &str)]) -> Reply {
        self.connected().await;
        self.used.insert(format!("/{command}"));
        let r = who.slash(command, options).await;
        self.keep(r)
    }

    async fn click(&mut self, who: &Actor, message: u64, custom_id: &str) -> Reply {
        self.connected().await;
        self.used.insert(kind_of(custom_id));
        let r = who.click(message, custom_id).await;
        self.keep(r)
    }

    async fn select(&mut self, who: &Actor, message: u64, custom_id: &str, values: &[&str]) -> Reply {
        self.connected().await;
        self.used.insert(kind_of(custom_id));
        let r = who.select(message, custom_id, values).await;
        self.keep(r)
    }

    async fn message_command(&mut self, who: &Actor, name: &str, message: u64) -> Reply {
        self.connected().await;
        self.used.insert(name.to_string());
        let r = who.message_command(name, message).await;
        self.keep(r)
    }

    /// Press the button labelled `label` on an answer.
    async fn press(&mut self, answer: &Reply, label: &str) -> Reply {
        let who = answer.user.clone();
        let m = answer.messages().into_iter().find(|m| message_has(m, label)).expect("the button is there");
        self.click(&who, m.id, &button(&m, label)).await
    }

    async fn submit(&mut self, who: &Actor, modal: &fake_discord::Modal, values: &[(&str, &str)]) -> Reply {
        self.connected().await;
        self.used.insert(kind_of(&modal.custom_id));
        let r = who.submit(modal, values).await;
        self.keep(r)
    }
}

/// A custom id's kind: its first two parts (`gh:rqa` of `gh:rqa:12`).
fn kind_of(custom_id: &str) -> String {
    custom_id.split(':').take(2).collect::<Vec<_>>().join(":")
}

/// Every `CustomId` kind (`sim::every_custom_id` lists every variant;
/// `forged.rs` checks it against an exhaustive `match`, so a new variant
/// is listed, and then it must be pressed in a flow or be in
/// `NOT_IN_A_FLOW`).
fn every_custom_id_kind() -> BTreeSet<String> {
    let rows = sim::Rows { group: 1, request: 1, application: 1, invitation: 1, version: 1, newest_audit: 1 };
    sim::every_custom_id(&rows).iter().map(|c| kind_of(&c.encode())).collect()
}

/// Run `flow` in a new sim, with `fault` injected when it begins; when
/// Postgres and Discord disagree afterwards, run `repair` (the flow's
/// documented way back) and look again.
async fn run_flow(flow: FlowFn, repair: Option<FlowFn>, fault: Option<Fault>) -> Outcome {
    let clean = fault.is_none();
    // Groups' followers through the notification role from the first one
    // (NOTIFY_BY_NAME_MAX=0), so the role's grants and revokes are in the
    // matrix too (by name, below the limit, a join makes no such call).
    let sim = Sim::start_with_notify_roles().await;
    let mut run = Run { sim, fault, begun_at: None, replies: Vec::new(), used: BTreeSet::new(), problems: Vec::new() };
    flow(&mut run).await;
    run.sim.idle().await;
    let mut out = Outcome { problems: std::mem::take(&mut run.problems), ..Outcome::default() };
    let sim = &run.sim;
    let begun = run.begun_at.expect("the flow called begin()");

    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (method, path, _) in sim.fake.with(|w| w.requests[begun..].to_vec()) {
        if changes_discord(&method, &path) {
            let route = route_of(&path);
            let nth = seen.entry((method.clone(), route.clone())).or_default();
            out.calls.push(Call { method, route, nth: *nth });
            *nth += 1;
        }
    }

    // What no check of a single request sees: with no fault injected,
    // Discord refused nothing the bot sent in the whole run, set-up
    // included (every request's route, method and body were already
    // checked against the spec as they arrived; a refusal is Discord's
    // answer, not a violation of the contract, so only the run shows it).
    if clean {
        let refused: Vec<String> = sim.fake.with(|w| {
            w.requests.iter().filter(|(_, _, status)| *status >= 400).map(|(m, p, s)| format!("{m} {p}: {s}")).collect()
        });
        if !refused.is_empty() {
            out.problems.push(format!("Discord refused what the bot sent with no fault injected: {refused:?}"));
        }
    }

    // The answers: in time (the fake records late, double and missing
    // answers as violations) and in words.
    for r in &run.replies {
        if r.callback_type() == 9 {
            continue; // a form opened; its submission is checked
        }
        let text = r.text();
        if text.trim().is_empty() {
            out.problems.push(format!("interaction {} answered with nothing to read", r.interaction_id));
        }
        for leak in ["HTTP", "Http", "status code", "Internal Server Error", "panicked", "error sending", "Unknown "] {
            if text.contains(leak) {
                out.problems.push(format!("the answer shows {leak:?}: {text}"));
            }
        }
    }
    out.used = std::mem::take(&mut run.used);
    out.answers = run.replies.iter().filter(|r| r.callback_type() != 9).map(|r| r.text()).collect();
    if std::env::var("FAULT_RECORD_ONLY").is_ok() {
        for r in &run.replies {
            println!("  answer: {}", r.text().replace('\n', " / "));
        }
    }

    // What the bot repairs by itself: a background pass (a minute on the
    // bot's clock) retries what Discord refused (notification-role syncs,
    // DMs). Then the flow's own documented repair, if it has one.
    let mut differences = sim.settled_differences().await;
    if !differences.is_empty() {
        out.repaired = true;
        next_pass(&mut run).await;
        differences = run.sim.settled_differences().await;
    }
    if let (false, Some(repair)) = (differences.is_empty(), repair) {
        let texts = run.replies.len();
        repair(&mut run).await;
        run.sim.idle().await;
        differences = run.sim.settled_differences().await;
        match run.replies[texts..].last() {
            Some(last) if last.text().contains("repaired") => {}
            Some(last) => out.problems.push(format!("the repair's last answer: {}", last.text())),
            None => out.problems.push("the repair answered nothing".into()),
        }
    }
    let sim = &run.sim;
    out.problems.extend(differences);

    out.posted = sim.fake.with(|w| {
        let bot = w.bot_user_id;
        let mut posted = BTreeMap::new();
        for (channel, messages) in &w.messages {
            let place = w.channels.get(channel).map_or_else(
                || "?".to_string(),
                |c| match c.owner_id.and_then(|o| w.users.get(&o)).filter(|_| c.guild_id.is_none()) {
                    Some(u) => format!("DM {}", u.username),
                    None => format!("#{}", c.name),
                },
            );
            for m in messages.iter().filter(|m| m.author_id == bot && m.interaction_id.is_none()) {
                *posted.entry((place.clone(), normalized(&message_text(m)))).or_default() += 1;
            }
        }
        posted
    });

    out.problems.extend(sim.fake.violations());
    out.problems.extend(sim.unexpected_pings());
    // Reported here, not again when the sim is dropped.
    sim.fake.mutate(|w| {
        w.violations.clear();
        w.pings.clear();
    });
    out
}

/// `run_flow` on a runtime of its own, so that everything the run started
/// (the bot, its pools, the fake) ends with it, whether it finished or
/// panicked; a panic is returned as its message.
async fn isolated(flow: FlowFn, repair: Option<FlowFn>, fault: Option<Fault>) -> Result<Outcome, String> {
    let run = tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let out = rt.block_on(run_flow(flow, repair, fault));
        rt.shutdown_timeout(Duration::from_secs(5));
        out
    });
    run.await.map_err(|e| {
        let why = e.try_into_panic().ok().and_then(|p| {
            p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        });
        format!("panicked: {}", why.unwrap_or_default())
    })
}

/// A text with its numbers (ids, times, counts that depend on the run's
/// ids) blanked, to compare texts across runs.
fn normalized(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

// The flows. Each sets up what it needs, calls `begin`, then does what a
// user or the bot's background passes do; it doesn't assert success (a
// failure's answer is checked by the harness) but stops when a step it
// depends on did not happen.

fn create(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let ada = r.sim.admin("ada");
        r.begin().await;
        r.slash(&ada, "group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    })
}

fn adopt(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let ada = r.sim.admin("ada");
        let role = r.sim.fake.create_role_by_hand("Seniors", 0, false);
        let bob = r.sim.member("bob");
        r.sim.fake.give_role(bob.user_id, role);
        r.begin().await;
        let role = role.to_string();
        r.slash(
            &ada,
            "group adopt",
            &[("name", "Seniors"), ("bucket", "Interest"), ("visibility", "Open"), ("role", &role)],
        )
        .await;
    })
}

fn edit(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let ada = r.sim.admin("ada");
        group(&r.sim, &ada, "Rust", "Open").await;
        let bob = r.sim.member("bob");
        bob.slash("join", &[("group", "Rust")]).await;
        r.begin().await;
        r.slash(&ada, "group edit", &[("group", "Rust"), ("name", "Rustaceans"), ("visibility", "Closed")]).await;
    })
}

/// An open group Rust that bob has joined; returns the admin and bob.
async fn joined(r: &mut Run) -> (Actor, Actor) {
    let ada = r.sim.admin("ada");
    group(&r.sim, &ada, "Rust", "Open").await;
    let bob = r.sim.member("bob");
    bob.slash("join", &[("group", "Rust")]).await;
    (ada, bob)
}

fn archive(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, _) = joined(r).await;
        r.begin().await;
        r.slash(&ada, "group archive", &[("group", "Rust")]).await;
    })
}

fn delete(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, _) = joined(r).await;
        r.begin().await;
        let asked = r.slash(&ada, "group delete", &[("group", "Rust")]).await;
        if !asked.messages().iter().any(|m| message_has(m, "Delete group")) {
            return;
        }
        r.press(&asked, "Delete group").await;
    })
}

fn join(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let ada = r.sim.admin("ada");
        group(&r.sim, &ada, "Rust", "Open").await;
        let bob = r.sim.member("bob");
        r.begin().await;
        r.slash(&bob, "join", &[("group", "Rust")]).await;
    })
}

fn leave(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (_, bob) = joined(r).await;
        r.begin().await;
        r.slash(&bob, "leave", &[("group", "Rust")]).await;
    })
}

fn remove(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, bob) = joined(r).await;
        r.begin().await;
        let user = bob.user_id.to_string();
        r.slash(&ada, "group remove", &[("group", "Rust"), ("user", &user), ("reason", "spam")]).await;
    })
}

fn ban(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, bob) = joined(r).await;
        r.begin().await;
        r.slash(&ada, "group ban", &[("group", "Rust"), ("user", &bob.user_id.to_string()), ("reason", "spam")]).await;
    })
}

/// A closed group Rust led by lena, a requests channel; returns lena.
async fn closed_group(r: &mut Run) -> (Actor, Actor) {
    let ada = r.sim.admin("ada");
    let lena = r.sim.member("lena");
    group(&r.sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    r.sim.requests_channel(&ada).await;
    (ada, lena)
}

/// The private review thread of the requests channel's group, if any.
fn review_thread(sim: &Sim) -> Option<u64> {
    sim.fake.with(|w| {
        w.channels.values().find(|c| c.kind == fake_discord::world::channel_type::PRIVATE_THREAD).map(|c| c.id)
    })
}

fn message_has(m: &fake_discord::world::Message, label: &str) -> bool {
    fake_discord::scenario::components_of(m).iter().any(|b| b.label == label)
}

fn has_card(sim: &Sim, channel: u64) -> bool {
    sim.fake.with(|w| w.channel_messages(channel).iter().any(|m| m.embeds.as_array().is_some_and(|e| !e.is_empty())))
}

/// bob asks to join; lena presses `label` on the card.
async fn request_then(r: &mut Run, label: &str) -> Option<Reply> {
    let (_, lena) = closed_group(r).await;
    let bob = r.sim.member("bob");
    r.begin().await;
    r.slash(&bob, "request-join", &[("group", "Rust"), ("message", "I write Rust daily")]).await;
    let thread = review_thread(&r.sim)?;
    press_on_card(r, &lena, thread, label).await
}

/// `who` presses `label` on the newest card in `channel`, if there is one
/// with that button.
async fn press_on_card(r: &mut Run, who: &Actor, channel: u64, label: &str) -> Option<Reply> {
    if !has_card(&r.sim, channel) {
        return None;
    }
    let c = card(&r.sim, channel);
    let id = fake_discord::scenario::components_of(&c).into_iter().find(|b| b.label == label)?.custom_id;
    Some(r.click(who, c.id, &id).await)
}

fn request_approve(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        request_then(r, "Approve").await;
    })
}

fn request_deny(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let Some(form) = request_then(r, "Deny").await else { return };
        if form.callback_type() != 9 {
            return;
        }
        let lena = r.sim.fake.actor(form.user.user_id);
        r.submit(&lena, &form.modal(), &[("reason", "Please introduce yourself first")]).await;
    })
}

fn invite_accept(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (_, lena) = closed_group(r).await;
        let bob = r.sim.member("bob");
        r.begin().await;
        r.slash(&lena, "invite", &[("user", &bob.user_id.to_string()), ("group", "Rust")]).await;
        let Some(c) = bob
            .dms()
            .into_iter()
            .rev()
            .find(|m| fake_discord::scenario::components_of(m).iter().any(|b| b.label == "Accept"))
        else {
            return;
        };
        r.click(&bob, c.id, &button(&c, "Accept")).await;
    })
}

fn lead_proposal_approve(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let ada = r.sim.admin("ada");
        let mods = r.sim.mod_channel(&ada).await;
        let alice = r.sim.member("alice");
        r.begin().await;
        let form = r.slash(&alice, "lead apply", &[("bucket", "Interest")]).await;
        if form.callback_type() != 9 {
            return;
        }
        let values = [
            ("name", "Rust"),
            ("description", "Crabs"),
            ("motivation", "I run the local meetup"),
            ("experience", "Moderated two servers"),
            ("hours", "5"),
        ];
        r.submit(&alice, &form.modal(), &values).await;
        press_on_card(r, &ada, mods, "Approve").await;
    })
}

fn subscribe_unsubscribe(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (_, bob) = joined(r).await;
        // Joining subscribed bob; he stops following, then follows again.
        r.begin().await;
        r.slash(&bob, "subscribe", &[("group", "Rust")]).await;
        r.slash(&bob, "subscribe", &[("group", "Rust")]).await;
    })
}

fn notification_modes(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (_, bob) = joined(r).await;
        r.begin().await;
        r.slash(&bob, "notifications", &[("mode", "Direct message for each")]).await;
        r.slash(&bob, "notifications", &[("mode", "Mentions in Discord (default)")]).await;
    })
}

fn topic_to_dm_followers(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, erin) = joined(r).await;
        erin.slash("notifications", &[("mode", "Direct message for each")]).await;
        let channel = r.sim.fake.channel_named("rust").expect("the group's channel").id;
        let _ = ada;
        let dave = r.sim.member("dave");
        dave.slash("join", &[("group", "Rust")]).await;
        r.begin().await;
        r.connected().await;
        let topic = dave.create_topic(channel, "Lifetimes", "How do they work?");
        // The DM queue retries on its own, with backoff on the bot's clock:
        // once the bot is idle, time moves a minute (past the first backoff)
        // and the background pass runs what is due; three times at most.
        let needle = format!("<#{topic}>");
        let heard = || erin.dms().iter().any(|m| m.content.contains(&needle));
        for _ in 0..3 {
            r.sim.idle().await;
            if heard() {
                break;
            }
            r.sim.clock.advance(chrono::Duration::minutes(1)).await;
        }
        if !heard() {
            r.problems.push("erin (DM mode) never got the new topic".into());
        }
    })
}

fn sla_pass(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (_, lena) = closed_group(r).await;
        r.sim.expect_ping(lena.user_id); // reminders ping the leaders
        let bob = r.sim.member("bob");
        ask(&bob, "Rust", None).await;
        r.begin().await;
        // Past the first reminder (24 h by default), then past expiry.
        r.sim.clock.advance(chrono::Duration::hours(25)).await;
        r.sim.clock.advance(chrono::Duration::days(15)).await;
    })
}

fn unarchive(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, _) = joined(r).await;
        ada.slash("group archive", &[("group", "Rust")]).await;
        r.begin().await;
        r.slash(&ada, "group unarchive", &[("group", "Rust")]).await;
    })
}

/// The directory posted, kept current through a join, removed.
fn directory(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let ada = r.sim.admin("ada");
        group(&r.sim, &ada, "Rust", "Open").await;
        let bob = r.sim.member("bob");
        let general = r.sim.fake.general_channel().to_string();
        r.begin().await;
        r.slash(&ada, "directory post", &[("channel", &general)]).await;
        r.slash(&bob, "join", &[("group", "Rust")]).await;
        r.slash(&ada, "directory remove", &[]).await;
    })
}

/// A leader added to a closed group with a request waiting (they join its
/// review thread), then removed.
fn leaders(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, _) = closed_group(r).await;
        let bob = r.sim.member("bob");
        ask(&bob, "Rust", None).await;
        let mia = r.sim.member("mia");
        let user = mia.user_id.to_string();
        r.begin().await;
        r.slash(&ada, "group leader add", &[("group", "Rust"), ("user", &user)]).await;
        r.slash(&ada, "group leader remove", &[("group", "Rust"), ("user", &user)]).await;
    })
}

/// The server's default mode changes under a follower who never chose.
fn server_notification_mode(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, _) = joined(r).await;
        r.begin().await;
        r.slash(&ada, "config notification-mode", &[("mode", "Direct message for each")]).await;
        // The followers are brought in step in the background: done before
        // the admin changes it back, so the flow's calls come in one order.
        r.sim.idle().await;
        r.slash(&ada, "config notification-mode", &[("mode", "Mentions in Discord (default)")]).await;
    })
}

const RESTORE: &str = "restore: the role is put back as Guildhall's records say";

/// The server reports hand changes; bob's role was taken by hand (the
/// mod channel was told); an admin repairs it with `/reconcile`.
fn reconcile(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, bob) = joined(r).await;
        let staff = r.sim.mod_channel(&ada).await;
        ada.slash("config reconcile-policy", &[("policy", "report: change nothing, tell admins")]).await;
        let role = r.sim.fake.role_named("Rust").expect("role").id;
        r.sim.fake.take_role(bob.user_id, role);
        r.sim
            .fake
            .wait_until("the admins are told", move |w| {
                w.channel_messages(staff).iter().any(|m| m.content.contains("taken by hand"))
            })
            .await;
        r.begin().await;
        reconcile_apply(r, &ada).await;
    })
}

async fn reconcile_apply(r: &mut Run, ada: &Actor) {
    let dry = r.slash(ada, "reconcile", &[("policy", RESTORE)]).await;
    if dry.messages().iter().any(|m| message_has(m, "Apply")) {
        r.press(&dry, "Apply").await;
    }
}

/// The next background pass: a minute on the bot's clock.
fn next_pass(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        r.sim.clock.advance(chrono::Duration::minutes(1)).await;
        r.sim.idle().await;
    })
}

/// `/reconcile` again: what an admin does when a repair failed.
fn reconcile_again(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let ada = r.sim.admin("ada");
        reconcile_apply(r, &ada).await;
    })
}

/// The Group Page's buttons: join, stop following, leave.
fn group_page(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let ada = r.sim.admin("ada");
        group(&r.sim, &ada, "Rust", "Open").await;
        let bob = r.sim.member("bob");
        r.begin().await;
        let page = r.slash(&bob, "group info", &[("group", "Rust")]).await;
        if !page.messages().iter().any(|m| message_has(m, "Join group")) {
            return;
        }
        r.press(&page, "Join group").await;
        let page = r.slash(&bob, "group info", &[("group", "Rust")]).await;
        if page.messages().iter().any(|m| message_has(m, "Unsubscribe")) {
            r.press(&page, "Unsubscribe").await;
        }
        if page.messages().iter().any(|m| message_has(m, "Leave group")) {
            r.press(&page, "Leave group").await;
        }
    })
}

/// Guidelines set: the Group Page's *Join group* asks first; *I agree*
/// joins. On a closed group, *Send request to join* asks too, and *I
/// agree* sends the request.
fn guidelines_then_join_and_request(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, lena) = closed_group(r).await;
        group(&r.sim, &ada, "Go", "Open").await;
        r.sim.set_guidelines(&ada, "Be kind.").await;
        let bob = r.sim.member("bob");
        r.begin().await;
        // bob is asked once (the guidelines are accepted per server), so
        // the request first: the button asks, *I agree* sends the request;
        // dave's join is asked, *I agree* joins.
        let dave = r.sim.member("dave");
        for (who, name, label) in [(&bob, "Rust", "Send request to join"), (&dave, "Go", "Join group")] {
            let page = r.slash(who, "group info", &[("group", name)]).await;
            if !page.messages().iter().any(|m| message_has(m, label)) {
                return;
            }
            let asked = r.press(&page, label).await;
            if !asked.messages().iter().any(|m| message_has(m, "I agree")) {
                return;
            }
            let mut agreed = r.press(&asked, "I agree").await;
            // Agreeing goes on to the group: a closed one offers the request.
            if agreed.messages().iter().any(|m| message_has(m, label)) {
                agreed = r.press(&agreed, label).await;
            }
            if agreed.callback_type() == 9 {
                r.submit(who, &agreed.modal(), &[("message", "I write Rust daily")]).await;
            }
        }
        // An invitation accepted asks for the guidelines too.
        let carol = r.sim.member("carol");
        r.slash(&lena, "invite", &[("user", &carol.user_id.to_string()), ("group", "Rust")]).await;
        let Some(c) = carol.dms().into_iter().rev().find(|m| message_has(m, "Accept")) else { return };
        let asked = r.click(&carol, c.id, &button(&c, "Accept")).await;
        if asked.messages().iter().any(|m| message_has(m, "I agree")) {
            r.press(&asked, "I agree").await;
        }
    })
}

/// bob asks to join, then withdraws the request from `/requests`.
fn request_withdraw(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        closed_group(r).await;
        let bob = r.sim.member("bob");
        ask(&bob, "Rust", None).await;
        r.begin().await;
        let list = r.slash(&bob, "requests", &[]).await;
        if let Some(label) = button_starting(&list, "Withdraw #") {
            r.press(&list, &label).await;
        }
    })
}

/// lena invites bob; bob declines from the DM.
fn invite_decline(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (_, lena) = closed_group(r).await;
        let bob = r.sim.member("bob");
        lena.slash("invite", &[("user", &bob.user_id.to_string()), ("group", "Rust")]).await;
        r.begin().await;
        let Some(c) = bob.dms().into_iter().rev().find(|m| message_has(m, "Decline")) else { return };
        r.click(&bob, c.id, &button(&c, "Decline")).await;
    })
}

/// lena invites bob, then revokes it from `/invites`.
fn invite_revoke(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (_, lena) = closed_group(r).await;
        let bob = r.sim.member("bob");
        lena.slash("invite", &[("user", &bob.user_id.to_string()), ("group", "Rust")]).await;
        r.begin().await;
        let list = r.slash(&lena, "invites", &[]).await;
        if let Some(label) = button_starting(&list, "Revoke #") {
            r.press(&list, &label).await;
        }
    })
}

/// alice applies to lead Rust; an admin declines with a reason.
fn lead_decline(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, mods) = lead_setup(r).await;
        let alice = r.sim.member("alice");
        let form = alice.slash("lead apply", &[("group", "Rust")]).await;
        if form.callback_type() == 9 {
            alice.submit(&form.modal(), &[("motivation", "I care"), ("experience", "Some"), ("hours", "3")]).await;
        }
        r.begin().await;
        let Some(form) = press_on_card(r, &ada, mods, "Decline").await else { return };
        if form.callback_type() == 9 {
            r.submit(&ada, &form.modal(), &[("reason", "We have enough leaders")]).await;
        }
    })
}

/// alice applies to lead Rust, then withdraws from `/lead status`.
fn lead_withdraw(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        lead_setup(r).await;
        let alice = r.sim.member("alice");
        r.begin().await;
        let form = r.slash(&alice, "lead apply", &[("group", "Rust")]).await;
        if form.callback_type() != 9 {
            return;
        }
        r.submit(&alice, &form.modal(), &[("motivation", "I care"), ("experience", "Some"), ("hours", "3")]).await;
        let status = r.slash(&alice, "lead status", &[]).await;
        if let Some(label) = button_starting(&status, "Withdraw #") {
            r.press(&status, &label).await;
        }
    })
}

/// An open group Rust and a mod channel; returns the admin and the channel.
async fn lead_setup(r: &mut Run) -> (Actor, u64) {
    let ada = r.sim.admin("ada");
    group(&r.sim, &ada, "Rust", "Open").await;
    let mods = r.sim.mod_channel(&ada).await;
    (ada, mods)
}

/// bob follows two topics (in mention mode, a member of their threads);
/// unfollows one with the select of `/subscriptions`, then everything.
fn subscriptions_list(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (_, bob) = joined(r).await;
        let channel = r.sim.fake.channel_named("rust").expect("the group's channel").id;
        let dave = r.sim.member("dave");
        dave.slash("join", &[("group", "Rust")]).await;
        for title in ["One", "Two"] {
            let topic = dave.create_topic(channel, title, "a first post");
            bob.slash_in(topic, "subscribe", &[]).await;
        }
        // Each topic is announced to the group's followers: bob, by its role.
        if let Some(role) = r.sim.fake.role_named("Rust notify") {
            r.sim.expect_ping(role.id);
        }
        r.begin().await;
        let list = r.slash(&bob, "subscriptions", &[]).await;
        let Some((at, select)) = list.messages().into_iter().find_map(|m| {
            let s = fake_discord::scenario::components_of(&m).into_iter().find(|c| c.kind == 3)?;
            Some((m.id, s))
        }) else {
            return;
        };
        // The last option: a topic (groups are listed first).
        if let Some((_, value)) = select.options.last() {
            r.select(&bob, at, &select.custom_id, &[value]).await;
        }
        let list = r.slash(&bob, "subscriptions", &[]).await;
        if !list.messages().iter().any(|m| message_has(m, "Unsubscribe from all")) {
            return;
        }
        let sure = r.press(&list, "Unsubscribe from all").await;
        if sure.messages().iter().any(|m| message_has(m, "Unsubscribe from all")) {
            r.press(&sure, "Unsubscribe from all").await;
        }
    })
}

/// The label of the first button on an answer that starts with `prefix`.
fn button_starting(answer: &Reply, prefix: &str) -> Option<String> {
    answer
        .messages()
        .iter()
        .flat_map(fake_discord::scenario::components_of)
        .find(|b| b.label.starts_with(prefix))
        .map(|b| b.label)
}

/// Each flow, and what an admin does when the flow's own failure left
/// Postgres and Discord apart (its documented repair), if anything.
const FLOWS: &[(&str, FlowFn, Option<FlowFn>)] = &[
    ("create", create, None),
    ("adopt", adopt, None),
    ("edit", edit, None),
    ("archive", archive, None),
    ("delete", delete, None),
    ("join", join, None),
    ("leave", leave, None),
    ("remove", remove, None),
    ("ban", ban, None),
    ("request → approve", request_approve, None),
    ("request → deny", request_deny, None),
    ("invite → accept", invite_accept, None),
    ("lead proposal → approve", lead_proposal_approve, None),
    ("subscribe, unsubscribe", subscribe_unsubscribe, None),
    ("notification modes", notification_modes, None),
    ("new topic, DM follower", topic_to_dm_followers, None),
    ("SLA pass", sla_pass, None),
    ("reconcile", reconcile, Some(reconcile_again)),
    ("unarchive", unarchive, None),
    ("directory", directory, None),
    ("leaders", leaders, None),
    ("server notification mode", server_notification_mode, None),
    ("group page buttons", group_page, None),
    ("guidelines, join, request", guidelines_then_join_and_request, None),
    ("request → withdraw", request_withdraw, None),
    ("invite → decline", invite_decline, None),
    ("invite → revoke", invite_revoke, None),
    ("lead apply → decline", lead_decline, None),
    ("lead apply → withdraw", lead_withdraw, None),
    ("subscriptions list", subscriptions_list, None),
];

/// One cell's verdict.
fn verdict(recorded: &Outcome, run: &Outcome) -> Vec<String> {
    let mut problems = run.problems.clone();
    for ((place, text), n) in &run.posted {
        let want = recorded.posted.get(&(place.clone(), text.clone())).copied().unwrap_or(0);
        if *n > want.max(1) {
            problems.push(format!("posted {n} times in {place} (recorded: {want}): {text}"));
        }
    }
    problems
}

/// Registered commands (with their subcommands) as `/name sub`, and
/// message commands by name.
fn command_names(bodies: &[serde_json::Value]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for b in bodies {
        let name = b["name"].as_str().unwrap_or_default();
        if b["type"].as_u64().unwrap_or(1) != 1 {
            out.insert(name.to_string());
            continue;
        }
        let subs: Vec<&serde_json::Value> = b["options"]
            .as_array()
            .map(|o| o.iter().filter(|o| matches!(o["type"].as_u64(), Some(1 | 2))).collect())
            .unwrap_or_default();
        if subs.is_empty() {
            out.insert(format!("/{name}"));
        }
        for sub in subs {
            let sub_name = sub["name"].as_str().unwrap_or_default();
            let leaves: Vec<&serde_json::Value> = sub["options"]
                .as_array()
                .map(|o| o.iter().filter(|o| o["type"].as_u64() == Some(1)).collect())
                .unwrap_or_default();
            if sub["type"].as_u64() == Some(2) {
                for leaf in leaves {
                    out.insert(format!("/{name} {sub_name} {}", leaf["name"].as_str().unwrap_or_default()));
                }
            } else {
                out.insert(format!("/{name} {sub_name}"));
            }
        }
    }
    out
}

/// Commands in no flow, and why the matrix has nothing to fail in them.
const NOT_IN_A_FLOW: &[(&str, &str)] = &[
    ("/audit", "reads"),
    ("/config admin-role", "Postgres only"),
    ("/config guidelines", "Postgres only"),
    ("/config invitations", "Postgres only"),
    ("/config mod-channel", "Postgres only"),
    ("/config reconcile-policy", "Postgres only"),
    ("/config request-sla", "Postgres only"),
    ("/config requests-channel", "Postgres only"),
    ("/config returning-members", "Postgres only"),
    ("/config show", "reads"),
    ("/export", "reads"),
    ("/group criteria", "Postgres only"),
    ("/group invite-policy", "Postgres only"),
    ("/group stats", "reads"),
    ("/group unban", "Postgres only"),
    ("/groups", "reads"),
    ("/health", "reads"),
    ("/lead pending", "reads"),
    ("/stats", "reads"),
    ("Subscribe to post", "Postgres only"),
    ("gh:aud", "pages a read (the audit trail)"),
    ("gh:cfg", "the guidelines form: Postgres only"),
    ("gh:dir", "pages a read (the directory)"),
    ("gh:disagree", "cancels the guidelines prompt: nothing to do"),
    ("gh:gdelx", "cancels a deletion: nothing to do"),
    ("gh:subs", "pages a read (the subscriptions)"),
];

/// Every command of `NOT_IN_A_FLOW`, used as an admin or member would.
fn reads_and_settings(r: &mut Run) -> Fut<'_> {
    Box::pin(async move {
        let (ada, bob) = joined(r).await;
        let eve = r.sim.member("eve");
        let eve_id = eve.user_id.to_string();
        ada.slash("group ban", &[("group", "Rust"), ("user", &eve_id)]).await;
        let channel = r.sim.fake.channel_named("rust").expect("the group's channel").id;
        let topic = bob.create_topic(channel, "Hello", "first post");
        let post = bob.post_message(topic, "a post to follow", None);
        let general = r.sim.fake.general_channel().to_string();
        let admins = r.sim.fake.role_named("Admins").expect("the Admins role").id.to_string();
        r.begin().await;
        r.slash(&ada, "config admin-role", &[("role", &admins)]).await;
        let form = r.slash(&ada, "config guidelines", &[]).await;
        if form.callback_type() == 9 {
            r.submit(&ada, &form.modal(), &[("text", "Be kind.")]).await;
        }
        r.slash(&ada, "config invitations", &[("expiry_days", "5")]).await;
        r.slash(&ada, "config mod-channel", &[("channel", &general)]).await;
        r.slash(&ada, "config requests-channel", &[("channel", &general)]).await;
        r.slash(&ada, "config reconcile-policy", &[("policy", RESTORE)]).await;
        r.slash(&ada, "config request-sla", &[("remind_hours", "12")]).await;
        r.slash(&ada, "config returning-members", &[("restore", "false")]).await;
        r.slash(&ada, "config show", &[]).await;
        r.slash(&ada, "group criteria", &[("group", "Rust"), ("min_days_in_server", "1")]).await;
        r.slash(&ada, "group invite-policy", &[("group", "Rust"), ("members_can_invite", "true")]).await;
        r.slash(&ada, "group unban", &[("group", "Rust"), ("user", &eve_id)]).await;
        r.slash(&ada, "group info", &[("group", "Rust")]).await;
        r.slash(&ada, "group stats", &[("group", "Rust")]).await;
        r.slash(&ada, "groups", &[]).await;
        r.slash(&ada, "audit", &[]).await;
        r.slash(&ada, "export", &[]).await;
        r.slash(&ada, "health", &[]).await;
        r.slash(&ada, "stats", &[]).await;
        r.slash(&ada, "lead pending", &[]).await;
        r.slash(&bob, "lead status", &[]).await;
        r.slash(&bob, "invites", &[]).await;
        r.slash(&bob, "requests", &[]).await;
        r.slash(&bob, "subscriptions", &[]).await;
        r.message_command(&eve, "Subscribe to post", post).await;
        // The buttons that only page a read or cancel, each pressed once.
        use guildhall::custom_id::CustomId as C;
        let groups = r.slash(&ada, "groups", &[]).await.message().id;
        r.click(&ada, groups, &C::DirectoryPage { bucket: None, page: 0 }.encode()).await;
        let audit = r.slash(&ada, "audit", &[]).await.message().id;
        r.click(&ada, audit, &C::AuditPage { group_id: None, user_id: None, upto: i64::MAX, page: 0 }.encode()).await;
        let subs = r.slash(&bob, "subscriptions", &[]).await.message().id;
        r.click(&bob, subs, &C::SubscriptionsPage { page: 0 }.encode()).await;
        let asked = r.slash(&ada, "group delete", &[("group", "Rust")]).await;
        if asked.messages().iter().any(|m| message_has(m, "Cancel")) {
            r.press(&asked, "Cancel").await;
        }
        let prompt = r.slash(&eve, "join", &[("group", "Rust")]).await;
        if prompt.messages().iter().any(|m| message_has(m, "Cancel")) {
            r.press(&prompt, "Cancel").await;
        }
    })
}

/// The commands `NOT_IN_A_FLOW` says have nothing to fail: used once each
/// (successfully), they make no call that changes Discord.
#[tokio::test]
async fn the_commands_outside_the_matrix_change_nothing_in_discord() {
    let out = isolated(reads_and_settings, None, None).await.expect("the flow runs");
    assert!(out.problems.is_empty(), "{}", out.problems.join("\n"));
    for (name, _) in NOT_IN_A_FLOW {
        assert!(out.used.contains(*name), "{name} is not used in reads_and_settings");
    }
    let refused: Vec<&String> = out.answers.iter().filter(|a| a.starts_with("Error:")).collect();
    assert!(refused.is_empty(), "each command did its work: {refused:?}");
    assert!(out.calls.is_empty(), "commands outside the fault matrix changed Discord: {:?}", out.calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_flow_survives_every_failure_of_every_call_it_makes() {
    // Record each flow; a recorded run must itself be clean.
    // FAULT_FLOWS=join,leave runs those flows only (while mending one).
    let only: Option<Vec<String>> =
        std::env::var("FAULT_FLOWS").ok().map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let mut recorded = Vec::new();
    for (name, flow, repair) in
        FLOWS.iter().filter(|(n, _, _)| only.as_ref().is_none_or(|o| o.iter().any(|x| n.contains(x.as_str()))))
    {
        let out = isolated(*flow, *repair, None).await.unwrap_or_else(|e| panic!("the flow {name} with no fault: {e}"));
        assert!(out.problems.is_empty(), "the flow {name} fails with no fault at all:\n{}", out.problems.join("\n"));
        assert!(!out.repaired, "the flow {name} needs its repair with no fault at all");
        assert!(!out.calls.is_empty(), "the flow {name} changed nothing in Discord");
        println!(
            "{name}: {} calls: {}",
            out.calls.len(),
            out.calls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
        );
        recorded.push((*name, *flow, *repair, out));
    }

    // Every command is in a flow or said to have nothing to fail.
    if only.is_none() {
        let sim = Sim::start().await;
        let mut registered = command_names(&sim.fake.registered_commands());
        // Every button, select and form, by kind, as well as every command.
        registered.extend(every_custom_id_kind());
        let used: BTreeSet<String> = recorded.iter().flat_map(|(_, _, _, o)| o.used.iter().cloned()).collect();
        let missing: Vec<&String> =
            registered.iter().filter(|c| !used.contains(*c) && !NOT_IN_A_FLOW.iter().any(|(n, _)| n == c)).collect();
        assert!(missing.is_empty(), "commands and custom-id kinds in no flow of the fault matrix (add a flow, or say in NOT_IN_A_FLOW why there is nothing to fail): {missing:?}");
        let stale: Vec<&str> =
            NOT_IN_A_FLOW.iter().map(|(n, _)| *n).filter(|n| !registered.contains(*n) || used.contains(*n)).collect();
        assert!(stale.is_empty(), "NOT_IN_A_FLOW names commands that are not registered or are in a flow: {stale:?}");
    }
    if std::env::var("FAULT_RECORD_ONLY").is_ok() {
        return;
    }

    // FAULT_FAILURES=404,500 fails the calls in those ways only (while mending).
    let failures: Vec<Failure> = match std::env::var("FAULT_FAILURES") {
        Ok(v) => FAILURES.into_iter().filter(|f| v.split(',').any(|x| x.trim() == f.label())).collect(),
        Err(_) => FAILURES.to_vec(),
    };
    let cells: Vec<(usize, Call, Failure)> = recorded
        .iter()
        .enumerate()
        .flat_map(|(i, (_, _, _, out))| {
            let failures = &failures;
            out.calls.iter().flat_map(move |c| failures.iter().map(move |f| (i, c.clone(), *f)))
        })
        .collect();
    let total = cells.len();
    let parallel = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = Vec::new();
    for (i, call, failure) in cells {
        let (flow, repair) = (recorded[i].1, recorded[i].2);
        let permit = parallel.clone().acquire_owned().await.expect("semaphore");
        let fault = failure.fault(&call);
        tasks.push((
            i,
            call,
            failure,
            tokio::spawn(async move {
                let out = isolated(flow, repair, Some(fault)).await;
                drop(permit);
                out
            }),
        ));
    }

    let mut matrix: BTreeMap<(usize, String), BTreeMap<Failure, String>> = BTreeMap::new();
    let mut broken = Vec::new();
    let mut repaired = 0;
    for (i, call, failure, task) in tasks {
        let (problems, was_repaired) = match task.await.expect("the cell's task") {
            Ok(out) => (verdict(&recorded[i].3, &out), out.repaired),
            Err(panicked) => (vec![panicked], false),
        };
        let cell = match (problems.is_empty(), was_repaired) {
            (false, _) => "BROKE",
            (true, true) => "ok(r)",
            (true, false) => "ok",
        };
        repaired += usize::from(was_repaired && problems.is_empty());
        if !problems.is_empty() {
            broken.push(format!("{} × {call} × {}:\n  {}", recorded[i].0, failure.label(), problems.join("\n  ")));
        }
        matrix.entry((i, call.to_string())).or_default().insert(failure, cell.to_string());
    }

    let mut table = format!("{:<26} {:<48}", "flow", "call");
    for f in FAILURES {
        table.push_str(&format!(" {:>7}", f.label()));
    }
    table.push('\n');
    for ((i, call), row) in &matrix {
        table.push_str(&format!("{:<26} {:<48}", recorded[*i].0, call));
        for f in FAILURES {
            table.push_str(&format!(" {:>7}", row.get(&f).map_or("-", |s| s.as_str())));
        }
        table.push('\n');
    }
    // Straight to stderr, not through `println!`, which the test harness
    // captures: the matrix is shown in every run of scripts/test.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\nThe fault matrix (tests/faults.rs):\n{table}{total} cells: {} ok, {repaired} of them after the bot's own or the flow's documented repair (ok(r)), {} not ok",
        total - broken.len(),
        broken.len()
    );
    assert!(broken.is_empty(), "{} of {total} cells not ok:\n{}\n\n{table}", broken.len(), broken.join("\n"));
}
