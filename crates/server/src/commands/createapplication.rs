use anyhow::{bail, Context};
use oauth_toolkit_core::models::{Algorithm, ClientType, GrantType, NewApplication};
use oauth_toolkit_core::store::{Store, StoreError};
use oauth_toolkit_core::{Clock, Settings, SystemClock};

use crate::cli::CreateApplicationArgs;

pub async fn run(settings: Settings, args: CreateApplicationArgs) -> anyhow::Result<()> {
    // Everything that can be checked without the database first, all problems at once.
    let mut errors: Vec<String> = Vec::new();
    let client_type = args
        .client_type
        .parse::<ClientType>()
        .map_err(|e| errors.push(format!("client_type: {e}")))
        .ok();
    let grant_type = args
        .authorization_grant_type
        .parse::<GrantType>()
        .map_err(|e| errors.push(format!("authorization_grant_type: {e}")))
        .ok();
    let algorithm = args
        .algorithm
        .as_deref()
        .unwrap_or("")
        .parse::<Algorithm>()
        .map_err(|e| errors.push(format!("algorithm: {e}")))
        .ok();
    let (Some(client_type), Some(grant_type), Some(algorithm)) =
        (client_type, grant_type, algorithm)
    else {
        bail!("invalid application: {}", errors.join("; "));
    };

    let mut app = NewApplication::new(client_type, grant_type, &settings);
    if let Some(id) = args.client_id {
        app.client_id = id;
    }
    app.hash_client_secret = !args.no_hash_client_secret;
    app.name = args.name.unwrap_or_default();
    app.redirect_uris = args.redirect_uris.unwrap_or_default();
    app.post_logout_redirect_uris = args.post_logout_redirect_uris.unwrap_or_default();
    app.allowed_origins = args.allowed_origins.unwrap_or_default();
    app.skip_authorization = args.skip_authorization;
    app.algorithm = algorithm;
    let generated = args.client_secret.is_none();
    let plain_secret = match &args.client_secret {
        Some(s) => {
            // Validate the plaintext's shape before it is hashed away.
            if s.len() > 255 || s.chars().any(char::is_control) {
                errors.push(
                    "client_secret: must be at most 255 characters without control characters"
                        .into(),
                );
            }
            app.set_secret(s, &settings)?;
            s.clone()
        }
        None => app.generate_secret(&settings)?,
    };
    if let Err(list) = app.validate(&settings) {
        errors.extend(list.into_iter().map(|e| e.to_string()));
    }

    let db = super::open_database(&settings).await?;
    let store = db.store();
    if let Some(user) = &args.user {
        match find_user(&*store, user).await? {
            Some(id) => app.user_id = Some(id),
            None => errors.push(format!("user: no user `{user}`")),
        }
    }
    if !errors.is_empty() {
        db.close().await;
        bail!("invalid application: {}", errors.join("; "));
    }

    let created = match store.create_application(app, SystemClock.now()).await {
        Ok(a) => a,
        Err(StoreError::Conflict(what)) => {
            db.close().await;
            bail!("client_id: {what} already exists");
        }
        Err(e) => return Err(e).context("cannot create the application"),
    };
    db.close().await;

    if args.json {
        println!(
            "{}",
            serde_json::json!({"client_id": created.client_id, "client_secret": plain_secret})
        );
    } else {
        println!(
            "New application {} created successfully.",
            created.display_name()
        );
        println!("client_id: {}", created.client_id);
        if generated {
            println!("client_secret: {plain_secret}");
            if created.hash_client_secret {
                println!("(The secret is stored hashed: copy it now, it cannot be shown again.)");
            }
        }
    }
    Ok(())
}

/// A username, or (as DOT's `--user` takes) a numeric user id.
async fn find_user(store: &dyn Store, user: &str) -> anyhow::Result<Option<i64>> {
    if let Some(u) = store.find_user_by_username(user).await? {
        return Ok(Some(u.id));
    }
    if let Ok(id) = user.parse::<i64>() {
        if let Some(u) = store.get_user(id).await? {
            return Ok(Some(u.id));
        }
    }
    Ok(None)
}
