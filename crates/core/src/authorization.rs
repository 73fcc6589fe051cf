//! The authorization endpoint (RFC 6749 §3.1, §4.1.1–4.1.2, §4.2.1–4.2.2) as pure steps:
//! validate the request, decide what the user agent sees next, and issue or refuse.
//!
//! Read [`validate`] as the list DOT and oauthlib apply:
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
//! endpoint (RFC 6749 §4.2.2.1; DOT always uses the query), or, with
//! `response_mode=form_post` (OAuth 2.0 Form Post Response Mode), in an auto-submitting form
//! the web layer renders from the [`ClientResponse`].
//!
//! [`authorize`] runs the GET side (login and prompt handling, auto-approval, consent page),
//! [`decide`] the consent POST. Neither knows HTTP: they return locations and decisions.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::generators::generate_token;
use crate::issuance::{issue, mint, Issue};
use crate::models::{Application, CodeChallengeMethod, GrantType, Id, NewGrant};
use crate::oidc::{self, IdTokenSpec};
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

    /// DOT's rule: the application grant types that may use this response type.
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

    /// Implemented: every type (the OpenID Connect ones need `oidc_enabled`, checked in
    /// [`validate`]).
    pub fn is_implemented(self) -> bool {
        true
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
    /// OAuth 2.0 Form Post Response Mode: an HTML form, POSTed to the redirect URI by the
    /// user agent, carries the parameters (never the URL).
    FormPost,
}

impl ResponseMode {
    /// The mode for `response_type` given an explicit `response_mode` parameter: `query`,
    /// `fragment` and `form_post` are honoured, except that tokens never go in a query
    /// (OAuth 2.0 Multiple Response Type Encoding Practices §3.0: `query` with a type that
    /// returns tokens gets the fragment instead); anything else falls back to the default, as
    /// oauthlib does.
    fn choose(response_type: ResponseType, requested: Option<&str>) -> ResponseMode {
        match requested {
            Some("form_post") => ResponseMode::FormPost,
            Some("fragment") => ResponseMode::Fragment,
            Some("query") if response_type == ResponseType::Code => ResponseMode::Query,
            _ => response_type.default_mode(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
        }
    }
}

/// A response for the client (success or error): where it goes, how, and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(String, String)>,
}

impl ClientResponse {
    fn new(redirect_uri: &str, mode: ResponseMode, params: &[(&str, &str)]) -> ClientResponse {
        ClientResponse {
            redirect_uri: redirect_uri.to_string(),
            mode,
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The `Location` to redirect to, for `query` and `fragment`; `None` for `form_post`
    /// (the web layer renders the auto-submitting form instead).
    pub fn location(&self) -> Option<String> {
        if self.mode == ResponseMode::FormPost {
            return None;
        }
        let pairs: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Some(redirect_location(&self.redirect_uri, self.mode, &pairs))
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
    /// The `Location` of a redirected error (RFC 6749 §4.1.2.1 / §4.2.2.1); `None` if fatal
    /// or sent with `form_post` (use [`AuthorizationError::response`]).
    pub fn location(&self) -> Option<String> {
        self.response()?.location()
    }

    /// The error response for the client; `None` if fatal.
    pub fn response(&self) -> Option<ClientResponse> {
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
                Some(ClientResponse::new(redirect_uri, *mode, &params))
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
    /// Whether the request carried `redirect_uri` (RFC 6749 §4.1.3: then the token request
    /// must repeat it).
    pub redirect_uri_requested: bool,
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
    /// OIDC `max_age` (seconds): an older authentication must be repeated.
    pub max_age: Option<i64>,
    /// OIDC `id_token_hint`, as sent (verified by [`authorize`]).
    pub id_token_hint: Option<String>,
}

/// The logged-in user as the authorization endpoint needs to know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndUser {
    pub id: Id,
    /// When the user really authenticated in this session (OIDC `auth_time`).
    pub auth_time: Option<OffsetDateTime>,
    /// The session id (OIDC `sid`).
    pub sid: Option<String>,
}

impl EndUser {
    /// A user known only by id (no session details).
    pub fn id_only(id: Id) -> EndUser {
        EndUser {
            id,
            auth_time: None,
            sid: None,
        }
    }
}

impl AuthorizationRequest {
    /// The `redirect_uri` parameter of the request: empty when it had none (the registered
    /// default is then used). Recorded on the code (RFC 6749 §4.1.3).
    pub fn requested_redirect_uri(&self) -> &str {
        if self.redirect_uri_requested {
            &self.redirect_uri
        } else {
            ""
        }
    }

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

    /// The hidden fields of the consent form (DOT's `AllowForm`), in DOT's order, then the
    /// resolved `response_mode` (so that the decision is answered the way it was asked).
    /// Absent values are empty strings.
    pub fn form_fields(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            // Empty when the request had none, so that the decision is the same request.
            ("redirect_uri", self.requested_redirect_uri().to_string()),
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
            ("response_mode", self.response_mode.as_str().to_string()),
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
    crate::metadata::issuer(settings)
}

fn configured_iss(settings: &Settings) -> Option<String> {
    settings
        .provider
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

trait NoneOrEmpty {
    fn is_none_or_empty(&self) -> bool;
}

impl NoneOrEmpty for Option<&str> {
    fn is_none_or_empty(&self) -> bool {
        self.unwrap_or_default().is_empty()
    }
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
async fn user_may_use(
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
        let issue_spec = Issue {
            application: app,
            user_id: Some(user_id),
            scope: scope.clone(),
            family: None,
            with_refresh_token: false,
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
/// the parameters appended with `&`) or into its fragment. `form_post` has no location: it
/// is given the fragment here, so that a misuse never puts tokens in a query.
pub fn redirect_location(uri: &str, mode: ResponseMode, params: &[(&str, &str)]) -> String {
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut out = String::with_capacity(uri.len() + encoded.len() + 1);
    out.push_str(uri);
    match mode {
        ResponseMode::Fragment | ResponseMode::FormPost => out.push('#'),
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
        assert_eq!(
            ResponseMode::choose(ResponseType::CodeIdToken, Some("query")),
            ResponseMode::Fragment
        );
        for rt in [
            ResponseType::Code,
            ResponseType::CodeIdToken,
            ResponseType::Token,
        ] {
            assert_eq!(
                ResponseMode::choose(rt, Some("form_post")),
                ResponseMode::FormPost
            );
        }
        let r = ClientResponse::new("http://x/cb", ResponseMode::FormPost, &[("code", "c")]);
        assert_eq!(r.location(), None);
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
