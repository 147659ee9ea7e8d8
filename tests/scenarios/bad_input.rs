//! Bad input through the fake Discord (N3): texts drawn at random (proptest,
//! from a fixed seed, so a failure names its input and comes back) from
//! what people type and what must be refused (mentions, markdown, zero-width
//! and bidi characters, control characters, every script), at and up to
//! the lengths Discord lets through (`max_length` of the option; the client
//! sends nothing longer). Each is answered privately with words to read;
//! a group is made exactly when its name is one the rules accept, under
//! that name; a request or an application keeps its text cleaned or is
//! refused; nobody is pinged by what a person typed (the `Sim` fails on any
//! ping the test did not expect); Postgres and the guild agree after.

use crate::sim::{group, make_leader, Sim};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

/// `n` values of `strategy`, the same ones every run.
fn samples<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n).map(|_| strategy.new_tree(&mut runner).expect("a value").current()).collect()
}

/// Text of 1 to `max` characters: from what people ordinarily type, or
/// mixed with what must be refused; some as long as allowed.
fn typed(max: usize) -> impl Strategy<Value = String> {
    let clean: Vec<char> = "aZé İıßΣσ中文😀 -!&+.,'1".chars().collect();
    let mut mixed = clean.clone();
    mixed.extend(" \t@#<>*_~|`\\[]\u{200B}\u{202E}\u{FEFF}\u{7}\n".chars());
    let text = |pool: Vec<char>, len: std::ops::RangeInclusive<usize>| {
        proptest::collection::vec(proptest::sample::select(pool), len).prop_map(|v| v.into_iter().collect::<String>())
    };
    proptest::prop_oneof![
        2 => text(clean.clone(), 1..=max.min(40)),
        2 => text(mixed.clone(), 1..=max.min(40)),
        1 => text(clean, max..=max),
        1 => text(mixed, max..=max),
    ]
}

/// Texts that would ping if the bot let them: mentions of everyone, of a
/// role, of a member, in the middle of ordinary words.
fn pinging(role: u64, user: u64) -> Vec<String> {
    vec![
        "@everyone look".into(),
        "hi @here".into(),
        format!("ping <@&{role}> please"),
        format!("hello <@{user}>"),
        format!("<@!{user}> and @everyone"),
    ]
}

/// The longest answer on the lead application form.
const ANSWER_MAX: usize = 1000;

/// The longest group name (PRODUCT.md: names up to 100 characters).
const NAME_MAX: usize = 100;

/// Invisible or direction-changing characters (zero-width, bidi controls,
/// word joiners, the byte-order mark, the soft hyphen): they make names
/// look alike, so neither a name nor a description may hold one.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}')
}

/// The rules, stated here rather than asked of the code under test: the
/// name a group gets from what was typed, when it gets one. No control
/// characters; runs of white space become one space and the ends are
/// trimmed; not empty; at most 100 characters; no markdown or mention
/// characters (`@ # < > * _ ~ | \` [ ]`) and nothing invisible. The
/// description: no control characters but new lines, nothing invisible,
/// at most 1000 characters once trimmed.
fn accepted(name: &str, description: &str) -> Option<String> {
    if name.chars().any(char::is_control) {
        return None;
    }
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let forbidden = "@#<>*_~|`\\[]";
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(|c| forbidden.contains(c) || invisible(c))
    {
        return None;
    }
    clean(description, 1000).map(|_| name)
}

/// Free text (a description, a request's message, an application's
/// answer) as kept: no control characters but new lines, nothing
/// invisible, trimmed, at most `max` characters.
fn clean(text: &str, max: usize) -> Option<String> {
    if text.chars().any(|c| (c.is_control() && c != '\n') || invisible(c)) {
        return None;
    }
    let t = text.trim();
    (t.chars().count() <= max).then(|| t.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_group_names_and_descriptions_make_a_group_exactly_when_the_rules_accept_them() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let buckets = ["Identity", "Industry", "Interest", "Impact"];
    let names = samples(typed(NAME_MAX), 48);
    let descriptions = samples(typed(1000), 48);
    let mut made = 0;
    for (n, (name, description)) in names.iter().zip(&descriptions).enumerate() {
        // Distinct whenever it is valid at all: a taken name is its own refusal.
        let name = if n % 2 == 0 { name.clone() } else { format!("{n} {name}").chars().take(NAME_MAX).collect() };
        let before = sim.count("select count(*) from groups").await;
        let valid = accepted(&name, description);
        let taken = match &valid {
            Some(v) => {
                sqlx::query_scalar::<_, i64>("select count(*) from groups where lower(name) = lower($1)")
                    .bind(v)
                    .fetch_one(&sim.pool)
                    .await
                    .expect("names")
                    > 0
            }
            None => false,
        };
        let r = ada
            .slash(
                "group create",
                &[("name", &name), ("bucket", buckets[n % 4]), ("visibility", "Open"), ("description", description)],
            )
            .await;
        let text = r.text();
        assert!(r.is_ephemeral(), "{name:?}: answered in public: {text}");
        assert!(!text.trim().is_empty(), "{name:?}: an answer with nothing to read");
        let after = sim.count("select count(*) from groups").await;
        match &valid {
            // A name the rules accept and nobody has: made, under that name.
            Some(v) if !taken => {
                assert_eq!(after, before + 1, "{name:?} is valid and free, yet: {text}");
                assert!(text.contains("Created"), "{name:?}: made, but the answer says {text}");
                let stored: String = sqlx::query_scalar("select name from groups order by id desc limit 1")
                    .fetch_one(&sim.pool)
                    .await
                    .expect("the new group");
                assert_eq!(&stored, v, "stored as the rules cleaned it");
                made += 1;
            }
            // Refused by the rules, or taken: nothing made.
            _ => {
                assert_eq!(after, before, "{name:?} (valid: {}) made a group: {text}", valid.is_some());
                assert!(!text.contains("Created"), "{name:?}: {text}");
            }
        }
    }
    assert!(made >= 5, "some random names are fine ({made} made)");
    assert!(made < names.len(), "and some are refused");
    sim.assert_consistent().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_pinging_request_messages_and_application_answers_are_kept_clean_or_refused() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    sim.requests_channel(&ada).await;
    let (role, _) = group(&sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    // Each request from someone new (a member has one pending request).
    let mut messages = samples(typed(1000), 16);
    messages.extend(pinging(role, lena.user_id));
    for (n, message) in messages.iter().enumerate() {
        let asker = sim.member(&format!("asker{n}"));
        let r = asker.slash("request-join", &[("group", "Rust"), ("message", message)]).await;
        let text = r.text();
        assert!(r.is_ephemeral(), "{message:?}: answered in public: {text}");
        let stored: Option<String> = sqlx::query_scalar("select message from join_requests where user_id = $1")
            .bind(asker.user_id as i64)
            .fetch_optional(&sim.pool)
            .await
            .expect("the request")
            .flatten();
        let requests =
            sim.count(&format!("select count(*) from join_requests where user_id = {}", asker.user_id)).await;
        match clean(message, 1000) {
            Some(clean) => {
                assert!(text.contains("was sent"), "{message:?}: {text}");
                assert_eq!(requests, 1);
                assert_eq!(stored.unwrap_or_default(), clean, "kept as cleaned");
            }
            None => {
                assert!(text.contains("Nothing was sent"), "{message:?}: {text}");
                assert_eq!(requests, 0, "{message:?}: refused, yet a request was made");
            }
        }
    }
    // The leaders' cards echo the messages; nobody was pinged by them (the
    // Sim's ping check); the lead application form takes the same texts.
    let answers = samples(typed(1000), 6);
    for (n, answer) in answers.iter().chain(pinging(role, lena.user_id).iter()).enumerate() {
        let who = sim.member(&format!("applicant{n}"));
        let form = who.slash("lead apply", &[("group", "Rust")]).await;
        assert_eq!(form.callback_type(), 9, "the application form opens");
        let r = who.submit(&form.modal(), &[("motivation", answer), ("experience", answer), ("hours", "3")]).await;
        let text = r.text();
        assert!(r.is_ephemeral(), "{answer:?}: answered in public: {text}");
        let kept =
            sim.count(&format!("select count(*) from lead_applications where applicant_id = {}", who.user_id)).await;
        // An answer is kept when it is clean and not empty (3 hours is fine).
        let valid = clean(answer, ANSWER_MAX).is_some_and(|a| !a.is_empty());
        assert_eq!(kept, i64::from(valid), "{answer:?} (valid: {valid}): {text}");
    }
    sim.assert_consistent().await;
}

/// Options Discord's client would not send (a required choice left out or
/// not one of its choices, a required text left out or empty) never reach
/// the bot: the client refuses them, naming the option. A name of blanks,
/// which the client sends, is refused by the bot, naming it; nothing is
/// made and no setting changes.
#[tokio::test]
async fn options_the_client_would_not_send_are_refused_by_it_and_a_blank_name_by_the_bot() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let general = sim.fake.general_channel();
    for (options, says) in [
        (vec![("name", "Rust"), ("visibility", "Open")], "bucket is required"),
        (vec![("name", "Rust"), ("bucket", "7"), ("visibility", "Open")], "bucket: pick one of the choices"),
        (vec![("name", "Rust"), ("bucket", "Interest")], "visibility is required"),
        (vec![("bucket", "Interest"), ("visibility", "Open")], "name is required"),
        (vec![("name", ""), ("bucket", "Interest"), ("visibility", "Open")], "name is required"),
        (vec![("name", &"x".repeat(101)), ("bucket", "Interest"), ("visibility", "Open")], "at most 100 characters"),
    ] {
        let refused = ada.try_slash_in(general, "group create", &options).await.err();
        assert!(refused.as_deref().is_some_and(|e| e.contains(says)), "{options:?}: {refused:?}");
    }
    let r = ada.slash("group create", &[("name", "   "), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.is_ephemeral());
    assert_eq!(r.text(), "Error: The group name can't be empty.");
    assert_eq!(sim.count("select count(*) from groups").await, 0, "no group was made");
    assert!(sim.fake.role_named("Rust").is_none() && sim.fake.channel_named("rust").is_none());

    // A setting: without its choice the client sends nothing; the server's
    // default mode stays.
    let refused = ada.try_slash_in(general, "config notification-mode", &[]).await.err();
    assert!(refused.as_deref().is_some_and(|e| e.contains("mode is required")), "{refused:?}");
    assert_eq!(sim.count("select count(*) from guild_settings where notify_default_mode is not null").await, 0);
}
