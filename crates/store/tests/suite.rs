//! One storage test suite, run on SQLite and on a real PostgreSQL.
//!
//! Each `async fn case(db: &Database)` below is instantiated twice by `backends!`: once on a
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

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_000).unwrap()
}

async fn open(url: &str) -> Database {
    let db = Database::open(url, &OpenOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    db
}

macro_rules! backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let (_dir, url) = oauth_toolkit_testing::fresh_sqlite_url();
                    let db = super::open(&url).await;
                    super::$case(&db).await;
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
                    super::$case(&db).await;
                    db.close().await;
                }
            )*
        }
    };
}

backends!(
    sessions,
    throttle_counts_under_race,
    users,
    authentication_upgrades_django_hashes,
    applications,
    application_constraints,
    access_tokens,
    concurrent_issuances_each_atomic,
    access_token_with_owners,
    digest_only_storage,
    refresh_token_revoke,
    revoke_access_token_revokes_its_refresh_token,
    token_family_revocation,
    grant_consumed_once_under_race,
    refresh_token_claimed_once_under_race,
    refresh_token_revoked_once_under_race,
    id_tokens_cascade_to_access_tokens,
    device_grants,
    device_grant_taken_once_under_race,
    device_grant_bound_to_the_first_user,
    device_grant_polling_rate,
    device_grant_poll_gate_under_race,
    secrets_agree_under_race,
    migrations_are_idempotent,
    cleartokens_dot_scenario,
    cleartokens_grace_and_reuse_protection,
    cleartokens_one_million,
    logout_deletes_one_clients_tokens,
    signing_keys_rotate_and_retire,
);

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
        user_id: u.id,
        token: column,
        token_checksum: checksum,
        application_id: a.id,
        access_token_id: at.map(|t| t.id),
        token_family: family,
    }
}

async fn users(db: &Database) {
    let store = db.store();
    let hash = oauth_toolkit_core::password::hash_password("pw").unwrap();
    let mut nu = NewUser::new("alice", hash.clone());
    nu.email = "alice@example.org".into();
    nu.is_staff = true;
    let alice = store.create_user(nu, t0()).await.unwrap();
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.date_joined, t0(), "timestamps keep microseconds");
    assert!(alice.is_active && alice.is_staff && !alice.is_superuser);
    assert_eq!(alice.last_login, None);

    let found = store.find_user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(found, alice);
    assert!(store
        .find_user_by_username("Alice")
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.get_user(alice.id).await.unwrap().unwrap(), alice);
    assert!(store.get_user(alice.id + 1000).await.unwrap().is_none());

    let dup = store.create_user(NewUser::new("alice", "x"), t0()).await;
    match dup {
        Err(StoreError::Conflict(what)) => assert!(what.contains("username"), "{what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }

    // NUL bytes never reach PostgreSQL as a 500-style failure: lookups miss, writes are refused.
    assert!(store
        .find_user_by_username("al\0ice")
        .await
        .unwrap()
        .is_none());
    let mut bad = NewUser::new("bob", "x");
    bad.email = "b\0b@example.org".into();
    match (db, store.create_user(bad, t0()).await) {
        (Database::Postgres(_), Err(StoreError::Invalid(_))) | (Database::Sqlite(_), Ok(_)) => {}
        (_, other) => panic!("unexpected: {other:?}"),
    }

    store.set_user_password(alice.id, "!new").await.unwrap();
    store
        .record_login(alice.id, t0() + Duration::seconds(5))
        .await
        .unwrap();
    let again = store.get_user(alice.id).await.unwrap().unwrap();
    assert_eq!(again.password, "!new");
    assert_eq!(again.last_login, Some(t0() + Duration::seconds(5)));
}

async fn authentication_upgrades_django_hashes(db: &Database) {
    use oauth_toolkit_core::authentication::authenticate;
    let store = db.store();
    let django = oauth_toolkit_core::password::make_django_pbkdf2("old password", "salt", 1000);
    let u = store
        .create_user(NewUser::new("imported", django.clone()), t0())
        .await
        .unwrap();
    assert!(authenticate(&*store, "imported", "wrong", t0())
        .await
        .unwrap()
        .is_none());
    assert!(authenticate(&*store, "nobody", "old password", t0())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.get_user(u.id).await.unwrap().unwrap().password,
        django,
        "no upgrade on failure"
    );

    let later = t0() + Duration::seconds(30);
    let user = authenticate(&*store, "imported", "old password", later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.last_login, Some(later));
    let stored = store.get_user(u.id).await.unwrap().unwrap();
    assert!(
        stored.password.starts_with("$argon2id$"),
        "upgraded: {}",
        stored.password
    );
    assert_eq!(stored.last_login, Some(later));
    // The upgraded hash still accepts the same password.
    assert!(authenticate(&*store, "imported", "old password", later)
        .await
        .unwrap()
        .is_some());

    let mut inactive = NewUser::new(
        "gone",
        oauth_toolkit_core::password::hash_password("pw").unwrap(),
    );
    inactive.is_active = false;
    store.create_user(inactive, t0()).await.unwrap();
    assert!(authenticate(&*store, "gone", "pw", t0())
        .await
        .unwrap()
        .is_none());
}

async fn applications(db: &Database) {
    let store = db.store();
    let settings = Settings::default();
    let owner = user(&*store, "owner").await;
    let mut new = NewApplication::new(
        ClientType::Confidential,
        GrantType::AuthorizationCode,
        &settings,
    );
    new.redirect_uris = "https://example.org/cb http://127.0.0.1/cb".into();
    new.name = "My app".into();
    new.user_id = Some(owner.id);
    new.algorithm = Algorithm::RS256;
    let plain = new.generate_secret(&settings).unwrap();
    assert_eq!(plain.len(), 128);
    assert_ne!(new.client_secret, plain, "the secret is stored hashed");
    let created = store.create_application(new.clone(), t0()).await.unwrap();
    assert_eq!(created.client_id.len(), 40);
    assert!(created.check_secret(&plain));
    assert!(!created.check_secret("wrong"));
    assert_eq!(created.algorithm, Algorithm::RS256);
    assert_eq!(created.display_name(), "My app");
    assert!(created.redirect_uri_allowed("https://example.org/cb", &settings));
    assert!(created.redirect_uri_allowed("http://127.0.0.1:5555/cb", &settings));
    assert!(!created.redirect_uri_allowed("https://example.org/cb2", &settings));
    assert_eq!(created.default_redirect_uri(), None, "two URIs: no default");
    assert!(created.allows_grant_type(&[GrantType::AuthorizationCode, GrantType::OpenIdHybrid]));
    assert!(!created.allows_grant_type(&[GrantType::Password]));

    let by_id = store
        .find_application_by_client_id(&created.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id, created);
    assert!(store
        .find_application_by_client_id("nope")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_application_by_client_id("a\0b")
        .await
        .unwrap()
        .is_none());

    let listed = store.list_applications_for_user(owner.id).await.unwrap();
    assert_eq!(listed, vec![created.clone()]);

    let mut changed = created.clone();
    changed.name = "Renamed".into();
    changed.skip_authorization = true;
    let updated = store
        .update_application(&changed, t0() + Duration::seconds(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.name, "Renamed");
    assert!(updated.skip_authorization);
    assert_eq!(updated.updated, t0() + Duration::seconds(1));
    assert_eq!(updated.created, t0());

    // Deleting the application takes its tokens with it.
    let (_, at) = new_access(Some(&owner), &created, t0() + Duration::hours(1));
    let at = store.create_access_token(at, t0()).await.unwrap();
    assert!(store.delete_application(created.id).await.unwrap());
    assert!(store.get_access_token(at.id).await.unwrap().is_none());
    assert!(!store.delete_application(created.id).await.unwrap());
}

async fn application_constraints(db: &Database) {
    let store = db.store();
    let a = app(&*store, None).await;
    let settings = Settings::default();
    let mut dup = NewApplication::new(ClientType::Public, GrantType::Password, &settings);
    dup.client_id = a.client_id.clone();
    match store.create_application(dup, t0()).await {
        Err(StoreError::Conflict(what)) => assert!(what.contains("client_id"), "{what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let mut orphan = NewApplication::new(ClientType::Public, GrantType::Password, &settings);
    orphan.user_id = Some(424242);
    assert!(matches!(
        store.create_application(orphan, t0()).await,
        Err(StoreError::MissingReference(_))
    ));
}

async fn access_tokens(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let expires = t0() + Duration::seconds(36000);
    let (plain, new) = new_access(Some(&u), &a, expires);
    let at = store.create_access_token(new, t0()).await.unwrap();
    assert_eq!(at.token, plain);
    assert_eq!(at.token_checksum, token_checksum(&plain));
    let found = store
        .find_access_token(&token_checksum(&plain))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, at);
    assert!(found.is_valid(&["read"], t0()));
    assert!(found.is_valid(&["read", "write"], t0()));
    assert!(!found.is_valid(&["admin"], t0()));
    assert!(found.is_valid::<&str>(&[], t0()));
    assert!(!found.is_expired(expires - Duration::microseconds(1)));
    assert!(found.is_expired(expires), "expired at `expires` exactly");
    assert!(!found.is_valid(&["read"], expires));
    let described = found.scopes(&Settings::default().scopes());
    assert_eq!(
        described.get("read").map(String::as_str),
        Some("Reading scope")
    );
    assert_eq!(described.len(), 2);

    let (_, second) = new_access(Some(&u), &a, expires);
    let second = store
        .create_access_token(second, t0() + Duration::seconds(1))
        .await
        .unwrap();
    let listed = store.list_access_tokens_for_user(u.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![second.id, at.id]
    );

    // client_credentials tokens have no user.
    let (_, anon) = new_access(None, &a, expires);
    let anon = store.create_access_token(anon, t0()).await.unwrap();
    assert_eq!(anon.user_id, None);

    assert!(store.delete_access_token(at.id).await.unwrap());
    assert!(store
        .find_access_token(&token_checksum(&plain))
        .await
        .unwrap()
        .is_none());
    assert!(!store.delete_access_token(at.id).await.unwrap());

    // Checksums are unique.
    let (_, mut dup) = new_access(None, &a, expires);
    dup.token_checksum = second.token_checksum.clone();
    assert!(matches!(
        store.create_access_token(dup, t0()).await,
        Err(StoreError::Conflict(_))
    ));
}

/// Many issuances at once (on SQLite they are committed together, group_commit.rs): every
/// success is stored and readable, every failure is an error that wrote nothing, and a
/// failing issuance does not take its neighbours down with it.
async fn concurrent_issuances_each_atomic(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let expires = t0() + Duration::seconds(3600);
    // Rows whose checksums the failing issuances will collide with.
    let (_, taken_at) = new_access(Some(&u), &a, expires);
    let taken_at = store.create_access_token(taken_at, t0()).await.unwrap();
    let taken_rt = store
        .create_refresh_token(new_refresh(&u, &a, None, None), t0())
        .await
        .unwrap();

    const N: usize = 60;
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let (_, mut access) = new_access(Some(&u), &a, expires);
            let mut refresh = (i % 2 == 1).then(|| new_refresh(&u, &a, None, None));
            // Every tenth fails: a duplicate access checksum (alone) or a duplicate refresh
            // checksum (in a pair: its access token must not stay behind).
            let fails = i % 10 == 0 || i % 10 == 5;
            if i % 10 == 0 {
                access.token_checksum = taken_at.token_checksum.clone();
            }
            if i % 10 == 5 {
                if let Some(r) = refresh.as_mut() {
                    r.token_checksum = taken_rt.token_checksum.clone();
                }
            }
            let access_checksum = access.token_checksum.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let result = store
                    .issue_tokens(NewTokenPair { access, refresh }, t0())
                    .await;
                (i, fails, access_checksum, result)
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let (i, fails, access_checksum, result) = t.await.unwrap();
        if fails {
            assert!(
                matches!(result, Err(StoreError::Conflict(_))),
                "issuance {i} must fail with a conflict: {result:?}"
            );
            if i % 10 == 5 {
                assert!(
                    store
                        .find_access_token(&access_checksum)
                        .await
                        .unwrap()
                        .is_none(),
                    "the failed pair {i} left its access token behind"
                );
            }
            continue;
        }
        let (at, rt) = result.unwrap_or_else(|e| panic!("issuance {i}: {e:?}"));
        ok += 1;
        assert_eq!(
            store.find_access_token(&at.token_checksum).await.unwrap(),
            Some(at.clone())
        );
        assert_eq!(rt.is_some(), i % 2 == 1);
        if let Some(rt) = rt {
            assert_eq!(rt.access_token_id, Some(at.id));
            assert_eq!(
                store.find_refresh_token(&rt.token_checksum).await.unwrap(),
                Some(rt)
            );
        }
    }
    assert_eq!(ok, N - N / 5);
    // Nothing else was written: the two seed tokens and the successes.
    let listed = store.list_access_tokens_for_user(u.id).await.unwrap();
    assert_eq!(listed.len(), 1 + ok);
}

/// The hot-path read: a token with its application and user rows, one statement.
async fn access_token_with_owners(db: &Database) {
    let store = db.store();
    let u = user(&*store, "owner").await;
    let a = app(&*store, Some(&u)).await;
    let expires = t0() + Duration::seconds(3600);

    let (plain, new) = new_access(Some(&u), &a, expires);
    let at = store.create_access_token(new, t0()).await.unwrap();
    let found = store
        .find_access_token_with_owners(&token_checksum(&plain))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.token, at);
    assert_eq!(found.application.as_ref(), Some(&a));
    assert_eq!(
        found.user,
        Some(store.get_user(u.id).await.unwrap().unwrap())
    );

    // No user (client_credentials).
    let (plain, new) = new_access(None, &a, expires);
    let anon = store.create_access_token(new, t0()).await.unwrap();
    let found = store
        .find_access_token_with_owners(&token_checksum(&plain))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.token, anon);
    assert_eq!(found.application, Some(a.clone()));
    assert_eq!(found.user, None);

    // No application either.
    let (plain, mut new) = new_access(Some(&u), &a, expires);
    new.application_id = None;
    let bare = store.create_access_token(new, t0()).await.unwrap();
    let found = store
        .find_access_token_with_owners(&token_checksum(&plain))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.token, bare);
    assert_eq!(found.application, None);
    assert_eq!(found.user.map(|x| x.id), Some(u.id));

    // The same answer as the default implementation's three reads.
    let (plain, new) = new_access(Some(&u), &a, expires);
    store.create_access_token(new, t0()).await.unwrap();
    let checksum = token_checksum(&plain);
    let joined = store
        .find_access_token_with_owners(&checksum)
        .await
        .unwrap()
        .unwrap();
    let token = store.find_access_token(&checksum).await.unwrap().unwrap();
    assert_eq!(
        joined.application,
        store.get_application(a.id).await.unwrap()
    );
    assert_eq!(joined.user, store.get_user(u.id).await.unwrap());
    assert_eq!(joined.token, token);

    // Unknown, and unstorable, checksums.
    assert!(store
        .find_access_token_with_owners(&token_checksum("nope"))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_access_token_with_owners("a\0b")
        .await
        .unwrap()
        .is_none());
}

async fn digest_only_storage(db: &Database) {
    let store = db.store();
    let a = app(&*store, None).await;
    let token = "only-the-digest-is-kept";
    let (column, checksum) = stored_token(token, false);
    assert_eq!(column, "");
    let (_, mut new) = new_access(None, &a, t0() + Duration::hours(1));
    new.token = column;
    new.token_checksum = checksum;
    store.create_access_token(new, t0()).await.unwrap();
    let found = store
        .find_access_token(&token_checksum(token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.token, "");
}

async fn refresh_token_revoke(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let (_, at) = new_access(Some(&u), &a, t0() + Duration::hours(1));
    let at = store.create_access_token(at, t0()).await.unwrap();
    let rt = store
        .create_refresh_token(new_refresh(&u, &a, Some(&at), Some(Uuid::new_v4())), t0())
        .await
        .unwrap();
    assert_eq!(rt.access_token_id, Some(at.id));
    assert!(!rt.is_revoked());
    let found = store
        .find_refresh_token(&rt.token_checksum)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, rt);

    let later = t0() + Duration::seconds(10);
    assert!(store.revoke_refresh_token(rt.id, later).await.unwrap());
    let revoked = store.get_refresh_token(rt.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked, Some(later));
    assert_eq!(
        revoked.access_token_id, None,
        "unbound from its access token"
    );
    assert!(
        store.get_access_token(at.id).await.unwrap().is_none(),
        "access token deleted"
    );
    // Revoking again is a no-op.
    assert!(!store
        .revoke_refresh_token(rt.id, later + Duration::seconds(1))
        .await
        .unwrap());
    assert_eq!(
        store
            .get_refresh_token(rt.id)
            .await
            .unwrap()
            .unwrap()
            .revoked,
        Some(later)
    );
}

async fn revoke_access_token_revokes_its_refresh_token(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let (_, at) = new_access(Some(&u), &a, t0() + Duration::hours(1));
    let at = store.create_access_token(at, t0()).await.unwrap();
    let rt = store
        .create_refresh_token(new_refresh(&u, &a, Some(&at), None), t0())
        .await
        .unwrap();
    assert!(store.revoke_access_token(at.id, t0()).await.unwrap());
    assert!(store.get_access_token(at.id).await.unwrap().is_none());
    let rt = store.get_refresh_token(rt.id).await.unwrap().unwrap();
    assert!(rt.is_revoked());
    assert_eq!(rt.access_token_id, None);

    // An access token without a refresh token is simply deleted.
    let (_, lone) = new_access(Some(&u), &a, t0() + Duration::hours(1));
    let lone = store.create_access_token(lone, t0()).await.unwrap();
    assert!(store.revoke_access_token(lone.id, t0()).await.unwrap());
    assert!(!store.revoke_access_token(lone.id, t0()).await.unwrap());
}

async fn token_family_revocation(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let family = Uuid::new_v4();
    let mut ats = Vec::new();
    let mut rts = Vec::new();
    for _ in 0..3 {
        let (_, mut at) = new_access(Some(&u), &a, t0() + Duration::hours(1));
        at.token_family = Some(family);
        let at = store.create_access_token(at, t0()).await.unwrap();
        let rt = store
            .create_refresh_token(new_refresh(&u, &a, Some(&at), Some(family)), t0())
            .await
            .unwrap();
        ats.push(at);
        rts.push(rt);
    }
    // A bystander from another family survives.
    let other = Uuid::new_v4();
    let (_, mut bat) = new_access(Some(&u), &a, t0() + Duration::hours(1));
    bat.token_family = Some(other);
    let bat = store.create_access_token(bat, t0()).await.unwrap();
    let brt = store
        .create_refresh_token(new_refresh(&u, &a, Some(&bat), Some(other)), t0())
        .await
        .unwrap();
    // One of the family was already revoked earlier.
    store.revoke_refresh_token(rts[0].id, t0()).await.unwrap();

    let n = store
        .revoke_token_family(family, t0() + Duration::seconds(3))
        .await
        .unwrap();
    assert_eq!(n, 2, "only live members are counted");
    for (at, rt) in ats.iter().zip(&rts) {
        assert!(store.get_access_token(at.id).await.unwrap().is_none());
        assert!(store
            .get_refresh_token(rt.id)
            .await
            .unwrap()
            .unwrap()
            .is_revoked());
    }
    assert!(store.get_access_token(bat.id).await.unwrap().is_some());
    assert!(!store
        .get_refresh_token(brt.id)
        .await
        .unwrap()
        .unwrap()
        .is_revoked());
}

async fn grant_consumed_once_under_race(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let code = oauth_toolkit_core::generators::generate_token();
    let family = Uuid::new_v4();
    let grant = store
        .create_grant(
            NewGrant {
                user_id: u.id,
                code: code.clone(),
                application_id: a.id,
                expires: t0() + Duration::seconds(60),
                redirect_uri: "https://example.org/cb".into(),
                scope: "read".into(),
                code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
                code_challenge_method: Some(CodeChallengeMethod::S256),
                nonce: "n-0S6_WzA2Mj".into(),
                claims: "{}".into(),
                token_family: family,
                auth_time: None,
                sid: String::new(),
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(grant.code_checksum, token_checksum(&code));
    assert_eq!(grant.code_challenge_method, Some(CodeChallengeMethod::S256));
    assert_eq!(grant.token_family, family);
    assert!(!grant.is_expired(t0() + Duration::seconds(59)));
    assert!(grant.is_expired(t0() + Duration::seconds(60)));
    assert!(grant.redirect_uri_allowed("https://example.org/cb"));
    assert!(!grant.redirect_uri_allowed("https://example.org/cb/"));

    let checksum = token_checksum(&code);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = Arc::clone(&store);
            let checksum = checksum.clone();
            tokio::spawn(async move { store.consume_grant(&checksum, t0()).await.unwrap() })
        })
        .collect();
    let mut now = 0;
    let mut already = 0;
    for t in tasks {
        match t.await.unwrap() {
            Consumed::Now(g) => {
                now += 1;
                assert_eq!(g.consumed, Some(t0()));
            }
            Consumed::Already(_) => already += 1,
            Consumed::Missing => panic!("the grant exists"),
        }
    }
    assert_eq!((now, already), (1, 15), "exactly one consumer wins");
    assert_eq!(
        store.consume_grant("unknown", t0()).await.unwrap(),
        Consumed::Missing
    );
    assert!(store.delete_grant(grant.id).await.unwrap());
    assert!(store.find_grant(&checksum).await.unwrap().is_none());
}

async fn refresh_token_claimed_once_under_race(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let (_, at) = new_access(Some(&u), &a, t0() + Duration::hours(1));
    let at = store.create_access_token(at, t0()).await.unwrap();
    let rt = store
        .create_refresh_token(new_refresh(&u, &a, Some(&at), None), t0())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .claim_refresh_token(rt.id, t0() + Duration::milliseconds(i))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if let Consumed::Now(claimed) = t.await.unwrap() {
            winners += 1;
            assert!(claimed.revoked.is_some());
            assert_eq!(
                claimed.access_token_id,
                Some(at.id),
                "claiming keeps the access token"
            );
        }
    }
    assert_eq!(winners, 1);
    assert!(matches!(
        store.claim_refresh_token(rt.id, t0()).await.unwrap(),
        Consumed::Already(_)
    ));
    assert_eq!(
        store.claim_refresh_token(rt.id + 999, t0()).await.unwrap(),
        Consumed::Missing
    );
}

async fn refresh_token_revoked_once_under_race(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let (_, at) = new_access(Some(&u), &a, t0() + Duration::hours(1));
    let at = store.create_access_token(at, t0()).await.unwrap();
    let rt = store
        .create_refresh_token(new_refresh(&u, &a, Some(&at), None), t0())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.revoke_refresh_token(rt.id, t0()).await.unwrap() })
        })
        .collect();
    let mut revoked = 0;
    for t in tasks {
        if t.await.unwrap() {
            revoked += 1;
        }
    }
    assert_eq!(revoked, 1);
    assert!(store.get_access_token(at.id).await.unwrap().is_none());
}

async fn id_tokens_cascade_to_access_tokens(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let jti = Uuid::new_v4();
    let idt = store
        .create_id_token(
            NewIdToken {
                user_id: Some(u.id),
                application_id: Some(a.id),
                jti,
                expires: t0() + Duration::hours(10),
                scope: "openid".into(),
                auth_time: Some(t0()),
                sid: "s1".into(),
                claims: "{}".into(),
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(idt.jti, jti);
    assert!(idt.is_valid(&["openid"], t0()));
    assert!(!idt.is_valid(&["profile"], t0()));
    assert_eq!(store.find_id_token_by_jti(jti).await.unwrap().unwrap(), idt);
    assert!(store
        .find_id_token_by_jti(Uuid::new_v4())
        .await
        .unwrap()
        .is_none());
    let (_, mut at) = new_access(Some(&u), &a, t0() + Duration::hours(1));
    at.id_token_id = Some(idt.id);
    let at = store.create_access_token(at, t0()).await.unwrap();
    assert!(store.delete_id_token(idt.id).await.unwrap());
    assert!(
        store.get_access_token(at.id).await.unwrap().is_none(),
        "DOT's CASCADE"
    );
}

fn new_id_token(u: &User, a: &Application) -> NewIdToken {
    NewIdToken {
        user_id: Some(u.id),
        application_id: Some(a.id),
        jti: Uuid::new_v4(),
        expires: t0() + Duration::hours(10),
        scope: "openid".into(),
        auth_time: Some(t0()),
        sid: "s".into(),
        claims: "{}".into(),
    }
}

/// RP-initiated logout: the user's access and ID tokens of one application go, its refresh
/// tokens are revoked (and unbound); the user's tokens of other applications, and other
/// users' tokens of that application, are untouched.
async fn logout_deletes_one_clients_tokens(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let other_user = user(&*store, "v").await;
    let a = app(&*store, None).await;
    let b = app(&*store, None).await;
    let mut kept = Vec::new();
    let mut gone = Vec::new();
    let mut refresh = Vec::new();
    for (who, which) in [(&u, &a), (&u, &a), (&u, &b), (&other_user, &a)] {
        let idt = store
            .create_id_token(new_id_token(who, which), t0())
            .await
            .unwrap();
        let (_, mut at) = new_access(Some(who), which, t0() + Duration::hours(1));
        at.id_token_id = Some(idt.id);
        let at = store.create_access_token(at, t0()).await.unwrap();
        let rt = store
            .create_refresh_token(new_refresh(who, which, Some(&at), None), t0())
            .await
            .unwrap();
        let doomed = who.id == u.id && which.id == a.id;
        if doomed {
            gone.push((at.id, idt.id));
        } else {
            kept.push((at.id, idt.id));
        }
        refresh.push((rt.id, doomed));
    }
    let now = t0() + Duration::minutes(5);
    let n = store
        .delete_user_tokens_for_application(u.id, a.id, now)
        .await
        .unwrap();
    assert_eq!(n, 2);
    for (at, idt) in gone {
        assert!(store.get_access_token(at).await.unwrap().is_none());
        assert!(store.get_id_token(idt).await.unwrap().is_none());
    }
    for (at, idt) in kept {
        assert!(store.get_access_token(at).await.unwrap().is_some());
        assert!(store.get_id_token(idt).await.unwrap().is_some());
    }
    for (rt, doomed) in refresh {
        let rt = store.get_refresh_token(rt).await.unwrap().unwrap();
        if doomed {
            assert_eq!(rt.revoked, Some(now));
            assert_eq!(rt.access_token_id, None);
        } else {
            assert_eq!(rt.revoked, None);
        }
    }
    // Nothing left: a second logout deletes nothing.
    assert_eq!(
        store
            .delete_user_tokens_for_application(u.id, a.id, now)
            .await
            .unwrap(),
        0
    );
}

/// Keys: the first one once, rotation adds newer ones (newest first), retirement deletes by kid.
async fn signing_keys_rotate_and_retire(db: &Database) {
    use oauth_toolkit_core::oidc::keys::{generate, KeyAlgorithm};
    let store = db.store();
    let first = generate(KeyAlgorithm::ES256).unwrap();
    let rows = store
        .create_initial_signing_key(first.clone(), t0())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let again = generate(KeyAlgorithm::ES256).unwrap();
    assert_eq!(
        store
            .create_initial_signing_key(again, t0())
            .await
            .unwrap()
            .len(),
        1,
        "one initial key per deployment"
    );
    let second = generate(KeyAlgorithm::ES256).unwrap();
    let added = store.add_signing_key(second.clone(), t0()).await.unwrap();
    assert_eq!(added.kid, second.kid);
    let kids: Vec<String> = store
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, [second.kid.clone(), first.kid.clone()]);
    assert!(store.delete_signing_key(&first.kid).await.unwrap());
    assert!(!store.delete_signing_key(&first.kid).await.unwrap());
    assert_eq!(store.list_signing_keys().await.unwrap().len(), 1);
}

fn new_device(code: &str, user_code: &str) -> NewDeviceGrant {
    NewDeviceGrant {
        device_code: code.into(),
        user_code: user_code.into(),
        scope: "read".into(),
        interval: 5,
        expires: t0() + Duration::seconds(1800),
        client_id: "device-client".into(),
    }
}

async fn device_grants(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let dg = store
        .create_device_grant(new_device("dc-1", "ABCDEFGH"), t0())
        .await
        .unwrap();
    assert_eq!(dg.status, DeviceGrantStatus::AuthorizationPending);
    assert_eq!(dg.device_code_checksum, token_checksum("dc-1"));
    assert!(!dg.is_expired(t0()));
    assert!(dg.is_expired(t0() + Duration::seconds(1800)));
    match store
        .create_device_grant(new_device("dc-2", "ABCDEFGH"), t0())
        .await
    {
        Err(StoreError::Conflict(what)) => assert!(what.contains("user_code"), "{what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let by_code = store
        .find_device_grant_by_user_code("ABCDEFGH")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_code, dg);
    assert!(store
        .transition_device_grant(
            dg.id,
            DeviceGrantStatus::AuthorizationPending,
            DeviceGrantStatus::Authorized,
            Some(u.id)
        )
        .await
        .unwrap());
    // A second transition from the old status does nothing.
    assert!(!store
        .transition_device_grant(
            dg.id,
            DeviceGrantStatus::AuthorizationPending,
            DeviceGrantStatus::Denied,
            None
        )
        .await
        .unwrap());
    let now = store
        .find_device_grant(&token_checksum("dc-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.status, DeviceGrantStatus::Authorized);
    assert_eq!(now.user_id, Some(u.id));
}

async fn device_grant_taken_once_under_race(db: &Database) {
    let store = db.store();
    let dg = store
        .create_device_grant(new_device("dc-race", "RACERACE"), t0())
        .await
        .unwrap();
    // Not authorized yet: nothing to take.
    assert!(store
        .take_authorized_device_grant(&dg.device_code_checksum)
        .await
        .unwrap()
        .is_none());
    store
        .transition_device_grant(
            dg.id,
            DeviceGrantStatus::AuthorizationPending,
            DeviceGrantStatus::Authorized,
            None,
        )
        .await
        .unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = Arc::clone(&store);
            let c = dg.device_code_checksum.clone();
            tokio::spawn(async move { store.take_authorized_device_grant(&c).await.unwrap() })
        })
        .collect();
    let mut taken = 0;
    for t in tasks {
        if t.await.unwrap().is_some() {
            taken += 1;
        }
    }
    assert_eq!(taken, 1);
}

async fn device_grant_bound_to_the_first_user(db: &Database) {
    let store = db.store();
    let (a, b) = (user(&*store, "a").await, user(&*store, "b").await);
    let dg = store
        .create_device_grant(new_device("dc-bind", "BINDBIND"), t0())
        .await
        .unwrap();
    assert!(store.bind_device_grant(dg.id, a.id).await.unwrap());
    assert!(
        store.bind_device_grant(dg.id, a.id).await.unwrap(),
        "again by the same user"
    );
    assert!(
        !store.bind_device_grant(dg.id, b.id).await.unwrap(),
        "taken by a"
    );
    let now = store
        .find_device_grant_by_user_code("BINDBIND")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.user_id, Some(a.id));
    // Only pending grants can be bound.
    store
        .transition_device_grant(
            dg.id,
            DeviceGrantStatus::AuthorizationPending,
            DeviceGrantStatus::Denied,
            None,
        )
        .await
        .unwrap();
    assert!(!store.bind_device_grant(dg.id, a.id).await.unwrap());
    assert!(!store.bind_device_grant(i64::MAX, a.id).await.unwrap());
}

async fn device_grant_polling_rate(db: &Database) {
    let store = db.store();
    let dg = store
        .create_device_grant(new_device("dc-poll", "POLLPOLL"), t0())
        .await
        .unwrap();
    assert_eq!(dg.last_checked, None);
    // First poll: accepted and recorded.
    assert_eq!(
        store.poll_device_grant(dg.id, t0(), 20).await.unwrap(),
        DevicePoll::Accepted
    );
    let row = |store: std::sync::Arc<dyn Store>| async move {
        store
            .find_device_grant_by_user_code("POLLPOLL")
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(row(store.clone()).await.last_checked, Some(t0()));
    // 4.999999 s later (interval 5): too fast; the interval grows by 5 and the wait restarts.
    let t1 = t0() + Duration::microseconds(4_999_999);
    assert_eq!(
        store.poll_device_grant(dg.id, t1, 20).await.unwrap(),
        DevicePoll::SlowDown { interval: 10 }
    );
    let r = row(store.clone()).await;
    assert_eq!((r.interval, r.last_checked), (10, Some(t1)));
    // Exactly the (new) interval later: accepted.
    let t2 = t1 + Duration::seconds(10);
    assert_eq!(
        store.poll_device_grant(dg.id, t2, 20).await.unwrap(),
        DevicePoll::Accepted
    );
    // The growth stops at the cap.
    let mut t = t2;
    for expected in [15, 20, 20] {
        t += Duration::seconds(1);
        assert_eq!(
            store.poll_device_grant(dg.id, t, 20).await.unwrap(),
            DevicePoll::SlowDown { interval: expected }
        );
    }
    assert_eq!(
        store.poll_device_grant(i64::MAX, t, 20).await.unwrap(),
        DevicePoll::Missing
    );
}

async fn device_grant_poll_gate_under_race(db: &Database) {
    let store = db.store();
    let dg = store
        .create_device_grant(new_device("dc-poll-race", "POLLRACE"), t0())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.poll_device_grant(dg.id, t0(), 60).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        if t.await.unwrap() == DevicePoll::Accepted {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1, "exactly one poll passes the gate");
}

async fn secrets_agree_under_race(db: &Database) {
    let store = db.store();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .get_or_create_secret("session_key", &format!("candidate-{i}"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut values = Vec::new();
    for t in tasks {
        values.push(t.await.unwrap());
    }
    values.dedup();
    assert_eq!(
        values.len(),
        1,
        "every caller sees the same secret: {values:?}"
    );
    assert!(values[0].starts_with("candidate-"));
}

async fn migrations_are_idempotent(db: &Database) {
    let applied = db.applied_migrations().await.unwrap();
    assert!(applied >= 1);
    db.migrate().await.unwrap();
    assert_eq!(db.applied_migrations().await.unwrap(), applied);
}

/// DOT's clear_expired test: 200 access tokens (half expired), 50
/// refresh tokens on alternating expired/current access tokens, 200 grants (half expired),
/// `refresh_token_expire_seconds = 500`, batch size 10.
async fn cleartokens_dot_scenario(db: &Database) {
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

async fn cleartokens_grace_and_reuse_protection(db: &Database) {
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
async fn cleartokens_one_million(db: &Database) {
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
mod oauth_toolkit_store_test_support {
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

/// Sessions: found while live, for their user only; ended one by one or all of a user's.
async fn sessions(db: &Database) {
    let store = db.store();
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    let later = t0() + Duration::hours(1);
    for (sid, u) in [("a1", &alice), ("a2", &alice), ("b1", &bob)] {
        store
            .create_session(&token_checksum(sid), u.id, t0(), later, t0())
            .await
            .unwrap();
    }
    let found = store
        .find_session_user(&token_checksum("a1"), t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, alice.id);
    assert!(
        store
            .find_session_user(&token_checksum("a1"), later)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(store
        .find_session_user("nul\0", t0())
        .await
        .unwrap()
        .is_none());
    assert!(store.delete_session(&token_checksum("a1")).await.unwrap());
    assert!(!store.delete_session(&token_checksum("a1")).await.unwrap());
    assert_eq!(store.delete_user_sessions(alice.id).await.unwrap(), 1);
    assert!(
        store
            .find_session_user(&token_checksum("b1"), t0())
            .await
            .unwrap()
            .is_some(),
        "another user's session stays"
    );
    // A duplicated session id is a conflict, not a second row.
    let dup = store
        .create_session(&token_checksum("b1"), alice.id, t0(), later, t0())
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
}

/// 24 concurrent attempts under one key count 1..=24 exactly once each; a closed window
/// starts again at 1; clearing forgets the key.
async fn throttle_counts_under_race(db: &Database) {
    let store = db.store();
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.count_attempt("k", t0(), 60).await.unwrap().attempts
        }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort();
    assert_eq!(counts, (1..=24).collect::<Vec<i64>>());
    let w = store.attempts("k", t0()).await.unwrap().unwrap();
    assert_eq!(w.attempts, 24);
    assert_eq!(w.window_end, t0() + Duration::seconds(60));
    // The window closes: nothing is open, and the next attempt starts a new one.
    let after = t0() + Duration::seconds(60);
    assert!(store.attempts("k", after).await.unwrap().is_none());
    let w = store.count_attempt("k", after, 60).await.unwrap();
    assert_eq!(
        (w.attempts, w.window_end),
        (1, after + Duration::seconds(60))
    );
    store.clear_attempts("k").await.unwrap();
    assert!(store.attempts("k", after).await.unwrap().is_none());
}
