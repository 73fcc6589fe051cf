//! A running provider with a row of every kind the admin lists (made the way they are made in
//! production: the CLI, the consent page, the token and device endpoints), the plaintext
//! secrets behind them, and every admin URL.

use std::collections::BTreeMap;

use crate::common::http_browser::Browser;
use crate::common::*;
use crate::support::*;

/// The admin's models, by path below `/admin/`.
pub(crate) const KINDS: [&str; 8] = [
    "oauth2_provider/application",
    "auth/user",
    "oauth2_provider/accesstoken",
    "oauth2_provider/refreshtoken",
    "oauth2_provider/grant",
    "oauth2_provider/idtoken",
    "oauth2_provider/devicegrant",
    "oauth_toolkit/signingkey",
];

/// What each model's rows can be made to undergo.
pub(crate) fn actions(kind: &str) -> &'static [&'static str] {
    match kind {
        "auth/user" => &["deactivate", "revoke_tokens", "delete"],
        "oauth2_provider/accesstoken" | "oauth2_provider/refreshtoken" => &["revoke"],
        _ => &["delete"],
    }
}

pub(crate) struct World {
    pub server: Server,
    /// Alice's confidential authorization-code (OIDC) application.
    pub client_id: String,
    pub secret: String,
    pub device_client: String,
    pub at: String,
    pub rt: String,
    pub id_token: String,
    /// The redeemed code and one that is not.
    pub used_code: String,
    pub code: String,
    pub device_code: String,
    pub user_code: String,
    /// One row id per kind.
    pub ids: BTreeMap<&'static str, i64>,
    /// Alice, signed in (not staff).
    pub alice: Browser,
}

/// Users `root` (staff) and `alice`; alice's application "Shop" with her tokens, ID token,
/// and an unredeemed code; a pending device grant of the public "Television" client.
pub(crate) async fn world(env: &Env) -> World {
    user(env, "root", true);
    user(env, "alice", false);
    let (client_id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &[
            "--name",
            "Shop",
            "--user",
            "alice",
            "--redirect-uris",
            REDIRECT,
            "--algorithm",
            "RS256",
        ],
    );
    let (device_client, _) = env.create_app("public", DEVICE_GRANT, &["--name", "Television"]);
    let server = Server::start(env, &[]);
    let alice = signed_in(&server, "alice").await;
    let used_code = code_flow(&alice, &client_id, "openid read").await;
    let t = redeem(&server, &client_id, &secret, &used_code).await;
    let code = code_flow(&alice, &client_id, "openid read").await;
    let resp = crate::common::http_browser::client()
        .post(format!("{}/o/device-authorization/", server.base))
        .form(&[("client_id", device_client.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let d: serde_json::Value = resp.json().await.unwrap();
    let s = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    let (at, rt, id_token) = (
        s(&t["access_token"]),
        s(&t["refresh_token"]),
        s(&t["id_token"]),
    );
    let mut ids = BTreeMap::new();
    ids.insert(KINDS[0], app_of(env, &client_id).await.unwrap().id);
    ids.insert(KINDS[1], user_id(env, "alice").await);
    ids.insert(KINDS[2], at_id(env, &at).await);
    ids.insert(KINDS[3], rt_id(env, &rt).await);
    ids.insert(KINDS[4], grant_id(env, &code).await.expect("grant row"));
    let one = |v: Vec<i64>| {
        assert_eq!(v.len(), 1, "{v:?}");
        v[0]
    };
    ids.insert(
        KINDS[5],
        one(ints(env, "SELECT id FROM oauth2_provider_idtoken").await),
    );
    ids.insert(
        KINDS[6],
        one(ints(env, "SELECT id FROM oauth2_provider_devicegrant").await),
    );
    ids.insert(
        KINDS[7],
        one(ints(env, "SELECT id FROM oauth_toolkit_signingkey").await),
    );
    World {
        server,
        client_id,
        secret,
        device_client,
        at,
        rt,
        id_token,
        used_code,
        code,
        device_code: s(&d["device_code"]),
        user_code: s(&d["user_code"]),
        ids,
        alice,
    }
}

impl World {
    pub(crate) fn id(&self, kind: &str) -> i64 {
        self.ids[kind]
    }

    /// `/admin/`, every list, every row's page, every confirm page, every form.
    pub(crate) fn admin_pages(&self) -> Vec<String> {
        let mut v = vec!["/admin/".to_string()];
        for kind in KINDS {
            v.push(format!("/admin/{kind}/"));
        }
        v.extend(self.detail_pages());
        for kind in KINDS {
            for a in actions(kind) {
                v.push(format!("/admin/{kind}/{}/{a}/", self.id(kind)));
            }
        }
        v.extend([
            "/admin/auth/user/add/".to_string(),
            format!("/admin/auth/user/{}/edit/", self.id("auth/user")),
            "/admin/oauth2_provider/application/add/".to_string(),
            format!(
                "/admin/oauth2_provider/application/{}/edit/",
                self.id(KINDS[0])
            ),
        ]);
        v
    }

    pub(crate) fn detail_pages(&self) -> Vec<String> {
        KINDS
            .iter()
            .map(|k| format!("/admin/{k}/{}/change/", self.id(k)))
            .collect()
    }

    /// Every admin POST (action or form) with a body that would change something, without
    /// the CSRF field.
    pub(crate) fn admin_posts(&self) -> Vec<(String, Vec<(&'static str, String)>)> {
        let mut v = Vec::new();
        for kind in KINDS {
            for a in actions(kind) {
                v.push((format!("/admin/{kind}/{}/{a}/", self.id(kind)), Vec::new()));
            }
        }
        let app_fields = |name: &str, client_id: &str| {
            vec![
                ("name", name.to_string()),
                ("client_id", client_id.to_string()),
                ("client_type", "confidential".to_string()),
                ("authorization_grant_type", "authorization-code".to_string()),
                ("redirect_uris", REDIRECT.to_string()),
                ("algorithm", "RS256".to_string()),
                ("skip_authorization", "on".to_string()),
                ("hash_client_secret", "on".to_string()),
                ("user", "alice".to_string()),
            ]
        };
        v.push((
            "/admin/auth/user/add/".into(),
            vec![
                ("username", "mallory".into()),
                ("password", PW.into()),
                ("is_active", "on".into()),
                ("is_staff", "on".into()),
            ],
        ));
        v.push((
            format!("/admin/auth/user/{}/edit/", self.id("auth/user")),
            vec![
                ("email", "evil@example.com".into()),
                ("password", "a-new-password-1".into()),
                ("is_staff", "on".into()),
            ],
        ));
        v.push((
            "/admin/oauth2_provider/application/add/".into(),
            app_fields("Evil", "evil-client"),
        ));
        v.push((
            format!(
                "/admin/oauth2_provider/application/{}/edit/",
                self.id(KINDS[0])
            ),
            app_fields("Renamed", &self.client_id),
        ));
        v
    }
}
