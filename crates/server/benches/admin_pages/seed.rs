//! Seeding the database: the users, applications and token tables the pages list.

use std::path::Path;
use std::time::Instant;

use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

const USERS: usize = 1_000;
const APPS: usize = 100;
const DEVICE_GRANTS: i64 = 1_000;
const SECOND: i64 = 1_000_000;
const HOUR: i64 = 3_600 * SECOND;

fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

fn mix(i: i64) -> u64 {
    let mut h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^ (h >> 32)
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn uuid_of(kind: u128, i: i64) -> String {
    uuid::Uuid::from_u128((kind << 120) | (u128::from(mix(i)) << 48) | (i as u128)).to_string()
}

/// What the pages search for, from the seeded data.
pub(crate) struct Seeded {
    pub(crate) rows: i64,
    pub(crate) middle_id: i64,
    pub(crate) username: String,
    pub(crate) user_id: i64,
    pub(crate) client_id: String,
    pub(crate) app_id: i64,
    pub(crate) now: i64,
}

/// The seeded access token `i` (its id, 1-based): (user, application, created, expires).
struct Spread {
    n: i64,
    users: Vec<i64>,
    apps: Vec<i64>,
    now: i64,
    step: i64,
}

impl Spread {
    fn owner(&self, i: i64) -> (Option<i64>, i64) {
        let h = mix(i);
        let user = (i % 10 != 0).then(|| self.users[(h % USERS as u64) as usize]);
        (user, self.apps[((h >> 24) % APPS as u64) as usize])
    }

    /// Issued one `step` apart, the newest just now; ten-hour tokens, so the older half has
    /// expired; the newer half is kept live for at least two more hours (the run's length).
    fn times(&self, i: i64) -> (i64, i64) {
        let created = self.now - (self.n - i + 1) * self.step;
        let natural = created + 10 * HOUR;
        let expires = if i <= self.n / 2 {
            natural.min(self.now - 60 * SECOND)
        } else {
            natural.max(self.now + 2 * HOUR)
        };
        (created, expires)
    }
}

fn timed<T>(what: &str, rows: i64, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed().as_secs_f64();
    if rows > 0 {
        println!(
            "  {what:<34} {rows:>9} rows  {took:>7.2} s  ({:>9.0} rows/s)",
            rows as f64 / took.max(1e-9)
        );
    } else {
        println!("  {what:<34} {:>9}       {took:>7.2} s", "");
    }
    out
}

pub(crate) fn seed(path: &Path, n: i64) -> Seeded {
    let started = Instant::now();
    let mut c = Connection::open(path).expect("open the database");
    c.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY;",
    )
    .expect("pragmas");
    let now = now_micros();
    let tx = c.transaction().expect("begin");
    let users: Vec<i64> = timed("users", USERS as i64, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth_toolkit_user (username, email, password, is_active, \
                 is_staff, date_joined) VALUES (?1, ?2, '!bench-unusable', 1, 0, ?3)",
            )
            .expect("prepare");
        (1..=USERS)
            .map(|u| {
                st.execute(params![
                    format!("user{u}"),
                    format!("user{u}@example.com"),
                    now - 30 * 24 * HOUR
                ])
                .expect("user");
                tx.last_insert_rowid()
            })
            .collect()
    });
    let apps: Vec<i64> = timed("applications", APPS as i64, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_application (client_id, user_id, redirect_uris, \
                 client_type, authorization_grant_type, client_secret, name, created, updated) \
                 VALUES (?1, ?2, 'https://app.example/cb', 'confidential', \
                 'authorization-code', '', ?3, ?4, ?4)",
            )
            .expect("prepare");
        (1..=APPS)
            .map(|a| {
                st.execute(params![
                    format!("bench-app-{a:03}"),
                    users[(a * 7) % USERS],
                    format!("Bench app {a}"),
                    now - 30 * 24 * HOUR
                ])
                .expect("application");
                tx.last_insert_rowid()
            })
            .collect()
    });
    // Twenty hours of tokens whatever the size: the older ten have expired.
    let spread = Spread {
        n,
        users,
        apps,
        now,
        step: (20 * HOUR / n.max(1)).max(1),
    };
    timed("access tokens", n, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_accesstoken (user_id, token, token_checksum, \
                 application_id, expires, scope, created, updated) \
                 VALUES (?1, '', ?2, ?3, ?4, 'read write', ?5, ?5)",
            )
            .expect("prepare");
        for i in 1..=n {
            let (user, app) = spread.owner(i);
            let (created, expires) = spread.times(i);
            st.execute(params![
                user,
                sha256_hex(&format!("bench-access-{i}")),
                app,
                expires,
                created
            ])
            .expect("access token");
        }
    });
    let (lo, hi): (i64, i64) = tx
        .query_row(
            "SELECT min(id), max(id) FROM oauth2_provider_accesstoken",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("ids");
    assert_eq!((lo, hi), (1, n), "access token ids are 1..=BENCH_ROWS");
    let refresh = n / 5;
    timed("refresh tokens", refresh, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_refreshtoken (user_id, token, token_checksum, \
                 application_id, access_token_id, revoked, created, updated) \
                 VALUES (?1, '', ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .expect("prepare");
        for j in 1..=refresh {
            // The refresh tokens of the newest access tokens; the older half revoked.
            let k = n - refresh + j;
            let (user, app) = spread.owner(k);
            let (created, _) = spread.times(k);
            let revoked = (j <= refresh / 2).then(|| (created + HOUR).min(now - SECOND));
            let access = (revoked.is_none() && user.is_some()).then_some(k);
            let user = user.unwrap_or(spread.users[(mix(j) % USERS as u64) as usize]);
            st.execute(params![
                user,
                sha256_hex(&format!("bench-refresh-{j}")),
                app,
                access,
                revoked,
                created,
                revoked.unwrap_or(created)
            ])
            .expect("refresh token");
        }
    });
    let grants = n / 10;
    timed("grants", grants, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_grant (user_id, code_checksum, application_id, \
                 expires, redirect_uri, scope, token_family, consumed, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, 'https://app.example/cb', 'read', ?5, ?6, ?7, ?7)",
            )
            .expect("prepare");
        let step = (20 * HOUR / grants.max(1)).max(1);
        for g in 1..=grants {
            let h = mix(g);
            let created = now - (grants - g + 1) * step;
            st.execute(params![
                spread.users[(h % USERS as u64) as usize],
                sha256_hex(&format!("bench-grant-{g}")),
                spread.apps[((h >> 24) % APPS as u64) as usize],
                created + 60 * SECOND,
                uuid_of(1, g),
                (g % 10 != 0).then_some(created + SECOND),
                created
            ])
            .expect("grant");
        }
    });
    let id_tokens = n / 10;
    timed("ID tokens", id_tokens, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_idtoken (user_id, application_id, jti, expires, \
                 scope, created, updated) VALUES (?1, ?2, ?3, ?4, 'openid', ?5, ?5)",
            )
            .expect("prepare");
        let step = (20 * HOUR / id_tokens.max(1)).max(1);
        for t in 1..=id_tokens {
            let h = mix(t + 7);
            let created = now - (id_tokens - t + 1) * step;
            st.execute(params![
                spread.users[(h % USERS as u64) as usize],
                spread.apps[((h >> 24) % APPS as u64) as usize],
                uuid_of(2, t),
                created + HOUR,
                created
            ])
            .expect("ID token");
        }
    });
    timed("device grants", DEVICE_GRANTS, || {
        let mut st = tx
            .prepare(
                "INSERT INTO oauth2_provider_devicegrant (device_code_checksum, user_code, \
                 scope, expires, status, client_id, user_id, created) \
                 VALUES (?1, ?2, 'read', ?3, ?4, ?5, ?6, ?7)",
            )
            .expect("prepare");
        let statuses = ["authorization-pending", "authorized", "denied", "expired"];
        for d in 1..=DEVICE_GRANTS {
            let h = mix(d + 11);
            let status = statuses[(d % 4) as usize];
            let created = now - (DEVICE_GRANTS - d + 1) * 60 * SECOND;
            st.execute(params![
                sha256_hex(&format!("bench-device-{d}")),
                format!("BENCH{d:05}"),
                created + 600 * SECOND,
                status,
                format!("bench-app-{:03}", (h % APPS as u64) + 1),
                (status == "authorized").then(|| spread.users[(h % USERS as u64) as usize]),
                created
            ])
            .expect("device grant");
        }
    });
    timed("commit", 0, || tx.commit().expect("commit"));
    timed("ANALYZE + checkpoint", 0, || {
        c.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("analyze")
    });
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!(
        "  seeding took {:.1} s in all; database file {:.0} MiB",
        started.elapsed().as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    // A user and an application with tokens live and expired.
    let username = "user500".to_string();
    let user_id = spread.users[499];
    let client_id = "bench-app-042".to_string();
    let app_id = spread.apps[41];
    Seeded {
        rows: n,
        middle_id: n / 2,
        username,
        user_id,
        client_id,
        app_id,
        now,
    }
}
