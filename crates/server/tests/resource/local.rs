//! Local mode: `serve --demo-api`.

use reqwest::header::{HeaderMap, ALLOW};
use serde_json::{json, Value};

use crate::common::*;
use crate::support::*;

backends!(
    hello_needs_any_valid_token,
    malformed_requests_are_invalid_request,
    other_schemes_are_no_token,
    unknown_expired_and_revoked_tokens_are_invalid,
    scoped_needs_read_and_sees_user_and_client,
    answer_settings,
    read_write_by_method,
    resource_scopes_by_method,
    alternative_scopes_per_method,
    session_or_token,
    identify_middleware,
    layers_protect_like_extractors,
    token_transport_follows_settings,
    demo_api_only_when_asked,
);

/// `/api/hello` (`Bearer`, DOT's tutorial `ApiEndpoint`): no token → 401 with a bare
/// challenge; any valid token → `Hello, OAuth2!`; `bearer` in lower case works;
/// OPTIONS passes without a token; the unprotected twin answers everyone.
async fn hello_needs_any_valid_token(env: Env) {
    let fx = Fx::start(env, &[]);
    let r = fx.api.call("GET", "/api/hello", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.www(), REALM_API);
    assert!(
        r.json().get("error").is_none(),
        "no error code without a token (RFC 6750 §3.1)"
    );

    let token = fx.token("write").await;
    let r = fx.api.call("GET", "/api/hello", Some(&token)).await;
    assert_eq!((r.status, r.body.as_str()), (200, "Hello, OAuth2!"));
    let lower = format!("bearer {token}");
    let r = fx
        .api
        .raw("GET", "/api/hello", &[("authorization", &lower)], None)
        .await;
    assert_eq!(r.status, 200);
    let r = fx.api.call("HEAD", "/api/hello", Some(&token)).await;
    assert_eq!(r.status, 200);
    let r = fx.api.call("OPTIONS", "/api/hello", None).await;
    assert_eq!(r.status, 204);
    assert!(r.headers.get(ALLOW).is_some());
    let r = fx.api.call("GET", "/api/public", None).await;
    assert_eq!((r.status, r.body.as_str()), (200, "Hello, OAuth2!"));
}

/// Malformed credentials are `400 invalid_request` (RFC 6750 §3.1): `Bearer` without a
/// token, two parts, characters outside b64token, two Bearer headers, header plus query, and
/// a query token while only the header is accepted (the default).
async fn malformed_requests_are_invalid_request(env: Env) {
    let fx = Fx::start(env, &[]);
    let token = fx.token("read").await;
    let two = format!("Bearer {token} extra");
    for header in [
        "Bearer",
        "Bearer ",
        two.as_str(),
        "Bearer to\"ken",
        "Bearer a,b",
    ] {
        let r = fx
            .api
            .raw("GET", "/api/hello", &[("authorization", header)], None)
            .await;
        assert_challenge(&r, 400, "invalid_request");
    }
    let good = format!("Bearer {token}");
    let r = fx
        .api
        .raw(
            "GET",
            "/api/hello",
            &[("authorization", &good), ("authorization", &good)],
            None,
        )
        .await;
    assert_challenge(&r, 400, "invalid_request");
    let r = fx
        .api
        .raw(
            "GET",
            &format!("/api/hello?access_token={token}"),
            &[("authorization", &good)],
            None,
        )
        .await;
    assert_challenge(&r, 400, "invalid_request");
    let r = fx
        .api
        .call("GET", &format!("/api/hello?access_token={token}"), None)
        .await;
    assert_challenge(&r, 400, "invalid_request");
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("query string"));
}

/// Another scheme is no bearer token at all: 401 with the bare challenge (`BearerX` is not
/// `Bearer`).
async fn other_schemes_are_no_token(env: Env) {
    let fx = Fx::start(env, &[]);
    let token = fx.token("read").await;
    for header in [
        "Basic YWxpY2U6cHc=".to_string(),
        format!("BearerX {token}"),
        format!("Token {token}"),
    ] {
        let r = fx
            .api
            .raw("GET", "/api/hello", &[("authorization", &header)], None)
            .await;
        assert_eq!(r.status, 401, "{header}");
        assert_eq!(r.www(), REALM_API);
    }
}

/// Unknown, expired and revoked tokens are `401 invalid_token` with DOT's descriptions; a
/// token revoked through `revoke_token/` is refused by the very next request (local mode
/// caches nothing by default).
async fn unknown_expired_and_revoked_tokens_are_invalid(env: Env) {
    let fx = Fx::start(env, &[]);
    let r = fx
        .api
        .call("GET", "/api/hello", Some("notATokenWeIssued"))
        .await;
    assert_challenge(&r, 401, "invalid_token");
    assert!(r
        .www()
        .contains(r#"error_description="The access token is invalid.""#));

    let expired = fx.expired_token().await;
    let r = fx.api.call("GET", "/api/hello", Some(&expired)).await;
    assert_challenge(&r, 401, "invalid_token");
    assert_eq!(
        r.json()["error_description"],
        "The access token has expired."
    );

    let token = fx.token("read write").await;
    for _ in 0..3 {
        assert_eq!(
            fx.api.call("GET", "/api/hello", Some(&token)).await.status,
            200
        );
    }
    fx.revoke(&token).await;
    let r = fx.api.call("GET", "/api/hello", Some(&token)).await;
    assert_challenge(&r, 401, "invalid_token");
}

/// `/api/scoped` (`RequireScopes<Read>`): a token without `read` → 403 `insufficient_scope`
/// naming `scope="read"`, no `required_scopes` in the body by default; with `read` → 200, and
/// the handler sees the token's user and application (none for client credentials).
async fn scoped_needs_read_and_sees_user_and_client(env: Env) {
    let fx = Fx::start(env, &[]);
    let write = fx.token("write").await;
    let r = fx.api.call("GET", "/api/scoped", Some(&write)).await;
    assert_insufficient(&r, "read");
    assert!(r.json().get("required_scopes").is_none());

    let read = fx.token("read").await;
    let r = fx.api.call("GET", "/api/scoped", Some(&read)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["username"], "alice");
    assert_eq!(v["client_id"], fx.app.id.as_str());
    assert_eq!(v["scope"], "read");
    assert_eq!(v["origin"], "local");

    let cc = fx.cc_app();
    let t = fx.cc_token(&cc, "read").await;
    let v = fx.api.call("GET", "/api/scoped", Some(&t)).await.json();
    assert_eq!(v["username"], Value::Null);
    assert_eq!(v["client_id"], cc.id.as_str());
}

/// `error_response_with_scopes` adds `required_scopes` to 403 bodies;
/// `www_authenticate_realm` names the realm.
async fn answer_settings(env: Env) {
    let fx = Fx::start(
        env,
        &[
            ("OAUTH_TOOLKIT_ERROR_RESPONSE_WITH_SCOPES", "true"),
            ("OAUTH_TOOLKIT_WWW_AUTHENTICATE_REALM", "example"),
        ],
    );
    let write = fx.token("write").await;
    let r = fx.api.call("GET", "/api/scoped", Some(&write)).await;
    assert_eq!(r.status, 403);
    assert!(r
        .www()
        .starts_with(r#"Bearer realm="example", error="insufficient_scope""#));
    assert_eq!(r.json()["required_scopes"], json!(["read"]));
    let r = fx.api.call("PUT", "/api/alternatives", Some(&write)).await;
    assert_eq!(
        r.json()["required_alternate_scopes"],
        json!([["write", "music:write"], ["write", "admin"]])
    );
    let r = fx.api.call("GET", "/api/hello", None).await;
    assert_eq!(r.www(), r#"Bearer realm="example""#);
}

/// `/api/rw` (`ReadWrite`) and `/api/layer/rw` (`read_write()` layer): `read` for GET and
/// HEAD, `write` for POST/PUT/PATCH/DELETE; OPTIONS passes without a
/// token; the layer adds `Vary: Authorization`.
async fn read_write_by_method(env: Env) {
    let fx = Fx::start(env, &[]);
    let read = fx.token("read").await;
    let write = fx.token("write").await;
    for path in ["/api/rw", "/api/layer/rw"] {
        for m in ["GET", "HEAD"] {
            assert_eq!(
                fx.api.call(m, path, Some(&read)).await.status,
                200,
                "{m} {path}"
            );
            let r = fx.api.call(m, path, Some(&write)).await;
            assert_eq!(r.status, 403, "{m} {path}");
        }
        assert_insufficient(&fx.api.call("GET", path, Some(&write)).await, "read");
        for m in ["POST", "PUT", "PATCH", "DELETE"] {
            assert_insufficient(&fx.api.call(m, path, Some(&read)).await, "write");
            let r = fx.api.call(m, path, Some(&write)).await;
            assert_eq!(r.status, 200, "{m} {path}");
            assert_eq!(r.json()["method"], m);
        }
        let r = fx.api.call("OPTIONS", path, None).await;
        assert_eq!(r.status, 204, "OPTIONS {path}");
        assert_eq!(fx.api.call("POST", path, None).await.status, 401);
    }
    let r = fx.api.call("GET", "/api/layer/rw", Some(&read)).await;
    assert!(r.vary_authorization());
}

/// `/api/music` (`ResourceScoped<Music>`) and `/api/layer/music`: `music:read` for safe
/// methods, `music:write` for the others; plain `read`/`write` do not count.
async fn resource_scopes_by_method(env: Env) {
    let fx = Fx::start(env, &[]);
    let mr = fx.token("music:read").await;
    let mw = fx.token("music:write").await;
    let rw = fx.token("read write").await;
    for path in ["/api/music", "/api/layer/music"] {
        assert_eq!(fx.api.call("GET", path, Some(&mr)).await.status, 200);
        assert_insufficient(&fx.api.call("POST", path, Some(&mr)).await, "music:write");
        assert_eq!(fx.api.call("POST", path, Some(&mw)).await.status, 200);
        assert_eq!(fx.api.call("DELETE", path, Some(&mw)).await.status, 200);
        assert_insufficient(&fx.api.call("GET", path, Some(&mw)).await, "music:read");
        assert_insufficient(&fx.api.call("GET", path, Some(&rw)).await, "music:read");
        assert_insufficient(&fx.api.call("PUT", path, Some(&rw)).await, "music:write");
        assert_eq!(fx.api.call("OPTIONS", path, None).await.status, 204);
    }
}

/// `/api/alternatives` (`AlternativeScopes`) and `/api/layer/alternatives`
/// (`MethodAlternatives`), DOT's `TokenMatchesOASRequirements`: any one listed
/// set suffices; an unlisted method is refused whatever the token; no token is 401.
async fn alternative_scopes_per_method(env: Env) {
    let fx = Fx::start(env, &[]);
    let read = fx.token("read").await;
    let write = fx.token("write").await;
    let wm = fx.token("write music:write").await;
    let wa = fx.token("write admin").await;
    let admin = fx.token("admin").await;
    let all = fx.token("read write music:read music:write admin").await;
    for path in ["/api/alternatives", "/api/layer/alternatives"] {
        assert_eq!(fx.api.call("GET", path, Some(&read)).await.status, 200);
        assert_eq!(fx.api.call("POST", path, Some(&write)).await.status, 200);
        assert_insufficient(&fx.api.call("POST", path, Some(&read)).await, "write");
        assert_eq!(fx.api.call("PUT", path, Some(&wm)).await.status, 200);
        assert_eq!(fx.api.call("PUT", path, Some(&wa)).await.status, 200);
        assert_insufficient(
            &fx.api.call("PUT", path, Some(&write)).await,
            "write music:write",
        );
        assert_eq!(fx.api.call("DELETE", path, Some(&admin)).await.status, 200);
        let r = fx.api.call("PATCH", path, Some(&all)).await;
        assert_eq!(r.status, 403, "PATCH is not listed: {path}");
        assert!(r.www().contains("insufficient_scope"));
        assert_eq!(fx.api.call("GET", path, None).await.status, 401);
    }
}

/// Log in through the provider's login form; returns (cookie header, CSRF token).
async fn login(fx: &Fx) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = &fx.server.base;
    let cookie_of = |h: &HeaderMap| -> Option<String> {
        h.get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("sessionid="))
            .map(|v| v.split(';').next().unwrap().to_string())
    };
    let csrf_of = |body: &str| -> String {
        let i = body.find("csrfmiddlewaretoken").expect("csrf field");
        let rest = &body[i..];
        let v = rest.find("value=\"").unwrap() + 7;
        rest[v..].split('"').next().unwrap().to_string()
    };
    let r = http
        .get(format!("{base}/accounts/login/"))
        .send()
        .await
        .unwrap();
    let cookie = cookie_of(r.headers()).expect("anonymous session");
    let csrf = csrf_of(&r.text().await.unwrap());
    let r = http
        .post(format!("{base}/accounts/login/"))
        .header("cookie", &cookie)
        .form(&[
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("username", "alice"),
            ("password", PW),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "login failed");
    let cookie = cookie_of(r.headers()).expect("session cookie");
    let r = http
        .get(format!("{base}/accounts/logout/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&r.text().await.unwrap());
    (cookie, csrf)
}

/// `/api/session-or-token` (`SessionOrToken<Read>`, DRF's `IsAuthenticatedOrTokenHasScope`):
/// nobody → 401; a token with `read` → 200; a token without → 403; an invalid
/// token → 401 even with a session; a logged-in session user → 200 on GET, and on POST only
/// with the session's CSRF token in `X-CSRFToken`.
async fn session_or_token(env: Env) {
    let fx = Fx::start(env, &[]);
    let path = "/api/session-or-token";
    assert_eq!(fx.api.call("GET", path, None).await.status, 401);
    let read = fx.token("read").await;
    let r = fx.api.call("GET", path, Some(&read)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["username"], "alice");
    let write = fx.token("write").await;
    assert_insufficient(&fx.api.call("GET", path, Some(&write)).await, "read");
    assert_challenge(
        &fx.api.call("GET", path, Some("bogusToken")).await,
        401,
        "invalid_token",
    );

    let (cookie, csrf) = login(&fx).await;
    let r = fx.api.raw("GET", path, &[("cookie", &cookie)], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["session_user_id"].is_number());
    let r = fx.api.raw("POST", path, &[("cookie", &cookie)], None).await;
    assert_eq!(
        r.status, 401,
        "a cookie alone must not authorise a POST (CSRF)"
    );
    let r = fx
        .api
        .raw(
            "POST",
            path,
            &[("cookie", &cookie), ("x-csrftoken", &csrf)],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = fx
        .api
        .raw(
            "GET",
            path,
            &[("cookie", &cookie), ("authorization", "Bearer bogusToken")],
            None,
        )
        .await;
    assert_eq!(r.status, 401);
}

/// `/api/whoami` behind the "who is calling" layer (DOT's `OAuth2TokenMiddleware`):
/// never refuses; a valid token names its user; no token or a bad one is anonymous; every
/// answer varies on `Authorization`.
async fn identify_middleware(env: Env) {
    let fx = Fx::start(env, &[]);
    let r = fx.api.call("GET", "/api/whoami", None).await;
    assert_eq!(
        (r.status, r.json()["anonymous"].clone()),
        (200, json!(true))
    );
    assert!(r.vary_authorization());
    let token = fx.token("read").await;
    let r = fx.api.call("GET", "/api/whoami", Some(&token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["username"], "alice");
    assert!(r.vary_authorization());
    for bad in ["unknownToken", "a b"] {
        let r = fx.api.call("GET", "/api/whoami", Some(bad)).await;
        assert_eq!(
            (r.status, r.json()["anonymous"].clone()),
            (200, json!(true))
        );
    }
}

/// The layers: `protect()`, `require_scopes(["read"])` refuse like their extractors, pass
/// OPTIONS through, and hand the token to the handler.
async fn layers_protect_like_extractors(env: Env) {
    let fx = Fx::start(env, &[]);
    let read = fx.token("read").await;
    let write = fx.token("write").await;
    let r = fx.api.call("GET", "/api/layer/hello", None).await;
    assert_eq!((r.status, r.www()), (401, REALM_API.to_string()));
    assert_challenge(
        &fx.api.call("GET", "/api/layer/hello", Some("nope")).await,
        401,
        "invalid_token",
    );
    let r = fx.api.call("POST", "/api/layer/hello", Some(&write)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["username"], "alice");
    assert_insufficient(
        &fx.api.call("GET", "/api/layer/scoped", Some(&write)).await,
        "read",
    );
    assert_eq!(
        fx.api
            .call("GET", "/api/layer/scoped", Some(&read))
            .await
            .status,
        200
    );
    assert_eq!(
        fx.api
            .call("OPTIONS", "/api/layer/scoped", None)
            .await
            .status,
        204
    );
}

/// Token transport: with `oauth2_protected_resource_bearer_methods_supported = header, query,
/// body`, `?access_token=` works and a form body `access_token` works on layered
/// routes; an extractor-only route cannot read bodies (documented) and sees no token; with
/// `compliant_bcp_rfc9700_access_token_transport` the query is refused again.
async fn token_transport_follows_settings(env: Env) {
    let fx = Fx::start(
        env,
        &[(
            "OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_BEARER_METHODS_SUPPORTED",
            "header,query,body",
        )],
    );
    let write = fx.token("write").await;
    let r = fx
        .api
        .call("GET", &format!("/api/hello?access_token={write}"), None)
        .await;
    assert_eq!(r.status, 200);
    let form = format!("access_token={write}&song=x");
    let r = fx
        .api
        .raw("POST", "/api/layer/rw", &[], Some(form.clone()))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = fx.api.raw("POST", "/api/rw", &[], Some(form)).await;
    assert_eq!(r.status, 401);
    let twice = format!("access_token={write}&access_token={write}");
    let r = fx.api.raw("POST", "/api/layer/rw", &[], Some(twice)).await;
    assert_challenge(&r, 400, "invalid_request");
    drop(fx);

    let env = Env::sqlite();
    let fx = Fx::start(
        env,
        &[
            (
                "OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_BEARER_METHODS_SUPPORTED",
                "header,query",
            ),
            (
                "OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT",
                "true",
            ),
        ],
    );
    let read = fx.token("read").await;
    let r = fx
        .api
        .call("GET", &format!("/api/hello?access_token={read}"), None)
        .await;
    assert_challenge(&r, 400, "invalid_request");
}

/// Without `--demo-api` there is no `/api/`.
async fn demo_api_only_when_asked(env: Env) {
    let fx = Fx::start_with(env, &[], &[]);
    let token = fx.token("read").await;
    assert_eq!(
        fx.api.call("GET", "/api/hello", Some(&token)).await.status,
        404
    );
}
