//! The statement of one admin page, from the filters that are set.

use oauth_toolkit_core::store::{AdminQuery, ADMIN_PAGE_MAX};
use time::OffsetDateTime;

use crate::error::unstorable;
use crate::time_codec::to_db;

/// Page length when the query asks for none (`limit: 0`).
pub(crate) const ADMIN_PAGE_DEFAULT: u32 = 50;

/// The lists of the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AdminList {
    Applications,
    Users,
    AccessTokens,
    RefreshTokens,
    Grants,
    IdTokens,
    DeviceGrants,
    SigningKeys,
}

impl AdminList {
    fn table(self) -> &'static str {
        match self {
            AdminList::Applications => "oauth2_provider_application",
            AdminList::Users => "oauth_toolkit_user",
            AdminList::AccessTokens => "oauth2_provider_accesstoken",
            AdminList::RefreshTokens => "oauth2_provider_refreshtoken",
            AdminList::Grants => "oauth2_provider_grant",
            AdminList::IdTokens => "oauth2_provider_idtoken",
            AdminList::DeviceGrants => "oauth2_provider_devicegrant",
            AdminList::SigningKeys => "oauth_toolkit_signingkey",
        }
    }
}

/// What the text search is written with: SQLite's `LIKE` ignores the case of ASCII letters
/// already; PostgreSQL's needs `ILIKE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// One bound value of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    Bool(bool),
}

/// A page's statement and its values, `$1` first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) sql: String,
    pub(crate) args: Vec<Arg>,
}

/// The page length asked for, within 1..=[`ADMIN_PAGE_MAX`]; 0 is the default.
pub(crate) fn page_limit(limit: u32) -> u32 {
    match limit {
        0 => ADMIN_PAGE_DEFAULT,
        n => n.min(ADMIN_PAGE_MAX),
    }
}

/// `%text%` for `LIKE … ESCAPE '\'`, with `%`, `_` and `\` in the text matching themselves.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

struct Builder {
    sql: String,
    args: Vec<Arg>,
    conditions: usize,
}

impl Builder {
    /// `$N` for a new value.
    fn arg(&mut self, value: Arg) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    fn condition(&mut self, text: &str) {
        self.sql.push_str(if self.conditions == 0 {
            " WHERE "
        } else {
            " AND "
        });
        self.sql.push_str(text);
        self.conditions += 1;
    }

    /// `column = $N`.
    fn equals(&mut self, column: &str, value: Arg) {
        let p = self.arg(value);
        self.condition(&format!("{column} = {p}"));
    }
}

/// The statement of one page of `list`, or `None` when no row can match (a search for text
/// with a NUL byte, which no row holds and PostgreSQL would refuse).
pub(crate) fn admin_page(list: AdminList, q: &AdminQuery, dialect: Dialect) -> Option<Page> {
    let mut b = Builder {
        sql: format!("SELECT * FROM {}", list.table()),
        args: Vec::new(),
        conditions: 0,
    };
    let now = || Arg::Int(to_db(q.now.unwrap_or_else(OffsetDateTime::now_utc)));
    let like = match dialect {
        Dialect::Sqlite => "LIKE",
        Dialect::Postgres => "ILIKE",
    };
    let text = |b: &mut Builder, [c1, c2]: [&str; 2]| -> Option<()> {
        match q.text.as_deref() {
            None | Some("") => {}
            Some(t) if unstorable(t) => return None,
            Some(t) => {
                let p = b.arg(Arg::Text(like_pattern(t)));
                b.condition(&format!(
                    "({c1} {like} {p} ESCAPE '\\' OR {c2} {like} {p} ESCAPE '\\')"
                ));
            }
        }
        Some(())
    };
    if let Some(id) = q.user_id {
        match list {
            AdminList::SigningKeys => {}
            // The users list: that user (applications: those it owns).
            AdminList::Users => b.equals("id", Arg::Int(id)),
            _ => b.equals("user_id", Arg::Int(id)),
        }
    }
    if let Some(id) = q.application_id {
        match list {
            AdminList::Users | AdminList::SigningKeys => {}
            // The applications list: that application.
            AdminList::Applications => b.equals("id", Arg::Int(id)),
            AdminList::DeviceGrants => {
                let p = b.arg(Arg::Int(id));
                b.condition(&format!(
                    "client_id = (SELECT client_id FROM oauth2_provider_application \
                     WHERE id = {p})"
                ));
            }
            _ => b.equals("application_id", Arg::Int(id)),
        }
    }
    match list {
        AdminList::Applications => {
            text(&mut b, ["name", "client_id"])?;
            if let Some(t) = q.client_type {
                b.equals("client_type", Arg::Text(t.as_str().into()));
            }
            if let Some(g) = q.grant_type {
                b.equals("authorization_grant_type", Arg::Text(g.as_str().into()));
            }
        }
        AdminList::Users => {
            text(&mut b, ["username", "email"])?;
            if let Some(live) = q.live {
                b.equals("is_active", Arg::Bool(live));
            }
            if let Some(staff) = q.staff {
                b.equals("is_staff", Arg::Bool(staff));
            }
        }
        AdminList::AccessTokens | AdminList::IdTokens => match q.live {
            Some(true) => {
                let p = b.arg(now());
                b.condition(&format!("expires > {p}"));
            }
            Some(false) => {
                let p = b.arg(now());
                b.condition(&format!("expires <= {p}"));
            }
            None => {}
        },
        AdminList::RefreshTokens => match q.live {
            Some(true) => b.condition("revoked IS NULL"),
            Some(false) => b.condition("revoked IS NOT NULL"),
            None => {}
        },
        AdminList::Grants => match q.live {
            Some(true) => {
                let p = b.arg(now());
                b.condition(&format!("consumed IS NULL AND expires > {p}"));
            }
            Some(false) => {
                let p = b.arg(now());
                b.condition(&format!("(consumed IS NOT NULL OR expires <= {p})"));
            }
            None => {}
        },
        AdminList::DeviceGrants => match q.live {
            Some(true) => {
                let p = b.arg(now());
                b.condition(&format!(
                    "status IN ('authorization-pending', 'authorized') AND expires > {p}"
                ));
            }
            Some(false) => {
                let p = b.arg(now());
                b.condition(&format!(
                    "(status NOT IN ('authorization-pending', 'authorized') \
                     OR expires <= {p})"
                ));
            }
            None => {}
        },
        AdminList::SigningKeys => {}
    }
    // By state alone, the big token lists are read along their `expires` index: ordered by
    // id, "expired" would walk every live row first. With a user or an application the
    // index of that column bounds the walk already, and id order needs no sort.
    let by_expiry = q.live.is_some()
        && q.user_id.is_none()
        && q.application_id.is_none()
        && matches!(list, AdminList::AccessTokens | AdminList::IdTokens);
    match (by_expiry, q.before_expires, q.before_id) {
        (true, Some(e), Some(before)) => {
            // `expires <= e` bounds the index range; the rest skips the rows of the same
            // expiry already shown.
            let e = b.arg(Arg::Int(to_db(e)));
            let p = b.arg(Arg::Int(before));
            b.condition(&format!("expires <= {e} AND (expires < {e} OR id < {p})"));
        }
        // Ordered by expiry, an id alone is no position: the first page.
        (true, _, _) => {}
        (false, _, Some(before)) => {
            let p = b.arg(Arg::Int(before));
            b.condition(&format!("id < {p}"));
        }
        (false, _, None) => {}
    }
    let p = b.arg(Arg::Int(i64::from(page_limit(q.limit))));
    let order = if by_expiry {
        "expires DESC, id DESC"
    } else {
        "id DESC"
    };
    b.sql.push_str(&format!(" ORDER BY {order} LIMIT {p}"));
    Some(Page {
        sql: b.sql,
        args: b.args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_wildcards_literally() {
        assert_eq!(like_pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
        assert_eq!(like_pattern(""), "%%");
    }

    #[test]
    fn conditions_only_for_the_filters_that_are_set() {
        let first = admin_page(
            AdminList::Applications,
            &AdminQuery::default(),
            Dialect::Sqlite,
        );
        assert_eq!(
            first,
            Some(Page {
                sql: "SELECT * FROM oauth2_provider_application ORDER BY id DESC LIMIT $1".into(),
                args: vec![Arg::Int(50)],
            })
        );
        let q = AdminQuery {
            user_id: Some(7),
            application_id: Some(9),
            live: Some(true),
            before_id: Some(100),
            limit: 1000,
            now: Some(OffsetDateTime::UNIX_EPOCH),
            ..AdminQuery::default()
        };
        let page = admin_page(AdminList::DeviceGrants, &q, Dialect::Postgres).unwrap();
        assert_eq!(
            page.sql,
            "SELECT * FROM oauth2_provider_devicegrant WHERE user_id = $1 AND client_id = \
             (SELECT client_id FROM oauth2_provider_application WHERE id = $2) AND \
             status IN ('authorization-pending', 'authorized') AND expires > $3 AND id < $4 \
             ORDER BY id DESC LIMIT $5"
        );
        assert_eq!(
            page.args,
            vec![
                Arg::Int(7),
                Arg::Int(9),
                Arg::Int(0),
                Arg::Int(100),
                Arg::Int(i64::from(ADMIN_PAGE_MAX))
            ]
        );
        let text = AdminQuery {
            text: Some("a\0b".into()),
            ..AdminQuery::default()
        };
        assert_eq!(admin_page(AdminList::Users, &text, Dialect::Sqlite), None);
    }
}
