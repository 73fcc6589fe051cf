//! Authorization codes, ID tokens and logout.

use super::*;

pub(super) async fn grant_consumed_once_under_race(db: &Database) {
    let store = db.store();
    let u = user(&*store, "u").await;
    let a = app(&*store, Some(&u)).await;
    let code = oauth_toolkit_core::generators::generate_token();
    let family = Uuid::new_v4();
    let grant = store
        .create_grant(
            NewGrant {
                resource: String::new(),
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

pub(super) async fn id_tokens_cascade_to_access_tokens(db: &Database) {
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

pub(super) fn new_id_token(u: &User, a: &Application) -> NewIdToken {
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
pub(super) async fn logout_deletes_one_clients_tokens(db: &Database) {
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
