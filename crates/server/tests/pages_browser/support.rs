//! What the browser tests share: where artifacts go, axe-core, a stand-in client, users,
//! and the quality checks run on every page ([`Inspector`]).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::webdriver::Browser;
use crate::common::*;

/// The window size the sessions start with (`Browser::start`) and are restored to.
pub const WIDE: (u32, u32) = (1000, 900);
/// The narrow width the small-screen checks use.
pub const NARROW: u32 = 360;

fn workspace_root() -> PathBuf {
    let server_crate = Path::new(env!("CARGO_MANIFEST_DIR"));
    server_crate.ancestors().nth(2).unwrap().to_path_buf()
}

/// The cargo target directory: `CARGO_TARGET_DIR` when set, else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Some(d) => workspace_root().join(d),
        None => workspace_root().join("target"),
    }
}

/// A fresh `target/screenshots/<name>/` (last run's pictures removed).
pub fn screenshot_dir(name: &str) -> PathBuf {
    let dir = target_dir().join("screenshots").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn backend_name(env: &Env) -> &'static str {
    if env.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

/// The source of `axe.min.js`, installed by `.ci/run` and `scripts/test` (never skipped:
/// without it the test fails and says how to install it).
pub fn axe_source() -> String {
    let rel = "npm/node_modules/axe-core/axe.min.js";
    let candidates = [
        target_dir().join(rel),
        workspace_root().join("target").join(rel),
    ];
    for path in &candidates {
        if let Ok(src) = std::fs::read_to_string(path) {
            return src;
        }
    }
    panic!(
        "axe-core is missing ({} not found): run `npm install --prefix target/npm axe-core@4` \
         in the workspace root (scripts/test and .ci/run do it when npm is installed)",
        candidates[0].display()
    );
}

/// A stand-in client: answers every request on its port with a small page.
pub fn callback_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "<!DOCTYPE html><html lang=\"en\"><title>Client</title><h1>client callback reached</h1></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// RFC 7636 S256: `BASE64URL(SHA256(verifier))`.
pub fn s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `createuser NAME --password-stdin --staff`, the way an operator makes a staff user.
pub fn create_staff_user(env: &Env, name: &str, password: &str) {
    let mut child = env
        .cmd()
        .args(["createuser", name, "--password-stdin", "--staff"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "createuser --staff: {}", stderr(&o));
}

/// Sign in through the login page the browser is on.
pub async fn sign_in(browser: &Browser, username: &str, password: &str) {
    browser.wait_for("#id_username").await;
    browser.type_into("#id_username", username).await;
    browser.type_into("#id_password", password).await;
    browser.click("main form [type=submit]").await;
}

/// Headings and labels: exactly one `<h1>`, every visible control labelled.
const STRUCTURE_JS: &str = r#"
const unlabelled = [];
for (const el of document.querySelectorAll('input, select, textarea')) {
  const type = (el.getAttribute('type') || '').toLowerCase();
  if (el.tagName === 'INPUT' && ['hidden', 'submit', 'button', 'reset', 'image'].includes(type)) continue;
  if (!el.getClientRects().length) continue;
  const label = el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]');
  const ok = (label && label.textContent.trim()) || (el.getAttribute('aria-label') || '').trim()
    || (el.getAttribute('aria-labelledby') || '').trim();
  if (!ok) unlabelled.push(el.outerHTML.slice(0, 160));
}
return {h1: Array.from(document.querySelectorAll('h1')).map(h => h.textContent.trim()), unlabelled};
"#;

/// Run axe-core (injected already) for WCAG 2 A and AA; the serious and critical findings.
const AXE_JS: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})
  .then(r => done({passes: r.passes.length, violations: r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.join(' ') + '  ' + (n.failureSummary || '').replace(/\s+/g, ' '))}))}))
  .catch(e => done({error: String(e)}));
"#;

const OVERFLOW_JS: &str = r#"
return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  wide: Array.from(document.querySelectorAll('body *'))
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .slice(0, 5).map(e => e.outerHTML.slice(0, 120))};
"#;

/// The quality checks of every page a test visits, with numbered screenshots.
pub struct Inspector {
    dir: PathBuf,
    axe: String,
    shot: usize,
}

impl Inspector {
    pub fn new(dir: PathBuf) -> Inspector {
        Inspector {
            dir,
            axe: axe_source(),
            shot: 0,
        }
    }

    async fn screenshot(&mut self, browser: &Browser, name: &str) {
        self.shot += 1;
        let path = self.dir.join(format!("{:02}-{name}.png", self.shot));
        browser.screenshot(&path).await;
    }

    /// Screenshot, then fail on any of [`Inspector::problems`].
    pub async fn check(&mut self, browser: &Browser, name: &str) {
        self.screenshot(browser, name).await;
        let found = self.problems(browser).await;
        if !found.is_empty() {
            let url = browser.url().await;
            panic!("page {name} ({url}):\n{}", found.join("\n"));
        }
    }

    /// What is wrong with the page the browser shows: not exactly one `<h1>`, a visible
    /// control without a label, axe-core's serious or critical WCAG 2 A/AA findings.
    pub async fn problems(&self, browser: &Browser) -> Vec<String> {
        let mut found = Vec::new();
        let s = browser.execute(STRUCTURE_JS, json!([])).await;
        let h1: Vec<&str> = s["h1"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if h1.len() != 1 {
            found.push(format!("want exactly one <h1>, got {h1:?}"));
        }
        for el in s["unlabelled"].as_array().into_iter().flatten() {
            found.push(format!(
                "control without a label: {}",
                el.as_str().unwrap_or("")
            ));
        }
        found.extend(self.axe(browser).await);
        found
    }

    async fn axe(&self, browser: &Browser) -> Vec<String> {
        let loaded = browser
            .execute("return typeof window.axe === 'object';", json!([]))
            .await;
        if loaded != Value::Bool(true) {
            // Through WebDriver, not a <script> element: the pages' CSP does not apply.
            let src = format!("{}\nreturn typeof window.axe;", self.axe);
            let t = browser.execute(&src, json!([])).await;
            assert_eq!(t, "object", "axe-core did not load");
        }
        let r = browser.execute_async(AXE_JS, json!([])).await;
        assert!(r["error"].is_null(), "axe-core failed: {}", r["error"]);
        assert!(
            r["passes"].as_u64().unwrap_or(0) > 0,
            "axe-core ran no rule: {r}"
        );
        let mut found = Vec::new();
        for v in r["violations"].as_array().into_iter().flatten() {
            let mut line = format!(
                "axe [{}] {}: {}",
                v["impact"].as_str().unwrap_or(""),
                v["id"].as_str().unwrap_or(""),
                v["help"].as_str().unwrap_or("")
            );
            for n in v["nodes"].as_array().into_iter().flatten() {
                line.push_str(&format!("\n      {}", n.as_str().unwrap_or("")));
            }
            found.push(line);
        }
        found
    }

    /// At 360 px: screenshot `<NN>-<name>-360.png` and fail on sideways scrolling; then
    /// back to the normal width.
    pub async fn check_narrow(&mut self, browser: &Browser, name: &str) {
        browser.set_window_size(NARROW, 800).await;
        wait_for_width(browser, |w| w <= NARROW).await;
        self.screenshot(browser, &format!("{name}-{NARROW}")).await;
        let overflow = overflow(browser).await;
        let url = browser.url().await;
        browser.set_window_size(WIDE.0, WIDE.1).await;
        wait_for_width(browser, |w| w > NARROW).await;
        if let Some(o) = overflow {
            panic!("page {name} ({url}) at {NARROW} px: {o}");
        }
    }
}

/// Whether the page scrolls sideways (`scrollWidth > innerWidth`), and what sticks out.
pub async fn overflow(browser: &Browser) -> Option<String> {
    let o = browser.execute(OVERFLOW_JS, json!([])).await;
    let (scroll, inner) = (o["scroll"].as_u64().unwrap(), o["inner"].as_u64().unwrap());
    (scroll > inner).then(|| {
        format!(
            "scrolls sideways: scrollWidth {scroll} > innerWidth {inner}; \
             elements past the right edge: {:#}",
            o["wide"]
        )
    })
}

/// Wait until `window.innerWidth` satisfies `ok` (a resize lands asynchronously).
pub async fn wait_for_width(browser: &Browser, ok: impl Fn(u32) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let w = browser
            .execute("return window.innerWidth;", json!([]))
            .await;
        let w = w.as_u64().unwrap_or(0) as u32;
        if ok(w) {
            return;
        }
        assert!(Instant::now() < deadline, "window.innerWidth stays {w}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
