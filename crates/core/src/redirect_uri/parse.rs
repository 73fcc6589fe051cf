//! Splitting a URI into its components.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Authority<'a> {
    /// Text before the last `@`, if any.
    pub(super) userinfo: Option<&'a str>,
    /// Raw host; IP literals keep their brackets.
    pub(super) host: &'a str,
    /// Text after the port `:`, possibly empty; `None` without a `:`.
    pub(super) port: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ParsedUri<'a> {
    pub(super) scheme: Option<&'a str>,
    pub(super) authority: Option<Authority<'a>>,
    pub(super) path: &'a str,
    /// `Some("")` for a bare `?`.
    pub(super) query: Option<&'a str>,
    /// `Some("")` for a bare `#`.
    pub(super) fragment: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ParseError {
    /// `[` without `]`, a bracket inside a reg-name, or text between `]` and `:`.
    BadIpLiteral,
}

pub(super) fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Splits `uri` into its components. Only fails on malformed IP-literal brackets; every other
/// string splits (a string without a valid scheme is a relative reference: `scheme` is `None`).
pub(super) fn split_uri(uri: &str) -> Result<ParsedUri<'_>, ParseError> {
    // scheme: the text before the first ':' if it comes before any '/', '?' or '#'.
    let (scheme, rest) = match uri.find([':', '/', '?', '#']) {
        Some(i) => {
            let (head, tail) = uri.split_at(i);
            match tail.strip_prefix(':') {
                Some(after) if is_scheme(head) => (Some(head), after),
                _ => (None, uri),
            }
        }
        None => (None, uri),
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((before, frag)) => (before, Some(frag)),
        None => (rest, None),
    };
    let (hier, query) = match rest.split_once('?') {
        Some((before, q)) => (before, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match hier.strip_prefix("//") {
        Some(after) => {
            let (auth, path) = match after.find('/') {
                Some(i) => after.split_at(i),
                None => (after, ""),
            };
            (Some(split_authority(auth)?), path)
        }
        None => (None, hier),
    };
    Ok(ParsedUri {
        scheme,
        authority,
        path,
        query,
        fragment,
    })
}

fn split_authority(auth: &str) -> Result<Authority<'_>, ParseError> {
    let (userinfo, hostport) = match auth.rsplit_once('@') {
        Some((u, hp)) => (Some(u), hp),
        None => (None, auth),
    };
    if hostport.starts_with('[') {
        let Some(close) = hostport.find(']') else {
            return Err(ParseError::BadIpLiteral);
        };
        let (host_open, after) = hostport.split_at(close);
        let after = after.strip_prefix(']').unwrap_or(after);
        // `host_open` is "[...", the host keeps both brackets.
        let host_len = host_open.len() + 1;
        let host = hostport.get(..host_len).unwrap_or(hostport);
        if after.is_empty() {
            Ok(Authority {
                userinfo,
                host,
                port: None,
            })
        } else if let Some(port) = after.strip_prefix(':') {
            Ok(Authority {
                userinfo,
                host,
                port: Some(port),
            })
        } else {
            Err(ParseError::BadIpLiteral)
        }
    } else if hostport.contains(['[', ']']) {
        Err(ParseError::BadIpLiteral)
    } else {
        let (host, port) = match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        };
        Ok(Authority {
            userinfo,
            host,
            port,
        })
    }
}

impl Authority<'_> {
    /// The hostname as compared at request time: IP-literal brackets removed, ASCII lower-cased.
    pub(super) fn hostname(&self) -> String {
        let h = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(self.host);
        h.to_ascii_lowercase()
    }

    /// The port as a number (`None` when absent or empty, as Python's `.port`);
    /// `Err` when not all digits or above 65535.
    pub(super) fn port_number(&self) -> Result<Option<u16>, ()> {
        match self.port {
            None | Some("") => Ok(None),
            Some(p) => {
                if !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(());
                }
                let digits = p.trim_start_matches('0');
                if digits.is_empty() {
                    return Ok(Some(0));
                }
                if digits.len() > 5 {
                    return Err(());
                }
                digits
                    .parse::<u32>()
                    .ok()
                    .and_then(|n| u16::try_from(n).ok())
                    .map(Some)
                    .ok_or(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_full_uri() {
        let p = split_uri("https://u:p@Example.com:8443/a/b;x?q=1&r#frag").unwrap();
        assert_eq!(p.scheme, Some("https"));
        let a = p.authority.unwrap();
        assert_eq!(a.userinfo, Some("u:p"));
        assert_eq!(a.host, "Example.com");
        assert_eq!(a.port, Some("8443"));
        assert_eq!(a.hostname(), "example.com");
        assert_eq!(p.path, "/a/b;x");
        assert_eq!(p.query, Some("q=1&r"));
        assert_eq!(p.fragment, Some("frag"));
    }

    #[test]
    fn split_presence_flags() {
        let p = split_uri("http://h/cb?#").unwrap();
        assert_eq!(p.query, Some(""));
        assert_eq!(p.fragment, Some(""));
        let p = split_uri("http://h/cb").unwrap();
        assert_eq!(p.query, None);
        assert_eq!(p.fragment, None);
    }

    #[test]
    fn split_private_use_forms() {
        let p = split_uri("com.example.app:/cb").unwrap();
        assert_eq!(p.scheme, Some("com.example.app"));
        assert_eq!(p.authority, None);
        assert_eq!(p.path, "/cb");
        let p = split_uri("com.example.app:///cb").unwrap();
        assert_eq!(p.authority.unwrap().host, "");
        assert_eq!(p.path, "/cb");
        let p = split_uri("com.example.app://cb").unwrap();
        assert_eq!(p.authority.unwrap().host, "cb");
        assert_eq!(p.path, "");
    }

    #[test]
    fn split_ipv6_and_ports() {
        let a = split_uri("http://[::1]:8080/x").unwrap().authority.unwrap();
        assert_eq!(a.host, "[::1]");
        assert_eq!(a.hostname(), "::1");
        assert_eq!(a.port, Some("8080"));
        assert_eq!(a.port_number(), Ok(Some(8080)));
        let a = split_uri("http://h:/x").unwrap().authority.unwrap();
        assert_eq!(a.port, Some(""));
        assert_eq!(a.port_number(), Ok(None));
        assert!(split_uri("http://[::1/x").is_err());
        assert!(split_uri("http://[::1]x/").is_err());
        assert!(split_uri("http://a]b/").is_err());
        let a = split_uri("http://h:99999/").unwrap().authority.unwrap();
        assert_eq!(a.port_number(), Err(()));
        let a = split_uri("http://h:0080/").unwrap().authority.unwrap();
        assert_eq!(a.port_number(), Ok(Some(80)));
    }

    #[test]
    fn split_relative_reference_has_no_scheme() {
        let p = split_uri("/../").unwrap();
        assert_eq!(p.scheme, None);
        assert_eq!(p.path, "/../");
        let p = split_uri("1abc://x").unwrap();
        assert_eq!(p.scheme, None);
        let p = split_uri("a/b:c").unwrap();
        assert_eq!(p.scheme, None);
    }
}
