//! `health [--json]`: whether the database answers, and the state of the tokens. Status
//! `healthy`; `warning` when more than 80% of the access tokens have expired (run
//! `cleartokens`); `unhealthy` when the database cannot be opened or does not answer. Exit 0
//! for healthy and warning, 1 for unhealthy (the report is printed first, the cause on
//! stderr as the usual one-line error).

use anyhow::Context;
use oauth_toolkit_core::store::Stats;
use oauth_toolkit_core::Settings;
use oauth_toolkit_store::OpenOptions;
use time::OffsetDateTime;

use crate::cli::HealthArgs;

/// Above this share of expired access tokens the status is `warning`.
const EXPIRED_RATIO_WARNING: f64 = 0.8;

/// How long to wait for a database connection before reporting `unhealthy` (the other
/// commands wait 10 seconds).
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn run(settings: Settings, args: HealthArgs) -> anyhow::Result<()> {
    match check(&settings).await {
        Ok(stats) => {
            let ratio = expired_ratio(&stats);
            let status = if ratio > EXPIRED_RATIO_WARNING {
                "warning"
            } else {
                "healthy"
            };
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "status": status,
                        "database": "ok",
                        "live_access_tokens": stats.live_access_tokens,
                        "expired_ratio": ratio,
                        "applications": stats.applications,
                        "access_tokens_last_hour": stats.access_tokens_last_hour,
                    })
                );
            } else {
                print!(
                    "{}",
                    super::stats::aligned(&[
                        ("status".into(), status.into()),
                        ("database".into(), "ok".into()),
                        (
                            "live access tokens".into(),
                            stats.live_access_tokens.to_string()
                        ),
                        ("expired ratio".into(), format!("{ratio:.2}")),
                        ("applications".into(), stats.applications.to_string()),
                        (
                            "access tokens last hour".into(),
                            stats.access_tokens_last_hour.to_string()
                        ),
                    ])
                );
            }
            Ok(())
        }
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "status": "unhealthy",
                        "database": "unreachable",
                        "live_access_tokens": null,
                        "expired_ratio": null,
                        "applications": null,
                        "access_tokens_last_hour": null,
                    })
                );
            } else {
                print!(
                    "{}",
                    super::stats::aligned(&[
                        ("status".into(), "unhealthy".into()),
                        ("database".into(), "unreachable".into()),
                    ])
                );
            }
            // main prints it as `error: …` and exits 1.
            Err(e)
        }
    }
}

/// Open the database, ping it and count: any failure means it cannot be relied on.
async fn check(settings: &Settings) -> anyhow::Result<Stats> {
    let opts = OpenOptions {
        acquire_timeout: CONNECT_TIMEOUT,
        ..OpenOptions::default()
    };
    let db = super::open_database_with(settings, opts).await?;
    let store = db.store();
    let result = async {
        store.ping().await.context("the database does not answer")?;
        super::stats::operations(&*store)?
            .stats(OffsetDateTime::now_utc())
            .await
            .context("cannot count the tokens")
    }
    .await;
    db.close().await;
    result
}

/// Expired access tokens over all access tokens, 0 when there are none.
fn expired_ratio(s: &Stats) -> f64 {
    if s.access_tokens == 0 {
        return 0.0;
    }
    let expired = s.access_tokens.saturating_sub(s.live_access_tokens);
    expired as f64 / s.access_tokens as f64
}
