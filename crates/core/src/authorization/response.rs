//! Where the answer to the client goes: response types and modes, and the redirect or form it is sent with.

use crate::models::GrantType;

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

    /// Whether this type issues an authorization code.
    pub fn issues_code(self) -> bool {
        matches!(
            self,
            ResponseType::Code
                | ResponseType::CodeIdToken
                | ResponseType::CodeToken
                | ResponseType::CodeIdTokenToken
        )
    }

    /// Whether this type issues an access token from the authorization endpoint.
    pub fn issues_access_token(self) -> bool {
        matches!(
            self,
            ResponseType::Token
                | ResponseType::IdTokenToken
                | ResponseType::CodeToken
                | ResponseType::CodeIdTokenToken
        )
    }

    /// Whether this type issues an ID token from the authorization endpoint.
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
    /// [`validate`](super::validate)).
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
    /// In the query of the redirect URI.
    Query,
    /// In the fragment of the redirect URI, never sent to the client's server by the browser.
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
    pub(super) fn choose(response_type: ResponseType, requested: Option<&str>) -> ResponseMode {
        match requested {
            Some("form_post") => ResponseMode::FormPost,
            Some("fragment") => ResponseMode::Fragment,
            Some("query") if response_type == ResponseType::Code => ResponseMode::Query,
            _ => response_type.default_mode(),
        }
    }

    /// The `response_mode` spelling.
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
    /// The client's validated redirect URI.
    pub redirect_uri: String,
    /// How the parameters travel.
    pub mode: ResponseMode,
    /// The response parameters, in order.
    pub params: Vec<(String, String)>,
}

impl ClientResponse {
    pub(super) fn new(
        redirect_uri: &str,
        mode: ResponseMode,
        params: &[(&str, &str)],
    ) -> ClientResponse {
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
