//! Request parameters as sent (a list of name/value pairs), with the RFC 6749 rules for
//! reading them: a parameter sent twice is an error (§3.1, §3.2), an empty value counts as
//! absent (§3.1).

use crate::error::OAuthError;

/// Decoded form or query parameters, in order, duplicates kept.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

/// Parameters whose values are never secret; every other value (password, client_secret,
/// code, refresh_token, token, code_verifier, device_code, unknown names…) prints as "***".
const SHOWN_IN_DEBUG: &[&str] = &[
    "grant_type",
    "response_type",
    "response_mode",
    "client_id",
    "scope",
    "redirect_uri",
    "post_logout_redirect_uri",
    "token_type_hint",
    "prompt",
    "max_age",
    "code_challenge_method",
    "approval_prompt",
    "allow",
    "display",
    "ui_locales",
    "claims_locales",
];

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for (k, v) in &self.0 {
            if SHOWN_IN_DEBUG.contains(&k.as_str()) {
                list.entry(&(k, v));
            } else {
                list.entry(&(k, crate::redact::Redacted(v)));
            }
        }
        list.finish()
    }
}

impl Params {
    /// Parameters from decoded name/value pairs, in the order sent.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The single value of `name`; `None` when absent or empty; an error when repeated.
    pub fn single(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found: Option<&str> = None;
        for (k, v) in &self.0 {
            if k == name {
                if found.is_some() {
                    return Err(OAuthError::invalid_request(format!(
                        "Duplicate {name} parameter."
                    )));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found.filter(|v| !v.is_empty()))
    }

    /// Like [`Params::single`], but absent is an error: "Missing X parameter."
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.single(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("Missing {name} parameter.")))
    }

    /// Every value of `name` (repeatable parameters such as `resource`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether `name` was sent at all (even empty).
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Whether no parameter was sent.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every name/value pair, in order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Params(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secret_values() {
        let secrets = [
            ("password", "PW-hunter2"),
            ("client_secret", "CS-0123"),
            ("code", "CODE-abc"),
            ("refresh_token", "RT-abc"),
            ("token", "TOK-abc"),
            ("code_verifier", "CV-abc"),
            ("device_code", "DC-abc"),
            ("access_token", "AT-abc"),
            ("something_new", "NEW-abc"),
        ];
        let mut pairs: Vec<(String, String)> = secrets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pairs.push(("grant_type".into(), "password".into()));
        pairs.push(("client_id".into(), "my\nclient".into()));
        let shown = format!("{:?}", Params::new(pairs));
        for (name, value) in secrets {
            assert!(!shown.contains(value), "{value} in {shown}");
            assert!(shown.contains(name), "{shown}");
        }
        assert!(shown.contains("\"grant_type\", \"password\""), "{shown}");
        assert!(shown.contains("my\\nclient"), "{shown}");
    }

    #[test]
    fn duplicates_and_empties() {
        let p: Params = [("a", "1"), ("b", ""), ("c", "x"), ("c", "y")]
            .into_iter()
            .collect();
        assert_eq!(p.single("a").unwrap(), Some("1"));
        assert_eq!(p.single("b").unwrap(), None);
        assert_eq!(p.single("z").unwrap(), None);
        assert_eq!(
            p.single("c").unwrap_err().description.as_deref(),
            Some("Duplicate c parameter.")
        );
        assert_eq!(
            p.required("b").unwrap_err().description.as_deref(),
            Some("Missing b parameter.")
        );
        assert_eq!(p.all("c"), vec!["x", "y"]);
    }
}
