//! Each filter of each list, alone and combined.

use super::*;

pub(crate) async fn admin_application_filters(db: &Database) {
    let store = &*db.store();
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let (conf, public) = (ClientType::Confidential, ClientType::Public);
    let code = GrantType::AuthorizationCode;
    let a1 = named_app(store, Some(&alice), "Alpha Portal", "c1", conf, code).await;
    let a2 = named_app(
        store,
        Some(&alice),
        "beta",
        "c2",
        public,
        GrantType::Implicit,
    )
    .await;
    let cc = GrantType::ClientCredentials;
    let a3 = named_app(store, Some(&bob), "Gamma", "gamma-CLIENT-xyz", conf, cc).await;
    let a4 = named_app(store, None, "alphabet", "c4", public, code).await;
    let admin = admin(store);
    let apps = |f: fn(&mut AdminQuery)| async move { page(admin, List::Applications, &q(f)).await };
    assert_eq!(apps(|_| {}).await, desc(&[&a1, &a2, &a3, &a4]));
    let alice_id = alice.id;
    let of_alice = page(
        admin,
        List::Applications,
        &q(|q| q.user_id = Some(alice_id)),
    )
    .await;
    assert_eq!(of_alice, desc(&[&a1, &a2]));
    let q_bob = q(|q| q.user_id = Some(bob.id));
    assert_eq!(page(admin, List::Applications, &q_bob).await, desc(&[&a3]));
    assert_eq!(
        apps(|q| q.client_type = Some(ClientType::Public)).await,
        desc(&[&a2, &a4])
    );
    assert_eq!(
        apps(|q| q.grant_type = Some(GrantType::AuthorizationCode)).await,
        desc(&[&a1, &a4])
    );
    assert_eq!(
        apps(|q| q.text = Some("alpha".into())).await,
        desc(&[&a1, &a4]),
        "a substring of the name, whatever the case"
    );
    assert_eq!(
        apps(|q| q.text = Some("ALPHA".into())).await,
        desc(&[&a1, &a4])
    );
    assert_eq!(
        apps(|q| q.text = Some("client-x".into())).await,
        desc(&[&a3]),
        "a substring of the client id"
    );
    assert!(apps(|q| q.text = Some("nothing".into())).await.is_empty());
    assert!(apps(|q| q.text = Some("al\0pha".into())).await.is_empty());
    let alpha_of_alice = q(|q| (q.text, q.user_id) = (Some("alpha".into()), Some(alice_id)));
    assert_eq!(
        page(admin, List::Applications, &alpha_of_alice).await,
        desc(&[&a1])
    );
    assert_eq!(
        apps(|q| {
            q.client_type = Some(ClientType::Confidential);
            q.grant_type = Some(GrantType::ClientCredentials);
        })
        .await,
        desc(&[&a3])
    );
    let three = q(|q| {
        q.user_id = Some(alice_id);
        q.client_type = Some(ClientType::Public);
        q.grant_type = Some(GrantType::AuthorizationCode);
    });
    assert!(page(admin, List::Applications, &three).await.is_empty());
    let one = q(|q| q.application_id = Some(a3.id));
    assert_eq!(page(admin, List::Applications, &one).await, desc(&[&a3]));
}

pub(crate) async fn admin_user_filters(db: &Database) {
    let store = &*db.store();
    let mut made = Vec::new();
    for (name, email, active, staff) in [
        ("alice", "alice@example.org", true, true),
        ("bob", "bob@corp.example", false, false),
        ("carol", "CAROL@Example.ORG", false, true),
        ("dave", "dave@corp.example", true, false),
    ] {
        let mut nu = NewUser::new(name, "!unusable");
        (nu.email, nu.is_active, nu.is_staff) = (email.into(), active, staff);
        made.push(store.create_user(nu, t0()).await.unwrap());
    }
    let [alice, bob, carol, dave] = [&made[0], &made[1], &made[2], &made[3]];
    let admin = admin(store);
    let users = |f: fn(&mut AdminQuery)| async move { page(admin, List::Users, &q(f)).await };
    assert_eq!(users(|_| {}).await, desc(&[alice, bob, carol, dave]));
    let text = |t: &str| {
        let t = t.to_string();
        async move { page(admin, List::Users, &q(|q| q.text = Some(t))).await }
    };
    assert_eq!(
        text("example.org").await,
        desc(&[alice, carol]),
        "email, any case"
    );
    assert_eq!(text("corp").await, desc(&[bob, dave]));
    assert_eq!(text("ALI").await, desc(&[alice]), "username, any case");
    assert_eq!(users(|q| q.live = Some(true)).await, desc(&[alice, dave]));
    assert_eq!(users(|q| q.live = Some(false)).await, desc(&[bob, carol]));
    assert_eq!(users(|q| q.staff = Some(true)).await, desc(&[alice, carol]));
    assert_eq!(users(|q| q.staff = Some(false)).await, desc(&[bob, dave]));
    let staff_inactive = users(|q| (q.staff, q.live) = (Some(true), Some(false))).await;
    assert_eq!(staff_inactive, desc(&[carol]));
    let corp_active = q(|q| (q.text, q.live) = (Some("corp".into()), Some(true)));
    assert_eq!(page(admin, List::Users, &corp_active).await, desc(&[dave]));
    let one = q(|q| q.user_id = Some(bob.id));
    assert_eq!(page(admin, List::Users, &one).await, desc(&[bob]));
}

/// `%`, `_` and `\` in the search text match themselves, not as wildcards.
pub(crate) async fn admin_text_search_escapes_wildcards(db: &Database) {
    let store = &*db.store();
    let mut apps = Vec::new();
    for (i, name) in [
        "100% pure",
        "1000 pure",
        "a_b",
        "axb",
        "back\\slash",
        "backslash",
    ]
    .into_iter()
    .enumerate()
    {
        apps.push(plain_app(store, &format!("client{i}")).await);
        let mut a = apps[i].clone();
        a.name = name.into();
        apps[i] = store.update_application(&a, t0()).await.unwrap().unwrap();
    }
    let admin = admin(store);
    let search = |t: &str| {
        let t = t.to_string();
        async move { page(admin, List::Applications, &q(|q| q.text = Some(t))).await }
    };
    assert_eq!(search("100%").await, desc(&[&apps[0]]));
    assert_eq!(search("%").await, desc(&[&apps[0]]));
    assert_eq!(search("a_b").await, desc(&[&apps[2]]));
    assert_eq!(search("_").await, desc(&[&apps[2]]));
    assert_eq!(search("k\\s").await, desc(&[&apps[4]]));
    assert_eq!(search("pure").await, desc(&[&apps[0], &apps[1]]));

    let mut nu = NewUser::new("50%off", "!unusable");
    nu.email = "x_y@example.org".into();
    let u1 = store.create_user(nu, t0()).await.unwrap();
    let mut nu = NewUser::new("50off", "!unusable");
    nu.email = "xzy@example.org".into();
    let u2 = store.create_user(nu, t0()).await.unwrap();
    let users = |t: &str| {
        let t = t.to_string();
        async move { page(admin, List::Users, &q(|q| q.text = Some(t))).await }
    };
    assert_eq!(users("50%").await, desc(&[&u1]));
    assert_eq!(users("x_y").await, desc(&[&u1]));
    assert_eq!(users("off").await, desc(&[&u1, &u2]));
}

pub(crate) async fn admin_token_filters(db: &Database) {
    let store = &*db.store();
    let (u1, u2) = (user(store, "u1").await, user(store, "u2").await);
    let (a1, a2) = (plain_app(store, "a1").await, plain_app(store, "a2").await);
    let (live, dead) = (t0() + Duration::hours(1), t0() - Duration::seconds(1));
    let x1 = access(store, Some(&u1), &a1, live).await;
    let x2 = access(store, Some(&u1), &a2, dead).await;
    let x3 = access(store, Some(&u2), &a1, live).await;
    let x4 = access(store, Some(&u2), &a2, dead).await;
    let x5 = access(store, None, &a1, live).await;
    let admin = admin(store);
    let (u1i, u2i, a1i, a2i) = (u1.id, u2.id, a1.id, a2.id);
    let at = |q: AdminQuery| async move { page(admin, List::AccessTokens, &q).await };
    assert_eq!(at(q(|q| q.user_id = Some(u1i))).await, desc(&[&x1, &x2]));
    assert_eq!(
        at(q(|q| q.application_id = Some(a1i))).await,
        desc(&[&x1, &x3, &x5])
    );
    let both = q(|q| (q.user_id, q.application_id) = (Some(u1i), Some(a1i)));
    assert_eq!(at(both).await, desc(&[&x1]));
    assert_eq!(at(q(|q| q.live = Some(true))).await, desc(&[&x1, &x3, &x5]));
    assert_eq!(at(q(|q| q.live = Some(false))).await, desc(&[&x2, &x4]));
    let expired_of_u2 = q(|q| (q.user_id, q.live) = (Some(u2i), Some(false)));
    assert_eq!(at(expired_of_u2).await, desc(&[&x4]));
    // By state the list is ordered by expiry: the next page starts after (expires, id).
    let (x5_id, x5_expires) = (x5.id, x5.expires);
    let three = q(|q| {
        (q.application_id, q.live) = (Some(a1i), Some(true));
        (q.before_id, q.before_expires) = (Some(x5_id), Some(x5_expires));
    });
    assert_eq!(at(three).await, desc(&[&x1, &x3]));
    let later = q(|q| (q.live, q.now) = (Some(true), Some(t0() + Duration::hours(2))));
    assert!(at(later).await.is_empty(), "live is judged at `now`");
    // Exactly at the expiry a token is no longer live (as everywhere else).
    let at_expiry = q(|q| (q.live, q.now) = (Some(true), Some(live)));
    assert!(at(at_expiry).await.is_empty());

    let r1 = refresh(store, &u1, &a1, Some(&x1)).await;
    let r2 = refresh(store, &u1, &a2, None).await;
    assert!(store.revoke_refresh_token(r2.id, t0()).await.unwrap());
    let r3 = refresh(store, &u2, &a1, Some(&x3)).await;
    let rt = |q: AdminQuery| async move { page(admin, List::RefreshTokens, &q).await };
    assert_eq!(rt(q(|q| q.user_id = Some(u1i))).await, desc(&[&r1, &r2]));
    assert_eq!(rt(q(|q| q.live = Some(true))).await, desc(&[&r1, &r3]));
    assert_eq!(rt(q(|q| q.live = Some(false))).await, desc(&[&r2]));
    assert_eq!(
        rt(q(|q| q.application_id = Some(a1i))).await,
        desc(&[&r1, &r3])
    );
    let live_of_u1 = q(|q| (q.user_id, q.live) = (Some(u1i), Some(true)));
    assert_eq!(rt(live_of_u1).await, desc(&[&r1]));

    let i1 = id_token(store, &u1, &a1, live).await;
    let i2 = id_token(store, &u1, &a2, dead).await;
    let i3 = id_token(store, &u2, &a1, dead).await;
    let it = |q: AdminQuery| async move { page(admin, List::IdTokens, &q).await };
    assert_eq!(it(q(|q| q.live = Some(true))).await, desc(&[&i1]));
    assert_eq!(it(q(|q| q.live = Some(false))).await, desc(&[&i2, &i3]));
    assert_eq!(it(q(|q| q.user_id = Some(u1i))).await, desc(&[&i1, &i2]));
    assert_eq!(
        it(q(|q| q.application_id = Some(a1i))).await,
        desc(&[&i1, &i3])
    );
    let expired_of_a1 = q(|q| (q.application_id, q.live) = (Some(a1i), Some(false)));
    assert_eq!(it(expired_of_a1).await, desc(&[&i3]));
    assert!(it(q(|q| q.application_id = Some(a2i + 1000)))
        .await
        .is_empty());
}

pub(crate) async fn admin_grant_and_device_filters(db: &Database) {
    let store = &*db.store();
    let (u1, u2) = (user(store, "u1").await, user(store, "u2").await);
    let (a1, a2) = (plain_app(store, "a1").await, plain_app(store, "a2").await);
    let (live, dead) = (t0() + Duration::hours(1), t0() - Duration::seconds(1));
    let g1 = grant(store, &u1, &a1, live).await;
    let g2 = grant(store, &u1, &a1, live).await;
    assert!(matches!(
        store.consume_grant(&g2.code_checksum, t0()).await.unwrap(),
        Consumed::Now(_)
    ));
    let g3 = grant(store, &u2, &a2, dead).await;
    let g4 = grant(store, &u2, &a1, live).await;
    let admin = admin(store);
    let (u1i, u2i, a1i, a2i) = (u1.id, u2.id, a1.id, a2.id);
    let gr = |q: AdminQuery| async move { page(admin, List::Grants, &q).await };
    assert_eq!(gr(q(|q| q.live = Some(true))).await, desc(&[&g1, &g4]));
    assert_eq!(gr(q(|q| q.live = Some(false))).await, desc(&[&g2, &g3]));
    assert_eq!(gr(q(|q| q.user_id = Some(u1i))).await, desc(&[&g1, &g2]));
    assert_eq!(
        gr(q(|q| q.application_id = Some(a1i))).await,
        desc(&[&g1, &g2, &g4])
    );
    assert_eq!(
        gr(q(|q| (q.user_id, q.live) = (Some(u2i), Some(true)))).await,
        desc(&[&g4])
    );
    let used_of_a1 = q(|q| (q.application_id, q.live) = (Some(a1i), Some(false)));
    assert_eq!(gr(used_of_a1).await, desc(&[&g2]));

    use DeviceGrantStatus::*;
    let d1 = device(store, &a1, live, AuthorizationPending, None).await;
    let d2 = device(store, &a1, live, Authorized, Some(&u1)).await;
    let d3 = device(store, &a2, live, Denied, Some(&u1)).await;
    let d4 = device(store, &a2, dead, AuthorizationPending, None).await;
    let d5 = device(store, &a1, live, AuthorizationPending, Some(&u2)).await;
    let dg = |q: AdminQuery| async move { page(admin, List::DeviceGrants, &q).await };
    assert_eq!(dg(q(|q| q.live = Some(true))).await, desc(&[&d1, &d2, &d5]));
    assert_eq!(dg(q(|q| q.live = Some(false))).await, desc(&[&d3, &d4]));
    assert_eq!(
        dg(q(|q| q.application_id = Some(a1i))).await,
        desc(&[&d1, &d2, &d5])
    );
    assert_eq!(
        dg(q(|q| q.application_id = Some(a2i))).await,
        desc(&[&d3, &d4])
    );
    assert_eq!(dg(q(|q| q.user_id = Some(u1i))).await, desc(&[&d2, &d3]));
    let both = q(|q| (q.user_id, q.application_id) = (Some(u1i), Some(a1i)));
    assert_eq!(dg(both).await, desc(&[&d2]));
    let over_of_a1 = q(|q| (q.application_id, q.live) = (Some(a1i), Some(false)));
    assert!(dg(over_of_a1).await.is_empty());
    assert!(dg(q(|q| q.application_id = Some(a2i + 1000)))
        .await
        .is_empty());
}

/// With a state filter the token lists are ordered by expiry (latest first, then id), and
/// pages continue after the last row's (expires, id): no row twice, none skipped.
pub(crate) async fn admin_state_filters_page_by_expiry(db: &Database) {
    let store = &*db.store();
    let u = user(store, "u").await;
    let a = plain_app(store, "a").await;
    // Ids rise while expiries zigzag, with ties, so id order and expiry order differ.
    let offsets = [5, 1, 5, 3, -2, -7, -2, 4, -1];
    let mut made = Vec::new();
    for minutes in offsets {
        let t = access(store, Some(&u), &a, t0() + Duration::minutes(minutes)).await;
        made.push(t);
    }
    let admin = admin(store);
    let expected = |live: bool| {
        let mut rows: Vec<&AccessToken> =
            made.iter().filter(|t| (t.expires > t0()) == live).collect();
        rows.sort_by_key(|t| std::cmp::Reverse((t.expires, t.id)));
        rows.iter().map(|t| t.id).collect::<Vec<Id>>()
    };
    for live in [true, false] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let query = q(|q| {
                q.live = Some(live);
                q.limit = 2;
                if let Some((id, e)) = cursor {
                    (q.before_id, q.before_expires) = (Some(id), Some(e));
                }
            });
            let rows = admin.admin_access_tokens(&query).await.unwrap();
            if rows.is_empty() {
                break;
            }
            assert!(rows.len() <= 2);
            let last = rows.last().unwrap();
            cursor = Some((last.id, last.expires));
            seen.extend(rows.iter().map(|t| t.id));
        }
        assert_eq!(seen, expected(live), "live = {live}");
    }
    // An id alone is no position in an expiry-ordered list: the first page.
    let first = q(|q| (q.live, q.limit) = (Some(true), 2));
    let id_only = q(|q| (q.live, q.limit, q.before_id) = (Some(true), 2, Some(made[3].id)));
    assert_eq!(
        page(admin, List::AccessTokens, &id_only).await,
        page(admin, List::AccessTokens, &first).await
    );
    // Without a state filter the order stays by id.
    let all = page(admin, List::AccessTokens, &q(|q| q.limit = 50)).await;
    let mut by_id: Vec<Id> = made.iter().map(|t| t.id).collect();
    by_id.reverse();
    assert_eq!(all, by_id);
}
