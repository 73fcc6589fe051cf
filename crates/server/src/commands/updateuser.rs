//! `updateuser USERNAME [--active | --inactive] [--staff | --no-staff] [--email E]
//! [--password-stdin] [--json]`. Everything is checked before anything is written; a
//! deactivation or a new password also ends every session of the user (in every process:
//! sessions live in the database). Tokens are not deleted: an inactive user's tokens are
//! refused where they are used, and work again after `--active`.

use anyhow::{bail, Context};
use oauth_toolkit_core::password::hash_password;
use oauth_toolkit_core::Settings;

use super::createuser::{check_email, password_from_stdin};
use crate::cli::UpdateUserArgs;

pub async fn run(settings: Settings, args: UpdateUserArgs) -> anyhow::Result<()> {
    check_email(args.email.as_deref())?;
    let password = if args.password_stdin {
        Some(password_from_stdin()?)
    } else {
        None
    };
    let hash = password.as_deref().map(hash_password).transpose()?;
    let db = super::open_database(&settings).await?;
    let store = db.store();
    let Some(mut user) = store
        .find_user_by_username(&args.username)
        .await
        .context("cannot read the user")?
    else {
        db.close().await;
        bail!("username: no user named `{}`", args.username);
    };
    let was_active = user.is_active;
    if args.active {
        user.is_active = true;
    }
    if args.inactive {
        user.is_active = false;
    }
    if args.staff {
        user.is_staff = true;
    }
    if args.no_staff {
        user.is_staff = false;
    }
    if let Some(email) = &args.email {
        user.email = email.clone();
    }
    if let Some(hash) = hash {
        user.password = hash;
    }
    let Some(user) = store
        .update_user(&user)
        .await
        .context("cannot update the user")?
    else {
        db.close().await;
        bail!("username: no user named `{}`", args.username);
    };
    let ended = if (was_active && !user.is_active) || password.is_some() {
        store
            .delete_user_sessions(user.id)
            .await
            .context("cannot end the user's sessions")?
    } else {
        0
    };
    db.close().await;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"id": user.id, "username": user.username})
        );
    } else {
        println!("User {} updated.", user.username);
        if ended > 0 {
            println!("{ended} session(s) ended.");
        }
    }
    Ok(())
}
