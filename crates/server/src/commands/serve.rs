use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use oauth_toolkit_axum::{router, AppState, ServerLimits};
use oauth_toolkit_core::{Settings, SystemClock};

use crate::cli::ServeArgs;

pub async fn run(mut settings: Settings, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(bind) = args.bind {
        settings.bind = bind;
    }
    let addr: SocketAddr = settings.bind.parse().with_context(|| {
        format!(
            "--bind: `{}` is not an address like 127.0.0.1:8000",
            settings.bind
        )
    })?;
    let db = super::open_database(&settings).await?;
    let backend = db.backend_name();
    let secret_key = oauth_toolkit_axum::load_secret_key(&settings, &*db.store())
        .await
        .context("cannot load the session key")?;
    let state = AppState::new(settings, db.store(), Arc::new(SystemClock), secret_key)
        .context("cannot load templates")?;
    let app = router(state, &ServerLimits::default());
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    tracing::info!("oauth-toolkit listening on http://{local} (database: {backend})");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("stopped; requests in flight were finished");
    db.close().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM; axum then stops accepting and drains requests in flight.
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
