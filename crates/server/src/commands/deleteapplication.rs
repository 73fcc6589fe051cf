//! `deleteapplication CLIENT_ID [--json]`: delete an application; its tokens, codes and
//! grants go with it (by cascade). A running server may still accept the application's
//! credentials for up to `client_authentication_cache_seconds`.

use anyhow::{bail, Context};
use oauth_toolkit_core::Settings;

use crate::cli::DeleteApplicationArgs;

pub async fn run(settings: Settings, args: DeleteApplicationArgs) -> anyhow::Result<()> {
    let db = super::open_database(&settings).await?;
    let store = db.store();
    let found = store
        .find_application_by_client_id(&args.client_id)
        .await
        .context("cannot read the application");
    let app = match found {
        Ok(Some(app)) => app,
        Ok(None) => {
            db.close().await;
            bail!(
                "client_id: no application with client id `{}`",
                args.client_id
            );
        }
        Err(e) => {
            db.close().await;
            return Err(e);
        }
    };
    let deleted = store
        .delete_application(app.id)
        .await
        .context("cannot delete the application");
    db.close().await;
    if !deleted? {
        bail!(
            "client_id: no application with client id `{}`",
            args.client_id
        );
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"client_id": app.client_id, "deleted": true})
        );
    } else {
        println!("Application {} deleted.", app.display_name());
    }
    Ok(())
}
