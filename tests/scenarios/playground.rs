//! P1: the playground in a real browser. Headless Chromium, driven over
//! WebDriver (chromedriver + fantoccini), uses the page as a person would:
//! switch who you are, type slash commands, press buttons, fill modals. Each
//! step asserts on the page's DOM and saves a screenshot under
//! `target/screenshots/` (`scripts/screenshots` copies the README's three
//! into `docs/`).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/chromium-up`
//! installs them; `scripts/test` and `.ci/run` call it).

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use guildhall::playground::{Settings, Started};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a step may take to show on the page (the bot answers in well
/// under a second; a loaded CI machine is slower).
const STEP: Duration = Duration::from_secs(20);

fn chromedriver() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// A chromedriver process on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Its own process group, so that drop ends the Chromium processes it
        // starts too, even when a failed test never closed its sessions.
        let child = Command::new(chromedriver())
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}): install chromium and chromium-driver (scripts/chromium-up does)",
                    chromedriver()
                )
            });
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = reqwest::get(format!("{url}/status")).await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer on {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, url }
    }

    /// A new browser window (its own WebDriver session) on `url`.
    async fn window(&self, url: &str, name: &str) -> Window {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium(),
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1400,900", "--force-device-scale-factor=1"],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a chromium session");
        client.goto(url).await.expect("open the playground");
        let w = Window { c: client, name: name.into(), shot: 0 };
        w.wait_css("#plist .person").await;
        w
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window on the playground.
struct Window {
    c: Client,
    name: String,
    shot: usize,
}

/// An XPath string literal for `s` (which holds no double quote).
fn lit(s: &str) -> String {
    assert!(!s.contains('"'), "{s:?}");
    format!("\"{s}\"")
}

impl Window {
    /// The first element matching `xpath`, waiting for it.
    async fn wait_xpath(&self, xpath: &str) -> Element {
        self.c
            .wait()
            .at_most(STEP)
            .every(Duration::from_millis(100))
            .for_element(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|e| panic!("[{}] nothing on the page matches {xpath}: {e}", self.name))
    }

    async fn wait_css(&self, css: &str) -> Element {
        self.c
            .wait()
            .at_most(STEP)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("[{}] nothing on the page matches {css}: {e}", self.name))
    }

    /// Wait until `check` holds of the page's text of `css` (or fail with it).
    async fn wait_text(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let text = self.text_of(css).await;
            if check(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "[{}] {what}; {css} shows: {text}", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn text_of(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';";
        let v = self.c.execute(script, vec![css.into()]).await.expect("run a script");
        v.as_str().unwrap_or_default().to_string()
    }

    /// Save a screenshot as `target/screenshots/<name>.png`.
    async fn shot(&mut self, step: &str) {
        self.shot += 1;
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.c.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        std::fs::write(dir.join(format!("{}-{:02}-{step}.png", self.name, self.shot)), png).unwrap();
    }

    /// Become the person whose label starts with `who`.
    async fn be(&self, who: &str) {
        self.click(Locator::XPath(&format!("//div[@id='plist']/div[starts-with(normalize-space(.), {})]", lit(who))))
            .await;
        self.wait_xpath(&format!(
            "//div[@id='plist']/div[contains(@class,'me')][starts-with(normalize-space(.), {})]",
            lit(who)
        ))
        .await;
    }

    /// Open the channel called `name` in the channel list.
    async fn open(&self, name: &str) {
        self.click(Locator::Css(&format!("#clist .chan[data-name='{name}']"))).await;
        self.wait_css(&format!("#clist .chan.open[data-name='{name}']")).await;
    }

    async fn channel(&self, name: &str) -> Element {
        self.wait_css(&format!("#clist .chan[data-name='{name}']")).await
    }

    /// The names in the channel list as this person sees it.
    async fn channels(&self) -> Vec<String> {
        let v = self
            .c
            .execute("return [...document.querySelectorAll('#clist .chan')].map(e => e.dataset.name)", vec![])
            .await
            .unwrap();
        serde_json::from_value(v).unwrap()
    }

    /// Type `/command`, pick it from the suggestions, fill its options, send.
    async fn slash(&self, command: &str, options: &[(&str, &str)]) {
        let box_ = self.wait_css("#box").await;
        box_.clear().await.unwrap();
        let first = command.split(' ').next().unwrap();
        box_.send_keys(&format!("/{first}")).await.unwrap();
        self.click(Locator::Css(&format!("#suggest [data-command='{command}']"))).await;
        for (name, value) in options {
            let input = self.wait_css(&format!("#opts [data-option='{name}']")).await;
            if input.tag_name().await.unwrap() == "select" {
                // Choices are picked by what the person reads.
                input.select_by_label(value).await.unwrap_or_else(|e| panic!("{name} has no choice {value}: {e}"));
            } else {
                input.send_keys(value).await.unwrap();
            }
        }
        self.click(Locator::Css("#send")).await;
        // The box empties once the command was sent.
        self.wait_text_value("#box", "").await;
    }

    async fn wait_text_value(&self, css: &str, want: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            let v = self.wait_css(css).await.prop("value").await.unwrap().unwrap_or_default();
            if v == want {
                return;
            }
            assert!(Instant::now() < deadline, "[{}] {css} holds {v:?}, not {want:?}", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the last message that contains `text` (waiting for it).
    async fn message_with(&self, text: &str) -> String {
        let xpath = format!("(//div[@id='messages']/div[contains(@class,'msg')][contains(., {})])[last()]", lit(text));
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(t) = self.xpath_text(&xpath).await {
                return t;
            }
            let shown = self.text_of("#messages").await;
            assert!(Instant::now() < deadline, "[{}] no message shows {text:?}; the channel shows: {shown}", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the first node `xpath` selects, read in one script (the
    /// page re-renders on every change, so elements found earlier go stale).
    async fn xpath_text(&self, xpath: &str) -> Option<String> {
        let script = "const n = document.evaluate(arguments[0], document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue; return n ? n.innerText : null;";
        let v = self.c.execute(script, vec![xpath.into()]).await.expect("run a script");
        v.as_str().map(str::to_string)
    }

    /// Click what `locator` finds, finding it again if the page re-rendered
    /// it in between.
    async fn click(&self, locator: Locator<'_>) {
        let deadline = Instant::now() + STEP;
        loop {
            let found = self.c.wait().at_most(STEP).every(Duration::from_millis(100)).for_element(locator).await;
            let e = found.unwrap_or_else(|e| panic!("[{}] nothing on the page matches {locator:?}: {e}", self.name));
            match e.click().await {
                Ok(()) => return,
                Err(err) => assert!(Instant::now() < deadline, "[{}] cannot click {locator:?}: {err}", self.name),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Press the button labelled `label` on the last message showing `text`.
    async fn press(&self, text: &str, label: &str) {
        let xpath = format!(
            "(//div[@id='messages']/div[contains(@class,'msg')][contains(., {})])[last()]//button[normalize-space(.)={}]",
            lit(text),
            lit(label)
        );
        // Only an enabled button: a disabled one is what the card shows
        // after a decision.
        let xpath = format!("{xpath}[not(@disabled)]");
        self.click(Locator::XPath(&xpath)).await;
    }
}

/// A playground with its own database (dropped after) and a browser.
struct Stage {
    pg: Option<Started>,
    driver: Driver,
    database: String,
    server: String,
    /// Where the run saves its world.
    state: PathBuf,
}

impl Stage {
    async fn start() -> Stage {
        let base =
            std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut settings = Settings::from_lookup(|k| match k {
            "DATABASE_URL" => Some(base.clone()),
            "PLAYGROUND_ADDR" => Some("127.0.0.1:0".into()),
            _ => None,
        })
        .unwrap();
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        // guildhall_sim_<pid>_: scripts/test drops what a dead run left.
        settings = settings.with_database(&format!(
            "guildhall_sim_{}_playground_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let state = settings.state.clone();
        let database = settings.database.clone();
        let server = settings.server.clone();
        let driver = Driver::start().await;
        let pg = guildhall::playground::start(settings).await.expect("the playground starts");
        Stage { pg: Some(pg), driver, database, server, state }
    }

    fn url(&self) -> String {
        self.pg.as_ref().unwrap().url.clone()
    }

    async fn window(&self, name: &str) -> Window {
        self.driver.window(&self.url(), name).await
    }

    async fn stop(mut self, windows: Vec<Window>) {
        for w in windows {
            let _ = w.c.close().await;
        }
        self.pg.take().unwrap().stop().await.expect("the playground stops cleanly");
        let admin = sqlx::PgPool::connect(&format!("{}/postgres", self.server)).await.unwrap();
        sqlx::query(&format!("drop database if exists {} with (force)", self.database)).execute(&admin).await.unwrap();
        let _ = std::fs::remove_file(&self.state);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_walk_through_in_the_browser_from_creating_a_group_to_a_hand_removal() {
    let stage = Stage::start().await;
    let mut w = stage.window("walk").await;

    // The admin creates a group with /group create, options filled in.
    w.be("Ada").await;
    w.open("general").await;
    w.slash(
        "group create",
        &[
            ("name", "Chess Club"),
            ("bucket", "Interest"),
            ("visibility", "Open"),
            ("description", "Openings, endgames and a weekly blitz."),
        ],
    )
    .await;
    let reply = w.message_with("Chess Club").await;
    assert!(reply.contains("Only you can see this"), "the admin's confirmation is ephemeral: {reply}");
    let interest = w
        .wait_xpath(
            "//div[@id='clist']/div[@class='cat'][normalize-space(.)='INTEREST' or normalize-space(.)='Interest']",
        )
        .await;
    assert!(interest.is_displayed().await.unwrap());
    w.channel("chess-club").await;
    w.shot("admin-creates-a-group").await;

    // A member finds it in /groups, opens its Group Page and joins.
    w.be("Mia").await;
    w.open("general").await;
    w.slash("groups", &[]).await;
    let listing = w.message_with("Chess Club").await;
    assert!(listing.contains("Only you can see this"), "{listing}");
    w.slash("group info", &[("group", "Chess Club")]).await;
    w.press("Openings, endgames", "Join group").await;
    // First join: the guidelines, then I agree.
    w.press("Be kind", "I agree").await;
    w.wait_text("#roles", "Mia holds the group's role", |t| t.contains("Chess Club")).await;
    w.shot("member-joins-after-the-guidelines").await;

    // She asks to join a closed group; she does not see its channel yet.
    assert!(!w.channels().await.contains(&"women-in-tech".to_string()), "a closed group's channel is hidden");
    w.slash("request-join", &[("group", "Women in Tech"), ("message", "I build payment systems.")]).await;
    w.message_with("Women in Tech").await;

    // Its leader approves on the card in the review thread.
    w.be("Lena").await;
    w.open("Requests: Women in Tech").await;
    w.press("I build payment systems.", "Approve").await;
    // The card now shows the decision, and offers none any more.
    let card =
        w.wait_text("#messages", "the card shows the approval", |t| t.contains("Request to join approved")).await;
    assert!(card.contains("@Lena"), "the card names who decided: {card}");
    assert!(!card.contains("<@"), "mentions show as names, as in Discord: {card}");
    let left = w.c.execute("return document.querySelectorAll('#messages button').length", vec![]).await.unwrap();
    assert_eq!(left, serde_json::json!(0), "no decision buttons remain on the card");
    w.shot("leader-approves-on-the-card").await;

    // The member now sees the channel; she subscribes to another group's
    // Group Page, and a new topic there notifies her.
    w.be("Mia").await;
    w.channel("women-in-tech").await;
    w.slash("group info", &[("group", "Board Games")]).await;
    w.press("Game nights", "Subscribe").await;
    w.wait_xpath(
        "(//div[@id='messages']/div[contains(., 'Game nights')])[last()]//button[normalize-space(.)='Unsubscribe']",
    )
    .await;
    w.be("Lena").await;
    w.open("board-games").await;
    w.click(Locator::Css("#topic")).await;
    let alert = w.c.get_alert_text().await;
    assert!(alert.is_ok(), "the New topic button asks for a title");
    w.c.send_alert_text("Chess or checkers?").await.unwrap();
    w.c.accept_alert().await.unwrap();
    w.channel("Chess or checkers?").await;
    // Mentions are the default delivery: the topic's channel shows Mia a
    // mention badge, and the bot's announcement is highlighted as one.
    w.be("Mia").await;
    w.wait_css("#clist .chan[data-name='Chess or checkers?'] .badge").await;
    w.open("Chess or checkers?").await;
    w.wait_css("#messages .msg.mentioned").await;
    w.shot("member-is-notified-of-a-topic").await;

    // The admin takes her group role by hand; the Group Page follows.
    w.be("Ada").await;
    w.wait_css("#hand-person").await.select_by_label(&w.person_label("Mia").await).await.unwrap();
    w.wait_css("#hand-role").await.select_by_label("Women in Tech").await.unwrap();
    w.click(Locator::Css("#take-role")).await;
    w.be("Mia").await;
    w.wait_text("#roles", "the role is gone", |t| !t.contains("Women in Tech")).await;
    let deadline = Instant::now() + STEP;
    while w.channels().await.contains(&"women-in-tech".to_string()) {
        assert!(Instant::now() < deadline, "Mia still sees the closed group's channel");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.open("general").await;
    w.slash("group info", &[("group", "Women in Tech")]).await;
    let labels = w.message_with("A private space").await;
    assert!(labels.contains("Send request to join") && !labels.contains("Leave group"), "{labels}");
    w.shot("group-page-follows-a-hand-removal").await;

    // Postgres agrees with what the page showed.
    let people = &stage.pg.as_ref().unwrap().people;
    let mia = people.iter().find(|p| p.label.starts_with("Mia")).expect("Mia").user_id;
    let pool = sqlx::PgPool::connect(&stage.pg.as_ref().unwrap().database_url).await.unwrap();
    let active: Vec<String> = sqlx::query_scalar(
        "select g.name from memberships m join groups g on g.id = m.group_id where m.user_id = $1 and m.away_since is null order by 1",
    )
    .bind(mia as i64)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(active, vec!["Chess Club".to_string()]);
    pool.close().await;
    stage.stop(vec![w]).await;
}

impl Window {
    /// The label of the person whose label starts with `who`.
    async fn person_label(&self, who: &str) -> String {
        self.wait_xpath(&format!("//div[@id='plist']/div[starts-with(normalize-space(.), {})]", lit(who)))
            .await
            .text()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_modals_and_two_windows_in_the_browser() {
    let stage = Stage::start().await;
    let mut mia = stage.window("mia").await;
    let mut max = stage.window("max").await;

    // A refused action shows the bot's ephemeral error.
    mia.be("Mia").await;
    mia.open("general").await;
    mia.slash("leave", &[("group", "Rust")]).await;
    let refusal = mia.message_with("Rust").await;
    assert!(refusal.contains("not a member") && refusal.contains("Only you can see this"), "{refusal}");
    mia.shot("refused").await;

    // A modal validates its fields: required ones first (the dialog stays
    // open), then the bot's own rule (hours 1-168) as an ephemeral error.
    mia.slash("lead apply", &[("group", "Rust")]).await;
    let dialog = mia.wait_css("dialog#modal[open]").await;
    mia.wait_css("#modal-submit").await.click().await.unwrap();
    assert!(dialog.is_displayed().await.unwrap(), "empty required fields keep the form open");
    let invalid =
        mia.c.execute("return document.querySelectorAll('#modal-fields :invalid').length", vec![]).await.unwrap();
    assert!(invalid.as_u64().unwrap() >= 1, "the empty required fields are marked invalid");
    for (name, value) in
        [("motivation", "I run the Rust meetup."), ("experience", "Two years of moderating."), ("hours", "500")]
    {
        mia.wait_css(&format!("#modal-fields textarea[name='{name}']")).await.send_keys(value).await.unwrap();
    }
    mia.shot("modal").await;
    mia.wait_css("#modal-submit").await.click().await.unwrap();
    let error = mia.message_with("168").await;
    assert!(error.contains("Only you can see this"), "{error}");

    // The page's hand actions are an admin's: refused to a member by the
    // playground's server, whatever the page shows.
    let me = |label: &str| {
        let people = &stage.pg.as_ref().unwrap().people;
        people.iter().find(|p| p.label.starts_with(label)).unwrap().user_id.to_string()
    };
    let rust_role = stage.pg.as_ref().unwrap().fake.role_named("Rust").unwrap().id.to_string();
    let http = reqwest::Client::new();
    let refused: serde_json::Value = http
        .post(format!("{}/api/act", stage.url()))
        .json(&serde_json::json!({"action": "take_role", "by": me("Mia"), "user": me("Lena"), "role": rust_role}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"], "Only an admin can do that in Discord.");
    let lena_roles = stage.pg.as_ref().unwrap().fake.with(|w| {
        let g = &w.guilds[&stage.pg.as_ref().unwrap().fake.guild_id];
        g.members[&me("Lena").parse::<u64>().unwrap()].roles.clone()
    });
    assert!(lena_roles.contains(&rust_role.parse().unwrap()), "Lena keeps her role");
    assert!(!mia.wait_css("#hand").await.is_displayed().await.unwrap(), "a member is not offered them");

    // Two windows, two people: what one posts in #general the other sees
    // live (no reload: a marker set in the page survives).
    max.be("Max").await;
    max.open("general").await;
    max.c.execute("window.__still_here = true", vec![]).await.unwrap();
    let box_ = mia.wait_css("#box").await;
    box_.send_keys("Hello from Mia!").await.unwrap();
    mia.click(Locator::Css("#send")).await;
    let seen = max.message_with("Hello from Mia!").await;
    assert!(seen.starts_with("Mia") && !seen.contains("Only you can see this"), "{seen}");
    let kept = max.c.execute("return window.__still_here === true", vec![]).await.unwrap();
    assert_eq!(kept, serde_json::json!(true), "the page updated without a reload");
    max.shot("sees-mia-live").await;

    // Max follows Mia's post from the message's Apps menu (a message
    // command); Mia does not see his ephemeral answer.
    let menu = "(//div[@id='messages']/div[contains(., 'Hello from Mia!')])[last()]//span[contains(@class,'menu')]";
    max.click(Locator::XPath(menu)).await;
    max.click(Locator::Css("#suggest [data-app='Subscribe to post']")).await;
    let followed = max.message_with("following").await;
    assert!(
        followed.contains("You're now following this post") && followed.contains("Only you can see this"),
        "{followed}"
    );
    let mia_sees = mia.text_of("#messages").await;
    assert!(!mia_sees.contains("following"), "another's ephemeral answer is not shown: {mia_sees}");

    // Autocomplete: typing part of a group's name offers it, from the bot.
    let box_ = mia.wait_css("#box").await;
    box_.send_keys("/group").await.unwrap();
    mia.click(Locator::Css("#suggest [data-command='group info']")).await;
    mia.wait_css("#opts [data-option='group']").await.send_keys("Wom").await.unwrap();
    mia.click(Locator::Css("#suggest [data-choice='Women in Tech']")).await;
    mia.click(Locator::Css("#send")).await;
    mia.message_with("A private space for women").await;

    // Files show as Discord shows them: the admin's /stats chart inside its
    // embed, a decoded image; its file is served only to whom it answered.
    max.be("Ada").await;
    max.open("general").await;
    max.slash("stats", &[]).await;
    max.message_with("Server stats").await;
    let chart = max.wait_css("#messages .embed img.attachment").await;
    let src = chart.attr("src").await.unwrap().expect("the chart's address");
    let drawn = max
        .c
        .execute(
            "const i = document.querySelector('#messages .embed img.attachment'); \
             return new Promise(r => { const done = () => { i.scrollIntoView(); r([i.naturalWidth, i.naturalHeight]); }; \
             i.complete ? done() : i.addEventListener('load', done); });",
            vec![],
        )
        .await
        .unwrap();
    let (w, h) = (drawn[0].as_u64().unwrap(), drawn[1].as_u64().unwrap());
    assert!(w >= 400 && h >= 200, "the chart decodes in the browser: {w}x{h}");
    max.shot("stats-chart").await;
    let fetched = http.get(format!("{}{src}", stage.url())).send().await.unwrap();
    assert_eq!(fetched.headers()["content-type"], "image/png");
    assert!(fetched.bytes().await.unwrap().starts_with(b"\x89PNG"), "a PNG");
    let as_mia = src.replace(&format!("user={}", me("Ada")), &format!("user={}", me("Mia")));
    assert_ne!(as_mia, src);
    let refused = http.get(format!("{}{as_mia}", stage.url())).send().await.unwrap();
    assert_eq!(refused.status(), 404, "another's ephemeral answer's file is not served to Mia");
    stage.stop(vec![mia, max]).await;
}

/// Who `label` starts with among the people the page offers.
fn person(started: &Started, label: &str) -> u64 {
    started.people.iter().find(|p| p.label.starts_with(label)).unwrap_or_else(|| panic!("no {label}")).user_id
}

async fn groups_in(database_url: &str) -> Vec<String> {
    let pool = sqlx::PgPool::connect(database_url).await.unwrap();
    let names = sqlx::query_scalar("select name from groups order by name").fetch_all(&pool).await.unwrap();
    pool.close().await;
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_keep_carries_on_from_the_last_run_and_a_fresh_start_forgets_it() {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let dir = std::env::temp_dir().join(format!("guildhall-keep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let settings = |keep: bool| {
        let mut s = Settings::from_lookup(|k| match k {
            "DATABASE_URL" => Some(base.clone()),
            "PLAYGROUND_ADDR" => Some("127.0.0.1:0".into()),
            "PLAYGROUND_KEEP" => Some(if keep { "1" } else { "0" }.into()),
            _ => None,
        })
        .unwrap()
        .with_database(&format!("guildhall_sim_{}_playground_keep", std::process::id()));
        s.state = dir.join("world.json");
        s
    };

    // The first run: a member joins a group (agreeing to the guidelines),
    // the admin makes a group of their own.
    let first = guildhall::playground::start(settings(true)).await.expect("the playground starts");
    assert!(!first.kept, "nothing to carry on from yet");
    let mia = first.fake.actor(person(&first, "Mia"));
    let prompt = mia.slash("join", &[("group", "Rust")]).await;
    assert!(prompt.click("I agree").await.text().contains("You joined **Rust**"));
    let ada = first.fake.actor(person(&first, "Ada"));
    let made = ada
        .slash(
            "group create",
            &[
                ("name", "Chess"),
                ("bucket", "Interest"),
                ("visibility", "Open"),
                ("description", "Openings and endgames."),
            ],
        )
        .await;
    assert!(made.text().contains("Chess"), "{}", made.text());
    let seeded = groups_in(&first.database_url).await;
    assert!(seeded.contains(&"Chess".to_string()) && seeded.len() == 9, "{seeded:?}");
    let people: Vec<u64> = first.people.iter().map(|p| p.user_id).collect();
    let (guild, chess) = (first.fake.guild_id, first.fake.channel_named("chess").expect("Chess's channel").id);
    first.stop().await.expect("the first run stops");

    // Kept: the same server, people, groups and memberships, nothing seeded
    // again, and the bot carries on with them.
    let second = guildhall::playground::start(settings(true)).await.expect("the kept playground starts");
    assert!(second.kept, "carries on from the last run");
    assert_eq!(second.fake.guild_id, guild);
    assert_eq!(second.people.iter().map(|p| p.user_id).collect::<Vec<_>>(), people);
    assert_eq!(groups_in(&second.database_url).await, seeded, "the groups of the last run, none seeded again");
    assert_eq!(second.fake.channel_named("chess").map(|c| c.id), Some(chess), "Chess's channel is still there");
    let mia = second.fake.actor(mia.user_id);
    assert!(mia.has_role_named("Rust"), "Mia is still in Rust");
    let joined = mia.slash("join", &[("group", "Chess")]).await;
    assert!(
        joined.text().contains("You joined **Chess**"),
        "her agreement to the guidelines was kept too, so she joins at once: {}",
        joined.text()
    );
    assert!(mia.has_role_named("Chess") && mia.can_send(chess));
    second.stop().await.expect("the second run stops");

    // Not kept: a fresh demo server.
    let third = guildhall::playground::start(settings(false)).await.expect("a fresh playground starts");
    assert!(!third.kept);
    assert_ne!(third.fake.guild_id, guild, "a new server");
    let fresh = groups_in(&third.database_url).await;
    assert!(fresh.len() == 8 && !fresh.contains(&"Chess".to_string()), "{fresh:?}");
    let server = third.database_url.rsplit_once('/').unwrap().0.to_string();
    let database = third.database_url.rsplit_once('/').unwrap().1.to_string();
    third.stop().await.expect("the third run stops");
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await.unwrap();
    sqlx::query(&format!("drop database if exists {database} with (force)")).execute(&admin).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The page's API (no browser): what Discord or its client refuses comes
/// back as the reason to show, never as a panic of the scenario API (which
/// the page could only report as "Discord would not let you do that"): a
/// message posted straight into a forum (Discord takes topics only there,
/// 40058), a post where one can't write, a number option given words. The
/// forum then takes a topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_actions_answer_with_discords_reason_instead_of_a_panic() {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut settings = Settings::from_lookup(|k| match k {
        "DATABASE_URL" => Some(base.clone()),
        "PLAYGROUND_ADDR" => Some("127.0.0.1:0".into()),
        _ => None,
    })
    .unwrap()
    .with_database(&format!("guildhall_sim_{}_playground_refused", std::process::id()));
    settings.state = std::env::temp_dir().join(format!("guildhall-refused-{}.world.json", std::process::id()));
    let state = settings.state.clone();
    let pg = guildhall::playground::start(settings).await.expect("the playground starts");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let act = |body: serde_json::Value| {
        let (http, url) = (http.clone(), format!("{}/api/act", pg.url));
        async move {
            let r = http.post(url).json(&body).send().await.expect("the page's API answers");
            (r.status().as_u16(), r.json::<serde_json::Value>().await.expect("JSON"))
        }
    };
    let (lena, mia, ada) =
        (person(&pg, "Lena").to_string(), person(&pg, "Mia").to_string(), person(&pg, "Ada").to_string());
    let forum = pg.fake.channel_named("rust").expect("Rust's forum").id;
    let before = pg.fake.with(|w| w.channel_messages(forum).len());

    let (status, v) =
        act(serde_json::json!({"action": "post", "user": lena, "channel": forum.to_string(), "content": "Hello"}))
            .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        v["error"], "Discord refused it: Cannot send a message in a forum channel. Start a topic instead (New topic).",
        "Lena leads Rust, yet a forum takes no plain message"
    );
    assert_eq!(pg.fake.with(|w| w.channel_messages(forum).len()), before, "nothing was posted in the forum");

    let closed = pg.fake.channel_named("women-in-tech").expect("a closed group's channel").id;
    let (status, v) =
        act(serde_json::json!({"action": "post", "user": mia, "channel": closed.to_string(), "content": "Hi"})).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("Discord refused it: you don't have permission to post here."))
    );

    let general = pg.fake.general_channel().to_string();
    let (status, v) = act(serde_json::json!({"action": "slash", "user": ada, "channel": general,
        "command": "config invitations", "options": [["expiry_days", "soon"]]}))
    .await;
    assert_eq!((status, v["error"].as_str()), (400, Some("expiry_days: enter a whole number")), "{v}");

    let (status, v) = act(serde_json::json!({"action": "topic", "user": lena, "channel": forum.to_string(),
        "title": "Crates you love", "content": "Mine is serde."}))
    .await;
    assert_eq!(status, 200, "{v}");
    let topic: u64 = v["channel"].as_str().expect("the topic's id").parse().unwrap();
    assert_eq!(pg.fake.with(|w| w.channels[&topic].parent_id), Some(forum), "the topic is in the forum");

    let database = pg.database_url.rsplit_once('/').unwrap().1.to_string();
    let server = pg.database_url.rsplit_once('/').unwrap().0.to_string();
    pg.stop().await.expect("the playground stops");
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await.unwrap();
    sqlx::query(&format!("drop database if exists {database} with (force)")).execute(&admin).await.unwrap();
    let _ = std::fs::remove_file(&state);
}

/// `start_saying`, collecting what it says.
async fn start_collecting(settings: Settings) -> (Started, Vec<String>) {
    let said = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = said.clone();
    let say = move |line: &str| log.lock().unwrap().push(line.to_string());
    let started = guildhall::playground::start_saying(settings, &say).await.expect("the playground starts");
    let lines = said.lock().unwrap().clone();
    (started, lines)
}

/// Whether `lines` hold lines containing each of `wanted`, in that order.
fn in_order(lines: &[String], wanted: &[&str]) -> bool {
    let mut at = 0;
    wanted.iter().all(|w| match lines[at..].iter().position(|l| l.contains(w)) {
        Some(i) => {
            at += i + 1;
            true
        }
        None => false,
    })
}

async fn drop_database(database_url: &str) {
    let (server, database) = database_url.rsplit_once('/').unwrap();
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await.unwrap();
    sqlx::query(&format!("drop database if exists {database} with (force)")).execute(&admin).await.unwrap();
    admin.close().await;
}

/// #25 items 9, 10, 13, 14, 15 through the page's API (no browser): the run
/// says what it is doing between starting and ready; #general opens on the
/// admin's welcome, not on her ~30 ephemeral set-up answers (which the bot
/// gave in #mod, where she set the server up); a forum lists its posts;
/// who can see a channel names only people one can be (and the bot); the
/// tab has an icon; and a page left open with its live-update stream does
/// not hold up the stop (Ctrl-C).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_playground_says_what_it_does_opens_on_a_clean_general_and_stops_with_a_tab_open() {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut settings = Settings::from_lookup(|k| match k {
        "DATABASE_URL" => Some(base.clone()),
        "PLAYGROUND_ADDR" => Some("127.0.0.1:0".into()),
        _ => None,
    })
    .unwrap()
    .with_database(&format!("guildhall_sim_{}_playground_fresh", std::process::id()));
    settings.state = std::env::temp_dir().join(format!("guildhall-fresh-{}.world.json", std::process::id()));
    let state = settings.state.clone();
    let (pg, said) = start_collecting(settings).await;
    assert!(
        in_order(
            &said,
            &[
                "preparing the playground database",
                "starting the bot",
                "register its commands",
                "seeding the demo server"
            ]
        ),
        "it says what it does, step by step: {said:?}"
    );
    assert!(!said.iter().any(|l| l.contains("PostgreSQL")), "one answered: nothing to start: {said:?}");

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let view = |user: u64, channel: u64| {
        let (http, url) = (http.clone(), format!("{}/api/view?user={user}&channel={channel}", pg.url));
        async move { http.get(url).send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let (ada, lena) = (person(&pg, "Ada"), person(&pg, "Lena"));
    let general = view(ada, pg.fake.general_channel()).await;
    let shown = general["messages"].as_array().unwrap();
    assert!(
        shown.iter().all(|m| m["ephemeral"] == false),
        "no set-up answers in #general: {}",
        serde_json::to_string_pretty(shown).unwrap()
    );
    assert!(
        shown.len() == 1 && shown[0]["author"] == "Ada" && shown[0]["content"].as_str().unwrap().contains("/groups"),
        "#general opens on the admin's welcome: {shown:?}"
    );
    let at = shown[0]["at"].as_u64().expect("a message has its time");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!(at <= now && now - at < 600_000, "the message's time is when it was posted: {at} vs {now}");
    let viewers: Vec<&str> = general["viewers"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(
        viewers.contains(&"Ada") && viewers.contains(&"Mia") && !viewers.contains(&"owner"),
        "who can see #general: the people one can be, not the fake's owner: {viewers:?}"
    );
    let moderation = pg.fake.channel_named("mod").expect("#mod").id;
    let set_up = view(ada, moderation).await;
    let answers = set_up["messages"].as_array().unwrap().iter().filter(|m| m["ephemeral"] == true).count();
    assert!(answers >= 20, "the server was set up through the bot's commands, in #mod: {answers} answers");
    // The bot's own answers show to Ada only: Lena cannot see #mod at all.
    assert_eq!(view(lena, moderation).await["channel"], serde_json::Value::Null);

    let forum = pg.fake.channel_named("rust").expect("Rust's forum").id;
    let rust = view(lena, forum).await;
    let posts = rust["posts"].as_array().unwrap();
    assert!(
        posts.iter().any(|p| p["title"] == "Crate of the week"
            && p["author"] == "Lena"
            && p["first"].as_str().unwrap().contains("Share a crate")),
        "the forum lists its posts: {posts:?}"
    );

    let icon = http.get(format!("{}/favicon.ico", pg.url)).send().await.unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");

    // A tab open on the live updates, then the stop: its stream ends and
    // the playground stops within 2 s.
    let mut events = http.get(format!("{}/api/events", pg.url)).send().await.expect("the event stream");
    assert_eq!(events.status(), 200);
    let database_url = pg.database_url.clone();
    let began = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(2), pg.stop())
        .await
        .expect("the playground stops within 2 s with a tab open")
        .expect("and cleanly");
    let ended =
        tokio::time::timeout(Duration::from_secs(1), async { while let Ok(Some(_)) = events.chunk().await {} }).await;
    assert!(ended.is_ok(), "the tab's event stream was ended by the stop");
    assert!(began.elapsed() < Duration::from_secs(3));
    drop_database(&database_url).await;
    let _ = std::fs::remove_file(&state);
}

/// Stops the private cluster a test started (with the command the
/// playground said stops it), even when the test fails.
struct Cluster {
    stop: Option<String>,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(stop) = &self.stop {
            let _ = Command::new("sh").arg("-c").arg(format!("{stop} -m immediate")).stdout(Stdio::null()).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// #25 item 9: PostgreSQL installed but not answering on `DATABASE_URL`'s
/// port: the playground starts a private cluster there itself (in its own
/// data directory, on a port of this test's own: the shared server the
/// other tests use is left alone), says so and how to stop it, and runs on
/// it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgresql_installed_but_not_running_the_playground_starts_its_own() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("guildhall-pgdata-test-{}", std::process::id()));
    let mut cluster = Cluster { stop: None, dir: dir.clone() };
    let mut settings = Settings::from_lookup(|k| match k {
        "DATABASE_URL" => Some(format!("postgres://postgres@127.0.0.1:{port}/guildhall")),
        "PLAYGROUND_ADDR" => Some("127.0.0.1:0".into()),
        "PLAYGROUND_PGDATA" => Some(dir.display().to_string()),
        _ => None,
    })
    .unwrap()
    .with_database("guildhall_playground_own_cluster");
    settings.state = dir.with_extension("world.json");
    let (pg, said) = start_collecting(settings).await;
    let up = said.iter().find(|l| l.contains("PostgreSQL is up")).unwrap_or_else(|| panic!("{said:?}"));
    cluster.stop = up.split_once("stop it with: ").map(|(_, c)| c.trim_end_matches(')').to_string());
    assert!(
        in_order(
            &said,
            &[
                &format!("no PostgreSQL answers on 127.0.0.1:{port}: starting a private one in {}", dir.display()),
                &format!("PostgreSQL is up on 127.0.0.1:{port}"),
                "preparing the playground database",
                "seeding the demo server",
            ]
        ),
        "{said:?}"
    );
    assert!(dir.join("PG_VERSION").exists(), "the cluster is in the data directory given");
    assert!(pg.database_url.contains(&format!(":{port}/")), "{}", pg.database_url);
    assert_eq!(groups_in(&pg.database_url).await.len(), 8, "the demo was seeded on it");
    pg.stop().await.expect("the playground stops");
    let stop = cluster.stop.clone().expect("it says how to stop the cluster");
    let stopped = Command::new("sh").arg("-c").arg(&stop).stdout(Stdio::null()).status().unwrap();
    assert!(stopped.success(), "{stop}");
    cluster.stop = None;
    assert!(
        sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(2))
            .connect(&format!("postgres://postgres@127.0.0.1:{port}/postgres"))
            .await
            .is_err(),
        "the command it gave stopped it"
    );
    let _ = std::fs::remove_file(dir.with_extension("world.json"));
}

impl Window {
    /// Press a key in what `css` finds (WebDriver's code for it: Enter is
    /// `\u{E007}`).
    async fn keys(&self, css: &str, keys: &str) {
        self.wait_css(css).await.send_keys(keys).await.unwrap();
    }

    async fn js(&self, script: &str) -> serde_json::Value {
        self.c.execute(script, vec![]).await.expect("run a script")
    }
}

const ENTER: &str = "\u{E007}";

/// #25 items 10, 11, 13, 14, 15 in the browser: the page opens on a clean
/// #general; Enter on a typed command runs the highlighted command (never
/// posts it as chat), one typed with its argument runs with it, a line
/// naming no command opens the picker; options keep their names once filled; -# is subtext;
/// messages have times and avatars, channels a header; a new DM is marked
/// unread; drafts stay with whom typed them; the By hand panel offers
/// others, never yourself; a forum lists its posts under a header; an
/// image's load keeps the newest message in view; and the playground stops
/// within 2 s with the tabs still open.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_page_behaves_like_a_discord_client() {
    let stage = Stage::start().await;
    let mut mia = stage.window("client").await;
    let max = stage.window("client-max").await;

    // The first screen: #general with the admin's welcome, no one's
    // ephemeral set-up answers.
    mia.be("Ada").await;
    mia.open("general").await;
    let first = mia.message_with("Welcome to the Guildhall playground").await;
    let all = mia.text_of("#messages").await;
    assert!(!all.contains("Only you can see this"), "{all}");
    assert!(mia.text_of("#header").await.contains("general"), "the channel's header names it");
    assert!(first.starts_with("Ada") && first.contains("Today at"), "author and time: {first}");
    let initials = mia.js("return document.querySelector('#messages .msg .avatar').dataset.initials").await;
    assert_eq!(initials, "A", "an avatar with the author's initial");
    let viewers = mia.text_of("#viewers").await;
    assert!(viewers.contains("Mia") && !viewers.contains("owner"), "{viewers}");
    // By hand: someone else first, never the admin herself.
    let picked = mia.js("return document.querySelector('#hand-person').selectedOptions[0].text").await;
    assert!(!picked.as_str().unwrap().starts_with("Ada"), "the By hand panel starts on someone else: {picked}");
    mia.shot("first-screen").await;

    // Enter on a typed command runs the highlighted one; nothing is posted
    // as chat (Max, in the same channel, sees no "/groups").
    max.be("Max").await;
    max.open("general").await;
    mia.be("Mia").await;
    mia.open("general").await;
    mia.keys("#box", "/groups").await;
    mia.wait_css("#suggest div.hl[data-command='groups']").await;
    mia.keys("#box", ENTER).await;
    let listing = mia.message_with("Board Games").await;
    assert!(listing.contains("Only you can see this"), "/groups ran: {listing}");
    mia.wait_text_value("#box", "").await;
    max.message_with("Welcome").await;
    let authors = max.js("return [...document.querySelectorAll('#messages .msg .author')].map(a => a.innerText)").await;
    assert!(!authors.as_array().unwrap().iter().any(|a| a == "Mia"), "Max sees nothing from Mia: {authors}");
    let fake = &stage.pg.as_ref().unwrap().fake;
    let general = fake.general_channel();
    let posted = fake.with(|w| w.channel_messages(general).iter().any(|m| m.content == "/groups"));
    assert!(!posted, "the command was not posted as chat");
    // -# lines are subtext, as Discord draws them (/notifications ends on one).
    mia.keys("#box", "/notif").await;
    mia.keys("#box", ENTER).await;
    let note = mia.message_with("Your notifications").await;
    assert!(!note.contains("-#"), "{note}");
    let sub = mia.wait_css("#messages .msg .subtext").await.text().await.unwrap();
    assert!(sub.contains("Change it with"), "{sub}");
    mia.shot("enter-runs-the-command").await;

    // A command typed out with its argument, then Enter: it runs with the
    // rest of the line as its first option, as Discord's client takes a
    // pasted command; `name:value` names the option; a line that names no
    // command opens the picker and is not posted.
    let page = |desc: &str| {
        format!(
            "//div[@id='messages']/div[contains(@class,'msg')][contains(., '{desc}')][.//button[normalize-space(.)='Join group']]"
        )
    };
    mia.keys("#box", "/group info Parents").await;
    mia.keys("#box", ENTER).await;
    mia.wait_xpath(&page("Juggling work and kids")).await;
    mia.wait_text_value("#box", "").await;
    mia.keys("#box", "/group info group:Fintech").await;
    mia.keys("#box", ENTER).await;
    mia.wait_xpath(&page("Payments, banking")).await;
    mia.wait_text_value("#box", "").await;
    mia.keys("#box", "/gorup info Rust").await;
    mia.keys("#box", ENTER).await;
    mia.wait_css("#suggest div.hl[data-command]").await;
    let said = mia.text_of("#error").await;
    assert!(said.contains("There is no command /gorup info Rust"), "{said}");
    mia.wait_text_value("#box", "/gorup info Rust").await;
    mia.shot("a-typed-command-runs-with-its-argument").await;
    let posted = fake.with(|w| w.channel_messages(general).iter().any(|m| m.content.starts_with('/')));
    assert!(!posted, "no typed command was posted as chat");
    mia.wait_css("#box").await.clear().await.unwrap();

    // An option keeps its name beside it once filled in.
    mia.keys("#box", "/group").await;
    mia.click(Locator::Css("#suggest [data-command='group info']")).await;
    mia.keys("#opts [data-option='group']", "Board").await;
    let label = mia.text_of("#opts label.opt").await;
    assert!(label.starts_with("group"), "the option's name stays: {label}");

    // A draft stays with whom typed it.
    mia.wait_css("#box").await.clear().await.unwrap();
    mia.keys("#box", "half a thought").await;
    mia.be("Max").await;
    mia.wait_text_value("#box", "").await;
    mia.be("Mia").await;
    mia.open("general").await;
    mia.wait_text_value("#box", "half a thought").await;
    mia.wait_css("#box").await.clear().await.unwrap();

    // A new DM is marked unread: Mia asks to join a closed group, Lena
    // approves, the bot tells Mia by DM.
    mia.slash("request-join", &[("group", "Women in Tech"), ("message", "I build payment systems.")]).await;
    // Her first request: the guidelines first, then the request itself.
    mia.press("Be kind", "I agree").await;
    mia.press("is a closed group", "Send request to join").await;
    max.be("Lena").await;
    max.open("Requests: Women in Tech").await;
    max.press("New request to join", "Approve").await;
    mia.wait_css("#clist .chan.unread[data-name='Guildhall (DM)']").await;
    mia.shot("a-new-dm-is-unread").await;
    mia.open("Guildhall (DM)").await;
    mia.message_with("approved").await;
    let still = mia.js("return !!document.querySelector(\"#clist .chan.unread[data-name='Guildhall (DM)']\")").await;
    assert_eq!(still, false, "read once opened");

    // A forum: a header and its posts; a post opens as its thread.
    mia.be("Lena").await;
    mia.open("rust").await;
    assert!(mia.text_of("#header").await.contains("rust"));
    let post =
        mia.wait_xpath("//div[@id='messages']/div[contains(@class,'post')][contains(., 'Crate of the week')]").await;
    let post_text = post.text().await.unwrap();
    assert!(post_text.contains("Share a crate") && post_text.contains("Lena"), "{post_text}");
    mia.shot("forum-posts").await;
    post.click().await.unwrap();
    mia.wait_css("#clist .chan.open[data-name='Crate of the week']").await;
    mia.message_with("Share a crate").await;

    // An image that loads late still ends in view.
    mia.be("Ada").await;
    mia.open("general").await;
    mia.slash("stats", &[]).await;
    mia.message_with("Server stats").await;
    let at_bottom = mia
        .c
        .execute(
            "const i = document.querySelector('#messages .embed img.attachment'), b = document.getElementById('messages'); \
             return new Promise(r => { const done = () => setTimeout(() => r(b.scrollHeight - b.scrollTop - b.clientHeight < 5), 50); \
             i.complete ? done() : i.addEventListener('load', done); });",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(at_bottom, true, "the view follows the image's load to the newest message");

    // Stopping with both tabs open (their live-update streams too) takes
    // under 2 s.
    let mut stage = stage;
    let began = Instant::now();
    tokio::time::timeout(Duration::from_secs(2), stage.pg.take().unwrap().stop())
        .await
        .expect("stops within 2 s with tabs open")
        .expect("cleanly");
    assert!(began.elapsed() < Duration::from_secs(2));
    let _ = mia.c.close().await;
    let _ = max.c.close().await;
    let admin = sqlx::PgPool::connect(&format!("{}/postgres", stage.server)).await.unwrap();
    sqlx::query(&format!("drop database if exists {} with (force)", stage.database)).execute(&admin).await.unwrap();
    let _ = std::fs::remove_file(&stage.state);
}
