//! Minting access and refresh tokens (the one place token rows are made).

use serde::Serialize;
use time::Duration;
use uuid::Uuid;

use crate::context::Ctx;
use crate::error::OAuthError;
use crate::hooks::TokenKind;
use crate::models::{stored_token, Application, Id, NewAccessToken, NewRefreshToken};
use crate::store::NewTokenPair;

/// RFC 6749 §5.1 successful token response.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// The new access token's plaintext value.
    pub access_token: String,
    /// The access token's lifetime in seconds.
    pub expires_in: i64,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The new refresh token's plaintext value, when one was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The signed ID token (a JWT), when OpenID Connect issued one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let TokenResponse {
            access_token,
            expires_in,
            token_type,
            scope,
            refresh_token,
            id_token,
        } = self;
        f.debug_struct("TokenResponse")
            .field("access_token", &crate::redact::Redacted(access_token))
            .field("expires_in", expires_in)
            .field("token_type", token_type)
            .field("scope", scope)
            .field(
                "refresh_token",
                &crate::redact::RedactedOption(refresh_token.as_deref()),
            )
            .field(
                "id_token",
                &crate::redact::RedactedOption(id_token.as_deref()),
            )
            .finish()
    }
}

/// What to issue.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    /// The application the tokens are for.
    pub application: &'a Application,
    /// The user they act for; `None` for client credentials (no refresh token then).
    pub user_id: Option<Id>,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The family of the consent or chain this issuance belongs to (a new one if `None`).
    pub family: Option<Uuid>,
    /// Whether to issue a refresh token too (only with a user).
    pub with_refresh_token: bool,
    /// The resources (RFC 8707, stored form) the access token is bound to; empty: none.
    pub resource: String,
    /// The resources of the refresh token: those of the grant, which a narrower access
    /// token does not shrink (a later refresh may ask for any of them again).
    pub refresh_resource: String,
}

/// Plaintext values and the rows to write for them.
pub struct Minted {
    /// The access token's plaintext value, handed to the client once.
    pub access_token: String,
    /// The refresh token's plaintext value, when one is issued.
    pub refresh_token: Option<String>,
    /// The rows to write (digests, or plaintext where configured).
    pub pair: NewTokenPair,
    /// The access token's lifetime in seconds.
    pub expires_in: i64,
}

/// Generate values and build the rows (nothing written yet).
pub fn mint(ctx: &Ctx<'_>, issue: &Issue<'_>) -> Minted {
    let tokens = &ctx.hooks.tokens;
    let app = Some(issue.application);
    mint_values(ctx, issue, tokens.generate(TokenKind::Access, app), || {
        tokens.generate(TokenKind::Refresh, app)
    })
}

/// [`mint`] with given values (a refresh's derived successors, see
/// [`crate::token_derivation`]).
pub fn mint_successors(
    ctx: &Ctx<'_>,
    issue: &Issue<'_>,
    values: crate::token_derivation::SuccessorValues,
) -> Minted {
    let refresh = values.refresh_token;
    mint_values(ctx, issue, values.access_token, move || refresh)
}

fn mint_values(
    ctx: &Ctx<'_>,
    issue: &Issue<'_>,
    access_token: String,
    refresh_value: impl FnOnce() -> String,
) -> Minted {
    let store_plaintext = !ctx.settings.provider.compliant_bcp_rfc9700_token_storage;
    let expires_in =
        i64::try_from(ctx.settings.provider.access_token_expire_seconds).unwrap_or(i64::MAX);
    let family = issue
        .family
        .or_else(|| issue.with_refresh_token.then(Uuid::new_v4));
    let (column, checksum) = stored_token(&access_token, store_plaintext);
    let access = NewAccessToken {
        user_id: issue.user_id,
        source_refresh_token_id: None,
        token: column,
        token_checksum: checksum,
        id_token_id: None,
        application_id: Some(issue.application.id),
        // Saturating: no setting value can make issuance panic.
        expires: ctx.now.saturating_add(Duration::seconds(expires_in)),
        scope: issue.scope.clone(),
        resource: issue.resource.clone(),
        token_family: family,
    };
    let (refresh_token, refresh) = match (issue.with_refresh_token, issue.user_id) {
        (true, Some(user_id)) => {
            let value = refresh_value();
            let (column, checksum) = stored_token(&value, store_plaintext);
            (
                Some(value),
                Some(NewRefreshToken {
                    user_id,
                    token: column,
                    token_checksum: checksum,
                    application_id: issue.application.id,
                    access_token_id: None,
                    token_family: family,
                    resource: issue.refresh_resource.clone(),
                }),
            )
        }
        _ => (None, None),
    };
    Minted {
        access_token,
        refresh_token,
        pair: NewTokenPair { access, refresh },
        expires_in,
    }
}

impl Minted {
    /// The token response for these values, reporting `scope` as granted.
    pub fn response(self, scope: String) -> TokenResponse {
        TokenResponse {
            access_token: self.access_token,
            expires_in: self.expires_in,
            token_type: "Bearer",
            scope,
            refresh_token: self.refresh_token,
            id_token: None,
        }
    }
}

/// Mint and write in one transaction.
pub async fn issue(ctx: &Ctx<'_>, issue: Issue<'_>) -> Result<TokenResponse, OAuthError> {
    let minted = mint(ctx, &issue);
    ctx.store.issue_tokens(minted.pair.clone(), ctx.now).await?;
    tracing::info!(
        client_id = %issue.application.client_id,
        user_id = ?issue.user_id,
        scope = %crate::redact::Sanitized(&issue.scope),
        refresh = minted.refresh_token.is_some(),
        "tokens issued"
    );
    Ok(minted.response(issue.scope))
}
