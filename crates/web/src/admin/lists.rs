//! The admin's lists (search, filters, keyset pages) and detail pages.

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{context, Value};
use oauth_toolkit_core::models::{ClientType, GrantType, Id};
use oauth_toolkit_core::params::Params;
use oauth_toolkit_core::store::{AdminQuery, StoreError};
use time::OffsetDateTime;

use super::{admin_store, page, short, staff, unavailable, Kind};
use crate::form::parse_urlencoded;
use crate::pages::show_time;
use crate::Provider;

/// Rows per page.
const PAGE: u32 = 50;

/// Usernames and application names by id, read once per page.
#[derive(Default)]
pub(crate) struct Names {
    users: HashMap<Id, String>,
    apps: HashMap<Id, String>,
}

impl Names {
    pub(crate) async fn user(&mut self, state: &Provider, id: Option<Id>) -> String {
        let Some(id) = id else {
            return "—".into();
        };
        if let Some(n) = self.users.get(&id) {
            return n.clone();
        }
        let n = match state.store.get_user(id).await {
            Ok(Some(u)) => u.username,
            _ => format!("#{id}"),
        };
        self.users.insert(id, n.clone());
        n
    }

    pub(crate) async fn app(&mut self, state: &Provider, id: Option<Id>) -> String {
        let Some(id) = id else {
            return "—".into();
        };
        if let Some(n) = self.apps.get(&id) {
            return n.clone();
        }
        let n = match state.store.get_application(id).await {
            Ok(Some(a)) => format!("{} ({})", a.display_name(), a.client_id),
            _ => format!("#{id}"),
        };
        self.apps.insert(id, n.clone());
        n
    }
}

pub(crate) fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

pub(crate) fn expiry(expires: OffsetDateTime, now: OffsetDateTime) -> String {
    let shown = show_time(expires);
    if expires <= now {
        format!("{shown} (expired)")
    } else {
        shown
    }
}

fn first<'a>(params: &'a Params, name: &str) -> &'a str {
    params.all(name).first().copied().unwrap_or("").trim()
}

fn flag(params: &Params, name: &str) -> Option<bool> {
    match first(params, name) {
        "1" | "yes" | "true" => Some(true),
        "0" | "no" | "false" => Some(false),
        _ => None,
    }
}

fn option(value: &str, label: &str, current: &str) -> Value {
    context! { value => value, label => label, selected => value == current }
}

fn yes_no_filter(params: &Params, name: &str, label: &str, yes: &str, no: &str) -> Value {
    let current = match flag(params, name) {
        Some(true) => "1",
        Some(false) => "0",
        None => "",
    };
    context! {
        name => name,
        label => label,
        options => vec![option("", "All", current), option("1", yes, current), option("0", no, current)],
    }
}

/// What the page was asked for, and the URL of the same list from another row on.
struct Request_ {
    params: Params,
    query: AdminQuery,
    /// No row can match (a search for a user or client id that does not exist).
    nothing: bool,
}

/// Read the list's query string into an [`AdminQuery`]. A token list's search is a
/// username or a client id, resolved to an id (the token tables are searched by index).
async fn read_query(state: &Provider, kind: Kind, raw: &str) -> Result<Request_, StoreError> {
    let params = parse_urlencoded(raw.as_bytes());
    let mut q = AdminQuery {
        limit: PAGE + 1,
        now: Some(state.clock.now()),
        before_id: first(&params, "before").parse().ok(),
        before_expires: first(&params, "before_expires")
            .parse::<i128>()
            .ok()
            .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok()),
        user_id: first(&params, "user").parse().ok(),
        application_id: first(&params, "application").parse().ok(),
        ..AdminQuery::default()
    };
    let mut nothing = false;
    let text = first(&params, "q").to_string();
    match kind {
        Kind::Application => {
            q.text = (!text.is_empty()).then_some(text);
            q.client_type = first(&params, "client_type").parse::<ClientType>().ok();
            q.grant_type = first(&params, "grant_type").parse::<GrantType>().ok();
        }
        Kind::User => {
            q.text = (!text.is_empty()).then_some(text);
            q.live = flag(&params, "active");
            q.staff = flag(&params, "staff");
        }
        Kind::SigningKey => {}
        _ => {
            q.live = flag(&params, "live");
            if !text.is_empty() {
                if let Some(u) = state.store.find_user_by_username(&text).await? {
                    q.user_id = Some(u.id);
                } else if let Some(a) = state.store.find_application_by_client_id(&text).await? {
                    q.application_id = Some(a.id);
                } else {
                    nothing = true;
                }
            }
        }
    }
    Ok(Request_ {
        params,
        query: q,
        nothing,
    })
}

/// The list's URL with the same filters, from `before` on (or from the top).
fn url_with(kind: Kind, params: &Params, before: Option<Cursor>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for name in [
        "q",
        "live",
        "active",
        "staff",
        "client_type",
        "grant_type",
        "user",
        "application",
    ] {
        let v = first(params, name);
        if !v.is_empty() {
            s.append_pair(name, v);
        }
    }
    if let Some((id, expires)) = before {
        s.append_pair("before", &id.to_string());
        if let Some(e) = expires {
            s.append_pair("before_expires", &e.unix_timestamp_nanos().to_string());
        }
    }
    let query = s.finish();
    if query.is_empty() {
        kind.list_url()
    } else {
        format!("{}?{query}", kind.list_url())
    }
}

fn filters(kind: Kind, params: &Params) -> Vec<Value> {
    match kind {
        Kind::Application => {
            let ct = first(params, "client_type");
            let gt = first(params, "grant_type");
            let mut types = vec![option("", "All", ct)];
            types.extend(
                [ClientType::Confidential, ClientType::Public]
                    .map(|t| option(t.as_str(), t.as_str(), ct)),
            );
            let mut grants = vec![option("", "All", gt)];
            grants.extend(GrantType::ALL.map(|g| option(g.as_str(), g.as_str(), gt)));
            vec![
                context! { name => "client_type", label => "Client type", options => types },
                context! { name => "grant_type", label => "Grant type", options => grants },
            ]
        }
        Kind::User => vec![
            yes_no_filter(params, "active", "Active", "Active", "Inactive"),
            yes_no_filter(params, "staff", "Staff", "Staff", "Not staff"),
        ],
        Kind::SigningKey => Vec::new(),
        Kind::RefreshToken => vec![yes_no_filter(params, "live", "State", "Live", "Revoked")],
        Kind::Grant => vec![yes_no_filter(
            params,
            "live",
            "State",
            "Usable",
            "Used or expired",
        )],
        _ => vec![yes_no_filter(params, "live", "State", "Live", "Expired")],
    }
}

fn columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Application => &[
            "Id",
            "Name",
            "Client id",
            "User",
            "Client type",
            "Grant type",
        ],
        Kind::User => &["Id", "Username", "Email", "Active", "Staff", "Last login"],
        Kind::AccessToken => &["Id", "Checksum", "User", "Application", "Scope", "Expires"],
        Kind::RefreshToken => &[
            "Id",
            "Checksum",
            "User",
            "Application",
            "Access token",
            "Revoked",
        ],
        Kind::Grant => &[
            "Id",
            "Checksum",
            "User",
            "Application",
            "Scope",
            "Expires",
            "Used",
        ],
        Kind::IdToken => &["Id", "JWT id", "User", "Application", "Scope", "Expires"],
        Kind::DeviceGrant => &["Id", "Checksum", "Client id", "User", "Status", "Expires"],
        Kind::SigningKey => &["Id", "Key id", "Algorithm", "Created"],
    }
}

/// Where a row sits in its list: its id, and its expiry when the list is ordered by it.
type Cursor = (Id, Option<OffsetDateTime>);

/// One page of rows as (cursor, cells).
async fn rows(
    state: &Provider,
    kind: Kind,
    q: &AdminQuery,
) -> Result<Vec<(Cursor, Vec<String>)>, Response> {
    let store = admin_store(state)?;
    let now = state.clock.now();
    let mut names = Names::default();
    let mut out = Vec::new();
    let fail = |e| unavailable(state, e);
    match kind {
        Kind::Application => {
            for a in store.admin_applications(q).await.map_err(fail)? {
                let user = names.user(state, a.user_id).await;
                out.push((
                    (a.id, None),
                    vec![
                        a.display_name().to_string(),
                        a.client_id,
                        user,
                        a.client_type.to_string(),
                        a.authorization_grant_type.to_string(),
                    ],
                ));
            }
        }
        Kind::User => {
            for u in store.admin_users(q).await.map_err(fail)? {
                let last = u
                    .last_login
                    .map(show_time)
                    .unwrap_or_else(|| "never".into());
                out.push((
                    (u.id, None),
                    vec![
                        u.username,
                        u.email,
                        yes_no(u.is_active),
                        yes_no(u.is_staff),
                        last,
                    ],
                ));
            }
        }
        Kind::AccessToken => {
            for t in store.admin_access_tokens(q).await.map_err(fail)? {
                let user = names.user(state, t.user_id).await;
                let app = names.app(state, t.application_id).await;
                out.push((
                    (t.id, Some(t.expires)),
                    vec![
                        short(&t.token_checksum),
                        user,
                        app,
                        t.scope,
                        expiry(t.expires, now),
                    ],
                ));
            }
        }
        Kind::RefreshToken => {
            for t in store.admin_refresh_tokens(q).await.map_err(fail)? {
                let user = names.user(state, Some(t.user_id)).await;
                let app = names.app(state, Some(t.application_id)).await;
                let at = t
                    .access_token_id
                    .map(|i| format!("#{i}"))
                    .unwrap_or_else(|| "—".into());
                let revoked = t.revoked.map(show_time).unwrap_or_else(|| "no".into());
                out.push((
                    (t.id, None),
                    vec![short(&t.token_checksum), user, app, at, revoked],
                ));
            }
        }
        Kind::Grant => {
            for g in store.admin_grants(q).await.map_err(fail)? {
                let user = names.user(state, Some(g.user_id)).await;
                let app = names.app(state, Some(g.application_id)).await;
                let used = g.consumed.map(show_time).unwrap_or_else(|| "no".into());
                out.push((
                    (g.id, None),
                    vec![
                        short(&g.code_checksum),
                        user,
                        app,
                        g.scope,
                        expiry(g.expires, now),
                        used,
                    ],
                ));
            }
        }
        Kind::IdToken => {
            for t in store.admin_id_tokens(q).await.map_err(fail)? {
                let user = names.user(state, t.user_id).await;
                let app = names.app(state, t.application_id).await;
                out.push((
                    (t.id, Some(t.expires)),
                    vec![
                        t.jti.to_string(),
                        user,
                        app,
                        t.scope,
                        expiry(t.expires, now),
                    ],
                ));
            }
        }
        Kind::DeviceGrant => {
            for d in store.admin_device_grants(q).await.map_err(fail)? {
                let user = names.user(state, d.user_id).await;
                out.push((
                    (d.id, None),
                    vec![
                        short(&d.device_code_checksum),
                        d.client_id,
                        user,
                        d.status.to_string(),
                        expiry(d.expires, now),
                    ],
                ));
            }
        }
        Kind::SigningKey => {
            for k in store.admin_signing_keys(q).await.map_err(fail)? {
                out.push(((k.id, None), vec![k.kid, k.algorithm, show_time(k.created)]));
            }
        }
    }
    Ok(out)
}

fn search_box(kind: Kind, params: &Params) -> Option<Value> {
    let (label, placeholder) = match kind {
        Kind::Application => ("Search", "name or client id"),
        Kind::User => ("Search", "username or email"),
        Kind::SigningKey => return None,
        _ => ("Username or client id", "exact username or client id"),
    };
    Some(
        context! { name => "q", value => first(params, "q"), label => label, placeholder => placeholder },
    )
}

/// `GET /admin/<model>/`.
pub(crate) async fn list(State(state): State<Provider>, kind: Kind, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(staff(&state, &parts).await);
    let req = match read_query(&state, kind, parts.uri.query().unwrap_or("")).await {
        Ok(r) => r,
        Err(e) => return unavailable(&state, e),
    };
    let mut found = if req.nothing {
        Vec::new()
    } else {
        match rows(&state, kind, &req.query).await {
            Ok(r) => r,
            Err(resp) => return resp,
        }
    };
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let next_url = more.then(|| url_with(kind, &req.params, found.last().map(|(c, _)| *c)));
    let first_url = req
        .query
        .before_id
        .map(|_| url_with(kind, &req.params, None));
    let rows: Vec<Value> = found
        .into_iter()
        .map(|((id, _), cells)| {
            let mut all = vec![id.to_string()];
            all.extend(cells);
            context! { url => kind.row_url(id), cells => all }
        })
        .collect();
    let mut actions_ = Vec::new();
    if let Some(add) = super::forms::add_url(kind) {
        actions_.push(context! { label => format!("Add {}", kind.singular()), url => add });
    }
    let ctx = context! {
        heading => kind.plural(),
        search => search_box(kind, &req.params),
        filters => filters(kind, &req.params),
        columns => columns(kind),
        rows => rows,
        next_url => next_url,
        first_url => first_url,
        actions => actions_,
        empty_message => format!("No {} match.", kind.plural().to_lowercase()),
        back_url => super::ADMIN_PATH,
    };
    page(
        &state,
        &account,
        "oauth_toolkit/admin/list.html",
        ctx,
        StatusCode::OK,
    )
}
