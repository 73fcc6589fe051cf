//! `audittokens [--older-than-days 7] [--top 10] [--json]`: live tokens created more than N
//! days ago (access tokens unexpired, refresh tokens not revoked), and the applications
//! holding the most live access tokens. Read-only.

use anyhow::{bail, Context};
use oauth_toolkit_core::store::TokenAudit;
use oauth_toolkit_core::Settings;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::cli::AuditTokensArgs;

/// The longest `--top` list.
const TOP_MAX: i64 = 1000;

pub async fn run(settings: Settings, args: AuditTokensArgs) -> anyhow::Result<()> {
    if args.older_than_days < 0 {
        bail!(
            "--older-than-days: must be 0 or more, not {}",
            args.older_than_days
        );
    }
    if !(1..=TOP_MAX).contains(&args.top) {
        bail!("--top: must be between 1 and {TOP_MAX}, not {}", args.top);
    }
    let top = u32::try_from(args.top)?;
    let now = OffsetDateTime::now_utc();
    // So many days that the cutoff is before any token: the earliest time there is.
    let cutoff = args
        .older_than_days
        .checked_mul(86_400)
        .and_then(|s| now.checked_sub(Duration::seconds(s)))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let db = super::open_database(&settings).await?;
    let store = db.store();
    let audit = match super::stats::operations(&*store) {
        Ok(ops) => ops
            .audit_tokens(now, cutoff, top)
            .await
            .context("cannot count the tokens"),
        Err(e) => Err(e),
    };
    db.close().await;
    let audit = audit?;
    if args.json {
        println!("{}", to_json(&audit, args.older_than_days, cutoff)?);
    } else {
        print!("{}", to_text(&audit, args.older_than_days));
    }
    Ok(())
}

fn to_json(a: &TokenAudit, days: i64, cutoff: OffsetDateTime) -> anyhow::Result<serde_json::Value> {
    let top: Vec<_> = a
        .top_applications
        .iter()
        .map(|t| {
            serde_json::json!({
                "client_id": t.client_id,
                "name": t.name,
                "live_access_tokens": t.live_access_tokens,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "older_than_days": days,
        "created_before": cutoff.format(&Rfc3339).context("cannot format a date")?,
        "live_access_tokens_older": a.live_access_tokens_older,
        "live_refresh_tokens_older": a.live_refresh_tokens_older,
        "top_applications": top,
    }))
}

fn to_text(a: &TokenAudit, days: i64) -> String {
    let mut out = super::stats::aligned(&[
        (
            format!("live access tokens older than {days} day(s)"),
            a.live_access_tokens_older.to_string(),
        ),
        (
            format!("live refresh tokens older than {days} day(s)"),
            a.live_refresh_tokens_older.to_string(),
        ),
    ]);
    if a.top_applications.is_empty() {
        out.push_str("No application holds a live access token.\n");
        return out;
    }
    out.push_str("Applications by live access tokens:\n");
    let width = a
        .top_applications
        .iter()
        .map(|t| t.live_access_tokens.to_string().len())
        .max()
        .unwrap_or(1);
    for t in &a.top_applications {
        let name = if t.name.is_empty() {
            String::new()
        } else {
            format!("\t{}", t.name.escape_default())
        };
        out.push_str(&format!(
            "{:>width$}\t{}{name}\n",
            t.live_access_tokens, t.client_id
        ));
    }
    out
}
