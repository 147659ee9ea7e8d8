//! Operating the bot (O1, O3): `/metrics`, `/healthz`, `/readyz`, and the
//! deployment files.

use crate::sim::{Forwarder, Sim};
use std::time::Duration;

async fn get(url: &str) -> (u16, String) {
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    let r = client.get(url).send().await.expect("the metrics address answers");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// The value of the first sample of `name` whose labels include every one
/// of `labels` (`key="value"`), or 0 when there is none yet.
fn sample(page: &str, name: &str, labels: &[&str]) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            (n == name && labels.iter().all(|want| rest.contains(want))).then(|| value.parse::<f64>().ok())?
        })
        .next()
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_move_when_a_member_joins_and_health_answers() {
    let sim = Sim::start_operated(None).await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let r = ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());

    let (status, body) = get(&sim.ops_url("/healthz")).await;
    assert_eq!((status, body.trim()), (200, "ok"));

    let join = ["kind=\"command\"", "command=\"join\"", "outcome=\"ok\""];
    let refused = ["kind=\"command\"", "command=\"group create\"", "outcome=\"refused\""];
    let button_refused = ["kind=\"component\"", "command=\"forged\"", "outcome=\"refused\""];
    let callback = ["route=\"/interactions/{id}/{token}/callback\"", "method=\"POST\"", "status=\"204\""];
    let grant = ["route=\"/guilds/{id}/members/{id}/roles/{id}\"", "method=\"PUT\"", "status=\"204\""];
    let limited = ["scope=\"route\"", "route=\"/guilds/{id}/members/{id}/roles/{id}\""];
    let (_, before) = get(&sim.ops_url("/metrics")).await;
    let joins = sample(&before, "guildhall_interactions_total", &join);
    let refusals = sample(&before, "guildhall_interactions_total", &refused);
    let button_refusals = sample(&before, "guildhall_interactions_total", &button_refused);
    let timed = sample(&before, "guildhall_interaction_duration_seconds_count", &join[..2]);
    let slow = sample(&before, "guildhall_interaction_duration_seconds_bucket", &[join[0], join[1], "le=\"+Inf\""]);
    let first = sample(&before, "guildhall_interaction_first_callback_seconds_count", &join[..2]);
    let callbacks = sample(&before, "guildhall_discord_requests_total", &callback);
    let grants = sample(&before, "guildhall_discord_requests_total", &grant);
    let limits = sample(&before, "guildhall_discord_ratelimited_total", &limited);
    let invalid = sample(&before, "guildhall_discord_invalid_requests_total", &["status=\"429\""]);

    // The role grant is rate limited once on its route (X-RateLimit-Scope: user), then goes through.
    sim.fake.inject(fake_discord::Fault::rate_limited("PUT", "/roles/", 0.05));
    let r = alice.slash("join", &[("group", "Rust")]).await;
    assert!(r.text().contains("You joined **Rust**"), "{}", r.text());
    let r = alice.slash("group create", &[("name", "Go"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(!r.text().contains("Created"), "a member cannot create groups: {}", r.text());
    // A button refused by `replies::refuse` counts as refused, not ok.
    let page = alice.slash("groups", &[]).await;
    let r = alice.click(page.message().id, "gh:forged").await;
    assert!(r.text().contains("This button isn't valid"), "{}", r.text());

    let (status, after) = get(&sim.ops_url("/metrics")).await;
    assert_eq!(status, 200);
    // Other scenarios in this process share the recorder: at least one more.
    assert!(sample(&after, "guildhall_interactions_total", &join) >= joins + 1.0, "{after}");
    assert!(sample(&after, "guildhall_interactions_total", &refused) >= refusals + 1.0, "{after}");
    assert!(sample(&after, "guildhall_interaction_duration_seconds_count", &join[..2]) >= timed + 1.0, "{after}");
    let inf = sample(&after, "guildhall_interaction_duration_seconds_bucket", &[join[0], join[1], "le=\"+Inf\""]);
    assert!(inf >= slow + 1.0, "the histogram's buckets moved: {after}");
    assert!(after.contains("# TYPE guildhall_interaction_duration_seconds histogram"), "{after}");
    assert!(sample(&after, "guildhall_interactions_total", &button_refused) >= button_refusals + 1.0, "{after}");
    // The time to the first callback, apart from the time to the answer.
    assert!(after.contains("# TYPE guildhall_interaction_first_callback_seconds histogram"), "{after}");
    assert!(sample(&after, "guildhall_interaction_first_callback_seconds_count", &join[..2]) >= first + 1.0, "{after}");
    // Discord REST calls by route template and status, 429s by scope, invalid requests.
    assert!(sample(&after, "guildhall_discord_requests_total", &callback) >= callbacks + 3.0, "{after}");
    assert!(sample(&after, "guildhall_discord_requests_total", &grant) >= grants + 1.0, "{after}");
    assert!(sample(&after, "guildhall_discord_ratelimited_total", &limited) >= limits + 1.0, "{after}");
    assert!(
        sample(&after, "guildhall_discord_invalid_requests_total", &["status=\"429\""]) >= invalid + 1.0,
        "{after}"
    );
    assert!(
        !after.contains(&sim.fake.with(|w| w.interactions.values().next().map(|i| i.token.clone()).unwrap())),
        "no token in a label"
    );
    assert!(
        after.contains("guildhall_db_pool_waits_total") || after.contains("guildhall_db_pool_connections"),
        "{after}"
    );

    // Read at scrape time: the shard, the pool, the DM queue.
    assert!(sample(&after, "guildhall_gateway_sessions_total", &["shard=\"0\""]) >= 1.0, "{after}");
    assert_eq!(sample(&after, "guildhall_gateway_connected", &["shard=\"0\""]), 1.0, "{after}");
    assert!(after.contains("guildhall_db_pool_connections{state=\"idle\"}"), "{after}");
    assert!(after.contains("guildhall_deliveries{kind=\"dm\",state=\"pending\"}"), "{after}");
    assert!(after.contains("guildhall_delivery_oldest_pending_seconds{kind=\"digest\"}"), "{after}");

    let (status, body) = get(&sim.ops_url("/readyz")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("database: ok") && body.contains("shards: connected"), "{body}");
    let (status, _) = get(&sim.ops_url("/nothing")).await;
    assert_eq!(status, 404);
}

/// Log lines written to memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_interaction_is_one_json_log_line_with_its_command_outcome_and_time() {
    let logs = Captured::default();
    let format = guildhall::telemetry::LogFormat::parse(Some("json")).unwrap();
    let filter = tracing_subscriber::EnvFilter::new("guildhall::interaction=info");
    let writer = logs.clone();
    // This test's runtime is one thread: the bot's handlers log on it.
    let _guard =
        tracing::subscriber::set_default(guildhall::telemetry::subscriber(format, filter, move || writer.clone()));
    let sim = Sim::start().await;
    // tracing caches each log call's interest for the whole process, and
    // the other tests' threads (no subscriber) first reach those calls at
    // any moment: a call first reached while this test's subscriber was
    // being registered can keep "never", and this test then sees no line
    // (it happened once in the full suite). Recompute every call's
    // interest now that the subscriber is in place.
    tracing::callsite::rebuild_interest_cache();
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let r = ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    let r = alice.slash("join", &[("group", "Rust")]).await;
    assert!(r.text().contains("You joined **Rust**"), "{}", r.text());
    let r = alice.slash("audit", &[]).await;
    assert!(r.text().starts_with("Error:"), "{}", r.text());
    // The line is written once the answer is sent: wait for the last one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        if text.contains("\"command\":\"audit\"") || tokio::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let join = lines.iter().find(|l| l["command"] == "join").unwrap_or_else(|| panic!("no join line in:\n{text}"));
    assert_eq!(join["target"], "guildhall::interaction");
    assert_eq!(join["level"], "INFO");
    assert_eq!(join["message"], "interaction");
    assert_eq!(join["kind"], "command");
    assert_eq!(join["outcome"], "ok");
    assert!(join["elapsed_ms"].as_f64().is_some_and(|ms| ms > 0.0 && ms < 10_000.0), "{join}");
    assert!(join["timestamp"].as_str().is_some_and(|t| t.starts_with("20")), "{join}");
    let audit = lines.iter().find(|l| l["command"] == "audit").unwrap_or_else(|| panic!("no audit line in:\n{text}"));
    assert_eq!(audit["outcome"], "refused", "a member running an admin command");
    assert_eq!(lines.iter().filter(|l| l["command"] == "join").count(), 1, "one line per interaction");
    assert!(guildhall::telemetry::LogFormat::parse(Some("yaml")).is_err());
}

async fn wait_ready(sim: &Sim, want: u16) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get(&sim.ops_url("/readyz")).await;
        if status == want {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "/readyz stayed {status}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn readyz_is_unready_while_the_database_is_unreachable_and_ready_after() {
    let forwarder = Forwarder::start(std::net::SocketAddr::from(([127, 0, 0, 1], 5432))).await;
    let sim = Sim::start_operated(Some(forwarder.port)).await;
    let body = wait_ready(&sim, 200).await;
    assert!(body.contains("database: ok"), "{body}");

    forwarder.cut();
    let body = wait_ready(&sim, 503).await;
    assert!(body.contains("database: unreachable"), "{body}");
    assert!(body.contains("shards: connected"), "Discord is still there: {body}");
    // The process itself is up.
    assert_eq!(get(&sim.ops_url("/healthz")).await.0, 200);

    forwarder.restore();
    let body = wait_ready(&sim, 200).await;
    assert!(body.contains("database: ok"), "{body}");
    // And the bot works again.
    let ada = sim.admin("ada");
    let r = ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
}

/// PostgreSQL out of reach for a while (N6): every interaction is still
/// answered within Discord's 3 s, in words ("try again in a moment"),
/// nothing is half done, and the role queue and the background pass carry
/// on by themselves once it is back.
#[tokio::test]
async fn with_postgres_cut_every_press_is_answered_in_time_and_the_queue_resumes_after() {
    let forwarder = Forwarder::start(std::net::SocketAddr::from(([127, 0, 0, 1], 5432))).await;
    let sim = Sim::start_operated(Some(forwarder.port)).await;
    let ada = sim.admin("ada");
    let (alice, bob) = (sim.member("alice"), sim.member("bob"));
    let (role, _) = crate::sim::group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    // Alice leaves while Discord refuses to take the role: the removal
    // waits in the queue, retried with backoff.
    let revoke = format!("/members/{}/roles/{role}", alice.user_id);
    sim.fake.inject(fake_discord::Fault::server_error("DELETE", &revoke).times(8));
    let left = alice.slash("leave", &[("group", "Rust")]).await;
    assert!(left.text().contains("Discord is taking your role away"), "{}", left.text());
    sim.idle().await;
    sim.fake.clear_faults();

    forwarder.cut();
    wait_ready(&sim, 503).await;
    let page = bob.slash("group info", &[("group", "Rust")]);
    let join = bob.slash("join", &[("group", "Rust")]);
    let (page, join) = tokio::join!(page, join);
    for r in [&page, &join] {
        assert!(r.text().contains("try again in a moment"), "{}", r.text());
        let late = sim.fake.with(|w| {
            let it = &w.interactions[&r.interaction_id];
            let told = it.content_at.or(it.answered_at).expect("answered");
            told.duration_since(it.sent_at) > std::time::Duration::from_secs(3)
        });
        assert!(!late, "told within Discord's 3 s: {}", r.text());
    }
    // The background pass runs into the outage and carries on.
    sim.clock.advance(chrono::Duration::seconds(30)).await;
    assert!(alice.roles().contains(&role), "nothing could be applied meanwhile");

    forwarder.restore();
    let body = wait_ready(&sim, 200).await;
    assert!(body.contains("role queue: 1 waiting"), "/readyz shows the queue: {body}");
    // Nothing half done: bob's join never happened; now it does.
    assert_eq!(sim.count(&format!("select count(*) from memberships where user_id = {}", bob.user_id)).await, 0);
    let r = bob.slash("join", &[("group", "Rust")]).await;
    assert!(r.text().contains("You joined **Rust**"), "{}", r.text());
    // The queue resumes by itself: the next pass takes alice's role away.
    sim.clock.advance(chrono::Duration::seconds(30)).await;
    let (guild, user) = (sim.fake.guild_id, alice.user_id);
    sim.fake.wait_until("alice's role goes", move |w| !w.guilds[&guild].members[&user].roles.contains(&role)).await;
    sim.wait_count("the queue is empty", "select count(*) from role_syncs where done_at is null", 0).await;
    sim.assert_consistent().await;
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect(path)
}

/// The unit's `key=value` lines, section by section.
fn unit_keys(unit: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in unit.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_string();
        } else {
            let (k, v) = line.split_once('=').unwrap_or_else(|| panic!("not key=value: {line}"));
            out.push((section.clone(), k.to_string(), v.to_string()));
        }
    }
    out
}

#[test]
fn the_systemd_unit_runs_the_bot_unprivileged_and_stops_it_gracefully() {
    let unit = repo_file("deploy/guildhall.service");
    let keys = unit_keys(&unit);
    let get = |section: &str, key: &str| {
        keys.iter().find(|(s, k, _)| s == section && k == key).map(|(_, _, v)| v.clone()).unwrap_or_default()
    };
    assert_eq!(get("Service", "ExecStart"), "/usr/local/bin/guildhall");
    assert_eq!(get("Service", "DynamicUser"), "yes", "never as root");
    assert_eq!(get("Service", "KillSignal"), "SIGTERM", "the signal the bot shuts down gracefully on");
    let stop: u64 = get("Service", "TimeoutStopSec").parse().unwrap();
    assert!(stop > 10, "longer than the 10 s the bot waits for handlers in flight");
    assert_eq!(get("Service", "RestartPreventExitStatus"), "2", "a malformed setting is not retried");
    assert!(get("Service", "EnvironmentFile").starts_with("/etc/guildhall/"));
    assert_eq!(get("Install", "WantedBy"), "multi-user.target");

    // systemd's own check, where systemd-analyze exists: the binary and the
    // settings file are installed at deploy time, so point at stand-ins.
    if std::process::Command::new("systemd-analyze").arg("--version").output().is_ok() {
        let dir = std::env::temp_dir().join(format!("guildhall-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("guildhall.service");
        let local = unit
            .replace("ExecStart=/usr/local/bin/guildhall", "ExecStart=/bin/true")
            .replace("EnvironmentFile=/", "EnvironmentFile=-/");
        std::fs::write(&file, local).unwrap();
        let out = std::process::Command::new("systemd-analyze").arg("verify").arg(&file).output().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.status.success(), "systemd-analyze verify: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Docker here cannot pull images, so the Dockerfile is checked by reading
/// it: stages, the offline build, the user, and that what it copies exists.
#[test]
fn the_dockerfile_builds_offline_in_stages_and_runs_as_a_user() {
    let file = repo_file("Dockerfile");
    let lines: Vec<&str> = file.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "a build stage and a run stage: {froms:?}");
    assert!(froms[0].ends_with(" AS build"), "{}", froms[0]);
    let run_stage = lines.iter().position(|l| l.starts_with("FROM ") && l.ends_with(" AS run")).expect("a run stage");
    let (build, run) = lines.split_at(run_stage);
    assert!(build.contains(&"ENV SQLX_OFFLINE=true"), "built from the committed .sqlx data");
    assert!(build.iter().any(|l| l.starts_with("RUN cargo build --release --locked")));
    let user = run.iter().rev().find_map(|l| l.strip_prefix("USER ")).expect("a USER in the run stage");
    assert!(!user.starts_with("root") && !user.starts_with('0'), "not root: {user}");
    assert!(run.iter().any(|l| l.starts_with("COPY --from=build ")), "the run stage takes only the binary");
    assert!(run.contains(&"STOPSIGNAL SIGTERM"));
    // Every COPY from the context names something in the repository.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for l in build.iter().filter_map(|l| l.strip_prefix("COPY ")) {
        let parts: Vec<&str> = l.split_whitespace().collect();
        for src in &parts[..parts.len() - 1] {
            assert!(root.join(src).exists(), "COPY {src}: no such file in the repository");
        }
    }
    let ignore = repo_file(".dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == ".env"), "the token never goes into the build context");
}

/// Talking to Discord itself (no `DISCORD_API_BASE_URL`), the bot paces its
/// requests by the answers' rate-limit headers, so a burst within one
/// route's bucket waits instead of earning 429s; and every answer is still
/// counted by route and status (O1).
#[tokio::test]
async fn talking_to_discord_directly_the_bot_paces_a_burst_and_counts_every_route() {
    use crate::sim::{ask, group, make_leader};
    let sim = Sim::start_direct().await;
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    group(&sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    let requests = sim.requests_channel(&ada).await;
    // A tight per-route limit on sends, one bucket per channel: 2 a second.
    sim.fake.set_rate_limits(fake_discord::RateLimits::default().with_route(
        "POST",
        "/channels/{}/messages",
        2,
        Duration::from_secs(1),
    ));
    let sends = ["route=\"/channels/{id}/messages\"", "method=\"POST\"", "status=\"200\""];
    let (_, before) = get(&sim.ops_url("/metrics")).await;
    let counted = sample(&before, "guildhall_discord_requests_total", &sends);

    // Six cards for one review thread at once: three windows of two.
    let askers: Vec<_> = (0..6).map(|n| sim.member(&format!("asker{n}"))).collect();
    let mut set = tokio::task::JoinSet::new();
    for m in askers.clone() {
        set.spawn(async move { ask(&m, "Rust", Some("Hello!")).await });
    }
    for r in set.join_all().await {
        assert!(r.text().contains("sent"), "each request is sent: {}", r.text());
    }
    let thread = sim.fake.with(|w| {
        w.channels.values().find(|c| c.parent_id == Some(requests)).map(|c| c.id).expect("the review thread")
    });
    let cards = sim.fake.with(|w| {
        w.channel_messages(thread).iter().filter(|m| m.embeds.as_array().is_some_and(|e| !e.is_empty())).count()
    });
    assert_eq!(cards, askers.len(), "every card is posted");
    let limited: Vec<(String, String, u16)> =
        sim.fake.with(|w| w.requests.iter().filter(|r| r.2 == 429).cloned().collect());
    assert!(limited.is_empty(), "paced by the headers, the bot earned no 429: {limited:?}");

    let (_, after) = get(&sim.ops_url("/metrics")).await;
    assert!(
        sample(&after, "guildhall_discord_requests_total", &sends) >= counted + askers.len() as f64,
        "every send counted by its route: {after}"
    );
    let callbacks = ["route=\"/interactions/{id}/{token}/callback\"", "method=\"POST\""];
    assert!(sample(&after, "guildhall_discord_requests_total", &callbacks) >= 6.0, "{after}");
    sim.assert_consistent().await;
}

/// What the binary did when run with `args`, with no token (so anything
/// that started would be the playground), Postgres standing in as a
/// listener that records every connection, and the playground's world
/// file and page pointed into a scratch directory: (exit code, stdout,
/// stderr, whether anything connected to "Postgres", whether a world was
/// saved).
async fn run_binary(args: &[&str]) -> (Option<i32>, String, String, bool, bool) {
    let dir = std::env::temp_dir().join(format!("guildhall-cli-{}-{}", std::process::id(), args.join("_")));
    std::fs::create_dir_all(&dir).unwrap();
    let postgres = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    postgres.set_nonblocking(true).unwrap();
    let state = dir.join("world.json");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_guildhall"));
    cmd.args(args)
        .current_dir(&dir) // no .env found there
        .env_remove("DISCORD_TOKEN")
        .env("DATABASE_URL", format!("postgres://postgres@{}/guildhall_playground", postgres.local_addr().unwrap()))
        .env("PLAYGROUND_ADDR", "127.0.0.1:0")
        .env("PLAYGROUND_STATE", &state)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("guildhall {args:?} was still running after 30 s"))
        .expect("the binary runs");
    // The process has exited: any connection it made is in the backlog.
    let connected = match postgres.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    };
    let saved = state.exists();
    let _ = std::fs::remove_dir_all(&dir);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr), connected, saved)
}

/// `guildhall --help` (and `-h`) prints the usage and exits 0, `--version`
/// the version; an unknown argument or one too many is refused with the
/// usage and exit 2. None of them starts anything: no connection to the
/// database (the playground makes its database afresh), no world saved.
#[tokio::test]
async fn the_binary_answers_help_and_refuses_unknown_arguments_without_touching_a_database() {
    for help in ["--help", "-h"] {
        let (code, out, err, connected, saved) = run_binary(&[help]).await;
        assert_eq!(code, Some(0), "guildhall {help}: {err}");
        assert!(out.contains("Usage: guildhall [playground]"), "guildhall {help}: {out}");
        assert!(out.contains("guildhall playground") && out.contains("--version"), "{out}");
        assert!(out.contains("PLAYGROUND_KEEP=1"), "says the playground starts afresh: {out}");
        assert!(err.is_empty(), "guildhall {help} wrote to stderr: {err}");
        assert!(!connected && !saved, "guildhall {help} started something");
    }

    let (code, out, err, connected, saved) = run_binary(&["--version"]).await;
    assert_eq!((code, out.trim()), (Some(0), concat!("guildhall ", env!("CARGO_PKG_VERSION"))), "{err}");
    assert!(!connected && !saved);

    for (args, says) in [
        (&["--playgruond"][..], "unknown argument \"--playgruond\""),
        (&["start"], "unknown argument \"start\""),
        (&["playground", "--fresh"], "unexpected argument \"--fresh\""),
    ] {
        let (code, out, err, connected, saved) = run_binary(args).await;
        assert_eq!(code, Some(2), "guildhall {args:?}: {out}{err}");
        assert!(err.starts_with(&format!("guildhall: {says}")), "guildhall {args:?}: {err}");
        assert!(err.contains("Usage: guildhall [playground]"), "the usage follows the refusal: {err}");
        assert!(out.is_empty(), "guildhall {args:?} printed: {out}");
        assert!(!connected, "guildhall {args:?} connected to the database");
        assert!(!saved, "guildhall {args:?} saved a playground world");
    }
}
