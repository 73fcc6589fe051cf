//! Shared support for the black-box tests: a scratch environment per test (working dir +
//! database on SQLite or PostgreSQL), running `serve` processes, and helpers.
#![allow(dead_code)]

pub mod grants;
pub mod http_browser;
pub mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use oauth_toolkit_store::{Database, OpenOptions};

/// A binary of another package of the workspace (an example), built once per test process
/// with the profile of this test binary: cargo builds only this package's binaries for its
/// tests. `--workspace --bins`, not `-p NAME`, so that the dependencies' features unify as
/// for the test build and nothing but the binary itself is compiled (`scripts/test` builds
/// them all up front anyway). With the features this test binary was built with: others
/// would rebuild the store and overwrite the server binary the tests run.
pub fn workspace_binary(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let server = PathBuf::from(env!("CARGO_BIN_EXE_oauth-toolkit"));
    let dir = server.parent().unwrap().to_path_buf();
    BUILT.get_or_init(|| {
        let target = dir.parent().unwrap().to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "--workspace", "--bins"])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        if cfg!(feature = "debug-stats") {
            cmd.args(["--features", "oauth-toolkit/debug-stats"]);
        }
        let status = cmd.status().expect("cargo build --workspace --bins");
        assert!(status.success(), "cannot build the workspace's binaries");
    });
    let bin = dir.join(name);
    assert!(bin.exists(), "{} missing", bin.display());
    bin
}

/// A scratch working directory and a database, for one test.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub _sqlite_dir: Option<tempfile::TempDir>,
}

impl Env {
    pub fn sqlite() -> Env {
        let (d, url) = oauth_toolkit_testing::fresh_sqlite_url();
        Env {
            dir: tempfile::tempdir().unwrap(),
            url,
            _sqlite_dir: Some(d),
        }
    }

    pub fn postgres() -> Env {
        let url = oauth_toolkit_testing::shared_pg()
            .fresh_database_url()
            .unwrap();
        Env {
            dir: tempfile::tempdir().unwrap(),
            url,
            _sqlite_dir: None,
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_oauth-toolkit"));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OAUTH_TOOLKIT_") || k == "DATABASE_URL" {
                c.env_remove(k);
            }
        }
        c.current_dir(self.dir.path())
            .env("DATABASE_URL", &self.url)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub async fn db(&self) -> Database {
        Database::open(&self.url, &OpenOptions::default())
            .await
            .unwrap()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last line of stderr: the one-line error.
pub fn error_line(o: &Output) -> String {
    let e = stderr(o);
    e.lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .unwrap_or("")
        .to_string()
}

#[macro_export]
macro_rules! backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case($crate::common::Env::sqlite()).await; }
        )* }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case($crate::common::Env::postgres()).await; }
        )* }
    };
}

/// A running `serve` process, killed on drop.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    pub fn start(env: &Env, extra_env: &[(&str, &str)]) -> Server {
        Self::start_with_args(env, extra_env, &[])
    }

    /// `serve --bind 127.0.0.1:0 <extra_args>` (e.g. `--demo-api`).
    pub fn start_with_args(env: &Env, extra_env: &[(&str, &str)], extra_args: &[&str]) -> Server {
        let mut cmd = env.cmd();
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra_args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        Self::spawn(cmd)
    }

    /// Run `cmd` (any of the workspace's servers) with its stderr collected, and wait for its
    /// "listening on http://…" line.
    pub fn spawn(mut cmd: Command) -> Server {
        cmd.stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on http://") {
                    let url = line[i + "listening on ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let _ = tx.send(url);
                }
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("server did not start: {}", log.lock().unwrap()));
        Server { child, base, log }
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `Authorization: Basic` for a client (RFC 6749 §2.3.1; our ids and secrets need no
/// form-encoding).
pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

pub async fn count_rows(db: &Database, table: &str) -> i64 {
    use sqlx::Connection;
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match db {
        Database::Sqlite(_) => {
            let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query_scalar(&sql).fetch_one(&mut c).await.unwrap()
        }
        Database::Postgres(_) => {
            let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query_scalar(&sql).fetch_one(&mut c).await.unwrap()
        }
    }
}

impl Env {
    /// `createuser NAME --password PW` (panics on failure).
    pub fn create_user(&self, name: &str, password: &str) {
        let o = self.run(&["createuser", name, "--password", password]);
        assert!(o.status.success(), "createuser: {}", stderr(&o));
    }

    /// `createapplication ... --json` with extra args; returns (client_id, client_secret).
    pub fn create_app(
        &self,
        client_type: &str,
        grant_type: &str,
        extra: &[&str],
    ) -> (String, String) {
        let mut args = vec!["createapplication", client_type, grant_type, "--json"];
        args.extend_from_slice(extra);
        let o = self.run(&args);
        assert!(o.status.success(), "createapplication: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
        (
            v["client_id"].as_str().expect("client_id").to_string(),
            v["client_secret"]
                .as_str()
                .expect("client_secret")
                .to_string(),
        )
    }
}

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database shared by the tests of one process, one per backend, seeded once (through
/// the CLI, as an operator would) by `seed`. For large families of black-box tests that
/// each start their own server but need no database of their own: creating, migrating and
/// seeding a database per test costs more than the test. Tests sharing one must not see
/// each other's rows (e.g. each uses its own user).
///
/// `static`s are never dropped, so the files live in a per-process directory under the
/// cargo target directory; directories of processes that are gone are removed on first use.
/// PostgreSQL databases live in the process's throwaway server ([`oauth_toolkit_testing`]).
pub struct Shared<T: 'static> {
    cells: [std::sync::OnceLock<(Env, T)>; 2],
    seed: fn(&Env) -> T,
}

impl<T: Send + Sync + 'static> Shared<T> {
    pub const fn new(seed: fn(&Env) -> T) -> Self {
        Shared {
            cells: [std::sync::OnceLock::new(), std::sync::OnceLock::new()],
            seed,
        }
    }

    /// The shared environment of `backend` and what its seeding returned.
    pub fn get(&'static self, backend: Backend) -> (&'static Env, &'static T) {
        let cell = &self.cells[backend as usize];
        let (env, seeded) = cell.get_or_init(|| {
            let env = shared_env(backend);
            let seeded = (self.seed)(&env);
            (env, seeded)
        });
        (env, seeded)
    }
}

fn shared_env(backend: Backend) -> Env {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("shared-test-db");
    std::fs::create_dir_all(&root).unwrap();
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let gone = name
            .parse::<u32>()
            .is_ok_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let mine = root.join(std::process::id().to_string());
    std::fs::create_dir_all(&mine).unwrap();
    let dir = tempfile::tempdir_in(&mine).unwrap();
    let url = match backend {
        Backend::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("db.sqlite3").display()
        ),
        Backend::Postgres => oauth_toolkit_testing::shared_pg()
            .fresh_database_url()
            .unwrap(),
    };
    Env {
        dir,
        url,
        _sqlite_dir: None,
    }
}
