//! Settings from the environment (and `.env`). A missing or malformed setting
//! is a one-line error naming it; the token never appears in `Debug` output.

use std::fmt;

/// The bot token, kept out of logs.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(s: impl Into<String>) -> Self {
        Token(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub token: Token,
    pub database_url: String,
    /// Register commands in this guild only (instant; for development).
    pub dev_guild_id: Option<u64>,
    /// Base URL of Discord's API, e.g. a rate-limit proxy shared by several
    /// processes, which paces requests; `None`: Discord itself
    /// (`discord_origin`), paced by the bot.
    pub api_base_url: Option<String>,
    /// Where Discord is when no `api_base_url` is set: [`DISCORD_ORIGIN`]
    /// (tests point it at the fake Discord to run the bot's own pacing).
    pub discord_origin: String,
    /// The time deadlines are measured against: the system clock, or a
    /// test's manual clock.
    pub clock: crate::clock::Clock,
    /// How often the background pass runs (reminders, expiry, digests).
    pub tick: std::time::Duration,
    /// Where `/metrics`, `/healthz` and `/readyz` are served (O1); `None`
    /// (METRICS_ADDR unset) serves nothing. A bare port means loopback.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// How many shards the bot has in all (`SHARD_COUNT`); `None`: what
    /// `GET /gateway/bot` recommends at start.
    pub shard_count: Option<u32>,
    /// The shards this process runs (`SHARD_RANGE`); `None`: all of them.
    pub shard_range: Option<std::ops::Range<u32>>,
    /// This process's share of Discord's global 50 requests a second for the
    /// DM queue (`DM_RATE_PER_SEC`, 1 to 50).
    pub dm_rate_per_sec: u32,
    /// This process's share of Discord's global 50 requests a second for
    /// all its requests but interactions' answers, when it talks to Discord
    /// itself (`REST_RATE_PER_SEC`, 1 to 50; unused behind a proxy).
    pub rest_rate_per_sec: u32,
    /// A group's mention-mode followers are pinged by name up to this many
    /// (`NOTIFY_BY_NAME_MAX`, 0 to 90); past it, through the group's
    /// notification role (S5, N6).
    pub notify_by_name_max: u32,
}

/// Followers pinged by name by default: one message's worth, and a join
/// costs one member-role call while a group is no bigger.
pub const DEFAULT_NOTIFY_BY_NAME_MAX: u32 = 50;

/// The background pass's default period.
pub const DEFAULT_TICK: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set (see .env.example)")]
    Missing(&'static str),
    #[error("{0} is malformed: {1}")]
    Malformed(&'static str, &'static str),
    #[error("SHARD_RANGE {start}..{end} does not fit in {count} shards (SHARD_COUNT, or what Discord recommends): the last shard is {last}")]
    RangeOutsideCount { start: u32, end: u32, count: u32, last: u32 },
}

/// The DM queue's default share of the global limit (`DM_RATE_PER_SEC`).
pub const DEFAULT_DM_RATE_PER_SEC: u32 = crate::discord::limiter::DM_RATE_PER_SEC;
/// The whole process's default share (`REST_RATE_PER_SEC`).
pub const DEFAULT_REST_RATE_PER_SEC: u32 = crate::discord::limiter::REST_RATE_PER_SEC;

/// `a..b` (b excluded) or `a..=b` (b included), as Rust writes ranges; not empty.
pub fn parse_shard_range(v: &str) -> Result<std::ops::Range<u32>, ConfigError> {
    const HOW: &str = "write a..b (b excluded) or a..=b (b included), like 0..2 or 2..=3, with a before b";
    let bad = ConfigError::Malformed("SHARD_RANGE", HOW);
    let (start, end, inclusive) = match v.split_once("..=") {
        Some((a, b)) => (a, b, true),
        None => match v.split_once("..") {
            Some((a, b)) => (a, b, false),
            None => return Err(bad),
        },
    };
    let (Ok(start), Ok(end)) = (start.trim().parse::<u32>(), end.trim().parse::<u32>()) else {
        return Err(bad);
    };
    let end = if inclusive { end.checked_add(1).ok_or(bad.clone())? } else { end };
    if start >= end {
        return Err(bad);
    }
    Ok(start..end)
}

/// Discord's API, as serenity names it.
pub const DISCORD_ORIGIN: &str = "https://discord.com";

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/guildhall";

impl Config {
    /// Read the settings through `get` (the environment in production).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let non_empty = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let token = non_empty("DISCORD_TOKEN").ok_or(ConfigError::Missing("DISCORD_TOKEN"))?;
        if token.chars().any(char::is_whitespace) {
            return Err(ConfigError::Malformed("DISCORD_TOKEN", "it contains white space"));
        }
        let database_url = non_empty("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(ConfigError::Malformed("DATABASE_URL", "it must start with postgres://"));
        }
        // A setting that, when set, is a whole number in `ok`.
        let number = |key: &'static str, ok: std::ops::RangeInclusive<u64>, why: &'static str| {
            non_empty(key)
                .map(|v| v.parse::<u64>().ok().filter(|n| ok.contains(n)).ok_or(ConfigError::Malformed(key, why)))
                .transpose()
        };
        let dev_guild_id = number("DISCORD_GUILD_ID", 1..=u64::MAX, "it must be a numeric server id")?;
        let api_base_url = match non_empty("DISCORD_API_BASE_URL") {
            None => None,
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                Some(v.trim_end_matches('/').to_string())
            }
            Some(_) => {
                return Err(ConfigError::Malformed("DISCORD_API_BASE_URL", "it must start with http:// or https://"))
            }
        };
        let metrics_addr = match non_empty("METRICS_ADDR") {
            None => None,
            Some(v) => Some(parse_metrics_addr(&v).ok_or(ConfigError::Malformed(
                "METRICS_ADDR",
                "it must be a port (loopback) or an address and port, like 127.0.0.1:9100",
            ))?),
        };
        let shard_count = number("SHARD_COUNT", 1..=u32::MAX as u64, "it must be a whole number of shards, 1 or more")?
            .map(|n| n as u32);
        let shard_range = non_empty("SHARD_RANGE").map(|v| parse_shard_range(&v)).transpose()?;
        if let (Some(count), Some(range)) = (shard_count, &shard_range) {
            check_range(range, count)?;
        }
        let dm_rate_per_sec = number(
            "DM_RATE_PER_SEC",
            1..=50,
            "it must be 1 to 50 (Discord allows a bot 50 requests a second; give each process a share)",
        )?
        .map_or(DEFAULT_DM_RATE_PER_SEC, |n| n as u32);
        let rest_rate_per_sec = number(
            "REST_RATE_PER_SEC",
            1..=crate::discord::limiter::MOST_REST_RATE_PER_SEC as u64,
            "it must be 1 to 40 (Discord allows a bot 50 requests a second; the rest is the burst and the network's jitter; give each process a share)",
        )?
        .map_or(DEFAULT_REST_RATE_PER_SEC, |n| n as u32);
        let notify_by_name_max = number(
            "NOTIFY_BY_NAME_MAX",
            0..=90,
            "it must be 0 to 90 (a message's 2,000 characters hold about 90 mentions; 0 always uses the notification role)",
        )?
        .map_or(DEFAULT_NOTIFY_BY_NAME_MAX, |n| n as u32);
        if dm_rate_per_sec > rest_rate_per_sec {
            return Err(ConfigError::Malformed(
                "DM_RATE_PER_SEC",
                "it must not exceed REST_RATE_PER_SEC (40 by default): the DM queue's share is part of the process's",
            ));
        }
        Ok(Config {
            rest_rate_per_sec,
            notify_by_name_max,
            shard_count,
            shard_range,
            dm_rate_per_sec,
            token: Token(token),
            database_url,
            dev_guild_id,
            api_base_url,
            discord_origin: DISCORD_ORIGIN.into(),
            clock: crate::clock::Clock::system(),
            tick: DEFAULT_TICK,
            metrics_addr,
        })
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The shards this process runs and the shard count, given what
    /// `GET /gateway/bot` recommends (asked only when `SHARD_COUNT` is unset).
    pub fn shards(&self, recommended: u32) -> Result<(std::ops::Range<u32>, u32), ConfigError> {
        let count = self.shard_count.unwrap_or(recommended.max(1));
        let range = self.shard_range.clone().unwrap_or(0..count);
        check_range(&range, count)?;
        Ok((range, count))
    }
}

fn check_range(range: &std::ops::Range<u32>, count: u32) -> Result<(), ConfigError> {
    if range.end > count {
        return Err(ConfigError::RangeOutsideCount { start: range.start, end: range.end, count, last: count - 1 });
    }
    Ok(())
}

/// `9100` is `127.0.0.1:9100`; `0.0.0.0:9100` or `[::1]:9100` as written.
fn parse_metrics_addr(v: &str) -> Option<std::net::SocketAddr> {
    if let Ok(port) = v.parse::<u16>() {
        return Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    v.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn token_is_required_and_never_printed() {
        assert_eq!(cfg(&[]).unwrap_err(), ConfigError::Missing("DISCORD_TOKEN"));
        let c = cfg(&[("DISCORD_TOKEN", "secret.token.value")]).unwrap();
        assert!(!format!("{c:?}").contains("secret"));
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.dev_guild_id, None);
    }

    #[test]
    fn metrics_are_off_unless_set_and_loopback_by_default() {
        let t = ("DISCORD_TOKEN", "t");
        assert_eq!(cfg(&[t]).unwrap().metrics_addr, None);
        assert_eq!(cfg(&[t, ("METRICS_ADDR", "9100")]).unwrap().metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(cfg(&[t, ("METRICS_ADDR", "0.0.0.0:9")]).unwrap().metrics_addr, Some("0.0.0.0:9".parse().unwrap()));
        let e = cfg(&[t, ("METRICS_ADDR", "localhost")]).unwrap_err();
        assert!(e.to_string().starts_with("METRICS_ADDR is malformed"));
    }

    #[test]
    fn malformed_settings_are_named() {
        let e = cfg(&[("DISCORD_TOKEN", "t"), ("DISCORD_GUILD_ID", "abc")]).unwrap_err();
        assert!(e.to_string().starts_with("DISCORD_GUILD_ID is malformed"));
        let e = cfg(&[("DISCORD_TOKEN", "t"), ("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert!(e.to_string().starts_with("DATABASE_URL"));
        let e = cfg(&[("DISCORD_TOKEN", "t"), ("DISCORD_API_BASE_URL", "ftp://x")]).unwrap_err();
        assert!(e.to_string().starts_with("DISCORD_API_BASE_URL"));
        let c = cfg(&[
            ("DISCORD_TOKEN", "t"),
            ("DISCORD_GUILD_ID", "123"),
            ("DISCORD_API_BASE_URL", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(c.dev_guild_id, Some(123));
        assert_eq!(c.api_base_url.as_deref(), Some("http://127.0.0.1:9"));
    }

    #[test]
    fn shard_ranges_are_exclusive_or_inclusive_and_must_fit_the_count() {
        let t = ("DISCORD_TOKEN", "t");
        let c = cfg(&[t]).unwrap();
        assert_eq!((c.shard_count, c.shard_range.clone()), (None, None));
        assert_eq!(c.shards(3).unwrap(), (0..3, 3), "all of what Discord recommends");
        let c = cfg(&[t, ("SHARD_COUNT", "4"), ("SHARD_RANGE", "2..4")]).unwrap();
        assert_eq!(c.shards(1).unwrap(), (2..4, 4), "SHARD_COUNT wins over the recommendation");
        let c = cfg(&[t, ("SHARD_COUNT", "4"), ("SHARD_RANGE", "0..=1")]).unwrap();
        assert_eq!(c.shard_range, Some(0..2));
        let c = cfg(&[t, ("SHARD_RANGE", " 1 ..= 1 ")]).unwrap();
        assert_eq!(c.shard_range, Some(1..2), "one shard");
        for bad in ["2..2", "3..1", "1-3", "a..b", "..2", "0..", "-1..2", "1..=4294967295"] {
            let e = cfg(&[t, ("SHARD_RANGE", bad)]).unwrap_err();
            assert!(e.to_string().starts_with("SHARD_RANGE is malformed: write a..b"), "{bad}: {e}");
        }
        for bad in ["0", "-2", "many"] {
            let e = cfg(&[t, ("SHARD_COUNT", bad)]).unwrap_err();
            assert!(e.to_string().starts_with("SHARD_COUNT is malformed"), "{bad}: {e}");
        }
        let e = cfg(&[t, ("SHARD_COUNT", "4"), ("SHARD_RANGE", "2..5")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SHARD_RANGE 2..5 does not fit in 4 shards (SHARD_COUNT, or what Discord recommends): the last shard is 3"
        );
        // Without SHARD_COUNT the range is checked against the recommendation at start.
        let c = cfg(&[t, ("SHARD_RANGE", "2..4")]).unwrap();
        assert!(matches!(c.shards(2), Err(ConfigError::RangeOutsideCount { count: 2, .. })));
        assert_eq!(c.shards(4).unwrap(), (2..4, 4));
    }

    #[test]
    fn the_dm_rate_is_a_share_of_discords_50_a_second() {
        let t = ("DISCORD_TOKEN", "t");
        assert_eq!(cfg(&[t]).unwrap().rest_rate_per_sec, 40);
        let c = cfg(&[t, ("REST_RATE_PER_SEC", "22"), ("DM_RATE_PER_SEC", "20")]).unwrap();
        assert_eq!(c.rest_rate_per_sec, 22);
        for bad in ["0", "41", "51", "many"] {
            let e = cfg(&[t, ("REST_RATE_PER_SEC", bad)]).unwrap_err();
            assert!(e.to_string().starts_with("REST_RATE_PER_SEC is malformed: it must be 1 to 40"), "{bad}: {e}");
        }
        let e = cfg(&[t, ("REST_RATE_PER_SEC", "22"), ("DM_RATE_PER_SEC", "40")]).unwrap_err();
        assert!(e.to_string().contains("must not exceed REST_RATE_PER_SEC"), "{e}");
        let c = cfg(&[t, ("REST_RATE_PER_SEC", "22"), ("DM_RATE_PER_SEC", "20")]).unwrap();
        assert_eq!((c.rest_rate_per_sec, c.dm_rate_per_sec), (22, 20));
        assert_eq!(cfg(&[t]).unwrap().dm_rate_per_sec, 40);
        assert_eq!(cfg(&[t, ("DM_RATE_PER_SEC", "20")]).unwrap().dm_rate_per_sec, 20);
        assert_eq!(cfg(&[t, ("DM_RATE_PER_SEC", "40")]).unwrap().dm_rate_per_sec, 40);
        for bad in ["0", "51", "2.5", "fast"] {
            let e = cfg(&[t, ("DM_RATE_PER_SEC", bad)]).unwrap_err();
            assert!(e.to_string().starts_with("DM_RATE_PER_SEC is malformed: it must be 1 to 50"), "{bad}: {e}");
        }
    }
}
