//! `health [--json]`: whether the database answers, and the state of the tokens. Status
//! `healthy`; `warning` when more than 80% of the access tokens have expired (run
//! `cleartokens`); `unhealthy` when the database cannot be opened or does not answer. Exit 0
//! for healthy and warning, 1 for unhealthy (the report is printed first, the cause on
//! stderr as the usual one-line error).

use anyhow::Context;
use oauth_toolkit_core::health::{check, HealthReport};
use oauth_toolkit_core::Settings;
use oauth_toolkit_store::OpenOptions;
use time::OffsetDateTime;

use crate::cli::HealthArgs;

/// How long to wait for a database connection before reporting `unhealthy` (the other
/// commands wait 10 seconds).
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn run(settings: Settings, args: HealthArgs) -> anyhow::Result<()> {
    let (report, cause) = match open(&settings).await {
        Ok(db) => {
            let store = db.store();
            let checked = check(&*store, OffsetDateTime::now_utc()).await;
            db.close().await;
            checked
        }
        Err(e) => (HealthReport::unreachable(), Some(format!("{e:#}"))),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_value(&report).context("cannot write the report")?
        );
    } else {
        let mut lines = vec![
            ("status".to_string(), report.status.to_string()),
            ("database".to_string(), report.database.to_string()),
        ];
        let count = |v: Option<u64>| v.map(|n| n.to_string());
        for (label, value) in [
            ("live access tokens", count(report.live_access_tokens)),
            (
                "expired ratio",
                report.expired_ratio.map(|r| format!("{r:.2}")),
            ),
            ("applications", count(report.applications)),
            (
                "access tokens last hour",
                count(report.access_tokens_last_hour),
            ),
        ] {
            if let Some(v) = value {
                lines.push((label.to_string(), v));
            }
        }
        print!("{}", super::stats::aligned(&lines));
    }
    match (report.is_unhealthy(), cause) {
        // main prints it as `error: …` and exits 1.
        (true, Some(cause)) => Err(anyhow::anyhow!(cause)),
        (true, None) => Err(anyhow::anyhow!("unhealthy")),
        (false, _) => Ok(()),
    }
}

/// Open the database, waiting at most [`CONNECT_TIMEOUT`] for a connection.
async fn open(settings: &Settings) -> anyhow::Result<oauth_toolkit_store::Database> {
    let opts = OpenOptions {
        acquire_timeout: CONNECT_TIMEOUT,
        ..OpenOptions::default()
    };
    super::open_database_with(settings, opts).await
}
