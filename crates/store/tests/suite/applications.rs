//! Applications and signing keys.

use super::*;

pub(super) async fn applications(db: &Database) {
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

pub(super) async fn application_constraints(db: &Database) {
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

/// Keys: the first one once, rotation adds newer ones (newest first), retirement deletes by kid.
pub(super) async fn signing_keys_rotate_and_retire(db: &Database) {
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
