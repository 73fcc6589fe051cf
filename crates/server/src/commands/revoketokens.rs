//! `revoketokens --user USERNAME [--application CLIENT_ID] [--dry-run] [--json]`: in one
//! transaction, delete the user's access tokens, ID tokens and unused codes, revoke their
//! refresh tokens and deny their pending or authorized device grants (of one application
//! when given). Every `serve` process reads tokens from the database on every request, so
//! they stop working at once. `--dry-run` counts the same rows and changes nothing.

use anyhow::{bail, Context};
use oauth_toolkit_core::models::Id;
use oauth_toolkit_core::store::{RevokedCounts, Store};
use oauth_toolkit_core::Settings;
use time::OffsetDateTime;

use crate::cli::RevokeTokensArgs;

pub async fn run(settings: Settings, args: RevokeTokensArgs) -> anyhow::Result<()> {
    let db = super::open_database(&settings).await?;
    let store = db.store();
    let counts = revoke(&*store, &args).await;
    db.close().await;
    let counts = counts?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "user": args.user,
                "application": args.application,
                "dry_run": args.dry_run,
                "access_tokens": counts.access_tokens,
                "refresh_tokens": counts.refresh_tokens,
                "grants": counts.grants,
                "id_tokens": counts.id_tokens,
                "device_grants": counts.device_grants,
            })
        );
    } else {
        let of = match &args.application {
            Some(client_id) => format!("application {client_id}"),
            None => "every application".to_string(),
        };
        if args.dry_run {
            println!("Dry run: would revoke for user {} ({of}):", args.user);
        } else {
            println!("Revoked for user {} ({of}):", args.user);
        }
        print!(
            "{}",
            super::stats::aligned(&[
                ("access tokens".into(), counts.access_tokens.to_string()),
                ("refresh tokens".into(), counts.refresh_tokens.to_string()),
                ("authorization codes".into(), counts.grants.to_string()),
                ("ID tokens".into(), counts.id_tokens.to_string()),
                ("device grants".into(), counts.device_grants.to_string()),
            ])
        );
    }
    Ok(())
}

async fn revoke(store: &dyn Store, args: &RevokeTokensArgs) -> anyhow::Result<RevokedCounts> {
    let Some(user) = store
        .find_user_by_username(&args.user)
        .await
        .context("cannot read the user")?
    else {
        bail!("user: no user named `{}`", args.user);
    };
    let application: Option<Id> = match &args.application {
        Some(client_id) => {
            let Some(app) = store
                .find_application_by_client_id(client_id)
                .await
                .context("cannot read the application")?
            else {
                bail!("application: no application with client id `{client_id}`");
            };
            Some(app.id)
        }
        None => None,
    };
    let now = OffsetDateTime::now_utc();
    if args.dry_run {
        super::stats::operations(store)?
            .count_user_tokens(user.id, application, now)
            .await
            .context("cannot count the user's tokens")
    } else {
        let Some(admin) = store.admin() else {
            bail!("this store cannot revoke a user's tokens");
        };
        admin
            .revoke_user_tokens(user.id, application, now)
            .await
            .context("cannot revoke the user's tokens")
    }
}
