//! The operator's counts (`OperationsStore`): stats, the token audit, and the dry run of
//! `revoke_user_tokens`, on known data.

use std::collections::BTreeMap;

use super::*;

fn ops(store: &dyn Store) -> &dyn OperationsStore {
    store
        .operations()
        .expect("the bundled stores offer the operations")
}

async fn app_of(store: &dyn Store, client_id: &str, ct: ClientType, gt: GrantType) -> Application {
    let mut new = NewApplication::new(ct, gt, &Settings::default());
    new.name = format!("{client_id} app");
    new.client_id = client_id.into();
    new.redirect_uris = "https://example.org/cb".into();
    store.create_application(new, t0()).await.unwrap()
}

/// An access token created at `created`, expiring at `expires`.
async fn access_at(
    store: &dyn Store,
    u: Option<&User>,
    a: &Application,
    created: OffsetDateTime,
    expires: OffsetDateTime,
) -> AccessToken {
    let (_, t) = new_access(u, a, expires);
    store.create_access_token(t, created).await.unwrap()
}

async fn refresh_at(
    store: &dyn Store,
    u: &User,
    a: &Application,
    at: Option<&AccessToken>,
    created: OffsetDateTime,
) -> RefreshToken {
    let t = new_refresh(u, a, at, None);
    store.create_refresh_token(t, created).await.unwrap()
}

async fn grant_of(store: &dyn Store, u: &User, a: &Application, expires: OffsetDateTime) -> Grant {
    let g = NewGrant {
        resource: String::new(),
        user_id: u.id,
        code: oauth_toolkit_core::generators::generate_token(),
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
    };
    store.create_grant(g, t0()).await.unwrap()
}

async fn id_token_of(store: &dyn Store, u: &User, a: &Application, expires: OffsetDateTime) {
    let t = NewIdToken {
        user_id: Some(u.id),
        application_id: Some(a.id),
        jti: Uuid::new_v4(),
        expires,
        scope: "openid".into(),
        auth_time: None,
        sid: String::new(),
        claims: "{}".into(),
    };
    store.create_id_token(t, t0()).await.unwrap();
}

async fn device_of(
    store: &dyn Store,
    a: &Application,
    expires: OffsetDateTime,
    status: DeviceGrantStatus,
    u: Option<&User>,
) {
    let code = oauth_toolkit_core::generators::generate_token();
    let mut new = super::device::new_device(&code, &code[..16]);
    new.client_id = a.client_id.clone();
    new.expires = expires;
    let dg = store.create_device_grant(new, t0()).await.unwrap();
    if let Some(u) = u {
        assert!(store.bind_device_grant(dg.id, u.id).await.unwrap());
    }
    if status != DeviceGrantStatus::AuthorizationPending {
        let (from, user) = (DeviceGrantStatus::AuthorizationPending, u.map(|u| u.id));
        assert!(store
            .transition_device_grant(dg.id, from, status, user)
            .await
            .unwrap());
    }
}

struct Seeded {
    u1: User,
    u2: User,
    alpha: Application,
    delta: Application,
}

/// Four applications and rows of every kind, judged at `t0()`:
///
/// - access tokens: `alpha` 3 live of u1 (one created 10 days ago, two 30 minutes ago;
///   expiring in a day) and 1 expired; `beta` 1 live of u2 (10 days old) and 2 expired (10
///   days old); `gamma` 3 live client-credentials tokens (2 hours old, expiring in an hour);
///   `delta` none. 10 in all, 7 live, 2 created in the last hour.
/// - refresh tokens: u1 in alpha: one 10 days old, one new, one 10 days old and revoked;
///   u2 in beta: one 10 days old. 4 in all, 3 live, 1 revoked.
/// - codes of u1 in alpha: one live, one used, one expired.
/// - ID tokens of u1 in alpha: one live, one expired.
/// - device grants of delta: pending, authorized and denied (bound to u1), and an expired
///   pending one bound to nobody.
async fn seed(store: &dyn Store) -> Seeded {
    use ClientType::*;
    use DeviceGrantStatus::*;
    use GrantType::*;
    let (u1, u2) = (user(store, "u1").await, user(store, "u2").await);
    let alpha = app_of(store, "alpha", Confidential, AuthorizationCode).await;
    let beta = app_of(store, "beta", Public, AuthorizationCode).await;
    let gamma = app_of(store, "gamma", Confidential, ClientCredentials).await;
    let delta = app_of(store, "delta", Public, DeviceCode).await;
    let (days_ago, half_hour_ago) = (t0() - Duration::days(10), t0() - Duration::minutes(30));
    let (day, hour, gone) = (
        t0() + Duration::days(1),
        t0() + Duration::hours(1),
        t0() - Duration::seconds(1),
    );
    let old = access_at(store, Some(&u1), &alpha, days_ago, day).await;
    let new = access_at(store, Some(&u1), &alpha, half_hour_ago, day).await;
    access_at(store, Some(&u1), &alpha, half_hour_ago, day).await;
    access_at(store, Some(&u1), &alpha, t0() - Duration::hours(2), gone).await;
    let beta_live = access_at(store, Some(&u2), &beta, days_ago, day).await;
    for _ in 0..2 {
        access_at(store, Some(&u2), &beta, days_ago, gone).await;
    }
    for _ in 0..3 {
        access_at(store, None, &gamma, t0() - Duration::hours(2), hour).await;
    }

    refresh_at(store, &u1, &alpha, Some(&old), days_ago).await;
    refresh_at(store, &u1, &alpha, Some(&new), half_hour_ago).await;
    let revoked = refresh_at(store, &u1, &alpha, None, days_ago).await;
    assert!(store.revoke_refresh_token(revoked.id, t0()).await.unwrap());
    refresh_at(store, &u2, &beta, Some(&beta_live), days_ago).await;

    grant_of(store, &u1, &alpha, hour).await;
    let used = grant_of(store, &u1, &alpha, hour).await;
    let consumed = store.consume_grant(&used.code_checksum, t0()).await;
    assert!(matches!(consumed.unwrap(), Consumed::Now(_)));
    grant_of(store, &u1, &alpha, gone).await;

    id_token_of(store, &u1, &alpha, hour).await;
    id_token_of(store, &u1, &alpha, gone).await;

    device_of(store, &delta, hour, AuthorizationPending, Some(&u1)).await;
    device_of(store, &delta, hour, Authorized, Some(&u1)).await;
    device_of(store, &delta, hour, Denied, Some(&u1)).await;
    device_of(store, &delta, gone, AuthorizationPending, None).await;
    Seeded {
        u1,
        u2,
        alpha,
        delta,
    }
}

fn types(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

fn grant_types(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    let mut all: BTreeMap<String, u64> = GrantType::ALL
        .iter()
        .map(|g| (g.as_str().to_string(), 0))
        .collect();
    all.extend(types(pairs));
    all
}

pub(super) async fn operations_stats(db: &Database) {
    let store = &*db.store();
    let empty = ops(store).stats(t0()).await.unwrap();
    assert_eq!(
        empty,
        Stats {
            applications_by_client_type: types(&[("confidential", 0), ("public", 0)]),
            applications_by_grant_type: grant_types(&[]),
            ..Stats::default()
        },
        "an empty database: zeros, every type listed"
    );

    seed(store).await;
    let expected = Stats {
        applications: 4,
        applications_with_live_access_tokens: 3,
        applications_by_client_type: types(&[("confidential", 2), ("public", 2)]),
        applications_by_grant_type: grant_types(&[
            ("authorization-code", 2),
            ("client-credentials", 1),
            ("urn:ietf:params:oauth:grant-type:device_code", 1),
        ]),
        access_tokens: 10,
        live_access_tokens: 7,
        access_tokens_last_hour: 2,
        refresh_tokens: 4,
        live_refresh_tokens: 3,
        revoked_refresh_tokens: 1,
        grants: 3,
        live_grants: 1,
        id_tokens: 2,
        live_id_tokens: 1,
        device_grants: 4,
        live_device_grants: 2,
    };
    assert_eq!(ops(store).stats(t0()).await.unwrap(), expected);
    assert_eq!(
        ops(store).stats(t0()).await.unwrap(),
        expected,
        "reading changed nothing"
    );

    // Two hours on: gamma's tokens, the live code, ID token and device grants have expired,
    // and no token is from the last hour.
    let later = ops(store).stats(t0() + Duration::hours(2)).await.unwrap();
    assert_eq!(
        later,
        Stats {
            applications_with_live_access_tokens: 2,
            live_access_tokens: 4,
            access_tokens_last_hour: 0,
            live_grants: 0,
            live_id_tokens: 0,
            live_device_grants: 0,
            ..expected
        }
    );
}

pub(super) async fn operations_audit_tokens(db: &Database) {
    let store = &*db.store();
    let week_ago = t0() - Duration::days(7);
    let none = ops(store).audit_tokens(t0(), week_ago, 10).await.unwrap();
    assert_eq!(none, TokenAudit::default());

    seed(store).await;
    let top = |rows: &[(&str, u64)]| -> Vec<ApplicationTokenCount> {
        rows.iter()
            .map(|(id, n)| ApplicationTokenCount {
                client_id: id.to_string(),
                name: format!("{id} app"),
                live_access_tokens: *n,
            })
            .collect()
    };
    let audit = ops(store).audit_tokens(t0(), week_ago, 10).await.unwrap();
    assert_eq!(
        audit,
        TokenAudit {
            // alpha's and beta's 10-day-old live tokens (not beta's expired ones).
            live_access_tokens_older: 2,
            // u1's and u2's 10-day-old refresh tokens (not the revoked one).
            live_refresh_tokens_older: 2,
            // alpha and gamma tie at 3: by client id.
            top_applications: top(&[("alpha", 3), ("gamma", 3), ("beta", 1)]),
        }
    );
    let two = ops(store).audit_tokens(t0(), week_ago, 2).await.unwrap();
    assert_eq!(two.top_applications, top(&[("alpha", 3), ("gamma", 3)]));
    let one = ops(store).audit_tokens(t0(), week_ago, 1).await.unwrap();
    assert_eq!(one.top_applications, top(&[("alpha", 3)]));
    assert_eq!(one.live_access_tokens_older, 2, "top limits only the list");

    // A cutoff of now: every live token is older, the new ones too.
    let all = ops(store).audit_tokens(t0(), t0(), 10).await.unwrap();
    assert_eq!(
        (all.live_access_tokens_older, all.live_refresh_tokens_older),
        (7, 3)
    );
    // A cutoff before everything.
    let older = t0() - Duration::days(30);
    let nothing = ops(store).audit_tokens(t0(), older, 10).await.unwrap();
    assert_eq!(
        (
            nothing.live_access_tokens_older,
            nothing.live_refresh_tokens_older
        ),
        (0, 0)
    );
    // Two hours on gamma's tokens have expired: it leaves the list.
    let later = t0() + Duration::hours(2);
    let audit = ops(store).audit_tokens(later, week_ago, 10).await.unwrap();
    assert_eq!(audit.top_applications, top(&[("alpha", 3), ("beta", 1)]));
    assert_eq!(audit.live_access_tokens_older, 2);
}

pub(super) async fn operations_count_user_tokens(db: &Database) {
    let store = &*db.store();
    let s = seed(store).await;
    let admin = store.admin().unwrap();
    let ops = ops(store);
    let later = t0() + Duration::seconds(5);
    let before = ops.stats(later).await.unwrap();

    // Of u1 in delta: the pending and the authorized device grant, nothing else.
    let in_delta = RevokedCounts {
        device_grants: 2,
        ..RevokedCounts::default()
    };
    let counted = ops
        .count_user_tokens(s.u1.id, Some(s.delta.id), later)
        .await;
    assert_eq!(counted.unwrap(), in_delta);
    assert_eq!(
        ops.stats(later).await.unwrap(),
        before,
        "counting changed nothing"
    );
    // Of u1 in alpha: every access token (the expired one too), the live refresh tokens,
    // every ID token, the unused codes (the expired one too).
    let in_alpha = RevokedCounts {
        access_tokens: 4,
        refresh_tokens: 2,
        grants: 2,
        id_tokens: 2,
        device_grants: 0,
    };
    let counted = ops
        .count_user_tokens(s.u1.id, Some(s.alpha.id), later)
        .await;
    assert_eq!(counted.unwrap(), in_alpha);
    let all_of_u1 = RevokedCounts {
        device_grants: 2,
        ..in_alpha
    };
    let counted = ops.count_user_tokens(s.u1.id, None, later).await.unwrap();
    assert_eq!(counted, all_of_u1);
    let of_u2 = RevokedCounts {
        access_tokens: 3,
        refresh_tokens: 1,
        ..RevokedCounts::default()
    };
    let counted = ops.count_user_tokens(s.u2.id, None, later).await;
    assert_eq!(counted.unwrap(), of_u2);

    // The revocation changes exactly what was counted.
    let revoked = admin
        .revoke_user_tokens(s.u1.id, Some(s.delta.id), later)
        .await;
    assert_eq!(revoked.unwrap(), in_delta);
    let counted = ops.count_user_tokens(s.u1.id, None, later).await.unwrap();
    assert_eq!(counted, in_alpha, "what is left: alpha's");
    let revoked = admin
        .revoke_user_tokens(s.u1.id, None, later)
        .await
        .unwrap();
    assert_eq!(revoked, counted);
    let counted = ops.count_user_tokens(s.u1.id, None, later).await;
    assert_eq!(counted.unwrap(), RevokedCounts::default(), "nothing left");
    let counted = ops.count_user_tokens(s.u2.id, None, later).await;
    assert_eq!(counted.unwrap(), of_u2, "the other user's are untouched");
    let revoked = admin.revoke_user_tokens(s.u2.id, None, later).await;
    assert_eq!(revoked.unwrap(), of_u2);

    let after = ops.stats(later).await.unwrap();
    assert_eq!(
        (
            after.access_tokens,
            after.live_refresh_tokens,
            after.revoked_refresh_tokens
        ),
        (3, 0, 4),
        "only gamma's client-credentials tokens are left; every refresh token is revoked"
    );
    assert_eq!(
        (after.grants, after.id_tokens),
        (1, 0),
        "the used code stays"
    );
    // A user that does not exist has nothing.
    let counted = ops.count_user_tokens(s.u2.id + 1000, None, later).await;
    assert_eq!(counted.unwrap(), RevokedCounts::default());
}

/// `cleanupapplications`: each reason to keep an application, and only an inactive one
/// deleted (with its rows), judged 200 days after `t0()` with a 90-day cutoff.
pub(super) async fn operations_application_activity(db: &Database) {
    use ClientType::*;
    use GrantType::*;
    let store = &*db.store();
    let u = user(store, "u").await;
    let day = Duration::days(1);
    let (now, cutoff) = (t0() + day * 200, t0() + day * 110);
    let live = app_of(store, "live", Confidential, AuthorizationCode).await;
    access_at(store, Some(&u), &live, t0(), now + day).await;
    let code = app_of(store, "code", Confidential, AuthorizationCode).await;
    grant_of(store, &u, &code, now + day).await;
    let refresh = app_of(store, "refresh", Confidential, AuthorizationCode).await;
    refresh_at(store, &u, &refresh, None, t0()).await;
    let device = app_of(store, "device", Public, DeviceCode).await;
    let (authorized, soon) = (DeviceGrantStatus::Authorized, now + day);
    device_of(store, &device, soon, authorized, Some(&u)).await;
    let recent = app_of(store, "recent", Confidential, AuthorizationCode).await;
    let an_hour_ago = now - Duration::hours(1);
    access_at(store, Some(&u), &recent, now - day, an_hour_ago).await;
    let idle = app_of(store, "idle", Confidential, AuthorizationCode).await;
    access_at(store, Some(&u), &idle, t0(), t0() + day).await;
    let old = refresh_at(store, &u, &idle, None, t0()).await;
    assert!(store.revoke_refresh_token(old.id, t0()).await.unwrap());
    grant_of(store, &u, &idle, t0() + day).await;
    let unused = app_of(store, "unused", Public, ClientCredentials).await;
    let mut new = NewApplication::new(Public, ClientCredentials, &Settings::default());
    new.client_id = "new".into();
    let fresh = store.create_application(new, now - day).await.unwrap();

    let ops = ops(store);
    let activity = ops.application_activity(now, cutoff).await.unwrap();
    let judged: Vec<(&str, &str, Option<KeepReason>)> = activity
        .iter()
        .map(|a| (a.client_id.as_str(), a.name.as_str(), a.keep))
        .collect();
    use KeepReason::*;
    assert_eq!(
        judged,
        [
            ("live", "live app", Some(LiveTokens)),
            ("code", "code app", Some(LiveTokens)),
            ("refresh", "refresh app", Some(LiveTokens)),
            ("device", "device app", Some(LiveTokens)),
            ("recent", "recent app", Some(RecentTokens)),
            ("idle", "idle app", None),
            ("unused", "unused app", None),
            ("new", "", Some(RecentlyCreated)),
        ]
    );
    assert_eq!(activity[0].id, live.id);
    let before = ops.stats(now).await.unwrap();
    for a in [&live, &code, &refresh, &device, &recent, &fresh] {
        let deleted = ops.delete_application_if_inactive(a.id, now, cutoff).await;
        assert!(!deleted.unwrap(), "{} is kept", a.client_id);
    }
    for a in [&idle, &unused] {
        let deleted = ops.delete_application_if_inactive(a.id, now, cutoff).await;
        assert!(deleted.unwrap(), "{} is deleted", a.client_id);
        let gone = ops.delete_application_if_inactive(a.id, now, cutoff).await;
        assert!(!gone.unwrap(), "{} is gone", a.client_id);
    }
    let after = ops.stats(now).await.unwrap();
    assert_eq!(after.applications, before.applications - 2);
    assert_eq!(after.access_tokens, before.access_tokens - 1);
    assert_eq!(after.refresh_tokens, before.refresh_tokens - 1);
    assert_eq!(after.grants, before.grants - 1);
    assert!(store.get_application(idle.id).await.unwrap().is_none());
}

/// `migratescopes`' reads (a prefilter, by id, in pages) and guarded writes.
pub(super) async fn operations_scope_rows(db: &Database) {
    let store = &*db.store();
    let u = user(store, "u").await;
    let a = app_of(store, "a", ClientType::Public, GrantType::Password).await;
    let mut ids = Vec::new();
    for scope in ["read write", "readonly", "write", "re_d", "openid read"] {
        let (_, mut t) = new_access(Some(&u), &a, t0() + Duration::days(1));
        t.scope = scope.into();
        ids.push(store.create_access_token(t, t0()).await.unwrap().id);
    }
    let ops = ops(store);
    let rows = ScopeRows::AccessTokens;
    let first = ops.scope_rows(rows, "read", 0, 2).await.unwrap();
    let expected = [(ids[0], "read write".into()), (ids[1], "readonly".into())];
    assert_eq!(first, expected);
    let rest = ops.scope_rows(rows, "read", ids[1], 2).await.unwrap();
    assert_eq!(rest, [(ids[4], "openid read".into())]);
    // `_` is no wildcard.
    let escaped = ops.scope_rows(rows, "re_d", 0, 10).await.unwrap();
    assert_eq!(escaped, [(ids[3], "re_d".into())]);

    let changes = vec![
        (ids[0], "read write".to_string(), "view write".to_string()),
        // Changed meanwhile: left alone.
        (ids[4], "openid".to_string(), "openid view".to_string()),
    ];
    assert_eq!(ops.replace_scopes(rows, &changes).await.unwrap(), 1);
    let now = ops.scope_rows(rows, "", 0, 10).await.unwrap();
    let scopes: Vec<&str> = now.iter().map(|(_, s)| s.as_str()).collect();
    let expected = ["view write", "readonly", "write", "re_d", "openid read"];
    assert_eq!(scopes, expected);

    // Consumed codes are not listed; live ones are.
    let live = grant_of(store, &u, &a, t0() + Duration::days(1)).await;
    let used = grant_of(store, &u, &a, t0() + Duration::days(1)).await;
    let consumed = store.consume_grant(&used.code_checksum, t0()).await;
    consumed.unwrap();
    let grants = ops.scope_rows(ScopeRows::Grants, "read", 0, 10).await;
    assert_eq!(grants.unwrap(), [(live.id, "read".into())]);
    let changes = [(live.id, "read".to_string(), "view".to_string())];
    let changed = ops.replace_scopes(ScopeRows::Grants, &changes).await;
    assert_eq!(changed.unwrap(), 1);
    let grants = ops.scope_rows(ScopeRows::Grants, "view", 0, 10).await;
    assert_eq!(grants.unwrap(), [(live.id, "view".into())]);
}
