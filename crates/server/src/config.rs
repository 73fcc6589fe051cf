//! Which settings file to read, and reading it with the environment on top.

use std::path::{Path, PathBuf};

use anyhow::Context;
use oauth_toolkit_core::settings::{Settings, DEFAULT_CONFIG_FILE};

/// The file named by `--config`/`OAUTH_TOOLKIT_CONFIG` (must exist), else
/// `./oauth-toolkit.toml` when present, else none.
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            default.is_file().then_some(default)
        }
    }
}

/// Load and validate the settings; warnings are logged.
pub fn load_settings(explicit: Option<&Path>) -> anyhow::Result<Settings> {
    let path = config_path(explicit);
    // Non-UTF-8 variables cannot be settings; skip them rather than panic.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let settings = Settings::load(path.as_deref(), env).context("cannot load settings")?;
    for w in settings.warnings() {
        tracing::warn!("{w}");
    }
    Ok(settings)
}
