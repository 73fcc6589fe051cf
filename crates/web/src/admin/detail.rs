//! The admin's page of one row: its fields (never a secret) and what can be done to it.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{context, Value};
use oauth_toolkit_core::models::Id;
use oauth_toolkit_core::store::StoreError;

use super::lists::{expiry, yes_no, Names};
use super::{actions, admin_store, not_found, page, row_id, short, staff, unavailable, Kind};
use crate::pages::show_time;
use crate::Provider;

fn field(label: &str, value: impl Into<String>) -> Value {
    context! { label => label, value => value.into() }
}

/// The fields of one row, or `None` when there is no such row.
async fn describe(state: &Provider, kind: Kind, id: Id) -> Result<Option<Vec<Value>>, StoreError> {
    let now = state.clock.now();
    let mut n = Names::default();
    let store = &state.store;
    let Some(admin) = store.admin() else {
        return Ok(None);
    };
    Ok(match kind {
        Kind::Application => match store.get_application(id).await? {
            Some(a) => Some(vec![
                field("Id", a.id.to_string()),
                field("Name", a.name.clone()),
                field("Client id", a.client_id.clone()),
                field("User", n.user(state, a.user_id).await),
                field("Client type", a.client_type.as_str()),
                field("Grant type", a.authorization_grant_type.as_str()),
                field(
                    "Client secret",
                    if a.hash_client_secret {
                        "stored hashed (not shown)"
                    } else {
                        "stored unhashed (not shown)"
                    },
                ),
                field("Redirect URIs", a.redirect_uris.clone()),
                field(
                    "Post logout redirect URIs",
                    a.post_logout_redirect_uris.clone(),
                ),
                field("Allowed origins", a.allowed_origins.clone()),
                field(
                    "Algorithm",
                    if a.algorithm.as_str().is_empty() {
                        "none"
                    } else {
                        a.algorithm.as_str()
                    },
                ),
                field("Skip authorization", yes_no(a.skip_authorization)),
                field("Created", show_time(a.created)),
                field("Updated", show_time(a.updated)),
            ]),
            None => None,
        },
        Kind::User => match store.get_user(id).await? {
            Some(u) => Some(vec![
                field("Id", u.id.to_string()),
                field("Username", u.username),
                field("Email", u.email),
                field("First name", u.first_name),
                field("Last name", u.last_name),
                field(
                    "Password",
                    if oauth_toolkit_core::password::is_usable(&u.password) {
                        "set (hash not shown)"
                    } else {
                        "unusable"
                    },
                ),
                field("Active", yes_no(u.is_active)),
                field("Staff", yes_no(u.is_staff)),
                field("Joined", show_time(u.date_joined)),
                field(
                    "Last login",
                    u.last_login
                        .map(show_time)
                        .unwrap_or_else(|| "never".into()),
                ),
            ]),
            None => None,
        },
        Kind::AccessToken => match store.get_access_token(id).await? {
            Some(t) => Some(vec![
                field("Id", t.id.to_string()),
                field("Checksum", short(&t.token_checksum)),
                field("User", n.user(state, t.user_id).await),
                field("Application", n.app(state, t.application_id).await),
                field("Scope", t.scope),
                field("Expires", expiry(t.expires, now)),
                field(
                    "ID token",
                    t.id_token_id
                        .map(|i| format!("#{i}"))
                        .unwrap_or_else(|| "—".into()),
                ),
                field(
                    "Rotated from refresh token",
                    t.source_refresh_token_id
                        .map(|i| format!("#{i}"))
                        .unwrap_or_else(|| "—".into()),
                ),
                field("Created", show_time(t.created)),
                field("Updated", show_time(t.updated)),
            ]),
            None => None,
        },
        Kind::RefreshToken => match store.get_refresh_token(id).await? {
            Some(t) => Some(vec![
                field("Id", t.id.to_string()),
                field("Checksum", short(&t.token_checksum)),
                field("User", n.user(state, Some(t.user_id)).await),
                field("Application", n.app(state, Some(t.application_id)).await),
                field(
                    "Access token",
                    t.access_token_id
                        .map(|i| format!("#{i}"))
                        .unwrap_or_else(|| "—".into()),
                ),
                field(
                    "Revoked",
                    t.revoked.map(show_time).unwrap_or_else(|| "no".into()),
                ),
                field("Created", show_time(t.created)),
            ]),
            None => None,
        },
        Kind::Grant => match admin.get_grant(id).await? {
            Some(g) => Some(vec![
                field("Id", g.id.to_string()),
                field("Checksum", short(&g.code_checksum)),
                field("User", n.user(state, Some(g.user_id)).await),
                field("Application", n.app(state, Some(g.application_id)).await),
                field("Redirect URI", g.redirect_uri),
                field("Scope", g.scope),
                field("Expires", expiry(g.expires, now)),
                field("PKCE", yes_no(!g.code_challenge.is_empty())),
                field(
                    "Used",
                    g.consumed.map(show_time).unwrap_or_else(|| "no".into()),
                ),
                field("Created", show_time(g.created)),
            ]),
            None => None,
        },
        Kind::IdToken => match store.get_id_token(id).await? {
            Some(t) => Some(vec![
                field("Id", t.id.to_string()),
                field("JWT id", t.jti.to_string()),
                field("User", n.user(state, t.user_id).await),
                field("Application", n.app(state, t.application_id).await),
                field("Scope", t.scope),
                field("Expires", expiry(t.expires, now)),
                field("Created", show_time(t.created)),
            ]),
            None => None,
        },
        Kind::DeviceGrant => match admin.get_device_grant(id).await? {
            Some(d) => Some(vec![
                field("Id", d.id.to_string()),
                field("Checksum", short(&d.device_code_checksum)),
                field("Client id", d.client_id),
                field("User", n.user(state, d.user_id).await),
                field("Status", d.status.to_string()),
                field("Scope", d.scope),
                field("Expires", expiry(d.expires, now)),
                field(
                    "Last polled",
                    d.last_checked
                        .map(show_time)
                        .unwrap_or_else(|| "never".into()),
                ),
                field("Created", show_time(d.created)),
            ]),
            None => None,
        },
        Kind::SigningKey => match admin.get_signing_key(id).await? {
            Some(k) => Some(vec![
                field("Id", k.id.to_string()),
                field("Key id", k.kid),
                field("Algorithm", k.algorithm),
                field("Private key", "stored (not shown)"),
                field("Created", show_time(k.created)),
            ]),
            None => None,
        },
    })
}

/// Links to the lists of a user's or an application's rows.
fn related(kind: Kind, id: Id) -> Vec<Value> {
    let by = match kind {
        Kind::User => "user",
        Kind::Application => "application",
        _ => return Vec::new(),
    };
    let mut kinds = vec![
        Kind::AccessToken,
        Kind::RefreshToken,
        Kind::Grant,
        Kind::IdToken,
    ];
    if kind == Kind::User {
        kinds.insert(0, Kind::Application);
    }
    kinds
        .into_iter()
        .map(|k| context! { label => format!("Their {}", k.plural().to_lowercase()), url => format!("{}?{by}={id}", k.list_url()), danger => false })
        .collect()
}

/// `GET /admin/<model>/<pk>/change/`.
pub(crate) async fn detail(
    State(state): State<Provider>,
    kind: Kind,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(staff(&state, &parts).await);
    let id = or_page!(row_id(&state, &pk));
    if let Err(r) = admin_store(&state) {
        return r;
    }
    let fields = match describe(&state, kind, id).await {
        Ok(Some(f)) => f,
        Ok(None) => return not_found(&state),
        Err(e) => return unavailable(&state, e),
    };
    let mut links = super::forms::edit_link(kind, id)
        .into_iter()
        .collect::<Vec<_>>();
    links.extend(actions::actions_of(kind).iter().map(|a| {
        context! { label => a.label(), url => kind.action_url(id, a.slug()), danger => a.dangerous() }
    }));
    links.extend(related(kind, id));
    let ctx = context! {
        heading => format!("{} #{id}", capitalised(kind.singular())),
        fields => fields,
        actions => links,
        back_url => kind.list_url(),
    };
    page(
        &state,
        &account,
        "oauth_toolkit/admin/detail.html",
        ctx,
        StatusCode::OK,
    )
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
