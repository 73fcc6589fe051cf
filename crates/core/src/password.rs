//! User passwords: argon2id for new hashes; Django's `pbkdf2_sha256$…` hashes are also
//! verified (and reported as needing an upgrade) so a DOT user base can be moved over.
//!
//! Argon2 runs on buffers from [`crate::slow_hash`]'s pool rather than a fresh 19 MiB
//! allocation per call, and the `_async` functions go through its gate (at most one hash per
//! core, on tokio's blocking threads). The sync functions are for the CLI and tests.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::slow_hash::{with_argon2_memory, SlowHashGate};

/// Django marks unusable passwords with a leading `!`.
const UNUSABLE_PREFIX: char = '!';
/// Refuse absurd iteration counts in imported hashes (a stored value could otherwise pin a core).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Refuse absurd argon2 costs in stored hashes, for the same reason: 256 MiB of memory (in
/// KiB), 16 passes, 64 lanes. The default is 19 MiB, 2 passes, 1 lane.
const MAX_ARGON2_M_COST: u32 = 256 * 1024;
const MAX_ARGON2_T_COST: u32 = 16;
const MAX_ARGON2_P_COST: u32 = 64;

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password matches; `needs_upgrade` when the stored hash is not argon2id.
    Valid {
        /// Whether the stored hash should be replaced by an argon2id one.
        needs_upgrade: bool,
    },
    /// The password does not match (or the stored hash is unusable or malformed).
    Invalid,
}

impl PasswordCheck {
    /// Whether the password matched.
    pub fn is_valid(self) -> bool {
        matches!(self, PasswordCheck::Valid { .. })
    }
}

/// Hashing a password failed (the message says why).
#[derive(Debug, thiserror::Error)]
#[error("could not hash password: {0}")]
pub struct HashError(String);

/// Hash a password with argon2id (PHC string, random salt, the crate's default cost).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let err = |e: &dyn std::fmt::Display| HashError(e.to_string());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; Salt::MAX_LENGTH];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| err(&e))?;
    let params = Params::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_argon2_memory(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, memory)
    })
    .map_err(|e| err(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| err(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| err(&e))?),
    };
    Ok(phc.to_string())
}

/// [`hash_password`] through the slow hash gate (for request handlers).
pub async fn hash_password_async(password: &str) -> Result<String, HashError> {
    let password = password.to_owned();
    SlowHashGate::global()
        .run(move || hash_password(&password))
        .await
        .unwrap_or_else(|| Err(HashError("the hashing task failed".into())))
}

/// A stored value that no password matches (Django's `set_unusable_password`).
pub fn unusable_password() -> String {
    format!(
        "{UNUSABLE_PREFIX}{}",
        crate::generators::random_string(40, crate::generators::ALPHANUMERIC)
    )
}

/// Whether a stored hash can match any password (not empty, not marked unusable).
pub fn is_usable(stored: &str) -> bool {
    !stored.is_empty() && !stored.starts_with(UNUSABLE_PREFIX)
}

/// Check `password` against a stored argon2 PHC string or a Django pbkdf2_sha256 hash.
pub fn verify_password(password: &str, stored: &str) -> PasswordCheck {
    if !is_usable(stored) {
        return PasswordCheck::Invalid;
    }
    if stored.starts_with("$argon2") {
        return if verify_argon2(password.as_bytes(), stored) {
            PasswordCheck::Valid {
                needs_upgrade: !stored.starts_with("$argon2id$"),
            }
        } else {
            PasswordCheck::Invalid
        };
    }
    if stored.starts_with("pbkdf2_sha256$") {
        return if verify_django_pbkdf2(password, stored) {
            PasswordCheck::Valid {
                needs_upgrade: true,
            }
        } else {
            PasswordCheck::Invalid
        };
    }
    PasswordCheck::Invalid
}

/// True when verifying `stored` costs a slow hash (argon2 or PBKDF2).
pub fn is_slow_hash(stored: &str) -> bool {
    is_usable(stored) && (stored.starts_with("$argon2") || stored.starts_with("pbkdf2_sha256$"))
}

/// A hash to verify against when the username is unknown, so that a wrong username costs
/// as much time as a wrong password and does not reveal which usernames exist. Fixed (its
/// password is no secret) so that no request pays for creating it; a test keeps its cost equal
/// to that of [`hash_password`].
pub const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZGVjb3lkZWNveWRlY295IQ$02CezQBikxQAwqHWIWWjnnwboO6N6me/0keoWFNQzyk";

/// Spend what checking a real password costs, for a username that does not exist: what a
/// [`UserSource`](crate::users::UserSource) of an application's own calls on that path.
pub async fn verify_decoy(password: &str) {
    let _ = verify_password_async(password, DECOY_HASH).await;
}

/// [`verify_password`] through the slow hash gate (for request handlers). A task that fails
/// (panic, runtime shutting down) is `Invalid`.
pub async fn verify_password_async(password: &str, stored: &str) -> PasswordCheck {
    if !is_slow_hash(stored) {
        // Unusable or unknown formats are refused without hashing anything.
        return verify_password(password, stored);
    }
    let (password, stored) = (password.to_owned(), stored.to_owned());
    SlowHashGate::global()
        .run(move || verify_password(&password, &stored))
        .await
        .unwrap_or(PasswordCheck::Invalid)
}

/// Verify an argon2 PHC string (any variant, version 0x10 or 0x13) with pooled memory.
fn verify_argon2(password: &[u8], stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_ARGON2_M_COST
        || params.t_cost() > MAX_ARGON2_T_COST
        || params.p_cost() > MAX_ARGON2_P_COST
    {
        tracing::warn!(
            m_cost = params.m_cost(),
            t_cost = params.t_cost(),
            p_cost = params.p_cost(),
            "refusing an argon2 hash with absurd parameters"
        );
        return false;
    }
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let expected = expected.as_bytes();
    let mut out_buf = [0u8; Output::MAX_LENGTH];
    let Some(out) = out_buf.get_mut(..expected.len()) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = with_argon2_memory(blocks, |memory| {
        argon2
            .hash_password_into_with_memory(password, salt, out, memory)
            .is_ok()
    });
    computed && outputs_match(out, expected)
}

/// Constant-time comparison of a computed and a stored hash output (unequal lengths differ).
fn outputs_match(computed: &[u8], expected: &[u8]) -> bool {
    !expected.is_empty() && bool::from(computed.ct_eq(expected))
}

/// Django's `PBKDF2PasswordHasher`: `pbkdf2_sha256$<iterations>$<salt>$<base64(dk)>`.
pub fn verify_django_pbkdf2(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2_sha256"), Some(iterations), Some(salt), Some(expected), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        return false;
    };
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        return false;
    }
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(expected) else {
        return false;
    };
    if expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let mut derived = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        password.as_bytes(),
        salt.as_bytes(),
        iterations,
        &mut derived,
    );
    derived.ct_eq(&expected).into()
}

/// Make a Django-format hash (used to test imports and by `client_secret_hasher = "pbkdf2_sha256"`).
pub fn make_django_pbkdf2(password: &str, salt: &str, iterations: u32) -> String {
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        password.as_bytes(),
        salt.as_bytes(),
        iterations,
        &mut derived,
    );
    format!(
        "pbkdf2_sha256${iterations}${salt}${}",
        base64::engine::general_purpose::STANDARD.encode(derived)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// A hash made by the argon2 crate's own `PasswordHasher` with the given settings.
    fn reference_hash(password: &str, alg: Algorithm, version: Version, params: Params) -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::new(alg, version, params)
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[test]
    fn our_hashes_verify_with_the_argon2_crate_and_back() {
        let ours = hash_password("s3cret").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"s3cret", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"s3creT", &parsed)
            .is_err());

        let theirs = reference_hash(
            "s3cret",
            Algorithm::Argon2id,
            Version::V0x13,
            Params::default(),
        );
        assert_eq!(
            verify_password("s3cret", &theirs),
            PasswordCheck::Valid {
                needs_upgrade: false
            }
        );
        assert_eq!(verify_password("s3creT", &theirs), PasswordCheck::Invalid);
        // Same shape as the crate's own output.
        assert_eq!(parsed.params, PasswordHash::new(&theirs).unwrap().params);
        assert_ne!(ours, hash_password("s3cret").unwrap(), "salts differ");
    }

    #[test]
    fn older_variants_versions_and_costs_verify() {
        let small = |m, t, p| Params::new(m, t, p, None).unwrap();
        for (alg, version, params, upgrade) in [
            (Algorithm::Argon2i, Version::V0x13, small(4096, 3, 1), true),
            (Algorithm::Argon2d, Version::V0x13, small(4096, 1, 1), true),
            (
                Algorithm::Argon2id,
                Version::V0x10,
                small(4096, 1, 1),
                false,
            ),
            (
                Algorithm::Argon2id,
                Version::V0x13,
                small(4096, 3, 4),
                false,
            ),
            (
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(1024, 1, 1, Some(16)).unwrap(),
                false,
            ),
            // Bigger than a pooled buffer: a one-off allocation.
            (
                Algorithm::Argon2id,
                Version::V0x13,
                small(32 * 1024, 1, 1),
                false,
            ),
        ] {
            let stored = reference_hash("old pw", alg, version, params);
            assert_eq!(
                verify_password("old pw", &stored),
                PasswordCheck::Valid {
                    needs_upgrade: upgrade
                },
                "{stored}"
            );
            assert_eq!(
                verify_password("old pW", &stored),
                PasswordCheck::Invalid,
                "{stored}"
            );
        }
        // Associated data takes part in the hash.
        let with_data = Params::new(1024, 1, 1, None).unwrap();
        let mut builder = argon2::ParamsBuilder::new();
        builder
            .m_cost(with_data.m_cost())
            .t_cost(1)
            .data(argon2::AssociatedData::new(b"ad").unwrap());
        let stored = reference_hash(
            "pw",
            Algorithm::Argon2id,
            Version::V0x13,
            builder.build().unwrap(),
        );
        assert!(verify_password("pw", &stored).is_valid(), "{stored}");
    }

    #[test]
    fn absurd_argon2_parameters_are_refused() {
        // Real hashes that would verify if their cost were accepted (cheap to compute here).
        let many_passes = reference_hash(
            "pw",
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 17, 1, None).unwrap(),
        );
        assert_eq!(verify_password("pw", &many_passes), PasswordCheck::Invalid);
        let many_lanes = reference_hash(
            "pw",
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 65, 1, 65, None).unwrap(),
        );
        assert_eq!(verify_password("pw", &many_lanes), PasswordCheck::Invalid);
        // Just under the bounds still verifies.
        let sixteen = reference_hash(
            "pw",
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 16, 1, None).unwrap(),
        );
        assert!(verify_password("pw", &sixteen).is_valid());
        // Memory: refused before allocating anything (1 GiB, 4 GiB - 1 KiB).
        let started = std::time::Instant::now();
        for m in ["1048576", "4294967295", "262145"] {
            let stored = format!("$argon2id$v=19$m={m},t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            assert_eq!(verify_password("pw", &stored), PasswordCheck::Invalid);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn malformed_argon2_hashes_never_match() {
        let good = hash_password("pw").unwrap();
        let (head, output) = good.rsplit_once('$').unwrap();
        for stored in [
            format!("{head}$"),
            head.to_string(),
            format!("{head}${}", &output[..output.len() - 1]),
            format!("{head}${}AAAA", output),
            good.replace("$argon2id$", "$argon2x$"),
            good.replace("v=19", "v=18"),
            good.replace("m=19456", "m=1"),
            good.replace("p=1", "p=1,x=2"),
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                .into(),
        ] {
            assert_eq!(
                verify_password("pw", &stored),
                PasswordCheck::Invalid,
                "{stored}"
            );
        }
        assert!(verify_password("pw", &good).is_valid());
    }

    #[test]
    fn outputs_are_compared_in_constant_time_and_by_length() {
        // `outputs_match` is subtle's `ct_eq` (no early exit on the first differing byte).
        let a = [7u8; 32];
        let mut b = a;
        assert!(outputs_match(&a, &b));
        b[31] ^= 1;
        assert!(!outputs_match(&a, &b));
        b = a;
        b[0] ^= 1;
        assert!(!outputs_match(&a, &b));
        assert!(!outputs_match(&a[..31], &a));
        assert!(!outputs_match(&[], &[]));
    }

    #[tokio::test]
    async fn async_checks_leave_the_async_worker_free() {
        // One worker thread (current_thread runtime): a check run inline would finish before
        // any task spawned after it gets polled. Through the gate, a trivial task spawned
        // after 4 × N checks runs while they are still queued.
        let stored = hash_password("pw").unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let n = 4 * SlowHashGate::global().limit();
        let checks: Vec<_> = (0..n)
            .map(|_| {
                let (stored, done) = (stored.clone(), done.clone());
                tokio::spawn(async move {
                    let check = verify_password_async("pw", &stored).await;
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    check
                })
            })
            .collect();
        let seen = {
            let done = done.clone();
            tokio::spawn(async move { done.load(std::sync::atomic::Ordering::SeqCst) })
        };
        assert!(seen.await.unwrap() < n);
        for check in checks {
            assert!(check.await.unwrap().is_valid());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_checks_are_bounded_by_the_gate() {
        let gate = SlowHashGate::global();
        let stored = hash_password_async("pw").await.unwrap();
        let django = make_django_pbkdf2("pw", "salt", 1000);
        let n = 4 * gate.limit();
        let mut tasks = Vec::new();
        for i in 0..n {
            let (stored, django) = (stored.clone(), django.clone());
            tasks.push(tokio::spawn(async move {
                let password = if i % 3 == 0 { "wrong" } else { "pw" };
                let hash = if i % 2 == 0 { stored } else { django };
                (i, verify_password_async(password, &hash).await)
            }));
        }
        for task in tasks {
            let (i, check) = task.await.unwrap();
            assert_eq!(check.is_valid(), i % 3 != 0, "{i}");
        }
        assert!(gate.high_water_mark() >= 1);
        assert!(gate.high_water_mark() <= gate.limit());
        // Unusable or unknown formats never reach the gate.
        assert_eq!(
            verify_password_async("pw", "!x").await,
            PasswordCheck::Invalid
        );
        assert_eq!(
            verify_password_async("pw", "pw").await,
            PasswordCheck::Invalid
        );
    }

    #[test]
    fn argon2id_round_trip() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(
            verify_password("s3cret", &h),
            PasswordCheck::Valid {
                needs_upgrade: false
            }
        );
        assert_eq!(verify_password("wrong", &h), PasswordCheck::Invalid);
    }

    #[test]
    fn django_hash_from_django_itself() {
        // Django's format with a vector computed independently of this code:
        // python -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha256',b'password',b'seasalt',1000)).decode())"
        let stored = "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=";
        assert_eq!(
            verify_password("password", stored),
            PasswordCheck::Valid {
                needs_upgrade: true
            }
        );
        assert_eq!(verify_password("Password", stored), PasswordCheck::Invalid);
        assert_eq!(make_django_pbkdf2("password", "seasalt", 1000), stored);
    }

    #[test]
    fn malformed_and_unusable_hashes_never_match() {
        for stored in [
            "",
            "!",
            &unusable_password(),
            "pbkdf2_sha256$",
            "pbkdf2_sha256$x$salt$AAAA",
            "pbkdf2_sha256$0$salt$AAAA",
            "pbkdf2_sha256$99999999999$salt$AAAA",
            "pbkdf2_sha256$1000$salt$!!notbase64",
            "pbkdf2_sha256$1000$salt$AAAA$extra",
            "$argon2id$garbage",
            "plaintext",
        ] {
            assert_eq!(
                verify_password("password", stored),
                PasswordCheck::Invalid,
                "{stored}"
            );
        }
    }
}
