//! RFC 8707 resource indicators: tokens bound to the APIs they were asked for, refused
//! elsewhere; `invalid_target` for a malformed or escalating `resource`; `aud` in
//! introspection; a code's and a refresh token's resources narrowed, never widened.

use oauth_toolkit_core::models::NewGrant;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::common::*;
use crate::support::*;

backends!(
    a_bound_token_works_only_at_its_resource,
    malformed_resources_are_invalid_target,
    codes_and_refresh_tokens_narrow_but_never_widen,
    the_authorization_endpoint_checks_resources,
);

async fn token_with(fx: &Fx, form: &[(&str, &str)]) -> (u16, Value) {
    let r = fx
        .api
        .http
        .post(format!("{}/o/token/", fx.server.base))
        .basic_auth(&fx.app.id, Some(&fx.app.secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn password_token(fx: &Fx, resources: &[&str]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PW),
        ("scope", "read"),
    ];
    form.extend(resources.iter().map(|r| ("resource", *r)));
    token_with(fx, &form).await
}

async fn introspect(fx: &Fx, token: &str) -> Value {
    fx.api
        .http
        .post(format!("{}/o/introspect/", fx.server.base))
        .basic_auth(&fx.app.id, Some(&fx.app.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn a_bound_token_works_only_at_its_resource(env: Env) {
    let fx = Fx::start(env, &[]);
    let api = format!("{}/api/", fx.server.base);
    let other = "https://photos.example.test/v1";
    let (s, body) = password_token(&fx, &[&api, other]).await;
    assert_eq!(s, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    let seen = introspect(&fx, &token).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["aud"], serde_json::json!([api, other]));
    let ok = fx.api.call("GET", "/api/scoped", Some(&token)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Bound elsewhere only: refused here, with DOT's description.
    let (_, body) = password_token(&fx, &[other]).await;
    let elsewhere = body["access_token"].as_str().unwrap().to_string();
    let refused = fx.api.call("GET", "/api/scoped", Some(&elsewhere)).await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.www().contains("error=\"invalid_token\""),
        "{}",
        refused.www()
    );
    assert_eq!(
        refused.json()["error_description"],
        "The access token is not valid for this resource."
    );
    // A sibling path is not under the audience's path (segment boundary).
    let (_, body) = password_token(&fx, &[&format!("{}/api/layer", fx.server.base)]).await;
    let layer_only = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        fx.api
            .call("GET", "/api/layer/scoped", Some(&layer_only))
            .await
            .status,
        200
    );
    assert_eq!(
        fx.api
            .call("GET", "/api/scoped", Some(&layer_only))
            .await
            .status,
        401
    );

    // Unbound tokens keep working everywhere, and introspect without `aud`.
    let unbound = fx.token("read").await;
    assert_eq!(
        fx.api
            .call("GET", "/api/scoped", Some(&unbound))
            .await
            .status,
        200
    );
    assert!(introspect(&fx, &unbound).await.get("aud").is_none());
}

async fn malformed_resources_are_invalid_target(env: Env) {
    let fx = Fx::start(env, &[]);
    for bad in [
        "photos",
        "/api/",
        "https://photos.example.test/#x",
        "https://user@photos.example.test/",
        "urn:example:photos",
        "",
    ] {
        let (s, body) = password_token(&fx, &[bad]).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("invalid_target")),
            "{bad:?}: {body}"
        );
    }
    // Client credentials too.
    let cc = fx.cc_app();
    let r = fx
        .api
        .http
        .post(format!("{}/o/token/", fx.server.base))
        .basic_auth(&cc.id, Some(&cc.secret))
        .form(&[("grant_type", "client_credentials"), ("resource", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_target");
}

/// A code row as `authorize/` writes it, bound to `resource` (stored form).
async fn code_for(env: &Env, client_id: &str, resource: &str) -> String {
    let store = env.db().await.store();
    let code = oauth_toolkit_core::generators::generate_token();
    let user_id = store
        .find_user_by_username("alice")
        .await
        .unwrap()
        .unwrap()
        .id;
    let app = store
        .find_application_by_client_id(client_id)
        .await
        .unwrap()
        .unwrap();
    store
        .create_grant(
            NewGrant {
                user_id,
                code: code.clone(),
                application_id: app.id,
                expires: OffsetDateTime::now_utc() + Duration::seconds(60),
                redirect_uri: "https://client.example.test/cb".into(),
                scope: "read".into(),
                code_challenge: String::new(),
                code_challenge_method: None,
                nonce: String::new(),
                claims: "{}".into(),
                token_family: uuid::Uuid::new_v4(),
                auth_time: None,
                sid: String::new(),
                resource: resource.into(),
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    code
}

async fn codes_and_refresh_tokens_narrow_but_never_widen(env: Env) {
    // The codes are written to the store without a PKCE challenge.
    let fx = Fx::start(env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let (id, secret) = fx.env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", "https://client.example.test/cb"],
    );
    let (a, b, c) = (
        "https://a.example.test/",
        "https://b.example.test/",
        "https://c.example.test/",
    );
    let exchange = |code: String, resource: Option<&'static str>| {
        let (fx, id, secret) = (&fx, id.clone(), secret.clone());
        async move {
            let mut form = vec![
                ("grant_type".to_string(), "authorization_code".to_string()),
                ("code".into(), code),
                (
                    "redirect_uri".into(),
                    "https://client.example.test/cb".into(),
                ),
            ];
            if let Some(r) = resource {
                form.push(("resource".into(), r.into()));
            }
            let r = fx
                .api
                .http
                .post(format!("{}/o/token/", fx.server.base))
                .basic_auth(&id, Some(&secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let granted = format!("{a} {b}");
    // Escalation beyond the code: refused, and the code is not spent by it.
    let code = code_for(&fx.env, &id, &granted).await;
    let (s, body) = exchange(code.clone(), Some(c)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    // Narrowing: the access token is for `b` only.
    let (s, body) = exchange(code, Some(b)).await;
    assert_eq!(s, 200, "{body}");
    let at = body["access_token"].as_str().unwrap();
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    let seen = fx
        .api
        .http
        .post(format!("{}/o/introspect/", fx.server.base))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(seen["aud"], serde_json::json!([b]));

    let refresh = |token: String, resource: Option<&'static str>| {
        let (fx, id, secret) = (&fx, id.clone(), secret.clone());
        async move {
            let mut form = vec![
                ("grant_type".to_string(), "refresh_token".to_string()),
                ("refresh_token".into(), token),
            ];
            if let Some(r) = resource {
                form.push(("resource".into(), r.into()));
            }
            let r = fx
                .api
                .http
                .post(format!("{}/o/token/", fx.server.base))
                .basic_auth(&id, Some(&secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    // The refresh token keeps the grant's resources: `a` may be asked for now, `c` not.
    let (s, body) = refresh(rt.clone(), Some(c)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    let (s, body) = refresh(rt, Some(a)).await;
    assert_eq!(s, 200, "a refused escalation spends nothing: {body}");
    let rt2 = body["refresh_token"].as_str().unwrap().to_string();
    // Without `resource`, the whole grant again.
    let (s, body) = refresh(rt2, None).await;
    assert_eq!(s, 200, "{body}");
    let seen = fx
        .api
        .http
        .post(format!("{}/o/introspect/", fx.server.base))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", body["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(seen["aud"], serde_json::json!([a, b]));
    // An unbound code may be narrowed to any resource.
    let code = code_for(&fx.env, &id, "").await;
    let (s, _) = exchange(code, Some(c)).await;
    assert_eq!(s, 200);
}

/// At `authorize/` a malformed `resource` goes back to the client as `invalid_target`.
async fn the_authorization_endpoint_checks_resources(env: Env) {
    let fx = Fx::start(env, &[]);
    let (id, _) = fx.env.create_app(
        "public",
        "authorization-code",
        &["--redirect-uris", "https://client.example.test/cb"],
    );
    let path = format!(
        "/o/authorize/?response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fclient.example.test%2Fcb\
         &scope=read&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
         &code_challenge_method=S256&resource=not-a-uri"
    );
    let browser = crate::common::http_browser::Browser::new(&fx.server.base);
    browser.login_as("alice", PW).await;
    let page = browser.get(&path).await;
    assert_eq!(page.status, 302, "{}", page.body);
    let location = page.loc();
    assert!(
        location.starts_with("https://client.example.test/cb?"),
        "{location}"
    );
    assert!(location.contains("error=invalid_target"), "{location}");
    assert!(location.contains("state=s1"), "{location}");

    // A good one is carried through the consent page (a hidden field per resource).
    let good = path.replace(
        "resource=not-a-uri",
        "resource=https%3A%2F%2Fapi.example.test%2Fv1",
    );
    let consent = browser.get(&good).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(
        consent
            .body
            .contains("name=\"resource\" value=\"https:&#x2f;&#x2f;api.example.test&#x2f;v1\""),
        "{}",
        consent.body
    );
    // The person consenting sees where the tokens will work.
    assert!(consent.body.contains("Only for use at"), "{}", consent.body);
}
