//! Settings: DOT's names in lower case with DOT's defaults, plus the server's own.
//!
//! Read from an optional TOML file, then overridden by `OAUTH_TOOLKIT_<NAME>` environment
//! variables, then `DATABASE_URL`. Every key is checked: an unknown key or a bad value is
//! an error that names the key and where it came from. See docs/settings.md.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::redirect_uri::UriRules;
use crate::scopes::{is_valid_scope_token, ALL_SCOPES};

mod display;
mod oidc;
mod provider;
mod resource_server;
mod server;
mod sources;
mod validate;

use sources::{known_keys, overlay_env};

pub use oidc::OidcSettings;
pub use provider::ProviderSettings;
pub use resource_server::ResourceServerSettings;
pub use server::{LogFormat, ServerSettings, SqliteSynchronous};

/// Prefix of environment variables that override settings.
pub const ENV_PREFIX: &str = "OAUTH_TOOLKIT_";
/// The environment variable naming the config file (not a setting itself).
pub const CONFIG_ENV: &str = "OAUTH_TOOLKIT_CONFIG";
/// The config file read when present and no other is named.
pub const DEFAULT_CONFIG_FILE: &str = "oauth-toolkit.toml";
/// The embedded default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://oauth-toolkit.sqlite3?mode=rwc";

/// DOT's `REQUEST_APPROVAL_PROMPT` / `approval_prompt` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalPrompt {
    /// Always show the consent page.
    Force,
    /// Skip it when the user already holds a live token of the client for the scopes.
    Auto,
}

/// Every setting, grouped by concern. The TOML keys and `OAUTH_TOOLKIT_*` variables stay
/// DOT's flat lower-case names (each group is flattened), so `settings.provider.pkce_required`
/// is the key `pkce_required`. `Debug` is written by hand (`display.rs`): it redacts secrets.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Settings {
    /// Where and how the server runs.
    #[serde(flatten)]
    pub server: ServerSettings,
    /// The authorization server's rules.
    #[serde(flatten)]
    pub provider: ProviderSettings,
    /// OpenID Connect.
    #[serde(flatten)]
    pub oidc: OidcSettings,
    /// Protecting an API with the provider's tokens.
    #[serde(flatten)]
    pub resource_server: ResourceServerSettings,
}

/// A setting that could not be used, naming the key and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{key}`{origin}: {message}")]
pub struct SettingsError {
    /// The setting's key (`config` for the file as a whole).
    pub key: String,
    /// " (in FILE)" / " (from OAUTH_TOOLKIT_X)" / "".
    pub origin: String,
    /// What is wrong with the value.
    pub message: String,
}

impl SettingsError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            origin: String::new(),
            message: message.into(),
        }
    }
}

/// Where the value of each key came from, for error messages.
type Origins = BTreeMap<String, String>;

impl Settings {
    /// Read settings: the TOML file (if any), then `OAUTH_TOOLKIT_*` variables and
    /// `DATABASE_URL` from `env`. The result is validated.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        let mut table = toml::Table::new();
        let mut origins = Origins::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| SettingsError {
                key: "config".into(),
                origin: format!(" ({})", path.display()),
                message: format!("cannot read the config file: {e}"),
            })?;
            table = text.parse::<toml::Table>().map_err(|e| SettingsError {
                key: "config".into(),
                origin: format!(" ({})", path.display()),
                message: format!("not valid TOML: {}", e.message()),
            })?;
            for key in table.keys() {
                origins.insert(key.clone(), format!(" (in {})", path.display()));
            }
        }
        overlay_env(&mut table, &mut origins, env)?;
        Self::from_table(table, &origins)
    }

    /// Parse settings from TOML text alone (no environment).
    pub fn from_toml_str(text: &str) -> Result<Settings, SettingsError> {
        let table = text.parse::<toml::Table>().map_err(|e| SettingsError {
            key: "config".into(),
            origin: String::new(),
            message: format!("not valid TOML: {}", e.message()),
        })?;
        Self::from_table(table, &Origins::new())
    }

    fn from_table(table: toml::Table, origins: &Origins) -> Result<Settings, SettingsError> {
        let known = known_keys();
        for key in table.keys() {
            if !known.contains_key(key) {
                return Err(SettingsError {
                    key: key.clone(),
                    origin: origins.get(key).cloned().unwrap_or_default(),
                    message: "unknown setting".into(),
                });
            }
        }
        let settings: Settings =
            toml::Value::Table(table.clone())
                .try_into()
                .map_err(|whole: toml::de::Error| {
                    // Find the offending key by deserializing each key alone (all others default).
                    for (key, value) in &table {
                        let mut one = toml::Table::new();
                        one.insert(key.clone(), value.clone());
                        if let Err(e) = toml::Value::Table(one).try_into::<Settings>() {
                            return SettingsError {
                                key: key.clone(),
                                origin: origins.get(key).cloned().unwrap_or_default(),
                                message: e.message().trim().to_string(),
                            };
                        }
                    }
                    SettingsError::new("config", whole.message().trim())
                })?;
        let settings = settings.normalized();
        settings.validate().map_err(|mut e| {
            e.origin = origins.get(&e.key).cloned().unwrap_or_default();
            e
        })?;
        Ok(settings)
    }

    /// Canonical forms: prefix and issuer without trailing slashes, schemes lower-cased.
    fn normalized(mut self) -> Self {
        let trimmed = self.server.url_prefix.trim_end_matches('/').to_string();
        self.server.url_prefix = trimmed;
        if let Some(issuer) = &self.server.issuer {
            self.server.issuer = Some(issuer.trim_end_matches('/').to_string());
        }
        for list in [
            &mut self.provider.allowed_redirect_uri_schemes,
            &mut self.provider.allowed_schemes,
        ] {
            for s in list.iter_mut() {
                *s = s.to_ascii_lowercase();
            }
        }
        self
    }

    /// The configured scopes, or the defaults (`read`, `write`, and the OIDC scopes when on).
    pub fn scopes(&self) -> BTreeMap<String, String> {
        if let Some(s) = &self.provider.scopes {
            return s.clone();
        }
        let mut s = BTreeMap::new();
        s.insert("read".into(), "Reading scope".into());
        s.insert("write".into(), "Writing scope".into());
        if self.oidc.oidc_enabled {
            s.insert("openid".into(), "OpenID Connect scope".into());
            s.insert("profile".into(), "Your name and profile details".into());
            s.insert("email".into(), "Your email address".into());
            s.insert("address".into(), "Your postal address".into());
            s.insert("phone".into(), "Your phone number".into());
        }
        s
    }

    /// `default_scopes` with `__all__` expanded.
    pub fn default_scope_names(&self) -> Vec<String> {
        if self.provider.default_scopes.iter().any(|s| s == ALL_SCOPES) {
            self.scopes().into_keys().collect()
        } else {
            self.provider.default_scopes.clone()
        }
    }

    /// The database to use: `database_url`, or the embedded SQLite default.
    pub fn database_url(&self) -> &str {
        self.server
            .database_url
            .as_deref()
            .unwrap_or(DEFAULT_DATABASE_URL)
    }

    /// Redirect URI rules derived from the settings.
    pub fn uri_rules(&self) -> UriRules {
        UriRules {
            allowed_schemes: self.provider.allowed_redirect_uri_schemes.clone(),
            allow_wildcards: self.provider.allow_uri_wildcards,
            allow_localhost_loopback: self.provider.allow_localhost_loopback,
        }
    }

    /// The public base URL: `issuer`, or `http://<bind>`.
    pub fn base_url(&self) -> String {
        match &self.server.issuer {
            Some(i) => i.clone(),
            None => format!("http://{}", self.server.bind),
        }
    }

    /// Every setting name, for documentation and the env overlay.
    pub fn keys() -> Vec<String> {
        known_keys().into_keys().collect()
    }
}

/// Longest throttle window (a day): a longer lock-out helps an attacker more than a user.
pub const MAX_THROTTLE_WINDOW_SECONDS: u64 = 24 * 3600;
/// About 100 years: larger durations only overflow timestamps.
pub const MAX_DURATION_SECONDS: u64 = 100 * 366 * 24 * 3600;

#[cfg(test)]
mod tests;
