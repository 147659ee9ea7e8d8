//! The figures of `/stats` and `/group stats` (O2), read from Postgres:
//! members over time (per bucket for a server, or one group), requests per
//! week with the median time to a decision, and notifications delivered by
//! mode. Plain numbers: the chart and the text are drawn from the same
//! `Figures` by `views::stats` and `render::chart`.

use super::db_id;
use super::group::Bucket;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::PgConnection;

/// The periods a person can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Days30,
    Days90,
    Days365,
}

impl Period {
    pub fn days(self) -> i64 {
        match self {
            Period::Days30 => 30,
            Period::Days90 => 90,
            Period::Days365 => 365,
        }
    }

    /// How many steps the members' lines have: a point every 5 days over
    /// 30 days, every 15 over 90, about every month over a year. Few enough
    /// points that the text lists every one.
    pub fn steps(self) -> i64 {
        match self {
            Period::Days30 | Period::Days90 => 6,
            Period::Days365 => 12,
        }
    }

    /// The instants the members' lines are sampled at, oldest first, the
    /// last one `until`.
    pub fn samples(self, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let span = Duration::days(self.days());
        let from = until - span;
        (0..=self.steps()).map(|k| from + span * k as i32 / self.steps() as i32).collect()
    }
}

/// What the figures are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A whole server: members per bucket, over its active groups.
    Guild,
    /// One group.
    Group(i64),
}

/// One line of the members chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub name: String,
    /// Members at each of `Figures::samples`.
    pub points: Vec<i64>,
}

/// One week of requests to join (weeks start on Monday, UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct Week {
    pub start: NaiveDate,
    /// Requests made that week.
    pub requests: i64,
    /// Requests approved or denied that week.
    pub decided: i64,
    /// The median time from request to decision of those, in hours.
    pub median_hours: Option<f64>,
}

/// Notifications delivered in the period, by delivery mode (S5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deliveries {
    /// Mention mode: announcements of new topics posted (one message
    /// reaches every mention-mode follower).
    pub mention: i64,
    /// DM mode: direct messages sent.
    pub dm: i64,
    /// Digest mode: lines put in a daily digest.
    pub digest: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub period: Period,
    pub until: DateTime<Utc>,
    pub samples: Vec<DateTime<Utc>>,
    pub members: Vec<Series>,
    pub weeks: Vec<Week>,
    pub deliveries: Deliveries,
}

/// Every figure for `scope` in `guild_id` over `period`, up to `until`.
pub async fn figures(
    conn: &mut PgConnection,
    guild_id: u64,
    scope: Scope,
    period: Period,
    until: DateTime<Utc>,
) -> Result<Figures, sqlx::Error> {
    let samples = period.samples(until);
    let members = members(conn, guild_id, scope, &samples).await?;
    let from = until - Duration::days(period.days());
    let weeks = weeks(conn, guild_id, scope, from, until).await?;
    let deliveries = deliveries(conn, guild_id, scope, from, until).await?;
    Ok(Figures { period, until, samples, members, weeks, deliveries })
}

fn group_of(scope: Scope) -> Option<i64> {
    match scope {
        Scope::Guild => None,
        Scope::Group(id) => Some(id),
    }
}

/// Members at each sample: per bucket over the server's active groups, or
/// the one group's. Read from `membership_changes`, which the database
/// keeps whatever path changes a membership.
pub async fn members(
    conn: &mut PgConnection,
    guild_id: u64,
    scope: Scope,
    samples: &[DateTime<Utc>],
) -> Result<Vec<Series>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select g.bucket as "bucket!", s.i as "i!", coalesce(sum(c.delta), 0)::bigint as "members!"
             from groups g
            cross join unnest($3::timestamptz[]) with ordinality s(at, i)
             left join membership_changes c on c.group_id = g.id and c.at <= s.at
            where g.guild_id = $1
              and (($2::bigint is null and g.archived_at is null) or g.id = $2)
            group by g.bucket, s.i"#,
        db_id(guild_id),
        group_of(scope),
        samples
    )
    .fetch_all(&mut *conn)
    .await?;
    let at = |bucket: Option<Bucket>, i: usize| -> i64 {
        rows.iter()
            .filter(|r| bucket.is_none_or(|b| r.bucket == b.key()) && r.i as usize == i + 1)
            .map(|r| r.members)
            .sum()
    };
    Ok(match scope {
        Scope::Guild => Bucket::ALL
            .into_iter()
            .map(|b| Series {
                name: b.label().to_string(),
                points: (0..samples.len()).map(|i| at(Some(b), i)).collect(),
            })
            .collect(),
        Scope::Group(id) => {
            let name =
                sqlx::query_scalar!("select name from groups where id = $1 and guild_id = $2", id, db_id(guild_id))
                    .fetch_optional(&mut *conn)
                    .await?
                    .unwrap_or_default();
            vec![Series { name, points: (0..samples.len()).map(|i| at(None, i)).collect() }]
        }
    })
}

/// Requests per week from the week holding `from` to the one holding
/// `until`: made that week (within the period), decided that week, and the
/// median time to those decisions.
pub async fn weeks(
    conn: &mut PgConnection,
    guild_id: u64,
    scope: Scope,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Week>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select w.start::date as "start!",
                  (select count(*) from join_requests r
                    where r.guild_id = $1 and ($2::bigint is null or r.group_id = $2)
                      and r.created_at >= greatest(w.start, $3) and r.created_at < least(w.start + interval '7 days', $4)
                  ) as "requests!",
                  (select count(*) from join_requests r
                    where r.guild_id = $1 and ($2::bigint is null or r.group_id = $2)
                      and r.status in ('approved', 'denied')
                      and r.decided_at >= greatest(w.start, $3) and r.decided_at < least(w.start + interval '7 days', $4)
                  ) as "decided!",
                  (select percentile_cont(0.5) within group (order by extract(epoch from r.decided_at - r.created_at)::float8)
                     from join_requests r
                    where r.guild_id = $1 and ($2::bigint is null or r.group_id = $2)
                      and r.status in ('approved', 'denied')
                      and r.decided_at >= greatest(w.start, $3) and r.decided_at < least(w.start + interval '7 days', $4)
                  ) as median_seconds
             from generate_series(date_trunc('week', $3::timestamptz, 'UTC'), $4::timestamptz, interval '7 days') w(start)
            order by 1"#,
        db_id(guild_id),
        group_of(scope),
        from,
        until
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Week {
            start: r.start,
            requests: r.requests,
            decided: r.decided,
            median_hours: r.median_seconds.map(|s| s / 3600.0),
        })
        .collect())
}

/// Notifications delivered between `from` and `until`. For one group: the
/// announcements of its topics, and the DMs and digest lines about them (a
/// DM about a message in a followed thread or post is counted for the
/// server only: it names no group).
pub async fn deliveries(
    conn: &mut PgConnection,
    guild_id: u64,
    scope: Scope,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Deliveries, sqlx::Error> {
    let r = sqlx::query!(
        r#"select
             (select count(*) from announced_topics t
               where t.guild_id = $1 and t.message_id is not null
                 and ($2::bigint is null or t.group_id = $2)
                 and t.announced_at > $3 and t.announced_at <= $4) as "mention!",
             (select count(*) from deliveries d
               where d.guild_id = $1 and d.kind = 'dm' and d.state = 'sent'
                 and d.done_at > $3 and d.done_at <= $4
                 and ($2::bigint is null or (split_part(d.dedupe_key, ':', 1) = 'topic'
                      and split_part(d.dedupe_key, ':', 2) in
                          (select t.thread_id::text from announced_topics t where t.group_id = $2)))) as "dm!",
             (select count(*) from digest_items i
               where i.guild_id = $1 and i.digested_at > $3 and i.digested_at <= $4
                 and ($2::bigint is null or (split_part(i.dedupe_key, ':', 1) = 'topic'
                      and split_part(i.dedupe_key, ':', 2) in
                          (select t.thread_id::text from announced_topics t where t.group_id = $2)))) as "digest!""#,
        db_id(guild_id),
        group_of(scope),
        from,
        until
    )
    .fetch_one(conn)
    .await?;
    Ok(Deliveries { mention: r.mention, dm: r.dm, digest: r.digest })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::PgPool;

    fn t(day: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc) + Duration::days(day)
    }

    async fn group(conn: &mut PgConnection, guild: i64, name: &str, bucket: &str) -> i64 {
        sqlx::query_scalar(
            "insert into groups (guild_id, name, bucket, visibility, created_by) values ($1, $2, $3, 'open', 1) returning id",
        )
        .bind(guild)
        .bind(name)
        .bind(bucket)
        .fetch_one(conn)
        .await
        .unwrap()
    }

    /// Back-date the change the trigger just wrote for `group`.
    async fn dated(conn: &mut PgConnection, group: i64, at: DateTime<Utc>) {
        sqlx::query(
            "update membership_changes set at = $2
              where id = (select max(id) from membership_changes where group_id = $1)",
        )
        .bind(group)
        .bind(at)
        .execute(conn)
        .await
        .unwrap();
    }

    async fn join(conn: &mut PgConnection, group: i64, user: i64, at: DateTime<Utc>) {
        sqlx::query("insert into memberships (group_id, user_id) values ($1, $2)")
            .bind(group)
            .bind(user)
            .execute(&mut *conn)
            .await
            .unwrap();
        dated(conn, group, at).await;
    }

    #[test]
    fn samples_span_the_period_and_end_now() {
        let s = Period::Days30.samples(t(0));
        assert_eq!(s.len(), 7);
        assert_eq!(s[0], t(-30));
        assert_eq!(s[1], t(-25));
        assert_eq!(*s.last().unwrap(), t(0));
        assert_eq!(Period::Days90.samples(t(0))[1], t(-75));
        assert_eq!(Period::Days365.samples(t(0)).len(), 13);
    }

    /// The history is kept by the trigger whatever path changes a
    /// membership: joins, leaves, going away and coming back; another
    /// server's groups never count.
    #[sqlx::test]
    async fn members_over_time_follow_every_change_and_stay_in_their_server(pool: PgPool) {
        let mut c = pool.acquire().await.unwrap();
        let rust = group(&mut c, 1, "Rust", "interest").await;
        let go = group(&mut c, 1, "Go", "interest").await;
        let women = group(&mut c, 1, "Women in tech", "identity").await;
        let other = group(&mut c, 2, "Elsewhere", "interest").await;
        join(&mut c, rust, 10, t(-28)).await;
        join(&mut c, rust, 11, t(-20)).await;
        join(&mut c, go, 10, t(-20)).await;
        join(&mut c, women, 12, t(-3)).await;
        join(&mut c, other, 99, t(-20)).await;
        // 11 leaves Rust on day -8; 10 goes away (left the server) on day -4.
        sqlx::query("delete from memberships where group_id = $1 and user_id = 11")
            .bind(rust)
            .execute(&mut *c)
            .await
            .unwrap();
        dated(&mut c, rust, t(-8)).await;
        sqlx::query("update memberships set away_since = now() where group_id = $1")
            .bind(go)
            .execute(&mut *c)
            .await
            .unwrap();
        dated(&mut c, go, t(-4)).await;
        let samples = Period::Days30.samples(t(0));
        let m = members(&mut c, 1, Scope::Guild, &samples).await.unwrap();
        let interest = m.iter().find(|s| s.name == "Interest").unwrap();
        // days -30 -25 -20 -15 -10 -5 0
        assert_eq!(interest.points, [0, 1, 3, 3, 3, 2, 1]);
        let identity = m.iter().find(|s| s.name == "Identity").unwrap();
        assert_eq!(identity.points, [0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(m.len(), 4, "one line per bucket");
        let g = members(&mut c, 1, Scope::Group(rust), &samples).await.unwrap();
        assert_eq!(g, vec![Series { name: "Rust".into(), points: vec![0, 1, 2, 2, 2, 1, 1] }]);
        // Another server's group is nobody's here.
        let g = members(&mut c, 1, Scope::Group(other), &samples).await.unwrap();
        assert_eq!(g[0].points, [0; 7]);
        // Coming back counts again; deleting the group leaves the others alone.
        sqlx::query("update memberships set away_since = null where group_id = $1")
            .bind(go)
            .execute(&mut *c)
            .await
            .unwrap();
        sqlx::query("delete from groups where id = $1").bind(women).execute(&mut *c).await.unwrap();
        let m =
            members(&mut c, 1, Scope::Guild, &Period::Days30.samples(Utc::now() + Duration::minutes(1))).await.unwrap();
        assert_eq!(*m.iter().find(|s| s.name == "Interest").unwrap().points.last().unwrap(), 2);
        assert_eq!(*m.iter().find(|s| s.name == "Identity").unwrap().points.last().unwrap(), 0);
    }

    async fn request(
        conn: &mut PgConnection,
        guild: i64,
        group: i64,
        made: DateTime<Utc>,
        decided: Option<(&str, DateTime<Utc>)>,
    ) {
        let (status, at) = decided.map_or(("pending", None), |(s, at)| (s, Some(at)));
        sqlx::query(
            "insert into join_requests (guild_id, group_id, user_id, status, created_at, decided_at) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(guild)
        .bind(group)
        .bind(made.timestamp_micros())
        .bind(status)
        .bind(made)
        .bind(at)
        .execute(conn)
        .await
        .unwrap();
    }

    #[sqlx::test]
    async fn requests_per_week_with_the_median_time_to_a_decision(pool: PgPool) {
        let mut c = pool.acquire().await.unwrap();
        let rust = group(&mut c, 1, "Rust", "interest").await;
        let go = group(&mut c, 1, "Go", "interest").await;
        let other = group(&mut c, 2, "Elsewhere", "interest").await;
        // 2026-03-01 is a Sunday: day -4 (Wed 02-25) is in the week of 02-23.
        request(&mut c, 1, rust, t(-4), Some(("approved", t(-4) + Duration::hours(2)))).await;
        request(&mut c, 1, rust, t(-4), Some(("denied", t(-4) + Duration::hours(6)))).await;
        request(&mut c, 1, go, t(-3), Some(("approved", t(-3) + Duration::hours(10)))).await;
        request(&mut c, 1, go, t(-2), Some(("withdrawn", t(-1)))).await;
        request(&mut c, 1, rust, t(-1), None).await;
        request(&mut c, 2, other, t(-1), Some(("approved", t(-1)))).await;
        // Before the period: neither counted nor decided in it.
        request(&mut c, 1, rust, t(-40), Some(("approved", t(-39)))).await;
        let w = weeks(&mut c, 1, Scope::Guild, t(-30), t(0)).await.unwrap();
        assert_eq!(w.first().unwrap().start, NaiveDate::from_ymd_opt(2026, 1, 26).unwrap(), "the week holding day -30");
        let last = w.last().unwrap();
        assert_eq!(last.start, NaiveDate::from_ymd_opt(2026, 2, 23).unwrap());
        assert_eq!((last.requests, last.decided), (5, 3));
        assert_eq!(last.median_hours, Some(6.0));
        assert_eq!(w.iter().map(|w| w.requests).sum::<i64>(), 5, "another server's and older requests are not counted");
        let r = weeks(&mut c, 1, Scope::Group(rust), t(-30), t(0)).await.unwrap();
        let last = r.last().unwrap();
        assert_eq!((last.requests, last.decided, last.median_hours), (3, 2, Some(4.0)));
        assert!(r[..r.len() - 1].iter().all(|w| w.requests == 0 && w.median_hours.is_none()));
    }

    #[sqlx::test]
    async fn deliveries_by_mode_in_the_period(pool: PgPool) {
        let mut c = pool.acquire().await.unwrap();
        let rust = group(&mut c, 1, "Rust", "interest").await;
        let go = group(&mut c, 1, "Go", "interest").await;
        for (thread, g, message, guild) in
            [(100, rust, Some(1), 1), (101, go, Some(2), 1), (102, rust, None, 1), (103, rust, Some(3), 2)]
        {
            sqlx::query("insert into announced_topics (thread_id, guild_id, group_id, message_id, announced_at) values ($1, $2, $3, $4, $5)")
                .bind(thread as i64)
                .bind(guild as i64)
                .bind(g)
                .bind(message.map(|m: i64| m))
                .bind(t(-1))
                .execute(&mut *c)
                .await
                .unwrap();
        }
        for (key, state, guild) in [
            ("topic:100:7", "sent", 1),
            ("topic:101:7", "sent", 1),
            ("msg:555:7", "sent", 1),
            ("topic:100:8", "pending", 1),
            ("topic:103:9", "sent", 2),
        ] {
            sqlx::query(
                "insert into deliveries (guild_id, user_id, kind, dedupe_key, content, run_at, created_at, state, done_at)
                 values ($1, 7, 'dm', $2, 'x', $3, $3, $4, case when $4 = 'sent' then $3 end)",
            )
            .bind(guild as i64)
            .bind(key)
            .bind(t(-1))
            .bind(state)
            .execute(&mut *c)
            .await
            .unwrap();
        }
        for (key, digested) in [("topic:100", Some(t(-1))), ("msg:9", Some(t(-1))), ("topic:101", None)] {
            sqlx::query(
                "insert into digest_items (guild_id, user_id, day, dedupe_key, line, created_at, digested_at) values (1, 7, '2026-02-28', $1, 'x', $2, $3)",
            )
            .bind(key)
            .bind(t(-1))
            .bind(digested)
            .execute(&mut *c)
            .await
            .unwrap();
        }
        let all = deliveries(&mut c, 1, Scope::Guild, t(-30), t(0)).await.unwrap();
        assert_eq!(all, Deliveries { mention: 2, dm: 3, digest: 2 });
        let r = deliveries(&mut c, 1, Scope::Group(rust), t(-30), t(0)).await.unwrap();
        assert_eq!(r, Deliveries { mention: 1, dm: 1, digest: 1 });
        assert_eq!(deliveries(&mut c, 1, Scope::Guild, t(-60), t(-31)).await.unwrap(), Deliveries::default());
    }
}
