//! The registration form's validation, the client secret's life (shown once, stored hashed,
//! replaced), and the authorized tokens pages.

use oauth_toolkit_core::client_secret::{is_hashed, verify_client_secret};

/// One refused registration: what, the fields changed, the field in error, its message.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);

use crate::common::*;
use crate::support::*;

const TYPED_SECRET: &str = "Typed-Secret-Value-0123456789-abcdef";

/// Each invalid registration is a 400 with the message in its field's error list, the
/// submitted values kept (never the typed secret), and no row written.
pub(crate) async fn registration_is_validated_field_by_field(env: Env) {
    user(&env, "alice", false);
    env.create_app(
        "confidential",
        "password",
        &["--client-id", "taken-client-id"],
    );
    let server = Server::start(&env, &[]);
    let a = signed_in(&server, "alice").await;
    let apps = count(&env, "oauth2_provider_application").await;
    // (what, overridden fields, the field whose message it is, part of the message)
    let cases: [Case; 8] = [
        (
            "no redirect URI",
            vec![("redirect_uris", "")],
            "redirect_uris",
            "cannot be empty",
        ),
        (
            "a fragment",
            vec![("redirect_uris", "https://client.example/cb#frag")],
            "redirect_uris",
            "fragment",
        ),
        (
            "a scheme not allowed",
            vec![("redirect_uris", "ftp://client.example/cb")],
            "redirect_uris",
            "scheme",
        ),
        (
            "a script scheme",
            vec![("redirect_uris", "javascript://client.example/%0aalert(1)")],
            "redirect_uris",
            "scheme",
        ),
        (
            "HS256 with a hashed secret",
            vec![("algorithm", "HS256"), ("hash_client_secret", "on")],
            "hash_client_secret",
            "HS256",
        ),
        (
            "an unknown client type",
            vec![("client_type", "webapp")],
            "client_type",
            "valid client type",
        ),
        (
            "an unknown grant type",
            vec![("authorization_grant_type", "magic")],
            "authorization_grant_type",
            "valid grant type",
        ),
        (
            "a duplicate client id",
            vec![("client_id", "taken-client-id")],
            "client_id",
            "already exists",
        ),
    ];
    for (what, overrides, field, message) in cases {
        let mut fields = vec![("name", "Kept Name 7"), ("client_secret", TYPED_SECRET)];
        fields.extend(overrides.iter().copied());
        let p = register(&a, &app_form(&fields)).await;
        assert_eq!(p.status, 400, "{what}: {}", p.body);
        let errors = element(&p, &format!("id_{field}_errors"))
            .unwrap_or_else(|| panic!("{what}: no error list for {field}: {}", p.body));
        assert!(
            errors.to_lowercase().contains(&message.to_lowercase()),
            "{what}: {errors}"
        );
        assert!(p.body.contains("aria-invalid=\"true\""), "{what}");
        assert_eq!(p.input_value("name"), "Kept Name 7", "{what}");
        if let Some((_, uri)) = overrides.iter().find(|(k, _)| *k == "redirect_uris") {
            assert_eq!(element(&p, "id_redirect_uris").unwrap(), *uri, "{what}");
        }
        if let Some((_, id)) = overrides.iter().find(|(k, _)| *k == "client_id") {
            assert_eq!(p.input_value("client_id"), *id, "{what}");
        }
        assert!(
            !p.body.contains(TYPED_SECRET),
            "{what}: the typed secret is echoed"
        );
        assert!(secret_shown(&p).is_none(), "{what}");
        assert_eq!(
            count(&env, "oauth2_provider_application").await,
            apps,
            "{what}: a row was written"
        );
    }
    // The same form, valid, is accepted (the cases failed for their own reason).
    // A user cannot skip the consent of their own application's users.
    let p = register(
        &a,
        &app_form(&[("name", "Kept Name 7"), ("skip_authorization", "on")]),
    )
    .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert_eq!(count(&env, "oauth2_provider_application").await, apps + 1);
    let client_id = element(&p, "client-id").unwrap().trim().to_string();
    let app = app_of(&env, &client_id).await.unwrap();
    assert_eq!(
        (app.name.as_str(), app.skip_authorization),
        ("Kept Name 7", false)
    );
    let mut body = vec![(CSRF, a.csrf().await)];
    body.extend(
        app_form(&[("client_id", &client_id), ("skip_authorization", "on")])
            .into_iter()
            .map(|(k, v)| (k, v.to_string())),
    );
    let body: Vec<(&str, &str)> = body.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = a.post(&format!("{APPS}{}/update/", app.id), &body).await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(!app_of(&env, &client_id).await.unwrap().skip_authorization);
}

/// The generated secret is in the registration's response once, never on a page again,
/// stored hashed, and works; "new secret" shows a new one once, after which only it works.
pub(crate) async fn the_secret_is_shown_once_and_can_be_replaced(env: Env) {
    user(&env, "alice", false);
    // The default per-process cache of client authentications (5 s) stays on: the page must
    // forget the old secret's cached success itself.
    let server = Server::start(&env, &[]);
    let a = signed_in(&server, "alice").await;
    let p = register(
        &a,
        &app_form(&[
            ("name", "Nightly Job"),
            ("authorization_grant_type", "client-credentials"),
            ("redirect_uris", ""),
        ]),
    )
    .await;
    assert_eq!(p.status, 201, "{}", p.body);
    let secret = secret_shown(&p).expect("the secret is shown");
    assert!(secret.len() >= 32, "{secret}");
    assert_eq!(
        p.body.matches(secret.as_str()).count(),
        1,
        "shown exactly once"
    );
    let pk = pk_of(&p);
    let client_id = element(&p, "client-id").unwrap().trim().to_string();
    assert_eq!(app_of(&env, &client_id).await.unwrap().id, pk);

    let sql = format!("SELECT client_secret FROM oauth2_provider_application WHERE id = {pk}");
    let hash = strings(&env, &sql).await.remove(0);
    assert!(is_hashed(&hash), "stored as {hash}");
    assert!(!hash.contains(&secret));
    assert!(verify_client_secret(&secret, &hash));
    for page in [
        format!("{APPS}{pk}/"),
        APPS.to_string(),
        format!("{APPS}{pk}/update/"),
    ] {
        let d = a.get(&page).await;
        assert_eq!(d.status, 200, "{page}");
        assert!(
            !d.body.contains(&secret) && !text(&d).contains(&hash),
            "{page}: {}",
            d.body
        );
        assert!(secret_shown(&d).is_none(), "{page}");
    }

    let cc = [("grant_type", "client_credentials")];
    let (s, b) = token(&server, &client_id, &secret, &cc).await;
    assert_eq!(s, 200, "{b}");

    let confirm = a.get(&format!("{APPS}{pk}/new_secret/")).await;
    assert_eq!(confirm.status, 200);
    assert!(secret_shown(&confirm).is_none() && !confirm.body.contains(&secret));
    assert_eq!(
        strings(&env, &sql).await,
        vec![hash.clone()],
        "a GET changes nothing"
    );
    let r = a
        .post(
            &format!("{APPS}{pk}/new_secret/"),
            &[(CSRF, &confirm.csrf())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = secret_shown(&r).expect("the new secret is shown");
    assert_ne!(new, secret);
    assert_eq!(r.body.matches(new.as_str()).count(), 1);
    assert!(!r.body.contains(&secret), "the old secret is not shown");

    let (s, b) = token(&server, &client_id, &secret, &cc).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_client")),
        "old secret: {b}"
    );
    let (s, b) = token(&server, &client_id, &new, &cc).await;
    assert_eq!(s, 200, "new secret: {b}");
    let hash2 = strings(&env, &sql).await.remove(0);
    assert!(
        is_hashed(&hash2)
            && verify_client_secret(&new, &hash2)
            && !verify_client_secret(&secret, &hash2)
    );
    let d = a.get(&format!("{APPS}{pk}/")).await;
    assert!(
        !d.body.contains(&new) && secret_shown(&d).is_none(),
        "{}",
        d.body
    );
}

/// The list names the application and the scopes with their descriptions; revoking one
/// token through the confirm page ends it and its refresh token, and only it.
pub(crate) async fn authorized_tokens_are_listed_and_revoked(env: Env) {
    user(&env, "alice", false);
    let (id, secret) = env.create_app("confidential", "password", &["--name", "Photo Printer"]);
    let server = Server::start(&env, &[]);
    let (at1, rt1) = password_grant(&server, &id, &secret, "alice").await;
    let (at2, rt2) = password_grant(&server, &id, &secret, "alice").await;
    let (pk1, pk2) = (at_id(&env, &at1).await, at_id(&env, &at2).await);
    let a = signed_in(&server, "alice").await;

    let list = a.get(TOKENS).await;
    assert_eq!(list.status, 200);
    let body = text(&list);
    assert_eq!(body.matches("Photo Printer</h2>").count(), 2, "{body}");
    assert_eq!(body.matches("read: Reading scope").count(), 2, "{body}");
    assert_eq!(body.matches("write: Writing scope").count(), 2, "{body}");
    assert!(
        !body.contains(&at1) && !body.contains(&rt1),
        "token values are never shown"
    );
    let delete = |pk: i64| format!("{TOKENS}{pk}/delete/");
    let links: Vec<String> = hrefs(&list)
        .into_iter()
        .filter(|h| h.ends_with("/delete/"))
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(
        links.contains(&delete(pk1)) && links.contains(&delete(pk2)),
        "{links:?}"
    );

    let confirm = a.get(&delete(pk1)).await;
    assert_eq!(confirm.status, 200);
    assert!(
        text(&confirm).contains("Photo Printer") && text(&confirm).contains("read: Reading scope")
    );
    assert!(
        active(&server, &id, &secret, &at1).await,
        "a GET revokes nothing"
    );
    let r = a.post(&delete(pk1), &[(CSRF, &confirm.csrf())]).await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.loc(), TOKENS);

    assert!(!active(&server, &id, &secret, &at1).await);
    let (s, b) = refresh(&server, &id, &secret, &rt1).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
    // The other token is untouched.
    assert!(active(&server, &id, &secret, &at2).await);
    let list = a.get(TOKENS).await;
    let links: Vec<String> = hrefs(&list)
        .into_iter()
        .filter(|h| h.ends_with("/delete/"))
        .collect();
    assert_eq!(links, vec![delete(pk2)]);
    assert_error_page(&a.get(&delete(pk1)).await, 404, "a revoked token");
    let (s, b) = refresh(&server, &id, &secret, &rt2).await;
    assert_eq!(s, 200, "{b}");
}
