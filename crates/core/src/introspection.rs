//! RFC 7662 token introspection (DOT's view), read as a list of steps:
//!
//! 1. authenticate the caller: client credentials (HTTP Basic, or `client_id` +
//!    `client_secret` in a POST body; every client needs its secret), or a Bearer access
//!    token that is live and carries the `introspection` scope. Anything else is refused
//!    ([`Introspected::Refused`]): a failed authentication with 401 (RFC 7662 §2.3,
//!    `invalid_client` or RFC 6750's `invalid_token`; DOT: an empty 403), a valid token
//!    without the scope with 403 `insufficient_scope`;
//! 2. read `token` (missing: 400 "Token parameter is missing.") and `token_type_hint`;
//! 3. look the token up by digest, hinted table first, then the other;
//! 4. answer `{"active": false}` for anything unknown, expired or revoked, else the token's
//!    metadata (§2.2).
//!
//! Access tokens may be introspected by any authenticated caller (DOT: a resource
//! server must be able to check tokens issued to other clients). Refresh tokens, which only
//! their client ever presents, are described to that client alone; anyone else is told
//! `active: false` (RFC 7662 §4 lets the server answer callers differently).

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::client_auth::{authenticate_client, extract_credentials, strip_scheme, Requirement};
use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::models::{AccessToken, AccessTokenWithOwners, Application, Id, RefreshToken};
use crate::params::Params;
use crate::revocation::TokenTypeHint;
use crate::store::StoreError;
use crate::token_checksum::token_checksum;
use crate::user_status::token_owner_allowed;
use crate::users::{token_owner, Account};

/// The scope a Bearer token needs to call the endpoint (DOT's `required_scopes`).
pub const INTROSPECTION_SCOPE: &str = "introspection";

/// The request, as the web layer read it.
#[derive(Debug, Clone, Copy)]
pub struct IntrospectionRequest<'a> {
    /// The `Authorization` header value.
    pub authorization: Option<&'a str>,
    /// Where `token` and `token_type_hint` are: the query (GET) or the form body (POST).
    pub params: &'a Params,
    /// Whether `client_id`/`client_secret` may be read from `params`: only from a POST
    /// body, never from a URL (RFC 6749 §2.3.1).
    pub credentials_in_params: bool,
}

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Introspector {
    /// A client that authenticated with its secret.
    Client(Application),
    /// A resource server holding a token with the `introspection` scope.
    Bearer(AccessToken),
}

/// Why a caller may not introspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials of any kind (401, challenges for both schemes).
    NoCredentials,
    /// Client credentials that do not authenticate: unknown client, wrong secret, a
    /// public client, malformed or conflicting credentials (401 `invalid_client`).
    InvalidClient,
    /// A bearer token that is unknown, expired, of an unusable application or of an
    /// inactive user (401 `invalid_token`, RFC 6750 §3.1).
    InvalidToken,
    /// A valid bearer token without the `introspection` scope (403 `insufficient_scope`).
    InsufficientScope,
}

/// The outcome of an introspection request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Introspected {
    /// The caller may not introspect.
    Refused(Refusal),
    /// With this body.
    Answer(IntrospectionResponse),
}

/// RFC 7662 §2.2. Only `active` is sent for an inactive token.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct IntrospectionResponse {
    /// Whether the token is live and may be used.
    pub active: bool,
    /// The token's scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The `client_id` of the application the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The username of the user the token acts for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// RFC 6749 §5.1's type of an access token (`Bearer`); absent for refresh tokens,
    /// which have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// When the token expires, in unix time (seconds); absent when it never does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// When the token was issued, in unix time (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The subject of the user the token acts for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The issuer identifier of this provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// RFC 8707: the resources the token is bound to (absent when bound to none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aud: Vec<String>,
}

impl IntrospectionResponse {
    /// `{"active": false}`.
    pub fn inactive() -> Self {
        Self::default()
    }
}

/// Handle `GET|POST introspect/`.
pub async fn introspect(
    ctx: &Ctx<'_>,
    request: IntrospectionRequest<'_>,
) -> Result<Introspected, OAuthError> {
    let caller = match authenticate_caller(ctx, request).await? {
        Ok(caller) => caller,
        Err(refusal) => return Ok(Introspected::Refused(refusal)),
    };
    let token = request
        .params
        .single("token")?
        .ok_or_else(|| OAuthError::invalid_request("Token parameter is missing."))?;
    let hint = TokenTypeHint::parse(request.params.single("token_type_hint")?);
    let response = describe_token(ctx, &caller, token, hint).await?;
    match &caller {
        Introspector::Client(app) => {
            tracing::debug!(client_id = %app.client_id, active = response.active, "token introspection");
        }
        Introspector::Bearer(at) => {
            tracing::debug!(
                bearer_token_id = at.id,
                active = response.active,
                "token introspection"
            );
        }
    }
    Ok(Introspected::Answer(response))
}

/// Step 1. `Ok(Err(_))`: refused. Storage failures are errors, not refusals.
pub async fn authenticate_caller(
    ctx: &Ctx<'_>,
    request: IntrospectionRequest<'_>,
) -> Result<Result<Introspector, Refusal>, OAuthError> {
    let empty = Params::default();
    let credential_params = if request.credentials_in_params {
        request.params
    } else {
        &empty
    };
    // Malformed or conflicting credentials are a failed client authentication here.
    let (credentials, mut refusal) =
        match extract_credentials(request.authorization, credential_params) {
            Ok(c) => (c, Refusal::NoCredentials),
            Err(_) => (None, Refusal::InvalidClient),
        };
    if let Some(creds) = &credentials {
        match authenticate_client(ctx, Some(creds), Requirement::Secret).await {
            Ok(app) => return Ok(Ok(Introspector::Client(app))),
            // A throttled caller (429, `Retry-After`) is told so, not just "unauthorized".
            Err(e) if e.status == 429 => return Err(e),
            Err(e) if e.code == ErrorCode::InvalidClient || e.code == ErrorCode::InvalidRequest => {
                tracing::info!(client_id = %crate::redact::Sanitized(&creds.client_id), "introspection: client authentication failed");
                refusal = Refusal::InvalidClient;
            }
            Err(e) => return Err(e),
        }
    }
    let Some(bearer) = request
        .authorization
        .and_then(|h| strip_scheme(h, "Bearer"))
        .filter(|t| !t.is_empty())
    else {
        return Ok(Err(refusal));
    };
    // One store call: the token with its application (whether it still exists and is usable).
    let Some(found) = ctx
        .store
        .find_access_token_with_owners(&token_checksum(bearer))
        .await?
    else {
        return Ok(Err(Refusal::InvalidToken));
    };
    let at = found.token;
    let application_usable = at.application_id.is_none()
        || found
            .application
            .as_ref()
            .is_some_and(Application::is_usable);
    if at.is_expired(ctx.now)
        || !application_usable
        || !token_owner_allowed(ctx, at.user_id, found.user.as_ref()).await?
    {
        tracing::info!(token_id = at.id, "introspection: bearer token refused");
        return Ok(Err(Refusal::InvalidToken));
    }
    if !at.allow_scopes(&[INTROSPECTION_SCOPE]) {
        tracing::info!(
            token_id = at.id,
            "introspection: bearer token without the introspection scope"
        );
        return Ok(Err(Refusal::InsufficientScope));
    }
    Ok(Ok(Introspector::Bearer(at)))
}

/// Steps 3 and 4.
pub async fn describe_token(
    ctx: &Ctx<'_>,
    caller: &Introspector,
    token: &str,
    hint: Option<TokenTypeHint>,
) -> Result<IntrospectionResponse, OAuthError> {
    let checksum = token_checksum(token);
    for kind in TokenTypeHint::search_order(hint) {
        match kind {
            TokenTypeHint::AccessToken => {
                if let Some(found) = ctx.store.find_access_token_with_owners(&checksum).await? {
                    return Ok(describe_access_token(ctx, found).await?);
                }
            }
            TokenTypeHint::RefreshToken => {
                if let Some(rt) = ctx.store.find_refresh_token(&checksum).await? {
                    return describe_refresh_token(ctx, caller, &rt).await;
                }
            }
        }
    }
    Ok(IntrospectionResponse::inactive())
}

/// An access token, read with its application and user in one store call.
async fn describe_access_token(
    ctx: &Ctx<'_>,
    found: AccessTokenWithOwners,
) -> Result<IntrospectionResponse, StoreError> {
    let at = found.token;
    if at.is_expired(ctx.now) {
        return Ok(IntrospectionResponse::inactive());
    }
    let client_id = match (at.application_id, found.application) {
        (None, _) => None,
        (Some(_), Some(app)) if app.is_usable() => Some(app.client_id),
        (Some(_), _) => return Ok(IntrospectionResponse::inactive()),
    };
    // A deactivated (or deleted) user's tokens are inactive while they are.
    let Some(owner) = token_owner(ctx, at.user_id, found.user.as_ref()).await? else {
        return Ok(IntrospectionResponse::inactive());
    };
    let mut response = active(ctx, client_id, owner, &at.scope);
    response.token_type = Some("Bearer");
    response.exp = Some(at.expires.unix_timestamp());
    response.iat = Some(at.created.unix_timestamp());
    response.aud = crate::resource_indicators::parse(&at.resource);
    Ok(response)
}

/// A refresh token is active when the refresh grant would accept it: not revoked, still
/// bound to its access token, and within `refresh_token_expire_seconds` of that access
/// token's expiry (the rule of `grants::refresh_token`).
async fn describe_refresh_token(
    ctx: &Ctx<'_>,
    caller: &Introspector,
    rt: &RefreshToken,
) -> Result<IntrospectionResponse, OAuthError> {
    let is_owner = matches!(caller, Introspector::Client(app) if app.id == rt.application_id);
    if !is_owner || rt.is_revoked() {
        return Ok(IntrospectionResponse::inactive());
    }
    let Some(at_id) = rt.access_token_id else {
        return Ok(IntrospectionResponse::inactive());
    };
    let Some(at) = ctx.store.get_access_token(at_id).await? else {
        return Ok(IntrospectionResponse::inactive());
    };
    let expires = refresh_token_expiry(ctx, &at);
    if expires.is_some_and(|e| e <= ctx.now) {
        return Ok(IntrospectionResponse::inactive());
    }
    let Some(mut response) =
        describe(ctx, Some(rt.application_id), Some(rt.user_id), &at.scope).await?
    else {
        return Ok(IntrospectionResponse::inactive());
    };
    response.exp = expires.map(OffsetDateTime::unix_timestamp);
    response.iat = Some(rt.created.unix_timestamp());
    response.aud = crate::resource_indicators::parse(&rt.resource);
    Ok(response)
}

/// When a refresh token stops working, if refresh tokens expire at all.
fn refresh_token_expiry(ctx: &Ctx<'_>, at: &AccessToken) -> Option<OffsetDateTime> {
    let idle = ctx
        .settings
        .provider
        .refresh_token_expire_seconds
        .filter(|s| *s > 0)?;
    let idle = Duration::seconds(i64::try_from(idle).unwrap_or(i64::MAX));
    // An overflow means "not in this era": no expiry to speak of.
    at.expires.checked_add(idle)
}

/// The members both token kinds share; `None` when the application is gone or unusable.
async fn describe(
    ctx: &Ctx<'_>,
    application_id: Option<Id>,
    user_id: Option<Id>,
    scope: &str,
) -> Result<Option<IntrospectionResponse>, OAuthError> {
    let client_id = match application_id {
        None => None,
        Some(id) => match ctx.store.get_application(id).await? {
            Some(app) if app.is_usable() => Some(app.client_id),
            _ => return Ok(None),
        },
    };
    let row = match user_id {
        Some(id) => ctx.store.get_user(id).await?,
        None => None,
    };
    let Some(owner) = token_owner(ctx, user_id, row.as_ref()).await? else {
        return Ok(None);
    };
    Ok(Some(active(ctx, client_id, owner, scope)))
}

/// `active: true` with the members both token kinds share.
fn active(
    ctx: &Ctx<'_>,
    client_id: Option<String>,
    owner: Option<Account>,
    scope: &str,
) -> IntrospectionResponse {
    let (sub, username) = match owner {
        Some(a) => (Some(a.subject), Some(a.username)),
        None => (None, None),
    };
    IntrospectionResponse {
        active: true,
        scope: Some(scope.to_string()),
        client_id,
        username,
        token_type: None,
        exp: None,
        iat: None,
        sub,
        iss: Some(crate::metadata::issuer(ctx.settings)),
        aud: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inactive_is_only_active_false() {
        assert_eq!(
            serde_json::to_value(IntrospectionResponse::inactive()).unwrap(),
            serde_json::json!({"active": false})
        );
    }

    #[test]
    fn active_members() {
        let r = IntrospectionResponse {
            active: true,
            scope: Some("read write".into()),
            client_id: Some("abc".into()),
            username: None,
            token_type: Some("Bearer"),
            exp: Some(2),
            iat: Some(1),
            sub: None,
            iss: Some("http://localhost/o".into()),
            aud: Vec::new(),
        };
        assert_eq!(
            serde_json::to_value(r).unwrap(),
            serde_json::json!({
                "active": true, "scope": "read write", "client_id": "abc",
                "token_type": "Bearer", "exp": 2, "iat": 1, "iss": "http://localhost/o"
            })
        );
    }
}
