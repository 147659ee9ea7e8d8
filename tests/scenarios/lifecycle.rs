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

#[tokio::test]
async fn nothing_the_bot_sent_was_outside_discords_contract() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Closed")]).await;
    ada.slash("groups", &[]).await;
    // The flow made exactly the calls it needs, each checked against the
    // spec as it arrived: the commands registered once, one role, the
    // bucket's category and the group's channel, one answer per command.
    for (method, part, want) in
        [("PUT", "/commands", 1), ("POST", "/roles", 1), ("POST", "/channels", 2), ("POST", "/callback", 2)]
    {
        let made = sim.fake.with(|w| w.count_requests(method, part));
        assert_eq!(made, want, "{method} …{part}: {made} calls, not {want}");
    }
    // Every request was one Discord documents: a route and method of the
    // spec (what the fake checked as each arrived, asked again here).
    let spec = fake_discord::spec::Spec::global();
    let bodiless: Vec<(String, String, u16)> =
        sim.fake.with(|w| w.requests.iter().filter(|(m, _, _)| m == "GET" || m == "DELETE").cloned().collect());
    assert!(!bodiless.is_empty(), "the bot read the server (its roles, the gateway)");
    for (method, path, _) in bodiless {
        assert!(spec.check(&method, &path, None).is_ok(), "{method} {path} is outside the contract");
    }
    assert!(sim.fake.violations().is_empty(), "{:?}", sim.fake.violations());
    // Discord refused nothing the bot sent in this flow.
    let refused: Vec<(String, String, u16)> =
        sim.fake.with(|w| w.requests.iter().filter(|(_, _, status)| *status >= 400).cloned().collect());
    assert!(refused.is_empty(), "requests Discord would refuse: {refused:?}");
    // And the check that passed is not a formality: the contract it applies
    // to every request refuses the same route with a body outside it
    // (content must be a string), naming what is wrong. (Sent for real, such
    // a request is refused and recorded: fake-discord's own unit tests.)
    let general = sim.fake.general_channel();
    let why = fake_discord::spec::Spec::global()
        .check("POST", &format!("/api/v10/channels/{general}/messages"), Some(&serde_json::json!({"content": 5})))
        .expect_err("a number as content is outside the contract");
    assert!(why.contains("content"), "{why}");
}
