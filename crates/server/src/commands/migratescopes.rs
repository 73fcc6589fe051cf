//! `migratescopes OLD NEW [--dry-run] [--json]`: rename the scope OLD to NEW in the stored
//! rows that carry a scope: access tokens, ID tokens, unused codes and pending or authorized
//! device grants (refresh tokens have none: they carry their access token's). Only whole
//! scope tokens are renamed (`read` in `readonly` stays); a row already holding NEW loses
//! OLD instead. Batches of rows by id, each written in one transaction, and each row only if
//! its scope has not changed since it was read: safe while `serve` runs. `--dry-run` counts
//! the rows that would change.

use anyhow::{bail, Context};
use oauth_toolkit_core::scopes::is_valid_scope_token;
use oauth_toolkit_core::store::{rename_scope, ScopeRows, Store};
use oauth_toolkit_core::Settings;

use crate::cli::MigrateScopesArgs;

/// Rows read (and written) per batch.
const BATCH: u64 = 1000;

pub async fn run(settings: Settings, args: MigrateScopesArgs) -> anyhow::Result<()> {
    for (what, scope) in [("OLD", &args.old), ("NEW", &args.new)] {
        if !is_valid_scope_token(scope) {
            bail!("{what}: `{scope}` is not a valid scope");
        }
    }
    if args.old == args.new {
        bail!("NEW: the same scope as OLD (`{}`)", args.old);
    }
    if !settings.scopes().contains_key(&args.new) {
        bail!("NEW: `{}` is not a configured scope", args.new);
    }
    let db = super::open_database(&settings).await?;
    let store = db.store();
    let counts = migrate(&*store, &args).await;
    db.close().await;
    let [access_tokens, id_tokens, grants, device_grants] = counts?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "old": args.old,
                "new": args.new,
                "dry_run": args.dry_run,
                "access_tokens": access_tokens,
                "id_tokens": id_tokens,
                "grants": grants,
                "device_grants": device_grants,
            })
        );
    } else {
        if args.dry_run {
            println!("Dry run: would rename scope {} to {}:", args.old, args.new);
        } else {
            println!("Renamed scope {} to {}:", args.old, args.new);
        }
        print!(
            "{}",
            super::stats::aligned(&[
                ("access tokens".into(), access_tokens.to_string()),
                ("ID tokens".into(), id_tokens.to_string()),
                ("authorization codes".into(), grants.to_string()),
                ("device grants".into(), device_grants.to_string()),
            ])
        );
    }
    Ok(())
}

/// Rows changed (or that would change) of each of [`ScopeRows::ALL`].
async fn migrate(store: &dyn Store, args: &MigrateScopesArgs) -> anyhow::Result<[u64; 4]> {
    let ops = super::stats::operations(store)?;
    let mut counts = [0; 4];
    for (rows, count) in ScopeRows::ALL.into_iter().zip(&mut counts) {
        let mut after = 0;
        loop {
            let batch = ops
                .scope_rows(rows, &args.old, after, BATCH)
                .await
                .context("cannot read the scopes")?;
            let Some((last, _)) = batch.last() else {
                break;
            };
            after = *last;
            let changes: Vec<_> = batch
                .into_iter()
                .filter_map(|(id, scope)| {
                    let new = rename_scope(&scope, &args.old, &args.new)?;
                    Some((id, scope, new))
                })
                .collect();
            *count += if args.dry_run || changes.is_empty() {
                changes.len() as u64
            } else {
                ops.replace_scopes(rows, &changes)
                    .await
                    .context("cannot rename the scopes")?
            };
        }
    }
    Ok(counts)
}
