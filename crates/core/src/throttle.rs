//! Throttling guesses: failed sign-ins, device user codes and client secrets are counted in
//! the database ([`ThrottleStore`]), so the limits hold across every process of a deployment.
//!
//! Each throttle counts attempts under a key within a window that opens with the first one.
//! Once `limit` attempts are counted, further ones are refused — right or wrong — until the
//! window closes. What the key holds decides who can be locked out by whom:
//!
//! | throttle | key | a success |
//! |---|---|---|
//! | sign-in (`login_failure_limit`) | username + client address | resets |
//! | sign-in per address (`login_failure_address_limit`) | client address | — (only failures count) |
//! | device user code (`device_user_code_failure_limit`) | the signed-in account | resets |
//! | client authentication (`client_authentication_failure_limit`) | client_id + client address | — (only failures count) |
//!
//! The address is part of the sign-in and client keys on purpose: an attacker who guesses
//! passwords for `alice` locks `alice` out from the attacker's address only, never from
//! alice's own. The price is that an attacker with many addresses gets `limit` guesses per
//! address and window; `login_failure_address_limit` bounds what one address tries over all
//! usernames.
//!
//! User-code attempts are counted *before* the lookup (a right code binds the grant at once,
//! so a guess racing past the limit must not run at all): at most `limit` lookups per account
//! and window. Sign-in and client authentication read the count first and count only
//! failures, so legitimate concurrent requests are never refused for their number; a guess
//! that raced past the limit is answered as refused, never as right or wrong (see
//! `authentication::sign_in`).
//! Keys are stored as SHA-256 digests: the table names no username, address or client.

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::settings::Settings;
use crate::store::{StoreError, ThrottleStore};

/// What is being throttled; each kind has its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleKind {
    /// Sign-in for one username from one address.
    Login,
    /// Sign-in from one address, any username.
    LoginAddress,
    /// Device user-code entry by one account.
    DeviceUserCode,
    /// Client authentication for one client_id from one address.
    ClientAuthentication,
}

impl ThrottleKind {
    fn label(self) -> &'static [u8] {
        match self {
            ThrottleKind::Login => b"login",
            ThrottleKind::LoginAddress => b"login-address",
            ThrottleKind::DeviceUserCode => b"device-user-code",
            ThrottleKind::ClientAuthentication => b"client-authentication",
        }
    }
}

/// A limit and its window, from the settings. `limit == 0` turns the throttle off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Attempts allowed within one window (0: no limit).
    pub limit: u32,
    /// How long a window lasts, in seconds (0: no limit).
    pub window_seconds: u64,
}

impl Limit {
    /// `login_failure_limit` within `login_failure_window_seconds`.
    pub fn login(s: &Settings) -> Limit {
        Limit {
            limit: s.provider.login_failure_limit,
            window_seconds: s.provider.login_failure_window_seconds,
        }
    }

    /// `login_failure_address_limit` within `login_failure_window_seconds`.
    pub fn login_address(s: &Settings) -> Limit {
        Limit {
            limit: s.provider.login_failure_address_limit,
            window_seconds: s.provider.login_failure_window_seconds,
        }
    }

    /// `device_user_code_failure_limit` within `device_user_code_failure_window_seconds`.
    pub fn device_user_code(s: &Settings) -> Limit {
        Limit {
            limit: s.provider.device_user_code_failure_limit,
            window_seconds: s.provider.device_user_code_failure_window_seconds,
        }
    }

    /// `client_authentication_failure_limit` within
    /// `client_authentication_failure_window_seconds`.
    pub fn client_authentication(s: &Settings) -> Limit {
        Limit {
            limit: s.provider.client_authentication_failure_limit,
            window_seconds: s.provider.client_authentication_failure_window_seconds,
        }
    }

    /// Whether this throttle limits anything (both the limit and the window are above 0).
    pub fn is_on(self) -> bool {
        self.limit > 0 && self.window_seconds > 0
    }

    fn window(self) -> i64 {
        i64::try_from(self.window_seconds).unwrap_or(i64::MAX)
    }
}

/// An attempt refused by a throttle: retry after this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Seconds to wait before trying again (at least 1).
    pub retry_after_seconds: u64,
}

/// The stored key: a digest of the kind and its parts (no part can run into the next: each is
/// length-prefixed).
pub fn throttle_key(kind: ThrottleKind, parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    h.update(kind.label());
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// The address as a key part; an unknown address (a library user without `ConnectInfo`) is
/// one shared bucket.
pub fn address_part(addr: Option<IpAddr>) -> Vec<u8> {
    match addr {
        // An IPv4 client seen through an IPv6 socket is the same client.
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets().to_vec(),
        },
        Some(IpAddr::V4(v4)) => v4.octets().to_vec(),
        None => b"unknown".to_vec(),
    }
}

fn retry_after(window_end: OffsetDateTime, now: OffsetDateTime) -> Throttled {
    let secs = (window_end - now).whole_seconds().max(1);
    Throttled {
        retry_after_seconds: u64::try_from(secs).unwrap_or(1),
    }
}

/// Is `key` over its limit now? (A read; for throttles that count only failures.)
pub async fn check(
    store: &(impl ThrottleStore + ?Sized),
    key: &str,
    limit: Limit,
    now: OffsetDateTime,
) -> Result<Result<(), Throttled>, StoreError> {
    if !limit.is_on() {
        return Ok(Ok(()));
    }
    match store.attempts(key, now).await? {
        Some(w) if w.attempts >= i64::from(limit.limit) => Ok(Err(retry_after(w.window_end, now))),
        _ => Ok(Ok(())),
    }
}

/// Count one attempt under `key`; `Err(Throttled)` when it is beyond the limit. Used before
/// the check where every attempt counts (device user codes), and after a failed check where
/// only failures count (sign-in, client authentication: a failure beyond the limit raced past
/// the check and is answered as refused rather than as a wrong guess).
pub async fn count(
    store: &(impl ThrottleStore + ?Sized),
    key: &str,
    limit: Limit,
    now: OffsetDateTime,
) -> Result<Result<(), Throttled>, StoreError> {
    if !limit.is_on() {
        return Ok(Ok(()));
    }
    let w = store.count_attempt(key, now, limit.window()).await?;
    if w.attempts > i64::from(limit.limit) {
        return Ok(Err(retry_after(w.window_end, now)));
    }
    Ok(Ok(()))
}

/// A human wording of a wait, for pages ("3 minutes", "40 seconds").
pub fn describe_wait(seconds: u64) -> String {
    match seconds {
        0..=1 => "1 second".to_string(),
        2..=90 => format!("{seconds} seconds"),
        _ => {
            let minutes = seconds.div_ceil(60);
            format!("{minutes} minutes")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_per_kind_and_parts() {
        let a = throttle_key(ThrottleKind::Login, &[b"alice", b"1"]);
        assert_eq!(a.len(), 64);
        assert_ne!(a, throttle_key(ThrottleKind::Login, &[b"alic", b"e1"]));
        assert_ne!(
            a,
            throttle_key(ThrottleKind::ClientAuthentication, &[b"alice", b"1"])
        );
        assert_eq!(a, throttle_key(ThrottleKind::Login, &[b"alice", b"1"]));
    }

    #[test]
    fn mapped_ipv4_is_the_same_address() {
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(address_part(Some(v4)), address_part(Some(mapped)));
        assert_ne!(address_part(Some(v4)), address_part(None));
    }

    #[test]
    fn waits_read_well() {
        assert_eq!(describe_wait(0), "1 second");
        assert_eq!(describe_wait(40), "40 seconds");
        assert_eq!(describe_wait(899), "15 minutes");
    }
}
