//! The guildhall binary: read the settings, run until SIGINT or SIGTERM.
//! With no DISCORD_TOKEN (or `guildhall playground`) it runs the playground.
//! `--help` and `--version` answer and exit; any other argument is refused
//! (exit 2) before anything is started, so a typo never starts the
//! playground, which makes its database afresh.

use std::process::ExitCode;

const USAGE: &str = "\
Usage: guildhall [playground]

  guildhall             run the bot with the settings in the environment (and .env);
                        with no DISCORD_TOKEN set, run the playground instead
  guildhall playground  run the playground even with a token set: the bot against a
                        fake Discord, with a page to use it at http://127.0.0.1:8080
                        (PLAYGROUND_ADDR); it makes its database, guildhall_playground,
                        afresh on every start unless PLAYGROUND_KEEP=1, and starts a
                        private PostgreSQL (PLAYGROUND_PGDATA) when none answers here
  guildhall --help      print this help (also -h)
  guildhall --version   print the version (also -V)

Settings: .env.example lists every one (DISCORD_TOKEN, DATABASE_URL, ...).
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Asked {
    /// No argument: the bot, or the playground when no token is set.
    Run,
    Playground,
    Help,
    Version,
    /// Anything else: refused with the usage, exit 2.
    Unknown(String),
}

fn asked(args: &[String]) -> Asked {
    match args {
        [] => Asked::Run,
        [a] => match a.as_str() {
            "playground" => Asked::Playground,
            "-h" | "--help" | "help" => Asked::Help,
            "-V" | "--version" => Asked::Version,
            other => Asked::Unknown(format!("unknown argument {other:?}")),
        },
        [_, extra, ..] => Asked::Unknown(format!("unexpected argument {extra:?} (guildhall takes at most one)")),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let asked = asked(&args);
    match &asked {
        Asked::Help => {
            print!("guildhall {}: community groups for Discord\n\n{USAGE}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Asked::Version => {
            println!("guildhall {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Asked::Unknown(why) => {
            eprint!("guildhall: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
        Asked::Playground if cfg!(not(feature = "playground")) => {
            eprintln!("guildhall: this build has no playground (it was built without the `playground` feature)");
            return ExitCode::from(2);
        }
        Asked::Run | Asked::Playground => {}
    }
    let _ = dotenvy::dotenv();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,serenity=warn,sqlx=warn"));
    // O1: one JSON object a line when LOG_FORMAT=json (for a log collector),
    // else lines for people.
    let format = match guildhall::telemetry::LogFormat::parse(std::env::var("LOG_FORMAT").ok().as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("guildhall: {e}");
            return ExitCode::from(2);
        }
    };
    let logs = guildhall::telemetry::subscriber(format, filter, std::io::stdout);
    if tracing::subscriber::set_global_default(logs).is_err() {
        eprintln!("guildhall: a log subscriber was already installed");
    }
    // No token (or `guildhall playground`): the playground (P1).
    #[cfg(feature = "playground")]
    {
        let no_token = std::env::var("DISCORD_TOKEN").map_or(true, |t| t.trim().is_empty());
        if asked == Asked::Playground || no_token {
            let settings = match guildhall::playground::Settings::from_lookup(|k| std::env::var(k).ok()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("guildhall: {e:#}");
                    return ExitCode::from(2);
                }
            };
            return match guildhall::playground::run(settings, shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("guildhall: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    let config = match guildhall::config::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("guildhall: {e}");
            return ExitCode::from(2);
        }
    };
    match guildhall::run(config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("guildhall: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{asked, Asked};

    fn of(args: &[&str]) -> Asked {
        asked(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn only_known_arguments_are_taken() {
        assert_eq!(of(&[]), Asked::Run);
        assert_eq!(of(&["playground"]), Asked::Playground);
        for h in ["-h", "--help", "help"] {
            assert_eq!(of(&[h]), Asked::Help);
        }
        for v in ["-V", "--version"] {
            assert_eq!(of(&[v]), Asked::Version);
        }
        for bad in [&["--playground"][..], &["Playground"], &["-x"], &[""], &["playground", "now"], &["--help", "x"]] {
            assert!(matches!(of(bad), Asked::Unknown(_)), "{bad:?} was taken");
        }
    }
}
