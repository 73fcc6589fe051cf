//! Remote mode against fake introspection servers (no database).

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use reqwest::header::RETRY_AFTER;
use serde_json::json;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

// ---- a fake RFC 7662 server -----------------------------------------------------------

type Answer = Arc<dyn Fn(&str) -> (u16, String) + Send + Sync>;

/// An introspection endpoint on a raw TCP listener: counts calls, records the
/// `Authorization` header, answers `answer(token)` after `delay`.
struct Fake {
    url: String,
    calls: Arc<AtomicUsize>,
    auth: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    async fn start(delay: StdDuration, answer: Answer) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/introspect/", listener.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let auth = Arc::new(Mutex::new(Vec::new()));
        let (c, a) = (calls.clone(), auth.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (c, a, answer) = (c.clone(), a.clone(), answer.clone());
                tokio::spawn(async move {
                    let Some((headers, body)) = read_request(&mut sock).await else {
                        return;
                    };
                    c.fetch_add(1, Ordering::SeqCst);
                    if let Some(line) = headers
                        .lines()
                        .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                    {
                        a.lock().unwrap().push(line[14..].trim().to_string());
                    }
                    let token = body
                        .split('&')
                        .find_map(|p| p.strip_prefix("token="))
                        .unwrap_or("")
                        .to_string();
                    tokio::time::sleep(delay).await;
                    let (status, json) = answer(&token);
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                        json.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Fake {
            url,
            calls,
            auth,
            task,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
    Some((head, body))
}

fn now_secs() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A resource-server client for the fake servers.
fn fake_client() -> App {
    App {
        id: "rs-client".into(),
        secret: "rs-secret".into(),
    }
}

/// Any RFC 7662 server will do: a bare canned answer (no `token_type`, `iss`, …) is enough.
/// Positive answers are cached (one call for many requests and every rule), never past the
/// token's `exp`; negative answers for `resource_server_negative_caching_seconds` only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_any_rfc7662_server_and_cache_rules() {
    // Set just before the short-lived token is first used, so a slow start of the example
    // cannot eat its lifetime.
    let short_exp = Arc::new(AtomicI64::new(0));
    let exp_of_short = short_exp.clone();
    let answer: Answer = Arc::new(move |token: &str| match token {
        "goodToken" => (
            200,
            json!({"active": true, "scope": "read music:read", "username": "carol",
                   "client_id": "their-app", "exp": now_secs() + 3600})
            .to_string(),
        ),
        "shortToken" => (
            200,
            json!({"active": true, "scope": "read", "exp": exp_of_short.load(Ordering::SeqCst)})
                .to_string(),
        ),
        _ => (200, json!({"active": false}).to_string()),
    });
    let fake = Fake::start(StdDuration::ZERO, answer).await;
    let ex = Example::remote(
        &fake.url,
        &fake_client(),
        &[(
            "OAUTH_TOOLKIT_RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS",
            "1",
        )],
    );
    let api = &ex.api;

    // Positive: one call serves every request and every rule.
    let r = api.call("GET", "/api/scoped", Some("goodToken")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["username"], "carol");
    assert_eq!(r.json()["client_id"], "their-app");
    for _ in 0..5 {
        assert_eq!(
            api.call("GET", "/api/hello", Some("goodToken"))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        api.call("GET", "/api/music", Some("goodToken"))
            .await
            .status,
        200
    );
    assert_insufficient(
        &api.call("POST", "/api/rw", Some("goodToken")).await,
        "write",
    );
    assert_eq!(fake.calls(), 1);
    let basic = fake.auth.lock().unwrap()[0].clone();
    assert_eq!(
        basic, "Basic cnMtY2xpZW50OnJzLXNlY3JldA==",
        "rs-client:rs-secret"
    );

    // Negative: remembered briefly.
    assert_challenge(
        &api.call("GET", "/api/hello", Some("badToken")).await,
        401,
        "invalid_token",
    );
    assert_challenge(
        &api.call("GET", "/api/hello", Some("badToken")).await,
        401,
        "invalid_token",
    );
    assert_eq!(fake.calls(), 2);

    // Short-lived: cached no longer than its exp.
    short_exp.store(now_secs() + 2, Ordering::SeqCst);
    assert_eq!(
        api.call("GET", "/api/hello", Some("shortToken"))
            .await
            .status,
        200
    );
    assert_eq!(
        api.call("GET", "/api/hello", Some("shortToken"))
            .await
            .status,
        200
    );
    assert_eq!(fake.calls(), 3);

    let wait = (short_exp.load(Ordering::SeqCst) - now_secs()).max(0) as u64 * 1000 + 300;
    tokio::time::sleep(StdDuration::from_millis(wait.max(1200))).await;
    assert_challenge(
        &api.call("GET", "/api/hello", Some("badToken")).await,
        401,
        "invalid_token",
    );
    assert_eq!(fake.calls(), 4, "the negative answer expired after 1 s");
    let r = api.call("GET", "/api/hello", Some("shortToken")).await;
    assert_challenge(&r, 401, "invalid_token");
    assert_eq!(
        r.json()["error_description"],
        "The access token has expired."
    );
    assert_eq!(
        fake.calls(),
        5,
        "the positive answer expired with the token"
    );
    assert_eq!(
        api.call("GET", "/api/hello", Some("goodToken"))
            .await
            .status,
        200
    );
    assert_eq!(fake.calls(), 5);
}

/// `resource_server_token_caching_seconds` bounds the cache of a long-lived token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_cache_bounded_by_caching_seconds() {
    let answer: Answer = Arc::new(|_: &str| {
        (
            200,
            json!({"active": true, "scope": "read", "exp": now_secs() + 36000}).to_string(),
        )
    });
    let fake = Fake::start(StdDuration::ZERO, answer).await;
    let ex = Example::remote(
        &fake.url,
        &fake_client(),
        &[("OAUTH_TOOLKIT_RESOURCE_SERVER_TOKEN_CACHING_SECONDS", "1")],
    );
    assert_eq!(
        ex.api.call("GET", "/api/hello", Some("tok")).await.status,
        200
    );
    assert_eq!(
        ex.api.call("GET", "/api/hello", Some("tok")).await.status,
        200
    );
    assert_eq!(fake.calls(), 1);
    tokio::time::sleep(StdDuration::from_millis(1200)).await;
    assert_eq!(
        ex.api.call("GET", "/api/hello", Some("tok")).await.status,
        200
    );
    assert_eq!(fake.calls(), 2);
}

/// The provider is down (nothing listens): 503 `temporarily_unavailable` with
/// `Retry-After`, at once, and not cached; a request without a token is still 401 without
/// any call. An introspection endpoint answering 500 or nonsense is the same 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_provider_down_is_503_at_once() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/o/introspect/", l.local_addr().unwrap())
    };
    let ex = Example::remote(&dead, &fake_client(), &[]);
    for _ in 0..2 {
        let started = Instant::now();
        let r = ex.api.call("GET", "/api/hello", Some("someToken")).await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.json()["error"], "temporarily_unavailable");
        assert!(r.headers.get(RETRY_AFTER).is_some());
        assert!(r.www().is_empty());
        assert!(
            started.elapsed() < StdDuration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(ex.api.call("GET", "/api/hello", None).await.status, 401);
    drop(ex);

    let answer: Answer = Arc::new(|token: &str| match token {
        "boom" => (500, "{}".into()),
        "text" => (200, "not json".into()),
        _ => (200, json!({"active": "maybe"}).to_string()),
    });
    let fake = Fake::start(StdDuration::ZERO, answer).await;
    let ex = Example::remote(&fake.url, &fake_client(), &[]);
    for token in ["boom", "text", "odd", "boom"] {
        let r = ex.api.call("GET", "/api/hello", Some(token)).await;
        assert_eq!(r.status, 503, "{token}");
    }
    assert_eq!(fake.calls(), 4, "failures are never cached");
}

/// A provider slower than `resource_server_introspection_timeout_seconds` (1 s here): 503
/// after about the timeout, for every concurrent request; nothing hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_provider_slow_is_503_after_the_timeout() {
    let answer: Answer =
        Arc::new(|_: &str| (200, json!({"active": true, "scope": "read"}).to_string()));
    let fake = Fake::start(StdDuration::from_secs(4), answer).await;
    let ex = Example::remote(
        &fake.url,
        &fake_client(),
        &[(
            "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_TIMEOUT_SECONDS",
            "1",
        )],
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let api = ex.api.clone();
        tasks.push(tokio::spawn(async move {
            let t = format!("slowToken{i}");
            api.call("GET", "/api/hello", Some(&t)).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 503);
    }
    let took = started.elapsed();
    assert!(
        took >= StdDuration::from_millis(900) && took < StdDuration::from_millis(3000),
        "{took:?}"
    );
}
