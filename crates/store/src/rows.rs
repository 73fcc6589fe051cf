//! Row shapes as both backends return them, and their conversion to the core's models.
//! Only `i64`, `String`, `bool` and their `Option`s: types both drivers decode alike.

use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::StoreError;
use uuid::Uuid;

use crate::sqlite::connection::{column, FromSqliteRow};
use crate::time_codec::from_db;

/// A row struct that both drivers read by column name: sqlx's `FromRow` (PostgreSQL) and
/// our `FromSqliteRow` (rusqlite), from one field list.
macro_rules! db_row {
    (pub(crate) struct $name:ident { $($field:ident: $ty:ty,)* }) => {
        #[derive(sqlx::FromRow)]
        pub(crate) struct $name {
            $($field: $ty,)*
        }

        impl $name {
            /// The struct from the columns of `row` starting at `first`.
            #[allow(unused_assignments)]
            pub(crate) fn from_sqlite_row_at(
                row: &rusqlite::Row<'_>,
                first: usize,
            ) -> rusqlite::Result<Self> {
                let mut i = first;
                Ok(Self {
                    $($field: {
                        let value = column(row, i, stringify!($field))?;
                        i += 1;
                        value
                    },)*
                })
            }
        }

        impl FromSqliteRow for $name {
            fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Self::from_sqlite_row_at(row, 0)
            }
        }
    };
}

fn corrupt(what: &str, detail: String) -> StoreError {
    StoreError::Backend(format!("unreadable {what} in the database: {detail}").into())
}

fn uuid(what: &str, s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| corrupt(what, e.to_string()))
}

fn opt_uuid(what: &str, s: Option<String>) -> Result<Option<Uuid>, StoreError> {
    s.filter(|s| !s.is_empty())
        .map(|s| uuid(what, &s))
        .transpose()
}

db_row! {
    pub(crate) struct UserRow {
        id: i64,
        username: String,
        email: String,
        first_name: String,
        last_name: String,
        password: String,
        is_active: bool,
        is_staff: bool,
        is_superuser: bool,
        date_joined: i64,
        last_login: Option<i64>,
    }
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            username: r.username,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            password: r.password,
            is_active: r.is_active,
            is_staff: r.is_staff,
            is_superuser: r.is_superuser,
            date_joined: from_db(r.date_joined),
            last_login: r.last_login.map(from_db),
        }
    }
}

db_row! {
    pub(crate) struct ApplicationRow {
        id: i64,
        client_id: String,
        user_id: Option<i64>,
        redirect_uris: String,
        post_logout_redirect_uris: String,
        client_type: String,
        authorization_grant_type: String,
        client_secret: String,
        hash_client_secret: bool,
        name: String,
        skip_authorization: bool,
        algorithm: String,
        allowed_origins: String,
        created: i64,
        updated: i64,
    }
}

impl TryFrom<ApplicationRow> for Application {
    type Error = StoreError;
    fn try_from(r: ApplicationRow) -> Result<Self, StoreError> {
        Ok(Application {
            id: r.id,
            client_id: r.client_id,
            user_id: r.user_id,
            redirect_uris: r.redirect_uris,
            post_logout_redirect_uris: r.post_logout_redirect_uris,
            client_type: r
                .client_type
                .parse()
                .map_err(|e| corrupt("client_type", e))?,
            authorization_grant_type: r
                .authorization_grant_type
                .parse()
                .map_err(|e| corrupt("authorization_grant_type", e))?,
            client_secret: r.client_secret,
            hash_client_secret: r.hash_client_secret,
            name: r.name,
            skip_authorization: r.skip_authorization,
            algorithm: r.algorithm.parse().map_err(|e| corrupt("algorithm", e))?,
            allowed_origins: r.allowed_origins,
            created: from_db(r.created),
            updated: from_db(r.updated),
        })
    }
}

db_row! {
    pub(crate) struct AccessTokenRow {
        id: i64,
        user_id: Option<i64>,
        source_refresh_token_id: Option<i64>,
        token: String,
        token_checksum: String,
        id_token_id: Option<i64>,
        application_id: Option<i64>,
        expires: i64,
        scope: String,
        token_family: Option<String>,
        created: i64,
        updated: i64,
        resource: String,
    }
}

impl TryFrom<AccessTokenRow> for AccessToken {
    type Error = StoreError;
    fn try_from(r: AccessTokenRow) -> Result<Self, StoreError> {
        Ok(AccessToken {
            id: r.id,
            user_id: r.user_id,
            source_refresh_token_id: r.source_refresh_token_id,
            token: r.token,
            token_checksum: r.token_checksum,
            id_token_id: r.id_token_id,
            application_id: r.application_id,
            expires: from_db(r.expires),
            scope: r.scope,
            resource: r.resource,
            token_family: opt_uuid("token_family", r.token_family)?,
            created: from_db(r.created),
            updated: from_db(r.updated),
        })
    }
}

db_row! {
    pub(crate) struct JoinedUserRow {
        u_id: Option<i64>,
        u_username: Option<String>,
        u_email: Option<String>,
        u_first_name: Option<String>,
        u_last_name: Option<String>,
        u_password: Option<String>,
        u_is_active: Option<bool>,
        u_is_staff: Option<bool>,
        u_is_superuser: Option<bool>,
        u_date_joined: Option<i64>,
        u_last_login: Option<i64>,
    }
}

impl JoinedUserRow {
    /// The user of a joined row: `None` when the join found none.
    fn into_user(self) -> Result<Option<User>, StoreError> {
        let Some(id) = self.u_id else {
            return Ok(None);
        };
        Ok(Some(User::from(UserRow {
            id,
            username: joined(self.u_username, "username")?,
            email: joined(self.u_email, "email")?,
            first_name: joined(self.u_first_name, "first_name")?,
            last_name: joined(self.u_last_name, "last_name")?,
            password: joined(self.u_password, "password")?,
            is_active: joined(self.u_is_active, "is_active")?,
            is_staff: joined(self.u_is_staff, "is_staff")?,
            is_superuser: joined(self.u_is_superuser, "is_superuser")?,
            date_joined: joined(self.u_date_joined, "date_joined")?,
            last_login: self.u_last_login,
        })))
    }
}

/// `SELECT t.*, a.… AS a_…, u.… AS u_…` of an access token left-joined to its application
/// and user (`find_access_token_with_owners`): the joined columns are all NULL when there is
/// no such row.
#[derive(sqlx::FromRow)]
pub(crate) struct AccessTokenWithOwnersRow {
    #[sqlx(flatten)]
    token: AccessTokenRow,
    a_id: Option<i64>,
    a_client_id: Option<String>,
    a_user_id: Option<i64>,
    a_redirect_uris: Option<String>,
    a_post_logout_redirect_uris: Option<String>,
    a_client_type: Option<String>,
    a_authorization_grant_type: Option<String>,
    a_client_secret: Option<String>,
    a_hash_client_secret: Option<bool>,
    a_name: Option<String>,
    a_skip_authorization: Option<bool>,
    a_algorithm: Option<String>,
    a_allowed_origins: Option<String>,
    a_created: Option<i64>,
    a_updated: Option<i64>,
    #[sqlx(flatten)]
    user: JoinedUserRow,
}

impl FromSqliteRow for AccessTokenWithOwnersRow {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            token: AccessTokenRow::from_sqlite_row_at(row, 0)?,
            a_id: column(row, 13, "a_id")?,
            a_client_id: column(row, 14, "a_client_id")?,
            a_user_id: column(row, 15, "a_user_id")?,
            a_redirect_uris: column(row, 16, "a_redirect_uris")?,
            a_post_logout_redirect_uris: column(row, 17, "a_post_logout_redirect_uris")?,
            a_client_type: column(row, 18, "a_client_type")?,
            a_authorization_grant_type: column(row, 19, "a_authorization_grant_type")?,
            a_client_secret: column(row, 20, "a_client_secret")?,
            a_hash_client_secret: column(row, 21, "a_hash_client_secret")?,
            a_name: column(row, 22, "a_name")?,
            a_skip_authorization: column(row, 23, "a_skip_authorization")?,
            a_algorithm: column(row, 24, "a_algorithm")?,
            a_allowed_origins: column(row, 25, "a_allowed_origins")?,
            a_created: column(row, 26, "a_created")?,
            a_updated: column(row, 27, "a_updated")?,
            user: JoinedUserRow::from_sqlite_row_at(row, 28)?,
        })
    }
}

/// A NOT NULL column of a joined row that was found.
fn joined<T>(v: Option<T>, column: &str) -> Result<T, StoreError> {
    v.ok_or_else(|| corrupt(column, "NULL in a joined row".into()))
}

impl TryFrom<AccessTokenWithOwnersRow> for AccessTokenWithOwners {
    type Error = StoreError;
    fn try_from(r: AccessTokenWithOwnersRow) -> Result<Self, StoreError> {
        let application = match r.a_id {
            None => None,
            Some(id) => Some(Application::try_from(ApplicationRow {
                id,
                client_id: joined(r.a_client_id, "client_id")?,
                user_id: r.a_user_id,
                redirect_uris: joined(r.a_redirect_uris, "redirect_uris")?,
                post_logout_redirect_uris: joined(
                    r.a_post_logout_redirect_uris,
                    "post_logout_redirect_uris",
                )?,
                client_type: joined(r.a_client_type, "client_type")?,
                authorization_grant_type: joined(
                    r.a_authorization_grant_type,
                    "authorization_grant_type",
                )?,
                client_secret: joined(r.a_client_secret, "client_secret")?,
                hash_client_secret: joined(r.a_hash_client_secret, "hash_client_secret")?,
                name: joined(r.a_name, "name")?,
                skip_authorization: joined(r.a_skip_authorization, "skip_authorization")?,
                algorithm: joined(r.a_algorithm, "algorithm")?,
                allowed_origins: joined(r.a_allowed_origins, "allowed_origins")?,
                created: joined(r.a_created, "created")?,
                updated: joined(r.a_updated, "updated")?,
            })?),
        };
        let user = r.user.into_user()?;
        Ok(AccessTokenWithOwners {
            token: r.token.try_into()?,
            application,
            user,
        })
    }
}

db_row! {
    pub(crate) struct RefreshTokenRow {
        id: i64,
        user_id: i64,
        token: String,
        token_checksum: String,
        application_id: i64,
        access_token_id: Option<i64>,
        token_family: Option<String>,
        revoked: Option<i64>,
        created: i64,
        updated: i64,
        resource: String,
    }
}

impl TryFrom<RefreshTokenRow> for RefreshToken {
    type Error = StoreError;
    fn try_from(r: RefreshTokenRow) -> Result<Self, StoreError> {
        Ok(RefreshToken {
            id: r.id,
            user_id: r.user_id,
            token: r.token,
            token_checksum: r.token_checksum,
            application_id: r.application_id,
            access_token_id: r.access_token_id,
            token_family: opt_uuid("token_family", r.token_family)?,
            resource: r.resource,
            revoked: r.revoked.map(from_db),
            created: from_db(r.created),
            updated: from_db(r.updated),
        })
    }
}

/// `SELECT r.*, a.… AS a_…, u.… AS u_…` of a refresh token left-joined to its access token
/// and its user.
#[derive(sqlx::FromRow)]
pub(crate) struct RefreshTokenWithOwnersRow {
    #[sqlx(flatten)]
    refresh: RefreshTokenRow,
    a_id: Option<i64>,
    a_user_id: Option<i64>,
    a_source_refresh_token_id: Option<i64>,
    a_token: Option<String>,
    a_token_checksum: Option<String>,
    a_id_token_id: Option<i64>,
    a_application_id: Option<i64>,
    a_expires: Option<i64>,
    a_scope: Option<String>,
    a_token_family: Option<String>,
    a_created: Option<i64>,
    a_updated: Option<i64>,
    a_resource: Option<String>,
    #[sqlx(flatten)]
    user: JoinedUserRow,
}

impl FromSqliteRow for RefreshTokenWithOwnersRow {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            refresh: RefreshTokenRow::from_sqlite_row_at(row, 0)?,
            a_id: column(row, 11, "a_id")?,
            a_user_id: column(row, 12, "a_user_id")?,
            a_source_refresh_token_id: column(row, 13, "a_source_refresh_token_id")?,
            a_token: column(row, 14, "a_token")?,
            a_token_checksum: column(row, 15, "a_token_checksum")?,
            a_id_token_id: column(row, 16, "a_id_token_id")?,
            a_application_id: column(row, 17, "a_application_id")?,
            a_expires: column(row, 18, "a_expires")?,
            a_scope: column(row, 19, "a_scope")?,
            a_token_family: column(row, 20, "a_token_family")?,
            a_created: column(row, 21, "a_created")?,
            a_updated: column(row, 22, "a_updated")?,
            a_resource: column(row, 23, "a_resource")?,
            user: JoinedUserRow::from_sqlite_row_at(row, 24)?,
        })
    }
}

impl TryFrom<RefreshTokenWithOwnersRow> for RefreshTokenWithOwners {
    type Error = StoreError;
    fn try_from(r: RefreshTokenWithOwnersRow) -> Result<Self, StoreError> {
        let access = match r.a_id {
            None => None,
            Some(id) => Some(AccessToken::try_from(AccessTokenRow {
                id,
                user_id: r.a_user_id,
                source_refresh_token_id: r.a_source_refresh_token_id,
                token: joined(r.a_token, "token")?,
                token_checksum: joined(r.a_token_checksum, "token_checksum")?,
                id_token_id: r.a_id_token_id,
                application_id: r.a_application_id,
                expires: joined(r.a_expires, "expires")?,
                scope: joined(r.a_scope, "scope")?,
                token_family: r.a_token_family,
                created: joined(r.a_created, "created")?,
                updated: joined(r.a_updated, "updated")?,
                resource: joined(r.a_resource, "resource")?,
            })?),
        };
        let user = r.user.into_user()?;
        Ok(RefreshTokenWithOwners {
            refresh: r.refresh.try_into()?,
            access,
            user,
        })
    }
}

db_row! {
    pub(crate) struct GrantRow {
        id: i64,
        user_id: i64,
        code_checksum: String,
        application_id: i64,
        expires: i64,
        redirect_uri: String,
        scope: String,
        code_challenge: String,
        code_challenge_method: String,
        nonce: String,
        claims: String,
        token_family: String,
        consumed: Option<i64>,
        auth_time: Option<i64>,
        sid: String,
        created: i64,
        updated: i64,
        resource: String,
    }
}

impl TryFrom<GrantRow> for Grant {
    type Error = StoreError;
    fn try_from(r: GrantRow) -> Result<Self, StoreError> {
        let method = if r.code_challenge_method.is_empty() {
            None
        } else {
            Some(
                r.code_challenge_method
                    .parse()
                    .map_err(|e| corrupt("code_challenge_method", e))?,
            )
        };
        Ok(Grant {
            id: r.id,
            user_id: r.user_id,
            code_checksum: r.code_checksum,
            application_id: r.application_id,
            expires: from_db(r.expires),
            redirect_uri: r.redirect_uri,
            scope: r.scope,
            code_challenge: r.code_challenge,
            code_challenge_method: method,
            nonce: r.nonce,
            claims: r.claims,
            token_family: uuid("token_family", &r.token_family)?,
            consumed: r.consumed.map(from_db),
            auth_time: r.auth_time.map(from_db),
            resource: r.resource,
            sid: r.sid,
            created: from_db(r.created),
            updated: from_db(r.updated),
        })
    }
}

db_row! {
    pub(crate) struct IdTokenRow {
        id: i64,
        user_id: Option<i64>,
        application_id: Option<i64>,
        jti: String,
        expires: i64,
        scope: String,
        auth_time: Option<i64>,
        sid: String,
        claims: String,
        created: i64,
        updated: i64,
    }
}

impl TryFrom<IdTokenRow> for IdToken {
    type Error = StoreError;
    fn try_from(r: IdTokenRow) -> Result<Self, StoreError> {
        Ok(IdToken {
            id: r.id,
            user_id: r.user_id,
            application_id: r.application_id,
            jti: uuid("jti", &r.jti)?,
            expires: from_db(r.expires),
            scope: r.scope,
            auth_time: r.auth_time.map(from_db),
            sid: r.sid,
            claims: r.claims,
            created: from_db(r.created),
            updated: from_db(r.updated),
        })
    }
}

db_row! {
    pub(crate) struct SigningKeyRow {
        id: i64,
        kid: String,
        algorithm: String,
        private_key: String,
        created: i64,
    }
}

impl From<SigningKeyRow> for SigningKey {
    fn from(r: SigningKeyRow) -> Self {
        SigningKey {
            id: r.id,
            kid: r.kid,
            algorithm: r.algorithm,
            private_key: r.private_key,
            created: from_db(r.created),
        }
    }
}

db_row! {
    pub(crate) struct DeviceGrantRow {
        id: i64,
        device_code_checksum: String,
        user_code: String,
        scope: String,
        interval: i64,
        expires: i64,
        status: String,
        client_id: String,
        user_id: Option<i64>,
        last_checked: Option<i64>,
        created: i64,
    }
}

impl TryFrom<DeviceGrantRow> for DeviceGrant {
    type Error = StoreError;
    fn try_from(r: DeviceGrantRow) -> Result<Self, StoreError> {
        Ok(DeviceGrant {
            id: r.id,
            device_code_checksum: r.device_code_checksum,
            user_code: r.user_code,
            scope: r.scope,
            interval: r.interval,
            expires: from_db(r.expires),
            status: r.status.parse().map_err(|e| corrupt("status", e))?,
            client_id: r.client_id,
            user_id: r.user_id,
            last_checked: r.last_checked.map(from_db),
            created: from_db(r.created),
        })
    }
}
