//! What admins and leaders look at (O2): `/stats` and `/group stats` (a PNG
//! chart and every figure as text, matching Postgres) and `/export` (CSV
//! files holding exactly this server's rows, split to fit Discord's
//! attachment limit).

use crate::sim::{group, make_leader, Sim};
use fake_discord::world::Attachment;
use fake_discord::Actor;
use std::collections::BTreeSet;

/// Another server's data in the same database, which nothing here may show.
const OTHER_GUILD: i64 = 1;

async fn other_servers_data(sim: &Sim) {
    let g: i64 = sqlx::query_scalar(
        "insert into groups (guild_id, name, bucket, visibility, created_by) values ($1, 'Elsewhere', 'interest', 'closed', 77) returning id",
    )
    .bind(OTHER_GUILD)
    .fetch_one(&sim.pool)
    .await
    .unwrap();
    for sql in [
        "insert into memberships (group_id, user_id) values ($1, 7001), ($1, 7002), ($1, 7003)",
        "insert into join_requests (guild_id, group_id, user_id, message) values (1, $1, 7004, 'secret elsewhere')",
        "insert into audit_log (guild_id, actor_id, group_id, group_name, action, reason) values (1, 7001, $1, 'Elsewhere', 'membership.join', 'secret elsewhere')",
        "insert into announced_topics (thread_id, guild_id, group_id, message_id) values (9999, 1, $1, 9998)",
    ] {
        sqlx::query(sql).bind(g).execute(&sim.pool).await.unwrap();
    }
}

/// The chart: a PNG that decodes, of the expected size, not blank.
fn assert_chart(files: &[Attachment]) {
    assert_eq!(files.len(), 1, "one chart");
    let f = &files[0];
    assert_eq!((f.filename.as_str(), f.content_type.as_str()), ("stats.png", "image/png"));
    assert!(f.description.as_deref().is_some_and(|d| d.contains("written out")), "alt text: {:?}", f.description);
    let mut reader = png::Decoder::new(std::io::Cursor::new(&f.bytes)).read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buf).expect("decodes");
    assert_eq!((info.width, info.height), (1200, 900));
    let px = info.color_type.samples();
    let colored = buf.chunks(px).filter(|p| p[0] != p[1] || p[1] != p[2]).count();
    assert!(colored > 5_000, "lines and bars are drawn: {colored} coloured pixels");
}

/// The numbers of the text line starting with `label: `.
fn line(text: &str, label: &str) -> Vec<i64> {
    let l = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{text}"));
    l.split(", ").map(|n| n.parse().unwrap_or_else(|_| panic!("{label}: {l}"))).collect()
}

/// The week lines: (requests, decisions) of each.
fn weeks(text: &str) -> Vec<(i64, i64)> {
    text.lines()
        .filter(|l| l.len() > 12 && l.as_bytes()[4] == b'-' && l.as_bytes()[10] == b':')
        .map(|l| {
            let parts: Vec<&str> = l[12..].split(", ").collect();
            (parts[0].parse().unwrap(), parts[1].parse().unwrap())
        })
        .collect()
}

async fn members_now(sim: &Sim, bucket: &str) -> i64 {
    sim.count(&format!(
        "select count(*) from memberships m join groups g on g.id = m.group_id
          where g.guild_id = {} and g.bucket = '{bucket}' and g.archived_at is null and m.away_since is null",
        sim.fake.guild_id
    ))
    .await
}

/// A server with two groups, members, a leader, a pending request and an
/// announced topic.
async fn server(sim: &Sim) -> (Actor, Actor, Actor) {
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let lee = sim.member("lee");
    let (_, rust) = group(sim, &ada, "Rust", "Open").await;
    group(sim, &ada, "Go", "Closed").await;
    for m in [&alice, &lee] {
        let r = m.slash("join", &[("group", "Rust")]).await;
        assert!(r.text().contains("You joined **Rust**"), "{}", r.text());
    }
    make_leader(&ada, "Go", &lee).await;
    let r = alice.slash("request-join", &[("group", "Go")]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    lee.create_topic(rust, "Lifetimes", "How do they work?");
    sim.wait_count("the topic announced", "select count(*) from announced_topics where message_id is not null", 1)
        .await;
    // Two followers: alice is pinged by name (lee, its author, is not).
    sim.expect_ping(alice.user_id);
    other_servers_data(sim).await;
    (ada, alice, lee)
}

#[tokio::test]
async fn stats_show_a_chart_and_the_figures_of_this_server_as_postgres_has_them() {
    let sim = Sim::start().await;
    let (ada, alice, _) = server(&sim).await;
    let r = ada.slash("stats", &[]).await;
    assert!(r.is_ephemeral());
    assert_chart(&r.attachments());
    let text = r.text();
    assert!(text.contains("Server stats · last 30 days"), "{text}");
    // Members: a line per bucket, 7 dates over 30 days, ending with today's count.
    let interest = line(&text, "Interest");
    assert_eq!(interest.len(), 7, "{text}");
    assert_eq!(*interest.last().unwrap(), members_now(&sim, "interest").await);
    assert!(*interest.last().unwrap() >= 2, "alice and lee in Rust; the other server's three don't count: {text}");
    assert_eq!(*line(&text, "Identity").last().unwrap(), 0);
    // Requests: as many as Postgres holds for this server in the period.
    let g = sim.fake.guild_id;
    let made = sim.count(&format!("select count(*) from join_requests where guild_id = {g}")).await;
    let w = weeks(&text);
    assert!((5..=6).contains(&w.len()), "the weeks of 30 days: {text}");
    assert_eq!(w.iter().map(|w| w.0).sum::<i64>(), made);
    assert_eq!(made, 1);
    // Notifications: the announcement, and no DM or digest.
    let announced = sim
        .count(&format!("select count(*) from announced_topics where guild_id = {g} and message_id is not null"))
        .await;
    assert!(text.contains(&format!("Mention: {announced} announcements; DM: 0 messages; Digest: 0 lines")), "{text}");

    let r = ada.slash("stats", &[("period", "365 days")]).await;
    assert_chart(&r.attachments());
    assert_eq!(line(&r.text(), "Interest").len(), 13, "a year: about a point a month");
    assert!(weeks(&r.text()).len() >= 53);

    // Members are refused, with nothing attached.
    let r = alice.slash("stats", &[]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().starts_with("Error:"), "{}", r.text());
    assert!(r.attachments().is_empty());
    sim.fake.assert_no_violations();
}

#[tokio::test]
async fn group_stats_are_for_the_groups_leaders_and_admins() {
    let sim = Sim::start().await;
    let (ada, alice, lee) = server(&sim).await;
    // Lee leads Go: its stats, its one pending request.
    let r = lee.slash("group stats", &[("group", "Go"), ("period", "90 days")]).await;
    assert!(r.is_ephemeral());
    assert_chart(&r.attachments());
    let text = r.text();
    assert!(text.contains("Go · last 90 days"), "{text}");
    let go = line(&text, "Go");
    assert_eq!(go.len(), 7);
    let g = sim.fake.guild_id;
    let members = sim
        .count(&format!(
            "select count(*) from memberships m join groups g on g.id = m.group_id where g.guild_id = {g} and g.name = 'Go'"
        ))
        .await;
    assert_eq!(*go.last().unwrap(), members);
    assert_eq!(weeks(&text).iter().map(|w| w.0).sum::<i64>(), 1, "alice's request");
    assert!(text.contains("Mention: 0 announcements"), "the topic was in Rust: {text}");
    // An admin sees any group's; Rust had the announcement.
    let r = ada.slash("group stats", &[("group", "Rust")]).await;
    assert_chart(&r.attachments());
    assert_eq!(*line(&r.text(), "Rust").last().unwrap(), 2);
    assert!(r.text().contains("Mention: 1 announcements"), "{}", r.text());
    // Lee leads Go, not Rust; Alice leads nothing.
    for (who, group) in [(&lee, "Rust"), (&alice, "Rust"), (&alice, "Go")] {
        let r = who.slash("group stats", &[("group", group)]).await;
        assert!(r.is_ephemeral());
        assert!(r.text().contains("Error: Only this group's leaders and admins can see its stats."), "{}", r.text());
        assert!(r.attachments().is_empty());
    }
    // A group that does not exist (or is another server's).
    for name in ["Nope", "Elsewhere"] {
        let r = ada.slash("group stats", &[("group", name)]).await;
        assert!(r.text().contains("There's no group with that name"), "{}", r.text());
        assert!(r.attachments().is_empty());
    }
    sim.fake.assert_no_violations();
}

fn rows(f: &Attachment) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(f.bytes.as_slice()).records().map(|r| r.expect("a CSV row")).collect()
}

fn header(f: &Attachment) -> Vec<String> {
    csv::Reader::from_reader(f.bytes.as_slice()).headers().unwrap().iter().map(String::from).collect()
}

/// The first column of every file whose name starts with `table`.
fn ids(files: &[Attachment], table: &str) -> BTreeSet<String> {
    files.iter().filter(|f| f.filename.starts_with(table)).flat_map(rows).map(|r| r[0].to_string()).collect()
}

async fn postgres_ids(sim: &Sim, sql: &str) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>(sql).fetch_all(&sim.pool).await.unwrap().into_iter().collect()
}

#[tokio::test]
async fn export_holds_exactly_this_servers_rows_and_splits_by_period_to_fit_the_limit() {
    let sim = Sim::start().await;
    let (ada, alice, _) = server(&sim).await;
    let g = sim.fake.guild_id;
    // Older entries of this server's trail, months back.
    sqlx::query(
        "insert into audit_log (guild_id, actor_id, action, reason, created_at)
         select $1, 5, 'config.guidelines', '=cmd|calc', now() - make_interval(days => d) from generate_series(40, 100, 30) d",
    )
    .bind(g as i64)
    .execute(&sim.pool)
    .await
    .unwrap();
    // And a busy day today: more than one small file holds.
    sqlx::query(
        "insert into audit_log (guild_id, actor_id, action, reason)
         select $1, 5, 'membership.remove', repeat('spam ', 20) from generate_series(1, 12)",
    )
    .bind(g as i64)
    .execute(&sim.pool)
    .await
    .unwrap();

    let r = ada.slash("export", &[]).await;
    assert!(r.is_ephemeral());
    r.wait_for_text("Export complete").await;
    let files = r.attachments();
    let names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(names, ["groups.csv", "memberships.csv", "requests.csv", "audit.csv"]);
    assert!(files.iter().all(|f| f.content_type == "text/csv"));
    assert_eq!(header(&files[0])[..3], ["id", "name", "bucket"]);
    let want = postgres_ids(&sim, &format!("select id::text from groups where guild_id = {g}")).await;
    assert_eq!(ids(&files, "groups"), want);
    let want = postgres_ids(
        &sim,
        &format!(
            "select m.group_id::text from memberships m join groups g on g.id = m.group_id where g.guild_id = {g}"
        ),
    )
    .await;
    assert_eq!(ids(&files, "memberships"), want);
    let memberships = sim
        .count(&format!("select count(*) from memberships m join groups g on g.id = m.group_id where g.guild_id = {g}"))
        .await;
    assert_eq!(rows(&files[1]).len() as i64, memberships);
    let want = postgres_ids(&sim, &format!("select id::text from join_requests where guild_id = {g}")).await;
    assert_eq!(ids(&files, "requests"), want);
    let want = postgres_ids(&sim, &format!("select id::text from audit_log where guild_id = {g}")).await;
    assert_eq!(ids(&files, "audit"), want);
    for f in &files {
        let all = String::from_utf8(f.bytes.clone()).unwrap();
        assert!(
            !all.contains("Elsewhere") && !all.contains("secret elsewhere") && !all.contains("7001"),
            "{}: {all}",
            f.filename
        );
    }
    let audit = String::from_utf8(files[3].bytes.clone()).unwrap();
    assert!(audit.contains("'=cmd|calc") && !audit.contains(",=cmd"), "formulas are not run by spreadsheets: {audit}");

    // A small attachment limit: the tables are split by period, each file within it.
    let limit = 700;
    sim.fake.mutate(|w| w.guilds.get_mut(&g).unwrap().attachment_size_limit = limit);
    let r = ada.slash("export", &[]).await;
    r.wait_for_text("Export complete").await;
    let parts = r.attachments();
    assert!(parts.len() > 4, "{:?}", parts.iter().map(|f| &f.filename).collect::<Vec<_>>());
    assert!(
        parts.iter().all(|f| f.size() <= limit as usize),
        "{:?}",
        parts.iter().map(|f| f.size()).collect::<Vec<_>>()
    );
    assert!(
        parts.iter().any(|f| f.filename.starts_with("audit-") && f.filename.len() == "audit-2026-01.csv".len()),
        "by month"
    );
    assert!(parts.iter().any(|f| f.filename.contains("-part")), "a day too large for one file is cut in parts");
    let want = postgres_ids(&sim, &format!("select id::text from audit_log where guild_id = {g}")).await;
    assert_eq!(ids(&parts, "audit"), want, "every row once, in one of the files");
    assert_eq!(parts.iter().filter(|f| f.filename.starts_with("audit")).flat_map(rows).count(), want.len());

    let r = alice.slash("export", &[]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().starts_with("Error:"), "{}", r.text());
    assert!(r.attachments().is_empty());
    sim.fake.assert_no_violations();
}
