//! Start-up, gateway resumes and shutdown.

use crate::sim::Sim;

#[tokio::test]
async fn start_up_creates_and_migrates_the_database() {
    let sim = Sim::start().await;
    // The database did not exist before the bot started.
    let applied = sim.count("select count(*) from _sqlx_migrations where success").await;
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations/")
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".sql")))
        .count() as i64;
    assert_eq!(applied, shipped, "every migration in migrations/ was applied, once");
    // Commands are registered in the development guild.
    let names: Vec<String> =
        sim.fake.registered_commands().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
    assert!(names.contains(&"group".to_string()) && names.contains(&"groups".to_string()), "{names:?}");
}

#[tokio::test]
async fn after_a_dropped_gateway_connection_the_bot_resumes_and_keeps_answering() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let resumes = sim.fake.resume_count();
    sim.fake.drop_gateway();
    sim.fake.wait_for_resume(resumes).await;
    sim.fake.wait_for_bot().await;
    let r = ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    assert_eq!(sim.fake.identify_count(), 1, "resumed, not re-identified");
    // On READY's resume_gateway_url (the fake records a RESUME elsewhere).
    let v = sim.fake.violations();
    assert!(!v.iter().any(|v| v.contains("resume_gateway_url")), "{v:?}");
}

/// Creating a group makes the calls it needs and no more: the commands
/// registered once, one role, the bucket's category and the group's
/// channel, one answer per command. (That each request is one Discord
/// documents is checked by the fake as it arrives; that Discord refused
/// none, for every flow, by the fault matrix's recorded runs,
/// `tests/faults.rs`.)
#[tokio::test]
async fn creating_a_group_makes_only_the_calls_it_needs() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Closed")]).await;
    ada.slash("groups", &[]).await;
    for (method, part, want) in
        [("PUT", "/commands", 1), ("POST", "/roles", 1), ("POST", "/channels", 2), ("POST", "/callback", 2)]
    {
        let made = sim.fake.with(|w| w.count_requests(method, part));
        assert_eq!(made, want, "{method} …{part}: {made} calls, not {want}");
    }
}
