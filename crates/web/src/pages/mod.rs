//! The provider's own HTML pages (login, logout) and what every page response shares:
//! rendering, security headers, redirects.

pub(crate) mod account;
pub(crate) mod application_form;
pub(crate) mod application_save;
pub mod applications;
pub mod authorized_tokens;
pub mod device;
pub mod login;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::{context, Value};
use oauth_toolkit_core::Settings;

use crate::Provider;

/// Where the logout page is mounted (Django's default).
pub const LOGOUT_PAGE_PATH: &str = "/accounts/logout/";

/// The login and logout pages. The login page is mounted at `login_url` when that is a
/// local path; an absolute `login_url` belongs to another site, which only gets redirects.
pub(crate) fn routes(settings: &Settings) -> Router<Provider> {
    let mut r = Router::new().route(
        LOGOUT_PAGE_PATH,
        get(login::logout_page).post(login::logout_submit),
    );
    if let Some(path) = local_login_path(settings) {
        if mountable(&path, settings) {
            r = r.route(&path, get(login::login_page).post(login::login_submit));
        } else {
            tracing::warn!(
                login_url = %settings.server.login_url,
                "login_url collides with another route or is not a plain path; the login page is not mounted"
            );
        }
    }
    r
}

/// The path part of `login_url` when it is local (`/accounts/login/`), else `None`.
pub fn local_login_path(settings: &Settings) -> Option<String> {
    let url = settings.server.login_url.as_str();
    if !url.starts_with('/') || url.starts_with("//") {
        return None;
    }
    let path = url.split(['?', '#']).next().unwrap_or(url);
    Some(path.to_string())
}

fn mountable(path: &str, settings: &Settings) -> bool {
    let prefix = settings.server.url_prefix.as_str();
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~' | b'%'));
    // With an empty prefix the endpoints sit at the root: keep their names free.
    let endpoint_names = [
        "/authorize/",
        "/token/",
        "/revoke_token/",
        "/introspect/",
        "/userinfo/",
        "/logout/",
    ];
    let device_pages = [
        "/device-authorization/",
        "/device/",
        "/device-confirm/",
        "/device-grant-status/",
    ];
    let taken = matches!(path, "/" | "/health" | LOGOUT_PAGE_PATH)
        || path.starts_with("/.well-known/")
        || path.starts_with("/admin/")
        || path.starts_with(crate::assets::STATIC_PREFIX)
        || (prefix.is_empty()
            && (path.starts_with("/applications/") || path.starts_with("/authorized_tokens/")))
        || (prefix.is_empty() && device_pages.iter().any(|p| path.starts_with(p)))
        || (prefix.is_empty() && endpoint_names.contains(&path))
        || (!prefix.is_empty() && (path == prefix || path.starts_with(&format!("{prefix}/"))));
    plain && !taken
}

/// A path is a safe place to send the user after login when it stays on this site: one
/// leading `/` (not `//`, which browsers read as another host), no `\` (browsers turn it
/// into `/`), and only visible ASCII (no control characters, no spaces).
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(next)
}

/// `login_url?next=<path and query>`. An absolute `login_url` on another site is given an
/// absolute `next` (Django's `redirect_to_login`).
pub fn login_location(settings: &Settings, next: &str) -> String {
    let login = settings.server.login_url.as_str();
    let next = if local_login_path(settings).is_some() {
        next.to_string()
    } else {
        format!("{}{next}", settings.base_url().trim_end_matches('/'))
    };
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", &next)
        .finish();
    let sep = if login.contains('?') { '&' } else { '?' };
    format!("{login}{sep}{query}")
}

/// The pages' CSP: scripts, styles and images only from this site (no inline script or
/// style), nothing framing them. No `form-action`: the consent form's answer is a redirect to
/// the client, which browsers would check against it.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

/// The management pages under `url_prefix`: DOT's `applications/…` and `authorized_tokens/…`.
pub(crate) fn management_routes(settings: &Settings) -> Router<Provider> {
    let p = settings.server.url_prefix.as_str();
    Router::new()
        .route(&format!("{p}/applications/"), get(applications::list))
        .route(
            &format!("{p}/applications/register/"),
            get(applications::register_page).post(applications::register_submit),
        )
        .route(
            &format!("{p}/applications/{{pk}}/"),
            get(applications::detail),
        )
        .route(
            &format!("{p}/applications/{{pk}}/update/"),
            get(applications::update_page).post(applications::update_submit),
        )
        .route(
            &format!("{p}/applications/{{pk}}/delete/"),
            get(applications::delete_page).post(applications::delete_submit),
        )
        .route(
            &format!("{p}/applications/{{pk}}/new_secret/"),
            get(applications::new_secret_page).post(applications::new_secret_submit),
        )
        .route(
            &format!("{p}/authorized_tokens/"),
            get(authorized_tokens::list),
        )
        .route(
            &format!("{p}/authorized_tokens/{{pk}}/delete/"),
            get(authorized_tokens::delete_page).post(authorized_tokens::delete_submit),
        )
}

/// A time as the pages show it (UTC, to the minute).
pub(crate) fn show_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Headers for every page and every redirect of a flow: never cached, never framed
/// (clickjacking), never leaking the URL (which holds `state`) in a `Referer`.
pub fn protect(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// Render a template as a protected HTML page.
pub fn render(state: &Provider, name: &str, ctx: Value, status: StatusCode) -> Response {
    match state.templates.render(name, ctx) {
        Ok(html) => {
            let mut resp = (status, axum::response::Html(html)).into_response();
            protect(&mut resp);
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "page rendering failed");
            let mut resp =
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
            protect(&mut resp);
            resp
        }
    }
}

/// The generic error page.
pub fn error_page(
    state: &Provider,
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response {
    render(
        state,
        "oauth_toolkit/error.html",
        context! { status => status.as_u16(), error => error, description => description },
        status,
    )
}

/// `302 Found` to `location`, protected like a page. A location that cannot be a header
/// (control characters) is refused with a 400 page rather than sent.
pub fn redirect(state: &Provider, location: &str) -> Response {
    match HeaderValue::from_bytes(location.as_bytes()) {
        Ok(v) => {
            let mut resp = StatusCode::FOUND.into_response();
            resp.headers_mut().insert(header::LOCATION, v);
            protect(&mut resp);
            resp
        }
        Err(_) => error_page(
            state,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid redirect URI.",
        ),
    }
}

/// Add a `Set-Cookie` to a response.
pub fn set_cookie(resp: &mut Response, value: Option<HeaderValue>) {
    if let Some(v) = value {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_site() {
        assert_eq!(safe_next("/o/authorize/?a=b"), Some("/o/authorize/?a=b"));
        assert_eq!(safe_next("/"), Some("/"));
        for bad in [
            "",
            "//evil.com",
            "https://evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "/\tx",
            "/ x",
            "javascript:alert(1)",
            "evil.com",
            "/é",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn login_locations() {
        let mut s = Settings::default();
        assert_eq!(
            login_location(&s, "/o/authorize/?a=b&c=d"),
            "/accounts/login/?next=%2Fo%2Fauthorize%2F%3Fa%3Db%26c%3Dd"
        );
        s.server.login_url = "https://sso.example.com/login?app=1".into();
        s.server.issuer = Some("https://auth.example.com".into());
        assert_eq!(
            login_location(&s, "/x"),
            "https://sso.example.com/login?app=1&next=https%3A%2F%2Fauth.example.com%2Fx"
        );
        assert!(local_login_path(&s).is_none());
    }

    #[test]
    fn login_path_mounting() {
        let mut s = Settings::default();
        assert!(mountable("/accounts/login/", &s));
        assert!(!mountable("/", &s));
        assert!(!mountable("/o/login/", &s));
        assert!(!mountable("/{x}/", &s));
        s.server.url_prefix = String::new();
        assert!(mountable("/login/", &s));
        // The device pages sit at the root too.
        assert!(!mountable("/device/", &s));
        assert!(!mountable("/device-confirm/x/", &s));
    }
}
