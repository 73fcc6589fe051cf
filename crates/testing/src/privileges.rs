//! Running PostgreSQL as the `postgres` user when the tests run as root.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::*;

/// The effective uid, from /proc/self/status (or `id -u` where there is no /proc).
pub(crate) fn effective_uid() -> io::Result<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        if let Some(uid) = parse_effective_uid(&status) {
            return Ok(uid);
        }
    }
    let out = Command::new("id").arg("-u").output()?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| io::Error::other("could not determine the effective uid (`id -u`)"))
}

/// The second field of the `Uid:` line of /proc/<pid>/status (real, effective, saved, fs).
pub(crate) fn parse_effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub(crate) fn check_root_prerequisites() -> io::Result<()> {
    if which("runuser").is_none() && !is_executable(Path::new("/usr/sbin/runuser")) {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "running as root, where PostgreSQL must be run as the `postgres` user, but `runuser` \
             was not found (Debian: package util-linux)",
        ));
    }
    let known = Command::new("id")
        .args(["-u", "postgres"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !known {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "running as root, where PostgreSQL must be run as the `postgres` user, but there is \
             no such user (the postgresql package creates it; or: useradd --system postgres)",
        ));
    }
    Ok(())
}

/// A command that runs `program` as the `postgres` user when we are root, directly otherwise.
pub(crate) fn postgres_user_command(as_postgres: bool, program: &Path) -> Command {
    let mut cmd = if as_postgres {
        let runuser = which("runuser").unwrap_or_else(|| PathBuf::from("/usr/sbin/runuser"));
        let mut cmd = Command::new(runuser);
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    };
    // `/` is readable by `postgres`; the test's own working directory may not be.
    cmd.current_dir("/").env("LC_ALL", "C").env("LANG", "C");
    for var in ["PGDATA", "PGPORT", "PGHOST", "PGOPTIONS"] {
        cmd.env_remove(var);
    }
    cmd
}

/// Create `/tmp/oauth-toolkit-pg.<pid>.<n>.<nanos>/` with `sock/` and `server.log`, mode 0700,
/// owned by `postgres` when we are root.
pub(crate) fn make_server_dir(as_postgres: bool) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // Always /tmp (not $TMPDIR): short enough for the Unix socket path, and traversable by
    // the `postgres` user when we are root.
    let base = Path::new("/tmp");
    let dir = loop {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let candidate = base.join(format!(
            "{DIR_PREFIX}{}.{}.{nanos:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        match fs::DirBuilder::new().mode(0o700).create(&candidate) {
            Ok(()) => break candidate,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("could not create {}: {e}", candidate.display()),
                ))
            }
        }
    };
    let prepared = (|| {
        fs::DirBuilder::new().mode(0o700).create(dir.join("sock"))?;
        fs::File::create(dir.join("server.log"))?;
        if as_postgres {
            let out = Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(&dir)
                .output()?;
            if !out.status.success() {
                return Err(io::Error::other(format!(
                    "chown -R postgres: {} failed: {}",
                    dir.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        Ok(())
    })();
    match prepared {
        Ok(()) => Ok(dir),
        Err(e) => {
            let _ = fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}
