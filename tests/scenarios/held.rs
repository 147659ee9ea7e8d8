//! N6: nothing waits on Discord while holding Postgres. With every Discord
//! answer slowed to 400 ms, a watcher polls `pg_stat_activity` for the
//! bot's database: a transaction left idle for longer than 250 ms is one
//! waiting on something outside Postgres, and the only such thing the bot
//! waits on is Discord. The flows below (joins, leaves, approvals, accepted
//! invitations, new leaders, group creation, edit, archive) must show none.

use crate::sim::{button, card, group, make_leader, Sim};
use fake_discord::scenario::components_of;
use fake_discord::Latency;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Transactions seen idle past the threshold: their last statement and
/// how long they had been idle.
type Offenders = Arc<Mutex<Vec<(String, f64)>>>;

/// Poll the bot's database until `stop` is set.
fn watch(sim: &Sim, stop: Arc<std::sync::atomic::AtomicBool>) -> (Offenders, tokio::task::JoinHandle<()>) {
    let db = sim.database_url.rsplit('/').next().expect("a database name").to_string();
    let pool = sim.pool.clone();
    let seen: Offenders = Arc::default();
    let found = seen.clone();
    let task = tokio::spawn(async move {
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let idle: Vec<(String, f64)> = sqlx::query_as(
                "select query, extract(epoch from now() - state_change)::float8 from pg_stat_activity
                 where datname = $1 and state = 'idle in transaction'
                   and now() - state_change > interval '250 milliseconds'",
            )
            .bind(&db)
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
            found.lock().unwrap().extend(idle);
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    });
    (seen, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_transaction_is_held_while_discord_answers_slowly() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    let carol = sim.member("carol");
    let requests = sim.requests_channel(&ada).await;
    sim.fake.set_latency(Latency { median: Duration::from_millis(400), jitter: Duration::ZERO, routes: vec![] });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (seen, watcher) = watch(&sim, stop.clone());

    // Group creation, an open group joined and left.
    group(&sim, &ada, "Rust", "Open").await;
    let (mods_role, _) = group(&sim, &ada, "Mods", "Closed").await;
    let r = alice.slash("join", &[("group", "Rust")]).await;
    assert!(r.text().contains("You joined **Rust**"), "{}", r.text());
    let r = alice.slash("leave", &[("group", "Rust")]).await;
    assert!(r.text().contains("You left **Rust**"), "{}", r.text());
    // A new leader, an approved request.
    make_leader(&ada, "Mods", &lena).await;
    let r = bob.slash("request-join", &[("group", "Mods")]).await;
    assert!(r.text().contains("was sent"), "{}", r.text());
    let thread = sim
        .fake
        .with(|w| w.channels.values().find(|c| c.parent_id == Some(requests)).map(|c| c.id))
        .expect("the review thread");
    let c = card(&sim, thread);
    let r = lena.click(c.id, &button(&c, "Approve")).await;
    assert!(r.text().contains("is now a member of **Mods**"), "{}", r.text());
    assert!(bob.roles().contains(&mods_role));
    // An accepted invitation.
    let r = lena.slash("invite", &[("user", &carol.user_id.to_string()), ("group", "Mods")]).await;
    assert!(r.text().contains("sent"), "{}", r.text());
    let invitation = carol.dms().into_iter().rev().find(|m| m.content.contains("invited you")).expect("the card");
    let accept = components_of(&invitation).into_iter().find(|b| b.label == "Accept").expect("Accept").custom_id;
    let r = carol.click(invitation.id, &accept).await;
    assert!(r.text().contains("you're a member of **Mods** now"), "{}", r.text());
    // Edit, archive, unarchive.
    let r = ada.slash("group edit", &[("group", "Rust"), ("name", "Rustaceans"), ("visibility", "Closed")]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    for cmd in ["group archive", "group unarchive"] {
        let r = ada.slash(cmd, &[("group", "Rustaceans")]).await;
        assert!(!r.text().contains("Error"), "{cmd}: {}", r.text());
    }
    sim.idle().await;

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    watcher.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(seen.is_empty(), "transactions held while Discord answered: {seen:#?}");
    sim.assert_consistent().await;
}
