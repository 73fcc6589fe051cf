//! A deactivated user (`is_active = false`) loses every use of their tokens and grants at
//! once, and gets it back on re-activation (the check is made at use time and deletes
//! nothing): introspection (client and bearer callers), userinfo, protected resources in
//! local and remote mode, and the refresh, authorization-code and device-code grants. On
//! SQLite and PostgreSQL, against the real binary.

mod common;

use common::grants::post_form;
use common::http_browser::client as http;
use common::*;
use oauth_toolkit_core::models::DeviceGrantStatus;
use oauth_toolkit_core::token_checksum::token_checksum;
use serde_json::{json, Value};

backends!(deactivated_user_loses_everything_until_reactivated);

const CB: &str = "http://localhost/cb";
const SCOPES: (&str, &str) = (
    "OAUTH_TOOLKIT_SCOPES",
    r#"{ read = "Read", write = "Write", openid = "OpenID", introspection = "Introspect" }"#,
);
const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn set_active(env: &Env, active: bool) {
    use sqlx::Connection;
    let sql = "UPDATE oauth_toolkit_user SET is_active = $1 WHERE username = 'alice'";
    let db = env.db().await;
    let n = match db {
        oauth_toolkit_store::Database::Sqlite(_) => {
            let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query(sql)
                .bind(active)
                .execute(&mut c)
                .await
                .unwrap()
                .rows_affected()
        }
        oauth_toolkit_store::Database::Postgres(_) => {
            let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query(sql)
                .bind(active)
                .execute(&mut c)
                .await
                .unwrap()
                .rows_affected()
        }
    };
    assert_eq!(n, 1);
}

async fn make_code(env: &Env, client_id: &str, scope: &str) -> String {
    common::grants::make_code(env, client_id, "alice", CB, scope).await
}

/// An authorized device grant of alice for the public `client_id`: its device_code.
async fn authorized_device_code(env: &Env, base: &str, client_id: &str) -> String {
    let r = post_form(
        base,
        "/o/device-authorization/",
        None,
        &[("client_id", client_id)],
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let device_code = r.1["device_code"].as_str().unwrap().to_string();
    let store = env.db().await.store();
    let grant = store
        .find_device_grant(&token_checksum(&device_code))
        .await
        .unwrap()
        .unwrap();
    let alice = store
        .find_user_by_username("alice")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(store
        .transition_device_grant(
            grant.id,
            DeviceGrantStatus::AuthorizationPending,
            DeviceGrantStatus::Authorized,
            Some(alice),
        )
        .await
        .unwrap());
    device_code
}

async fn deactivated_user_loses_everything_until_reactivated(env: Env) {
    env.create_user("alice", "wonderland");
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", CB],
    );
    let (rs_id, rs_secret) = env.create_app("confidential", "client-credentials", &[]);
    let (device_id, _) = env.create_app("public", DEVICE, &[]);
    let provider = Server::start_with_args(
        &env,
        &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"), SCOPES],
        &["--demo-api"],
    );
    let p = provider.base.as_str();
    // A resource server in remote mode: its own (empty) database, the provider's introspection.
    let remote_env = Env::sqlite();
    let introspect_url = format!("{p}/o/introspect/");
    let creds = format!(r#"["{rs_id}", "{rs_secret}"]"#);
    let remote = Server::start_with_args(
        &remote_env,
        &[
            (
                "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_URL",
                &introspect_url,
            ),
            (
                "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_CREDENTIALS",
                &creds,
            ),
            ("OAUTH_TOOLKIT_RESOURCE_SERVER_TOKEN_CACHING_SECONDS", "0"),
            (
                "OAUTH_TOOLKIT_RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS",
                "0",
            ),
        ],
        &["--demo-api"],
    );

    let auth = basic(&id, &secret);
    let rs_auth = basic(&rs_id, &rs_secret);
    let code = make_code(&env, &id, "openid read introspection").await;
    let r = post_form(
        p,
        "/o/token/",
        Some(&auth),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let at = r.1["access_token"].as_str().unwrap().to_string();
    let rt = r.1["refresh_token"].as_str().unwrap().to_string();
    let rs_token = {
        let r = post_form(
            p,
            "/o/token/",
            Some(&rs_auth),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "introspection"),
            ],
        )
        .await;
        r.1["access_token"].as_str().unwrap().to_string()
    };
    let unused_code = make_code(&env, &id, "read").await;
    let device_code = authorized_device_code(&env, p, &device_id).await;

    // Everything that can be checked without spending anything, as (what, works).
    let checks = |active: bool| {
        let (at, rt, rs_token, auth) = (at.clone(), rt.clone(), rs_token.clone(), auth.clone());
        let (p, remote) = (p.to_string(), remote.base.clone());
        async move {
            let introspect = |caller: reqwest::RequestBuilder, token: String| async move {
                let r = caller.form(&[("token", token)]).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.json::<Value>().await.unwrap()
            };
            let url = format!("{p}/o/introspect/");
            let by_client =
                introspect(http().post(&url).header("Authorization", &auth), at.clone()).await;
            let by_bearer = introspect(http().post(&url).bearer_auth(&rs_token), at.clone()).await;
            let refresh =
                introspect(http().post(&url).header("Authorization", &auth), rt.clone()).await;
            if !active {
                assert_eq!(by_client, json!({"active": false}));
                assert_eq!(by_bearer, json!({"active": false}));
                assert_eq!(refresh, json!({"active": false}));
            } else {
                assert_eq!(
                    (
                        &by_client["active"],
                        &by_bearer["active"],
                        &refresh["active"]
                    ),
                    (&json!(true), &json!(true), &json!(true))
                );
                assert_eq!(by_client["username"], "alice");
            }
            // alice's own token (it has the scope) as an introspection caller.
            let r = http()
                .post(&url)
                .bearer_auth(&at)
                .form(&[("token", rs_token.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                if active { 200 } else { 401 },
                "alice's token as caller"
            );
            let r = http()
                .get(format!("{p}/o/userinfo/"))
                .bearer_auth(&at)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), if active { 200 } else { 401 }, "userinfo");
            if !active {
                assert!(r.headers()["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .contains("invalid_token"));
            }
            for base in [&p, &remote] {
                let r = http()
                    .get(format!("{base}/api/hello"))
                    .bearer_auth(&at)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    r.status(),
                    if active { 200 } else { 401 },
                    "resource at {base}"
                );
            }
        }
    };
    let grant_errors = || async {
        let refresh = post_form(
            p,
            "/o/token/",
            Some(&auth),
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
        let code = post_form(
            p,
            "/o/token/",
            Some(&auth),
            &[
                ("grant_type", "authorization_code"),
                ("code", &unused_code),
                ("redirect_uri", CB),
            ],
        )
        .await;
        let device = post_form(
            p,
            "/o/token/",
            None,
            &[
                ("grant_type", DEVICE),
                ("device_code", &device_code),
                ("client_id", &device_id),
            ],
        )
        .await;
        [refresh, code, device]
    };

    checks(true).await;
    set_active(&env, false).await;
    checks(false).await;
    for (what, r) in ["refresh", "code", "device"]
        .iter()
        .zip(grant_errors().await)
    {
        assert_eq!(
            (r.0, r.1["error"].as_str()),
            (400, Some("invalid_grant")),
            "{what}: {}",
            r.1
        );
    }
    // Nothing was deleted or spent: re-activation restores all of it.
    set_active(&env, true).await;
    checks(true).await;
    for (what, r) in ["refresh", "code", "device"]
        .iter()
        .zip(grant_errors().await)
    {
        assert_eq!(r.0, 200, "{what}: {}", r.1);
    }
}
