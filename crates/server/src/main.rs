//! `oauth-toolkit`: run the provider, and DOT's management commands as subcommands.

mod cli;
mod commands;
mod config;
mod metrics;

use std::process::ExitCode;

use clap::Parser;
use oauth_toolkit_core::settings::LogFormat;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The log format is a setting; settings that do not load are reported by the command
    // itself (with text logs meanwhile).
    let format = config::load_settings(cli.config.as_deref())
        .map(|s| s.server.log_format)
        .unwrap_or(LogFormat::Text);
    // Held until the end of `main`: dropping it flushes the log lines still queued.
    let _log_flush = init_logging(cli.verbose, format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout is for command output such as `--json`). `RUST_LOG` wins.
/// Colours only on a terminal (a file or a pipe gets no escape sequences) and never with
/// `NO_COLOR` set to anything non-empty. Lines are written by a thread of their own, so a
/// request never waits for the write to stderr; the queue is not lossy (when it is full the
/// logging caller waits), so no line is ever dropped. `json`: one object per line, never
/// coloured.
fn init_logging(verbose: bool, format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ansi = std::io::stderr().is_terminal() && !no_color;
    let default = if verbose { "debug" } else { "info" };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},sqlx=warn,tower_http=info")));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    match format {
        LogFormat::Text => builder.with_ansi(ansi).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
    guard
}
