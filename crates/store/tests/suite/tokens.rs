//! Access and refresh tokens: issuance, lookup, revocation and single use under races.

use super::*;

pub(super) async fn access_tokens(db: &Database) {
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

/// Many issuances at once (on SQLite they are committed together by the writer thread,
/// sqlite/writer.rs): every success is stored and readable, every failure is an error that
/// wrote nothing, and a failing issuance does not take its neighbours down with it.
pub(super) async fn concurrent_issuances_each_atomic(db: &Database) {
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
pub(super) async fn access_token_with_owners(db: &Database) {
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

pub(super) async fn digest_only_storage(db: &Database) {
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

pub(super) async fn refresh_token_revoke(db: &Database) {
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

pub(super) async fn revoke_access_token_revokes_its_refresh_token(db: &Database) {
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

pub(super) async fn token_family_revocation(db: &Database) {
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

pub(super) async fn refresh_token_claimed_once_under_race(db: &Database) {
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

pub(super) async fn refresh_token_revoked_once_under_race(db: &Database) {
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

pub(super) async fn refresh_token_rotated_once_under_race(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let family = Some(Uuid::new_v4());
    let (old_value, mut at) = new_access(Some(&u), &a, t0() + Duration::hours(1));
    at.token_family = family;
    let (at, rt) = store
        .issue_tokens(
            NewTokenPair {
                access: at,
                refresh: Some(new_refresh(&u, &a, None, family)),
            },
            t0(),
        )
        .await
        .unwrap();
    let rt = rt.unwrap();
    // The joined read of a refresh: the refresh token with its access token and user.
    let found = store
        .find_refresh_token_with_owners(&rt.token_checksum)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.refresh.id, rt.id);
    assert_eq!(found.access.as_ref().map(|a| a.id), Some(at.id));
    assert_eq!(found.user.as_ref().map(|x| x.id), Some(u.id));
    assert!(store
        .find_refresh_token_with_owners("no such checksum")
        .await
        .unwrap()
        .is_none());

    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            let (value, mut access) = new_access(Some(&u), &a, t0() + Duration::hours(2));
            access.token_family = family;
            access.scope = "read".into();
            let pair = NewTokenPair {
                access,
                refresh: Some(new_refresh(&u, &a, None, family)),
            };
            let now = t0() + Duration::milliseconds(i);
            tokio::spawn(async move {
                (
                    value,
                    store
                        .rotate_refresh_token(rt.id, at.id, pair, now)
                        .await
                        .unwrap(),
                )
            })
        })
        .collect();
    let mut rotated = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (value, Rotation::Rotated(pair)) => rotated.push((value, *pair)),
            (_, other) => assert_eq!(other, Rotation::AlreadyRevoked),
        }
    }
    assert_eq!(rotated.len(), 1, "exactly one rotation wins");
    let (new_value, (new_at, new_rt)) = rotated.remove(0);
    assert_eq!(new_at.source_refresh_token_id, Some(rt.id));
    assert_eq!(new_at.scope, "read");
    assert_eq!(new_rt.access_token_id, Some(new_at.id));
    // The old value is gone at once; the new one is found, bound to the new refresh token.
    assert!(store
        .find_access_token(&token_checksum(&old_value))
        .await
        .unwrap()
        .is_none());
    let live = store
        .find_access_token(&token_checksum(&new_value))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.id, new_at.id);
    let old = store.get_refresh_token(rt.id).await.unwrap().unwrap();
    assert!(old.is_revoked());
    assert_eq!(
        old.access_token_id, None,
        "the old refresh token is unbound"
    );
    assert_eq!(
        store
            .find_access_token_by_source(rt.id)
            .await
            .unwrap()
            .map(|t| t.id),
        Some(new_at.id)
    );
    // A live refresh token bound to another access token is not rotated.
    let (_, other) = new_access(Some(&u), &a, t0() + Duration::hours(1));
    let other = store.create_access_token(other, t0()).await.unwrap();
    let pair = NewTokenPair {
        access: new_access(Some(&u), &a, t0() + Duration::hours(1)).1,
        refresh: Some(new_refresh(&u, &a, None, family)),
    };
    assert_eq!(
        store
            .rotate_refresh_token(new_rt.id, other.id, pair.clone(), t0())
            .await
            .unwrap(),
        Rotation::Missing
    );
    assert!(!store
        .get_refresh_token(new_rt.id)
        .await
        .unwrap()
        .unwrap()
        .is_revoked());
    assert_eq!(
        store
            .rotate_refresh_token(rt.id + 999, at.id, pair, t0())
            .await
            .unwrap(),
        Rotation::Missing
    );
}
