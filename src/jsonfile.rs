//! Reading and writing the versioned JSON files crux owns (`secrets.json`, `settings.json`, …).
//! A file that does not parse, or comes from a newer crux, is an error that leaves it untouched.

use crate::error::{Error, Result};
use crate::fsutil;
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

#[derive(serde::Deserialize)]
struct VersionOnly {
    version: Option<u64>,
}

/// Loads `path`; `None` when it does not exist.
pub fn load<T: DeserializeOwned>(path: &Path, known_version: u64) -> Result<Option<T>> {
    let Some(bytes) = fsutil::read_optional(path)? else {
        return Ok(None);
    };
    parse(path, &bytes, known_version).map(Some)
}

/// Parses the bytes of the file at `path` (named in errors; its name tells crux-cli's files
/// from crux's). Separate from [`load`] so the fuzz targets reach it without a file.
pub fn parse<T: DeserializeOwned>(path: &Path, bytes: &[u8], known_version: u64) -> Result<T> {
    let corrupt = |reason: String| {
        // Only on the error path: the launcher loads these files at every start.
        if crate::legacy_files::is_crux_cli_json(path, bytes) {
            // Not corrupt: crux-cli's format, which `crux import --from crux-cli` converts.
            return crate::legacy_files::written_by_crux_cli(path);
        }
        Error::Corrupt {
        path: path.to_owned(),
        reason,
        fix: format!(
            "repair the JSON by hand, or move it aside (mv {0} {0}.broken) and let crux start a new one",
            path.display()
        ),
    }
    };
    let probe: VersionOnly = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(format!("invalid JSON ({})", crate::error::json_error(&e))))?;
    match probe.version {
        None => return Err(corrupt("it has no \"version\" field".into())),
        Some(found) if found > known_version => {
            return Err(Error::NewerFormat {
                path: path.to_owned(),
                found,
                known: known_version,
            })
        }
        Some(_) => {}
    }
    serde_json::from_slice(bytes).map_err(|e| {
        corrupt(format!(
            "unexpected content ({})",
            crate::error::json_error(&e)
        ))
    })
}

/// Writes `value` to `path` atomically, 0600. The caller holds the CRUX_HOME lock.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("crux's own files serialize");
    bytes.push(b'\n');
    fsutil::write_atomic(path, &bytes)
}

/// The strings in `v[key]` when it is an array (other items skipped); empty otherwise.
pub fn strings(v: &serde_json::Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
