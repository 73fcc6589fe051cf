//! What the user agent sees next: login, consent, or the answer; and the consent decision.

use super::*;
use time::Duration;
use uuid::Uuid;

use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::generators::generate_token;
use crate::issuance::{issue, mint, Issue};
use crate::models::{Id, NewGrant};
use crate::oidc::{self, IdTokenSpec};
use crate::params::Params;
use crate::scopes;
use crate::settings::ApprovalPrompt;

// ---------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------

/// What the user agent is shown next after a GET of the authorization endpoint.
#[derive(Debug)]
pub enum Next {
    /// Send the user to the login page with this request as `next`. `strip_prompt`: remove
    /// `prompt` from `next` (so that the login is not asked for again). `reauthenticate`: the
    /// current login must not count (`prompt=login`).
    Login {
        /// Remove `prompt` from `next`.
        strip_prompt: bool,
        /// The current login must not count.
        reauthenticate: bool,
    },
    /// Ask the user (render the consent page).
    Consent(Box<AuthorizationRequest>),
    /// Send the response to the client (a redirect, or a `form_post` form).
    Redirect(ClientResponse),
}

/// The GET side of the endpoint for `user` (`None`: nobody is logged in), following
/// DOT's authorization view with the OpenID Connect answers for `prompt`, `max_age`
/// and `id_token_hint` (Core §3.1.2.1, §3.1.2.3, §3.1.2.6).
pub async fn authorize(
    ctx: &Ctx<'_>,
    params: &Params,
    user: Option<&EndUser>,
) -> Result<Next, AuthorizationError> {
    let Some(user) = user else {
        // Read leniently: a malformed prompt is reported after login, by `validate`.
        let prompt = Prompt::parse(&params.all("prompt").join(" "));
        if prompt.none {
            // Validate first: an unregistered redirect URI never receives anything.
            let request = validate(ctx, params).await?;
            return Err(request.error_redirect(OAuthError::new(ErrorCode::LoginRequired)));
        }
        return Ok(Next::Login {
            strip_prompt: prompt.login,
            reauthenticate: false,
        });
    };
    let request = validate(ctx, params).await?;
    if let Some(hint) = &request.id_token_hint {
        // The hint must be an ID token of ours (expired ones are fine: Core §3.1.2.1) for
        // the user who is logged in.
        let verified = oidc::verify_id_token(ctx, hint, true)
            .await
            .map_err(|e| request.error_redirect(e))?;
        if verified.user_id() != Some(user.id) {
            if request.prompt.none {
                return Err(request.error_redirect(OAuthError::new(ErrorCode::LoginRequired)));
            }
            return Ok(Next::Login {
                strip_prompt: true,
                reauthenticate: true,
            });
        }
    }
    let too_old = match (request.max_age, user.auth_time) {
        (Some(max_age), Some(at)) => (ctx.now - at).whole_seconds() > max_age,
        (Some(_), None) => true,
        _ => false,
    };
    if request.prompt.login || too_old {
        if request.prompt.none {
            return Err(request.error_redirect(OAuthError::new(ErrorCode::LoginRequired)));
        }
        return Ok(Next::Login {
            strip_prompt: true,
            reauthenticate: true,
        });
    }
    user_may_use(ctx, &request, user).await?;
    if auto_approved(ctx, &request, user.id).await? {
        return approve(ctx, &request, user).await.map(Next::Redirect);
    }
    if request.prompt.none {
        // No user interaction allowed (OIDC Core §3.1.2.1), so no consent page.
        return Err(request.error_redirect(OAuthError::new(ErrorCode::ConsentRequired)));
    }
    Ok(Next::Consent(Box::new(request)))
}

/// May this request be granted without asking? `skip_authorization` applications always;
/// with `approval_prompt=auto` or `prompt=none`, when the user already holds a live token for
/// the application covering every requested scope (DOT's rule: the consent given
/// before). `prompt=consent` always asks.
pub async fn auto_approved(
    ctx: &Ctx<'_>,
    request: &AuthorizationRequest,
    user_id: Id,
) -> Result<bool, AuthorizationError> {
    if request.prompt.consent {
        return Ok(false);
    }
    if request.application.skip_authorization {
        return Ok(true);
    }
    if request.approval_prompt != ApprovalPrompt::Auto && !request.prompt.none {
        return Ok(false);
    }
    let tokens = ctx
        .store
        .list_live_access_tokens(user_id, request.application.id, ctx.now)
        .await
        .map_err(|e| request.error_redirect(OAuthError::from(e)))?;
    if tokens
        .iter()
        .any(|t| scopes::allow_scopes(&t.scope, &request.scopes))
    {
        return Ok(true);
    }
    // `response_type=id_token` issues no access token: its live ID tokens are the record of
    // the consent (OIDC Core §3.1.2.1 `prompt=none` must answer silently after it).
    let id_tokens = ctx
        .store
        .list_live_id_tokens(user_id, request.application.id, ctx.now)
        .await
        .map_err(|e| request.error_redirect(OAuthError::from(e)))?;
    Ok(id_tokens
        .iter()
        .any(|t| scopes::allow_scopes(&t.scope, &request.scopes)))
}

/// The consent POST: validate the form again (nothing in it is trusted), then approve when
/// `allow`, else answer `access_denied`. Returns the response for the client.
pub async fn decide(
    ctx: &Ctx<'_>,
    params: &Params,
    user: &EndUser,
    allow: bool,
) -> Result<ClientResponse, AuthorizationError> {
    let request = validate(ctx, params).await?;
    if allow {
        user_may_use(ctx, &request, user).await?;
        approve(ctx, &request, user).await
    } else {
        tracing::info!(client_id = %request.application.client_id, user_id = user.id, "authorization denied by the user");
        Err(deny(&request))
    }
}

/// The application's [`crate::hooks::ApplicationAccess`] rule: `access_denied` for the client
/// when this user may not use this application.
pub(super) async fn user_may_use(
    ctx: &Ctx<'_>,
    request: &AuthorizationRequest,
    user: &EndUser,
) -> Result<(), AuthorizationError> {
    let account = crate::users::account_by_id(ctx, user.id)
        .await
        .map_err(|e| request.error_redirect(OAuthError::from(e)))?;
    let allowed = match &account {
        Some(a) => {
            a.is_active
                && ctx
                    .hooks
                    .application_access
                    .may_use(a, &request.application)
                    .await
        }
        None => false,
    };
    if allowed {
        return Ok(());
    }
    tracing::info!(client_id = %request.application.client_id, user_id = user.id, "authorization refused: the user may not use this application");
    Err(deny(request))
}

/// The user refused: `access_denied` (+ `state`) for the client.
pub fn deny(request: &AuthorizationRequest) -> AuthorizationError {
    request.error_redirect(OAuthError::new(ErrorCode::AccessDenied))
}

/// Issue what the response type asks for and return the success response: a code
/// (RFC 6749 §4.1.2), an access token (§4.2.2, no refresh token) and/or an ID token
/// (OIDC Core §3.2.2.5, §3.3.2.5), in the query for `code` and in the fragment otherwise, or
/// in a form with `form_post`.
pub async fn approve(
    ctx: &Ctx<'_>,
    request: &AuthorizationRequest,
    user: &EndUser,
) -> Result<ClientResponse, AuthorizationError> {
    let app = &request.application;
    let user_id = user.id;
    let rt = request.response_type;
    let mut params: Vec<(&str, String)> = Vec::new();
    let mut code_value = None;
    if rt.issues_code() {
        let code = generate_token();
        let expires_in = i64::try_from(ctx.settings.provider.authorization_code_expire_seconds)
            .unwrap_or(i64::MAX);
        let grant = NewGrant {
            user_id,
            code: code.clone(),
            application_id: app.id,
            expires: ctx.now.saturating_add(Duration::seconds(expires_in)),
            redirect_uri: request.requested_redirect_uri().to_string(),
            scope: request.scope(),
            code_challenge: request.code_challenge.clone().unwrap_or_default(),
            code_challenge_method: request.code_challenge_method,
            nonce: request.nonce.clone().unwrap_or_default(),
            claims: request.claims.clone().unwrap_or_else(|| "{}".to_string()),
            token_family: Uuid::new_v4(),
            auth_time: user.auth_time,
            sid: user.sid.clone().unwrap_or_default(),
            resource: crate::resource_indicators::join(&request.resources),
        };
        ctx.store
            .create_grant(grant, ctx.now)
            .await
            .map_err(|e| store_failure(request, e))?;
        tracing::info!(client_id = %app.client_id, user_id, scope = %request.scope(), "authorization code issued");
        params.push(("code", code.clone()));
        code_value = Some(code);
    }
    let failed = |e: OAuthError| {
        tracing::error!(error = %e, cause = ?e.cause, "authorization endpoint issuance failed");
        request.error_redirect(strip_cause(e))
    };
    let scope = request.scope();
    let id_spec = IdTokenSpec {
        user_id,
        scope: &scope,
        nonce: request.nonce.as_deref(),
        auth_time: user.auth_time,
        sid: user.sid.as_deref(),
        access_token: None,
        code: code_value.as_deref(),
        claims_request: request.claims.as_deref(),
    };
    let mut id_token = None;
    if rt.issues_access_token() {
        // Tokens from the authorization endpoint (implicit, hybrid) count as `implicit`.
        metrics::counter!("oauth_tokens_issued_total", "grant_type" => "implicit").increment(1);
        let issue_spec = Issue {
            application: app,
            user_id: Some(user_id),
            scope: scope.clone(),
            family: None,
            with_refresh_token: false,
            resource: crate::resource_indicators::join(&request.resources),
            refresh_resource: String::new(),
        };
        // Userinfo reads an access token's `claims` request (Core §5.5) from its ID token
        // record. `code token` sends no ID token from here, so when claims were asked for
        // one is recorded (and signed) but not sent.
        let record_claims = request.claims.is_some() && oidc::wants_id_token(ctx.settings, &scope);
        let token = if rt.issues_id_token() || record_claims {
            let mut minted = mint(ctx, &issue_spec);
            let jwt = oidc::attach_id_token(ctx, app, &mut minted, id_spec.clone())
                .await
                .map_err(failed)?;
            ctx.store
                .issue_tokens(minted.pair.clone(), ctx.now)
                .await
                .map_err(|e| failed(OAuthError::from(e)))?;
            id_token = rt.issues_id_token().then_some(jwt);
            minted.response(scope.clone())
        } else {
            issue(ctx, issue_spec).await.map_err(failed)?
        };
        params.push(("access_token", token.access_token));
        params.push(("token_type", token.token_type.to_string()));
        params.push(("expires_in", token.expires_in.to_string()));
        params.push(("scope", token.scope));
    } else if rt.issues_id_token() {
        let signed = oidc::create_id_token(ctx, app, &id_spec)
            .await
            .map_err(failed)?;
        id_token = Some(signed.jwt);
    }
    if let Some(jwt) = id_token {
        params.push(("id_token", jwt));
    }
    if let Some(state) = &request.state {
        params.push(("state", state.clone()));
    }
    if let Some(iss) = &request.iss {
        params.push(("iss", iss.clone()));
    }
    Ok(ClientResponse {
        redirect_uri: request.redirect_uri.clone(),
        mode: request.response_mode,
        params: params
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    })
}
