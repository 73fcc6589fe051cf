use oauth_toolkit_core::clear_expired::{clear_expired, ClearExpiredPlan};
use oauth_toolkit_core::{Clock, Settings, SystemClock};

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    if settings.provider.refresh_token_expire_seconds.unwrap_or(0) == 0 {
        eprintln!(
            "warning: REFRESH_TOKEN_EXPIRE_SECONDS is not set (or is 0), so refresh tokens never \
             age-expire; set `refresh_token_expire_seconds` to have them removed."
        );
    }
    let db = super::open_database(&settings).await?;
    let plan = ClearExpiredPlan::new(&settings, SystemClock.now());
    let store = db.store();
    let report = clear_expired(&*store, &plan, tokio::time::sleep).await?;
    tracing::info!(
        deleted = report.total(),
        peak_rss_kib = peak_rss_kib(),
        "cleartokens finished"
    );
    db.close().await;
    Ok(())
}

/// This process's peak resident set (Linux `VmHWM`), for the finishing log line; 0 elsewhere.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
