//! Introspection (RFC 7662).

use std::time::Duration as StdDuration;

use oauth_toolkit_core::token_checksum::token_checksum;
use reqwest::header;
use serde_json::{json, Value};
use time::Duration;

use crate::common::*;
use crate::support::*;

backends!(
    introspect_caller_authentication,
    introspect_active_access_token,
    introspect_inactive_and_missing,
    introspect_expired_by_lifetime,
    introspect_refresh_tokens,
    introspect_hostile_input,
);

/// Who may introspect. A failed authentication is 401 with the challenge of the
/// scheme tried (RFC 7662 §2.3; DOT: an empty 403); a valid token without the scope is 403.
async fn introspect_caller_authentication(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let t = fx.password_token(&a, "read").await;
    let rs = fx.password_token(&a, "introspection").await;
    let no_scope = fx.password_token(&a, "read write").await;
    let (public_id, _) = fx.env.create_app("public", "password", &[]);
    let expired_rs = "expired-resource-server-token";
    fx.insert_access_token(
        expired_rs,
        Some(fx.app_pk(&a).await),
        None,
        "introspection",
        -Duration::seconds(5),
    )
    .await;

    let url = fx.url("/o/introspect/");
    let denied = [
        fx.http.post(&url).form(&[("token", &t.access)]),
        fx.http.get(format!("{url}?token={}", t.access)),
        fx.http
            .post(&url)
            .basic_auth(&a.id, Some("wrong"))
            .form(&[("token", &t.access)]),
        fx.http.post(&url).form(&[
            ("client_id", a.id.as_str()),
            ("client_secret", "wrong"),
            ("token", &t.access),
        ]),
        // A public client has no secret to prove itself with.
        fx.http
            .post(&url)
            .form(&[("client_id", public_id.as_str()), ("token", &t.access)]),
        // Credentials in a URL are not client authentication (RFC 6749 §2.3.1).
        fx.http.get(format!(
            "{url}?token={}&client_id={}&client_secret={}",
            t.access, a.id, a.secret
        )),
        fx.http
            .post(&url)
            .bearer_auth(expired_rs)
            .form(&[("token", &t.access)]),
        fx.http
            .post(&url)
            .bearer_auth("not-a-real-token")
            .form(&[("token", &t.access)]),
        fx.http
            .post(&url)
            .header(header::AUTHORIZATION, "Bearer")
            .form(&[("token", &t.access)]),
        fx.http
            .post(&url)
            .header(header::AUTHORIZATION, "Basic !!!")
            .form(&[("token", &t.access)]),
    ];
    // Client credentials tried (or none at all): invalid_client; a bearer token: invalid_token.
    let expected = [
        "invalid_client",
        "invalid_client",
        "invalid_client",
        "invalid_client",
        "invalid_client",
        "invalid_client",
        "invalid_token",
        "invalid_token",
        "invalid_client",
        "invalid_client",
    ];
    for (i, (req, error)) in denied.into_iter().zip(expected).enumerate() {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "case {i}");
        let challenge = r.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_string();
        let scheme = if error == "invalid_token" {
            "Bearer"
        } else {
            "Basic"
        };
        assert!(challenge.starts_with(scheme), "case {i}: {challenge}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], error, "case {i}");
    }
    // Authenticated, but without the `introspection` scope: 403.
    let r = fx
        .http
        .post(&url)
        .bearer_auth(&no_scope.access)
        .form(&[("token", &t.access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "insufficient_scope"
    );

    // Accepted: Basic, body credentials (POST), and a Bearer token with `introspection`.
    let ok = [
        fx.http
            .post(&url)
            .basic_auth(&a.id, Some(&a.secret))
            .form(&[("token", &t.access)]),
        fx.http
            .get(format!("{url}?token={}", t.access))
            .basic_auth(&a.id, Some(&a.secret)),
        fx.http.post(&url).form(&[
            ("client_id", a.id.as_str()),
            ("client_secret", &a.secret),
            ("token", &t.access),
        ]),
        fx.http
            .get(format!("{url}?token={}", t.access))
            .bearer_auth(&rs.access),
        fx.http
            .post(&url)
            .bearer_auth(&rs.access)
            .form(&[("token", &t.access)]),
    ];
    for (i, req) in ok.into_iter().enumerate() {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200, "case {i}");
        assert_eq!(r.json::<Value>().await.unwrap()["active"], true, "case {i}");
    }
}

/// The members DOT leaves out (token_type, iat, sub, iss).
async fn introspect_active_access_token(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let t = fx.password_token(&a, "read write dolphin").await;
    let rs = fx.password_token(&a, "introspection").await;
    let store = fx.store().await;
    let row = store
        .find_access_token(&token_checksum(&t.access))
        .await
        .unwrap()
        .unwrap();
    let user = fx.user_id().await;

    let r = fx
        .http
        .get(fx.url(&format!("/o/introspect/?token={}", t.access)))
        .bearer_auth(&rs.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let expected = json!({
        "active": true,
        "scope": "read write dolphin",
        "client_id": a.id,
        "username": "alice",
        "token_type": "Bearer",
        "exp": row.expires.unix_timestamp(),
        "iat": row.created.unix_timestamp(),
        "sub": user.to_string(),
        "iss": "http://localhost/o",
    });
    assert_eq!(r.json::<Value>().await.unwrap(), expected);
    // The same through POST with Basic and with body credentials (140), and with the
    // (wrong) refresh_token hint.
    assert_eq!(fx.introspect(&a, &t.access).await, expected);
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .form(&[
            ("client_id", a.id.as_str()),
            ("client_secret", &a.secret),
            ("token", &t.access),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), expected);
    // Another client may introspect A's access token (DOT: no ownership check).
    let b = fx.app();
    assert_eq!(fx.introspect(&b, &t.access).await, expected);

    // A client_credentials token has no user: no username, no sub.
    let (cc_id, cc_secret) = fx.env.create_app("confidential", "client-credentials", &[]);
    let r = fx
        .http
        .post(fx.url("/o/token/"))
        .basic_auth(&cc_id, Some(&cc_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    let cc: Value = r.json().await.unwrap();
    let v = fx
        .introspect(&a, cc["access_token"].as_str().unwrap())
        .await;
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], cc_id.as_str());
    assert!(v.get("username").is_none() && v.get("sub").is_none(), "{v}");
    // A token without an application: no client_id.
    fx.insert_access_token("no-app-token", None, Some(user), "read", Duration::hours(1))
        .await;
    let v = fx.introspect(&a, "no-app-token").await;
    assert_eq!(v["active"], true);
    assert_eq!(v["username"], "alice");
    assert!(v.get("client_id").is_none(), "{v}");
}

/// Expired and unknown tokens are `{"active": false}` and nothing else; a missing
/// token is a 400.
async fn introspect_inactive_and_missing(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let rs = fx.password_token(&a, "introspection").await;
    let (app_pk, user) = (fx.app_pk(&a).await, fx.user_id().await);
    fx.insert_access_token(
        "expired-token",
        Some(app_pk),
        Some(user),
        "read",
        -Duration::seconds(1),
    )
    .await;
    for token in ["expired-token", "no-such-token"] {
        let r = fx
            .http
            .get(fx.url(&format!("/o/introspect/?token={token}")))
            .bearer_auth(&rs.access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"active": false}));
        assert_eq!(fx.introspect(&a, token).await, json!({"active": false}));
    }
    let missing =
        json!({"error": "invalid_request", "error_description": "Token parameter is missing."});
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .bearer_auth(&rs.access)
        .form(&[("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(r).await, (400, missing.clone()));
    let r = fx
        .http
        .get(fx.url("/o/introspect/?token="))
        .basic_auth(&a.id, Some(&a.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(r).await, (400, missing));
    // Other methods: 405.
    let r = fx
        .http
        .delete(fx.url("/o/introspect/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

/// A token that expires by the configured lifetime turns inactive (no store tricks).
async fn introspect_expired_by_lifetime(env: Env) {
    let fx = Fx::start(env, &[("OAUTH_TOOLKIT_ACCESS_TOKEN_EXPIRE_SECONDS", "1")]);
    let a = fx.app();
    let t = fx.password_token(&a, "read").await;
    assert_eq!(fx.introspect(&a, &t.access).await["active"], true);
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    assert_eq!(fx.introspect(&a, &t.access).await, json!({"active": false}));
}

/// Refresh tokens: described to their own client (no token_type), inactive for everyone
/// else and once revoked or rotated.
async fn introspect_refresh_tokens(env: Env) {
    let fx = Fx::start(
        env,
        &[("OAUTH_TOOLKIT_REFRESH_TOKEN_EXPIRE_SECONDS", "3600")],
    );
    let (a, b) = (fx.app(), fx.app());
    let t = fx.password_token(&a, "read write").await;
    let rs = fx.password_token(&b, "introspection").await;
    let store = fx.store().await;
    let rt = store
        .find_refresh_token(&token_checksum(&t.refresh))
        .await
        .unwrap()
        .unwrap();
    let at = store
        .find_access_token(&token_checksum(&t.access))
        .await
        .unwrap()
        .unwrap();
    let user = fx.user_id().await;
    let expected = json!({
        "active": true,
        "scope": "read write",
        "client_id": a.id,
        "username": "alice",
        "exp": at.expires.unix_timestamp() + 3600,
        "iat": rt.created.unix_timestamp(),
        "sub": user.to_string(),
        "iss": "http://localhost/o",
    });
    assert_eq!(fx.introspect(&a, &t.refresh).await, expected);
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[
            ("token", t.refresh.as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), expected);
    // Not A: inactive.
    assert_eq!(
        fx.introspect(&b, &t.refresh).await,
        json!({"active": false})
    );
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .bearer_auth(&rs.access)
        .form(&[("token", t.refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"active": false}));
    // Rotated: the old one is inactive, the new one active.
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
    let new: Value = r.json().await.unwrap();
    let new_refresh = new["refresh_token"].as_str().unwrap();
    assert_eq!(
        fx.introspect(&a, &t.refresh).await,
        json!({"active": false})
    );
    assert_eq!(fx.introspect(&a, new_refresh).await["active"], true);
    // Revoked: inactive.
    assert_empty_200(fx.revoke(&a, &[("token", new_refresh)]).await).await;
    assert_eq!(
        fx.introspect(&a, new_refresh).await,
        json!({"active": false})
    );
}

/// Hostile input at introspection: never a 5xx.
async fn introspect_hostile_input(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let t = fx.password_token(&a, "read").await;
    let post_raw = |body: String| {
        fx.http
            .post(fx.url("/o/introspect/"))
            .basic_auth(&a.id, Some(&a.secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let r = post_raw(format!("token={}&token=x", t.access))
        .await
        .unwrap();
    let (status, body) = json_error(r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = fx
        .http
        .get(fx.url(&format!("/o/introspect/?token={0}&token={0}", t.access)))
        .basic_auth(&a.id, Some(&a.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    for body in [
        "token=%00".to_string(),
        format!("token={}%00", t.access),
        "token=%zz%ff".to_string(),
        format!("token={}", "x".repeat(60_000)),
        format!("token={}&token_type_hint=%00garbage", t.access),
    ] {
        let r = post_raw(body.clone()).await.unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        let expect_active = body.contains("garbage");
        assert_eq!(
            v["active"],
            expect_active,
            "{}",
            &body[..body.len().min(40)]
        );
    }
    let r = fx
        .http
        .get(fx.url(&format!("/o/introspect/?token={}", "y".repeat(8_000))))
        .basic_auth(&a.id, Some(&a.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"active": false}));
    // NUL in the Basic client id and in a bearer token: refused, not a crash.
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .basic_auth("abc\0def", Some("x"))
        .form(&[("token", t.access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .form(&[
            ("client_id", "abc\0"),
            ("client_secret", "x"),
            ("token", t.access.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A POST query string or a non-form body is refused like at the token endpoint.
    let r = fx
        .http
        .post(fx.url("/o/introspect/?token=x"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[("token", t.access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .basic_auth(&a.id, Some(&a.secret))
        .json(&json!({"token": t.access}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}
