//! The tokens of an approved grant: who and what for, redeemed once, with a real client.

use std::collections::BTreeSet;
use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse};
use oauth2::{TokenResponse, TokenUrl};
use oauth_toolkit_core::token_checksum::token_checksum;
use serde_json::Value;

use crate::common::http_browser::{client, encode, Browser};
use crate::common::*;
use crate::support::*;

backends!(
    tokens_for_the_approving_user,
    scope_is_frozen_at_device_authorization,
    authorized_code_redeemed_once_under_race,
    device_flow_with_the_oauth2_crate,
);

/// Tokens with a refresh token, for the approving user; the code is single use
/// (DOT redeems it again and again); the refresh token works.
async fn tokens_for_the_approving_user(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let (device_code, user_code) = start(&server, &id, None).await;
    let b = logged_in(&server).await;
    b.approve(&user_code, "accept").await;

    let r = poll(&server, &id, &device_code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
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
            "access_token",
            "expires_in",
            "token_type",
            "scope",
            "refresh_token"
        ])
    );
    assert_eq!(r.body["expires_in"], 36000);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["scope"], "read write");
    let uid = user_id(&env, "test_user").await;
    let store = env.db().await.store();
    let access = store
        .find_access_token(&token_checksum(r.body["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(access.user_id, Some(uid));
    let refresh_token = r.body["refresh_token"].as_str().unwrap();
    let refresh = store
        .find_refresh_token(&token_checksum(refresh_token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refresh.user_id, uid);

    // Single use: the grant is gone.
    assert!(stored(&env, &device_code).await.is_none());
    assert_error(
        &poll(&server, &id, &device_code).await,
        400,
        "invalid_grant",
    );

    // The refresh token works for the public client.
    let r = post_form(
        &server,
        TOKEN,
        encode(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &id),
        ]),
        FORM,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["scope"], "read write");
}

/// The scope asked for, or the default scopes frozen at device authorization time.
async fn scope_is_frozen_at_device_authorization(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let b = logged_in(&server).await;

    let (device_code, user_code) = start(&server, &id, Some("read")).await;
    let page = b.get(&b.enter(&user_code).await.loc()).await;
    assert!(page.body.contains("Reading scope") && !page.body.contains("Writing scope"));
    b.decide(
        &format!("/o/device-confirm/{id}/{}", stored_code(&user_code)),
        "accept",
    )
    .await;
    let r = poll(&server, &id, &device_code).await;
    assert_eq!(r.body["scope"], "read", "{}", r.body);

    // Whitespace only: the defaults. A long repetitive scope string is one scope.
    let (device_code, _) = start(&server, &id, Some("   ")).await;
    assert_eq!(
        stored(&env, &device_code).await.unwrap().scope,
        "read write"
    );
    let long = "read ".repeat(1000);
    let (device_code, _) = start(&server, &id, Some(&long)).await;
    assert_eq!(stored(&env, &device_code).await.unwrap().scope, "read");

    // No scope: today's defaults, kept when the defaults change before the user approves.
    let (device_code, user_code) = start(&server, &id, None).await;
    drop(server);
    let server = Server::start(&env, &settings(&[("OAUTH_TOOLKIT_DEFAULT_SCOPES", "read")]));
    let b = b.on(&server.base);
    b.approve(&user_code, "accept").await;
    let r = poll(&server, &id, &device_code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["scope"], "read write");
}

/// An authorized device code is redeemed exactly once when polls race, across two `serve`
/// processes sharing the database (DOT issues tokens for each).
async fn authorized_code_redeemed_once_under_race(env: Env) {
    let (first, id) = fixture(&env, &[]);
    let second = Server::start(&env, &settings(&[]));
    let (device_code, user_code) = start(&first, &id, None).await;
    logged_in(&first).await.approve(&user_code, "accept").await;

    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let base = if i % 2 == 0 {
                first.base.clone()
            } else {
                second.base.clone()
            };
            let form = encode(&[
                ("grant_type", GRANT),
                ("device_code", &device_code),
                ("client_id", &id),
            ]);
            tokio::spawn(async move {
                let resp = client()
                    .post(format!("{base}{TOKEN}"))
                    .header("content-type", FORM)
                    .body(form)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => ok += 1,
            400 => assert_eq!(body["error"], "invalid_grant", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(ok, 1, "exactly one poll gets tokens");
    let db = env.db().await;
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    assert_eq!(count_rows(&db, "oauth2_provider_refreshtoken").await, 1);
}

/// The whole flow with the `oauth2` crate as the device (RFC 8628 client: it polls, honours
/// `interval` and `slow_down`), the user logging in through the real pages meanwhile.
async fn device_flow_with_the_oauth2_crate(env: Env) {
    let (server, id) = fixture(&env, &[("OAUTH_TOOLKIT_DEVICE_FLOW_INTERVAL", "1")]);
    let device = BasicClient::new(ClientId::new(id.clone()))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(format!("{}{DEVICE_AUTHORIZATION}", server.base)).unwrap(),
        )
        .set_token_uri(TokenUrl::new(format!("{}{TOKEN}", server.base)).unwrap());
    let http = client();
    let details: StandardDeviceAuthorizationResponse = device
        .exchange_device_code()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        details.verification_uri().as_str(),
        format!("{}/o/device/", server.base)
    );
    assert_eq!(details.interval(), Duration::from_secs(1));
    let user_code = details.user_code().secret().clone();

    let polling = {
        let device = device.clone();
        let details = details.clone();
        tokio::spawn(async move {
            let http = client();
            device
                .exchange_device_access_token(&details)
                .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(60)))
                .await
        })
    };
    // Let the device poll a few times while the user is still away.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!polling.is_finished());

    // The user opens the verification URI, logs in, enters the code and accepts.
    let b = Browser::new(&server.base);
    let page = b.get(DEVICE_PAGE).await;
    let login = next_of(&page.loc());
    assert_eq!(login, DEVICE_PAGE);
    b.login().await;
    b.approve(&user_code, "accept").await;

    let token = polling.await.unwrap().expect("tokens");
    assert_eq!(token.scopes().unwrap(), &vec![Scope::new("read".into())]);
    assert!(token.refresh_token().is_some());
    let stored = env
        .db()
        .await
        .store()
        .find_access_token(&token_checksum(token.access_token().secret()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.user_id, Some(user_id(&env, "test_user").await));
    assert!(
        !server
            .log
            .lock()
            .unwrap()
            .contains(details.device_code().secret()),
        "device codes are never logged"
    );

    // Denied: the crate reports access_denied.
    let details: StandardDeviceAuthorizationResponse = device
        .exchange_device_code()
        .request_async(&http)
        .await
        .unwrap();
    b.approve(details.user_code().secret(), "deny").await;
    let err = device
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(30)))
        .await
        .unwrap_err();
    match err {
        oauth2::RequestTokenError::ServerResponse(e) => {
            assert_eq!(
                e.error(),
                &oauth2::DeviceCodeErrorResponseType::AccessDenied
            )
        }
        other => panic!("{other:?}"),
    }
}
