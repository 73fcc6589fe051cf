//! `cleartokens`: DOT's scenario, the grace period and a million rows.

use super::*;

/// DOT's clear_expired test: 200 access tokens (half expired), 50
/// refresh tokens on alternating expired/current access tokens, 200 grants (half expired),
/// `refresh_token_expire_seconds = 500`, batch size 10.
pub(super) async fn cleartokens_dot_scenario(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let now = t0();
    let settings = {
        let mut built = Settings::default();
        built.provider.refresh_token_expire_seconds = Some(500);
        built.provider.clear_expired_tokens_batch_size = 10;
        built
    };
    let mut ats = Vec::new();
    for i in 0..200 {
        let expires = if i % 2 == 0 {
            now - Duration::seconds(600) // expired, and older than the refresh cutoff
        } else {
            now + Duration::hours(1)
        };
        let (_, at) = new_access(Some(&u), &a, expires);
        ats.push(store.create_access_token(at, now).await.unwrap());
    }
    let mut rts = Vec::new();
    for at in ats.iter().take(50) {
        rts.push(
            store
                .create_refresh_token(new_refresh(&u, &a, Some(at), None), now)
                .await
                .unwrap(),
        );
    }
    // An orphan (no access token) goes regardless of age.
    let orphan = store
        .create_refresh_token(new_refresh(&u, &a, None, None), now)
        .await
        .unwrap();
    // A refresh token whose access token expired exactly at the cutoff goes too.
    let (_, edge_at) = new_access(Some(&u), &a, now - Duration::seconds(500));
    let edge_at = store.create_access_token(edge_at, now).await.unwrap();
    let edge_rt = store
        .create_refresh_token(new_refresh(&u, &a, Some(&edge_at), None), now)
        .await
        .unwrap();
    for i in 0..200 {
        let expires = if i % 2 == 0 {
            now - Duration::seconds(1)
        } else {
            now + Duration::seconds(60)
        };
        store
            .create_grant(
                NewGrant {
                    resource: String::new(),
                    user_id: u.id,
                    code: format!("code-{i}"),
                    application_id: a.id,
                    expires,
                    redirect_uri: "https://example.org/cb".into(),
                    scope: "read".into(),
                    code_challenge: String::new(),
                    code_challenge_method: None,
                    nonce: String::new(),
                    claims: "{}".into(),
                    token_family: Uuid::new_v4(),
                    auth_time: None,
                    sid: String::new(),
                },
                now,
            )
            .await
            .unwrap();
    }

    let plan = ClearExpiredPlan::new(&settings, now);
    let report = clear_expired(&*store, &plan, tokio::time::sleep)
        .await
        .unwrap();

    assert_eq!(report.count(ClearStep::OrphanRefreshTokens), 1);
    assert!(store.get_refresh_token(orphan.id).await.unwrap().is_none());
    assert!(
        store.get_refresh_token(edge_rt.id).await.unwrap().is_none(),
        "RT at the cutoff removed"
    );
    assert!(store.get_access_token(edge_at.id).await.unwrap().is_none());
    // The 25 refresh tokens on expired access tokens go; the 25 on current ones stay.
    let mut live_rts = 0;
    for rt in &rts {
        if store.get_refresh_token(rt.id).await.unwrap().is_some() {
            live_rts += 1;
        }
    }
    assert_eq!(live_rts, 25);
    // Half the access tokens remain, and no expired one.
    let mut left = 0;
    for at in &ats {
        if let Some(found) = store.get_access_token(at.id).await.unwrap() {
            left += 1;
            assert!(!found.is_expired(now));
        }
    }
    assert_eq!(left, 100);
    let mut grants_left = 0;
    for i in 0..200 {
        if store
            .find_grant(&token_checksum(&format!("code-{i}")))
            .await
            .unwrap()
            .is_some()
        {
            grants_left += 1;
        }
    }
    assert_eq!(grants_left, 100);
    assert_eq!(report.count(ClearStep::Grants), 100);
    assert_eq!(report.count(ClearStep::AccessTokens), 101);

    // A second run finds nothing.
    let again = clear_expired(&*store, &plan, tokio::time::sleep)
        .await
        .unwrap();
    assert_eq!(again.total(), 0);
}

pub(super) async fn cleartokens_grace_and_reuse_protection(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let now = t0();
    let (_, at) = new_access(Some(&u), &a, now + Duration::hours(1));
    let at_old = store.create_access_token(at, now).await.unwrap();
    let (_, at) = new_access(Some(&u), &a, now + Duration::hours(1));
    let at_recent = store.create_access_token(at, now).await.unwrap();
    let old = store
        .create_refresh_token(new_refresh(&u, &a, Some(&at_old), None), now)
        .await
        .unwrap();
    let recent = store
        .create_refresh_token(new_refresh(&u, &a, Some(&at_recent), None), now)
        .await
        .unwrap();
    store
        .revoke_refresh_token(old.id, now - Duration::seconds(300))
        .await
        .unwrap();
    store
        .revoke_refresh_token(recent.id, now - Duration::seconds(30))
        .await
        .unwrap();

    // Reuse protection without an expiry keeps revoked tokens forever (they are evidence).
    let keep = {
        let mut built = Settings::default();
        built.provider.refresh_token_reuse_protection = true;
        built
    };
    clear_expired(
        &*store,
        &ClearExpiredPlan::new(&keep, now),
        tokio::time::sleep,
    )
    .await
    .unwrap();
    assert!(store.get_refresh_token(old.id).await.unwrap().is_some());
    assert!(store.get_refresh_token(recent.id).await.unwrap().is_some());

    // With a 60 s grace period only the token revoked 300 s ago goes.
    let grace = {
        let mut built = Settings::default();
        built.provider.refresh_token_grace_period_seconds = 60;
        built
    };
    let report = clear_expired(
        &*store,
        &ClearExpiredPlan::new(&grace, now),
        tokio::time::sleep,
    )
    .await
    .unwrap();
    assert_eq!(report.count(ClearStep::RevokedRefreshTokens), 1);
    assert!(store.get_refresh_token(old.id).await.unwrap().is_none());
    assert!(store.get_refresh_token(recent.id).await.unwrap().is_some());
}

/// `cleartokens` removes every one of 1,000,000 expired access tokens in batches.
/// (How fast and how much memory is measured by the benchmark, not here.)
pub(super) async fn cleartokens_one_million(db: &Database) {
    const N: i64 = 1_000_000;
    let store = db.store();
    let a = app(&*store, None).await;
    let now = t0();
    let expired = oauth_toolkit_store_test_support::micros(now - Duration::hours(1));
    let fresh = oauth_toolkit_store_test_support::micros(now + Duration::hours(1));
    oauth_toolkit_store_test_support::bulk_insert_access_tokens(db, a.id, N, expired).await;
    let (_, keep) = new_access(None, &a, now + Duration::hours(1));
    let keep = store.create_access_token(keep, now).await.unwrap();
    assert!(fresh > expired);

    let settings = {
        let mut built = Settings::default();
        built.provider.clear_expired_tokens_batch_size = 10_000;
        built
    };
    let report = clear_expired(
        &*store,
        &ClearExpiredPlan::new(&settings, now),
        tokio::time::sleep,
    )
    .await
    .unwrap();
    assert_eq!(report.count(ClearStep::AccessTokens), N as u64);
    assert!(store.get_access_token(keep.id).await.unwrap().is_some());
    assert_eq!(
        oauth_toolkit_store_test_support::count_access_tokens(db).await,
        1
    );
}

/// Raw SQL used only to seed large tables quickly.
pub(super) mod oauth_toolkit_store_test_support {
    use super::*;

    pub fn micros(t: OffsetDateTime) -> i64 {
        (t.unix_timestamp_nanos() / 1000) as i64
    }

    pub async fn bulk_insert_access_tokens(db: &Database, app_id: i64, n: i64, expires: i64) {
        let url = db_url(db);
        match db {
            Database::Sqlite(_) => {
                use sqlx::Connection;
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query(
                    "WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < $1) \
                     INSERT INTO oauth2_provider_accesstoken (token, token_checksum, application_id, \
                     expires, scope, created, updated) \
                     SELECT '', 'bulk-' || x, $2, $3, 'read', $3, $3 FROM seq",
                )
                .bind(n)
                .bind(app_id)
                .bind(expires)
                .execute(&mut c)
                .await
                .unwrap();
            }
            Database::Postgres(_) => {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::query(
                    "INSERT INTO oauth2_provider_accesstoken (token, token_checksum, application_id, \
                     expires, scope, created, updated) \
                     SELECT '', 'bulk-' || x, $2, $3, 'read', $3, $3 FROM generate_series(1, $1) AS x",
                )
                .bind(n)
                .bind(app_id)
                .bind(expires)
                .execute(&mut c)
                .await
                .unwrap();
            }
        }
    }

    pub async fn count_access_tokens(db: &Database) -> i64 {
        use sqlx::Connection;
        let url = db_url(db);
        let sql = "SELECT COUNT(*) FROM oauth2_provider_accesstoken";
        match db {
            Database::Sqlite(_) => {
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
            Database::Postgres(_) => {
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
        }
    }

    fn db_url(db: &Database) -> String {
        db.url().to_string()
    }
}
