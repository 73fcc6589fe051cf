use oauth_toolkit_core::Settings;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let db = super::open_database(&settings).await?;
    let applied = db.applied_migrations().await?;
    println!(
        "Database is up to date ({} migration{} applied, {}).",
        applied,
        if applied == 1 { "" } else { "s" },
        db.backend_name()
    );
    db.close().await;
    Ok(())
}
