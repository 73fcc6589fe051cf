//! Finding the PostgreSQL programs.

use std::env;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub(crate) struct PgBins {
    pub(crate) initdb: PathBuf,
    pub(crate) pg_ctl: PathBuf,
    pub(crate) postgres: PathBuf,
    pub(crate) psql: PathBuf,
}

impl PgBins {
    /// `initdb`, `pg_ctl` and `postgres` from PATH, else from the newest
    /// `/usr/lib/postgresql/*/bin/`; `psql` next to them, else from PATH.
    pub(crate) fn find() -> io::Result<PgBins> {
        let server = match (which("initdb"), which("pg_ctl"), which("postgres")) {
            (Some(initdb), Some(pg_ctl), Some(postgres)) => Some((initdb, pg_ctl, postgres)),
            _ => newest_versioned_bin_dir("/usr/lib/postgresql")
                .map(|bin| (bin.join("initdb"), bin.join("pg_ctl"), bin.join("postgres"))),
        };
        let Some((initdb, pg_ctl, postgres)) = server else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) were found neither on PATH \
                 nor in /usr/lib/postgresql/*/bin/; the tests need a real PostgreSQL server: \
                 install it (Debian: apt-get install postgresql-15, or postgresql)",
            ));
        };
        let canonical = |p: PathBuf| fs::canonicalize(&p).unwrap_or(p);
        let (initdb, pg_ctl, postgres) =
            (canonical(initdb), canonical(pg_ctl), canonical(postgres));
        let sibling_psql = initdb
            .parent()
            .map(|dir| dir.join("psql"))
            .filter(|p| is_executable(p));
        let Some(psql) = sibling_psql.or_else(|| which("psql")) else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "psql was found neither next to initdb nor on PATH; the tests use it to create \
                 databases: install it (Debian: apt-get install postgresql-client)",
            ));
        };
        Ok(PgBins {
            initdb,
            pg_ctl,
            postgres,
            psql,
        })
    }
}

pub(crate) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// The `bin` directory of the highest version under `root` (e.g. `/usr/lib/postgresql/15/bin`)
/// that has all of initdb, pg_ctl and postgres.
pub(crate) fn newest_versioned_bin_dir(root: &str) -> Option<PathBuf> {
    let mut best: Option<(Vec<u64>, PathBuf)> = None;
    for entry in fs::read_dir(root).ok()?.flatten() {
        let name = entry.file_name();
        let Some(version) = name.to_str().and_then(|s| {
            s.split('.')
                .map(|part| part.parse::<u64>().ok())
                .collect::<Option<Vec<u64>>>()
        }) else {
            continue;
        };
        let bin = entry.path().join("bin");
        if ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| is_executable(&bin.join(b)))
            && match &best {
                None => true,
                Some((newest, _)) => version > *newest,
            }
        {
            best = Some((version, bin));
        }
    }
    best.map(|(_, bin)| bin)
}
