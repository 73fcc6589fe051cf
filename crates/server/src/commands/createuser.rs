use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use oauth_toolkit_core::models::{validate_username, NewUser};
use oauth_toolkit_core::password::{hash_password, unusable_password};
use oauth_toolkit_core::store::StoreError;
use oauth_toolkit_core::{Clock, Settings, SystemClock};

use crate::cli::CreateUserArgs;

pub async fn run(settings: Settings, args: CreateUserArgs) -> anyhow::Result<()> {
    validate_username(&args.username).map_err(|e| anyhow::anyhow!("username: {e}"))?;
    for (field, value) in [
        ("email", &args.email),
        ("first-name", &args.first_name),
        ("last-name", &args.last_name),
    ] {
        check_text(field, value.as_deref())?;
    }
    check_email(args.email.as_deref())?;
    let password = read_password(&args)?;
    let hash = match &password {
        Some(p) => hash_password(p)?,
        None => unusable_password(),
    };
    let db = super::open_database(&settings).await?;
    let mut new = NewUser::new(args.username.clone(), hash);
    new.email = args.email.unwrap_or_default();
    new.first_name = args.first_name.unwrap_or_default();
    new.last_name = args.last_name.unwrap_or_default();
    new.is_staff = args.staff || args.superuser;
    new.is_superuser = args.superuser;
    let user = match db.store().create_user(new, SystemClock.now()).await {
        Ok(u) => u,
        Err(StoreError::Conflict(_)) => {
            bail!("username: a user named `{}` already exists", args.username)
        }
        Err(e) => return Err(e).context("cannot create the user"),
    };
    db.close().await;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"id": user.id, "username": user.username})
        );
    } else {
        println!("User {} created.", user.username);
        if password.is_none() {
            println!("It has no usable password (pass --password-stdin to set one).");
        }
    }
    Ok(())
}

/// A name or email: at most 254 characters, no control characters.
pub(crate) fn check_text(field: &str, value: Option<&str>) -> anyhow::Result<()> {
    if value.is_some_and(|v| v.chars().any(char::is_control) || v.chars().count() > 254) {
        bail!("{field}: must be at most 254 characters without control characters");
    }
    Ok(())
}

pub(crate) fn check_email(email: Option<&str>) -> anyhow::Result<()> {
    check_text("email", email)?;
    if let Some(email) = email {
        if !email.is_empty() && !email.contains('@') {
            bail!("email: `{email}` is not an email address");
        }
    }
    Ok(())
}

/// The first line of standard input, checked as a password.
pub(crate) fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let p = line.trim_end_matches(['\n', '\r']).to_string();
    check_password(&p)?;
    Ok(p)
}

fn check_password(p: &str) -> anyhow::Result<()> {
    if p.is_empty() {
        bail!("password: must not be empty");
    }
    if p.len() > 4096 {
        bail!("password: must be at most 4096 bytes");
    }
    Ok(())
}

/// `--password`, `--password-stdin`, an interactive prompt, or none (unusable password).
fn read_password(args: &CreateUserArgs) -> anyhow::Result<Option<String>> {
    let password = if let Some(p) = &args.password {
        Some(p.clone())
    } else if args.password_stdin {
        Some(password_from_stdin()?)
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("cannot read the password")?;
        let second =
            rpassword::prompt_password("Password (again): ").context("cannot read the password")?;
        if first != second {
            bail!("password: the two passwords differ");
        }
        Some(first)
    } else {
        None
    };
    if let Some(p) = &password {
        check_password(p)?;
    }
    Ok(password)
}
