//! RFC 6749 §6: refreshing, with DOT's rotation, grace period and reuse protection,
//! made safe under concurrency: the store's rotation is one conditional
//! statement, and a request that loses a race is treated exactly like a replay inside or
//! outside the grace period.

use async_trait::async_trait;
use time::Duration;

use super::GrantHandler;
use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::generators::generate_token;
use crate::issuance::{mint, mint_successors, Issue, TokenResponse};
use crate::models::{
    stored_token, Application, GrantType, NewRefreshToken, RefreshToken, RefreshTokenWithOwners,
};
use crate::oidc::{attach_id_token, create_id_token, wants_id_token, IdTokenSpec};
use crate::params::Params;
use crate::resource_indicators::{narrow, requested};
use crate::scopes::{join_scopes, parse_scopes};
use crate::store::Rotation;
use crate::token_checksum::token_checksum;
use crate::token_derivation::{Successor, SuccessorValues};
use crate::user_status::token_owner_allowed;

/// `grant_type=refresh_token` (RFC 6749 §6): new tokens for a refresh token.
pub struct RefreshTokenGrant;

fn invalid_grant() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant).with_description("Invalid refresh token.")
}

#[async_trait]
impl GrantHandler for RefreshTokenGrant {
    fn grant_type(&self) -> &'static str {
        "refresh_token"
    }

    fn allowed_for(&self) -> &'static [GrantType] {
        &[
            GrantType::AuthorizationCode,
            GrantType::DeviceCode,
            GrantType::Password,
            GrantType::ClientCredentials,
            GrantType::OpenIdHybrid,
        ]
    }

    async fn handle(
        &self,
        ctx: &Ctx<'_>,
        client: &Application,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let value = params
            .single("refresh_token")?
            .ok_or_else(|| OAuthError::invalid_request("Missing refresh token parameter."))?;
        let requested_scope = params.single("scope")?;
        let Some(RefreshTokenWithOwners {
            refresh: rt,
            access: bound,
            user,
        }) = ctx
            .store
            .find_refresh_token_with_owners(&token_checksum(value))
            .await?
        else {
            return Err(invalid_grant());
        };
        if rt.application_id != client.id {
            return Err(invalid_grant());
        }
        // A deactivated user's refresh tokens are refused, and kept for a re-activation.
        if !token_owner_allowed(ctx, Some(rt.user_id), user.as_ref()).await? {
            tracing::info!(client_id = %client.client_id, user_id = rt.user_id, "refresh token of an inactive user refused");
            return Err(invalid_grant());
        }
        if rt.is_revoked() {
            return replay(ctx, client, &rt, value).await;
        }

        // A live refresh token must still be bound to its access token.
        let Some(at_id) = rt.access_token_id else {
            return Err(invalid_grant());
        };
        let Some(at) = bound.filter(|at| at.id == at_id) else {
            // One joined read always finds a live token's access token (deleting it unbinds
            // the refresh token); a store that reads them apart may see a concurrent rotation
            // in between: then this request is a replay like any other.
            if let Some(again) = ctx.store.get_refresh_token(rt.id).await? {
                if again.is_revoked() {
                    return replay(ctx, client, &again, value).await;
                }
            }
            return Err(invalid_grant());
        };
        if let Some(idle) = ctx
            .settings
            .provider
            .refresh_token_expire_seconds
            .filter(|s| *s > 0)
        {
            let idle = Duration::seconds(i64::try_from(idle).unwrap_or(i64::MAX));
            if at.expires.saturating_add(idle) <= ctx.now {
                return Err(invalid_grant());
            }
        }
        // A narrower scope may be asked for, never a wider one (RFC 6749 §6).
        let original = parse_scopes(&at.scope);
        let scopes = match requested_scope {
            Some(s) => {
                let asked = parse_scopes(s);
                if asked.iter().any(|s| !original.contains(s)) {
                    return Err(OAuthError::new(ErrorCode::InvalidScope).with_description(
                        "The requested scope exceeds the scope granted by the resource owner.",
                    ));
                }
                asked
            }
            None => original,
        };
        let scope = join_scopes(&scopes);
        // RFC 8707: the refresh token's resources, or fewer of them.
        let resource = narrow(&requested(params)?, &rt.resource)?;

        if !ctx.settings.provider.rotate_refresh_token {
            // DOT: same refresh token; the access token row gets a new value in place.
            let new_value = generate_token();
            let (column, checksum) = stored_token(
                &new_value,
                !ctx.settings.provider.compliant_bcp_rfc9700_token_storage,
            );
            let expires_in = i64::try_from(ctx.settings.provider.access_token_expire_seconds)
                .unwrap_or(i64::MAX);
            let updated = ctx
                .store
                .replace_access_token(
                    at.id,
                    &column,
                    &checksum,
                    ctx.now.saturating_add(Duration::seconds(expires_in)),
                    &scope,
                    &resource,
                    ctx.now,
                )
                .await?;
            if updated.is_none() {
                return Err(invalid_grant());
            }
            let id_token = match refreshed_id_token_spec(ctx, &at, &scope).await? {
                Some(orig) => {
                    let spec = IdTokenSpec {
                        access_token: Some(&new_value),
                        ..orig.spec(rt.user_id, &scope)
                    };
                    Some(create_id_token(ctx, client, &spec).await?.jwt)
                }
                None => None,
            };
            return Ok(TokenResponse {
                access_token: new_value,
                expires_in,
                token_type: "Bearer",
                scope,
                refresh_token: Some(value.to_string()),
                id_token,
            });
        }

        let issue = Issue {
            application: client,
            user_id: Some(rt.user_id),
            scope: scope.clone(),
            family: rt.token_family,
            with_refresh_token: true,
            resource: resource.clone(),
            refresh_resource: rt.resource.clone(),
        };
        let mut minted = match derived_successors(ctx, value)? {
            Some(values) => mint_successors(ctx, &issue, values),
            None => mint(ctx, &issue),
        };
        // OIDC Core §12.2: a refresh of an openid grant returns a new ID token for the same
        // authentication (same auth_time and sid; no nonce).
        let id_token = match refreshed_id_token_spec(ctx, &at, &scope).await? {
            Some(orig) => Some(
                attach_id_token(ctx, client, &mut minted, orig.spec(rt.user_id, &scope)).await?,
            ),
            None => None,
        };
        match ctx
            .store
            .rotate_refresh_token(rt.id, at.id, minted.pair.clone(), ctx.now)
            .await?
        {
            Rotation::Rotated(..) => {
                tracing::info!(client_id = %client.client_id, refresh_token_id = rt.id, "refresh token rotated");
                let mut response = minted.response(scope);
                response.id_token = id_token;
                Ok(response)
            }
            // Another request rotated it between our read and our claim: we are a replay.
            Rotation::AlreadyRevoked => {
                let Some(now_revoked) = ctx.store.get_refresh_token(rt.id).await? else {
                    return Err(invalid_grant());
                };
                replay(ctx, client, &now_revoked, value).await
            }
            Rotation::Missing => Err(invalid_grant()),
        }
    }
}

/// What the ID token of the original authentication said (for a refreshed one).
struct OriginalAuthentication {
    auth_time: Option<time::OffsetDateTime>,
    sid: String,
    claims: String,
}

impl OriginalAuthentication {
    fn spec<'a>(&'a self, user_id: crate::models::Id, scope: &'a str) -> IdTokenSpec<'a> {
        IdTokenSpec {
            user_id,
            scope,
            auth_time: self.auth_time,
            sid: Some(&self.sid),
            claims_request: Some(&self.claims),
            ..IdTokenSpec::default()
        }
    }
}

/// `Some` when the refreshed scope asks for an ID token, with what the access token's ID
/// token recorded about the authentication (nothing when it had none).
async fn refreshed_id_token_spec(
    ctx: &Ctx<'_>,
    at: &crate::models::AccessToken,
    scope: &str,
) -> Result<Option<OriginalAuthentication>, OAuthError> {
    if !wants_id_token(ctx.settings, scope) {
        return Ok(None);
    }
    let row = match at.id_token_id {
        Some(id) => ctx.store.get_id_token(id).await?,
        None => None,
    };
    Ok(Some(match row {
        Some(r) => OriginalAuthentication {
            auth_time: r.auth_time,
            sid: r.sid,
            claims: r.claims,
        },
        None => OriginalAuthentication {
            auth_time: None,
            sid: String::new(),
            claims: "{}".into(),
        },
    }))
}

/// The successors of a rotation of `presented`, derived when a grace-period replay may ask
/// for them again and the context has a key (else they are random).
fn derived_successors(
    ctx: &Ctx<'_>,
    presented: &str,
) -> Result<Option<SuccessorValues>, OAuthError> {
    match ctx.token_key {
        Some(key) if ctx.settings.provider.refresh_token_grace_period_seconds > 0 => key
            .successors(presented)
            .map(Some)
            .map_err(OAuthError::server_error),
        _ => Ok(None),
    }
}

/// The value of a stored token row: its plaintext column (DOT's storage), else the value
/// derived for `purpose` from the presented old refresh token, if its digest matches.
fn value_of(
    ctx: &Ctx<'_>,
    plaintext: &str,
    checksum: &str,
    presented: &str,
    purposes: &[Successor],
) -> Result<Option<String>, OAuthError> {
    if !plaintext.is_empty() {
        return Ok(Some(plaintext.to_string()));
    }
    let Some(key) = ctx.token_key else {
        return Ok(None);
    };
    for purpose in purposes {
        let candidate = key
            .derive(presented, *purpose)
            .map_err(OAuthError::server_error)?;
        if token_checksum(&candidate) == checksum {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// A revoked refresh token was presented. Inside the grace period, and if it was revoked by
/// rotation (its successor access token exists), answer with the successor's tokens, as the
/// first request got them: read from the plaintext columns, or (digest-only storage)
/// re-derived from the presented token and checked against the stored digests. Otherwise
/// refuse, and with reuse protection revoke the family.
async fn replay(
    ctx: &Ctx<'_>,
    client: &Application,
    rt: &RefreshToken,
    presented: &str,
) -> Result<TokenResponse, OAuthError> {
    if let Some(response) = grace_replay(ctx, client, rt, presented).await? {
        return Ok(response);
    }
    if ctx.settings.provider.refresh_token_reuse_protection {
        if let Some(family) = rt.token_family {
            let revoked = ctx.store.revoke_token_family(family, ctx.now).await?;
            metrics::counter!("oauth_refresh_token_reuse_detected_total").increment(1);
            tracing::warn!(
                refresh_token_id = rt.id,
                revoked_refresh_tokens = revoked,
                "revoked refresh token replayed: token family revoked"
            );
        }
    }
    Err(invalid_grant())
}

/// The answer to a replay inside the grace period, if there is one.
async fn grace_replay(
    ctx: &Ctx<'_>,
    client: &Application,
    rt: &RefreshToken,
    presented: &str,
) -> Result<Option<TokenResponse>, OAuthError> {
    let grace = ctx.settings.provider.refresh_token_grace_period_seconds;
    let Some(revoked) = rt.revoked.filter(|_| grace > 0) else {
        return Ok(None);
    };
    let grace = Duration::seconds(i64::try_from(grace).unwrap_or(i64::MAX));
    if revoked <= ctx.now.saturating_sub(grace) {
        return Ok(None);
    }
    let Some(at) = ctx.store.find_access_token_by_source(rt.id).await? else {
        return Ok(None);
    };
    if at.is_expired(ctx.now) {
        return Ok(None);
    }
    let Some(access_value) = value_of(
        ctx,
        &at.token,
        &at.token_checksum,
        presented,
        &[Successor::Access],
    )?
    else {
        return Ok(None);
    };
    let successor = ctx.store.find_refresh_token_by_access_token(at.id).await?;
    let refresh_value = match successor {
        Some(s) if !s.is_revoked() => {
            match value_of(
                ctx,
                &s.token,
                &s.token_checksum,
                presented,
                &[Successor::Refresh, Successor::Rebound],
            )? {
                Some(v) => v,
                None => return Ok(None),
            }
        }
        _ => {
            // The successor refresh token is gone: bind a new one to the surviving access
            // token (DOT #1687), derived too so that a further replay finds it.
            let value = match ctx.token_key {
                Some(key) => key
                    .derive(presented, Successor::Rebound)
                    .map_err(OAuthError::server_error)?,
                None => generate_token(),
            };
            let (column, checksum) = stored_token(
                &value,
                !ctx.settings.provider.compliant_bcp_rfc9700_token_storage,
            );
            let created = ctx
                .store
                .create_refresh_token(
                    NewRefreshToken {
                        user_id: rt.user_id,
                        token: column,
                        token_checksum: checksum,
                        application_id: rt.application_id,
                        access_token_id: Some(at.id),
                        token_family: rt.token_family,
                        resource: rt.resource.clone(),
                    },
                    ctx.now,
                )
                .await;
            match created {
                Ok(_) => value,
                // A rebound token that was itself revoked since: nothing to hand out.
                Err(crate::store::StoreError::Conflict(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
    };
    // The remaining lifetime, not a fresh one.
    let expires_in = (at.expires - ctx.now).whole_seconds().max(0);
    // The same answer as the first request, ID token included (a new one for the same
    // authentication: the JWT itself is not stored).
    let id_token = match refreshed_id_token_spec(ctx, &at, &at.scope).await? {
        Some(orig) => {
            let spec = IdTokenSpec {
                access_token: Some(&access_value),
                ..orig.spec(rt.user_id, &at.scope)
            };
            Some(create_id_token(ctx, client, &spec).await?.jwt)
        }
        None => None,
    };
    Ok(Some(TokenResponse {
        access_token: access_value,
        expires_in,
        token_type: "Bearer",
        scope: at.scope,
        refresh_token: Some(refresh_value),
        id_token,
    }))
}
