//! One module per subcommand.

mod audittokens;
mod cleanupapplications;
mod cleartokens;
mod createapplication;
mod createsigningkey;
mod createuser;
mod deleteapplication;
mod health;
mod listapplications;
mod migrate;
mod migratescopes;
mod revoketokens;
mod serve;
mod stats;
mod updateapplication;
mod updateuser;

use anyhow::Context;
use oauth_toolkit_core::Settings;
use oauth_toolkit_store::{Database, OpenOptions};

use crate::cli::{Cli, Command};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = crate::config::load_settings(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => serve::run(settings, args).await,
        Command::Migrate => migrate::run(settings).await,
        Command::Createuser(args) => createuser::run(settings, args).await,
        Command::Updateuser(args) => updateuser::run(settings, args).await,
        Command::Createapplication(args) => createapplication::run(settings, args).await,
        Command::Listapplications(args) => listapplications::run(settings, args).await,
        Command::Updateapplication(args) => updateapplication::run(settings, args).await,
        Command::Deleteapplication(args) => deleteapplication::run(settings, args).await,
        Command::Cleartokens => cleartokens::run(settings).await,
        Command::Createsigningkey(args) => createsigningkey::run(settings, args).await,
        Command::Deletesigningkey(args) => createsigningkey::run_delete(settings, args).await,
        Command::Stats(args) => stats::run(settings, args).await,
        Command::Audittokens(args) => audittokens::run(settings, args).await,
        Command::Revoketokens(args) => revoketokens::run(settings, args).await,
        Command::Cleanupapplications(args) => cleanupapplications::run(settings, args).await,
        Command::Migratescopes(args) => migratescopes::run(settings, args).await,
        Command::Health(args) => health::run(settings, args).await,
    }
}

/// Open the configured database and bring its schema up to date.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Database> {
    open_database_with(settings, OpenOptions::default()).await
}

/// [`open_database`] with pool settings of its own (e.g. `health`'s shorter wait).
pub async fn open_database_with(
    settings: &Settings,
    opts: OpenOptions,
) -> anyhow::Result<Database> {
    let url = settings.database_url();
    let opts = OpenOptions {
        sqlite_synchronous: settings.server.sqlite_synchronous,
        ..opts
    };
    let db = Database::open(url, &opts)
        .await
        .with_context(|| format!("cannot open the database ({})", redact(url)))?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(db)
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((creds, host)) = rest.rsplit_once('@') {
            let user = creds.split(':').next().unwrap_or("");
            return format!("{scheme}://{user}:***@{host}");
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://bob:hunter2@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(
            super::redact("sqlite://oauth-toolkit.sqlite3?mode=rwc"),
            "sqlite://oauth-toolkit.sqlite3?mode=rwc"
        );
    }
}
