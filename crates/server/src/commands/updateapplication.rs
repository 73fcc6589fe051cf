//! `updateapplication CLIENT_ID [--name N] [--redirect-uris "A B"]
//! [--post-logout-redirect-uris "A B"] [--allowed-origins "A B"]
//! [--skip-authorization | --no-skip-authorization] [--regenerate-secret] [--json]`.
//!
//! Only the fields given change. The result is checked with createapplication's rules
//! ([`NewApplication::validate`]), every problem reported at once, and nothing is written
//! when one is found. `--regenerate-secret` replaces the secret with a generated one (stored
//! hashed when the application stores hashes) and prints it once; running servers stop
//! accepting the old one within `client_authentication_cache_seconds`.

use anyhow::{bail, Context};
use oauth_toolkit_core::client_secret::hash_client_secret;
use oauth_toolkit_core::generators::generate_client_secret;
use oauth_toolkit_core::models::Application;
use oauth_toolkit_core::{Clock, Settings, SystemClock};

use crate::cli::UpdateApplicationArgs;

pub async fn run(settings: Settings, args: UpdateApplicationArgs) -> anyhow::Result<()> {
    let changes_something = args.name.is_some()
        || args.redirect_uris.is_some()
        || args.post_logout_redirect_uris.is_some()
        || args.allowed_origins.is_some()
        || args.skip_authorization
        || args.no_skip_authorization
        || args.regenerate_secret;
    if !changes_something {
        bail!(
            "nothing to change: give --name, --redirect-uris, --post-logout-redirect-uris, \
             --allowed-origins, --skip-authorization, --no-skip-authorization or \
             --regenerate-secret"
        );
    }

    let db = super::open_database(&settings).await?;
    let result = update(&settings, &db, &args).await;
    db.close().await;
    let (app, plain_secret) = result?;

    if args.json {
        let mut out = serde_json::json!({"client_id": app.client_id});
        if let Some(secret) = &plain_secret {
            out["client_secret"] = secret.clone().into();
        }
        println!("{out}");
    } else {
        println!("Application {} updated.", app.display_name());
        if let Some(secret) = &plain_secret {
            println!("client_secret: {secret}");
            if app.hash_client_secret {
                println!("(The secret is stored hashed: copy it now, it cannot be shown again.)");
            }
        }
    }
    Ok(())
}

/// Apply the changes, check them and save; the saved application and the new plaintext
/// secret when one was generated.
async fn update(
    settings: &Settings,
    db: &oauth_toolkit_store::Database,
    args: &UpdateApplicationArgs,
) -> anyhow::Result<(Application, Option<String>)> {
    let store = db.store();
    let Some(mut app) = store
        .find_application_by_client_id(&args.client_id)
        .await
        .context("cannot read the application")?
    else {
        bail!(
            "client_id: no application with client id `{}`",
            args.client_id
        );
    };

    let mut new = app.as_new();
    if let Some(name) = &args.name {
        new.name = name.clone();
    }
    if let Some(uris) = &args.redirect_uris {
        new.redirect_uris = uris.clone();
    }
    if let Some(uris) = &args.post_logout_redirect_uris {
        new.post_logout_redirect_uris = uris.clone();
    }
    if let Some(origins) = &args.allowed_origins {
        new.allowed_origins = origins.clone();
    }
    if args.skip_authorization {
        new.skip_authorization = true;
    }
    if args.no_skip_authorization {
        new.skip_authorization = false;
    }
    let plain_secret = if args.regenerate_secret {
        let plain = generate_client_secret(
            settings.provider.client_secret_generator_length,
            &settings.provider.client_secret_generator_alphabet,
        );
        new.client_secret = if new.hash_client_secret {
            hash_client_secret(&plain, settings.provider.client_secret_hasher)
                .context("cannot hash the new client secret")?
        } else {
            plain.clone()
        };
        Some(plain)
    } else {
        None
    };
    if let Err(list) = new.validate(settings) {
        let errors: Vec<String> = list.into_iter().map(|e| e.to_string()).collect();
        bail!("invalid application: {}", errors.join("; "));
    }

    app.name = new.name;
    app.redirect_uris = new.redirect_uris;
    app.post_logout_redirect_uris = new.post_logout_redirect_uris;
    app.allowed_origins = new.allowed_origins;
    app.skip_authorization = new.skip_authorization;
    app.client_secret = new.client_secret;
    let Some(saved) = store
        .update_application(&app, SystemClock.now())
        .await
        .context("cannot update the application")?
    else {
        bail!(
            "client_id: no application with client id `{}`",
            args.client_id
        );
    };
    Ok((saved, plain_secret))
}
