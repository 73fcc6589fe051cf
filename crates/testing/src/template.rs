//! The cached `initdb` output later servers copy instead of running `initdb`.

use std::collections::hash_map::DefaultHasher;
use std::env;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::*;

pub(crate) fn run_initdb(bins: &PgBins, as_postgres: bool, dir: &Path) -> io::Result<()> {
    let out = postgres_user_command(as_postgres, &bins.initdb)
        .arg("-D")
        .arg(dir.join("data"))
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("could not run {}: {e}", bins.initdb.display()),
            )
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{} failed ({}){}:\n{}{}",
        bins.initdb.display(),
        describe(out.status),
        if as_postgres { " as user postgres" } else { "" },
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )))
}

/// Where the `initdb` template for these binaries lives: next to the test executable's
/// `deps/` directory, i.e. `target/<profile>/oauth-toolkit-pg/template-<key>`.
pub(crate) fn template_path(bins: &PgBins, as_postgres: bool) -> Option<PathBuf> {
    let exe = env::current_exe().ok()?;
    let mut dir = exe.parent()?.to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    let meta = fs::metadata(&bins.postgres).ok()?;
    let mut hasher = DefaultHasher::new();
    (
        TEMPLATE_FORMAT,
        &bins.initdb,
        &bins.postgres,
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        as_postgres,
    )
        .hash(&mut hasher);
    Some(
        dir.join("oauth-toolkit-pg")
            .join(format!("template-{:016x}", hasher.finish())),
    )
}

pub(crate) fn copy_template(template: &Path, data: &Path) -> io::Result<()> {
    if !template.join("PG_VERSION").is_file() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no template"));
    }
    let ok = Command::new("cp")
        .arg("-a")
        .arg(template)
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        let _ = fs::remove_dir_all(data);
        Err(io::Error::other("copying the template failed"))
    }
}

/// Best effort: copy a fresh `initdb` result to a staging directory and rename it into place,
/// so the template appears complete or not at all. Losing a race to another process is fine.
pub(crate) fn publish_template(data: &Path, template: &Path) {
    let Some(parent) = template.parent() else {
        return;
    };
    if template.exists() || fs::create_dir_all(parent).is_err() {
        return;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let staging = parent.join(format!("staging-{}-{nanos:x}", std::process::id()));
    let copied = Command::new("cp")
        .arg("-a")
        .arg(data)
        .arg(&staging)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !copied || fs::rename(&staging, template).is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
}
