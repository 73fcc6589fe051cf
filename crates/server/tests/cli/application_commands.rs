//! `listapplications`, `deleteapplication` and `updateapplication`: their output, what they
//! change in the database (and at the token endpoint), and bad input.

use oauth_toolkit_core::models::Application;
use serde_json::Value;

use crate::common::*;

mod list;
mod update;
use list::{
    listapplications_newest_first_filtered_and_without_secrets, listapplications_walks_every_page,
};
use update::{
    updateapplication_bad_input_writes_nothing, updateapplication_changes_only_the_given_fields,
    updateapplication_regenerate_secret_replaces_the_secret,
};

backends!(
    listapplications_newest_first_filtered_and_without_secrets,
    listapplications_walks_every_page,
    deleteapplication_removes_the_application_and_its_tokens,
    updateapplication_changes_only_the_given_fields,
    updateapplication_bad_input_writes_nothing,
    updateapplication_regenerate_secret_replaces_the_secret,
    application_commands_help_describes_every_flag,
);

/// The stored application (panics when there is none).
async fn stored(env: &Env, client_id: &str) -> Application {
    let db = env.db().await;
    let app = db
        .store()
        .find_application_by_client_id(client_id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no application {client_id}"));
    db.close().await;
    app
}

/// `listapplications --json [extra]`, parsed (panics on failure).
fn list_json(env: &Env, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["listapplications", "--json"];
    args.extend_from_slice(extra);
    let o = env.run(&args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "stdout holds only the JSON: {out}");
    serde_json::from_str::<Value>(out.trim())
        .expect("json")
        .as_array()
        .expect("an array")
        .clone()
}

/// One application as `listapplications --json` shows it.
fn shown(env: &Env, client_id: &str) -> Value {
    list_json(env, &[])
        .into_iter()
        .find(|a| a["client_id"] == client_id)
        .unwrap_or_else(|| panic!("{client_id} not listed"))
}

/// A `client_credentials` token request; the status and the JSON body.
async fn client_credentials(server: &Server, id: &str, secret: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/o/token/", server.base))
        .header("Authorization", basic(id, secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn deleteapplication_removes_the_application_and_its_tokens(env: Env) {
    let (doomed, doomed_secret) =
        env.create_app("confidential", "client-credentials", &["--name", "Doomed"]);
    let (kept, kept_secret) = env.create_app("confidential", "client-credentials", &[]);
    let (unnamed, _) = env.create_app("public", "password", &[]);
    {
        let server = Server::start(
            &env,
            &[("OAUTH_TOOLKIT_CLIENT_AUTHENTICATION_CACHE_SECONDS", "0")],
        );
        for (id, secret) in [(&doomed, &doomed_secret), (&kept, &kept_secret)] {
            let (status, body) = client_credentials(&server, id, secret).await;
            assert_eq!(status, 200, "{body}");
        }
        let db = env.db().await;
        assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 2);
        db.close().await;

        let o = env.run(&["deleteapplication", &doomed]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "Application Doomed deleted.\n");
        // A running server refuses the deleted client.
        let (status, body) = client_credentials(&server, &doomed, &doomed_secret).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_client");
    }
    let db = env.db().await;
    let store = db.store();
    assert!(store
        .find_application_by_client_id(&doomed)
        .await
        .unwrap()
        .is_none());
    let kept_app = store
        .find_application_by_client_id(&kept)
        .await
        .unwrap()
        .expect("the other application stays");
    assert_eq!(
        count_rows(&db, "oauth2_provider_accesstoken").await,
        1,
        "the deleted application's token is gone, the other's stays"
    );
    assert_eq!(
        count_rows(
            &db,
            &format!(
                "oauth2_provider_accesstoken WHERE application_id = {}",
                kept_app.id
            )
        )
        .await,
        1
    );

    // Unknown (or already deleted): an error, nothing deleted.
    let o = env.run(&["deleteapplication", &doomed]);
    assert_eq!(o.status.code(), Some(1));
    let err = error_line(&o);
    assert!(
        err.starts_with("error: client_id: no application") && err.contains(&doomed),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
    assert_eq!(count_rows(&db, "oauth2_provider_application").await, 2);

    // Without a name the client id is shown.
    let o = env.run(&["deleteapplication", &unnamed]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("Application {unnamed} deleted.\n"));

    let o = env.run(&["deleteapplication", &kept, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v, serde_json::json!({"client_id": kept, "deleted": true}));
    assert_eq!(count_rows(&db, "oauth2_provider_application").await, 0);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 0);
    db.close().await;
}

async fn application_commands_help_describes_every_flag(env: Env) {
    let cases: &[(&str, &[&str])] = &[
        ("listapplications", &["--user <USERNAME>", "--json"]),
        ("deleteapplication", &["<CLIENT_ID>", "--json"]),
        (
            "updateapplication",
            &[
                "<CLIENT_ID>",
                "--name",
                "--redirect-uris",
                "--post-logout-redirect-uris",
                "--allowed-origins",
                "--skip-authorization",
                "--no-skip-authorization",
                "--regenerate-secret",
                "--json",
            ],
        ),
    ];
    for (command, flags) in cases {
        let o = env.run(&[command, "--help"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let help = stdout(&o);
        let lines: Vec<&str> = help.lines().collect();
        for flag in *flags {
            let at = lines
                .iter()
                .position(|l| {
                    let l = l.trim_start();
                    l == *flag || l.starts_with(&format!("{flag} "))
                })
                .unwrap_or_else(|| panic!("{command}: {flag} missing: {help}"));
            // The description follows on the same line (after the value name, if any) or,
            // when clap puts help on the next line, on the line below.
            let rest = lines[at].trim_start()[flag.len()..].trim_start();
            let rest = if rest.starts_with('<') {
                rest.split_once('>').map_or("", |(_, r)| r.trim())
            } else {
                rest.trim()
            };
            let description = if rest.is_empty() {
                lines.get(at + 1).map_or("", |l| l.trim())
            } else {
                rest
            };
            assert!(
                description.len() > 10 && !description.starts_with('-'),
                "{command}: {flag} has no help text: {help}"
            );
        }
    }
    let o = env.run(&["--help"]);
    let help = stdout(&o);
    for command in ["listapplications", "deleteapplication", "updateapplication"] {
        assert!(help.contains(command), "{help}");
    }
}
