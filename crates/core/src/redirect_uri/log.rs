//! Rendering URIs and mismatch reasons for log lines and error messages.

use super::error::Mismatch;
use super::matching::check_redirect_uri_allowed;
use super::{UriRules, MAX_LOGGED_CANDIDATES, MAX_LOGGED_URI_LENGTH};

/// Renders a URI for a log line or an error message: truncated to [`MAX_LOGGED_URI_LENGTH`]
/// characters (marked `...[truncated]`) and escaped with `{:?}` so that control characters,
/// CR/LF above all, cannot forge log lines.
pub fn loggable_uri(uri: &str) -> String {
    match uri.char_indices().nth(MAX_LOGGED_URI_LENGTH) {
        Some((cut, _)) => {
            let head = uri.get(..cut).unwrap_or("");
            format!("{:?}", format!("{head}...[truncated]"))
        }
        None => format!("{uri:?}"),
    }
}

pub(super) fn shown(uri: &str) -> String {
    loggable_uri(uri)
}

/// Renders the mismatches of [`check_redirect_uri_allowed`] as one log-friendly string, as DOT:
/// `"<candidate>": <reason>` joined by `; `, at most [`MAX_LOGGED_CANDIDATES`] candidates
/// (then `...and N further registered URI(s) not listed`), each URI escaped and truncated with
/// [`loggable_uri`]; `no URIs are registered` when empty.
pub fn format_mismatches(mismatches: &[Mismatch]) -> String {
    if mismatches.is_empty() {
        return "no URIs are registered".to_owned();
    }
    let mut out = mismatches
        .iter()
        .take(MAX_LOGGED_CANDIDATES)
        .map(|m| match &m.candidate {
            None => m.reason.to_string(),
            Some(c) => format!("{}: {}", loggable_uri(c), m.reason),
        })
        .collect::<Vec<_>>()
        .join("; ");
    if mismatches.len() > MAX_LOGGED_CANDIDATES {
        out.push_str(&format!(
            "; ...and {} further registered URI(s) not listed",
            mismatches.len() - MAX_LOGGED_CANDIDATES
        ));
    }
    out
}

pub(super) fn allowed_and_logged(
    param: &str,
    requested: &str,
    registered_list: &str,
    rules: &UriRules,
) -> bool {
    match check_redirect_uri_allowed(requested, registered_list, rules) {
        Ok(()) => true,
        Err(mismatches) => {
            tracing::debug!(
                "{} {} does not match any {} registered for the client: {}",
                param,
                loggable_uri(requested),
                param,
                format_mismatches(&mismatches)
            );
            false
        }
    }
}
