//! Standard claims (OIDC Core §5.1) released by scope (§5.4, DOT's `oidc_claim_scope`) and by
//! the `claims` request parameter (§5.5).
//!
//! The user store knows `username`, `email`, `first_name` and `last_name`; so `profile`
//! releases `name`, `given_name`, `family_name` and `preferred_username`, and `email` releases
//! `email`. `address` and `phone` are accepted scopes whose claims are left out, as the spec
//! asks for claims that are not available (§5.4: "the Claim is not returned").
//! A member of the `claims` request releases that claim (when available) even without its
//! scope: the user approved the request as shown. Essential claims that are not available
//! are not an error (§5.5.1: the request "SHOULD NOT" fail for them).

use serde_json::{Map, Value};

use crate::models::User;
use crate::users::Account;

/// DOT's default `oidc_claim_scope`: the scope that releases each standard claim.
pub fn claim_scope(claim: &str) -> Option<&'static str> {
    Some(match claim {
        "sub" => "openid",
        "name" | "family_name" | "given_name" | "middle_name" | "nickname"
        | "preferred_username" | "profile" | "picture" | "website" | "gender" | "birthdate"
        | "zoneinfo" | "locale" | "updated_at" => "profile",
        "email" | "email_verified" => "email",
        "address" => "address",
        "phone_number" | "phone_number_verified" => "phone",
        _ => return None,
    })
}

/// The claims this provider can release (discovery's `claims_supported`).
pub const CLAIMS_SUPPORTED: [&str; 13] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "email",
];

/// The parsed `claims` request parameter: the members asked for in the ID token and at
/// userinfo. Unparseable input gives an empty request (it was validated at the
/// authorization endpoint).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimsRequest {
    /// The members asked for in the ID token, as sent (OIDC Core §5.5).
    pub id_token: Map<String, Value>,
    /// The members asked for at userinfo, as sent.
    pub userinfo: Map<String, Value>,
}

impl ClaimsRequest {
    /// Parse the stored `claims` JSON (`None` or unparseable: an empty request).
    pub fn parse(json: Option<&str>) -> ClaimsRequest {
        let Some(Value::Object(mut o)) = json.and_then(|j| serde_json::from_str(j).ok()) else {
            return ClaimsRequest::default();
        };
        let mut take = |name: &str| match o.remove(name) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        ClaimsRequest {
            id_token: take("id_token"),
            userinfo: take("userinfo"),
        }
    }
}

/// The user's claims released by `scopes` and by the `requested` members (`sub` included).
pub fn user_claims(
    user: &User,
    scopes: &[String],
    requested: &Map<String, Value>,
) -> Map<String, Value> {
    account_claims(&crate::users::account_of_user(user), scopes, requested)
}

/// The account's claims released by `scopes` and by the `requested` members (`sub` included).
pub fn account_claims(
    account: &Account,
    scopes: &[String],
    requested: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("sub".into(), account.subject.clone().into());
    for (name, value) in &account.claims {
        if name == "sub" {
            continue;
        }
        let by_scope = claim_scope(name).is_some_and(|s| scopes.iter().any(|g| g == s));
        if by_scope || requested.contains_key(name) {
            out.insert(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::User;

    fn user() -> User {
        User {
            id: 7,
            username: "alice".into(),
            email: "alice@example.org".into(),
            first_name: "Alice".into(),
            last_name: "Liddell".into(),
            password: String::new(),
            is_active: true,
            is_staff: false,
            is_superuser: false,
            date_joined: time::OffsetDateTime::UNIX_EPOCH,
            last_login: None,
        }
    }

    #[test]
    fn scopes_gate_claims() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let none = Map::new();
        let c = user_claims(&user(), &s(&["openid"]), &none);
        assert_eq!(Value::Object(c), serde_json::json!({"sub": "7"}));
        let c = user_claims(&user(), &s(&["openid", "email"]), &none);
        assert_eq!(c["email"], "alice@example.org");
        assert!(c.get("name").is_none());
        let c = user_claims(
            &user(),
            &s(&["openid", "profile", "address", "phone"]),
            &none,
        );
        assert_eq!(c["name"], "Alice Liddell");
        assert_eq!(c["preferred_username"], "alice");
        assert!(c.get("email").is_none() && c.get("address").is_none());
    }

    #[test]
    fn claims_request_releases_members() {
        let r = ClaimsRequest::parse(Some(
            r#"{"userinfo":{"name":{"essential":true},"phone_number":null},"id_token":{"email":null}}"#,
        ));
        let c = user_claims(&user(), &["openid".to_string()], &r.userinfo);
        assert_eq!(c["name"], "Alice Liddell");
        assert!(
            c.get("phone_number").is_none(),
            "unavailable essential: left out"
        );
        let c = user_claims(&user(), &["openid".to_string()], &r.id_token);
        assert_eq!(c["email"], "alice@example.org");
        assert_eq!(ClaimsRequest::parse(Some("[1]")), ClaimsRequest::default());
        assert_eq!(ClaimsRequest::parse(None), ClaimsRequest::default());
    }
}
