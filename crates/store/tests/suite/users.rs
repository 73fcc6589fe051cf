//! Users, sessions, throttles, shared secrets and migrations.

use super::*;

pub(super) async fn users(db: &Database) {
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

pub(super) async fn authentication_upgrades_django_hashes(db: &Database) {
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

pub(super) async fn secrets_agree_under_race(db: &Database) {
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

pub(super) async fn migrations_are_idempotent(db: &Database) {
    let applied = db.applied_migrations().await.unwrap();
    assert!(applied >= 1);
    db.migrate().await.unwrap();
    assert_eq!(db.applied_migrations().await.unwrap(), applied);
}

/// Sessions: found while live, for their user only; ended one by one or all of a user's.
pub(super) async fn sessions(db: &Database) {
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
pub(super) async fn throttle_counts_under_race(db: &Database) {
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
