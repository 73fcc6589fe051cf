//! `createapplication`: its output, its options, and bad input.

use crate::common::*;

backends!(
    createapplication_json_and_text,
    createapplication_options_are_stored,
    createapplication_bad_input_writes_nothing,
);

async fn createapplication_json_and_text(env: Env) {
    let o = env.run(&[
        "createapplication",
        "confidential",
        "client-credentials",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "stdout holds only the JSON: {out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let client_id = v["client_id"].as_str().unwrap();
    let secret = v["client_secret"].as_str().unwrap();
    assert_eq!(client_id.len(), 40);
    assert_eq!(secret.len(), 128);
    assert_eq!(v.as_object().unwrap().len(), 2);

    let db = env.db().await;
    let app = db
        .store()
        .find_application_by_client_id(client_id)
        .await
        .unwrap()
        .unwrap();
    assert!(app.hash_client_secret);
    assert_ne!(app.client_secret, secret, "stored hashed");
    assert!(app.check_secret(secret));

    let o = env.run(&[
        "createapplication",
        "public",
        "authorization-code",
        "--redirect-uris",
        "https://example.org/cb",
        "--name",
        "TEST",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("New application TEST created successfully."),
        "{text}"
    );
    let id_line = text.lines().find(|l| l.starts_with("client_id: ")).unwrap();
    let secret_line = text
        .lines()
        .find(|l| l.starts_with("client_secret: "))
        .unwrap();
    let app = db
        .store()
        .find_application_by_client_id(id_line.trim_start_matches("client_id: "))
        .await
        .unwrap()
        .unwrap();
    assert!(app.check_secret(secret_line.trim_start_matches("client_secret: ")));
    db.close().await;
}

async fn createapplication_options_are_stored(env: Env) {
    assert!(env
        .run(&["createuser", "owner", "--password", "pw"])
        .status
        .success());
    // DOT's own test, with --user by username.
    let o = env.run(&[
        "createapplication",
        "confidential",
        "authorization-code",
        "--redirect-uris",
        "http://example.com http://example2.com",
        "--client-secret",
        "SECRET",
        "--name",
        "TEST",
        "--skip-authorization",
        "--algorithm",
        "RS256",
        "--user",
        "owner",
        "--client-id",
        "someId",
        "--post-logout-redirect-uris",
        "http://example.com/bye",
        "--allowed-origins",
        "https://example.com",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("created successfully"));
    assert!(
        !stdout(&o).contains("client_secret: SECRET"),
        "a given secret is not echoed"
    );
    let db = env.db().await;
    let store = db.store();
    let owner = store.find_user_by_username("owner").await.unwrap().unwrap();
    let app = store
        .find_application_by_client_id("someId")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.name, "TEST");
    assert_eq!(app.user_id, Some(owner.id));
    assert!(app.skip_authorization);
    assert_eq!(app.algorithm.as_str(), "RS256");
    assert_eq!(app.redirect_uris, "http://example.com http://example2.com");
    assert_eq!(app.post_logout_redirect_uris, "http://example.com/bye");
    assert_eq!(app.allowed_origins, "https://example.com");
    assert!(app.check_secret("SECRET") && app.client_secret != "SECRET");

    // --user also takes a numeric id, as DOT's does; --no-hash-client-secret keeps plaintext.
    let id = owner.id.to_string();
    let o = env.run(&[
        "createapplication",
        "confidential",
        "authorization-code",
        "--redirect-uris",
        "https://rp.example/cb",
        "--user",
        &id,
        "--client-id",
        "plain",
        "--client-secret",
        "plain-secret",
        "--no-hash-client-secret",
        "--algorithm",
        "HS256",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let app = store
        .find_application_by_client_id("plain")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.client_secret, "plain-secret");
    assert!(!app.hash_client_secret);
    assert_eq!(app.user_id, Some(owner.id));
    db.close().await;
}

async fn createapplication_bad_input_writes_nothing(env: Env) {
    assert!(env
        .run(&[
            "createapplication",
            "public",
            "password",
            "--client-id",
            "taken"
        ])
        .status
        .success());
    let cases: &[(&[&str], &str)] = &[
        (
            &["createapplication", "confidential", "bogus-grant"],
            "authorization_grant_type",
        ),
        (&["createapplication", "secret", "password"], "client_type"),
        (
            &["createapplication", "public", "authorization-code"],
            "redirect_uris",
        ),
        (
            &[
                "createapplication",
                "public",
                "authorization-code",
                "--redirect-uris",
                "ftp://example.org/cb",
            ],
            "redirect_uris",
        ),
        (
            &[
                "createapplication",
                "public",
                "authorization-code",
                "--redirect-uris",
                "https://example.org/cb#frag",
            ],
            "redirect_uris",
        ),
        (
            &["createapplication", "public", "password", "--user", "783"],
            "783",
        ),
        (
            &[
                "createapplication",
                "public",
                "password",
                "--client-id",
                "taken",
            ],
            "client_id",
        ),
        (
            &[
                "createapplication",
                "public",
                "password",
                "--client-id",
                "with:colon",
            ],
            "client_id",
        ),
        (
            &[
                "createapplication",
                "public",
                "password",
                "--algorithm",
                "none",
            ],
            "algorithm",
        ),
        (
            &[
                "createapplication",
                "public",
                "password",
                "--allowed-origins",
                "http://insecure.example",
            ],
            "allowed_origins",
        ),
        (
            &[
                "createapplication",
                "public",
                "password",
                "--algorithm",
                "HS256",
            ],
            "algorithm",
        ),
        (
            &[
                "createapplication",
                "confidential",
                "password",
                "--algorithm",
                "HS256",
            ],
            "hash_client_secret",
        ),
        (&["createapplication", "public"], "AUTHORIZATION_GRANT_TYPE"),
    ];
    for (args, mentions) in cases {
        let o = env.run(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = stderr(&o);
        assert!(err.contains(mentions), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(stdout(&o).is_empty(), "nothing on stdout for {args:?}");
    }
    // Only the first application exists.
    let db = env.db().await;
    let store = db.store();
    assert!(store
        .find_application_by_client_id("taken")
        .await
        .unwrap()
        .is_some());
    assert!(store
        .find_application_by_client_id("with:colon")
        .await
        .unwrap()
        .is_none());
    let count = count_rows(&db, "oauth2_provider_application").await;
    assert_eq!(count, 1);
    db.close().await;
}
