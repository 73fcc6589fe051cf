//! `revoketokens`: a dry run, then the revocation, also against a running server.

use oauth_toolkit_store::Database;

use super::*;

pub(super) async fn revoketokens_dry_run_then_revoke(env: Env) {
    assert_help_describes(
        &env,
        "revoketokens",
        &["--user", "--application", "--dry-run", "--json"],
    );
    env.create_user("alice", "pw-alice-1");
    env.create_user("bob", "pw-bob-1");
    let (one, _) = env.create_app("confidential", "password", &[]);
    let (two, _) = env.create_app("confidential", "password", &[]);
    let store = store_of(&env).await;
    let (a1, a2) = (app_id(&*store, &one).await, app_id(&*store, &two).await);
    let (alice, bob) = (
        user_id(&*store, "alice").await,
        user_id(&*store, "bob").await,
    );
    let now = OffsetDateTime::now_utc();
    let (day, gone) = (now + Duration::days(1), now - Duration::seconds(5));
    let t1 = token(&*store, a1, Some(alice), now, day).await;
    refresh(&*store, a1, alice, Some(&t1)).await;
    token(&*store, a1, Some(alice), now, gone).await;
    let t2 = token(&*store, a2, Some(alice), now, day).await;
    refresh(&*store, a2, alice, Some(&t2)).await;
    let kept = token(&*store, a1, Some(bob), now, day).await;
    let db = env.db().await;
    let rows = |db: Database| async move {
        (
            count_rows(&db, "oauth2_provider_accesstoken").await,
            count_rows(&db, "oauth2_provider_refreshtoken WHERE revoked IS NULL").await,
        )
    };
    assert_eq!(rows(db.clone()).await, (4, 2));

    let v = json_of(&env.run(&["revoketokens", "--user", "alice", "--dry-run", "--json"]));
    assert_eq!(
        v,
        json!({
            "user": "alice", "application": null, "dry_run": true,
            "access_tokens": 3, "refresh_tokens": 2, "grants": 0, "id_tokens": 0,
            "device_grants": 0,
        })
    );
    let o = env.run(&[
        "revoketokens",
        "--user",
        "alice",
        "--application",
        &one,
        "--dry-run",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("Dry run"), "{text}");
    assert_eq!(line_value(&text, "access tokens"), "2");
    assert_eq!(line_value(&text, "refresh tokens"), "1");
    assert_eq!(rows(db.clone()).await, (4, 2), "a dry run changes nothing");

    // Unknown names: one line, exit 1, nothing changed.
    for (args, mentions) in [
        (vec!["--user", "nobody"], "no user named `nobody`"),
        (
            vec!["--user", "alice", "--application", "no-such-client"],
            "no application with client id `no-such-client`",
        ),
        (
            vec!["--user", "nobody", "--dry-run", "--json"],
            "no user named `nobody`",
        ),
    ] {
        let o = env.run(&[&["revoketokens"][..], &args].concat());
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(error_line(&o).contains(mentions), "{}", stderr(&o));
        assert_eq!(stdout(&o), "");
    }
    let o = env.run(&["revoketokens"]);
    assert!(!o.status.success(), "--user is required");
    assert!(stderr(&o).contains("--user"), "{}", stderr(&o));
    assert_eq!(rows(db.clone()).await, (4, 2));

    let v = json_of(&env.run(&[
        "revoketokens",
        "--user",
        "alice",
        "--application",
        &one,
        "--json",
    ]));
    assert_eq!(
        v,
        json!({
            "user": "alice", "application": one, "dry_run": false,
            "access_tokens": 2, "refresh_tokens": 1, "grants": 0, "id_tokens": 0,
            "device_grants": 0,
        })
    );
    assert_eq!(
        rows(db.clone()).await,
        (2, 1),
        "alice's tokens in `one` are gone"
    );
    assert!(store.get_access_token(t1.id).await.unwrap().is_none());
    assert!(store.get_access_token(t2.id).await.unwrap().is_some());

    let o = env.run(&["revoketokens", "--user", "alice"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("Revoked for user alice"), "{text}");
    assert_eq!(line_value(&text, "access tokens"), "1");
    assert_eq!(line_value(&text, "refresh tokens"), "1");
    assert_eq!(rows(db.clone()).await, (1, 0));
    assert!(
        store.get_access_token(kept.id).await.unwrap().is_some(),
        "bob's token stays"
    );
    let v = json_of(&env.run(&["revoketokens", "--user", "alice", "--dry-run", "--json"]));
    assert_eq!(v["access_tokens"], 0);
    assert_eq!(v["refresh_tokens"], 0);
    db.close().await;
}

/// Password grant at the running server: (access token, refresh token).
async fn password_token(
    http: &reqwest::Client,
    base: &str,
    (id, secret): (&str, &str),
    user: (&str, &str),
) -> (String, String) {
    let r = http
        .post(format!("{base}/o/token/"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "password"),
            ("username", user.0),
            ("password", user.1),
            ("scope", "read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    (
        v["access_token"].as_str().unwrap().to_string(),
        v["refresh_token"].as_str().unwrap().to_string(),
    )
}

async fn active(http: &reqwest::Client, base: &str, (id, secret): (&str, &str), t: &str) -> bool {
    let r = http
        .post(format!("{base}/o/introspect/"))
        .basic_auth(id, Some(secret))
        .form(&[("token", t)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["active"].as_bool().expect("active")
}

pub(super) async fn revoketokens_stops_tokens_in_a_running_server(env: Env) {
    env.create_user("alice", "pw-alice-1");
    env.create_user("bob", "pw-bob-1");
    let (id, secret) = env.create_app("confidential", "password", &[]);
    let client = (id.as_str(), secret.as_str());
    let server = Server::start(&env, &[]);
    let (http, base) = (reqwest::Client::new(), server.base.clone());
    let (access, refresh) = password_token(&http, &base, client, ("alice", "pw-alice-1")).await;
    let (bobs, _) = password_token(&http, &base, client, ("bob", "pw-bob-1")).await;
    assert!(active(&http, &base, client, &access).await);
    assert!(active(&http, &base, client, &bobs).await);

    let v = json_of(&env.run(&["revoketokens", "--user", "alice", "--json"]));
    assert_eq!(
        (v["access_tokens"].clone(), v["refresh_tokens"].clone()),
        (json!(1), json!(1))
    );
    // At once: no wait, no restart.
    assert!(!active(&http, &base, client, &access).await, "revoked");
    assert!(!active(&http, &base, client, &refresh).await, "revoked");
    assert!(
        active(&http, &base, client, &bobs).await,
        "bob's token still works"
    );
    let r = http
        .post(format!("{base}/o/token/"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant", "{v}");
    // Alice signs in again and gets a working token.
    let (again, _) = password_token(&http, &base, client, ("alice", "pw-alice-1")).await;
    assert!(active(&http, &base, client, &again).await);
    let _ = server.terminate();
}
