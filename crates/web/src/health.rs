use axum::extract::{FromRef, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::Provider;

/// `GET /health`: 200 `{"status":"ok"}` when the database answers, else 503.
pub async fn health(State(state): State<Provider>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

/// `GET /health/details`: the health report (`oauth-toolkit health`), 200 while healthy or
/// warning, 503 when unhealthy. For a signed-in staff user, or a bearer token with the
/// `health_details_scope` scope; anyone else gets the resource server's refusal (401, 403).
pub async fn health_details(State(state): State<Provider>, request: Request) -> Response {
    use crate::resource::{ResourceError, ResourceServer};
    let (parts, _) = request.into_parts();
    let rs = ResourceServer::from_ref(&state);
    if rs.presents_token(&parts) {
        let scope = [state.settings.server.health_details_scope.as_str()];
        match rs.authenticate(&parts).await {
            Ok(token) => {
                if let Err(refusal) = rs.require(&token, &scope) {
                    return refusal.into_response();
                }
            }
            Err(refusal) => return refusal.into_response(),
        }
    } else {
        match crate::pages::account::Account::current(&state, &parts).await {
            Some(a) if a.user.is_staff => {}
            Some(_) => {
                return (
                    StatusCode::FORBIDDEN,
                    Json(json!({"error": "forbidden", "error_description": "Staff only."})),
                )
                    .into_response()
            }
            None => return rs.reject(ResourceError::Missing).into_response(),
        }
    }
    let (report, cause) = oauth_toolkit_core::health::check(&*state.store, state.clock.now()).await;
    if let Some(cause) = cause {
        tracing::warn!(cause = %cause, "health details: unhealthy");
    }
    let status = if report.is_unhealthy() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut resp = (status, Json(report)).into_response();
    crate::error::no_store(&mut resp);
    resp
}
