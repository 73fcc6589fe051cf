//! `GrantStore` on SQLite: authorization codes and their redemption.

use async_trait::async_trait;
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::*;
use time::OffsetDateTime;

use super::connection::Run;
use super::id_tokens::insert_id_token;
use super::tokens::{insert_access_token, insert_refresh_token};
use super::SqliteStore;
use crate::error::unstorable;
use crate::rows::GrantRow;
use crate::sql::grants::*;
use crate::time_codec::to_db;

#[async_trait]
impl GrantStore for SqliteStore {
    async fn create_grant(&self, g: NewGrant, now: OffsetDateTime) -> Result<Grant, StoreError> {
        let checksum = oauth_toolkit_core::token_checksum::token_checksum(&g.code);
        self.write(move |c| {
            c.one::<GrantRow>(
                INSERT_GRANT,
                &[
                    &g.user_id,
                    &checksum,
                    &g.application_id,
                    &to_db(g.expires),
                    &g.redirect_uri,
                    &g.scope,
                    &g.code_challenge,
                    &g.code_challenge_method.map(|m| m.as_str()).unwrap_or(""),
                    &g.nonce,
                    &g.claims,
                    &g.token_family.hyphenated().to_string(),
                    &to_db(now),
                    &g.auth_time.map(to_db),
                    &g.sid,
                    &g.resource,
                ],
            )
        })
        .await?
        .try_into()
    }

    async fn find_grant(&self, code_checksum: &str) -> Result<Option<Grant>, StoreError> {
        if unstorable(code_checksum) {
            return Ok(None);
        }
        let code_checksum = code_checksum.to_string();
        self.read(move |c| c.opt::<GrantRow>(SELECT_GRANT_BY_CODE, &[&code_checksum]))
            .await?
            .map(Grant::try_from)
            .transpose()
    }

    async fn consume_grant(
        &self,
        code_checksum: &str,
        now: OffsetDateTime,
    ) -> Result<Consumed<Grant>, StoreError> {
        if unstorable(code_checksum) {
            return Ok(Consumed::Missing);
        }
        let code_checksum = code_checksum.to_string();
        let checksum = code_checksum.clone();
        let taken = self
            .write(move |c| c.opt::<GrantRow>(CONSUME_GRANT, &[&checksum, &to_db(now)]))
            .await?;
        if let Some(row) = taken {
            return Ok(Consumed::Now(row.try_into()?));
        }
        // Writes are answered only once committed, so a read connection sees this one.
        let existing = self
            .read(move |c| c.opt::<GrantRow>(SELECT_GRANT_BY_CODE, &[&code_checksum]))
            .await?;
        Ok(match existing {
            Some(row) => Consumed::Already(row.try_into()?),
            None => Consumed::Missing,
        })
    }

    async fn delete_grant(&self, id: Id) -> Result<bool, StoreError> {
        self.write(move |c| c.exec(DELETE_GRANT, &[&id]))
            .await
            .map(|n| n > 0)
    }

    async fn redeem_grant(
        &self,
        grant_id: Id,
        application_id: Id,
        id_token: Option<NewIdToken>,
        pair: NewTokenPair,
        now: OffsetDateTime,
    ) -> Result<Redemption, StoreError> {
        // One job on the writer: the single-use gate and every INSERT commit together, and
        // returning early before any INSERT leaves nothing to undo.
        self.write_all(move |c| {
            let taken = c.scalar::<i64>(
                TAKE_GRANT_FOR_REDEMPTION,
                &[&grant_id, &application_id, &to_db(now)],
            )?;
            if taken.is_none() {
                return Ok(Redemption::NotRedeemable);
            }
            let mut access = pair.access;
            let id_row = match id_token {
                Some(t) => {
                    let row = insert_id_token(c, t, now)?;
                    access.id_token_id = Some(row.id);
                    Some(row)
                }
                None => None,
            };
            let at = insert_access_token(c, access, now)?;
            let rt = match pair.refresh {
                Some(r) => Some(insert_refresh_token(c, r, Some(at.id), now)?),
                None => None,
            };
            Ok(Redemption::Issued(Box::new(((at, rt), id_row))))
        })
        .await
    }
}
