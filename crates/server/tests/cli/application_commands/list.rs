//! `listapplications`: newest first, filtered by user, without secrets, every page.

use oauth_toolkit_core::models::{ClientType, GrantType, NewApplication};

use super::*;

pub(super) async fn listapplications_newest_first_filtered_and_without_secrets(env: Env) {
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

pub(super) async fn listapplications_walks_every_page(env: Env) {
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
