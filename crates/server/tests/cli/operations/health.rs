//! `health`: healthy, warning, and unhealthy when the database cannot be reached.

use super::*;

pub(super) async fn health_healthy_then_warning(env: Env) {
    assert_help_describes(&env, "health", &["--json"]);
    let (cc, _) = env.create_app("confidential", "client-credentials", &[]);
    let o = env.run(&["health", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        json_of(&o),
        json!({
            "status": "healthy", "database": "ok", "live_access_tokens": 0,
            "expired_ratio": 0.0, "applications": 1, "access_tokens_last_hour": 0,
        })
    );

    let store = store_of(&env).await;
    let app = app_id(&*store, &cc).await;
    let now = OffsetDateTime::now_utc();
    let (day, gone) = (now + Duration::days(1), now - Duration::seconds(5));
    let two_hours_ago = now - Duration::hours(2);
    token(&*store, app, None, now, day).await;
    for _ in 0..4 {
        token(&*store, app, None, two_hours_ago, gone).await;
    }
    // 4 of 5 expired: 0.8, not above it.
    let o = env.run(&["health", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["status"], "healthy", "{v}");
    assert_eq!(v["expired_ratio"], 0.8, "{v}");
    assert_eq!(v["live_access_tokens"], 1, "{v}");
    assert_eq!(v["access_tokens_last_hour"], 1, "{v}");

    for _ in 0..15 {
        token(&*store, app, None, two_hours_ago, gone).await;
    }
    // 19 of 20 expired.
    let o = env.run(&["health", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a warning is not a failure: {}",
        stderr(&o)
    );
    let v = json_of(&o);
    assert_eq!(
        v,
        json!({
            "status": "warning", "database": "ok", "live_access_tokens": 1,
            "expired_ratio": 0.95, "applications": 1, "access_tokens_last_hour": 1,
        })
    );
    let o = env.run(&["health"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(line_value(&text, "status"), "warning");
    assert_eq!(line_value(&text, "database"), "ok");
    assert_eq!(line_value(&text, "expired ratio"), "0.95");
    assert_eq!(line_value(&text, "live access tokens"), "1");

    // cleartokens deletes the expired ones: healthy again.
    let o = env.run(&["cleartokens"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json_of(&env.run(&["health", "--json"]));
    assert_eq!(v["status"], "healthy", "{v}");
    assert_eq!(v["expired_ratio"], 0.0, "{v}");
}

/// A database URL of the same backend that cannot be opened: a PostgreSQL port nobody
/// listens on, an SQLite file in a directory that does not exist.
fn unreachable(env: &Env) -> String {
    if env.url.starts_with("postgres") {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("postgres://nobody:secret-pw@127.0.0.1:{port}/nothing")
    } else {
        let missing = env.path("no-such-dir").join("db.sqlite3");
        format!("sqlite://{}", missing.display())
    }
}

pub(super) async fn health_unhealthy_when_the_database_is_unreachable(env: Env) {
    let url = unreachable(&env);
    let started = std::time::Instant::now();
    let o = env
        .cmd()
        .args(["health", "--json"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(9),
        "health gives up sooner than the other commands"
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        v,
        json!({
            "status": "unhealthy", "database": "unreachable", "live_access_tokens": null,
            "expired_ratio": null, "applications": null, "access_tokens_last_hour": null,
        })
    );
    let err = error_line(&o);
    assert!(err.contains("cannot open the database"), "{err}");
    assert!(
        !stderr(&o).contains("secret-pw"),
        "the password is redacted"
    );

    let o = env
        .cmd()
        .args(["health"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(line_value(&text, "status"), "unhealthy");
    assert_eq!(line_value(&text, "database"), "unreachable");

    // The same environment's real database is healthy.
    let o = env.run(&["health"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(line_value(&stdout(&o), "status"), "healthy");
}
