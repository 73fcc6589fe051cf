//! Integration tests for the throwaway PostgreSQL servers: they start real servers from the
//! system binaries and check that nothing is left behind.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use oauth_toolkit_testing::{shared_pg, PgServer};

/// Set in the child processes spawned by the "process exit" tests.
const CHILD_MODE_VAR: &str = "OAUTH_TOOLKIT_TESTING_CHILD_MODE";

/// State letter from /proc/<pid>/stat, or None when there is no such process.
fn proc_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

fn proc_comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A live (not zombie) process named `postgres`.
fn is_live_postgres(pid: u32) -> bool {
    matches!(proc_state(pid), Some(state) if state != 'Z' && state != 'X')
        && proc_comm(pid) == "postgres"
}

/// The postmaster and its `postgres` children (checkpointer, backends, ...).
fn server_processes(postmaster: u32) -> Vec<u32> {
    let mut pids = vec![postmaster];
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let ppid = stat[close + 1..].split_whitespace().nth(1);
        if ppid == Some(postmaster.to_string().as_str()) && proc_comm(pid) == "postgres" {
            pids.push(pid);
        }
    }
    pids
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(50));
    }
}

fn psql_select_1(url: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            "SELECT 1",
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn psql_query(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            sql,
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {url} -c {sql:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

#[test]
fn start_creates_fresh_databases_and_drop_cleans_up() {
    let server = PgServer::start().expect("start PostgreSQL");
    let dir = server.dir().to_path_buf();
    let port = server.port();
    assert!(dir.join("data").join("PG_VERSION").is_file());
    if running_as_root() {
        let owner = fs::metadata(dir.join("data")).unwrap().uid();
        let out = Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .unwrap();
        let postgres_uid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert_eq!(
            owner, postgres_uid,
            "data directory should belong to postgres"
        );
    }

    let first = server.fresh_database_url().expect("first database");
    let second = server.fresh_database_url().expect("second database");
    assert_ne!(first, second);
    for url in [&first, &second] {
        assert!(
            url.starts_with(&format!("postgres://postgres@127.0.0.1:{port}/test_")),
            "{url}"
        );
        assert_eq!(psql_select_1(url), "1");
        // Fresh means empty: no tables of ours.
        assert_eq!(
            psql_query(
                url,
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ),
            "0"
        );
    }
    // The databases are separate.
    psql_query(&first, "CREATE TABLE only_in_first (id int)");
    assert_eq!(
        psql_query(
            &second,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_first'"
        ),
        "0"
    );

    let postmaster = server.postmaster_pid().expect("postmaster.pid");
    let processes = server_processes(postmaster);
    assert!(is_live_postgres(postmaster));
    assert!(processes.len() > 1, "expected postgres auxiliary processes");

    drop(server);

    let leftovers: Vec<u32> = processes
        .into_iter()
        .filter(|&p| is_live_postgres(p))
        .collect();
    assert!(
        leftovers.is_empty(),
        "postgres processes left after drop: {leftovers:?}"
    );
    assert!(!dir.exists(), "{} left after drop", dir.display());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections"
    );
}

#[test]
fn shared_pg_is_one_server_per_process() {
    let a = shared_pg();
    let b = shared_pg();
    assert!(std::ptr::eq(a, b));
    let url = a.fresh_database_url().expect("database");
    assert_eq!(psql_select_1(&url), "1");
}

#[test]
fn sqlite_url_is_usable_path() {
    let (dir, url) = oauth_toolkit_testing::fresh_sqlite_url();
    let path = url
        .strip_prefix("sqlite://")
        .and_then(|rest| rest.strip_suffix("?mode=rwc"))
        .expect("sqlite://PATH?mode=rwc");
    assert!(Path::new(path).is_absolute());
    assert!(Path::new(path).starts_with(dir.path()));
    // The directory is writable: the database file can be created there.
    fs::write(path, b"").unwrap();
}

/// Runs only inside the child processes of the tests below: starts the shared server, opens
/// a long-running connection, reports, then ends the process the way the test asked.
#[test]
fn child_process_helper() {
    let Ok(mode) = std::env::var(CHILD_MODE_VAR) else {
        return;
    };
    let server = shared_pg();
    let url = server.fresh_database_url().expect("database");
    // A busy backend, so the server has a client when the process dies. The psql process
    // is not waited for on purpose: it ends when the server goes away.
    #[allow(clippy::zombie_processes)]
    let _busy = Command::new("psql")
        .args(["-X", "-q", &url, "-c", "SELECT pg_sleep(600)"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn psql");
    let postmaster = server.postmaster_pid().expect("postmaster.pid");
    assert!(wait_until(Duration::from_secs(10), || {
        server_processes(postmaster).len() > 1
            && psql_query(
                &url,
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'",
            ) == "1"
    }));
    let pids: Vec<String> = server_processes(postmaster)
        .iter()
        .map(u32::to_string)
        .collect();
    println!(
        "PGINFO {} {} {}",
        server.port(),
        server.dir().display(),
        pids.join(",")
    );
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    // Wait until the parent has looked at the running server.
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    match mode.as_str() {
        "exit" => std::process::exit(0),
        "abort" => std::process::abort(),
        "panic" => panic!("deliberate panic with the shared server running"),
        "wait" => loop {
            sleep(Duration::from_secs(1));
        },
        other => panic!("unknown mode {other}"),
    }
}

/// Kills and reaps the child test process if the test fails before it is done with it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a child test process that uses `shared_pg`, end it with `mode`, and check that its
/// server processes and directory disappear.
fn check_process_exit_cleanup(mode: &str) {
    let exe = std::env::current_exe().unwrap();
    let mut child = KillOnDrop(
        Command::new(exe)
            .args([
                "child_process_helper",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_MODE_VAR, mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child test process"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest may have printed "test child_process_helper ... " on the same line.
            if let Some((_, rest)) = line.split_once("PGINFO ") {
                let _ = tx.send(rest.to_string());
            }
        }
    });
    let info = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("child ({mode}) did not report its server: {e}"));
    let mut fields = info.split(' ');
    let port: u16 = fields.next().unwrap().parse().unwrap();
    let dir = PathBuf::from(fields.next().unwrap());
    let pids: Vec<u32> = fields
        .next()
        .unwrap()
        .split(',')
        .map(|p| p.parse().unwrap())
        .collect();
    // The postmaster comes first; a short-lived backend in the list may be gone already.
    assert!(
        is_live_postgres(pids[0]),
        "postmaster {} not running",
        pids[0]
    );
    let pids: Vec<u32> = pids.into_iter().filter(|&p| is_live_postgres(p)).collect();
    assert!(pids.len() > 1, "no postgres children: {pids:?}");
    assert!(dir.exists());

    // Let the child go on to exit / abort / panic / wait.
    use std::io::Write;
    let mut stdin = child.0.stdin.take().unwrap();
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);

    if mode == "wait" {
        child.0.kill().unwrap(); // SIGKILL: no destructor, no atexit, nothing runs.
    }
    let status = child.0.wait().unwrap();
    match mode {
        "exit" => assert!(status.success(), "{status}"),
        "wait" | "abort" | "panic" => assert!(!status.success(), "{status}"),
        _ => {}
    }

    let started = Instant::now();
    let gone = wait_until(Duration::from_secs(20), || {
        pids.iter().all(|&p| !is_live_postgres(p)) && !dir.exists()
    });
    let leftovers: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|&p| is_live_postgres(p))
        .collect();
    assert!(
        gone,
        "after the child ({mode}) ended: live postgres processes {leftovers:?}, directory {} exists: {}",
        dir.display(),
        dir.exists()
    );
    eprintln!(
        "child ({mode}): server processes and {} gone {:?} after the process ended",
        dir.display(),
        started.elapsed()
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn shared_server_stops_when_process_exits() {
    check_process_exit_cleanup("exit");
}

#[test]
fn shared_server_stops_when_process_aborts() {
    check_process_exit_cleanup("abort");
}

#[test]
fn shared_server_stops_when_test_panics() {
    check_process_exit_cleanup("panic");
}

#[test]
fn shared_server_stops_when_process_is_killed() {
    check_process_exit_cleanup("wait");
}
