//! `/groups [bucket]` and its page buttons (G4, N2).

use crate::sim::Sim;

async fn create(sim: &Sim, admin: &fake_discord::Actor, name: &str, bucket: &str) {
    let r = admin.slash("group create", &[("name", name), ("bucket", bucket), ("visibility", "Open")]).await;
    assert!(r.text().contains("Created"), "{name}: {}", r.text());
    let _ = sim;
}

#[tokio::test]
async fn an_empty_directory_says_how_groups_are_made() {
    let sim = Sim::start().await;
    let alice = sim.member("alice");
    let r = alice.slash("groups", &[]).await;
    assert!(r.text().contains("There are no groups yet"), "{}", r.text());
    assert!(r.components().is_empty());
    let r = alice.slash("groups", &[("bucket", "Impact")]).await;
    assert!(r.text().contains("no groups in Impact"), "{}", r.text());
}

#[tokio::test]
async fn long_directories_are_paginated_and_buttons_survive_a_restart() {
    let mut sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    for i in 0..12 {
        create(&sim, &ada, &format!("Group {i:02}"), "Interest").await;
    }
    create(&sim, &ada, "Neighbours", "Impact").await;

    let first = alice.slash("groups", &[]).await;
    let text = first.text();
    assert!(text.contains("Page 1 of 2 · 13 groups"), "{text}");
    assert!(text.contains("Group 00") && text.contains("Group 09"), "{text}");
    assert!(!text.contains("Group 10"), "{text}");
    assert!(first.button("◀ Previous").disabled);
    assert!(!first.button("Next ▶").disabled);

    // Buttons keep working after the bot restarts.
    sim.restart().await;
    let second = first.click("Next ▶").await;
    assert_eq!(second.callback_type(), 7, "the page is updated in place");
    let text = second.text();
    assert!(text.contains("Page 2 of 2"), "{text}");
    assert!(text.contains("Group 10") && text.contains("Group 11") && text.contains("Neighbours"), "{text}");
    assert!(second.button("Next ▶").disabled);

    let back = second.click("◀ Previous").await;
    assert!(back.text().contains("Page 1 of 2"), "{}", back.text());

    // One bucket only.
    let impact = alice.slash("groups", &[("bucket", "Impact")]).await;
    assert!(impact.text().contains("Groups · Impact"), "{}", impact.text());
    assert!(impact.text().contains("Neighbours") && !impact.text().contains("Group 00"), "{}", impact.text());
}

#[tokio::test]
async fn a_forged_or_stale_custom_id_is_refused() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    create(&sim, &ada, "Rust", "Interest").await;
    let list = alice.slash("groups", &[]).await;
    let mid = list.message().id;
    for forged in ["gh:dir:all:notanumber", "gh:admin:delete:1", "something-else", "gh:dir:secret:0"] {
        let r = alice.click(mid, forged).await;
        assert!(r.is_ephemeral());
        assert!(r.text().contains("This button isn't valid"), "{forged}: {}", r.text());
    }
    // A page past the end shows the last page rather than failing.
    let r = alice.click(mid, "gh:dir:all:50").await;
    assert!(r.text().contains("Page 1 of 1"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from groups").await, 1);
}
