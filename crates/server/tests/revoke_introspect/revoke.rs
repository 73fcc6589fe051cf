//! Revocation (RFC 7009).

use reqwest::header;
use serde_json::{json, Value};
use time::Duration;

use crate::common::*;
use crate::support::*;

backends!(
    revoke_access_token_then_inactive,
    revoke_public_client_by_client_id,
    revoke_with_hints,
    revoke_other_clients_tokens_untouched,
    revoke_errors_and_http_rules,
    revoke_hostile_input,
);

/// Revoking an access token deletes it and revokes its refresh token; the revoked
/// token then fails introspection and its refresh token fails at the token endpoint.
async fn revoke_access_token_then_inactive(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let t = fx.password_token(&a, "read write").await;
    assert_eq!(fx.introspect(&a, &t.access).await["active"], true);

    assert_empty_200(fx.revoke(&a, &[("token", &t.access)]).await).await;

    let store = fx.store().await;
    assert!(!access_token_exists(&store, &t.access).await);
    assert!(
        refresh_token_revoked(&store, &t.refresh).await,
        "bound RT revoked"
    );
    assert_eq!(fx.introspect(&a, &t.access).await, json!({"active": false}));
    assert_eq!(
        fx.introspect(&a, &t.refresh).await,
        json!({"active": false})
    );
    let r = fx
        .http
        .post(fx.url("/o/token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(r).await.1["error"], "invalid_grant");
    // Revoking the (already revoked) refresh token afterwards is still a 200 (131).
    assert_empty_200(fx.revoke(&a, &[("token", &t.refresh)]).await).await;
    // So is revoking the deleted access token again, and a value nobody issued.
    assert_empty_200(fx.revoke(&a, &[("token", &t.access)]).await).await;
    assert_empty_200(fx.revoke(&a, &[("token", "never-issued")]).await).await;
}

/// A public client revokes with its `client_id` alone; with nothing it is refused.
async fn revoke_public_client_by_client_id(env: Env) {
    let fx = Fx::start(env, &[]);
    let (client_id, _) = fx.env.create_app("public", "password", &[]);
    let r = fx
        .http
        .post(fx.url("/o/token/"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", client_id.as_str()),
            ("username", "alice"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let access = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    let (status, body) = json_error(r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .form(&[
            ("client_id", client_id.as_str()),
            ("token", access.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_empty_200(r).await;
    assert!(!access_token_exists(&fx.store().await, &access).await);
}

/// Hints only order the search; an unknown hint is ignored; a wrong hint still
/// finds the token. Refresh tokens (also 500-character ones) are revoked and take their
/// access token with them.
async fn revoke_with_hints(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let store = fx.store().await;
    for hint in ["access_token", "bad_hint", "refresh_token", ""] {
        let t = fx.password_token(&a, "read").await;
        let r = fx
            .revoke(&a, &[("token", &t.access), ("token_type_hint", hint)])
            .await;
        assert_empty_200(r).await;
        assert!(!access_token_exists(&store, &t.access).await, "hint {hint}");
        assert!(
            refresh_token_revoked(&store, &t.refresh).await,
            "hint {hint}"
        );
    }
    for hint in ["refresh_token", "access_token", "nonsense"] {
        let t = fx.password_token(&a, "read").await;
        let r = fx
            .revoke(&a, &[("token", &t.refresh), ("token_type_hint", hint)])
            .await;
        assert_empty_200(r).await;
        assert!(
            refresh_token_revoked(&store, &t.refresh).await,
            "hint {hint}"
        );
        assert!(!access_token_exists(&store, &t.access).await, "hint {hint}");
    }
    // A 500-character refresh token, with the right and the wrong hint.
    let (app_pk, user) = (fx.app_pk(&a).await, fx.user_id().await);
    for (i, hint) in ["refresh_token", "access_token"].into_iter().enumerate() {
        let refresh = format!("{i}{}", "r".repeat(499));
        let access = format!("long-at-{i}");
        fx.insert_pair(&access, &refresh, app_pk, user).await;
        let r = fx
            .revoke(&a, &[("token", &refresh), ("token_type_hint", hint)])
            .await;
        assert_empty_200(r).await;
        assert!(refresh_token_revoked(&store, &refresh).await);
        assert!(!access_token_exists(&store, &access).await);
    }
}

/// A client cannot revoke another client's tokens (still 200, nothing changes).
async fn revoke_other_clients_tokens_untouched(env: Env) {
    let fx = Fx::start(env, &[]);
    let (a, b) = (fx.app(), fx.app());
    let tb = fx.password_token(&b, "read").await;
    for token in [&tb.access, &tb.refresh] {
        for hint in ["access_token", "refresh_token"] {
            let r = fx
                .revoke(&a, &[("token", token), ("token_type_hint", hint)])
                .await;
            assert_empty_200(r).await;
        }
    }
    let store = fx.store().await;
    assert!(access_token_exists(&store, &tb.access).await);
    assert!(!refresh_token_revoked(&store, &tb.refresh).await);
    assert_eq!(fx.introspect(&b, &tb.access).await["active"], true);

    // One value is B's access token and A's refresh token; A revokes it with the hint
    // access_token: A's refresh token goes, B's access token stays.
    let (a_pk, b_pk, user) = (fx.app_pk(&a).await, fx.app_pk(&b).await, fx.user_id().await);
    let shared = "shared-value-0123456789";
    fx.insert_access_token(shared, Some(b_pk), Some(user), "read", Duration::hours(1))
        .await;
    fx.insert_pair("a-access-for-shared", shared, a_pk, user)
        .await;
    let r = fx
        .revoke(
            &a,
            &[("token", shared), ("token_type_hint", "access_token")],
        )
        .await;
    assert_empty_200(r).await;
    assert!(refresh_token_revoked(&store, shared).await);
    assert!(!access_token_exists(&store, "a-access-for-shared").await);
    assert!(
        access_token_exists(&store, shared).await,
        "B's access token untouched"
    );
}

/// The HTTP rules: missing token, bad client, methods, query strings, media type,
/// the CORS preflight and CORS on the response.
async fn revoke_errors_and_http_rules(env: Env) {
    let fx = Fx::start(env, &[]);
    let origin = "https://spa.example.org";
    let (id, secret) =
        fx.env
            .create_app("confidential", "password", &["--allowed-origins", origin]);
    let a = App { id, secret };
    let t = fx.password_token(&a, "read").await;

    let (status, body) = json_error(fx.revoke(&a, &[]).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_request", "error_description": "Missing token parameter."})
    );

    let wrong = App {
        id: a.id.clone(),
        secret: "wrong".into(),
    };
    let r = fx.revoke(&wrong, &[("token", &t.access)]).await;
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    let (status, body) = json_error(r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .basic_auth(&a.id, Some("wrong"))
        .form(&[("token", t.access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    assert!(access_token_exists(&fx.store().await, &t.access).await);

    // Basic works too.
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .header(header::ORIGIN, origin)
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap()),
        Some(origin),
        "registered origin may read the response"
    );
    assert_empty_200(r).await;
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .header(header::ORIGIN, "https://evil.example.net")
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert!(!r
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    assert_empty_200(r).await;

    // Other methods: 405 with Allow.
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let r = fx
            .http
            .request(method.clone(), fx.url("/o/revoke_token/"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method}");
        let allow = r.headers().get(header::ALLOW).unwrap().to_str().unwrap();
        assert!(allow.contains("POST"), "{allow}");
    }
    // Query strings are refused; parameters belong in the form body.
    let r = fx
        .http
        .post(fx.url(&format!("/o/revoke_token/?token={}", t.access)))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[("token", t.access.as_str())])
        .send()
        .await
        .unwrap();
    let (status, body) = json_error(r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // JSON is not a form.
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .json(&json!({"token": t.access}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert!(access_token_exists(&fx.store().await, &t.access).await);

    // CORS preflight (the token endpoint's).
    let r = fx
        .http
        .request(reqwest::Method::OPTIONS, fx.url("/o/revoke_token/"))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let h = r.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], origin);
    assert!(h[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .contains("POST"));
}

/// Hostile input never makes a 5xx: NUL bytes, duplicates, bad escapes, huge values.
async fn revoke_hostile_input(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let t = fx.password_token(&a, "read").await;
    let post_raw = |body: String| {
        fx.http
            .post(fx.url("/o/revoke_token/"))
            .basic_auth(&a.id, Some(&a.secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // Duplicate token: RFC 6749 §3.2, parameters must not repeat.
    let r = post_raw(format!("token={}&token=other", t.access))
        .await
        .unwrap();
    let (status, body) = json_error(r).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "Duplicate token parameter.");
    let r = post_raw(format!(
        "token={}&token_type_hint=a&token_type_hint=b",
        t.access
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(access_token_exists(&fx.store().await, &t.access).await);
    // NUL bytes, bad escapes, a huge value: unknown tokens, 200.
    for body in [
        "token=%00".to_string(),
        format!("token={}%00", t.access),
        "token=%zz%ff%fe".to_string(),
        format!("token={}", "x".repeat(60_000)),
        "token=%F0%9F%92%A9".to_string(),
    ] {
        let r = post_raw(body).await.unwrap();
        assert_empty_200(r).await;
    }
    assert!(access_token_exists(&fx.store().await, &t.access).await);
    // NUL in the client id: an unknown client.
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .form(&[
            ("client_id", "abc\0def"),
            ("client_secret", "x"),
            ("token", "t"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Beyond the body limit: 413, not a crash.
    let r = post_raw(format!("token={}", "x".repeat(200_000)))
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}
