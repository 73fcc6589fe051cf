//! The curl walk-throughs in docs/flows/ run verbatim against the real binary.
//!
//! Each page's ```sh blocks run in order in one `bash -euo pipefail` shell in an empty
//! directory, with `oauth-toolkit` on the PATH; a ```sh background block (the server) is
//! started in the background and waited for. The pages talk to http://127.0.0.1:8000 as a
//! reader's would, so when running as root each page gets a private network namespace
//! (`unshare --net`) and its own port 8000; otherwise port 8000 of the machine is used.

use std::path::{Path, PathBuf};
use std::process::Command;

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/flows")
}

/// The page as a bash script.
fn script_of(markdown: &str) -> String {
    let mut script = String::from(
        "set -euo pipefail\n\
         trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n",
    );
    let mut in_block: Option<bool> = None; // Some(background?)
    let mut block = String::new();
    for line in markdown.lines() {
        match in_block {
            None => {
                let fence = line.trim_start();
                if fence == "```sh" {
                    in_block = Some(false);
                } else if fence == "```sh background" {
                    in_block = Some(true);
                }
            }
            Some(background) => {
                if line.trim_start().starts_with("```") {
                    if background {
                        script.push_str(&format!("( {} ) > server.log 2>&1 &\n", block.trim()));
                        script.push_str(
                            "for _ in $(seq 1 300); do \
                             curl -sf http://127.0.0.1:8000/health >/dev/null && break; \
                             sleep 0.1; done\n\
                             curl -sf http://127.0.0.1:8000/health >/dev/null || \
                             { cat server.log; exit 97; }\n",
                        );
                    } else {
                        script.push_str(&block);
                    }
                    block.clear();
                    in_block = None;
                } else {
                    block.push_str(line);
                    block.push('\n');
                }
            }
        }
    }
    script
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn run_page(name: &str) {
    let page = docs_dir().join(name);
    let markdown =
        std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    let script = script_of(&markdown);
    assert!(script.contains("curl"), "{name} has no runnable blocks");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("walkthrough.sh"), &script).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_oauth-toolkit"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = if is_root() && Path::new("/usr/bin/unshare").exists() {
        let mut c = Command::new("unshare");
        c.args([
            "--net",
            "--",
            "bash",
            "-c",
            "ip link set lo up && exec bash walkthrough.sh",
        ]);
        c
    } else {
        let mut c = Command::new("bash");
        c.arg("walkthrough.sh");
        c
    };
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OAUTH_TOOLKIT_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .current_dir(dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let server_log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "docs/flows/{name} failed ({}).\n--- script ---\n{script}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- server log ---\n{server_log}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

#[test]
fn client_credentials_walkthrough() {
    run_page("client_credentials.md");
}

#[test]
fn password_walkthrough() {
    run_page("password.md");
}

#[test]
fn authorization_code_walkthrough() {
    run_page("authorization_code.md");
}

#[test]
fn revocation_and_introspection_walkthrough() {
    run_page("revocation_and_introspection.md");
}

#[test]
fn device_walkthrough() {
    run_page("device.md");
}

#[test]
fn protected_resource_metadata_walkthrough() {
    run_page("protected_resource_metadata.md");
}

#[test]
fn resource_indicators_walkthrough() {
    run_page("resource_indicators.md");
}

#[test]
fn every_page_is_tested() {
    // A new page must get a test above.
    let tested = [
        "client_credentials.md",
        "password.md",
        "authorization_code.md",
        "revocation_and_introspection.md",
        "device.md",
        "protected_resource_metadata.md",
        "resource_indicators.md",
        "README.md",
    ];
    for entry in std::fs::read_dir(docs_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") && !tested.contains(&name.as_str()) {
            let text = std::fs::read_to_string(docs_dir().join(&name)).unwrap();
            assert!(
                !text.contains("```sh"),
                "docs/flows/{name} has commands but no test"
            );
        }
    }
}
