//! `stats [--json]`: how many applications, tokens, codes and device grants there are, and
//! how many of them are live (unexpired; refresh tokens: not revoked; codes: also unused;
//! device grants: also pending or authorized). Whole-table counts: a scan, read-only.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use oauth_toolkit_core::store::{OperationsStore, Stats, Store};
use oauth_toolkit_core::Settings;
use time::OffsetDateTime;

use crate::cli::StatsArgs;

pub async fn run(settings: Settings, args: StatsArgs) -> anyhow::Result<()> {
    let db = super::open_database(&settings).await?;
    let store = db.store();
    let stats = read(&*store).await;
    db.close().await;
    let stats = stats?;
    if args.json {
        println!("{}", to_json(&stats));
    } else {
        print!("{}", to_text(&stats));
    }
    Ok(())
}

async fn read(store: &dyn Store) -> anyhow::Result<Stats> {
    operations(store)?
        .stats(OffsetDateTime::now_utc())
        .await
        .context("cannot count the rows")
}

/// The store's counts, or a one-line error when it does not offer them.
pub(super) fn operations(store: &dyn Store) -> anyhow::Result<&dyn OperationsStore> {
    match store.operations() {
        Some(ops) => Ok(ops),
        None => bail!("this store does not offer the operator's counts"),
    }
}

pub(super) fn to_json(s: &Stats) -> serde_json::Value {
    serde_json::json!({
        "applications": s.applications,
        "applications_with_live_access_tokens": s.applications_with_live_access_tokens,
        "applications_by_client_type": s.applications_by_client_type,
        "applications_by_grant_type": s.applications_by_grant_type,
        "access_tokens": s.access_tokens,
        "live_access_tokens": s.live_access_tokens,
        "access_tokens_last_hour": s.access_tokens_last_hour,
        "refresh_tokens": s.refresh_tokens,
        "live_refresh_tokens": s.live_refresh_tokens,
        "revoked_refresh_tokens": s.revoked_refresh_tokens,
        "grants": s.grants,
        "live_grants": s.live_grants,
        "id_tokens": s.id_tokens,
        "live_id_tokens": s.live_id_tokens,
        "device_grants": s.device_grants,
        "live_device_grants": s.live_device_grants,
    })
}

/// `label: value` lines, the values aligned.
pub(super) fn aligned(rows: &[(String, String)]) -> String {
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 1;
    rows.iter()
        .map(|(l, v)| format!("{:<width$} {v}\n", format!("{l}:")))
        .collect()
}

fn to_text(s: &Stats) -> String {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |label: &str, value: u64| rows.push((label.to_string(), value.to_string()));
    row("applications", s.applications);
    row(
        "applications with live access tokens",
        s.applications_with_live_access_tokens,
    );
    let by_type = |rows: &mut Vec<(String, String)>, kind: &str, map: &BTreeMap<String, u64>| {
        for (t, n) in map {
            rows.push((format!("  {kind} {t}"), n.to_string()));
        }
    };
    by_type(&mut rows, "client type", &s.applications_by_client_type);
    by_type(&mut rows, "grant type", &s.applications_by_grant_type);
    let mut row = |label: &str, value: u64| rows.push((label.to_string(), value.to_string()));
    row("access tokens", s.access_tokens);
    row("  live", s.live_access_tokens);
    row("  created in the last hour", s.access_tokens_last_hour);
    row("refresh tokens", s.refresh_tokens);
    row("  live", s.live_refresh_tokens);
    row("  revoked", s.revoked_refresh_tokens);
    row("authorization codes", s.grants);
    row("  live", s.live_grants);
    row("ID tokens", s.id_tokens);
    row("  live", s.live_id_tokens);
    row("device grants", s.device_grants);
    row("  live", s.live_device_grants);
    aligned(&rows)
}
