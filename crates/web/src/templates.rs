//! Templates: embedded defaults with DOT's names, overridable by dropping a file with the
//! same relative name into `template_dir` (as Django's template dirs override an app's).

use std::path::{Component, Path, PathBuf};

use minijinja::{Environment, Value};

/// The embedded templates, by name (a `(name, include_str!(name))` pair each).
macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

/// The embedded templates, by name.
const EMBEDDED: &[(&str, &str)] = embedded![
    "oauth2_provider/base.html",
    "oauth_toolkit/home.html",
    "oauth_toolkit/error.html",
    "oauth_toolkit/form_fields.html",
    "oauth2_provider/authorize.html",
    "oauth2_provider/form_post.html",
    "oauth2_provider/logout_confirm.html",
    "oauth2_provider/logged_out.html",
    "oauth2_provider/device/user_code.html",
    "oauth2_provider/device/accept_deny.html",
    "oauth2_provider/device/device_grant_status.html",
    "registration/login.html",
    "registration/logout_confirm.html",
    "oauth2_provider/application_list.html",
    "oauth2_provider/application_form.html",
    "oauth2_provider/application_registration_form.html",
    "oauth2_provider/application_detail.html",
    "oauth2_provider/application_confirm_delete.html",
    "oauth2_provider/application_confirm_new_secret.html",
    "oauth2_provider/authorized-tokens.html",
    "oauth2_provider/authorized-token-delete.html",
    "oauth_toolkit/admin/index.html",
    "oauth_toolkit/admin/list.html",
    "oauth_toolkit/admin/detail.html",
    "oauth_toolkit/admin/confirm.html",
    "oauth_toolkit/admin/form.html",
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template directory {0} is not a readable directory")]
    BadDirectory(PathBuf),
    #[error("template {name} failed to render")]
    Render {
        name: String,
        #[source]
        source: minijinja::Error,
    },
}

/// The page templates: embedded defaults, each overridable by a file in `template_dir`.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Templates from `dir` (when given) over the embedded defaults.
    pub fn new(dir: Option<PathBuf>) -> Result<Self, TemplateError> {
        if let Some(d) = &dir {
            if !d.is_dir() {
                return Err(TemplateError::BadDirectory(d.clone()));
            }
        }
        let mut env = Environment::new();
        env.set_loader(move |name| load(dir.as_deref(), name));
        Ok(Self { env })
    }

    /// The values every page sees: the provider's name, the asset URLs and the paths the
    /// header links (`site_name`, `static_css`, `static_js`, `logout_url`, `prefix`,
    /// `login_url`).
    pub fn set_globals(&mut self, settings: &oauth_toolkit_core::Settings) {
        let server = &settings.server;
        self.env
            .add_global("site_name", Value::from(server.provider_name.clone()));
        self.env
            .add_global("static_css", Value::from(crate::assets::css_url()));
        self.env
            .add_global("static_js", Value::from(crate::assets::js_url()));
        self.env
            .add_global("logout_url", Value::from(crate::pages::LOGOUT_PAGE_PATH));
        self.env
            .add_global("prefix", Value::from(server.url_prefix.clone()));
        self.env
            .add_global("login_url", Value::from(server.login_url.clone()));
    }

    /// Render `name` with `ctx`. HTML is auto-escaped.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, TemplateError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|source| TemplateError::Render {
                name: name.to_string(),
                source,
            })
    }

    /// The names of the embedded templates (the names a file in `template_dir` can override).
    pub fn names() -> impl Iterator<Item = &'static str> {
        EMBEDDED.iter().map(|(n, _)| *n)
    }
}

fn load(dir: Option<&Path>, name: &str) -> Result<Option<String>, minijinja::Error> {
    // Only plain relative names: a template name never walks out of the directory.
    let safe = Path::new(name)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !safe {
        return Ok(None);
    }
    if let Some(dir) = dir {
        let path = dir.join(name);
        if path.is_file() {
            return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("cannot read template {}: {e}", path.display()),
                )
            });
        }
    }
    Ok(EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, body)| body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn embedded_renders_and_escapes() {
        let t = Templates::new(None).unwrap();
        let html = t
            .render(
                "oauth_toolkit/error.html",
                context! { error => "<script>", description => "x" },
            )
            .unwrap();
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn directory_overrides_by_name() {
        let dir = std::env::temp_dir().join(format!("otk-tpl-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("oauth_toolkit")).unwrap();
        std::fs::write(
            dir.join("oauth_toolkit/home.html"),
            "{% extends \"oauth2_provider/base.html\" %}{% block content %}CUSTOM {{ prefix }}{% endblock content %}",
        )
        .unwrap();
        let t = Templates::new(Some(dir.clone())).unwrap();
        let html = t
            .render("oauth_toolkit/home.html", context! { prefix => "/o" })
            .unwrap();
        assert!(html.contains("CUSTOM"), "{html}");
        assert!(html.contains("<!DOCTYPE html>"), "base still embedded");
        std::fs::remove_dir_all(&dir).ok();
    }

    /// docs/templates.md documents the context of every embedded template.
    #[test]
    fn every_template_is_documented() {
        let docs = include_str!("../../../docs/templates.md");
        for name in Templates::names() {
            assert!(
                docs.contains(&format!("## `{name}`")),
                "docs/templates.md lacks {name}"
            );
        }
    }

    #[test]
    fn bad_names_and_dirs() {
        assert!(Templates::new(Some("/nonexistent-dir".into())).is_err());
        let t = Templates::new(None).unwrap();
        assert!(t.render("../etc/passwd", context! {}).is_err());
        assert!(t.render("missing.html", context! {}).is_err());
    }
}
