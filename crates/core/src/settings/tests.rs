//! Loading settings from files and the environment.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_are_dots() {
    let s = Settings::default();
    s.validate().unwrap();
    assert_eq!(s.provider.access_token_expire_seconds, 36000);
    assert_eq!(s.provider.authorization_code_expire_seconds, 60);
    assert_eq!(s.provider.client_secret_generator_length, 128);
    assert_eq!(s.provider.client_id_generator_length, 40);
    assert_eq!(s.provider.clear_expired_tokens_batch_size, 10000);
    assert!(s.provider.rotate_refresh_token);
    assert!(s.provider.pkce_required);
    assert_eq!(s.provider.request_approval_prompt, ApprovalPrompt::Force);
    assert_eq!(s.server.url_prefix, "/o");
    assert!(s.scopes().contains_key("openid"));
    assert_eq!(s.default_scope_names().len(), s.scopes().len());
}

#[test]
fn toml_file_values() {
    let s = Settings::from_toml_str(
        r#"
        access_token_expire_seconds = 60
        rotate_refresh_token = false
        url_prefix = "/oauth/"
        default_scopes = ["read"]
        [scopes]
        read = "Read things"
        write = "Write things"
        "#,
    )
    .unwrap();
    assert_eq!(s.provider.access_token_expire_seconds, 60);
    assert!(!s.provider.rotate_refresh_token);
    assert_eq!(s.server.url_prefix, "/oauth");
    assert_eq!(s.scopes().len(), 2);
    assert_eq!(s.default_scope_names(), vec!["read"]);
}

#[test]
fn errors_name_the_key() {
    let e = Settings::from_toml_str("access_token_expire_seconds = \"soon\"").unwrap_err();
    assert_eq!(e.key, "access_token_expire_seconds");
    let e = Settings::from_toml_str("no_such_setting = 1").unwrap_err();
    assert_eq!(e.key, "no_such_setting");
    assert!(e.to_string().contains("unknown setting"));
    let e = Settings::from_toml_str("access_token_expire_seconds = 0").unwrap_err();
    assert_eq!(e.key, "access_token_expire_seconds");
    let e = Settings::from_toml_str("request_approval_prompt = \"sometimes\"").unwrap_err();
    assert_eq!(e.key, "request_approval_prompt");
    let e = Settings::from_toml_str("default_scopes = [\"admin\"]").unwrap_err();
    assert_eq!(e.key, "default_scopes");
    let e = Settings::from_toml_str("bind = \"nowhere\"").unwrap_err();
    assert_eq!(e.key, "bind");
    let e = Settings::from_toml_str("clear_expired_tokens_batch_interval = -1.0").unwrap_err();
    assert_eq!(e.key, "clear_expired_tokens_batch_interval");
    let e = Settings::from_toml_str("this is not toml").unwrap_err();
    assert_eq!(e.key, "config");
}

#[test]
fn env_overrides_file() {
    let dir = std::env::temp_dir().join(format!("otk-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(
        &file,
        "access_token_expire_seconds = 60\npkce_required = true\n",
    )
    .unwrap();
    let s = Settings::load(
        Some(&file),
        env(&[
            ("OAUTH_TOOLKIT_ACCESS_TOKEN_EXPIRE_SECONDS", "120"),
            ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
            (
                "OAUTH_TOOLKIT_ALLOWED_REDIRECT_URI_SCHEMES",
                "https, com.example",
            ),
            ("OAUTH_TOOLKIT_REFRESH_TOKEN_EXPIRE_SECONDS", "3600"),
            ("OAUTH_TOOLKIT_SCOPES", "{ read = \"R\" }"),
            ("OAUTH_TOOLKIT_DEFAULT_SCOPES", "read"),
            ("OAUTH_TOOLKIT_CONFIG", "ignored.toml"),
            ("DATABASE_URL", "postgres://x@localhost/db"),
            ("UNRELATED", "1"),
        ]),
    )
    .unwrap();
    assert_eq!(s.provider.access_token_expire_seconds, 120);
    assert!(!s.provider.pkce_required);
    assert_eq!(
        s.provider.allowed_redirect_uri_schemes,
        vec!["https", "com.example"]
    );
    assert_eq!(s.provider.refresh_token_expire_seconds, Some(3600));
    assert_eq!(s.scopes().len(), 1);
    assert_eq!(s.database_url(), "postgres://x@localhost/db");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn env_errors_name_the_variable() {
    let e = Settings::load(
        None,
        env(&[("OAUTH_TOOLKIT_ROTATE_REFRESH_TOKEN", "maybe")]),
    )
    .unwrap_err();
    assert_eq!(e.key, "rotate_refresh_token");
    assert!(
        e.to_string().contains("OAUTH_TOOLKIT_ROTATE_REFRESH_TOKEN"),
        "{e}"
    );
    let e = Settings::load(None, env(&[("OAUTH_TOOLKIT_NOPE", "1")])).unwrap_err();
    assert_eq!(e.key, "nope");
    let e = Settings::load(
        None,
        env(&[("OAUTH_TOOLKIT_ACCESS_TOKEN_EXPIRE_SECONDS", "-5")]),
    )
    .unwrap_err();
    assert_eq!(e.key, "access_token_expire_seconds");
}

#[test]
fn missing_file_is_an_error() {
    let e = Settings::load(Some(Path::new("/nonexistent/x.toml")), Vec::new()).unwrap_err();
    assert!(e.to_string().contains("cannot read"));
}

#[test]
fn every_key_is_listed() {
    let keys = Settings::keys();
    for k in [
        "access_token_expire_seconds",
        "refresh_token_grace_period_seconds",
        "oidc_rsa_private_key",
        "oidc_rp_initiated_logout_enabled",
        "login_url",
        "error_response_with_scopes",
        "template_dir",
        "resource_server_introspection_credentials",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k}");
    }
}

mod docs_tests {
    /// docs/settings.md documents every key, so the docs cannot silently drift.
    #[test]
    fn every_key_is_documented() {
        let docs = include_str!("../../../../docs/settings.md");
        for key in crate::settings::Settings::keys() {
            assert!(
                docs.contains(&format!("| `{key}` |")),
                "docs/settings.md lacks `{key}`"
            );
        }
    }
}

#[test]
fn sqlite_synchronous_is_full_unless_set() {
    assert_eq!(
        Settings::default().server.sqlite_synchronous,
        SqliteSynchronous::Full
    );
    let s = Settings::from_toml_str("sqlite_synchronous = \"normal\"").unwrap();
    assert_eq!(s.server.sqlite_synchronous, SqliteSynchronous::Normal);
    let e = Settings::from_toml_str("sqlite_synchronous = \"off\"").unwrap_err();
    assert_eq!(e.key, "sqlite_synchronous");
}

#[test]
fn provider_name_has_a_default_and_is_checked() {
    assert_eq!(Settings::default().server.provider_name, "OAuth Toolkit");
    let s = Settings::from_toml_str("provider_name = \"Example ID\"").unwrap();
    assert_eq!(s.server.provider_name, "Example ID");
    for bad in [
        "\"\"",
        "\"   \"",
        "\"a\\nb\"",
        &format!("\"{}\"", "x".repeat(101)),
    ] {
        let e = Settings::from_toml_str(&format!("provider_name = {bad}")).unwrap_err();
        assert_eq!(e.key, "provider_name", "{bad}");
    }
}
