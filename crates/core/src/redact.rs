//! Keeping secrets and hostile bytes out of `Debug` output and log lines.
//!
//! - [`Redacted`] prints `"***"` for a secret in a hand-written `Debug` (`""` when there is
//!   none, so an unset secret is still told apart from a set one).
//! - [`Sanitized`] shows a request-controlled string in a log line with control characters
//!   escaped (`\n`, `\r`, `\u{1b}`, …): a client cannot forge log lines or send terminal
//!   escapes to whoever reads the log.
//! - [`redact_url`] removes the password of a URL's userinfo.

use std::fmt;

/// A secret in `Debug` output: `"***"`, or `""` when empty.
pub struct Redacted<'a>(pub &'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("\"***\"")
        }
    }
}

/// An optional secret in `Debug` output: `None` or `Some("***")`.
pub struct RedactedOption<'a>(pub Option<&'a str>);

impl fmt::Debug for RedactedOption<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("None"),
            Some(s) => f.debug_tuple("Some").field(&Redacted(s)).finish(),
        }
    }
}

/// A request-controlled string for a log line: control characters (and the backslash that
/// introduces the escapes) are escaped, everything else is shown as it is.
#[derive(Clone, Copy)]
pub struct Sanitized<'a>(pub &'a str);

impl fmt::Display for Sanitized<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.0.chars() {
            if c.is_control() || c == '\\' {
                for e in c.escape_debug() {
                    f.write_char(e)?;
                }
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Sanitized<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

/// `url` with the password of its userinfo replaced by `***`
/// (`postgres://bob:***@db/x`); URLs without one are returned as they are.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The last `@` ends the userinfo even when an unencoded password holds `/` or `@`; one
    // in the query only makes the result redact too much, never too little.
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_hides_the_value() {
        assert_eq!(format!("{:?}", Redacted("hunter2")), "\"***\"");
        assert_eq!(format!("{:?}", Redacted("")), "\"\"");
        assert_eq!(format!("{:?}", RedactedOption(Some("x"))), "Some(\"***\")");
        assert_eq!(format!("{:?}", RedactedOption(None)), "None");
    }

    #[test]
    fn sanitized_escapes_control_characters() {
        let shown = Sanitized("evil\r\nINFO fake line \u{1b}[31mred\u{7}\u{9b}\\").to_string();
        assert_eq!(
            shown,
            "evil\\r\\nINFO fake line \\u{1b}[31mred\\u{7}\\u{9b}\\\\"
        );
        assert!(!shown.chars().any(char::is_control));
        assert_eq!(Sanitized("plain é").to_string(), "plain é");
    }

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("postgres://bob:hunter2@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://a:b/c@d@h/d"), "postgres://a:***@h/d");
        assert_eq!(redact_url("postgres://bob@db/x"), "postgres://bob@db/x");
        assert_eq!(
            redact_url("sqlite://oauth-toolkit.sqlite3?mode=rwc"),
            "sqlite://oauth-toolkit.sqlite3?mode=rwc"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
