//! Client authentication failures and malformed requests: RFC 6749 §5.2 errors.

use base64::Engine;
use serde_json::Value;

use crate::common::*;
use crate::support::*;

backends!(
    client_authentication_failures,
    cached_client_authentication_is_bounded,
    malformed_requests_get_rfc_errors,
);

async fn client_authentication_failures(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let (public_id, public_secret) = env.create_app("public", "client-credentials", &[]);
    let server = Server::start(&env, &[]);
    let cc = [("grant_type", "client_credentials")];
    // Wrong secret, unknown client, wrong scheme, no credentials: 401 invalid_client with a
    // challenge.
    for auth in [
        Some(basic(&id, "BOOM!")),
        Some(basic("no-such-client", &secret)),
        Some(format!(
            "Wrong {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )),
        Some("Basic !!!notbase64".to_string()),
        None,
    ] {
        let (status, headers, body) = token_post(&server, auth.as_deref(), &cc).await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(body["error"], "invalid_client");
        assert!(headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
    }
    // `client=` is not `client_id=`.
    let (status, _, _) = token_post(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 401);
    // Body credentials work.
    let (status, _, _) = token_post(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 200);
    // client_credentials needs the secret even from a public client.
    let (status, _, _) = token_post(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &public_id),
        ],
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = token_post(&server, Some(&basic(&public_id, &public_secret)), &cc).await;
    assert_eq!(status, 200);
    // Two authentication methods at once (RFC 6749 §2.3).
    let (status, _, body) = token_post(
        &server,
        Some(&basic(&id, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // A grant the application may not use.
    let (status, _, body) = token_post(
        &server,
        Some(&basic(&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

/// `client_authentication_cache_seconds`: a success is remembered only for the exact
/// secret, and a deleted application stops working once the TTL has passed — never a 500 in
/// between (the cached client's token INSERT then finds no application row).
async fn cached_client_authentication_is_bounded(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start(
        &env,
        &[("OAUTH_TOOLKIT_CLIENT_AUTHENTICATION_CACHE_SECONDS", "1")],
    );
    let cc = [("grant_type", "client_credentials")];
    let (status, _, body) = token_post(&server, Some(&basic(&id, &secret)), &cc).await;
    assert_eq!(status, 200, "{body}");
    // A remembered success does not open the door to another secret.
    let wrong = format!("{secret}x");
    let (status, _, body) = token_post(&server, Some(&basic(&id, &wrong)), &cc).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Delete the application behind the server's back.
    let app = app_id(&env, &id).await;
    assert!(env
        .db()
        .await
        .store()
        .delete_application(app)
        .await
        .unwrap());
    // Within the TTL the answer is a success or a clean 4xx, never a server error.
    let (status, _, body) = token_post(&server, Some(&basic(&id, &secret)), &cc).await;
    assert!(
        status == 200 || status == 400 || status == 401,
        "{status}: {body}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let (status, _, body) = token_post(&server, Some(&basic(&id, &secret)), &cc).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
}

async fn malformed_requests_get_rfc_errors(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start(&env, &[]);
    let auth = basic(&id, &secret);
    let (status, _, body) = token_post(&server, Some(&auth), &[("grant_type", "UNKNOWN")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, _, body) = token_post(&server, Some(&auth), &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, body) = token_post(
        &server,
        Some(&auth),
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(body["error_description"], "Duplicate grant_type parameter.");
    let (status, _, body) = token_post(
        &server,
        Some(&auth),
        &[("grant_type", "client_credentials"), ("scope", "read nuke")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    // Query parameters on the POST.
    let resp = http()
        .post(format!("{}/o/token/?foo=bar", server.base))
        .header("Authorization", &auth)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error_description"],
        "URL query parameters are not allowed"
    );
    // GET is not allowed.
    let resp = http()
        .get(format!("{}/o/token/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    // A JSON body is not a form (RFC 6749 §3.2): 415 naming the expected type.
    let resp = http()
        .post(format!("{}/o/token/", server.base))
        .header("Authorization", &auth)
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let body = resp.json::<Value>().await.unwrap();
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("application/x-www-form-urlencoded"));
    // A charset parameter is fine.
    let resp = http()
        .post(format!("{}/o/token/", server.base))
        .header("Authorization", &auth)
        .header(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}
