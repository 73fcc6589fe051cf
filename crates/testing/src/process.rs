//! Small process and file-system helpers.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A port that was free on 127.0.0.1 a moment ago (the caller retries if it is taken).
pub(crate) fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

pub(crate) fn wait_for(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => sleep(Duration::from_millis(20)),
        }
    }
}

/// Remove `dir`, retrying briefly: the watchdog may be deleting it at the same time.
pub(crate) fn remove_dir_all_patiently(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while dir.exists() && fs::remove_dir_all(dir).is_err() && Instant::now() < deadline {
        sleep(Duration::from_millis(50));
    }
}

pub(crate) fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}
