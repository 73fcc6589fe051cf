//! The authorization endpoint (RFC 6749 §3.1, §4.1.1–4.1.2, §4.2.1–4.2.2) as pure steps:
//! validate the request, decide what the user agent sees next, and issue or refuse.
//!
//! Read [`validate`] as the list DOT and oauthlib apply (`dot-features.md` §1.1 step 3):
//!
//! 1. duplicated `client_id`, `response_type`, `redirect_uri`, `scope` or `state` → fatal;
//! 2. `client_id` missing or unknown → fatal;
//! 3. `redirect_uri` checked against the registration (or the single registered URI used) →
//!    fatal when it fails. Only from here on is the redirect URI trusted;
//! 4. `response_type` present, known, implemented, allowed for the client's grant type →
//!    else an error *redirected to the client*;
//! 5. PKCE (RFC 7636) for response types that issue a code;
//! 6. `scope`, `nonce`, `claims`, `prompt`, `approval_prompt`.
//!
//! A fatal error is shown to the user (the web layer renders a page, status 400) and never
//! redirects, so an attacker cannot use the endpoint as an open redirector, and the registered
//! URIs are never disclosed. Any later error is sent back to the client: in the query for
//! response types that issue a code, in the fragment for those that issue tokens from this
//! endpoint (RFC 6749 §4.2.2.1; DOT always uses the query, §13 #6).
//!
//! [`authorize`] runs the GET side (login and prompt handling, auto-approval, consent page),
//! [`decide`] the consent POST. Neither knows HTTP: they return locations and decisions.

use time::Duration;
use uuid::Uuid;

use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::generators::generate_token;
use crate::issuance::{issue, Issue};
use crate::models::{Application, CodeChallengeMethod, GrantType, Id, NewGrant};
use crate::params::Params;
use crate::pkce;
use crate::scopes::{self, join_scopes};
use crate::settings::{ApprovalPrompt, Settings};
use crate::store::StoreError;

/// Longest `client_id` looked up (the column holds 255 characters).
const MAX_CLIENT_ID_LENGTH: usize = 255;
/// Longest `nonce` stored with a code (DOT's column: 255).
const MAX_NONCE_LENGTH: usize = 255;
/// Largest `claims` JSON stored with a code.
const MAX_CLAIMS_LENGTH: usize = 8 * 1024;

/// The parameters that may appear only once (oauthlib's duplicate check; fatal).
const NO_DUPLICATES: [&str; 5] = [
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
];

// ---------------------------------------------------------------------------------------------
// Response types and modes
// ---------------------------------------------------------------------------------------------

/// A `response_type` value: a set of `code`, `token`, `id_token` (order-insensitive, OAuth 2.0
/// Multiple Response Type Encoding Practices). Only [`ResponseType::Code`] and
/// [`ResponseType::Token`] are implemented here; the OpenID Connect types parse so that they
/// can be routed (and refused with `unsupported_response_type` until OIDC issues them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// RFC 6749 §4.1: authorization code.
    Code,
    /// RFC 6749 §4.2: implicit grant, access token in the fragment.
    Token,
    /// OIDC implicit: ID token only.
    IdToken,
    /// OIDC implicit: ID token and access token.
    IdTokenToken,
    /// OIDC hybrid.
    CodeIdToken,
    /// OIDC hybrid.
    CodeToken,
    /// OIDC hybrid.
    CodeIdTokenToken,
}

impl ResponseType {
    /// Parse a space-separated set; `None` for anything unknown (`unsupported_response_type`).
    pub fn parse(value: &str) -> Option<ResponseType> {
        let (mut code, mut token, mut id_token) = (false, false, false);
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            let seen = match word {
                "code" => &mut code,
                "token" => &mut token,
                "id_token" => &mut id_token,
                _ => return None,
            };
            if *seen {
                return None;
            }
            *seen = true;
        }
        match (code, id_token, token) {
            (true, false, false) => Some(ResponseType::Code),
            (false, false, true) => Some(ResponseType::Token),
            (false, true, false) => Some(ResponseType::IdToken),
            (false, true, true) => Some(ResponseType::IdTokenToken),
            (true, true, false) => Some(ResponseType::CodeIdToken),
            (true, false, true) => Some(ResponseType::CodeToken),
            (true, true, true) => Some(ResponseType::CodeIdTokenToken),
            (false, false, false) => None,
        }
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Code => "code",
            ResponseType::Token => "token",
            ResponseType::IdToken => "id_token",
            ResponseType::IdTokenToken => "id_token token",
            ResponseType::CodeIdToken => "code id_token",
            ResponseType::CodeToken => "code token",
            ResponseType::CodeIdTokenToken => "code id_token token",
        }
    }

    pub fn issues_code(self) -> bool {
        matches!(
            self,
            ResponseType::Code
                | ResponseType::CodeIdToken
                | ResponseType::CodeToken
                | ResponseType::CodeIdTokenToken
        )
    }

    pub fn issues_access_token(self) -> bool {
        matches!(
            self,
            ResponseType::Token
                | ResponseType::IdTokenToken
                | ResponseType::CodeToken
                | ResponseType::CodeIdTokenToken
        )
    }

    pub fn issues_id_token(self) -> bool {
        matches!(
            self,
            ResponseType::IdToken
                | ResponseType::IdTokenToken
                | ResponseType::CodeIdToken
                | ResponseType::CodeIdTokenToken
        )
    }

    /// DOT §2.1: the application grant types that may use this response type.
    pub fn allowed_grant_types(self) -> &'static [GrantType] {
        match self {
            ResponseType::Code => &[GrantType::AuthorizationCode],
            ResponseType::Token | ResponseType::IdToken | ResponseType::IdTokenToken => {
                &[GrantType::Implicit]
            }
            ResponseType::CodeIdToken
            | ResponseType::CodeToken
            | ResponseType::CodeIdTokenToken => &[GrantType::OpenIdHybrid],
        }
    }

    /// Where responses go by default: the query for `code`, the fragment for every type that
    /// returns tokens from this endpoint (they must never be sent to a server in a query).
    pub fn default_mode(self) -> ResponseMode {
        if self == ResponseType::Code {
            ResponseMode::Query
        } else {
            ResponseMode::Fragment
        }
    }

    /// Implemented by this module (the OIDC types arrive with OpenID Connect).
    pub fn is_implemented(self) -> bool {
        matches!(self, ResponseType::Code | ResponseType::Token)
    }
}

impl std::fmt::Display for ResponseType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How response parameters travel back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
}

impl ResponseMode {
    /// The mode for `response_type` given an explicit `response_mode` parameter: `query` and
    /// `fragment` are honoured, except that tokens never go in a query; anything else
    /// (`form_post` included) falls back to the default, as oauthlib does.
    fn choose(response_type: ResponseType, requested: Option<&str>) -> ResponseMode {
        match requested {
            Some("fragment") => ResponseMode::Fragment,
            Some("query") if response_type == ResponseType::Code => ResponseMode::Query,
            _ => response_type.default_mode(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Prompt
// ---------------------------------------------------------------------------------------------

/// The OIDC `prompt` parameter as a set (unknown values are ignored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
    pub create: bool,
}

impl Prompt {
    pub fn parse(value: &str) -> Prompt {
        let mut p = Prompt::default();
        for word in value.split(' ') {
            match word {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                "create" => p.create = true,
                _ => {}
            }
        }
        p
    }

    fn others_than_none(self) -> bool {
        self.login || self.consent || self.select_account || self.create
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why an authorization request failed, and where the answer goes.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizationError {
    /// The client or its redirect URI cannot be trusted: show an error page, never redirect.
    #[error("fatal authorization error: {0}")]
    Fatal(OAuthError),
    /// Send the error to the client's (validated) redirect URI.
    #[error("authorization error for the client: {error}")]
    Redirect {
        redirect_uri: String,
        error: OAuthError,
        state: Option<String>,
        mode: ResponseMode,
        /// RFC 9207 `iss`, when `compliant_bcp_rfc9700_authz_response_iss` is on.
        iss: Option<String>,
    },
}

impl AuthorizationError {
    /// The `Location` of a redirected error (RFC 6749 §4.1.2.1 / §4.2.2.1); `None` if fatal.
    pub fn location(&self) -> Option<String> {
        match self {
            AuthorizationError::Fatal(_) => None,
            AuthorizationError::Redirect {
                redirect_uri,
                error,
                state,
                mode,
                iss,
            } => {
                let mut params: Vec<(&str, &str)> = vec![("error", error.code.as_str())];
                if let Some(d) = &error.description {
                    params.push(("error_description", d));
                }
                if let Some(s) = state {
                    params.push(("state", s));
                }
                if let Some(i) = iss {
                    params.push(("iss", i));
                }
                Some(redirect_location(redirect_uri, *mode, &params))
            }
        }
    }

    /// The protocol error itself.
    pub fn error(&self) -> &OAuthError {
        match self {
            AuthorizationError::Fatal(e) => e,
            AuthorizationError::Redirect { error, .. } => error,
        }
    }

    /// DOT's `url` template variable for a fatal error: `?error=…&error_description=…`.
    pub fn fatal_query(&self) -> String {
        let e = self.error();
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("error", e.code.as_str());
        if let Some(d) = &e.description {
            s.append_pair("error_description", d);
        }
        format!("?{}", s.finish())
    }
}

fn fatal(description: &str) -> AuthorizationError {
    AuthorizationError::Fatal(OAuthError::invalid_request(description))
}

// ---------------------------------------------------------------------------------------------
// The validated request
// ---------------------------------------------------------------------------------------------

/// A request that passed [`validate`]: everything the consent page shows and the approval
/// needs.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub application: Application,
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    /// The URI the response goes to: the requested one, or the single registered one.
    pub redirect_uri: String,
    /// The resolved scopes (the defaults when none were requested).
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<CodeChallengeMethod>,
    pub nonce: Option<String>,
    /// The OIDC `claims` request as sent (a JSON object).
    pub claims: Option<String>,
    pub prompt: Prompt,
    pub approval_prompt: ApprovalPrompt,
    /// RFC 9207 issuer to add to responses, when configured.
    pub iss: Option<String>,
}

impl AuthorizationRequest {
    /// The scope string (space-joined).
    pub fn scope(&self) -> String {
        join_scopes(&self.scopes)
    }

    /// An error for this request's client, in this request's response mode.
    pub fn error_redirect(&self, error: OAuthError) -> AuthorizationError {
        AuthorizationError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            state: self.state.clone(),
            mode: self.response_mode,
            iss: self.iss.clone(),
        }
    }

    /// The hidden fields of the consent form (DOT's `AllowForm`), in DOT's order. Absent
    /// values are empty strings.
    pub fn form_fields(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", self.scope()),
            ("nonce", opt(&self.nonce)),
            ("client_id", self.application.client_id.clone()),
            ("state", opt(&self.state)),
            ("response_type", self.response_type.as_str().to_string()),
            ("code_challenge", opt(&self.code_challenge)),
            (
                "code_challenge_method",
                self.code_challenge_method
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default(),
            ),
            ("claims", opt(&self.claims)),
        ]
    }

    /// `(scope, description)` for the consent page (DOT's `scopes_descriptions`).
    pub fn scope_descriptions(&self, settings: &Settings) -> Vec<(String, String)> {
        let all = settings.scopes();
        self.scopes
            .iter()
            .map(|s| (s.clone(), all.get(s).cloned().unwrap_or_else(|| s.clone())))
            .collect()
    }
}

/// The issuer named in authorization responses (RFC 9207): `oidc_iss_endpoint` when set,
/// else the public base URL followed by the endpoints' prefix.
pub fn response_issuer(settings: &Settings) -> String {
    if !settings.oidc_iss_endpoint.is_empty() {
        return settings.oidc_iss_endpoint.clone();
    }
    format!(
        "{}{}",
        settings.base_url().trim_end_matches('/'),
        settings.url_prefix
    )
}

fn configured_iss(settings: &Settings) -> Option<String> {
    settings
        .compliant_bcp_rfc9700_authz_response_iss
        .then(|| response_issuer(settings))
}

/// RFC 3986 §3.1: `scheme ":"` with `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_absolute_uri(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

async fn load_client(ctx: &Ctx<'_>, client_id: &str) -> Result<Application, AuthorizationError> {
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

fn resolve_redirect_uri(
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
    if !response_type.is_implemented() {
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
        && ctx.settings.compliant_bcp_rfc9700_implicit_grant
    {
        return Err(to_client(
            OAuthError::new(ErrorCode::UnauthorizedClient).with_description(
                "The implicit grant is disabled (RFC 9700 section 2.1.2); use the authorization code flow with PKCE.",
            ),
        ));
    }

    // Every other parameter read once; a repeated one is a redirected invalid_request.
    let one = |name: &str| params.single(name).map_err(&to_client);

    // 5: PKCE (RFC 7636 §4.3–4.4).
    let (mut code_challenge, mut code_challenge_method) = (None, None);
    if response_type.issues_code() {
        let challenge = one("code_challenge")?;
        let method = one("code_challenge_method")?;
        match challenge {
            None if ctx.settings.pkce_required => {
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
                    && ctx.settings.compliant_bcp_rfc9700_pkce_method
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
    let scopes = scopes::resolve_requested(ctx.settings, single("scope")).map_err(&to_client)?;

    let nonce = one("nonce")?;
    if let Some(n) = nonce {
        if n.chars().count() > MAX_NONCE_LENGTH || n.chars().any(char::is_control) {
            return Err(to_client(OAuthError::invalid_request(
                "Invalid nonce parameter.",
            )));
        }
    }
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
        None => ctx.settings.request_approval_prompt,
        Some("auto") => ApprovalPrompt::Auto,
        Some(_) => ApprovalPrompt::Force,
    };

    Ok(AuthorizationRequest {
        application,
        response_type,
        response_mode: mode,
        redirect_uri: redirect_uri.clone(),
        scopes,
        state: state.clone(),
        code_challenge,
        code_challenge_method,
        nonce: nonce.map(str::to_owned),
        claims: claims.map(str::to_owned),
        prompt,
        approval_prompt,
        iss: iss.clone(),
    })
}

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
        strip_prompt: bool,
        reauthenticate: bool,
    },
    /// Ask the user (render the consent page).
    Consent(Box<AuthorizationRequest>),
    /// Redirect the user agent to this location (the client's redirect URI).
    Redirect(String),
}

/// The GET side of the endpoint for the user `user_id` (`None`: nobody is logged in),
/// following `dot-features.md` §1.1 and §5.5 with the RFC's answer for `prompt=none`.
pub async fn authorize(
    ctx: &Ctx<'_>,
    params: &Params,
    user_id: Option<Id>,
) -> Result<Next, AuthorizationError> {
    let Some(user_id) = user_id else {
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
    if request.prompt.login {
        return Ok(Next::Login {
            strip_prompt: true,
            reauthenticate: true,
        });
    }
    if auto_approved(ctx, &request, user_id).await? {
        return approve(ctx, &request, user_id).await.map(Next::Redirect);
    }
    if request.prompt.none {
        // No user interaction allowed (OIDC Core §3.1.2.1), so no consent page (DOT §13 #2).
        return Err(request.error_redirect(OAuthError::new(ErrorCode::ConsentRequired)));
    }
    Ok(Next::Consent(Box::new(request)))
}

/// May this request be granted without asking? `skip_authorization` applications always;
/// with `approval_prompt=auto`, when the user already holds a live token for the application
/// covering every requested scope (DOT's rule, §13 #15). `prompt=consent` always asks.
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
    if request.approval_prompt != ApprovalPrompt::Auto {
        return Ok(false);
    }
    let tokens = ctx
        .store
        .list_live_access_tokens(user_id, request.application.id, ctx.now)
        .await
        .map_err(|e| request.error_redirect(OAuthError::from(e)))?;
    Ok(tokens
        .iter()
        .any(|t| scopes::allow_scopes(&t.scope, &request.scopes)))
}

/// The consent POST: validate the form again (nothing in it is trusted), then approve when
/// `allow`, else answer `access_denied`. Returns the `Location` for the client.
pub async fn decide(
    ctx: &Ctx<'_>,
    params: &Params,
    user_id: Id,
    allow: bool,
) -> Result<String, AuthorizationError> {
    let request = validate(ctx, params).await?;
    if allow {
        approve(ctx, &request, user_id).await
    } else {
        tracing::info!(client_id = %request.application.client_id, user_id, "authorization denied by the user");
        Err(deny(&request))
    }
}

/// The user refused: `access_denied` (+ `state`) for the client.
pub fn deny(request: &AuthorizationRequest) -> AuthorizationError {
    request.error_redirect(OAuthError::new(ErrorCode::AccessDenied))
}

/// Issue what the response type asks for and return the success `Location`: a code in the
/// query (RFC 6749 §4.1.2) or an access token in the fragment (§4.2.2, no refresh token).
pub async fn approve(
    ctx: &Ctx<'_>,
    request: &AuthorizationRequest,
    user_id: Id,
) -> Result<String, AuthorizationError> {
    let app = &request.application;
    let mut params: Vec<(&str, String)> = Vec::new();
    match request.response_type {
        ResponseType::Code => {
            let code = generate_token();
            let expires_in =
                i64::try_from(ctx.settings.authorization_code_expire_seconds).unwrap_or(i64::MAX);
            let grant = NewGrant {
                user_id,
                code: code.clone(),
                application_id: app.id,
                expires: ctx.now.saturating_add(Duration::seconds(expires_in)),
                redirect_uri: request.redirect_uri.clone(),
                scope: request.scope(),
                code_challenge: request.code_challenge.clone().unwrap_or_default(),
                code_challenge_method: request.code_challenge_method,
                nonce: request.nonce.clone().unwrap_or_default(),
                claims: request.claims.clone().unwrap_or_else(|| "{}".to_string()),
                token_family: Uuid::new_v4(),
            };
            ctx.store
                .create_grant(grant, ctx.now)
                .await
                .map_err(|e| store_failure(request, e))?;
            tracing::info!(client_id = %app.client_id, user_id, scope = %request.scope(), "authorization code issued");
            params.push(("code", code));
        }
        ResponseType::Token => {
            let token = issue(
                ctx,
                Issue {
                    application: app,
                    user_id: Some(user_id),
                    scope: request.scope(),
                    family: None,
                    with_refresh_token: false,
                },
            )
            .await
            .map_err(|e| {
                tracing::error!(error = %e, cause = ?e.cause, "implicit grant issuance failed");
                request.error_redirect(strip_cause(e))
            })?;
            params.push(("access_token", token.access_token));
            params.push(("token_type", token.token_type.to_string()));
            params.push(("expires_in", token.expires_in.to_string()));
            params.push(("scope", token.scope));
        }
        other => {
            return Err(request.error_redirect(
                OAuthError::new(ErrorCode::UnsupportedResponseType)
                    .with_description(format!("response_type {other} is not supported.")),
            ));
        }
    }
    if let Some(state) = &request.state {
        params.push(("state", state.clone()));
    }
    if let Some(iss) = &request.iss {
        params.push(("iss", iss.clone()));
    }
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(redirect_location(
        &request.redirect_uri,
        request.response_mode,
        &pairs,
    ))
}

fn store_failure(request: &AuthorizationRequest, e: StoreError) -> AuthorizationError {
    let err = OAuthError::from(e);
    tracing::error!(error = %err, cause = ?err.cause, "cannot store the authorization code");
    request.error_redirect(strip_cause(err))
}

/// The client sees the code and description; the cause has been logged.
fn strip_cause(mut e: OAuthError) -> OAuthError {
    e.cause = None;
    e
}

/// `uri` with `params` form-encoded into its query (a registered query string is kept and
/// the parameters appended with `&`) or into its fragment.
pub fn redirect_location(uri: &str, mode: ResponseMode, params: &[(&str, &str)]) -> String {
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut out = String::with_capacity(uri.len() + encoded.len() + 1);
    out.push_str(uri);
    match mode {
        ResponseMode::Fragment => out.push('#'),
        ResponseMode::Query => {
            if !uri.contains('?') {
                out.push('?');
            } else if !(uri.ends_with('?') || uri.ends_with('&')) {
                out.push('&');
            }
        }
    }
    out.push_str(&encoded);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_types_parse_as_sets() {
        assert_eq!(ResponseType::parse("code"), Some(ResponseType::Code));
        assert_eq!(ResponseType::parse("token"), Some(ResponseType::Token));
        assert_eq!(
            ResponseType::parse("token id_token"),
            Some(ResponseType::IdTokenToken)
        );
        assert_eq!(
            ResponseType::parse("id_token  code"),
            Some(ResponseType::CodeIdToken)
        );
        assert_eq!(ResponseType::parse("code code"), None);
        assert_eq!(ResponseType::parse("WRONG"), None);
        assert_eq!(ResponseType::parse(""), None);
        assert_eq!(ResponseType::parse("none"), None);
        assert_eq!(ResponseType::Code.default_mode(), ResponseMode::Query);
        assert_eq!(ResponseType::Token.default_mode(), ResponseMode::Fragment);
        assert_eq!(
            ResponseMode::choose(ResponseType::Token, Some("query")),
            ResponseMode::Fragment
        );
        assert_eq!(
            ResponseMode::choose(ResponseType::Code, Some("fragment")),
            ResponseMode::Fragment
        );
    }

    #[test]
    fn locations_keep_registered_query() {
        let p = [("error", "access_denied"), ("state", "a b&c")];
        assert_eq!(
            redirect_location("http://example.com?foo=bar", ResponseMode::Query, &p),
            "http://example.com?foo=bar&error=access_denied&state=a+b%26c"
        );
        assert_eq!(
            redirect_location("http://example.org", ResponseMode::Query, &p),
            "http://example.org?error=access_denied&state=a+b%26c"
        );
        assert_eq!(
            redirect_location("http://example.org/cb?", ResponseMode::Query, &p[..1]),
            "http://example.org/cb?error=access_denied"
        );
        assert_eq!(
            redirect_location("http://example.org?x=1", ResponseMode::Fragment, &p[..1]),
            "http://example.org?x=1#error=access_denied"
        );
    }

    #[test]
    fn prompt_sets() {
        let p = Prompt::parse("login  consent bogus");
        assert!(p.login && p.consent && !p.none);
        assert!(Prompt::parse("none").none);
        assert!(!Prompt::parse("none").others_than_none());
    }

    #[test]
    fn absolute_uris() {
        assert!(is_absolute_uri("http://x"));
        assert!(is_absolute_uri("com.example.app:/cb"));
        assert!(!is_absolute_uri("/../"));
        assert!(!is_absolute_uri("1http://x"));
        assert!(!is_absolute_uri(""));
    }
}
