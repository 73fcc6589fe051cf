//! The admin's bulk actions: revoking all of a user's tokens, deleting a user.

use super::*;

/// What a user holds in one application, for `revoke_user_tokens`.
struct Holdings {
    access: Vec<AccessToken>,
    refresh: Vec<RefreshToken>,
    id_tokens: Vec<IdToken>,
    grants: Vec<Grant>,
    devices: Vec<DeviceGrant>,
}

/// Of `u` in `a`: two access tokens (one expired, one with a live refresh token), a refresh
/// token revoked before, an ID token, an unused and a used code, and a pending, an
/// authorized and a denied device grant.
async fn holdings(store: &dyn Store, u: &User, a: &Application) -> Holdings {
    use DeviceGrantStatus::*;
    let (live, dead) = (t0() + Duration::hours(1), t0() - Duration::seconds(1));
    let at = access(store, Some(u), a, live).await;
    let expired = access(store, Some(u), a, dead).await;
    let rt = refresh(store, u, a, Some(&at)).await;
    let old = refresh(store, u, a, None).await;
    assert!(store.revoke_refresh_token(old.id, t0()).await.unwrap());
    let unused = grant(store, u, a, live).await;
    let used = grant(store, u, a, live).await;
    let Consumed::Now(used) = store
        .consume_grant(&used.code_checksum, t0())
        .await
        .unwrap()
    else {
        panic!("an unused code is consumed");
    };
    Holdings {
        access: vec![at, expired],
        refresh: vec![rt, old],
        id_tokens: vec![id_token(store, u, a, live).await],
        grants: vec![unused, used],
        devices: vec![
            device(store, a, live, AuthorizationPending, Some(u)).await,
            device(store, a, live, Authorized, Some(u)).await,
            device(store, a, live, Denied, Some(u)).await,
        ],
    }
}

/// Whether `h` is as `holdings` made it (`true`) or as a revocation leaves it.
async fn check(store: &dyn Store, h: &Holdings, intact: bool, revoked_at: OffsetDateTime) {
    for at in &h.access {
        let now = store.get_access_token(at.id).await.unwrap();
        assert_eq!(now.as_ref(), intact.then_some(at), "access token {}", at.id);
        let by_value = store.find_access_token(&at.token_checksum).await.unwrap();
        assert_eq!(by_value.is_some(), intact);
    }
    let rt = store
        .get_refresh_token(h.refresh[0].id)
        .await
        .unwrap()
        .unwrap();
    if intact {
        assert_eq!(rt, h.refresh[0]);
    } else {
        assert_eq!(
            rt.revoked,
            Some(revoked_at),
            "the live refresh token is revoked"
        );
        assert_eq!(rt.access_token_id, None, "and unbound");
    }
    let old = store.get_refresh_token(h.refresh[1].id).await.unwrap();
    assert_eq!(
        old.unwrap().revoked,
        Some(t0()),
        "revoked before: left as it was"
    );
    let idt = store.get_id_token(h.id_tokens[0].id).await.unwrap();
    assert_eq!(idt.is_some(), intact);
    let admin = admin(store);
    let unused = admin.get_grant(h.grants[0].id).await.unwrap();
    assert_eq!(unused.is_some(), intact);
    let used = admin.get_grant(h.grants[1].id).await.unwrap();
    assert_eq!(used.as_ref(), Some(&h.grants[1]), "a used code stays");
    for (i, d) in h.devices.iter().enumerate() {
        let now = admin.get_device_grant(d.id).await.unwrap().unwrap();
        let status = if intact {
            d.status
        } else {
            DeviceGrantStatus::Denied
        };
        assert_eq!(now.status, status, "device grant {i}");
    }
}

pub(crate) async fn admin_revoke_user_tokens(db: &Database) {
    let store = &*db.store();
    let (u1, u2) = (user(store, "u1").await, user(store, "u2").await);
    let (a1, a2) = (plain_app(store, "a1").await, plain_app(store, "a2").await);
    let u1_a1 = holdings(store, &u1, &a1).await;
    let u1_a2 = holdings(store, &u1, &a2).await;
    let u2_a1 = holdings(store, &u2, &a1).await;
    let admin = admin(store);
    let later = t0() + Duration::seconds(5);
    // Per application, each kind once: two access tokens (expired too), the one live refresh
    // token, the ID token, the unused code, the pending and the authorized device grant.
    let per_app = RevokedCounts {
        access_tokens: 2,
        refresh_tokens: 1,
        grants: 1,
        id_tokens: 1,
        device_grants: 2,
    };
    let counts = admin.revoke_user_tokens(u1.id, Some(a1.id), later).await;
    assert_eq!(counts.unwrap(), per_app);
    check(store, &u1_a1, false, later).await;
    check(store, &u1_a2, true, later).await;
    check(store, &u2_a1, true, later).await;
    let again = admin.revoke_user_tokens(u1.id, Some(a1.id), later).await;
    assert_eq!(again.unwrap(), RevokedCounts::default());

    let all = admin.revoke_user_tokens(u1.id, None, later).await;
    assert_eq!(
        all.unwrap(),
        per_app,
        "what was left: the other application's"
    );
    check(store, &u1_a2, false, later).await;
    check(store, &u2_a1, true, later).await;
    let again = admin.revoke_user_tokens(u1.id, None, later).await;
    assert_eq!(
        again.unwrap(),
        RevokedCounts::default(),
        "nothing left to revoke"
    );

    let of_u1 = q(|q| q.user_id = Some(u1.id));
    assert!(admin.admin_access_tokens(&of_u1).await.unwrap().is_empty());
    let live_of_u1 = q(|q| (q.user_id, q.live) = (Some(u1.id), Some(true)));
    assert!(admin
        .admin_refresh_tokens(&live_of_u1)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(admin.admin_refresh_tokens(&of_u1).await.unwrap().len(), 4);
    let of_u2 = q(|q| q.user_id = Some(u2.id));
    assert_eq!(admin.admin_access_tokens(&of_u2).await.unwrap().len(), 2);
    // A user without anything, and one that does not exist.
    let u3 = user(store, "u3").await;
    let none = admin.revoke_user_tokens(u3.id, None, later).await.unwrap();
    assert_eq!(none, RevokedCounts::default());
    let none = admin
        .revoke_user_tokens(u3.id + 1000, Some(a1.id), later)
        .await;
    assert_eq!(none.unwrap(), RevokedCounts::default());
}

pub(crate) async fn admin_delete_user_cascades(db: &Database) {
    let store = &*db.store();
    let (gone, other) = (user(store, "gone").await, user(store, "other").await);
    let (ct, gt) = (ClientType::Public, GrantType::AuthorizationCode);
    let owned = named_app(store, Some(&gone), "owned", "owned", ct, gt).await;
    let shared = plain_app(store, "shared").await;
    let h = holdings(store, &gone, &shared).await;
    let live = t0() + Duration::hours(1);
    let in_owned = access(store, Some(&other), &owned, live).await;
    let kept = access(store, Some(&other), &shared, live).await;
    let kept_refresh = refresh(store, &other, &shared, Some(&kept)).await;
    store
        .create_session("sid-of-gone", gone.id, t0(), live, t0())
        .await
        .unwrap();
    let admin = admin(store);

    assert!(admin.delete_user(gone.id).await.unwrap());
    assert!(!admin.delete_user(gone.id).await.unwrap(), "deleted once");
    assert_eq!(store.get_user(gone.id).await.unwrap(), None);
    assert_eq!(store.get_application(owned.id).await.unwrap(), None);
    for at in &h.access {
        assert_eq!(store.get_access_token(at.id).await.unwrap(), None);
    }
    for rt in &h.refresh {
        assert_eq!(store.get_refresh_token(rt.id).await.unwrap(), None);
    }
    assert_eq!(store.get_id_token(h.id_tokens[0].id).await.unwrap(), None);
    for g in &h.grants {
        assert_eq!(admin.get_grant(g.id).await.unwrap(), None);
    }
    for d in &h.devices {
        assert_eq!(admin.get_device_grant(d.id).await.unwrap(), None);
    }
    let session = store.find_session_user("sid-of-gone", t0()).await.unwrap();
    assert_eq!(session, None);
    // Another user's token in the deleted user's application went with the application.
    assert_eq!(store.get_access_token(in_owned.id).await.unwrap(), None);
    assert_eq!(
        store.get_access_token(kept.id).await.unwrap(),
        Some(kept.clone())
    );
    assert_eq!(
        store.get_refresh_token(kept_refresh.id).await.unwrap(),
        Some(kept_refresh)
    );
    let users = admin.admin_users(&AdminQuery::default()).await.unwrap();
    assert_eq!(ids(&users), vec![other.id]);
    let of_gone = q(|q| q.user_id = Some(gone.id));
    assert!(admin
        .admin_device_grants(&of_gone)
        .await
        .unwrap()
        .is_empty());
    assert!(!admin.delete_user(other.id + 1000).await.unwrap());
}
