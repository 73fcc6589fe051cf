//! `updateapplication`: the fields it changes, bad input, and a new secret.

use super::*;

pub(super) async fn updateapplication_changes_only_the_given_fields(env: Env) {
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

pub(super) async fn updateapplication_bad_input_writes_nothing(env: Env) {
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

pub(super) async fn updateapplication_regenerate_secret_replaces_the_secret(env: Env) {
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
