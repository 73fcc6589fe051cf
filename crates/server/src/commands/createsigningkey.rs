//! `createsigningkey` (key rotation) and `deletesigningkey` (retirement) for the OpenID
//! Connect signing keys stored in the database (`oauth_toolkit_core::oidc::keys`). Only the
//! `kid` and algorithm are printed, never key material.

use anyhow::Context;
use oauth_toolkit_core::context::Ctx;
use oauth_toolkit_core::oidc::keys::{retire_key, rotate, KeyAlgorithm};
use oauth_toolkit_core::{Clock, Settings, SystemClock};

use crate::cli::{CreateSigningKeyArgs, DeleteSigningKeyArgs};

pub async fn run(settings: Settings, args: CreateSigningKeyArgs) -> anyhow::Result<()> {
    let algorithm = KeyAlgorithm::parse(&args.algorithm)
        .with_context(|| format!("unknown algorithm `{}`", args.algorithm))?;
    let db = super::open_database(&settings).await?;
    let store = db.store();
    let ctx = Ctx::new(&settings, &*store, SystemClock.now());
    let result = rotate(&ctx, algorithm).await;
    db.close().await;
    let key = result.context("cannot add the signing key")?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"kid": key.kid, "algorithm": key.algorithm})
        );
    } else {
        println!(
            "Signing key {} ({}) added; it is published now and signs new ID tokens once it is \
             twice oidc_jwks_cache_seconds old.",
            key.kid, key.algorithm
        );
    }
    Ok(())
}

pub async fn run_delete(settings: Settings, args: DeleteSigningKeyArgs) -> anyhow::Result<()> {
    let db = super::open_database(&settings).await?;
    let store = db.store();
    let ctx = Ctx::new(&settings, &*store, SystemClock.now());
    let result = retire_key(&ctx, &args.kid).await;
    db.close().await;
    result.context("cannot delete the signing key")?;
    println!("Signing key {} deleted.", args.kid);
    Ok(())
}
