//! Where values come from: the names every setting has, and the `OAUTH_TOOLKIT_*` /
//! `DATABASE_URL` environment overlay on top of the TOML file.

use std::collections::BTreeMap;

use super::*;

/// The setting names with their default value's JSON shape (tells the env overlay how to
/// read a variable's text).
pub(super) fn known_keys() -> BTreeMap<String, serde_json::Value> {
    match serde_json::to_value(Settings::default()) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

/// Apply `OAUTH_TOOLKIT_<NAME>` variables and `DATABASE_URL` on top of the file's table.
pub(super) fn overlay_env(
    table: &mut toml::Table,
    origins: &mut Origins,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), SettingsError> {
    let known = known_keys();
    let mut database_url = None;
    for (name, raw) in env {
        if name == "DATABASE_URL" {
            database_url = Some(raw);
            continue;
        }
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if name == CONFIG_ENV {
            continue;
        }
        let key = rest.to_ascii_lowercase();
        let origin = format!(" (from {name})");
        let Some(shape) = known.get(&key) else {
            return Err(SettingsError {
                key,
                origin,
                message: "unknown setting".into(),
            });
        };
        let value = env_value(&raw, shape).map_err(|message| SettingsError {
            key: key.clone(),
            origin: origin.clone(),
            message,
        })?;
        table.insert(key.clone(), value);
        origins.insert(key, origin);
    }
    if let Some(url) = database_url.filter(|u| !u.is_empty()) {
        table.insert("database_url".into(), toml::Value::String(url));
        origins.insert("database_url".into(), " (from DATABASE_URL)".into());
    }
    Ok(())
}

/// Read an environment variable's text as the type the setting has.
fn env_value(raw: &str, shape: &serde_json::Value) -> Result<toml::Value, String> {
    use serde_json::Value as J;
    let trimmed = raw.trim();
    match shape {
        J::Bool(_) => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("`{raw}` is not a boolean (true/false)")),
        },
        J::Number(n) if n.is_f64() => trimmed
            .parse::<f64>()
            .map(toml::Value::Float)
            .map_err(|_| format!("`{raw}` is not a number")),
        J::Number(_) => trimmed
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("`{raw}` is not a whole number")),
        J::String(_) => Ok(toml::Value::String(raw.to_string())),
        J::Array(_) if trimmed.starts_with('[') => parse_toml_value(trimmed),
        J::Array(_) => Ok(toml::Value::Array(
            trimmed
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        )),
        J::Object(_) => parse_toml_value(trimmed),
        // Optional settings: a TOML literal when it parses as one (numbers, arrays, tables),
        // else the raw text.
        J::Null => {
            Ok(parse_toml_value(trimmed).unwrap_or_else(|_| toml::Value::String(raw.into())))
        }
    }
}

fn parse_toml_value(text: &str) -> Result<toml::Value, String> {
    let doc = format!("v = {text}");
    doc.parse::<toml::Table>()
        .map_err(|e| format!("`{text}` is not a TOML value: {}", e.message()))?
        .remove("v")
        .ok_or_else(|| format!("`{text}` is not a TOML value"))
}
