//! The staff admin's store: keyset pages, filters, point reads and bulk actions.

use super::*;

mod actions;
mod filters;
pub(super) use actions::{admin_delete_user_cascades, admin_revoke_user_tokens};
pub(super) use filters::{
    admin_application_filters, admin_grant_and_device_filters, admin_state_filters_page_by_expiry,
    admin_text_search_escapes_wildcards, admin_token_filters, admin_user_filters,
};

fn admin(store: &dyn Store) -> &dyn AdminStore {
    store.admin().expect("the bundled stores offer the admin")
}

/// Filters as set by `f` on a query judged at `t0()`.
fn q(f: impl FnOnce(&mut AdminQuery)) -> AdminQuery {
    let mut q = AdminQuery {
        now: Some(t0()),
        ..AdminQuery::default()
    };
    f(&mut q);
    q
}

trait HasId {
    fn row_id(&self) -> Id;
}

macro_rules! has_id {
    ($($t:ty),*) => { $(impl HasId for $t { fn row_id(&self) -> Id { self.id } })* };
}
has_id!(
    Application,
    User,
    AccessToken,
    RefreshToken,
    Grant,
    IdToken,
    DeviceGrant,
    SigningKey
);

fn ids<T: HasId>(rows: &[T]) -> Vec<Id> {
    rows.iter().map(HasId::row_id).collect()
}

/// Ids newest first, as the admin lists them.
fn desc<T: HasId>(rows: &[&T]) -> Vec<Id> {
    let mut v: Vec<Id> = rows.iter().map(|r| r.row_id()).collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    v
}

#[derive(Debug, Clone, Copy)]
enum List {
    Applications,
    Users,
    AccessTokens,
    RefreshTokens,
    Grants,
    IdTokens,
    DeviceGrants,
    SigningKeys,
}

async fn page(admin: &dyn AdminStore, list: List, q: &AdminQuery) -> Vec<Id> {
    match list {
        List::Applications => ids(&admin.admin_applications(q).await.unwrap()),
        List::Users => ids(&admin.admin_users(q).await.unwrap()),
        List::AccessTokens => ids(&admin.admin_access_tokens(q).await.unwrap()),
        List::RefreshTokens => ids(&admin.admin_refresh_tokens(q).await.unwrap()),
        List::Grants => ids(&admin.admin_grants(q).await.unwrap()),
        List::IdTokens => ids(&admin.admin_id_tokens(q).await.unwrap()),
        List::DeviceGrants => ids(&admin.admin_device_grants(q).await.unwrap()),
        List::SigningKeys => ids(&admin.admin_signing_keys(q).await.unwrap()),
    }
}

async fn named_app(
    store: &dyn Store,
    owner: Option<&User>,
    name: &str,
    client_id: &str,
    client_type: ClientType,
    grant_type: GrantType,
) -> Application {
    let mut new = NewApplication::new(client_type, grant_type, &Settings::default());
    new.name = name.into();
    new.client_id = client_id.into();
    new.user_id = owner.map(|u| u.id);
    new.redirect_uris = "https://example.org/cb".into();
    store.create_application(new, t0()).await.unwrap()
}

async fn plain_app(store: &dyn Store, client_id: &str) -> Application {
    let (ct, gt) = (ClientType::Public, GrantType::AuthorizationCode);
    named_app(store, None, client_id, client_id, ct, gt).await
}

async fn access(
    store: &dyn Store,
    u: Option<&User>,
    a: &Application,
    expires: OffsetDateTime,
) -> AccessToken {
    let (_, t) = new_access(u, a, expires);
    store.create_access_token(t, t0()).await.unwrap()
}

async fn refresh(
    store: &dyn Store,
    u: &User,
    a: &Application,
    at: Option<&AccessToken>,
) -> RefreshToken {
    let t = new_refresh(u, a, at, None);
    store.create_refresh_token(t, t0()).await.unwrap()
}

async fn grant(store: &dyn Store, u: &User, a: &Application, expires: OffsetDateTime) -> Grant {
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

async fn id_token(
    store: &dyn Store,
    u: &User,
    a: &Application,
    expires: OffsetDateTime,
) -> IdToken {
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
    store.create_id_token(t, t0()).await.unwrap()
}

/// A device grant of `a` that expires at `expires`, in `status`, bound to `u`.
async fn device(
    store: &dyn Store,
    a: &Application,
    expires: OffsetDateTime,
    status: DeviceGrantStatus,
    u: Option<&User>,
) -> DeviceGrant {
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
    admin(store).get_device_grant(dg.id).await.unwrap().unwrap()
}

async fn signing_key(store: &dyn Store, n: usize) -> SigningKey {
    let k = NewSigningKey {
        kid: format!("kid-{n}"),
        algorithm: "ES256".into(),
        private_key: format!("pem {n}"),
    };
    store.add_signing_key(k, t0()).await.unwrap()
}

/// Every list, walked three rows at a time: three pages of seven rows, newest first, with no
/// duplicate and no gap; each page below the `before_id` it was asked for.
pub(super) async fn admin_pages_are_keyset_pages(db: &Database) {
    let store = db.store();
    assert!(store.admin().is_some());
    let store = &*store;
    let (live, n) = (t0() + Duration::hours(1), 7);
    let mut all: Vec<(List, Vec<Id>)> = Vec::new();
    let mut users = Vec::new();
    for i in 0..n {
        users.push(user(store, &format!("p{i}")).await);
    }
    let u = &users[0];
    let mut apps = Vec::new();
    let mut rows = [(); 5].map(|_| Vec::new());
    let mut keys = Vec::new();
    for i in 0..n {
        let (ct, gt) = (ClientType::Confidential, GrantType::ClientCredentials);
        let a = named_app(
            store,
            Some(u),
            &format!("app {i}"),
            &format!("c{i}"),
            ct,
            gt,
        )
        .await;
        let at = access(store, Some(u), &a, live).await;
        rows[0].push(at.id);
        rows[1].push(refresh(store, u, &a, Some(&at)).await.id);
        rows[2].push(grant(store, u, &a, live).await.id);
        rows[3].push(id_token(store, u, &a, live).await.id);
        let pending = DeviceGrantStatus::AuthorizationPending;
        rows[4].push(device(store, &a, live, pending, None).await.id);
        keys.push(signing_key(store, i).await.id);
        apps.push(a.id);
    }
    all.push((List::Users, users.iter().map(|u| u.id).collect()));
    all.push((List::Applications, apps));
    let lists = [
        List::AccessTokens,
        List::RefreshTokens,
        List::Grants,
        List::IdTokens,
        List::DeviceGrants,
    ];
    for (list, created) in lists.into_iter().zip(rows) {
        all.push((list, created));
    }
    all.push((List::SigningKeys, keys));

    let admin = admin(store);
    for (list, mut created) in all {
        created.sort_unstable_by(|a, b| b.cmp(a));
        let mut seen = Vec::new();
        let mut before = None;
        for expected_len in [3, 3, 1, 0] {
            let got = page(admin, list, &q(|q| (q.before_id, q.limit) = (before, 3))).await;
            assert_eq!(
                got.len(),
                expected_len,
                "{list:?} after {before:?}: {got:?}"
            );
            if let Some(b) = before {
                assert!(got.iter().all(|id| *id < b), "{list:?}: {got:?} below {b}");
            }
            before = got.last().copied().or(before);
            seen.extend(got);
        }
        assert_eq!(seen, created, "{list:?}: every row once, newest first");
        // A page may start below any id, not only a previous page's last.
        let from_middle = page(admin, list, &q(|q| q.before_id = Some(created[2]))).await;
        assert_eq!(from_middle, created[3..], "{list:?}");
    }
}

/// `limit`: 0 is the default of 50, larger than the maximum is the maximum.
pub(super) async fn admin_page_limits_are_clamped(db: &Database) {
    let store = db.store();
    let mut all = Vec::new();
    for i in 0..(ADMIN_PAGE_MAX as usize + 5) {
        all.push(signing_key(&*store, i).await.id);
    }
    all.sort_unstable_by(|a, b| b.cmp(a));
    let admin = admin(&*store);
    let max = ADMIN_PAGE_MAX as usize;
    for (limit, len) in [(0, 50), (1, 1), (7, 7), (ADMIN_PAGE_MAX, max)] {
        let got = page(admin, List::SigningKeys, &q(|q| q.limit = limit)).await;
        assert_eq!(got, all[..len], "limit {limit}");
    }
    for limit in [ADMIN_PAGE_MAX + 1, u32::MAX] {
        let got = page(admin, List::Users, &q(|q| q.limit = limit)).await;
        assert!(got.is_empty(), "no users");
        let got = page(admin, List::SigningKeys, &q(|q| q.limit = limit)).await;
        assert_eq!(got, all[..max], "limit {limit} is clamped");
    }
    let rest = page(
        admin,
        List::SigningKeys,
        &q(|q| q.before_id = Some(all[max - 1])),
    )
    .await;
    assert_eq!(rest, all[max..], "the last page is the rest");
}

pub(super) async fn admin_point_reads(db: &Database) {
    let store = &*db.store();
    let u = user(store, "u").await;
    let a = plain_app(store, "a").await;
    let live = t0() + Duration::hours(1);
    let g = grant(store, &u, &a, live).await;
    let d = device(
        store,
        &a,
        live,
        DeviceGrantStatus::AuthorizationPending,
        None,
    )
    .await;
    let k = signing_key(store, 1).await;
    let admin = admin(store);
    assert_eq!(admin.get_grant(g.id).await.unwrap(), Some(g.clone()));
    assert_eq!(admin.get_grant(g.id + 1000).await.unwrap(), None);
    assert_eq!(admin.get_device_grant(d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(admin.get_device_grant(d.id + 1000).await.unwrap(), None);
    assert_eq!(admin.get_signing_key(k.id).await.unwrap(), Some(k.clone()));
    assert_eq!(admin.get_signing_key(k.id + 1000).await.unwrap(), None);
    assert!(admin.delete_device_grant(d.id).await.unwrap());
    assert_eq!(admin.get_device_grant(d.id).await.unwrap(), None);
    assert!(!admin.delete_device_grant(d.id).await.unwrap());
}
