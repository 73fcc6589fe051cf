//! ID tokens (OIDC Core §2, §3.1.3.6, §3.2.2.10, §3.3.2.11, §12.2): claims, the
//! `at_hash`/`c_hash` half-hashes, signing, the IDToken record linked to the access token
//! issued with it, and the fail-closed verification of ID tokens this provider issued
//! (`id_token_hint`).
//!
//! Which key signs: an application with `algorithm = HS256` gets an HMAC with its plaintext
//! client secret; `RS256` the newest RSA key; no algorithm (`""`) the newest key of
//! the deployment (RS256 unless an ES256 key was added since).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::claims::{account_claims, ClaimsRequest};
use super::keys::{key_set, KeyAlgorithm};
use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::hooks::{merge_claims, ClaimsTarget};
use crate::issuance::Minted;
use crate::metadata::issuer;
use crate::models::{Algorithm, Application, Id, IdToken, NewIdToken};
use crate::scopes::parse_scopes;
use crate::users::account_by_id;

/// Is an ID token due for this scope? OIDC on and `openid` granted.
pub fn wants_id_token(settings: &crate::Settings, scope: &str) -> bool {
    settings.oidc.oidc_enabled && parse_scopes(scope).iter().any(|s| s == "openid")
}

/// `at_hash` / `c_hash` (OIDC Core §3.1.3.6, §3.3.2.11): base64url of the left half of the
/// SHA-256 of the ASCII value (every algorithm used here hashes with SHA-256).
pub fn half_hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// What an ID token says, besides the user's claims.
#[derive(Clone, Default)]
pub struct IdTokenSpec<'a> {
    /// The provider's user row of the user the token is about (its subject is resolved from
    /// it).
    pub user_id: Id,
    /// The granted scopes, space-separated (they decide which claims are released).
    pub scope: &'a str,
    /// The `nonce` of the authentication request, echoed as the `nonce` claim.
    pub nonce: Option<&'a str>,
    /// When the user really authenticated.
    pub auth_time: Option<OffsetDateTime>,
    /// The session id (`sid` claim), when known.
    pub sid: Option<&'a str>,
    /// The access token issued in the same response (`at_hash`).
    pub access_token: Option<&'a str>,
    /// The code issued in the same response (`c_hash`).
    pub code: Option<&'a str>,
    /// The `claims` request (JSON object), stored for userinfo.
    pub claims_request: Option<&'a str>,
}

impl std::fmt::Debug for IdTokenSpec<'_> {
    // The access token and code it hashes print as "***".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::redact::RedactedOption;
        let IdTokenSpec {
            user_id,
            scope,
            nonce,
            auth_time,
            sid,
            access_token,
            code,
            claims_request,
        } = self;
        f.debug_struct("IdTokenSpec")
            .field("user_id", user_id)
            .field("scope", scope)
            .field("nonce", nonce)
            .field("auth_time", auth_time)
            .field("sid", sid)
            .field("access_token", &RedactedOption(*access_token))
            .field("code", &RedactedOption(*code))
            .field("claims_request", claims_request)
            .finish()
    }
}

/// A signed ID token and its record.
#[derive(Clone)]
pub struct SignedIdToken {
    /// The signed token, as sent to the client.
    pub jwt: String,
    /// The record written for it.
    pub row: IdToken,
}

impl std::fmt::Debug for SignedIdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIdToken")
            .field("jwt", &crate::redact::Redacted(&self.jwt))
            .field("row", &self.row)
            .finish()
    }
}

fn server_error(what: &'static str) -> OAuthError {
    OAuthError::server_error(what)
}

/// Build, record and sign an ID token for `application`.
pub async fn create_id_token(
    ctx: &Ctx<'_>,
    application: &Application,
    spec: &IdTokenSpec<'_>,
) -> Result<SignedIdToken, OAuthError> {
    let prepared = prepare_id_token(ctx, application, spec).await?;
    let row = ctx.store.create_id_token(prepared.record, ctx.now).await?;
    tracing::info!(client_id = %application.client_id, user_id = ?row.user_id, "ID token issued");
    Ok(SignedIdToken {
        jwt: prepared.jwt,
        row,
    })
}

/// A signed ID token whose record is not written yet (the caller writes it together with
/// the tokens issued beside it).
#[derive(Debug, Clone)]
pub struct PreparedIdToken {
    /// The signed token, as it will be sent.
    pub jwt: String,
    /// The record to write for it.
    pub record: NewIdToken,
}

/// Build and sign an ID token for `application`, without writing anything.
pub async fn prepare_id_token(
    ctx: &Ctx<'_>,
    application: &Application,
    spec: &IdTokenSpec<'_>,
) -> Result<PreparedIdToken, OAuthError> {
    let account = account_by_id(ctx, spec.user_id)
        .await?
        .ok_or_else(|| server_error("the ID token's user does not exist"))?;
    let scopes = parse_scopes(spec.scope);
    let request = ClaimsRequest::parse(spec.claims_request);
    let lifetime = i64::try_from(ctx.settings.oidc.id_token_expire_seconds).unwrap_or(i64::MAX);
    let expires = ctx.now.saturating_add(Duration::seconds(lifetime));
    let jti = Uuid::new_v4();

    let mut claims: Map<String, Value> = account_claims(&account, &scopes, &request.id_token);
    let extra = ctx
        .hooks
        .claims
        .additional_claims(&account, Some(application), &scopes, ClaimsTarget::IdToken)
        .await;
    merge_claims(&mut claims, extra);
    claims.insert("iss".into(), issuer(ctx.settings).into());
    claims.insert("aud".into(), application.client_id.clone().into());
    claims.insert("iat".into(), ctx.now.unix_timestamp().into());
    claims.insert("exp".into(), expires.unix_timestamp().into());
    claims.insert("jti".into(), jti.to_string().into());
    if let Some(t) = spec.auth_time {
        claims.insert("auth_time".into(), t.unix_timestamp().into());
    }
    if let Some(n) = spec.nonce.filter(|n| !n.is_empty()) {
        claims.insert("nonce".into(), n.into());
    }
    if let Some(at) = spec.access_token {
        claims.insert("at_hash".into(), half_hash(at).into());
    }
    if let Some(code) = spec.code {
        claims.insert("c_hash".into(), half_hash(code).into());
    }
    if let Some(sid) = spec.sid.filter(|s| !s.is_empty()) {
        claims.insert("sid".into(), sid.into());
    }

    let jwt = sign(ctx, application, &claims).await?;
    let record = NewIdToken {
        user_id: Some(spec.user_id),
        application_id: Some(application.id),
        jti,
        expires,
        scope: spec.scope.to_string(),
        auth_time: spec.auth_time,
        sid: spec.sid.unwrap_or_default().to_string(),
        claims: spec
            .claims_request
            .filter(|c| !c.is_empty())
            .unwrap_or("{}")
            .to_string(),
    };
    Ok(PreparedIdToken { jwt, record })
}

/// Sign `claims` with the application's key.
async fn sign(
    ctx: &Ctx<'_>,
    application: &Application,
    claims: &Map<String, Value>,
) -> Result<String, OAuthError> {
    let (header, key) = match application.algorithm {
        Algorithm::HS256 => {
            if application.hash_client_secret || application.client_secret.is_empty() {
                // Refused at registration; an edited row must not sign with a hash.
                return Err(server_error(
                    "HS256 application without a plaintext client secret",
                ));
            }
            (
                Header::new(jsonwebtoken::Algorithm::HS256),
                EncodingKey::from_secret(application.client_secret.as_bytes()),
            )
        }
        Algorithm::RS256 | Algorithm::None => {
            let want = (application.algorithm == Algorithm::RS256).then_some(KeyAlgorithm::RS256);
            let set = key_set(ctx).await?;
            let key = set
                .signing_key(want)
                .ok_or_else(|| server_error("no signing key for the application's algorithm"))?;
            let mut header = Header::new(key.algorithm.jose());
            header.kid = Some(key.kid.clone());
            return jsonwebtoken::encode(&with_typ(header), claims, &key.encoding)
                .map_err(OAuthError::server_error);
        }
    };
    jsonwebtoken::encode(&with_typ(header), claims, &key).map_err(OAuthError::server_error)
}

fn with_typ(mut h: Header) -> Header {
    h.typ = Some("JWT".into());
    h
}

/// Issue an ID token alongside `minted` (before it is written): the record is created, the
/// access token linked to it, and the JWT returned for the response.
pub async fn attach_id_token(
    ctx: &Ctx<'_>,
    application: &Application,
    minted: &mut Minted,
    spec: IdTokenSpec<'_>,
) -> Result<String, OAuthError> {
    let access_token = minted.access_token.clone();
    let spec = IdTokenSpec {
        access_token: Some(&access_token),
        ..spec
    };
    let signed = create_id_token(ctx, application, &spec).await?;
    minted.pair.access.id_token_id = Some(signed.row.id);
    Ok(signed.jwt)
}

/// An ID token of this provider that passed verification.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    /// Every claim of the token.
    pub claims: Map<String, Value>,
    /// The audience application.
    pub application: Application,
    /// Its record, when it still exists (it goes when tokens are revoked or logged out).
    pub row: Option<IdToken>,
}

impl VerifiedIdToken {
    /// `sub` as a user id.
    pub fn user_id(&self) -> Option<Id> {
        self.claims.get("sub")?.as_str()?.parse().ok()
    }
}

fn invalid_hint() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest)
        .with_description("The ID Token is expired, revoked, malformed, or otherwise invalid.")
}

/// The claims of a JWS without verifying it (only to find the audience and its key).
fn peek_claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn single_audience(claims: &Map<String, Value>) -> Option<String> {
    match claims.get("aud")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if a.len() == 1 => a[0].as_str().map(str::to_owned),
        _ => None,
    }
}

/// Verify an ID token this provider issued (an `id_token_hint`), failing closed: the
/// algorithm is the one the audience application is registered for — never the one the
/// token names — so `alg: none`, an HMAC keyed with a public key, or an unknown `kid` are
/// refused; the signature, `iss` and `aud` are checked; `exp` unless `accept_expired`.
pub async fn verify_id_token(
    ctx: &Ctx<'_>,
    token: &str,
    accept_expired: bool,
) -> Result<VerifiedIdToken, OAuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid_hint())?;
    let peeked = peek_claims(token).ok_or_else(invalid_hint)?;
    let client_id = single_audience(&peeked).ok_or_else(invalid_hint)?;
    let application = ctx
        .store
        .find_application_by_client_id(&client_id)
        .await
        .ok()
        .flatten()
        .ok_or_else(invalid_hint)?;

    let (algorithm, key): (jsonwebtoken::Algorithm, DecodingKey) = match application.algorithm {
        Algorithm::HS256 => {
            if application.hash_client_secret || application.client_secret.is_empty() {
                return Err(invalid_hint());
            }
            (
                jsonwebtoken::Algorithm::HS256,
                DecodingKey::from_secret(application.client_secret.as_bytes()),
            )
        }
        Algorithm::RS256 | Algorithm::None => {
            let kid = header.kid.as_deref().ok_or_else(invalid_hint)?;
            let set = key_set(ctx).await?;
            let key = set.by_kid(kid).ok_or_else(invalid_hint)?;
            if application.algorithm == Algorithm::RS256 && key.algorithm != KeyAlgorithm::RS256 {
                return Err(invalid_hint());
            }
            (key.algorithm.jose(), key.decoding.clone())
        }
    };
    if header.alg != algorithm {
        return Err(invalid_hint());
    }
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&[client_id.as_str()]);
    validation.set_issuer(&[issuer(ctx.settings)]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_exp = !accept_expired;
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|_| invalid_hint())?;
    let row = match data
        .claims
        .get("jti")
        .and_then(Value::as_str)
        .and_then(|j| Uuid::parse_str(j).ok())
    {
        Some(jti) => ctx.store.find_id_token_by_jti(jti).await?,
        None => None,
    };
    Ok(VerifiedIdToken {
        claims: data.claims,
        application,
        row,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_hash_matches_the_spec_example() {
        // OIDC Core §A.3 / A.4 example values.
        assert_eq!(
            half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(
            half_hash("Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"),
            "LDktKdoQak3Pk0cnXxCltA"
        );
    }

    #[test]
    fn peek_needs_three_parts() {
        assert!(peek_claims("a.b").is_none());
        assert!(peek_claims("a.b.c.d").is_none());
        let body = URL_SAFE_NO_PAD.encode(br#"{"aud":["x"]}"#);
        let c = peek_claims(&format!("e30.{body}.sig")).unwrap();
        assert_eq!(single_audience(&c).as_deref(), Some("x"));
    }
}
