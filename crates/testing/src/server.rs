//! A throwaway PostgreSQL server: start, databases, stop.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::*;

/// How long to wait for a started server to accept connections.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times to try a new port (and directory) when the server cannot start on one.
pub(crate) const START_ATTEMPTS: usize = 5;
/// Bumped whenever the `initdb` options change, so old templates are not reused.
pub(crate) const TEMPLATE_FORMAT: &str =
    "initdb-v1:-A trust -U postgres --no-sync -E UTF8 --locale=C";
/// Prefix of the per-server directories under `/tmp`.
pub(crate) const DIR_PREFIX: &str = "oauth-toolkit-pg.";

/// `sh -c` script that starts the postmaster and stops it (and deletes the server directory)
/// once its standard input, a pipe held by the test process, reaches end-of-file.
/// Arguments: `$1` = server directory, `$2…` = the postgres command line.
pub(crate) const WATCHDOG_SCRIPT: &str = r#"
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

pub(crate) enum Launch {
    /// The server could not listen on the chosen port: try another one.
    PortTaken(String),
    Failed(String),
}
