use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use super::Id;
use crate::redirect_uri;
use crate::settings::Settings;

/// RFC 6749 §2.1 client types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    /// Can keep a secret (a server-side application); authenticates at the token endpoint.
    Confidential,
    /// Cannot keep a secret (a browser or native app); identified by its client id only.
    Public,
}

impl ClientType {
    /// The stored value (`confidential` or `public`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }
}

impl FromStr for ClientType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "confidential" => Ok(ClientType::Confidential),
            "public" => Ok(ClientType::Public),
            other => Err(format!(
                "unknown client type `{other}` (expected `confidential` or `public`)"
            )),
        }
    }
}

impl fmt::Display for ClientType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// DOT's `authorization_grant_type` values: the one flow an application may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// RFC 6749 §4.1 authorization code, with OpenID Connect when `openid` is asked for.
    AuthorizationCode,
    /// RFC 6749 §4.2 implicit: tokens straight from the authorization endpoint.
    Implicit,
    /// RFC 6749 §4.3 resource owner password credentials.
    Password,
    /// RFC 6749 §4.4 client credentials: tokens for the application itself.
    ClientCredentials,
    /// OpenID Connect hybrid flow: a code and tokens from the authorization endpoint.
    OpenIdHybrid,
    /// RFC 8628 device authorization.
    DeviceCode,
}

impl GrantType {
    /// Every grant type.
    pub const ALL: [GrantType; 6] = [
        GrantType::AuthorizationCode,
        GrantType::DeviceCode,
        GrantType::Implicit,
        GrantType::Password,
        GrantType::ClientCredentials,
        GrantType::OpenIdHybrid,
    ];

    /// The stored value, as DOT spells it (`authorization-code`, …, the RFC 8628 URN).
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization-code",
            GrantType::Implicit => "implicit",
            GrantType::Password => "password",
            GrantType::ClientCredentials => "client-credentials",
            GrantType::OpenIdHybrid => "openid-hybrid",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    /// Grant types whose flows send the user agent to a redirect URI.
    pub fn uses_redirect(self) -> bool {
        matches!(
            self,
            GrantType::AuthorizationCode | GrantType::Implicit | GrantType::OpenIdHybrid
        )
    }
}

impl FromStr for GrantType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GrantType::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
                format!(
                    "unknown authorization grant type `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ID token signing algorithm of an application (`""` = none chosen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// None chosen: ID tokens are signed with the provider's current key, whatever its algorithm.
    #[default]
    None,
    /// RSA signatures with the provider's current RSA key.
    RS256,
    /// HMAC signatures with the application's plaintext client secret.
    HS256,
}

impl Algorithm {
    /// The stored value (`""`, `RS256` or `HS256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::None => "",
            Algorithm::RS256 => "RS256",
            Algorithm::HS256 => "HS256",
        }
    }
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" => Ok(Algorithm::None),
            "RS256" => Ok(Algorithm::RS256),
            "HS256" => Ok(Algorithm::HS256),
            other => Err(format!(
                "unknown algorithm `{other}` (expected \"\", RS256 or HS256)"
            )),
        }
    }
}

/// A validation failure keyed by field, as DOT's `clean()` reports them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ApplicationError {
    /// The field the problem is with (`client_id`, `redirect_uris`, …).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> ApplicationError {
    ApplicationError {
        field,
        message: message.into(),
    }
}

/// A registered OAuth client.
#[derive(Clone, PartialEq, Eq)]
pub struct Application {
    /// The row id.
    pub id: Id,
    /// The public identifier clients send as `client_id`.
    pub client_id: String,
    /// The user who owns the application; `None` when it has no owner.
    pub user_id: Option<Id>,
    /// The registered redirect URIs, space-separated.
    pub redirect_uris: String,
    /// The registered post-logout redirect URIs (OIDC RP-initiated logout), space-separated.
    pub post_logout_redirect_uris: String,
    /// Whether the application can keep a secret.
    pub client_type: ClientType,
    /// The one grant type the application may use.
    pub authorization_grant_type: GrantType,
    /// The stored secret: a hash when `hash_client_secret`, else the plaintext.
    pub client_secret: String,
    /// Whether `client_secret` holds a hash (`true`) or the plaintext.
    pub hash_client_secret: bool,
    /// The name shown on the consent page; may be empty.
    pub name: String,
    /// Whether users are never asked to consent.
    pub skip_authorization: bool,
    /// How ID tokens for this application are signed.
    pub algorithm: Algorithm,
    /// The origins allowed to call the token endpoint from a browser (CORS), space-separated.
    pub allowed_origins: String,
    /// When the row was written.
    pub created: OffsetDateTime,
    /// When the row was last changed.
    pub updated: OffsetDateTime,
}

impl std::fmt::Debug for Application {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Application {
            id,
            client_id,
            user_id,
            redirect_uris,
            post_logout_redirect_uris,
            client_type,
            authorization_grant_type,
            client_secret,
            hash_client_secret,
            name,
            skip_authorization,
            algorithm,
            allowed_origins,
            created,
            updated,
        } = self;
        f.debug_struct("Application")
            .field("id", id)
            .field("client_id", client_id)
            .field("user_id", user_id)
            .field("redirect_uris", redirect_uris)
            .field("post_logout_redirect_uris", post_logout_redirect_uris)
            .field("client_type", client_type)
            .field("authorization_grant_type", authorization_grant_type)
            .field("client_secret", &crate::redact::Redacted(client_secret))
            .field("hash_client_secret", hash_client_secret)
            .field("name", name)
            .field("skip_authorization", skip_authorization)
            .field("algorithm", algorithm)
            .field("allowed_origins", allowed_origins)
            .field("created", created)
            .field("updated", updated)
            .finish()
    }
}

/// The fields of an application to be saved. `client_secret` is the *stored* form; use
/// [`NewApplication::set_secret`] to hash a plaintext one.
#[derive(Clone)]
pub struct NewApplication {
    /// The public identifier clients send as `client_id`.
    pub client_id: String,
    /// The user who owns the application; `None` for no owner.
    pub user_id: Option<Id>,
    /// The registered redirect URIs, space-separated.
    pub redirect_uris: String,
    /// The registered post-logout redirect URIs, space-separated.
    pub post_logout_redirect_uris: String,
    /// Whether the application can keep a secret.
    pub client_type: ClientType,
    /// The one grant type the application may use.
    pub authorization_grant_type: GrantType,
    /// The stored secret: a hash when `hash_client_secret`, else the plaintext.
    pub client_secret: String,
    /// Whether `client_secret` is stored hashed.
    pub hash_client_secret: bool,
    /// The name shown on the consent page; may be empty.
    pub name: String,
    /// Whether users are never asked to consent.
    pub skip_authorization: bool,
    /// How ID tokens for this application are signed.
    pub algorithm: Algorithm,
    /// The origins allowed to call the token endpoint from a browser (CORS), space-separated.
    pub allowed_origins: String,
}

impl std::fmt::Debug for NewApplication {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let NewApplication {
            client_id,
            user_id,
            redirect_uris,
            post_logout_redirect_uris,
            client_type,
            authorization_grant_type,
            client_secret,
            hash_client_secret,
            name,
            skip_authorization,
            algorithm,
            allowed_origins,
        } = self;
        f.debug_struct("NewApplication")
            .field("client_id", client_id)
            .field("user_id", user_id)
            .field("redirect_uris", redirect_uris)
            .field("post_logout_redirect_uris", post_logout_redirect_uris)
            .field("client_type", client_type)
            .field("authorization_grant_type", authorization_grant_type)
            .field("client_secret", &crate::redact::Redacted(client_secret))
            .field("hash_client_secret", hash_client_secret)
            .field("name", name)
            .field("skip_authorization", skip_authorization)
            .field("algorithm", algorithm)
            .field("allowed_origins", allowed_origins)
            .finish()
    }
}

impl NewApplication {
    /// An application with a generated client id (and, unless given later, an empty secret).
    pub fn new(client_type: ClientType, grant_type: GrantType, settings: &Settings) -> Self {
        Self {
            client_id: crate::generators::generate_client_id(
                settings.provider.client_id_generator_length,
                &settings.provider.client_id_generator_alphabet,
            ),
            user_id: None,
            redirect_uris: String::new(),
            post_logout_redirect_uris: String::new(),
            client_type,
            authorization_grant_type: grant_type,
            client_secret: String::new(),
            hash_client_secret: true,
            name: String::new(),
            skip_authorization: false,
            algorithm: Algorithm::None,
            allowed_origins: String::new(),
        }
    }

    /// Generate a secret per the settings, store it (hashed when `hash_client_secret`) and
    /// return the plaintext, which is shown once.
    pub fn generate_secret(
        &mut self,
        settings: &Settings,
    ) -> Result<String, crate::client_secret::SecretHashError> {
        let plain = crate::generators::generate_client_secret(
            settings.provider.client_secret_generator_length,
            &settings.provider.client_secret_generator_alphabet,
        );
        self.set_secret(&plain, settings)?;
        Ok(plain)
    }

    /// Store `plain` as the secret: hashed when `hash_client_secret` unless it already is a
    /// hash (DOT keeps values that parse as a hash, so hashes can be imported).
    pub fn set_secret(
        &mut self,
        plain: &str,
        settings: &Settings,
    ) -> Result<(), crate::client_secret::SecretHashError> {
        self.client_secret = if self.hash_client_secret && !crate::client_secret::is_hashed(plain) {
            crate::client_secret::hash_client_secret(plain, settings.provider.client_secret_hasher)?
        } else {
            plain.to_string()
        };
        Ok(())
    }

    /// DOT's `Application.clean()`: every problem, keyed by field.
    pub fn validate(&self, settings: &Settings) -> Result<(), Vec<ApplicationError>> {
        let mut errors = Vec::new();
        validate_client_id(&self.client_id, &mut errors);
        if self.name.chars().count() > 255 {
            errors.push(field_error("name", "must be at most 255 characters"));
        }
        if self.client_secret.len() > 255 {
            errors.push(field_error(
                "client_secret",
                "must be at most 255 characters",
            ));
        }
        if has_control(&self.client_secret) {
            errors.push(field_error(
                "client_secret",
                "must not contain control characters",
            ));
        }
        let rules = settings.uri_rules();
        if self.authorization_grant_type.uses_redirect() && self.redirect_uris.trim().is_empty() {
            errors.push(field_error(
                "redirect_uris",
                format!(
                    "redirect_uris cannot be empty with grant_type {}",
                    self.authorization_grant_type
                ),
            ));
        }
        if let Err(list) = redirect_uri::validate_redirect_uris(&self.redirect_uris, &rules) {
            errors.extend(
                list.into_iter()
                    .map(|e| field_error("redirect_uris", e.to_string())),
            );
        }
        if has_control(
            &self
                .post_logout_redirect_uris
                .replace([' ', '\t', '\n', '\r'], ""),
        ) {
            errors.push(field_error(
                "post_logout_redirect_uris",
                "must not contain control characters",
            ));
        }
        if let Err(list) = redirect_uri::validate_origins(
            &self.allowed_origins,
            &settings.provider.allowed_schemes,
            settings.provider.allow_uri_wildcards,
        ) {
            errors.extend(
                list.into_iter()
                    .map(|e| field_error("allowed_origins", e.to_string())),
            );
        }
        if self.algorithm == Algorithm::HS256 {
            if self.client_type == ClientType::Public {
                errors.push(field_error(
                    "algorithm",
                    "You cannot use HS256 with public grants or clients",
                ));
            }
            if matches!(
                self.authorization_grant_type,
                GrantType::Implicit | GrantType::OpenIdHybrid
            ) {
                errors.push(field_error(
                    "algorithm",
                    "You cannot use HS256 with implicit or hybrid grants",
                ));
            }
            if self.hash_client_secret {
                errors.push(field_error(
                    "hash_client_secret",
                    "HS256 signs with the client secret, which must be stored unhashed",
                ));
            }
            if self.client_secret.is_empty() {
                errors.push(field_error("client_secret", "HS256 needs a client secret"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn validate_client_id(client_id: &str, errors: &mut Vec<ApplicationError>) {
    if client_id.is_empty() {
        errors.push(field_error("client_id", "must not be empty"));
    } else if client_id.chars().count() > 255 {
        errors.push(field_error("client_id", "must be at most 255 characters"));
    }
    // A colon would break HTTP Basic client authentication (RFC 6749 §2.3.1).
    if client_id.contains(':') {
        errors.push(field_error("client_id", "must not contain `:`"));
    }
    if client_id
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        errors.push(field_error(
            "client_id",
            "must not contain spaces or control characters",
        ));
    }
}

impl Application {
    /// The stored fields as a [`NewApplication`], to check an edit with the same rules as a
    /// registration ([`NewApplication::validate`]).
    pub fn as_new(&self) -> NewApplication {
        NewApplication {
            client_id: self.client_id.clone(),
            user_id: self.user_id,
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            client_type: self.client_type,
            authorization_grant_type: self.authorization_grant_type,
            client_secret: self.client_secret.clone(),
            hash_client_secret: self.hash_client_secret,
            name: self.name.clone(),
            skip_authorization: self.skip_authorization,
            algorithm: self.algorithm,
            allowed_origins: self.allowed_origins.clone(),
        }
    }

    /// DOT's `redirect_uri_allowed`: exact match with the RFC 8252 loopback-port rule.
    pub fn redirect_uri_allowed(&self, uri: &str, settings: &Settings) -> bool {
        redirect_uri::redirect_uri_allowed(uri, &self.redirect_uris, &settings.uri_rules())
    }

    /// DOT's `post_logout_redirect_uri_allowed` (same matching, other list).
    pub fn post_logout_redirect_uri_allowed(&self, uri: &str, settings: &Settings) -> bool {
        redirect_uri::redirect_uri_allowed(
            uri,
            &self.post_logout_redirect_uris,
            &settings.uri_rules(),
        )
    }

    /// DOT's `origin_allowed` for CORS at the token endpoint.
    pub fn origin_allowed(&self, origin: &str, settings: &Settings) -> bool {
        redirect_uri::origin_allowed(
            origin,
            &self.allowed_origins,
            &settings.provider.allowed_schemes,
            settings.provider.allow_uri_wildcards,
        )
    }

    /// DOT's `default_redirect_uri`: the single registered URI, if exactly one.
    pub fn default_redirect_uri(&self) -> Option<&str> {
        redirect_uri::default_redirect_uri(&self.redirect_uris)
    }

    /// DOT's `allows_grant_type(*types)`.
    pub fn allows_grant_type(&self, types: &[GrantType]) -> bool {
        types.contains(&self.authorization_grant_type)
    }

    /// DOT's `is_usable(request)` hook: every stored application is usable; a library user
    /// wraps the store to disable clients.
    pub fn is_usable(&self) -> bool {
        true
    }

    /// Whether it is a confidential client.
    pub fn is_confidential(&self) -> bool {
        self.client_type == ClientType::Confidential
    }

    /// Check a presented secret against the stored one, in constant time.
    pub fn check_secret(&self, presented: &str) -> bool {
        crate::client_secret::verify_client_secret(presented, &self.client_secret)
    }

    /// [`Self::check_secret`] for request handlers: a slow hash (argon2, PBKDF2) runs through
    /// the slow hash gate instead of on the async worker.
    pub async fn check_secret_async(&self, presented: &str) -> bool {
        crate::client_secret::verify_client_secret_async(presented, &self.client_secret).await
    }

    /// What DOT's `__str__` shows: the name, or the client id.
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            &self.client_id
        } else {
            &self.name
        }
    }
}
