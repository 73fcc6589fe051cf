//! Device grants: lookup, single use, binding and polling.

use super::*;

pub(super) fn new_device(code: &str, user_code: &str) -> NewDeviceGrant {
    NewDeviceGrant {
        device_code: code.into(),
        user_code: user_code.into(),
        scope: "read".into(),
        interval: 5,
        expires: t0() + Duration::seconds(1800),
        client_id: "device-client".into(),
    }
}

pub(super) async fn device_grants(db: &Database) {
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

pub(super) async fn device_grant_taken_once_under_race(db: &Database) {
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

pub(super) async fn device_grant_bound_to_the_first_user(db: &Database) {
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

pub(super) async fn device_grant_polling_rate(db: &Database) {
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

pub(super) async fn device_grant_poll_gate_under_race(db: &Database) {
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
