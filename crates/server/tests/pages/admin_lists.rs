//! The admin's lists come in keyset pages of 50 (newest first, `before=<id>`), and their
//! search and filters select rows.

use oauth_toolkit_core::models::NewAccessToken;
use oauth_toolkit_core::token_checksum::token_checksum;
use time::{Duration, OffsetDateTime};

use crate::common::http_browser::{unescape, Browser, Page};
use crate::common::*;
use crate::support::*;

const LIST: &str = "/admin/oauth2_provider/accesstoken/";

/// The cells (text, tags stripped) of each row of the page's table.
fn rows(p: &Page) -> Vec<Vec<String>> {
    let Some(start) = p.body.find("<tbody>") else {
        return Vec::new();
    };
    let end = p.body[start..].find("</tbody>").unwrap() + start;
    p.body[start..end]
        .split("<tr>")
        .skip(1)
        .map(|row| {
            let mut cells = Vec::new();
            let mut rest = row;
            while let Some(i) = rest.find(['<']) {
                let is_cell = rest[i..].starts_with("<td") || rest[i..].starts_with("<th");
                let close = rest[i..].find('>').unwrap() + i + 1;
                if !is_cell {
                    rest = &rest[close..];
                    continue;
                }
                let tag = &rest[i + 1..i + 3];
                let stop = rest[close..].find(&format!("</{tag}>")).unwrap() + close;
                let mut inner = String::new();
                let mut in_tag = false;
                for c in rest[close..stop].chars() {
                    match c {
                        '<' => in_tag = true,
                        '>' => in_tag = false,
                        c if !in_tag => inner.push(c),
                        _ => {}
                    }
                }
                cells.push(unescape(inner.trim()));
                rest = &rest[stop..];
            }
            cells
        })
        .collect()
}

fn next_link(p: &Page) -> Option<String> {
    let i = p.body.find("rel=\"next\"")?;
    let start = p.body[..i].rfind("href=\"")? + 6;
    let end = p.body[start..].find('"')? + start;
    Some(unescape(&p.body[start..end]))
}

/// Every row from `url` on, following "Next page": the pages' row ids in order.
async fn walk(staff: &Browser, url: &str) -> Vec<Vec<Vec<String>>> {
    let mut pages = Vec::new();
    let mut url = Some(url.to_string());
    while let Some(u) = url {
        let p = staff.get(&u).await;
        assert_eq!(p.status, 200, "{u}: {}", p.body);
        let r = rows(&p);
        url = next_link(&p);
        if let Some(next) = &url {
            assert_eq!(r.len(), 50, "{u}: a page with a next link is full");
            let last = &r[49][0];
            let q = query_pairs(next.split_once('?').unwrap().1);
            assert!(
                q.contains(&("before".into(), last.clone())),
                "{next} after {last}"
            );
            // The filters are kept (the position, `before` and `before_expires`, moves on).
            for (k, v) in query_pairs(u.split_once('?').map(|x| x.1).unwrap_or("")) {
                if k != "before" && k != "before_expires" {
                    assert!(q.contains(&(k.clone(), v.clone())), "{next} lost {k}={v}");
                }
            }
        }
        pages.push(r);
        assert!(pages.len() < 10, "no end to the pages");
    }
    pages
}

fn ids(pages: &[Vec<Vec<String>>]) -> Vec<i64> {
    pages
        .iter()
        .flatten()
        .map(|r| r[0].parse().unwrap())
        .collect()
}

pub(crate) async fn admin_lists_come_in_keyset_pages(env: Env) {
    for (name, staff) in [("root", true), ("kim", false), ("lee", false)] {
        user(&env, name, staff);
    }
    let (client_id, _) = env.create_app("confidential", "password", &["--name", "Batch"]);
    let server = Server::start(&env, &[]);
    let store = env.db().await.store();
    let app = app_of(&env, &client_id).await.unwrap().id;
    let (kim, lee) = (user_id(&env, "kim").await, user_id(&env, "lee").await);
    let now = OffsetDateTime::now_utc();
    // 120 tokens: lee's every 12th, and the first 30 of kim's expired.
    let mut made: Vec<(i64, &str, bool)> = Vec::new();
    let mut kim_expired = 0;
    for i in 0..120 {
        let is_lee = i % 12 == 5;
        let expired = !is_lee && kim_expired < 30;
        kim_expired += usize::from(expired);
        let plain = format!("bulk-token-{i}-{}", uuid::Uuid::new_v4());
        let t = store
            .create_access_token(
                NewAccessToken {
                    resource: String::new(),
                    user_id: Some(if is_lee { lee } else { kim }),
                    source_refresh_token_id: None,
                    token: String::new(),
                    token_checksum: token_checksum(&plain),
                    id_token_id: None,
                    application_id: Some(app),
                    expires: now + Duration::hours(if expired { -1 } else { 1 }),
                    scope: "read".into(),
                    token_family: None,
                },
                now,
            )
            .await
            .unwrap();
        made.push((t.id, if is_lee { "lee" } else { "kim" }, expired));
    }
    let mut all: Vec<i64> = made.iter().map(|m| m.0).collect();
    all.sort_unstable_by(|a, b| b.cmp(a));
    let staff = signed_in(&server, "root").await;

    let pages = walk(&staff, LIST).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![50, 50, 20]
    );
    assert_eq!(
        ids(&pages),
        all,
        "newest first, no row twice, none left out"
    );
    let first = staff.get(LIST).await;
    assert!(first.body.contains("Next page"));
    assert!(next_link(&first).unwrap().contains("before="));
    let last = staff.get(&format!("{LIST}?before={}", all[99])).await;
    assert!(next_link(&last).is_none() && !last.body.contains("Next page"));
    assert_eq!(rows(&last).len(), 20);

    let expect = |f: &dyn Fn(&(i64, &str, bool)) -> bool| {
        let mut v: Vec<i64> = made.iter().filter(|m| f(m)).map(|m| m.0).collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    };
    let cases: Vec<(String, Vec<i64>)> = vec![
        ("q=lee".into(), expect(&|m| m.1 == "lee")),
        ("q=kim".into(), expect(&|m| m.1 == "kim")),
        ("live=0".into(), expect(&|m| m.2)),
        ("live=1".into(), expect(&|m| !m.2)),
        ("q=kim&live=1".into(), expect(&|m| m.1 == "kim" && !m.2)),
        (format!("q={client_id}&live=0"), expect(&|m| m.2)),
    ];
    for (q, expected) in cases {
        let pages = walk(&staff, &format!("{LIST}?{q}")).await;
        assert_eq!(ids(&pages), expected, "{q}");
        for row in pages.iter().flatten() {
            if q.contains("q=lee") {
                assert_eq!(row[2], "lee", "{q}: {row:?}");
            }
            if q.contains("q=kim") {
                assert_eq!(row[2], "kim", "{q}: {row:?}");
            }
            if q.contains("live=0") {
                assert!(row[5].contains("(expired)"), "{q}: {row:?}");
            }
            if q.contains("live=1") {
                assert!(!row[5].contains("(expired)"), "{q}: {row:?}");
            }
        }
    }
    // A search for nobody finds nothing.
    let p = staff.get(&format!("{LIST}?q=nobody-at-all")).await;
    assert_eq!(p.status, 200);
    assert!(
        rows(&p).is_empty() && p.body.contains("No access tokens match."),
        "{}",
        p.body
    );
}
