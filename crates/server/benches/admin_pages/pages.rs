//! The admin pages measured (with the statements the store runs for each) and the HTTP
//! side: signing in and timing the GETs.

use std::time::Instant;

use rusqlite::types::Value;

use crate::seed::Seeded;
use crate::{timing, Timing, ADMIN, ADMIN_PASSWORD, WARMUP};

/// The admin asks the store for a page of 50 plus one (to know there is a next page).
const PAGE_LIMIT: i64 = 51;

/// One statement the store runs for a page, with the values it binds.
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) args: Vec<Value>,
    /// A `WHERE` on something else than the id: walking a big table for it is a problem.
    pub(crate) filtered: bool,
}

pub(crate) fn stmt(sql: &str, args: Vec<Value>, filtered: bool) -> Statement {
    Statement {
        sql: sql.to_string(),
        args,
        filtered,
    }
}

/// The list statement of `pages.rs` for `table` with `conditions` (SQLite dialect; `$N` as
/// the store numbers them), its values, then the page limit.
pub(crate) fn list_stmt(table: &str, conditions: &[&str], mut args: Vec<Value>) -> Statement {
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

pub(crate) struct Page {
    pub(crate) label: &'static str,
    pub(crate) path: String,
    /// What every answer must contain.
    pub(crate) marker: String,
    /// The store's statements for it (the name look-ups of each row aside).
    pub(crate) statements: Vec<Statement>,
}

const USER_BY_NAME: &str = "SELECT * FROM oauth_toolkit_user WHERE username = $1";
const APP_BY_CLIENT_ID: &str = "SELECT * FROM oauth2_provider_application WHERE client_id = $1";
pub(crate) const USER_BY_ID: &str = "SELECT * FROM oauth_toolkit_user WHERE id = $1";
pub(crate) const APP_BY_ID: &str = "SELECT * FROM oauth2_provider_application WHERE id = $1";
const ROW: &str = "<th scope=\"row\">";

pub(crate) fn pages(s: &Seeded) -> Vec<Page> {
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
pub(crate) async fn login(http: &reqwest::Client, base: &str) -> String {
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
pub(crate) async fn measure(
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
