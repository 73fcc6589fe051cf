//! The staff admin at scale: every admin list page (and an access token's detail page) of
//! the release server (`serve`) on a SQLite database of `BENCH_ROWS` (1,000,000) access
//! tokens, against the target "p99 under 200 ms".
//!
//! 1. Seeding: a temp database migrated by the provider (`oauth-toolkit migrate`), a staff
//!    user made with the CLI (`createuser admin --password-stdin --staff`) and a signing key
//!    (`createsigningkey`); then, directly through rusqlite in one transaction of prepared
//!    INSERTs, 1,000 users, 100 applications, `BENCH_ROWS` access tokens (spread over users
//!    and applications, one in ten without a user as client_credentials tokens are; ids in
//!    issue order, the older half expired, the newer half live for at least two more hours),
//!    `BENCH_ROWS`/5 refresh tokens (half revoked), `BENCH_ROWS`/10 grants, `BENCH_ROWS`/10
//!    ID tokens and 1,000 device grants; then `ANALYZE`. The time each step took.
//! 2. Pages: sign in as the staff user through the real login form (CSRF token and cookie),
//!    then for each page `BENCH_REQUESTS` (200) GETs one after the other on one keep-alive
//!    connection, after 10 warm-up requests. Every answer must be a 200 holding a table row
//!    (the detail page: its fields). p50 / p99 / max and PASS/FAIL against the 200 ms p99.
//! 3. Baseline, same run: the bare statements the store runs for the access token first
//!    page, the deep page (`before=` the middle id) and the search by user, prepared once and
//!    stepped through rusqlite (every column read) on a read-only connection to the same
//!    file, the same number of times after the same warm-up; their p50 / p99 and the ratio
//!    page ÷ bare statement.
//! 4. `EXPLAIN QUERY PLAN` of the statements each page makes the store run (copied from
//!    `crates/store/src/sql/admin/pages.rs` and the point reads it uses), with the values the
//!    page binds; a `SCAN` of a big table (access/refresh tokens, grants, ID tokens) under a
//!    filter, or a temp B-tree sort, is flagged, since its cost grows with the table.
//!
//! Run: `cargo bench -p oauth-toolkit --bench admin_pages` (SQLite only; it builds and uses
//! the release binary). `BENCH_ROWS=N` changes the number of access tokens (the other token
//! tables scale with it), `BENCH_REQUESTS=N` the requests per page. The full size takes a few
//! minutes and about 1 GB of temporary disk.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{env_or, provider_cmd, run_ok, spawn_listening};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OpenFlags};
use sha2::{Digest, Sha256};

const ADMIN: &str = "admin";
const ADMIN_PASSWORD: &str = "admin-bench-password-42";
const USERS: usize = 1_000;
const APPS: usize = 100;
const DEVICE_GRANTS: i64 = 1_000;
const WARMUP: usize = 10;
/// The admin asks the store for a page of 50 plus one (to know there is a next page).
const PAGE_LIMIT: i64 = 51;
const TARGET: Duration = Duration::from_millis(200);
const SECOND: i64 = 1_000_000;
const HOUR: i64 = 3_600 * SECOND;
/// The tables that grow with traffic: a scan of one of them under a filter is flagged.
const BIG_TABLES: [&str; 4] = [
    "oauth2_provider_accesstoken",
    "oauth2_provider_refreshtoken",
    "oauth2_provider_grant",
    "oauth2_provider_idtoken",
];

fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

fn mix(i: i64) -> u64 {
    let mut h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^ (h >> 32)
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn uuid_of(kind: u128, i: i64) -> String {
    uuid::Uuid::from_u128((kind << 120) | (u128::from(mix(i)) << 48) | (i as u128)).to_string()
}

/// What the pages search for, from the seeded data.
struct Seeded {
    rows: i64,
    middle_id: i64,
    username: String,
    user_id: i64,
    client_id: String,
    app_id: i64,
    now: i64,
}

/// The seeded access token `i` (its id, 1-based): (user, application, created, expires).
struct Spread {
    n: i64,
    users: Vec<i64>,
    apps: Vec<i64>,
    now: i64,
    step: i64,
}

impl Spread {
    fn owner(&self, i: i64) -> (Option<i64>, i64) {
        let h = mix(i);
        let user = (i % 10 != 0).then(|| self.users[(h % USERS as u64) as usize]);
        (user, self.apps[((h >> 24) % APPS as u64) as usize])
    }

    /// Issued one `step` apart, the newest just now; ten-hour tokens, so the older half has
    /// expired; the newer half is kept live for at least two more hours (the run's length).
    fn times(&self, i: i64) -> (i64, i64) {
        let created = self.now - (self.n - i + 1) * self.step;
        let natural = created + 10 * HOUR;
        let expires = if i <= self.n / 2 {
            natural.min(self.now - 60 * SECOND)
        } else {
            natural.max(self.now + 2 * HOUR)
        };
        (created, expires)
    }
}

fn timed<T>(what: &str, rows: i64, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed().as_secs_f64();
    if rows > 0 {
        println!(
            "  {what:<34} {rows:>9} rows  {took:>7.2} s  ({:>9.0} rows/s)",
            rows as f64 / took.max(1e-9)
        );
    } else {
        println!("  {what:<34} {:>9}       {took:>7.2} s", "");
    }
    out
}

fn seed(path: &Path, n: i64) -> Seeded {
    let started = Instant::now();
    let mut c = Connection::open(path).expect("open the database");
    c.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY;",
    )
    .expect("pragmas");
    let now = now_micros();
    let tx = c.transaction().expect("begin");
    let users: Vec<i64> = timed("users", USERS as i64, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth_toolkit_user (username, email, password, is_active, \
                 is_staff, date_joined) VALUES (?1, ?2, '!bench-unusable', 1, 0, ?3)",
            )
            .expect("prepare");
        (1..=USERS)
            .map(|u| {
                st.execute(params![
                    format!("user{u}"),
                    format!("user{u}@example.com"),
                    now - 30 * 24 * HOUR
                ])
                .expect("user");
                tx.last_insert_rowid()
            })
            .collect()
    });
    let apps: Vec<i64> = timed("applications", APPS as i64, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_application (client_id, user_id, redirect_uris, \
                 client_type, authorization_grant_type, client_secret, name, created, updated) \
                 VALUES (?1, ?2, 'https://app.example/cb', 'confidential', \
                 'authorization-code', '', ?3, ?4, ?4)",
            )
            .expect("prepare");
        (1..=APPS)
            .map(|a| {
                st.execute(params![
                    format!("bench-app-{a:03}"),
                    users[(a * 7) % USERS],
                    format!("Bench app {a}"),
                    now - 30 * 24 * HOUR
                ])
                .expect("application");
                tx.last_insert_rowid()
            })
            .collect()
    });
    // Twenty hours of tokens whatever the size: the older ten have expired.
    let spread = Spread {
        n,
        users,
        apps,
        now,
        step: (20 * HOUR / n.max(1)).max(1),
    };
    timed("access tokens", n, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_accesstoken (user_id, token, token_checksum, \
                 application_id, expires, scope, created, updated) \
                 VALUES (?1, '', ?2, ?3, ?4, 'read write', ?5, ?5)",
            )
            .expect("prepare");
        for i in 1..=n {
            let (user, app) = spread.owner(i);
            let (created, expires) = spread.times(i);
            st.execute(params![
                user,
                sha256_hex(&format!("bench-access-{i}")),
                app,
                expires,
                created
            ])
            .expect("access token");
        }
    });
    let (lo, hi): (i64, i64) = tx
        .query_row(
            "SELECT min(id), max(id) FROM oauth2_provider_accesstoken",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("ids");
    assert_eq!((lo, hi), (1, n), "access token ids are 1..=BENCH_ROWS");
    let refresh = n / 5;
    timed("refresh tokens", refresh, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_refreshtoken (user_id, token, token_checksum, \
                 application_id, access_token_id, revoked, created, updated) \
                 VALUES (?1, '', ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .expect("prepare");
        for j in 1..=refresh {
            // The refresh tokens of the newest access tokens; the older half revoked.
            let k = n - refresh + j;
            let (user, app) = spread.owner(k);
            let (created, _) = spread.times(k);
            let revoked = (j <= refresh / 2).then(|| (created + HOUR).min(now - SECOND));
            let access = (revoked.is_none() && user.is_some()).then_some(k);
            let user = user.unwrap_or(spread.users[(mix(j) % USERS as u64) as usize]);
            st.execute(params![
                user,
                sha256_hex(&format!("bench-refresh-{j}")),
                app,
                access,
                revoked,
                created,
                revoked.unwrap_or(created)
            ])
            .expect("refresh token");
        }
    });
    let grants = n / 10;
    timed("grants", grants, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_grant (user_id, code_checksum, application_id, \
                 expires, redirect_uri, scope, token_family, consumed, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, 'https://app.example/cb', 'read', ?5, ?6, ?7, ?7)",
            )
            .expect("prepare");
        let step = (20 * HOUR / grants.max(1)).max(1);
        for g in 1..=grants {
            let h = mix(g);
            let created = now - (grants - g + 1) * step;
            st.execute(params![
                spread.users[(h % USERS as u64) as usize],
                sha256_hex(&format!("bench-grant-{g}")),
                spread.apps[((h >> 24) % APPS as u64) as usize],
                created + 60 * SECOND,
                uuid_of(1, g),
                (g % 10 != 0).then_some(created + SECOND),
                created
            ])
            .expect("grant");
        }
    });
    let id_tokens = n / 10;
    timed("ID tokens", id_tokens, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_idtoken (user_id, application_id, jti, expires, \
                 scope, created, updated) VALUES (?1, ?2, ?3, ?4, 'openid', ?5, ?5)",
            )
            .expect("prepare");
        let step = (20 * HOUR / id_tokens.max(1)).max(1);
        for t in 1..=id_tokens {
            let h = mix(t + 7);
            let created = now - (id_tokens - t + 1) * step;
            st.execute(params![
                spread.users[(h % USERS as u64) as usize],
                spread.apps[((h >> 24) % APPS as u64) as usize],
                uuid_of(2, t),
                created + HOUR,
                created
            ])
            .expect("ID token");
        }
    });
    timed("device grants", DEVICE_GRANTS, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_devicegrant (device_code_checksum, user_code, \
                 scope, expires, status, client_id, user_id, created) \
                 VALUES (?1, ?2, 'read', ?3, ?4, ?5, ?6, ?7)",
            )
            .expect("prepare");
        let statuses = ["authorization-pending", "authorized", "denied", "expired"];
        for d in 1..=DEVICE_GRANTS {
            let h = mix(d + 11);
            let status = statuses[(d % 4) as usize];
            let created = now - (DEVICE_GRANTS - d + 1) * 60 * SECOND;
            st.execute(params![
                sha256_hex(&format!("bench-device-{d}")),
                format!("BENCH{d:05}"),
                created + 600 * SECOND,
                status,
                format!("bench-app-{:03}", (h % APPS as u64) + 1),
                (status == "authorized").then(|| spread.users[(h % USERS as u64) as usize]),
                created
            ])
            .expect("device grant");
        }
    });
    timed("commit", 0, || tx.commit().expect("commit"));
    timed("ANALYZE + checkpoint", 0, || {
        c.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("analyze")
    });
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!(
        "  seeding took {:.1} s in all; database file {:.0} MiB",
        started.elapsed().as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    // A user and an application with tokens live and expired.
    let username = "user500".to_string();
    let user_id = spread.users[499];
    let client_id = "bench-app-042".to_string();
    let app_id = spread.apps[41];
    Seeded {
        rows: n,
        middle_id: n / 2,
        username,
        user_id,
        client_id,
        app_id,
        now,
    }
}

/// One statement the store runs for a page, with the values it binds.
struct Statement {
    sql: String,
    args: Vec<Value>,
    /// A `WHERE` on something else than the id: walking a big table for it is a problem.
    filtered: bool,
}

fn stmt(sql: &str, args: Vec<Value>, filtered: bool) -> Statement {
    Statement {
        sql: sql.to_string(),
        args,
        filtered,
    }
}

/// The list statement of `pages.rs` for `table` with `conditions` (SQLite dialect; `$N` as
/// the store numbers them), its values, then the page limit.
fn list_stmt(table: &str, conditions: &[&str], mut args: Vec<Value>) -> Statement {
    let mut sql = format!("SELECT * FROM {table}");
    for (i, c) in conditions.iter().enumerate() {
        sql.push_str(if i == 0 { " WHERE " } else { " AND " });
        sql.push_str(c);
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", args.len() + 1));
    args.push(Value::Integer(PAGE_LIMIT));
    let filtered = conditions.iter().any(|c| !c.starts_with("id <"));
    Statement {
        sql,
        args,
        filtered,
    }
}

/// A state-filtered token page: ordered by expiry, which the `expires` index serves.
fn expiry_stmt(table: &str, conditions: &[&str], args: Vec<Value>) -> Statement {
    let mut st = list_stmt(table, conditions, args);
    st.sql = st
        .sql
        .replace(" ORDER BY id DESC ", " ORDER BY expires DESC, id DESC ");
    st
}

struct Page {
    label: &'static str,
    path: String,
    /// What every answer must contain.
    marker: String,
    /// The store's statements for it (the name look-ups of each row aside).
    statements: Vec<Statement>,
}

const USER_BY_NAME: &str = "SELECT * FROM oauth_toolkit_user WHERE username = $1";
const APP_BY_CLIENT_ID: &str = "SELECT * FROM oauth2_provider_application WHERE client_id = $1";
const USER_BY_ID: &str = "SELECT * FROM oauth_toolkit_user WHERE id = $1";
const APP_BY_ID: &str = "SELECT * FROM oauth2_provider_application WHERE id = $1";
const ROW: &str = "<th scope=\"row\">";

fn pages(s: &Seeded) -> Vec<Page> {
    let at = "oauth2_provider_accesstoken";
    let int = Value::Integer;
    let text = |t: &str| Value::Text(t.to_string());
    let row = || ROW.to_string();
    let base = "/admin/oauth2_provider/accesstoken/";
    vec![
        Page {
            label: "access tokens, first page",
            path: base.to_string(),
            marker: row(),
            statements: vec![list_stmt(at, &[], vec![])],
        },
        Page {
            label: "access tokens, deep page",
            path: format!("{base}?before={}", s.middle_id),
            // The first row of that page is the one just below `before`.
            marker: format!("{base}{}/change/", s.middle_id - 1),
            statements: vec![list_stmt(at, &["id < $1"], vec![int(s.middle_id)])],
        },
        Page {
            label: "access tokens, q=<username>",
            path: format!("{base}?q={}", s.username),
            marker: row(),
            statements: vec![
                stmt(USER_BY_NAME, vec![text(&s.username)], true),
                list_stmt(at, &["user_id = $1"], vec![int(s.user_id)]),
            ],
        },
        Page {
            label: "access tokens, q=<client id>",
            path: format!("{base}?q={}", s.client_id),
            marker: row(),
            statements: vec![
                stmt(USER_BY_NAME, vec![text(&s.client_id)], true),
                stmt(APP_BY_CLIENT_ID, vec![text(&s.client_id)], true),
                list_stmt(at, &["application_id = $1"], vec![int(s.app_id)]),
            ],
        },
        Page {
            label: "access tokens, live=1",
            path: format!("{base}?live=1"),
            marker: row(),
            statements: vec![expiry_stmt(at, &["expires > $1"], vec![int(s.now)])],
        },
        Page {
            label: "access tokens, live=0",
            path: format!("{base}?live=0"),
            marker: row(),
            statements: vec![expiry_stmt(at, &["expires <= $1"], vec![int(s.now)])],
        },
        Page {
            label: "access tokens, q=<username>&live=1",
            path: format!("{base}?q={}&live=1", s.username),
            marker: row(),
            statements: vec![
                stmt(USER_BY_NAME, vec![text(&s.username)], true),
                list_stmt(
                    at,
                    &["user_id = $1", "expires > $2"],
                    vec![int(s.user_id), int(s.now)],
                ),
            ],
        },
        Page {
            label: "refresh tokens",
            path: "/admin/oauth2_provider/refreshtoken/".into(),
            marker: row(),
            statements: vec![list_stmt("oauth2_provider_refreshtoken", &[], vec![])],
        },
        Page {
            label: "refresh tokens, live=1",
            path: "/admin/oauth2_provider/refreshtoken/?live=1".into(),
            marker: row(),
            statements: vec![list_stmt(
                "oauth2_provider_refreshtoken",
                &["revoked IS NULL"],
                vec![],
            )],
        },
        Page {
            label: "grants",
            path: "/admin/oauth2_provider/grant/".into(),
            marker: row(),
            statements: vec![list_stmt("oauth2_provider_grant", &[], vec![])],
        },
        Page {
            label: "ID tokens",
            path: "/admin/oauth2_provider/idtoken/".into(),
            marker: row(),
            statements: vec![list_stmt("oauth2_provider_idtoken", &[], vec![])],
        },
        Page {
            label: "applications, q=app",
            path: "/admin/oauth2_provider/application/?q=app".into(),
            marker: row(),
            statements: vec![list_stmt(
                "oauth2_provider_application",
                &["(name LIKE $1 ESCAPE '\\' OR client_id LIKE $1 ESCAPE '\\')"],
                vec![text("%app%")],
            )],
        },
        Page {
            label: "users, q=user1",
            path: "/admin/auth/user/?q=user1".into(),
            marker: row(),
            statements: vec![list_stmt(
                "oauth_toolkit_user",
                &["(username LIKE $1 ESCAPE '\\' OR email LIKE $1 ESCAPE '\\')"],
                vec![text("%user1%")],
            )],
        },
        Page {
            label: "device grants",
            path: "/admin/oauth2_provider/devicegrant/".into(),
            marker: row(),
            statements: vec![list_stmt("oauth2_provider_devicegrant", &[], vec![])],
        },
        Page {
            label: "signing keys",
            path: "/admin/oauth_toolkit/signingkey/".into(),
            marker: row(),
            statements: vec![list_stmt("oauth_toolkit_signingkey", &[], vec![])],
        },
        Page {
            label: "access token detail",
            path: format!("{base}{}/change/", s.middle_id),
            marker: format!("Access token #{}", s.middle_id),
            statements: vec![stmt(
                "SELECT * FROM oauth2_provider_accesstoken WHERE id = $1",
                vec![int(s.middle_id)],
                false,
            )],
        },
    ]
}

#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn timing(mut lat: Vec<Duration>) -> Timing {
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Timing {
        p50: pct(0.50),
        p99: pct(0.99),
        max: lat.last().copied().unwrap_or_default(),
    }
}

fn msf(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(unescape(&body[start..end]))
}

fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers().get_all("set-cookie").iter().find_map(|v| {
        let first = v.to_str().ok()?.split(';').next()?;
        let (name, value) = first.split_once('=')?;
        (name.trim() == "sessionid" && !value.is_empty()).then(|| value.to_string())
    })
}

/// Sign in through the login form; the `sessionid` cookie of the staff session.
async fn login(http: &reqwest::Client, base: &str) -> String {
    let resp = http
        .get(format!("{base}/accounts/login/"))
        .send()
        .await
        .expect("login page");
    assert_eq!(resp.status(), 200, "login page");
    let anon = session_cookie(&resp).expect("the login page sets a session cookie");
    let body = resp.text().await.expect("body");
    let csrf = hidden(&body, "csrfmiddlewaretoken").expect("a CSRF token on the login page");
    let resp = http
        .post(format!("{base}/accounts/login/"))
        .header("cookie", format!("sessionid={anon}"))
        .form(&[
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
            ("csrfmiddlewaretoken", csrf.as_str()),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 302, "login: {:?}", resp.text().await);
    let session = session_cookie(&resp).expect("a new session cookie after login");
    let resp = http
        .get(format!("{base}/admin/"))
        .header("cookie", format!("sessionid={session}"))
        .send()
        .await
        .expect("admin index");
    assert_eq!(resp.status(), 200, "the staff user gets the admin index");
    session
}

/// `WARMUP` then `reps` sequential GETs of `path`; each must be a 200 holding `marker`.
async fn measure(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    page: &Page,
    reps: usize,
) -> Result<Timing, String> {
    let url = format!("{base}{}", page.path);
    let mut lat = Vec::with_capacity(reps);
    for i in 0..WARMUP + reps {
        let start = Instant::now();
        let resp = http
            .get(&url)
            .header("cookie", cookie)
            .send()
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| format!("body: {e}"))?;
        let took = start.elapsed();
        // Outside the timing: the templates escape `/` in URLs.
        let holds = unescape(&body).contains(&page.marker);
        if status != 200 || !holds {
            let snippet: String = body.chars().take(600).collect();
            return Err(format!(
                "answer {i}: status {status}, {} `{}`: {snippet}",
                if holds { "holds" } else { "does not hold" },
                page.marker
            ));
        }
        if i >= WARMUP {
            lat.push(took);
        }
    }
    Ok(timing(lat))
}

fn bind(st: &mut rusqlite::Statement<'_>, args: &[Value]) {
    for (i, a) in args.iter().enumerate() {
        st.raw_bind_parameter(i + 1, a).expect("bind");
    }
}

/// The bare statement: prepared once, stepped `WARMUP + reps` times, every column read.
fn bare(c: &Connection, s: &Statement, reps: usize) -> (Timing, usize) {
    let mut st = c.prepare(&s.sql).expect("prepare");
    let columns = st.column_count();
    let mut lat = Vec::with_capacity(reps);
    let mut rows = 0usize;
    let mut bytes = 0usize;
    for i in 0..WARMUP + reps {
        let start = Instant::now();
        bind(&mut st, &s.args);
        let mut r = st.raw_query();
        rows = 0;
        while let Some(row) = r.next().expect("step") {
            rows += 1;
            for col in 0..columns {
                bytes += match row.get_ref(col).expect("column") {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        t.len()
                    }
                    _ => 8,
                };
            }
        }
        drop(r);
        if i >= WARMUP {
            lat.push(start.elapsed());
        }
    }
    std::hint::black_box(bytes);
    (timing(lat), rows)
}

/// `EXPLAIN QUERY PLAN` of `s`: the plan's lines (with a note on each `SCAN`) and what in it
/// is a problem.
fn plan(c: &Connection, s: &Statement) -> (Vec<String>, Vec<String>) {
    let mut st = c
        .prepare(&format!("EXPLAIN QUERY PLAN {}", s.sql))
        .expect("explain");
    bind(&mut st, &s.args);
    let mut rows = st.raw_query();
    let mut lines = Vec::new();
    let mut depth: Vec<(i64, usize)> = Vec::new();
    while let Some(r) = rows.next().expect("plan row") {
        let (id, parent, detail): (i64, i64, String) = (
            r.get(0).expect("id"),
            r.get(1).expect("parent"),
            r.get(3).expect("detail"),
        );
        let level = depth
            .iter()
            .find(|(i, _)| *i == parent)
            .map(|(_, l)| l + 1)
            .unwrap_or(0);
        depth.push((id, level));
        lines.push(format!("{}{detail}", "  ".repeat(level)));
    }
    let mut problems = Vec::new();
    for l in &mut lines {
        let d = l.trim_start().to_string();
        let big = BIG_TABLES
            .iter()
            .any(|t| d.split_whitespace().nth(1) == Some(*t));
        if d.starts_with("SCAN ") {
            if !s.filtered {
                l.push_str(
                    "   (no filter: walks the primary key from the newest row, stops at the LIMIT)",
                );
            } else if big {
                problems.push(format!(
                    "SCAN of a big table under a filter (reads every row until LIMIT rows match): `{d}`"
                ));
            } else {
                l.push_str("   (a small table: not flagged)");
            }
        }
        if d.contains("TEMP B-TREE") {
            problems.push(format!("sorts every matching row: `{d}`"));
        }
    }
    (lines, problems)
}

fn main() {
    let n: i64 = env_or("BENCH_ROWS", 1_000_000);
    let reps: usize = env_or("BENCH_REQUESTS", 200).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (dir, url) = oauth_toolkit_testing::fresh_sqlite_url();
    let path = dir.path().join("db.sqlite3");
    println!(
        "admin pages benchmark: SQLite, {n} access tokens, {reps} requests per page after \
         {WARMUP} warm-up, one keep-alive connection; target p99 < {} ms",
        TARGET.as_millis()
    );

    // 1. Seeding.
    println!("seeding {}", path.display());
    let cli_start = Instant::now();
    let mut c = provider_cmd(&url, dir.path());
    c.arg("migrate");
    run_ok(c);
    let mut c = provider_cmd(&url, dir.path());
    c.args(["createuser", ADMIN, "--password-stdin", "--staff"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("createuser");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())
        .expect("password");
    let out = child.wait_with_output().expect("createuser");
    assert!(
        out.status.success(),
        "createuser: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = provider_cmd(&url, dir.path());
    c.args(["createsigningkey", "--json"]);
    run_ok(c);
    println!(
        "  {:<34} {:>9}       {:>7.2} s",
        "CLI: migrate, createuser, key",
        "",
        cli_start.elapsed().as_secs_f64()
    );
    let seeded = seed(&path, n);
    let pages = pages(&seeded);

    // 2. The pages, on the release server.
    let mut cmd = provider_cmd(&url, dir.path());
    cmd.args(["serve", "--bind", "127.0.0.1:0"]);
    let (server, base) = spawn_listening(cmd);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");
    let results: Vec<Result<Timing, String>> = rt.block_on(async {
        let cookie = format!("sessionid={}", login(&http, &base).await);
        let mut out = Vec::new();
        for p in &pages {
            out.push(measure(&http, &base, &cookie, p, reps).await);
        }
        out
    });
    drop(server);

    // 3 and 4: bare statements and plans on a read-only connection to the same file.
    let ro = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("read-only connection");
    let plans: Vec<Vec<(Vec<String>, Vec<String>)>> = pages
        .iter()
        .map(|p| p.statements.iter().map(|s| plan(&ro, s)).collect())
        .collect();

    println!();
    println!(
        "| {:<34} | {:<58} | {:>9} | {:>9} | {:>9} | {:<6} | {:<5} |",
        "page", "path", "p50 ms", "p99 ms", "max ms", "<200ms", "plan"
    );
    println!(
        "|{:-<36}|{:-<60}|{:->11}|{:->11}|{:->11}|{:-<8}|{:-<7}|",
        "", "", "", "", "", "", ""
    );
    let mut failed = Vec::new();
    for ((p, r), pl) in pages.iter().zip(&results).zip(&plans) {
        let plan_ok = pl.iter().all(|(_, problems)| problems.is_empty());
        match r {
            Ok(t) => {
                let pass = t.p99 < TARGET;
                if !pass {
                    failed.push(p.label);
                }
                println!(
                    "| {:<34} | {:<58} | {:>9} | {:>9} | {:>9} | {:<6} | {:<5} |",
                    p.label,
                    p.path,
                    msf(t.p50),
                    msf(t.p99),
                    msf(t.max),
                    if pass { "PASS" } else { "FAIL" },
                    if plan_ok { "ok" } else { "FLAG" },
                );
            }
            Err(e) => {
                failed.push(p.label);
                println!(
                    "| {:<34} | {:<58} | {:>9} | {:>9} | {:>9} | {:<6} | {:<5} |",
                    p.label,
                    p.path,
                    "-",
                    "-",
                    "-",
                    "ERROR",
                    if plan_ok { "ok" } else { "FLAG" },
                );
                println!("    {e}");
            }
        }
    }

    // 3. Baseline.
    println!();
    println!(
        "baseline: the bare statement through rusqlite (read-only connection, prepared once, \
         every column read), {reps} runs after {WARMUP}"
    );
    println!(
        "| {:<34} | {:<86} | {:>4} | {:>9} | {:>9} | {:>11} | {:>11} |",
        "page", "bare statement", "rows", "p50 ms", "p99 ms", "p50 ours÷", "p99 ours÷"
    );
    println!(
        "|{:-<36}|{:-<88}|{:->6}|{:->11}|{:->11}|{:->13}|{:->13}|",
        "", "", "", "", "", "", ""
    );
    let at = "oauth2_provider_accesstoken";
    let baselines = [
        (0usize, list_stmt(at, &[], vec![])),
        (
            1,
            list_stmt(at, &["id < $1"], vec![Value::Integer(seeded.middle_id)]),
        ),
        (
            2,
            list_stmt(at, &["user_id = $1"], vec![Value::Integer(seeded.user_id)]),
        ),
    ];
    for (i, s) in &baselines {
        let (b, rows) = bare(&ro, s, reps);
        let ratio = |ours: Duration, bare: Duration| match results[*i] {
            Ok(_) => format!("{:.1}", ours.as_secs_f64() / bare.as_secs_f64().max(1e-9)),
            Err(_) => "-".into(),
        };
        let ours = results[*i].clone().unwrap_or_default();
        println!(
            "| {:<34} | {:<86} | {:>4} | {:>9} | {:>9} | {:>11} | {:>11} |",
            pages[*i].label,
            s.sql,
            rows,
            msf(b.p50),
            msf(b.p99),
            ratio(ours.p50, b.p50),
            ratio(ours.p99, b.p99),
        );
    }

    // 4. Plans.
    println!();
    println!("query plans (EXPLAIN QUERY PLAN, with the values each page binds):");
    let mut flagged = 0;
    for (p, pl) in pages.iter().zip(&plans) {
        println!("- {} ({})", p.label, p.path);
        for (s, (lines, problems)) in p.statements.iter().zip(pl) {
            let args: Vec<String> = s
                .args
                .iter()
                .map(|a| match a {
                    Value::Integer(v) => v.to_string(),
                    Value::Text(t) => format!("'{t}'"),
                    other => format!("{other:?}"),
                })
                .collect();
            println!("    {}   [{}]", s.sql, args.join(", "));
            for l in lines {
                println!("      {l}");
            }
            for pr in problems {
                flagged += 1;
                println!("      !! FLAG: {pr}");
            }
        }
    }
    println!("- every list page, per distinct user and application on it (names of the rows):");
    for sql in [USER_BY_ID, APP_BY_ID] {
        let s = stmt(sql, vec![Value::Integer(seeded.user_id)], false);
        let (lines, problems) = plan(&ro, &s);
        println!("    {sql}");
        for l in lines {
            println!("      {l}");
        }
        for pr in problems {
            flagged += 1;
            println!("      !! FLAG: {pr}");
        }
    }
    drop(ro);

    println!();
    println!(
        "{} of {} pages under {} ms at p99 on {} access tokens; {} plan flag(s){}",
        pages.len() - failed.len(),
        pages.len(),
        TARGET.as_millis(),
        seeded.rows,
        flagged,
        if failed.is_empty() {
            String::new()
        } else {
            format!("; missed: {}", failed.join(", "))
        }
    );
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(errors.is_empty(), "some pages did not answer as expected");
    drop(dir);
}
