//! `cleanupapplications [--inactive-days 90] [--dry-run] [--json]`: delete the applications
//! nobody uses: no access or refresh token created in the last N days, no live token, code or
//! device grant, and not registered in those days either. Each deletion checks again in the
//! same statement as the `DELETE`, so an application that gets a token meanwhile (`serve`
//! may run beside) is kept. Deleting an application deletes its tokens and codes.
//! `--dry-run` reports what would be deleted and deletes nothing.

use anyhow::{bail, Context};
use oauth_toolkit_core::store::{ApplicationActivity, KeepReason, Store};
use oauth_toolkit_core::Settings;
use time::{Duration, OffsetDateTime};

use crate::cli::CleanupApplicationsArgs;

/// What the command did (or, in a dry run, would do).
struct Report {
    deleted: Vec<ApplicationActivity>,
    kept: Vec<(ApplicationActivity, KeepReason)>,
}

pub async fn run(settings: Settings, args: CleanupApplicationsArgs) -> anyhow::Result<()> {
    if args.inactive_days < 1 {
        bail!(
            "--inactive-days: must be 1 or more, not {}",
            args.inactive_days
        );
    }
    let now = OffsetDateTime::now_utc();
    // So many days that the cutoff is before anything: the earliest time there is.
    let cutoff = args
        .inactive_days
        .checked_mul(86_400)
        .and_then(|s| now.checked_sub(Duration::seconds(s)))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let db = super::open_database(&settings).await?;
    let store = db.store();
    let report = cleanup(&*store, now, cutoff, args.dry_run).await;
    db.close().await;
    let report = report?;
    if args.json {
        let summary =
            |a: &ApplicationActivity| serde_json::json!({"client_id": a.client_id, "name": a.name});
        println!(
            "{}",
            serde_json::json!({
                "inactive_days": args.inactive_days,
                "dry_run": args.dry_run,
                "deleted": report.deleted.iter().map(summary).collect::<Vec<_>>(),
                "kept": report.kept.iter().map(|(a, reason)| serde_json::json!({
                    "client_id": a.client_id,
                    "name": a.name,
                    "reason": reason.as_str(),
                })).collect::<Vec<_>>(),
            })
        );
    } else {
        print!("{}", to_text(&report, &args));
    }
    Ok(())
}

async fn cleanup(
    store: &dyn Store,
    now: OffsetDateTime,
    cutoff: OffsetDateTime,
    dry_run: bool,
) -> anyhow::Result<Report> {
    let ops = super::stats::operations(store)?;
    let activity = ops
        .application_activity(now, cutoff)
        .await
        .context("cannot read the applications")?;
    let mut report = Report {
        deleted: Vec::new(),
        kept: Vec::new(),
    };
    let mut changed_meanwhile = Vec::new();
    for a in activity {
        match a.keep {
            Some(reason) => report.kept.push((a, reason)),
            None if dry_run => report.deleted.push(a),
            None => {
                let deleted = ops
                    .delete_application_if_inactive(a.id, now, cutoff)
                    .await
                    .with_context(|| format!("cannot delete application {}", a.client_id))?;
                if deleted {
                    report.deleted.push(a);
                } else {
                    changed_meanwhile.push(a.id);
                }
            }
        }
    }
    if !changed_meanwhile.is_empty() {
        // Used (or deleted) since the first read: report why they stay, as they are now.
        let again = ops
            .application_activity(now, cutoff)
            .await
            .context("cannot read the applications")?;
        for a in again {
            if let (true, Some(reason)) = (changed_meanwhile.contains(&a.id), a.keep) {
                report.kept.push((a, reason));
            }
        }
        report.kept.sort_by_key(|(a, _)| a.id);
    }
    Ok(report)
}

fn to_text(report: &Report, args: &CleanupApplicationsArgs) -> String {
    let total = report.deleted.len() + report.kept.len();
    let (verb, action) = if args.dry_run {
        ("Dry run: would delete", "would delete")
    } else {
        ("Deleted", "deleted")
    };
    let mut out = format!(
        "{verb} {} of {total} applications (no token in {} days):\n",
        report.deleted.len(),
        args.inactive_days
    );
    let named = |a: &ApplicationActivity| {
        if a.name.is_empty() {
            a.client_id.clone()
        } else {
            format!("{} ({})", a.client_id, a.name)
        }
    };
    for a in &report.deleted {
        out.push_str(&format!("  {action}: {}\n", named(a)));
    }
    for (a, reason) in &report.kept {
        out.push_str(&format!("  kept: {} [{}]\n", named(a), reason.as_str()));
    }
    out
}
