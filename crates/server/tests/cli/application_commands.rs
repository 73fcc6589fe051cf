//! `listapplications`, `deleteapplication` and `updateapplication`: their output, what they
//! change in the database (and at the token endpoint), and bad input.

use oauth_toolkit_core::models::{Application, ClientType, GrantType, NewApplication};
use serde_json::Value;

use crate::common::*;

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

async fn listapplications_newest_first_filtered_and_without_secrets(env: Env) {
    env.create_user("alice", "pw-alice");
    env.create_user("bob", "pw-bob");
    env.create_user("carol", "pw-carol");
    let (first, first_secret) = env.create_app(
        "confidential",
        "client-credentials",
        &["--name", "First", "--user", "alice"],
    );
    let (second, second_secret) = env.create_app(
        "public",
        "authorization-code",
        &[
            "--name",
            "Second",
            "--redirect-uris",
            "https://second.example/cb",
            "--post-logout-redirect-uris",
            "https://second.example/bye",
            "--allowed-origins",
            "https://second.example",
            "--skip-authorization",
            "--algorithm",
            "RS256",
        ],
    );
    // Plaintext storage: the listing must not show it either.
    let (third, third_secret) = env.create_app(
        "confidential",
        "password",
        &["--user", "bob", "--no-hash-client-secret"],
    );
    let stored_secrets = [
        stored(&env, &first).await.client_secret,
        stored(&env, &second).await.client_secret,
        stored(&env, &third).await.client_secret,
    ];
    assert_eq!(stored_secrets[2], third_secret);

    // Text: one line per application, newest first, tab-separated columns.
    let o = env.run(&["listapplications"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(
        rows[0][1..],
        [third.as_str(), "-", "confidential", "password", "bob"],
        "{text}"
    );
    assert_eq!(
        rows[1][1..],
        [
            second.as_str(),
            "Second",
            "public",
            "authorization-code",
            "-"
        ],
        "{text}"
    );
    assert_eq!(
        rows[2][1..],
        [
            first.as_str(),
            "First",
            "confidential",
            "client-credentials",
            "alice"
        ],
        "{text}"
    );
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(ids[0] > ids[1] && ids[1] > ids[2], "newest first: {ids:?}");

    // JSON: every field but the secret.
    let o = env.run(&["listapplications", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for secret in [&first_secret, &second_secret, &third_secret]
        .into_iter()
        .chain(&stored_secrets)
    {
        assert!(!out.contains(secret.as_str()), "a secret is listed: {out}");
    }
    let list: Vec<Value> = serde_json::from_str::<Value>(out.trim())
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let order: Vec<&str> = list
        .iter()
        .map(|a| a["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [&third, &second, &first]);
    let mut keys: Vec<&str> = list[1]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "algorithm",
            "allowed_origins",
            "authorization_grant_type",
            "client_id",
            "client_type",
            "created",
            "hash_client_secret",
            "id",
            "name",
            "post_logout_redirect_uris",
            "redirect_uris",
            "skip_authorization",
            "user",
        ]
    );
    let app = stored(&env, &second).await;
    assert_eq!(
        list[1],
        serde_json::json!({
            "id": app.id,
            "client_id": second,
            "name": "Second",
            "client_type": "public",
            "authorization_grant_type": "authorization-code",
            "user": null,
            "redirect_uris": "https://second.example/cb",
            "post_logout_redirect_uris": "https://second.example/bye",
            "allowed_origins": "https://second.example",
            "skip_authorization": true,
            "algorithm": "RS256",
            "hash_client_secret": true,
            "created": app
                .created
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
        })
    );
    let created = time::OffsetDateTime::parse(
        list[0]["created"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    assert!(
        (time::OffsetDateTime::now_utc() - created)
            .whole_minutes()
            .abs()
            < 10
    );
    assert_eq!(list[0]["user"], "bob");
    assert_eq!(list[0]["hash_client_secret"], false);
    assert_eq!(list[0]["name"], "");
    assert_eq!(list[2]["user"], "alice");

    // --user filters, in both forms.
    let alices = list_json(&env, &["--user", "alice"]);
    assert_eq!(alices.len(), 1);
    assert_eq!(alices[0]["client_id"], first.as_str());
    assert_eq!(alices[0]["user"], "alice");
    let o = env.run(&["listapplications", "--user", "bob"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
    assert!(stdout(&o).starts_with(&format!("{}\t{third}\t", ids[0])));
    assert_eq!(list_json(&env, &["--user", "carol"]), Vec::<Value>::new());
    let (fourth, _) = env.create_app("public", "password", &["--user", "alice"]);
    let alices: Vec<Value> = list_json(&env, &["--user", "alice"])
        .into_iter()
        .map(|a| a["client_id"].clone())
        .collect();
    assert_eq!(alices, [fourth.as_str(), first.as_str()], "newest first");

    // An unknown user is an error, not an empty list.
    let o = env.run(&["listapplications", "--user", "nobody", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = error_line(&o);
    assert!(
        err.starts_with("error: user:") && err.contains("nobody"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
}

async fn listapplications_walks_every_page(env: Env) {
    // More than one admin page (200) of applications.
    let settings = oauth_toolkit_core::Settings::default();
    let db = env.db().await;
    db.migrate().await.unwrap();
    let store = db.store();
    let mut client_ids = Vec::new();
    for i in 0..205 {
        let mut app = NewApplication::new(
            ClientType::Confidential,
            GrantType::ClientCredentials,
            &settings,
        );
        app.client_id = format!("bulk-{i:03}");
        app.hash_client_secret = false;
        app.client_secret = format!("plain-{i}");
        store
            .create_application(app, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
        client_ids.push(format!("bulk-{i:03}"));
    }
    db.close().await;
    client_ids.reverse();
    let listed: Vec<String> = list_json(&env, &[])
        .iter()
        .map(|a| a["client_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, client_ids, "all 205, newest first, each once");
    let o = env.run(&["listapplications"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 205);
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

async fn updateapplication_changes_only_the_given_fields(env: Env) {
    env.create_user("owner", "pw");
    let (id, _) = env.create_app(
        "confidential",
        "authorization-code",
        &[
            "--name",
            "Original",
            "--user",
            "owner",
            "--redirect-uris",
            "https://a.example/cb",
            "--post-logout-redirect-uris",
            "https://a.example/bye",
            "--allowed-origins",
            "https://a.example",
        ],
    );
    let secret_before = stored(&env, &id).await.client_secret;
    let cases: &[(&[&str], &str, Value)] = &[
        (&["--name", "Renamed"], "name", "Renamed".into()),
        (
            &[
                "--redirect-uris",
                "https://b.example/cb https://c.example/cb",
            ],
            "redirect_uris",
            "https://b.example/cb https://c.example/cb".into(),
        ),
        (
            &["--post-logout-redirect-uris", "https://b.example/bye"],
            "post_logout_redirect_uris",
            "https://b.example/bye".into(),
        ),
        (
            &["--allowed-origins", "https://b.example https://c.example"],
            "allowed_origins",
            "https://b.example https://c.example".into(),
        ),
        (&["--skip-authorization"], "skip_authorization", true.into()),
        (
            &["--no-skip-authorization"],
            "skip_authorization",
            false.into(),
        ),
        (
            &["--post-logout-redirect-uris", ""],
            "post_logout_redirect_uris",
            "".into(),
        ),
    ];
    for (flags, field, value) in cases {
        let before = shown(&env, &id);
        let mut args = vec!["updateapplication", id.as_str()];
        args.extend_from_slice(flags);
        let o = env.run(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let mut expected = before.clone();
        expected[*field] = value.clone();
        let name = expected["name"].as_str().unwrap();
        assert_eq!(stdout(&o), format!("Application {name} updated.\n"));
        assert_ne!(expected, before, "{args:?} is a change");
        assert_eq!(shown(&env, &id), expected, "{args:?} changes {field} only");
    }
    let app = stored(&env, &id).await;
    assert_eq!(app.client_secret, secret_before, "the secret is kept");
    assert_eq!(app.name, "Renamed");
    assert!(app.updated > app.created);

    // Several at once, with --json (no secret when none was generated); an empty name
    // shows the client id.
    let o = env.run(&[
        "updateapplication",
        &id,
        "--name",
        "",
        "--skip-authorization",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v, serde_json::json!({"client_id": id}));
    let now = shown(&env, &id);
    assert_eq!(now["name"], "");
    assert_eq!(now["skip_authorization"], true);
    assert_eq!(now["user"], "owner");
    let o = env.run(&["updateapplication", &id, "--no-skip-authorization"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("Application {id} updated.\n"));
}

async fn updateapplication_bad_input_writes_nothing(env: Env) {
    let (id, _) = env.create_app(
        "confidential",
        "authorization-code",
        &[
            "--name",
            "Steady",
            "--redirect-uris",
            "https://a.example/cb",
            "--allowed-origins",
            "https://a.example",
        ],
    );
    let snapshot = shown(&env, &id);
    let secret = stored(&env, &id).await.client_secret;
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--redirect-uris", "ftp://a.example/cb"],
            &["redirect_uris"],
        ),
        (
            &["--redirect-uris", "https://a.example/cb#fragment"],
            &["redirect_uris"],
        ),
        (
            &["--allowed-origins", "https://a.example/path"],
            &["allowed_origins"],
        ),
        (
            &["--redirect-uris", ""],
            &["redirect_uris: redirect_uris cannot be empty"],
        ),
        // Every problem at once; the valid changes given with them are not written either.
        (
            &[
                "--name",
                "Changed",
                "--redirect-uris",
                " ",
                "--allowed-origins",
                "https://o.example/p",
                "--regenerate-secret",
                "--skip-authorization",
            ],
            &["redirect_uris", "allowed_origins"],
        ),
    ];
    for (flags, mentions) in cases {
        let mut args = vec!["updateapplication", id.as_str()];
        args.extend_from_slice(flags);
        let o = env.run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = error_line(&o);
        assert!(
            err.starts_with("error: invalid application: "),
            "{args:?}: {err}"
        );
        for m in *mentions {
            assert!(err.contains(m), "{args:?}: {err}");
        }
        assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    assert_eq!(shown(&env, &id), snapshot, "nothing written");
    assert_eq!(stored(&env, &id).await.client_secret, secret);

    // Unknown client id.
    let o = env.run(&["updateapplication", "no-such-client", "--name", "x"]);
    assert_eq!(o.status.code(), Some(1));
    let err = error_line(&o);
    assert!(
        err.starts_with("error: client_id: no application") && err.contains("no-such-client"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());

    // Nothing to change (--json changes nothing).
    for args in [
        &["updateapplication", id.as_str()][..],
        &["updateapplication", id.as_str(), "--json"][..],
    ] {
        let o = env.run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            error_line(&o).starts_with("error: nothing to change"),
            "{}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty());
    }

    // The two consent flags conflict: clap's usage error.
    let o = env.run(&[
        "updateapplication",
        &id,
        "--skip-authorization",
        "--no-skip-authorization",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("cannot be used with"), "{err}");
    assert!(err.contains("--no-skip-authorization"), "{err}");
    assert!(stdout(&o).is_empty());
    assert_eq!(shown(&env, &id), snapshot, "nothing written");
}

async fn updateapplication_regenerate_secret_replaces_the_secret(env: Env) {
    let (id, old) = env.create_app("confidential", "client-credentials", &["--name", "Rotated"]);
    let before = shown(&env, &id);
    let server = Server::start(
        &env,
        &[("OAUTH_TOOLKIT_CLIENT_AUTHENTICATION_CACHE_SECONDS", "0")],
    );
    let (status, body) = client_credentials(&server, &id, &old).await;
    assert_eq!(status, 200, "{body}");

    let o = env.run(&["updateapplication", &id, "--regenerate-secret"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "Application Rotated updated.");
    let new = lines[1]
        .strip_prefix("client_secret: ")
        .unwrap_or_else(|| panic!("{text}"))
        .to_string();
    assert_eq!(
        lines[2],
        "(The secret is stored hashed: copy it now, it cannot be shown again.)"
    );
    assert_eq!(new.len(), 128, "the configured length");
    assert!(new.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(new, old);

    let app = stored(&env, &id).await;
    assert_ne!(app.client_secret, new, "stored hashed");
    assert!(oauth_toolkit_core::client_secret::is_hashed(
        &app.client_secret
    ));
    assert!(app.check_secret(&new));
    assert!(!app.check_secret(&old));
    assert_eq!(shown(&env, &id), before, "only the secret changed");

    let (status, body) = client_credentials(&server, &id, &old).await;
    assert_eq!(status, 401, "the old secret stops working: {body}");
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = client_credentials(&server, &id, &new).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string(), "{body}");

    // --json: the client id and the new secret, and nothing else.
    let o = env.run(&["updateapplication", &id, "--regenerate-secret", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    assert_eq!(v["client_id"], id.as_str());
    let newer = v["client_secret"].as_str().unwrap().to_string();
    assert_ne!(newer, new);
    let (status, _) = client_credentials(&server, &id, &new).await;
    assert_eq!(status, 401);
    let (status, body) = client_credentials(&server, &id, &newer).await;
    assert_eq!(status, 200, "{body}");

    // An application that stores its secret in plaintext keeps doing so.
    let (plain_id, plain_old) = env.create_app(
        "confidential",
        "client-credentials",
        &["--no-hash-client-secret"],
    );
    let o = env.run(&["updateapplication", &plain_id, "--regenerate-secret"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(!text.contains("stored hashed"), "{text}");
    let plain_new = text
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap_or_else(|| panic!("{text}"))
        .to_string();
    let app = stored(&env, &plain_id).await;
    assert!(!app.hash_client_secret);
    assert_eq!(app.client_secret, plain_new);
    assert_ne!(plain_new, plain_old);
    let (status, _) = client_credentials(&server, &plain_id, &plain_old).await;
    assert_eq!(status, 401);
    let (status, body) = client_credentials(&server, &plain_id, &plain_new).await;
    assert_eq!(status, 200, "{body}");
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
