//! Scope strings (RFC 6749 §3.3): space-delimited, case-sensitive, order irrelevant.

use std::collections::BTreeSet;

/// DOT's marker in `default_scopes` meaning "every configured scope".
pub const ALL_SCOPES: &str = "__all__";

/// Split a scope string into its distinct names, keeping first-seen order.
pub fn parse_scopes(scope: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .filter(|s| seen.insert(*s))
        .map(str::to_owned)
        .collect()
}

/// Join scope names into the wire form.
pub fn join_scopes<S: AsRef<str>>(scopes: &[S]) -> String {
    scopes
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(" ")
}

/// RFC 6749 §3.3 `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_valid_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// DOT's `allow_scopes`: no requirement → allowed; else every required scope is granted.
pub fn allow_scopes<S: AsRef<str>>(granted: &str, required: &[S]) -> bool {
    if required.is_empty() {
        return true;
    }
    let granted: BTreeSet<&str> = granted.split(' ').filter(|s| !s.is_empty()).collect();
    required.iter().all(|r| granted.contains(r.as_ref()))
}

/// The scopes a request gets: the requested ones (each must be configured), or the
/// default scopes when none are requested. `invalid_scope` otherwise (RFC 6749 §3.3).
pub fn resolve_requested(
    settings: &crate::settings::Settings,
    requested: Option<&str>,
) -> Result<Vec<String>, crate::error::OAuthError> {
    resolve_with(&crate::hooks::SettingsScopes, settings, None, requested)
}

/// [`resolve_requested`] with the application's scopes backend (see
/// [`crate::hooks::ScopesBackend`]): the scopes this application may ask for, its defaults.
pub fn resolve_for(
    ctx: &crate::context::Ctx<'_>,
    application: Option<&crate::models::Application>,
    requested: Option<&str>,
) -> Result<Vec<String>, crate::error::OAuthError> {
    resolve_with(&*ctx.hooks.scopes, ctx.settings, application, requested)
}

fn resolve_with(
    backend: &dyn crate::hooks::ScopesBackend,
    settings: &crate::settings::Settings,
    application: Option<&crate::models::Application>,
    requested: Option<&str>,
) -> Result<Vec<String>, crate::error::OAuthError> {
    use crate::error::{ErrorCode, OAuthError};
    let Some(requested) = requested.filter(|s| !s.trim().is_empty()) else {
        return Ok(backend.default_scopes(settings, application));
    };
    let available = backend.available_scopes(settings, application);
    let scopes = parse_scopes(requested);
    if scopes
        .iter()
        .any(|s| !is_valid_scope_token(s) || !available.contains_key(s))
    {
        return Err(OAuthError::new(ErrorCode::InvalidScope)
            .with_description("The requested scope is invalid, unknown, or malformed."));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_dedups_and_skips_empty() {
        assert_eq!(parse_scopes("read  write read"), vec!["read", "write"]);
        assert!(parse_scopes("").is_empty());
    }

    #[test]
    fn allow_is_subset() {
        assert!(allow_scopes("read write", &["read"]));
        assert!(allow_scopes("read", &[] as &[&str]));
        assert!(!allow_scopes("read", &["write"]));
        assert!(!allow_scopes("", &["read"]));
        assert!(allow_scopes("write read", &["read", "write"]));
    }

    #[test]
    fn resolution() {
        let settings = crate::settings::Settings::default();
        assert_eq!(
            resolve_requested(&settings, Some("read")).unwrap(),
            vec!["read"]
        );
        assert_eq!(
            resolve_requested(&settings, None).unwrap(),
            settings.default_scope_names()
        );
        assert_eq!(
            resolve_requested(&settings, Some("  ")).unwrap(),
            settings.default_scope_names()
        );
        assert!(resolve_requested(&settings, Some("read nuke")).is_err());
    }

    #[test]
    fn token_charset() {
        assert!(is_valid_scope_token("music:read"));
        assert!(!is_valid_scope_token("a\"b"));
        assert!(!is_valid_scope_token("a\\b"));
        assert!(!is_valid_scope_token("é"));
        assert!(!is_valid_scope_token(""));
    }
}
