//! Test support for OAuth Toolkit: real, throwaway PostgreSQL servers built from the
//! system binaries (no mocks, no containers) and temporary SQLite database URLs.
//!
//! # PostgreSQL
//!
//! [`PgServer::start`] runs `initdb` into a fresh directory under `/tmp`, starts `postgres`
//! on a free loopback port with durability switched off (`fsync`, `synchronous_commit`,
//! `full_page_writes`), and waits until the server reports itself ready.
//! [`PgServer::fresh_database_url`] then creates an empty database with a unique name per call.
//! Most tests want [`shared_pg`], one lazily started server per test process.
//!
//! The binaries (`initdb`, `pg_ctl`, `postgres`) are taken from `PATH`, or else from the
//! newest `/usr/lib/postgresql/*/bin/`. `psql` (package `postgresql-client`) is used to
//! create databases. If anything is missing, starting fails with an error that says what to
//! install: tests fail loudly, they are never skipped.
//!
//! PostgreSQL refuses to run as root. When the effective uid is 0 every PostgreSQL program is
//! run through `runuser -u postgres --` and the server directory is owned by `postgres`.
//!
//! # Cleanup, and why one server per process
//!
//! `cargo nextest` runs every test in its own process and `cargo test` runs all the tests of a
//! binary in one process, and in both a `static` is never dropped. A server shared between
//! processes (through a lock file) would need someone to decide when the last user is gone,
//! which is fragile when processes crash or are killed. So the design is: **each process that
//! needs PostgreSQL starts its own server, and the server's lifetime is tied to that process
//! by the kernel**:
//!
//! * The postmaster is started through a tiny `sh` watchdog whose standard input is a pipe
//!   whose only write end is held by the test process (Rust opens pipes close-on-exec, so no
//!   other child inherits it). The shell starts a detached watcher (double fork, so it is
//!   not a child of the postmaster) and then `exec`s `postgres`, so the postmaster keeps the
//!   shell's pid. The watcher blocks in `cat` on the pipe. However the test process ends
//!   (normal exit, panic, `abort`, `SIGKILL`, a nextest timeout), the kernel closes the write
//!   end, `cat` sees end-of-file, and the watcher stops the postmaster with `SIGQUIT`
//!   (immediate shutdown; `SIGKILL` after 10 s), waits for it to go away, and deletes the
//!   server directory. Before each signal it checks that the pid's command line still names
//!   the server directory, so a reused pid is never signalled. The watcher ignores
//!   `SIGINT`/`SIGTERM`/`SIGHUP`, so a Ctrl-C or nextest's `SIGTERM` to the process group
//!   does not stop it before it has cleaned up.
//! * [`PgServer`]'s `Drop` (for servers that are not the shared one) runs
//!   `pg_ctl stop -m immediate`, waits for the server process, removes the directory, and
//!   closes the watchdog pipe.
//!
//! Server start-up costs about a second, mostly `initdb`. To keep a nextest run with many
//! PostgreSQL tests fast, the first `initdb` output is also copied (atomically, by rename) to
//! a template under the cargo target directory (`target/<profile>/oauth-toolkit-pg/`), and
//! later servers copy that template (`cp -a`) instead of running `initdb`. The template is
//! only a cache: when it is missing, unusable or a server started from it fails, `initdb`
//! is run instead.
//!
//! # SQLite
//!
//! [`fresh_sqlite_url`] returns a `sqlite://…?mode=rwc` URL to a file in a new temporary
//! directory; keep the returned [`tempfile::TempDir`] alive as long as the database is used.

use std::collections::hash_map::DefaultHasher;
use std::env;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long to wait for a started server to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times to try a new port (and directory) when the server cannot start on one.
const START_ATTEMPTS: usize = 5;
/// Bumped whenever the `initdb` options change, so old templates are not reused.
const TEMPLATE_FORMAT: &str = "initdb-v1:-A trust -U postgres --no-sync -E UTF8 --locale=C";
/// Prefix of the per-server directories under `/tmp`.
const DIR_PREFIX: &str = "oauth-toolkit-pg.";

/// `sh -c` script that starts the postmaster and stops it (and deletes the server directory)
/// once its standard input, a pipe held by the test process, reaches end-of-file.
/// Arguments: `$1` = server directory, `$2…` = the postgres command line.
const WATCHDOG_SCRIPT: &str = r#"
dir=$1
shift
pm=$$
PATH="$PATH:/usr/local/bin:/usr/bin:/bin"
# True while process $pm is still this server (the shell, then the postmaster it becomes):
# its command line names our directory. A zombie's is empty; a reused pid's is another one.
ours() {
  case "$(tr '\0' ' ' <"/proc/$pm/cmdline" 2>/dev/null)" in
    *"$dir/"*) return 0 ;;
  esac
  return 1
}
exec 3<&0 </dev/null
( (
  trap '' HUP INT TERM QUIT PIPE
  cat <&3 >/dev/null 2>&1
  exec 3<&-
  if ours && kill -QUIT "$pm" 2>/dev/null; then
    i=0
    while ours && [ "$i" -lt 100 ]; do
      sleep 0.1
      i=$((i + 1))
    done
    ours && kill -KILL "$pm" 2>/dev/null
  fi
  rm -rf "$dir"
) & )
exec 3<&-
exec "$@"
"#;

/// A throwaway PostgreSQL server: its own directory under `/tmp` (data directory, socket
/// directory, `server.log`), a loopback TCP port, and the server process.
///
/// Dropping it stops the server (`pg_ctl stop -m immediate`) and removes the directory. If
/// the process ends without dropping it (as with [`shared_pg`]), a watchdog does the same;
/// see the crate documentation.
pub struct PgServer {
    dir: PathBuf,
    port: u16,
    bins: PgBins,
    as_postgres: bool,
    child: Mutex<Option<Child>>,
    watchdog: Mutex<Option<ChildStdin>>,
    next_db: AtomicU64,
}

impl std::fmt::Debug for PgServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgServer")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .field("as_postgres", &self.as_postgres)
            .finish_non_exhaustive()
    }
}

impl PgServer {
    /// Start a throwaway PostgreSQL from the system binaries on a free loopback port in a
    /// temp dir.
    ///
    /// Errors name what is missing (binaries, `psql`, the `postgres` user, `runuser`) or
    /// include the tail of the server log.
    pub fn start() -> io::Result<PgServer> {
        let bins = PgBins::find()?;
        let as_postgres = effective_uid()? == 0;
        if as_postgres {
            check_root_prerequisites()?;
        }
        let template = template_path(&bins, as_postgres);
        let mut use_template = true;
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let dir = make_server_dir(as_postgres)?;
            let from_template = use_template
                && template
                    .as_deref()
                    .is_some_and(|t| copy_template(t, &dir.join("data")).is_ok());
            if !from_template {
                if let Err(e) = run_initdb(&bins, as_postgres, &dir) {
                    let _ = fs::remove_dir_all(&dir);
                    return Err(e);
                }
                if let Some(t) = template.as_deref() {
                    publish_template(&dir.join("data"), t);
                }
            }
            match Self::launch(bins.clone(), as_postgres, dir) {
                Ok(server) => return Ok(server),
                Err(Launch::PortTaken(msg)) => failures.push(msg),
                Err(Launch::Failed(msg)) if from_template => {
                    // Maybe a bad template: fall back to a fresh initdb.
                    use_template = false;
                    failures.push(msg);
                }
                Err(Launch::Failed(msg)) => {
                    failures.push(msg);
                    return Err(io::Error::other(failures.join("\n\n")));
                }
            }
        }
        Err(io::Error::other(format!(
            "throwaway PostgreSQL did not start after {START_ATTEMPTS} attempts:\n\n{}",
            failures.join("\n\n")
        )))
    }

    /// Spawn the postmaster (under the watchdog) in a prepared directory and wait until ready.
    fn launch(bins: PgBins, as_postgres: bool, dir: PathBuf) -> Result<PgServer, Launch> {
        let port = match free_port() {
            Ok(port) => port,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(Launch::Failed(format!("no free loopback port: {e}")));
            }
        };
        let spawned = (|| {
            let log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("server.log"))?;
            let mut cmd = postgres_user_command(as_postgres, Path::new("/bin/sh"));
            cmd.arg("-c")
                .arg(WATCHDOG_SCRIPT)
                .arg("oauth-toolkit-pg-watchdog")
                .arg(&dir)
                .arg(&bins.postgres)
                .arg("-D")
                .arg(dir.join("data"))
                .arg("-p")
                .arg(port.to_string())
                .arg("-k")
                .arg(dir.join("sock"))
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args(["-c", "fsync=off"])
                .args(["-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off"])
                .args(["-c", "max_connections=200"])
                .stdin(Stdio::piped())
                .stdout(log.try_clone()?)
                .stderr(log);
            cmd.spawn()
        })();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(Launch::Failed(format!("could not spawn postgres: {e}")));
            }
        };
        let watchdog = child.stdin.take();
        let server = PgServer {
            dir,
            port,
            bins,
            as_postgres,
            child: Mutex::new(Some(child)),
            watchdog: Mutex::new(watchdog),
            next_db: AtomicU64::new(1),
        };
        // On error `server` is dropped here, which stops whatever started and cleans up.
        server.wait_ready().map(|()| server)
    }

    /// Poll until `postmaster.pid` says "ready" for our port and the port accepts TCP.
    fn wait_ready(&self) -> Result<(), Launch> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            let exited = {
                let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
                match guard.as_mut().map(Child::try_wait) {
                    Some(Ok(Some(status))) => Some(status),
                    _ => None,
                }
            };
            if let Some(status) = exited {
                let log = self.log_tail(40);
                let msg = format!(
                    "postgres exited during start-up on port {} ({}); server log {}:\n{log}",
                    self.port,
                    describe(status),
                    self.log_path().display()
                );
                let port_taken = [
                    "could not bind",
                    "Address already in use",
                    "could not create any TCP/IP sockets",
                ]
                .iter()
                .any(|needle| log.contains(needle));
                return Err(if port_taken {
                    Launch::PortTaken(msg)
                } else {
                    Launch::Failed(msg)
                });
            }
            if self.pidfile_says_ready()
                && TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Launch::Failed(format!(
                    "postgres did not become ready on port {} within {READY_TIMEOUT:?}; server log {}:\n{}",
                    self.port,
                    self.log_path().display(),
                    self.log_tail(40)
                )));
            }
            sleep(Duration::from_millis(25));
        }
    }

    fn pidfile_says_ready(&self) -> bool {
        let Ok(text) = fs::read_to_string(self.dir.join("data").join("postmaster.pid")) else {
            return false;
        };
        let lines: Vec<&str> = text.lines().collect();
        lines.len() >= 8 && lines[3].trim() == self.port.to_string() && lines[7].trim() == "ready"
    }

    /// A URL to a fresh, empty database on this server (`CREATE DATABASE` with a unique name
    /// each call), e.g. `postgres://postgres@127.0.0.1:PORT/test_3`.
    pub fn fresh_database_url(&self) -> io::Result<String> {
        let name = format!("test_{}", self.next_db.fetch_add(1, Ordering::Relaxed));
        let out = self
            .psql("postgres")
            .arg("-c")
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("could not run {}: {e}", self.bins.psql.display()),
                )
            })?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "CREATE DATABASE {name} on port {} failed ({}): {}\nserver log {}:\n{}",
                self.port,
                describe(out.status),
                String::from_utf8_lossy(&out.stderr).trim(),
                self.log_path().display(),
                self.log_tail(20)
            )));
        }
        Ok(self.database_url(&name))
    }

    /// The URL of database `name` on this server (user `postgres`, no password).
    pub fn database_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// A `psql` command connected to database `database` of this server as `postgres`
    /// (`-X -q -v ON_ERROR_STOP=1`); add `-c SQL` or other arguments and run it.
    pub fn psql(&self, database: &str) -> Command {
        let mut cmd = Command::new(&self.bins.psql);
        cmd.args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
        ])
        .arg("-p")
        .arg(self.port.to_string())
        .arg("-d")
        .arg(database)
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null());
        for var in [
            "PGSERVICE",
            "PGSERVICEFILE",
            "PGOPTIONS",
            "PGPASSWORD",
            "PGSSLMODE",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// The loopback TCP port the server listens on (address `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's own directory (`data/`, `sock/`, `server.log`); removed on cleanup.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the server log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// The pid of the postmaster, from `postmaster.pid` (None once the server has stopped).
    pub fn postmaster_pid(&self) -> Option<u32> {
        fs::read_to_string(self.dir.join("data").join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// The last `lines` lines of the server log (empty if it cannot be read).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read(self.log_path()).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let child = self
            .child
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let watchdog = self
            .watchdog
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mut child) = child {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = postgres_user_command(self.as_postgres, &self.bins.pg_ctl)
                    .arg("stop")
                    .arg("-D")
                    .arg(self.dir.join("data"))
                    .args(["-m", "immediate", "-w", "-t", "10"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            if !wait_for(&mut child, Duration::from_secs(10)) {
                // pg_ctl did not stop it: let the watchdog try (SIGQUIT, then SIGKILL).
                drop(watchdog);
                if !wait_for(&mut child, Duration::from_secs(15)) {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                remove_dir_all_patiently(&self.dir);
                return;
            }
        }
        remove_dir_all_patiently(&self.dir);
        // Closing the pipe lets the watchdog exit (the server is gone, nothing to do).
        drop(watchdog);
    }
}

/// The server shared by all tests of this process (started lazily, once).
///
/// Panics with the start-up error if the server cannot be started (every test that asks
/// for it then fails with the same message; the start is not retried). Use
/// [`try_shared_pg`] to get the error instead.
///
/// The server is never dropped: it is stopped, and its directory deleted, by its watchdog
/// when the test process exits, however it exits (see the crate documentation). Under
/// `cargo nextest` each test process that calls this starts its own server; processes that
/// never call it start none.
pub fn shared_pg() -> &'static PgServer {
    match shared() {
        Ok(server) => server,
        Err(e) => panic!("could not start the throwaway PostgreSQL server for tests: {e}"),
    }
}

/// Like [`shared_pg`], but returns the start-up error instead of panicking.
pub fn try_shared_pg() -> io::Result<&'static PgServer> {
    shared().map_err(|e| io::Error::other(e.clone()))
}

fn shared() -> Result<&'static PgServer, &'static String> {
    static SHARED: OnceLock<Result<PgServer, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| PgServer::start().map_err(|e| e.to_string()))
        .as_ref()
}

/// A fresh SQLite database URL in a temp dir: `sqlite:///tmp/.../db.sqlite3?mode=rwc`.
///
/// The database file does not exist yet (`mode=rwc` creates it on first connect). Keep the
/// returned [`tempfile::TempDir`] alive while the database is used; dropping it deletes the
/// directory. Panics if no temporary directory can be created.
pub fn fresh_sqlite_url() -> (tempfile::TempDir, String) {
    let dir = tempfile::Builder::new()
        .prefix("oauth-toolkit-sqlite.")
        .tempdir()
        .expect("could not create a temporary directory for a SQLite database");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("db.sqlite3").display()
    );
    (dir, url)
}

// ---------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------

enum Launch {
    /// The server could not listen on the chosen port: try another one.
    PortTaken(String),
    Failed(String),
}

#[derive(Clone, Debug)]
struct PgBins {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    postgres: PathBuf,
    psql: PathBuf,
}

impl PgBins {
    /// `initdb`, `pg_ctl` and `postgres` from PATH, else from the newest
    /// `/usr/lib/postgresql/*/bin/`; `psql` next to them, else from PATH.
    fn find() -> io::Result<PgBins> {
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

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn which(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// The `bin` directory of the highest version under `root` (e.g. `/usr/lib/postgresql/15/bin`)
/// that has all of initdb, pg_ctl and postgres.
fn newest_versioned_bin_dir(root: &str) -> Option<PathBuf> {
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

/// The effective uid, from /proc/self/status (or `id -u` where there is no /proc).
fn effective_uid() -> io::Result<u32> {
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
fn parse_effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn check_root_prerequisites() -> io::Result<()> {
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
fn postgres_user_command(as_postgres: bool, program: &Path) -> Command {
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
fn make_server_dir(as_postgres: bool) -> io::Result<PathBuf> {
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

fn run_initdb(bins: &PgBins, as_postgres: bool, dir: &Path) -> io::Result<()> {
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
fn template_path(bins: &PgBins, as_postgres: bool) -> Option<PathBuf> {
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

fn copy_template(template: &Path, data: &Path) -> io::Result<()> {
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
fn publish_template(data: &Path, template: &Path) {
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

/// A port that was free on 127.0.0.1 a moment ago (the caller retries if it is taken).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn wait_for(child: &mut Child, timeout: Duration) -> bool {
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
fn remove_dir_all_patiently(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while dir.exists() && fs::remove_dir_all(dir).is_err() && Instant::now() < deadline {
        sleep(Duration::from_millis(50));
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
