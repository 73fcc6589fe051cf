//! The operator's commands: `stats`, `audittokens`, `revoketokens` (also against a running
//! server) and `health` (healthy, warning, unhealthy).

use std::sync::Arc;

use oauth_toolkit_core::models::{stored_token, AccessToken, NewAccessToken, NewRefreshToken};
use oauth_toolkit_core::store::Store;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::common::*;

mod health;
mod revoke;
use health::{health_healthy_then_warning, health_unhealthy_when_the_database_is_unreachable};
use revoke::{revoketokens_dry_run_then_revoke, revoketokens_stops_tokens_in_a_running_server};

backends!(
    stats_counts_every_table,
    audittokens_reports_old_tokens_and_the_top_applications,
    audittokens_rejects_bad_arguments,
    revoketokens_dry_run_then_revoke,
    revoketokens_stops_tokens_in_a_running_server,
    health_healthy_then_warning,
    health_unhealthy_when_the_database_is_unreachable,
);

fn json_of(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(stdout(o).trim())
        .unwrap_or_else(|e| panic!("{e}: not JSON: {}", stdout(o)))
}

/// The value on the text line `label: value` (labels trimmed).
fn line_value(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| {
            let (l, v) = l.split_once(':')?;
            (l.trim() == label).then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no line `{label}:` in\n{text}"))
}

async fn store_of(env: &Env) -> Arc<dyn Store> {
    env.db().await.store()
}

async fn app_id(store: &dyn Store, client_id: &str) -> i64 {
    store
        .find_application_by_client_id(client_id)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn user_id(store: &dyn Store, username: &str) -> i64 {
    store
        .find_user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// An access token of `app` (and `user`), created at `created`, expiring at `expires`.
async fn token(
    store: &dyn Store,
    app: i64,
    user: Option<i64>,
    created: OffsetDateTime,
    expires: OffsetDateTime,
) -> AccessToken {
    let (column, checksum) = stored_token(&oauth_toolkit_core::generators::generate_token(), true);
    store
        .create_access_token(
            NewAccessToken {
                resource: String::new(),
                user_id: user,
                source_refresh_token_id: None,
                token: column,
                token_checksum: checksum,
                id_token_id: None,
                application_id: Some(app),
                expires,
                scope: "read".into(),
                token_family: None,
            },
            created,
        )
        .await
        .unwrap()
}

async fn refresh(store: &dyn Store, app: i64, user: i64, at: Option<&AccessToken>) {
    let (column, checksum) = stored_token(&oauth_toolkit_core::generators::generate_token(), true);
    store
        .create_refresh_token(
            NewRefreshToken {
                resource: String::new(),
                user_id: user,
                token: column,
                token_checksum: checksum,
                application_id: app,
                access_token_id: at.map(|t| t.id),
                token_family: None,
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
}

/// `COMMAND --help` lists each of `flags` with a description (on its line or the next).
fn assert_help_describes(env: &Env, command: &str, flags: &[&str]) {
    let o = env.run(&[command, "--help"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let help = stdout(&o);
    let lines: Vec<&str> = help.lines().collect();
    for flag in flags {
        let i = lines
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("{flag} ")) || l.trim() == *flag)
            .unwrap_or_else(|| panic!("{command} --help lists {flag}:\n{help}"));
        let rest = lines[i].trim_start()[flag.len()..].trim_start();
        // A value name (`<DAYS>`) is not a description.
        let rest = match rest.strip_prefix('<') {
            Some(r) => r.split_once('>').map_or("", |(_, r)| r),
            None => rest,
        };
        let below = lines.get(i + 1).map_or("", |l| l.trim());
        let described = !rest.trim().is_empty() || (!below.is_empty() && !below.starts_with('-'));
        assert!(described, "{command} --help describes {flag}:\n{help}");
    }
}

async fn stats_counts_every_table(env: Env) {
    assert_help_describes(&env, "stats", &["--json"]);
    env.create_user("alice", "pw-alice-1");
    let (cc, _) = env.create_app("confidential", "client-credentials", &[]);
    let (ac, _) = env.create_app(
        "public",
        "authorization-code",
        &["--redirect-uris", "https://example.org/cb"],
    );
    let o = env.run(&["stats", "--json"]);
    let empty = json_of(&o);
    assert_eq!(empty["applications"], 2);
    assert_eq!(empty["access_tokens"], 0);

    let store = store_of(&env).await;
    let (cc, ac) = (app_id(&*store, &cc).await, app_id(&*store, &ac).await);
    let alice = user_id(&*store, "alice").await;
    let now = OffsetDateTime::now_utc();
    let (day, gone) = (now + Duration::days(1), now - Duration::seconds(5));
    let old = now - Duration::days(3);
    token(&*store, cc, None, now, day).await;
    token(&*store, cc, None, old, day).await;
    token(&*store, cc, None, old, gone).await;
    let at = token(&*store, ac, Some(alice), now, gone).await;
    refresh(&*store, ac, alice, Some(&at)).await;

    let v = json_of(&env.run(&["stats", "--json"]));
    assert_eq!(
        v,
        json!({
            "applications": 2,
            "applications_with_live_access_tokens": 1,
            "applications_by_client_type": {"confidential": 1, "public": 1},
            "applications_by_grant_type": {
                "authorization-code": 1,
                "client-credentials": 1,
                "implicit": 0,
                "openid-hybrid": 0,
                "password": 0,
                "urn:ietf:params:oauth:grant-type:device_code": 0,
            },
            "access_tokens": 4,
            "live_access_tokens": 2,
            "access_tokens_last_hour": 2,
            "refresh_tokens": 1,
            "live_refresh_tokens": 1,
            "revoked_refresh_tokens": 0,
            "grants": 0,
            "live_grants": 0,
            "id_tokens": 0,
            "live_id_tokens": 0,
            "device_grants": 0,
            "live_device_grants": 0,
        })
    );
    let o = env.run(&["stats"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(line_value(&text, "applications"), "2");
    assert_eq!(
        line_value(&text, "applications with live access tokens"),
        "1"
    );
    assert_eq!(line_value(&text, "client type public"), "1");
    assert_eq!(line_value(&text, "access tokens"), "4");
    assert_eq!(line_value(&text, "created in the last hour"), "2");
    assert_eq!(line_value(&text, "refresh tokens"), "1");
    // The values are aligned: every number starts in the same column.
    let starts: std::collections::BTreeSet<usize> = text
        .lines()
        .map(|l| l.trim_end_matches(char::is_numeric).len())
        .collect();
    assert_eq!(starts.len(), 1, "values aligned:\n{text}");
}

async fn audittokens_reports_old_tokens_and_the_top_applications(env: Env) {
    assert_help_describes(
        &env,
        "audittokens",
        &["--older-than-days", "--top", "--json"],
    );
    env.create_user("alice", "pw-alice-1");
    let (one, _) = env.create_app(
        "confidential",
        "client-credentials",
        &["--client-id", "aaa-busy", "--name", "Busy"],
    );
    let (two, _) = env.create_app(
        "confidential",
        "client-credentials",
        &["--client-id", "bbb-quiet"],
    );
    let o = env.run(&["audittokens", "--json"]);
    let v = json_of(&o);
    assert_eq!(v["live_access_tokens_older"], 0);
    assert_eq!(v["top_applications"], json!([]));

    let store = store_of(&env).await;
    let (one, two) = (app_id(&*store, &one).await, app_id(&*store, &two).await);
    let alice = user_id(&*store, "alice").await;
    let now = OffsetDateTime::now_utc();
    let (day, gone) = (now + Duration::days(1), now - Duration::seconds(5));
    let (ten_days, three_days) = (now - Duration::days(10), now - Duration::days(3));
    let old = token(&*store, one, Some(alice), ten_days, day).await;
    token(&*store, one, None, three_days, day).await;
    token(&*store, one, None, now, day).await;
    token(&*store, two, None, ten_days, day).await;
    token(&*store, two, None, ten_days, gone).await; // expired: not counted
    refresh(&*store, one, alice, Some(&old)).await; // created now

    let v = json_of(&env.run(&["audittokens", "--json"]));
    assert_eq!(v["older_than_days"], 7);
    assert!(v["created_before"].is_string(), "{v}");
    assert_eq!(v["live_access_tokens_older"], 2, "{v}");
    assert_eq!(v["live_refresh_tokens_older"], 0, "{v}");
    assert_eq!(
        v["top_applications"],
        json!([
            {"client_id": "aaa-busy", "name": "Busy", "live_access_tokens": 3},
            {"client_id": "bbb-quiet", "name": "", "live_access_tokens": 1},
        ])
    );
    let v = json_of(&env.run(&[
        "audittokens",
        "--older-than-days",
        "2",
        "--top",
        "1",
        "--json",
    ]));
    assert_eq!(v["live_access_tokens_older"], 3, "{v}");
    assert_eq!(
        v["top_applications"],
        json!([{"client_id": "aaa-busy", "name": "Busy", "live_access_tokens": 3}])
    );
    let v = json_of(&env.run(&["audittokens", "--older-than-days", "0", "--json"]));
    assert_eq!(v["live_access_tokens_older"], 4, "{v}");
    assert_eq!(v["live_refresh_tokens_older"], 1, "{v}");
    let v = json_of(&env.run(&["audittokens", "--older-than-days", "100000000000", "--json"]));
    assert_eq!(v["live_access_tokens_older"], 0, "{v}");

    let o = env.run(&["audittokens"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(
        line_value(&text, "live access tokens older than 7 day(s)"),
        "2"
    );
    let busy = text
        .lines()
        .position(|l| l.contains("aaa-busy"))
        .unwrap_or_else(|| panic!("{text}"));
    let quiet = text
        .lines()
        .position(|l| l.contains("bbb-quiet"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(busy < quiet, "most tokens first:\n{text}");
    assert!(text
        .lines()
        .nth(busy)
        .unwrap()
        .trim_start()
        .starts_with('3'));
}

async fn audittokens_rejects_bad_arguments(env: Env) {
    let o = env.run(&["migrate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (args, mentions) in [
        (&["--top", "0"][..], "--top"),
        (&["--top", "1001"][..], "--top"),
        (&["--top", "-3"][..], "--top"),
        (&["--older-than-days", "-1"][..], "--older-than-days"),
    ] {
        let o = env.run(&[&["audittokens"][..], args].concat());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = error_line(&o);
        assert!(err.contains(mentions), "{args:?}: {err}");
        assert_eq!(stdout(&o), "", "{args:?}: nothing printed");
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: one line");
    }
    for o in [
        env.run(&["audittokens", "--top", "many"]),
        env.run(&["audittokens", "--older-than-days", "1.5"]),
    ] {
        assert!(!o.status.success());
        assert!(stderr(&o).contains("invalid value"), "{}", stderr(&o));
    }
    let o = env.run(&["audittokens", "--top", "1000", "--json"]);
    assert!(o.status.success(), "the largest --top: {}", stderr(&o));
}
