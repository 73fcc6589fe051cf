//! One storage test suite, run on SQLite and on a real PostgreSQL.
//!
//! Each `async fn case(db: &Database)` of the modules is instantiated twice by `backends!`: once on a
//! fresh SQLite file, once on a fresh database of a throwaway PostgreSQL server started from
//! the system binaries (see `oauth-toolkit-testing`).

use std::sync::Arc;

use oauth_toolkit_core::clear_expired::{clear_expired, ClearExpiredPlan, ClearStep};
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::settings::Settings;
use oauth_toolkit_core::store::*;
use oauth_toolkit_core::token_checksum::token_checksum;
use oauth_toolkit_store::{Database, OpenOptions};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

mod admin;
mod applications;
mod cleanup;
mod device;
mod grants;
mod operations;
mod tokens;
mod users;

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_000).unwrap()
}

async fn open(url: &str) -> Database {
    let db = Database::open(url, &OpenOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    db
}

macro_rules! backends {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let (_dir, url) = oauth_toolkit_testing::fresh_sqlite_url();
                    let db = super::open(&url).await;
                    super::$module::$case(&db).await;
                    db.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let url = oauth_toolkit_testing::shared_pg().fresh_database_url().unwrap();
                    let db = super::open(&url).await;
                    super::$module::$case(&db).await;
                    db.close().await;
                }
            )*
        }
    };
}

async fn user(store: &dyn Store, name: &str) -> User {
    store
        .create_user(NewUser::new(name, "!unusable"), t0())
        .await
        .unwrap()
}

async fn app(store: &dyn Store, owner: Option<&User>) -> Application {
    let settings = Settings::default();
    let mut new = NewApplication::new(
        ClientType::Confidential,
        GrantType::AuthorizationCode,
        &settings,
    );
    new.redirect_uris = "https://example.org/cb".into();
    new.user_id = owner.map(|u| u.id);
    new.generate_secret(&settings).unwrap();
    new.validate(&settings).unwrap();
    store.create_application(new, t0()).await.unwrap()
}

fn new_access(
    u: Option<&User>,
    a: &Application,
    expires: OffsetDateTime,
) -> (String, NewAccessToken) {
    let token = oauth_toolkit_core::generators::generate_token();
    let (column, checksum) = stored_token(&token, true);
    (
        token,
        NewAccessToken {
            resource: String::new(),
            user_id: u.map(|u| u.id),
            source_refresh_token_id: None,
            token: column,
            token_checksum: checksum,
            id_token_id: None,
            application_id: Some(a.id),
            expires,
            scope: "read write".into(),
            token_family: None,
        },
    )
}

fn new_refresh(
    u: &User,
    a: &Application,
    at: Option<&AccessToken>,
    family: Option<Uuid>,
) -> NewRefreshToken {
    let token = oauth_toolkit_core::generators::generate_token();
    let (column, checksum) = stored_token(&token, true);
    NewRefreshToken {
        resource: String::new(),
        user_id: u.id,
        token: column,
        token_checksum: checksum,
        application_id: a.id,
        access_token_id: at.map(|t| t.id),
        token_family: family,
    }
}

backends!(
    users::sessions,
    users::throttle_counts_under_race,
    users::users,
    users::authentication_upgrades_django_hashes,
    applications::applications,
    applications::application_constraints,
    tokens::access_tokens,
    tokens::concurrent_issuances_each_atomic,
    tokens::access_token_with_owners,
    tokens::digest_only_storage,
    tokens::refresh_token_revoke,
    tokens::revoke_access_token_revokes_its_refresh_token,
    tokens::token_family_revocation,
    grants::grant_consumed_once_under_race,
    tokens::refresh_token_claimed_once_under_race,
    tokens::refresh_token_revoked_once_under_race,
    tokens::refresh_token_rotated_once_under_race,
    grants::id_tokens_cascade_to_access_tokens,
    device::device_grants,
    device::device_grant_taken_once_under_race,
    device::device_grant_bound_to_the_first_user,
    device::device_grant_polling_rate,
    device::device_grant_poll_gate_under_race,
    users::secrets_agree_under_race,
    users::migrations_are_idempotent,
    cleanup::cleartokens_dot_scenario,
    cleanup::cleartokens_grace_and_reuse_protection,
    cleanup::cleartokens_one_million,
    grants::logout_deletes_one_clients_tokens,
    applications::signing_keys_rotate_and_retire,
    admin::admin_pages_are_keyset_pages,
    admin::admin_page_limits_are_clamped,
    admin::admin_application_filters,
    admin::admin_user_filters,
    admin::admin_text_search_escapes_wildcards,
    admin::admin_token_filters,
    admin::admin_state_filters_page_by_expiry,
    admin::admin_grant_and_device_filters,
    admin::admin_point_reads,
    admin::admin_revoke_user_tokens,
    admin::admin_delete_user_cascades,
    operations::operations_stats,
    operations::operations_audit_tokens,
    operations::operations_count_user_tokens,
    operations::operations_application_activity,
    operations::operations_scope_rows,
);
