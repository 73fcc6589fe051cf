//! The harness's own checks.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::*;

#[test]
fn parses_effective_uid() {
    let status = "Name:\tcat\nUid:\t1000\t0\t1000\t1000\nGid:\t1\t1\t1\t1\n";
    assert_eq!(parse_effective_uid(status), Some(0));
    assert_eq!(parse_effective_uid("Name:\tx\n"), None);
}

#[test]
fn effective_uid_matches_id_u() {
    let out = Command::new("id").arg("-u").output().unwrap();
    let expected: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(effective_uid().unwrap(), expected);
}

#[test]
fn picks_newest_versioned_bin_dir() {
    let root = tempfile::tempdir().unwrap();
    for (version, complete) in [
        ("9.6", true),
        ("15", true),
        ("16", false),
        ("notaversion", true),
    ] {
        let bin = root.path().join(version).join("bin");
        fs::create_dir_all(&bin).unwrap();
        let names: &[&str] = if complete {
            &["initdb", "pg_ctl", "postgres"]
        } else {
            &["initdb"]
        };
        for name in names {
            let path = bin.join(name);
            fs::write(&path, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let found = newest_versioned_bin_dir(root.path().to_str().unwrap()).unwrap();
    assert_eq!(found, root.path().join("15").join("bin"));
}

#[test]
fn sqlite_url_points_into_the_temp_dir() {
    let (dir, url) = fresh_sqlite_url();
    let path = dir.path().join("db.sqlite3");
    assert_eq!(url, format!("sqlite://{}?mode=rwc", path.display()));
    assert!(url.starts_with("sqlite:///"));
    assert!(!path.exists());
    let kept = dir.path().to_path_buf();
    drop(dir);
    assert!(!kept.exists());
}
