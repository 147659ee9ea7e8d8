//! When no PostgreSQL answers where `DATABASE_URL` points, the playground
//! starts one itself, as `scripts/pg-up` does, rather than sending a
//! newcomer off to run a script: if the server is on this machine
//! (loopback) and PostgreSQL's programs are installed (`pg_config --bindir`,
//! else the newest `/usr/lib/postgresql/*/bin`, else `initdb` on the PATH),
//! a private cluster in `PLAYGROUND_PGDATA` (by default
//! `guildhall-playground-pgdata` in the temporary directory) is initialised
//! on first use (trust auth for the URL's user, loopback only) and started
//! with `pg_ctl` on the URL's port. As root, the server runs as the
//! `postgres` OS user (PostgreSQL refuses root). It stays up after the
//! playground stops, so the next start is quick; the line that says it
//! started says how to stop it. Otherwise a one-line hint names the host and
//! port that did not answer.
//!
//! `plan` decides (a pure function, unit-tested); `start` does it.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `DATABASE_URL`'s server is: `postgres://user[:pw]@host[:port]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Server {
    pub user: String,
    pub host: String,
    pub port: u16,
}

impl Server {
    /// The server part of a URL (as `Settings::server` holds it).
    pub fn parse(server: &str) -> Option<Server> {
        let rest = server.strip_prefix("postgres://").or_else(|| server.strip_prefix("postgresql://"))?;
        let (auth, hostport) = match rest.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, rest),
        };
        let user = auth.map(|a| a.split(':').next().unwrap_or_default()).filter(|u| !u.is_empty());
        let (host, port) = match hostport.strip_prefix('[') {
            // [::1]:5432
            Some(v6) => {
                let (h, after) = v6.split_once(']')?;
                (h.to_string(), after.strip_prefix(':'))
            }
            None => match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            },
        };
        let port = match port {
            Some(p) => p.parse().ok()?,
            None => 5432,
        };
        Some(Server { user: user.unwrap_or("postgres").to_string(), host, port })
    }

    /// Whether it is on this machine, where the playground may start it.
    pub fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "127.0.0.1" | "localhost" | "::1")
    }

    fn at(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// What to do when no PostgreSQL answered.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// Start a private cluster with the programs in `bindir`.
    Start { bindir: PathBuf, datadir: PathBuf },
    /// Nothing to start: the one line to show.
    Hint(String),
}

/// Decide what to do about `server` not answering, given where
/// PostgreSQL's programs are (if installed) and the data directory to use
/// (`None`: do not start one).
pub fn plan(server: &Server, bindir: Option<PathBuf>, datadir: Option<&Path>) -> Plan {
    let at = server.at();
    if !server.is_loopback() {
        return Plan::Hint(format!(
            "no PostgreSQL answers at {at} (DATABASE_URL): start it there, or point DATABASE_URL at one"
        ));
    }
    match (bindir, datadir) {
        (Some(bindir), Some(datadir)) => Plan::Start { bindir, datadir: datadir.to_path_buf() },
        (None, _) => Plan::Hint(format!(
            "no PostgreSQL answers at {at} and none is installed here to start: install PostgreSQL \
             (e.g. apt-get install postgresql) or set DATABASE_URL"
        )),
        (Some(_), None) => Plan::Hint(format!(
            "no PostgreSQL answers at {at}: start one on port {} (or set DATABASE_URL)",
            server.port
        )),
    }
}

/// Where PostgreSQL's server programs are installed, if they are.
pub fn installed() -> Option<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, d)| has_tools(d))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|d| {
        let initdb = std::fs::canonicalize(d.join("initdb")).ok()?;
        let dir = initdb.parent()?.to_path_buf();
        has_tools(&dir).then_some(dir)
    })
}

/// The process runs as root (PostgreSQL's programs refuse to).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program args...`, as the `postgres` OS user when we are root.
fn as_postgres(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut c: Command, what: &str) -> anyhow::Result<()> {
    let out = c.stdin(std::process::Stdio::null()).output().with_context(|| format!("{what}: cannot run it"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim().to_string();
        bail!("{what} failed: {last}");
    }
    Ok(())
}

/// Start a private cluster for `server` in `datadir` with the programs in
/// `bindir` (initialising it first if it is new); returns how to stop it.
pub fn start(server: &Server, bindir: &Path, datadir: &Path) -> anyhow::Result<String> {
    let root = is_root();
    std::fs::create_dir_all(datadir).with_context(|| format!("creating {}", datadir.display()))?;
    if root {
        let mut chown = Command::new("chown");
        chown.arg("postgres:").arg(datadir);
        run(chown, "giving the data directory to the postgres OS user (is there one?)")?;
    }
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(datadir, std::fs::Permissions::from_mode(0o700))?;
    }
    if !datadir.join("PG_VERSION").exists() {
        // Empty or half-initialised: (re)initialise it.
        for e in std::fs::read_dir(datadir)?.flatten() {
            let p = e.path();
            let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        }
        let mut initdb = as_postgres(root, &bindir.join("initdb"));
        initdb.arg("-D").arg(datadir).args(["-U", &server.user, "--auth=trust", "--encoding=UTF8", "--locale=C"]);
        run(initdb, &format!("initdb in {}", datadir.display()))?;
        // Loopback only; sockets in the temporary directory, as
        // /var/run/postgresql may not exist or belong to another cluster.
        let conf = format!(
            "\n# added by the Guildhall playground\nlisten_addresses = '{}'\nunix_socket_directories = '{}'\n",
            server.host,
            std::env::temp_dir().display()
        );
        use std::io::Write;
        std::fs::OpenOptions::new().append(true).open(datadir.join("postgresql.conf"))?.write_all(conf.as_bytes())?;
    }
    let log = datadir.join("server.log");
    let mut pg_ctl = as_postgres(root, &bindir.join("pg_ctl"));
    pg_ctl.arg("-D").arg(datadir).arg("-l").arg(&log).args(["-w", "-t", "60", "-o"]);
    pg_ctl.arg(format!("-p {} -c listen_addresses={}", server.port, server.host)).arg("start");
    run(pg_ctl, &format!("starting PostgreSQL in {} (see {})", datadir.display(), log.display()))?;
    let stop = format!("{} -D {} stop", bindir.join("pg_ctl").display(), datadir.display());
    Ok(if root { format!("runuser -u postgres -- {stop}") } else { stop })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_read_from_the_url() {
        let s = Server::parse("postgres://postgres@127.0.0.1:5433").unwrap();
        assert_eq!(s, Server { user: "postgres".into(), host: "127.0.0.1".into(), port: 5433 });
        let s = Server::parse("postgresql://me:secret@localhost").unwrap();
        assert_eq!((s.user.as_str(), s.host.as_str(), s.port), ("me", "localhost", 5432));
        let s = Server::parse("postgres://[::1]:6000").unwrap();
        assert_eq!((s.user.as_str(), s.host.as_str(), s.port, s.is_loopback()), ("postgres", "::1", 6000, true));
        assert!(!Server::parse("postgres://db.example.com:5432").unwrap().is_loopback());
        assert!(Server::parse("postgres://h:notaport").is_none());
    }

    #[test]
    fn it_starts_one_on_this_machine_when_installed_and_else_names_the_port() {
        let local = Server::parse("postgres://postgres@127.0.0.1:5499").unwrap();
        let bin = PathBuf::from("/usr/lib/postgresql/15/bin");
        let data = Path::new("/tmp/pgdata");
        assert_eq!(
            plan(&local, Some(bin.clone()), Some(data)),
            Plan::Start { bindir: bin.clone(), datadir: data.into() }
        );
        let Plan::Hint(none) = plan(&local, None, Some(data)) else { panic!("nothing to start") };
        assert!(none.contains("127.0.0.1:5499") && none.contains("install PostgreSQL"), "{none}");
        let Plan::Hint(off) = plan(&local, Some(bin.clone()), None) else { panic!("told not to start") };
        assert!(off.contains("127.0.0.1:5499") && off.contains("port 5499"), "{off}");
        let remote = Server::parse("postgres://app@db.internal:6543").unwrap();
        let Plan::Hint(far) = plan(&remote, Some(bin), Some(data)) else { panic!("not on this machine") };
        assert!(far.contains("db.internal:6543") && !far.contains("scripts/pg-up"), "{far}");
        for hint in [none, off, far] {
            assert!(!hint.contains('\n') && !hint.contains("5432"), "one line, the right port: {hint}");
        }
    }
}
