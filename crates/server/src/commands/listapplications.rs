//! `listapplications [--user USERNAME] [--json]`: every registered application (or those
//! of one owner), newest first. Never prints a client secret nor its stored hash.

use std::collections::HashMap;

use anyhow::{bail, Context};
use oauth_toolkit_core::models::Application;
use oauth_toolkit_core::store::{AdminQuery, Store, ADMIN_PAGE_MAX};
use oauth_toolkit_core::Settings;
use time::format_description::well_known::Rfc3339;

use crate::cli::ListApplicationsArgs;

pub async fn run(settings: Settings, args: ListApplicationsArgs) -> anyhow::Result<()> {
    let db = super::open_database(&settings).await?;
    let store = db.store();
    let listed = list(&*store, args.user.as_deref()).await;
    db.close().await;
    let (apps, owners) = listed?;

    if args.json {
        let rows = apps
            .iter()
            .map(|a| to_json(a, owner_of(a, &owners)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        println!("{}", serde_json::Value::Array(rows));
    } else {
        for a in &apps {
            let name = if a.name.is_empty() {
                "-".to_string()
            } else {
                one_line(&a.name)
            };
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                a.id,
                a.client_id,
                name,
                a.client_type,
                a.authorization_grant_type,
                owner_of(a, &owners).map(one_line).as_deref().unwrap_or("-"),
            );
        }
    }
    Ok(())
}

/// The applications, newest first, and the usernames of their owners by user id.
async fn list(
    store: &dyn Store,
    user: Option<&str>,
) -> anyhow::Result<(Vec<Application>, HashMap<i64, String>)> {
    let mut owners = HashMap::new();
    let apps = match user {
        Some(username) => {
            let Some(u) = store
                .find_user_by_username(username)
                .await
                .context("cannot read the user")?
            else {
                bail!("user: no user named `{username}`");
            };
            let mut apps = store
                .list_applications_for_user(u.id)
                .await
                .context("cannot read the applications")?;
            apps.sort_by_key(|a| std::cmp::Reverse(a.id));
            owners.insert(u.id, u.username);
            apps
        }
        None => {
            let Some(admin) = store.admin() else {
                bail!("this store cannot list every application");
            };
            let mut apps: Vec<Application> = Vec::new();
            loop {
                let q = AdminQuery {
                    before_id: apps.last().map(|a| a.id),
                    limit: ADMIN_PAGE_MAX,
                    ..AdminQuery::default()
                };
                let page = admin
                    .admin_applications(&q)
                    .await
                    .context("cannot read the applications")?;
                let full = page.len() >= ADMIN_PAGE_MAX as usize;
                apps.extend(page);
                if !full {
                    break;
                }
            }
            for id in apps.iter().filter_map(|a| a.user_id) {
                if owners.contains_key(&id) {
                    continue;
                }
                if let Some(u) = store.get_user(id).await.context("cannot read a user")? {
                    owners.insert(id, u.username);
                }
            }
            apps
        }
    };
    Ok((apps, owners))
}

fn owner_of<'a>(app: &Application, owners: &'a HashMap<i64, String>) -> Option<&'a str> {
    app.user_id
        .and_then(|id| owners.get(&id))
        .map(String::as_str)
}

/// Everything but the secret and its hash.
fn to_json(a: &Application, owner: Option<&str>) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::json!({
        "id": a.id,
        "client_id": a.client_id,
        "name": a.name,
        "client_type": a.client_type.as_str(),
        "authorization_grant_type": a.authorization_grant_type.as_str(),
        "user": owner,
        "redirect_uris": a.redirect_uris,
        "post_logout_redirect_uris": a.post_logout_redirect_uris,
        "allowed_origins": a.allowed_origins,
        "skip_authorization": a.skip_authorization,
        "algorithm": a.algorithm.as_str(),
        "hash_client_secret": a.hash_client_secret,
        "created": a.created.format(&Rfc3339).context("cannot format a date")?,
    }))
}

/// A value on one line of the text listing: control characters (a newline or a tab in a
/// name) are escaped so that every application stays one line of tab-separated columns.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
