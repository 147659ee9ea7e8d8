//! The guildhall binary: read the settings, run until SIGINT or SIGTERM.
//! With no DISCORD_TOKEN (or `guildhall playground`) it runs the playground.

use std::process::ExitCode;

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
        let asked = std::env::args().nth(1).is_some_and(|a| a == "playground");
        let no_token = std::env::var("DISCORD_TOKEN").map_or(true, |t| t.trim().is_empty());
        if asked || no_token {
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
