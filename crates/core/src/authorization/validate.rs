//! Validating a request step by step, in the order of the module documentation.

use super::*;

use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::models::{Application, CodeChallengeMethod, GrantType};
use crate::params::Params;
use crate::pkce;
use crate::scopes;
use crate::settings::{ApprovalPrompt, Settings};
use crate::store::StoreError;

/// Longest `client_id` looked up (the column holds 255 characters).
pub(super) const MAX_CLIENT_ID_LENGTH: usize = 255;
/// Longest `nonce` stored with a code (DOT's column: 255).
pub(super) const MAX_NONCE_LENGTH: usize = 255;
/// Largest `claims` JSON stored with a code.
pub(super) const MAX_CLAIMS_LENGTH: usize = 8 * 1024;

/// The parameters that may appear only once (oauthlib's duplicate check; fatal).
pub(super) const NO_DUPLICATES: [&str; 5] = [
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
];

/// The issuer named in authorization responses (RFC 9207): `oidc_iss_endpoint` when set,
/// else the public base URL followed by the endpoints' prefix.
pub fn response_issuer(settings: &Settings) -> String {
    crate::metadata::issuer(settings)
}

pub(super) fn configured_iss(settings: &Settings) -> Option<String> {
    settings
        .provider
        .compliant_bcp_rfc9700_authz_response_iss
        .then(|| response_issuer(settings))
}

/// RFC 3986 §3.1: `scheme ":"` with `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
pub(super) fn is_absolute_uri(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

pub(super) async fn load_client(
    ctx: &Ctx<'_>,
    client_id: &str,
) -> Result<Application, AuthorizationError> {
    let invalid = || fatal("Invalid client_id parameter value.");
    if client_id.len() > MAX_CLIENT_ID_LENGTH || client_id.chars().any(char::is_control) {
        return Err(invalid());
    }
    match ctx.store.find_application_by_client_id(client_id).await {
        Ok(Some(app)) if app.is_usable() => Ok(app),
        Ok(_) | Err(StoreError::Invalid(_)) => {
            tracing::debug!("authorization request for an unknown client_id");
            Err(invalid())
        }
        Err(e) => Err(AuthorizationError::Fatal(OAuthError::from(e))),
    }
}

pub(super) fn resolve_redirect_uri(
    ctx: &Ctx<'_>,
    app: &Application,
    requested: Option<&str>,
) -> Result<String, AuthorizationError> {
    match requested {
        Some(uri) => {
            if !is_absolute_uri(uri) {
                return Err(fatal("Invalid redirect URI."));
            }
            // Mismatch reasons are logged at DEBUG by `redirect_uri_allowed`, never returned.
            if !app.redirect_uri_allowed(uri, ctx.settings) {
                return Err(fatal("Mismatching redirect URI."));
            }
            Ok(uri.to_string())
        }
        None => match app.default_redirect_uri() {
            Some(uri) if app.redirect_uri_allowed(uri, ctx.settings) => Ok(uri.to_string()),
            Some(_) => Err(fatal("Invalid redirect URI.")),
            None => Err(fatal("Missing redirect URI.")),
        },
    }
}

/// Validate an authorization request (GET query or consent POST body), in DOT's order.
pub async fn validate(
    ctx: &Ctx<'_>,
    params: &Params,
) -> Result<AuthorizationRequest, AuthorizationError> {
    // 1–3: fatal errors, shown to the user.
    for name in NO_DUPLICATES {
        params.single(name).map_err(AuthorizationError::Fatal)?;
    }
    let single = |name: &str| params.single(name).ok().flatten();
    let client_id = single("client_id").ok_or_else(|| fatal("Missing client_id parameter."))?;
    let application = load_client(ctx, client_id).await?;
    let redirect_uri_requested = single("redirect_uri").is_some();
    let redirect_uri = resolve_redirect_uri(ctx, &application, single("redirect_uri"))?;
    let state = single("state").map(str::to_owned);
    let iss = configured_iss(ctx.settings);

    // From here on the redirect URI is trusted: errors go to the client.
    let to_client = |error: OAuthError, mode: ResponseMode| AuthorizationError::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        state: state.clone(),
        mode,
        iss: iss.clone(),
    };

    // 4: response type.
    let Some(raw_type) = single("response_type") else {
        return Err(to_client(
            OAuthError::invalid_request("Missing response_type parameter."),
            ResponseMode::Query,
        ));
    };
    let Some(response_type) = ResponseType::parse(raw_type) else {
        return Err(to_client(
            OAuthError::new(ErrorCode::UnsupportedResponseType),
            ResponseMode::Query,
        ));
    };
    let mode = ResponseMode::choose(response_type, params.all("response_mode").first().copied());
    let to_client = |error: OAuthError| to_client(error, mode);
    // The OpenID Connect types (all but `code` and `token`) exist only while OIDC is on (DOT
    // §2.1).
    let oidc_only = !matches!(response_type, ResponseType::Code | ResponseType::Token);
    if !response_type.is_implemented() || (oidc_only && !ctx.settings.oidc.oidc_enabled) {
        return Err(to_client(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
        )));
    }
    if !application.allows_grant_type(response_type.allowed_grant_types()) {
        return Err(to_client(
            OAuthError::new(ErrorCode::UnauthorizedClient).with_description(format!(
                "The client is not allowed to use response_type {response_type}."
            )),
        ));
    }
    if response_type.allowed_grant_types() == [GrantType::Implicit]
        && ctx.settings.provider.compliant_bcp_rfc9700_implicit_grant
    {
        return Err(to_client(
            OAuthError::new(ErrorCode::UnauthorizedClient).with_description(
                "The implicit grant is disabled (RFC 9700 section 2.1.2); use the authorization code flow with PKCE.",
            ),
        ));
    }

    // Every other parameter read once; a repeated one is a redirected invalid_request.
    let one = |name: &str| params.single(name).map_err(&to_client);

    // OpenID Connect: request objects are not supported (Core §6.1, §6.2: the errors to use).
    if one("request")?.is_some() {
        return Err(to_client(OAuthError::new(ErrorCode::RequestNotSupported)));
    }
    if one("request_uri")?.is_some() {
        return Err(to_client(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
        )));
    }

    // 5: PKCE (RFC 7636 §4.3–4.4).
    let (mut code_challenge, mut code_challenge_method) = (None, None);
    if response_type.issues_code() {
        let challenge = one("code_challenge")?;
        let method = one("code_challenge_method")?;
        match challenge {
            None if ctx.settings.provider.pkce_required => {
                return Err(to_client(OAuthError::invalid_request(
                    "Code challenge required.",
                )));
            }
            None => {}
            Some(challenge) => {
                let method = match method {
                    None | Some("plain") => CodeChallengeMethod::Plain,
                    Some("S256") => CodeChallengeMethod::S256,
                    Some(_) => {
                        return Err(to_client(OAuthError::invalid_request(
                            "Transform algorithm not supported.",
                        )));
                    }
                };
                if method == CodeChallengeMethod::Plain
                    && ctx.settings.provider.compliant_bcp_rfc9700_pkce_method
                {
                    return Err(to_client(OAuthError::invalid_request(
                        "Unsupported \"plain\" code_challenge_method; use \"S256\".",
                    )));
                }
                if !pkce::is_valid_verifier_or_challenge(challenge) {
                    return Err(to_client(OAuthError::invalid_request(
                        "Invalid code_challenge: RFC 7636 requires 43 to 128 characters of A-Z, a-z, 0-9, \"-\", \".\", \"_\" and \"~\".",
                    )));
                }
                code_challenge = Some(challenge.to_string());
                code_challenge_method = Some(method);
            }
        }
    }

    // 6: scope (RFC 6749 §3.3), then the remaining parameters.
    let scopes =
        scopes::resolve_for(ctx, Some(&application), single("scope")).map_err(&to_client)?;
    // RFC 8707 §2: the resources the tokens are for; a bad one goes back to the client.
    let resources = crate::resource_indicators::requested(params).map_err(&to_client)?;

    let nonce = one("nonce")?;
    if let Some(n) = nonce {
        if n.chars().count() > MAX_NONCE_LENGTH || n.chars().any(char::is_control) {
            return Err(to_client(OAuthError::invalid_request(
                "Invalid nonce parameter.",
            )));
        }
    }
    if response_type.issues_id_token() {
        // Core §3.2.2.1, §3.3.2.11: an ID token from this endpoint needs a nonce, and an
        // OpenID request needs the openid scope.
        if nonce.is_none_or_empty() {
            return Err(to_client(OAuthError::invalid_request(
                "Request is missing mandatory nonce parameter.",
            )));
        }
        if !scopes.iter().any(|s| s == "openid") {
            return Err(to_client(OAuthError::invalid_request(
                "The openid scope is required for response_type including id_token.",
            )));
        }
    }
    let max_age = match one("max_age")? {
        None | Some("") => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(to_client(OAuthError::invalid_request(
                    "Invalid max_age parameter.",
                )))
            }
        },
    };
    let id_token_hint = one("id_token_hint")?.filter(|h| !h.is_empty());
    let claims = one("claims")?;
    if let Some(c) = claims {
        let is_object = c.len() <= MAX_CLAIMS_LENGTH
            && serde_json::from_str::<serde_json::Value>(c).is_ok_and(|v| v.is_object());
        if !is_object {
            return Err(to_client(OAuthError::invalid_request(
                "Malformed claims parameter",
            )));
        }
    }
    let prompt = Prompt::parse(one("prompt")?.unwrap_or(""));
    if prompt.none && prompt.others_than_none() {
        return Err(to_client(OAuthError::invalid_request(
            "Prompt none is mutually exclusive with other values.",
        )));
    }
    let approval_prompt = match one("approval_prompt")? {
        None => ctx.settings.provider.request_approval_prompt,
        Some("auto") => ApprovalPrompt::Auto,
        Some(_) => ApprovalPrompt::Force,
    };

    Ok(AuthorizationRequest {
        application,
        response_type,
        response_mode: mode,
        redirect_uri: redirect_uri.clone(),
        redirect_uri_requested,
        scopes,
        resources,
        state: state.clone(),
        code_challenge,
        code_challenge_method,
        nonce: nonce.map(str::to_owned),
        claims: claims.map(str::to_owned),
        prompt,
        approval_prompt,
        iss: iss.clone(),
        max_age,
        id_token_hint: id_token_hint.map(str::to_owned),
    })
}

pub(super) trait NoneOrEmpty {
    fn is_none_or_empty(&self) -> bool;
}

impl NoneOrEmpty for Option<&str> {
    fn is_none_or_empty(&self) -> bool {
        self.unwrap_or_default().is_empty()
    }
}
