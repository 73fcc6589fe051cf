//! The device authorization endpoint, and its metadata.

use std::collections::BTreeSet;

use oauth_toolkit_core::models::DeviceGrantStatus;
use serde_json::Value;

use crate::common::http_browser::{client, encode};
use crate::common::*;
use crate::support::*;

backends!(
    device_authorization_response,
    device_authorization_errors,
    metadata_advertises_the_device_endpoint,
);

/// The response, its defaults and settings; `; charset=` accepted;
/// `verification_uri` defaults to the provider's own page (DOT: null); the device code is
/// stored only as a digest.
async fn device_authorization_response(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let r = post_form(
        &server,
        DEVICE_AUTHORIZATION,
        encode(&[("client_id", &id)]),
        "application/x-www-form-urlencoded; charset=UTF-8",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let keys: BTreeSet<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "device_code",
            "user_code",
            "verification_uri",
            "expires_in",
            "interval"
        ]),
        "no verification_uri_complete unless configured: {}",
        r.body
    );
    assert_eq!(
        r.body["verification_uri"],
        format!("{}/o/device/", server.base)
    );
    assert_eq!(r.body["expires_in"], 1800);
    assert_eq!(r.body["interval"], 5);
    let device_code = r.body["device_code"].as_str().unwrap();
    assert!(device_code.len() >= 30, "{device_code}");
    let user_code = r.body["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert_eq!(&user_code[4..5], "-");
    let grant = stored(&env, device_code).await.expect("stored by digest");
    assert_eq!(grant.status, DeviceGrantStatus::AuthorizationPending);
    assert_eq!(grant.user_code, stored_code(user_code));
    assert_eq!(grant.client_id, id);
    assert_eq!(grant.scope, "read write", "default scopes, frozen");
    assert_eq!(grant.user_id, None);
    assert_eq!((grant.expires - grant.created).whole_seconds(), 1800);
    // Every request gets fresh codes.
    let (other_device, other_user) = start(&server, &id, None).await;
    assert_ne!(other_device, device_code);
    assert_ne!(other_user, user_code);
    drop(server);

    // The other settings; the endpoints move with the prefix.
    let server = Server::start(
        &env,
        &settings(&[
            ("OAUTH_TOOLKIT_DEVICE_FLOW_INTERVAL", "10"),
            ("OAUTH_TOOLKIT_DEVICE_CODE_EXPIRE_SECONDS", "600"),
            (
                "OAUTH_TOOLKIT_OAUTH_DEVICE_VERIFICATION_URI",
                "https://example.com/device",
            ),
            (
                "OAUTH_TOOLKIT_OAUTH_DEVICE_VERIFICATION_URI_COMPLETE",
                "https://example.com/device?user_code={user_code}",
            ),
            ("OAUTH_TOOLKIT_URL_PREFIX", "/oauth"),
        ]),
    );
    let r = post_form(
        &server,
        "/oauth/device-authorization/",
        encode(&[("client_id", &id)]),
        FORM,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["interval"], 10);
    assert_eq!(r.body["expires_in"], 600);
    assert_eq!(r.body["verification_uri"], "https://example.com/device");
    let user_code = r.body["user_code"].as_str().unwrap();
    assert_eq!(
        r.body["verification_uri_complete"],
        format!("https://example.com/device?user_code={user_code}")
    );
    let grant = stored(&env, r.body["device_code"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(grant.interval, 10);
    assert_eq!((grant.expires - grant.created).whole_seconds(), 600);
}

/// 111, 112 and client authentication: unknown clients are `invalid_client` (RFC 6749 §5.2;
/// DOT: 400 `invalid_request`), a confidential client needs its secret, a client of another
/// grant type is `unauthorized_client`, scopes are validated.
async fn device_authorization_errors(env: Env) {
    let (server, public_id) = fixture(&env, &[]);
    let (conf_id, conf_secret) = env.create_app("confidential", GRANT, &[]);
    let (code_id, _) = env.create_app(
        "public",
        "authorization-code",
        &["--redirect-uris", "https://example.com/cb"],
    );

    let r = device_authorize(&server, &[("client_id", "client_id_that_does_not_exist")]).await;
    assert_error(&r, 401, "invalid_client");
    assert!(r.headers.contains_key("www-authenticate"));

    let r = device_authorize(&server, &[]).await;
    assert_error(&r, 400, "invalid_request");
    assert_eq!(r.body["error_description"], "Missing client_id parameter.");
    let r = device_authorize(&server, &[("scope", "read")]).await;
    assert_error(&r, 400, "invalid_request");

    let r = device_authorize(&server, &[("client_id", &code_id)]).await;
    assert_error(&r, 400, "unauthorized_client");

    // Confidential: the secret is required and checked.
    let r = device_authorize(&server, &[("client_id", &conf_id)]).await;
    assert_error(&r, 401, "invalid_client");
    let r = device_authorize(
        &server,
        &[("client_id", &conf_id), ("client_secret", "wrong")],
    )
    .await;
    assert_error(&r, 401, "invalid_client");
    let r = device_authorize(
        &server,
        &[("client_id", &conf_id), ("client_secret", &conf_secret)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let resp = client()
        .post(format!("{}{DEVICE_AUTHORIZATION}", server.base))
        .basic_auth(&conf_id, Some(&conf_secret))
        .form(&[("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "Basic authentication, no client_id in the body"
    );

    // Scopes.
    let r = device_authorize(
        &server,
        &[("client_id", &public_id), ("scope", "read nuke")],
    )
    .await;
    assert_error(&r, 400, "invalid_scope");

    // Request shape: form bodies only, no query string, no repeated parameters.
    let r = post_form(
        &server,
        DEVICE_AUTHORIZATION,
        format!("{{\"client_id\":\"{public_id}\"}}"),
        "application/json",
    )
    .await;
    assert_error(&r, 415, "invalid_request");
    let r = post_form(
        &server,
        &format!("{DEVICE_AUTHORIZATION}?client_id={public_id}"),
        encode(&[("client_id", &public_id)]),
        FORM,
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    let r = device_authorize(
        &server,
        &[("client_id", &public_id), ("client_id", &public_id)],
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    let r = device_authorize(
        &server,
        &[
            ("client_id", &public_id),
            ("scope", "read"),
            ("scope", "write"),
        ],
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    // Only POST.
    let resp = client()
        .get(format!("{}{DEVICE_AUTHORIZATION}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
}

/// RFC 8414 / RFC 8628 §4: the endpoint and the grant type are advertised, and answer there.
async fn metadata_advertises_the_device_endpoint(env: Env) {
    let (server, id) = fixture(&env, &[("OAUTH_TOOLKIT_ISSUER", "http://localhost")]);
    let doc: Value = client()
        .get(format!(
            "{}/o/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["device_authorization_endpoint"],
        "http://localhost/o/device-authorization/"
    );
    assert!(doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from(GRANT)));
    let r = device_authorize(&server, &[("client_id", &id)]).await;
    assert_eq!(r.status, 200);
    // The default verification URI follows the issuer.
    assert_eq!(r.body["verification_uri"], "http://localhost/o/device/");
}
