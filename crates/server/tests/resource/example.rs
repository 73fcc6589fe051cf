//! The example binary: local mode, and remote mode against a running provider.

use std::time::{Duration as StdDuration, Instant};

use crate::common::*;
use crate::support::*;

backends!(
    example_local_mode,
    example_remote_mode_against_provider,
    example_remote_mode_with_bearer_auth,
);

/// `protected-api` in local mode on the provider's database: the tutorial endpoints, and a
/// revocation takes effect at once.
async fn example_local_mode(env: Env) {
    let fx = Fx::start_with(env, &[], &[]);
    let ex = Example::start(&[("DATABASE_URL", fx.env.url.as_str())]);
    let read = fx.token("read music:read").await;
    let write = fx.token("write music:write").await;
    assert_eq!(ex.api.call("GET", "/api/hello", None).await.status, 401);
    let r = ex.api.call("GET", "/api/hello", Some(&read)).await;
    assert_eq!((r.status, r.body.as_str()), (200, "Hello, OAuth2!"));
    assert_eq!(
        ex.api.call("GET", "/api/scoped", Some(&read)).await.status,
        200
    );
    assert_insufficient(
        &ex.api.call("GET", "/api/scoped", Some(&write)).await,
        "read",
    );
    assert_eq!(ex.api.call("GET", "/api/rw", Some(&read)).await.status, 200);
    assert_insufficient(&ex.api.call("POST", "/api/rw", Some(&read)).await, "write");
    assert_eq!(
        ex.api.call("POST", "/api/rw", Some(&write)).await.status,
        200
    );
    assert_eq!(
        ex.api.call("GET", "/api/music", Some(&read)).await.status,
        200
    );
    assert_insufficient(
        &ex.api.call("POST", "/api/music", Some(&read)).await,
        "music:write",
    );
    fx.revoke(&read).await;
    assert_challenge(
        &ex.api.call("GET", "/api/hello", Some(&read)).await,
        401,
        "invalid_token",
    );
}

/// `protected-api` in remote mode against the provider's `introspect/` (HTTP Basic with a
/// client of its own): every rule works on introspected tokens, unknown tokens are 401, and
/// a token revoked at the provider keeps working only until the cache entry
/// (`resource_server_token_caching_seconds` = 2 here) runs out.
async fn example_remote_mode_against_provider(env: Env) {
    let fx = Fx::start_with(env, &[], &[]);
    let rs_client = fx.cc_app();
    let url = format!("{}/o/introspect/", fx.server.base);
    let ex = Example::remote(
        &url,
        &rs_client,
        &[("OAUTH_TOOLKIT_RESOURCE_SERVER_TOKEN_CACHING_SECONDS", "2")],
    );
    let read = fx.token("read music:read").await;
    let write = fx.token("write music:write").await;
    let r = ex.api.call("GET", "/api/hello", Some(&read)).await;
    assert_eq!((r.status, r.body.as_str()), (200, "Hello, OAuth2!"));
    let r = ex.api.call("GET", "/api/scoped", Some(&read)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["username"], "alice");
    assert_eq!(r.json()["client_id"], fx.app.id.as_str());
    assert_insufficient(
        &ex.api.call("GET", "/api/scoped", Some(&write)).await,
        "read",
    );
    assert_insufficient(&ex.api.call("PUT", "/api/rw", Some(&read)).await, "write");
    assert_eq!(
        ex.api.call("PUT", "/api/rw", Some(&write)).await.status,
        200
    );
    assert_eq!(
        ex.api.call("GET", "/api/music", Some(&read)).await.status,
        200
    );
    assert_insufficient(
        &ex.api.call("GET", "/api/music", Some(&write)).await,
        "music:read",
    );
    assert_challenge(
        &ex.api.call("GET", "/api/hello", Some("unknownToken")).await,
        401,
        "invalid_token",
    );
    assert_eq!(ex.api.call("GET", "/api/hello", None).await.status, 401);

    fx.revoke(&read).await;
    let revoked_at = Instant::now();
    assert_eq!(
        ex.api.call("GET", "/api/hello", Some(&read)).await.status,
        200,
        "cached positive answer"
    );
    tokio::time::sleep(StdDuration::from_millis(2200).saturating_sub(revoked_at.elapsed())).await;
    assert_challenge(
        &ex.api.call("GET", "/api/hello", Some(&read)).await,
        401,
        "invalid_token",
    );
}

/// Remote mode authenticated with `resource_server_auth_token` (a token with the
/// `introspection` scope, DOT's first choice); a token without that scope is refused by the
/// provider, which the resource server reports as 503 (its configuration is wrong, the
/// client's token may be fine).
async fn example_remote_mode_with_bearer_auth(env: Env) {
    let fx = Fx::start_with(env, &[], &[]);
    let rs_client = fx.cc_app();
    let url = format!("{}/o/introspect/", fx.server.base);
    let good = fx.cc_token(&rs_client, "introspection").await;
    let ex = Example::start(&[
        (
            "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_URL",
            url.as_str(),
        ),
        ("OAUTH_TOOLKIT_RESOURCE_SERVER_AUTH_TOKEN", good.as_str()),
    ]);
    let read = fx.token("read").await;
    assert_eq!(
        ex.api.call("GET", "/api/scoped", Some(&read)).await.status,
        200
    );
    drop(ex);

    let weak = fx.cc_token(&rs_client, "read").await;
    let ex = Example::start(&[
        (
            "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_URL",
            url.as_str(),
        ),
        ("OAUTH_TOOLKIT_RESOURCE_SERVER_AUTH_TOKEN", weak.as_str()),
    ]);
    let r = ex.api.call("GET", "/api/scoped", Some(&read)).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "temporarily_unavailable");
}
