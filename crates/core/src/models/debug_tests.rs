//! No model prints a secret in `Debug` (logs and panics show `Debug` output).

use time::OffsetDateTime;
use uuid::Uuid;

use super::*;
use crate::issuance::TokenResponse;

const T: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

fn assert_hidden(shown: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!shown.contains(s), "{s} in {shown}");
    }
    assert!(shown.contains("***"), "{shown}");
}

fn application(secret: &str) -> Application {
    Application {
        id: 1,
        client_id: "visible-client".into(),
        user_id: None,
        redirect_uris: String::new(),
        post_logout_redirect_uris: String::new(),
        client_type: ClientType::Confidential,
        authorization_grant_type: GrantType::Password,
        client_secret: secret.into(),
        hash_client_secret: false,
        name: String::new(),
        skip_authorization: false,
        algorithm: Algorithm::None,
        allowed_origins: String::new(),
        created: T,
        updated: T,
    }
}

#[test]
fn tokens() {
    let at = AccessToken {
        resource: String::new(),
        id: 1,
        user_id: Some(2),
        source_refresh_token_id: None,
        token: "AT-SECRET-VALUE".into(),
        token_checksum: "abc".into(),
        id_token_id: None,
        application_id: Some(1),
        expires: T,
        scope: "read".into(),
        token_family: None,
        created: T,
        updated: T,
    };
    assert_hidden(&format!("{at:?}"), &["AT-SECRET-VALUE"]);
    let owners = AccessTokenWithOwners {
        token: at.clone(),
        application: Some(application("CLIENT-SECRET-1")),
        user: None,
    };
    assert_hidden(
        &format!("{owners:#?}"),
        &["AT-SECRET-VALUE", "CLIENT-SECRET-1"],
    );
    let new_at = NewAccessToken {
        resource: String::new(),
        user_id: None,
        source_refresh_token_id: None,
        token: "NEW-AT-VALUE".into(),
        token_checksum: "abc".into(),
        id_token_id: None,
        application_id: None,
        expires: T,
        scope: String::new(),
        token_family: None,
    };
    assert_hidden(&format!("{new_at:?}"), &["NEW-AT-VALUE"]);
    let rt = RefreshToken {
        resource: String::new(),
        id: 1,
        user_id: 2,
        token: "RT-SECRET-VALUE".into(),
        token_checksum: "abc".into(),
        application_id: 1,
        access_token_id: None,
        token_family: Some(Uuid::nil()),
        revoked: None,
        created: T,
        updated: T,
    };
    assert_hidden(&format!("{rt:?}"), &["RT-SECRET-VALUE"]);
    let new_rt = NewRefreshToken {
        resource: String::new(),
        user_id: 2,
        token: "NEW-RT-VALUE".into(),
        token_checksum: "abc".into(),
        application_id: 1,
        access_token_id: None,
        token_family: None,
    };
    assert_hidden(&format!("{new_rt:?}"), &["NEW-RT-VALUE"]);
    let response = TokenResponse {
        access_token: "RESP-AT".into(),
        expires_in: 10,
        token_type: "Bearer",
        scope: "read".into(),
        refresh_token: Some("RESP-RT".into()),
        id_token: Some("RESP-IDT".into()),
    };
    assert_hidden(
        &format!("{response:?}"),
        &["RESP-AT", "RESP-RT", "RESP-IDT"],
    );
}

#[test]
fn codes_and_device_codes() {
    let g = NewGrant {
        resource: String::new(),
        user_id: 1,
        code: "CODE-SECRET".into(),
        application_id: 1,
        expires: T,
        redirect_uri: "https://rp/cb".into(),
        scope: "read".into(),
        code_challenge: String::new(),
        code_challenge_method: None,
        nonce: String::new(),
        claims: "{}".into(),
        token_family: Uuid::nil(),
        auth_time: None,
        sid: String::new(),
    };
    assert_hidden(&format!("{g:?}"), &["CODE-SECRET"]);
    let d = NewDeviceGrant {
        device_code: "DEVICE-CODE-SECRET".into(),
        user_code: "USERCODE".into(),
        scope: String::new(),
        interval: 5,
        expires: T,
        client_id: "c".into(),
    };
    assert_hidden(&format!("{d:?}"), &["DEVICE-CODE-SECRET", "USERCODE"]);
}

#[test]
fn applications_and_users() {
    assert_hidden(
        &format!("{:?}", application("pbkdf2_sha256$600000$salt$HASHVALUE")),
        &["HASHVALUE"],
    );
    let user = User {
        id: 1,
        username: "alice".into(),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        password: "$argon2id$v=19$m=19456,t=2,p=1$SALT$PWHASH".into(),
        is_active: true,
        is_staff: false,
        is_superuser: false,
        date_joined: T,
        last_login: None,
    };
    let shown = format!("{user:?}");
    assert_hidden(&shown, &["PWHASH", "argon2id"]);
    assert!(shown.contains("alice"));
    let new = NewUser::new("bob", "$argon2id$NEWHASH");
    assert_hidden(&format!("{new:?}"), &["NEWHASH"]);
}
