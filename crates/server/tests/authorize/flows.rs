//! Whole flows: the implicit grant, the code flow with PKCE, and `iss` in responses.

use oauth_toolkit_core::pkce::s256_challenge;
use oauth_toolkit_core::token_checksum::token_checksum;

use crate::common::http_browser::Browser;
use crate::common::*;
use crate::support::*;

backends!(
    implicit_grant_uses_the_fragment,
    code_flow_with_pkce_refresh_and_replay,
    iss_in_authorization_responses,
);

fn borrow(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The implicit grant answers in the fragment, errors too.
async fn implicit_grant_uses_the_fragment(env: Env) {
    let (server, _, _) = fixture(&env, &[]);
    let (i, _) = create_app(
        &env,
        "public",
        "implicit",
        &[
            "--redirect-uris",
            "http://example.org http://example.com?foo=bar",
        ],
    );
    let b = Browser::new(&server.base);
    b.login().await;
    let implicit = |extra: &[(&'static str, &'static str)]| {
        let mut v = params(&i, &[("response_type", "token")]);
        for (k, val) in extra {
            v.retain(|(n, _)| n != k);
            v.push((k, val));
        }
        v.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };

    // Consent page with the default scopes.
    let mut no_scope = implicit(&[]);
    no_scope.retain(|(k, _)| k != "scope");
    let p = b.get(&authorize_url(&borrow(&no_scope))).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.hidden("scope").as_deref(), Some("read write"));
    assert_eq!(p.hidden("response_type").as_deref(), Some("token"));
    // 45
    let loc = b
        .consent(&borrow(&implicit(&[("allow", "True")])))
        .await
        .loc();
    assert!(loc.starts_with("http://example.org#"), "{loc}");
    let f = fragment_of(&loc);
    assert_eq!(f["token_type"], "Bearer");
    assert_eq!(f["expires_in"], "36000");
    assert_eq!(f["scope"], "read write");
    assert_eq!(f["state"], STATE);
    assert!(!f.contains_key("refresh_token"));
    let stored = env
        .db()
        .await
        .store()
        .find_access_token(&token_checksum(&f["access_token"]))
        .await
        .unwrap()
        .expect("the access token is stored");
    assert_eq!(stored.scope, "read write");
    // The denial goes in the fragment.
    let loc = b
        .consent(&borrow(&implicit(&[("allow", "False")])))
        .await
        .loc();
    assert_eq!(
        loc,
        format!(
            "http://example.org#error=access_denied&state=random_state_string&iss={}",
            iss(&server)
        )
    );
    let loc = b
        .get(&authorize_url(&borrow(&implicit(&[("scope", "nuke")]))))
        .await
        .loc();
    assert_eq!(fragment_of(&loc)["error"], "invalid_scope", "{loc}");
    assert!(query_of(&loc).is_empty(), "{loc}");
    // A token never travels in a query, even when asked.
    let loc = b
        .consent(&borrow(&implicit(&[
            ("allow", "True"),
            ("response_mode", "query"),
        ])))
        .await
        .loc();
    assert!(loc.starts_with("http://example.org#access_token="), "{loc}");
    // 47
    let loc = b
        .consent(&borrow(&implicit(&[
            ("redirect_uri", "http://example.com?foo=bar"),
            ("allow", "True"),
        ])))
        .await
        .loc();
    assert!(
        loc.starts_with("http://example.com?foo=bar#access_token="),
        "{loc}"
    );

    // RFC 9700 disables the implicit grant.
    let strict = Server::start(
        &env,
        &settings(&[("OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT", "true")]),
    );
    let loc = b
        .on(&strict.base)
        .get(&authorize_url(&borrow(&implicit(&[]))))
        .await
        .loc();
    assert_eq!(fragment_of(&loc)["error"], "unauthorized_client", "{loc}");
    assert!(!loc.contains("access_token"));
    strict.terminate();
    server.terminate();
}

/// The whole authorization code flow with S256 PKCE, refresh, and a replayed code revoking
/// what was issued from it (RFC 6749 §4.1.2).
async fn code_flow_with_pkce_refresh_and_replay(env: Env) {
    let (server, a, secret) = fixture(&env, &[]);
    let b = Browser::new(&server.base);
    b.login().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = s256_challenge(verifier);
    let page = b
        .get(&authorize_url(&params(
            &a,
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fields = page.form_fields();
    let mut form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.push(("allow", "Authorize"));
    let loc = b.post(AUTHORIZE, &form).await.loc();
    let q = query_of(&loc);
    assert_eq!(q["state"], STATE);
    let code = q["code"].clone();
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://example.org"),
        ("code_verifier", verifier),
    ];
    let (status, body) = token(&server.base, &a, &secret, &exchange).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write");
    let access = body["access_token"].as_str().unwrap().to_string();
    let refresh = body["refresh_token"].as_str().unwrap().to_string();

    let (status, refreshed) = token(
        &server.base,
        &a,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let access2 = refreshed["access_token"].as_str().unwrap().to_string();
    let store = env.db().await.store();
    assert!(store
        .find_access_token(&token_checksum(&access2))
        .await
        .unwrap()
        .is_some());

    // Replay: refused, and the tokens of the code's family are gone.
    let (status, body) = token(&server.base, &a, &secret, &exchange).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    for t in [&access, &access2] {
        assert!(store
            .find_access_token(&token_checksum(t))
            .await
            .unwrap()
            .is_none());
    }
    // A wrong verifier on a fresh code.
    let code = code_for(
        &b,
        &a,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let (status, body) = token(
        &server.base,
        &a,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://example.org"),
            ("code_verifier", &"w".repeat(43)),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    server.terminate();
}

/// RFC 9207: `iss` in authorization responses, errors included; on by default
/// (DOT: off), off with `compliant_bcp_rfc9700_authz_response_iss = false`.
async fn iss_in_authorization_responses(env: Env) {
    let (server, a, _) = fixture(&env, &[("OAUTH_TOOLKIT_ISSUER", "http://testserver")]);
    let b = Browser::new(&server.base);
    b.login().await;
    let loc = b.consent(&params(&a, &[("allow", "True")])).await.loc();
    assert!(loc.contains("iss=http%3A%2F%2Ftestserver%2Fo"), "{loc}");
    let loc = b.consent(&params(&a, &[])).await.loc();
    assert_eq!(
        loc,
        "http://example.org?error=access_denied&state=random_state_string&iss=http%3A%2F%2Ftestserver%2Fo"
    );
    let plain = Server::start(
        &env,
        &settings(&[(
            "OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS",
            "false",
        )]),
    );
    let loc = b
        .on(&plain.base)
        .consent(&params(&a, &[("allow", "True")]))
        .await
        .loc();
    assert!(!loc.contains("iss="), "{loc}");
    plain.terminate();
    server.terminate();
}
