use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use oauth_toolkit_axum::resource::demo;
use oauth_toolkit_axum::{router, router_with, serve, Provider, ServerLimits};
use oauth_toolkit_core::{Settings, SystemClock};

use crate::cli::ServeArgs;

pub async fn run(mut settings: Settings, args: ServeArgs) -> anyhow::Result<()> {
    if args.debug_stats && db_statements().is_none() {
        anyhow::bail!(
            "--debug-stats needs a binary built with the `debug-stats` feature \
             (cargo build --features debug-stats): this one does not count statements"
        );
    }
    if let Some(bind) = args.bind {
        settings.server.bind = bind;
    }
    let addr: SocketAddr = settings.server.bind.parse().with_context(|| {
        format!(
            "--bind: `{}` is not an address like 127.0.0.1:8000",
            settings.server.bind
        )
    })?;
    // Bind first: with port 0 the real port is only known now, and the default issuer
    // (`http://<bind>`) must name it.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    settings.server.bind = local.to_string();
    if settings.server.issuer.is_none() && local.ip().is_unspecified() {
        tracing::warn!(
            "no `issuer` is set and {local} is not an address clients can reach: set `issuer` \
             to the provider's public URL"
        );
    }
    // One line per RFC 9700 switch left in DOT's insecure position, naming the setting.
    for (key, what) in settings.insecure_switches() {
        tracing::warn!(setting = key, "{key} = false: {what}");
    }
    let db = super::open_database(&settings).await?;
    let backend = db.backend_name();
    let secret_key = oauth_toolkit_axum::load_secret_key(&settings, &*db.store())
        .await
        .context("cannot load the session key")?;
    if settings.oidc.oidc_enabled {
        // The ID token signing keys: the configured PEM, else the stored keys, generating
        // the deployment's first one now (race-safe) rather than on the first request.
        let store = db.store();
        let now = oauth_toolkit_core::Clock::now(&SystemClock);
        let ctx = oauth_toolkit_core::context::Ctx::new(&settings, &*store, now);
        oauth_toolkit_core::oidc::key_set(&ctx).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot load the OpenID Connect signing keys: {e} ({:?})",
                e.cause
            )
        })?;
    }
    if args.demo_api && demo::add_demo_scopes(&mut settings) {
        tracing::info!("demo API: scopes music:read and music:write added to the default scopes");
    }
    let limits = ServerLimits::from_settings(&settings);
    let metrics = if settings.server.metrics_enabled {
        Some(crate::metrics::install()?)
    } else {
        None
    };
    let metrics_bind = settings.server.metrics_bind.clone();
    let state = Provider::new(settings, db.store(), Arc::new(SystemClock), secret_key)
        .context("cannot build the application state")?;
    let app = if args.demo_api {
        tracing::info!("demo API mounted at /api/ (hello, scoped, rw, music, …)");
        router_with(state.clone(), &limits, demo::router(&state))
    } else {
        router(state, &limits)
    };
    let app = if args.debug_stats {
        tracing::info!("debug statistics at /debug/stats");
        app.route("/debug/stats", axum::routing::get(debug_stats))
    } else {
        app
    };
    let app = match (metrics, metrics_bind) {
        (Some(handle), None) => {
            tracing::info!("metrics at /metrics");
            app.merge(crate::metrics::router(handle))
        }
        (Some(handle), Some(bind)) => {
            let addr: SocketAddr = bind
                .parse()
                .with_context(|| format!("metrics_bind: `{bind}` is not an address"))?;
            let metrics_listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (metrics_bind)"))?;
            let at = metrics_listener
                .local_addr()
                .context("cannot read the bound address")?;
            tracing::info!("metrics at http://{at}/metrics");
            let metrics_app = crate::metrics::router(handle);
            let metrics_limits = limits.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(
                    metrics_listener,
                    metrics_app,
                    &metrics_limits,
                    std::future::pending(),
                )
                .await
                {
                    tracing::error!("the metrics listener failed: {e}");
                }
            });
            app
        }
        (None, _) => app,
    };
    tracing::info!("oauth-toolkit listening on http://{local} (database: {backend})");
    serve(listener, app, &limits, shutdown_signal())
        .await
        .context("server failed")?;
    match db_statements().filter(|_| args.debug_stats) {
        Some(n) => tracing::info!(db_statements = n, "stopped"),
        None => tracing::info!("stopped"),
    }
    db.close().await;
    Ok(())
}

/// `GET /debug/stats` (`serve --debug-stats`): statements sent to the database so far, which
/// a benchmark reads before and after a scenario (see `oauth_toolkit_store::stats`).
async fn debug_stats() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "db_statements": db_statements() }))
}

/// Statements sent to the database so far, or `None` when the binary was built without the
/// `debug-stats` feature and the store does not count them.
#[cfg(feature = "debug-stats")]
fn db_statements() -> Option<u64> {
    Some(oauth_toolkit_store::stats::round_trips())
}

#[cfg(not(feature = "debug-stats"))]
fn db_statements() -> Option<u64> {
    None
}

/// Resolves on SIGINT or SIGTERM; `serve` then stops accepting and drains requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        _ = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without the counter compiled in, `--debug-stats` is refused before anything starts
    /// rather than serving zeros.
    #[tokio::test]
    async fn debug_stats_needs_the_counter() {
        if cfg!(feature = "debug-stats") {
            assert!(db_statements().is_some());
            return;
        }
        let args = ServeArgs {
            bind: None,
            demo_api: false,
            debug_stats: true,
        };
        let e = run(Settings::default(), args).await.unwrap_err();
        assert!(
            format!("{e:#}").starts_with("--debug-stats needs a binary built with"),
            "{e:#}"
        );
    }
}
