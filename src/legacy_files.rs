//! Recognizing the files crux-cli (the Python tool crux replaces) left in `CRUX_HOME`, so that
//! reading one gives "written by crux-cli, convert it" instead of "corrupt". Low in the crate:
//! the JSON files, the age store and `CRUX_HOME` itself ask it; the conversion
//! (`crate::import::crux_cli`) builds on it.

use crate::error::Error;
use serde_json::Value;
use std::path::Path;

/// The command that converts a crux-cli `CRUX_HOME`.
pub const COMMAND: &str = "crux import --from crux-cli";

/// `bytes` as a JSON object, if they are one.
pub fn object(bytes: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// Whether `bytes`, read from the crux file `path`, is crux-cli's format (by file name).
pub fn is_crux_cli_json(path: &Path, bytes: &[u8]) -> bool {
    let Some(map) = object(bytes) else {
        return false;
    };
    let numbered = map.get("version").is_some_and(Value::is_u64);
    match path.file_name().and_then(|n| n.to_str()) {
        Some("registry.json") => !numbered && map.contains_key("mcp_definitions"),
        Some("secrets.json") => {
            // `{}` is crux-cli's index with every secret removed, when crux-cli's other files
            // are beside it.
            !map.contains_key("version")
                && map.values().all(|v| v.is_array())
                && (!map.is_empty() || path.parent().is_some_and(cli_files_beside))
        }
        Some("projects.json") => !numbered && map.get("projects").is_some_and(Value::is_array),
        Some("crux.json") => !numbered && map.contains_key("mcps"),
        _ => false,
    }
}

/// Whether `dir` holds crux-cli's files other than its index.
fn cli_files_beside(dir: &Path) -> bool {
    let registry = dir.join("registry.json");
    dir.join("config.toml").is_file()
        || dir.join("identity").is_file()
        || std::fs::read(&registry).is_ok_and(|b| is_crux_cli_json(&registry, &b))
}

/// The error crux gives instead of "corrupt" for a file crux-cli wrote.
pub fn written_by_crux_cli(path: &Path) -> Error {
    let project = path.file_name().is_some_and(|n| n == "crux.json");
    Error::failed(
        format!(
            "{} was written by crux-cli (the Python tool), whose files crux converts but does not read",
            path.display()
        ),
        if project {
            format!("convert crux-cli's files and the projects it tracks (no secret is re-entered; the originals are kept): {COMMAND}; a project crux-cli did not track: crux project create && crux project install <MCP>")
        } else {
            format!("convert crux-cli's files (no secret is re-entered; the originals are kept): {COMMAND}")
        },
    )
}

/// Whether `root` holds crux-cli's files still to convert (a cheap look, for messages).
pub fn present(root: &Path) -> bool {
    let json = |name: &str| {
        let path = root.join(name);
        std::fs::read(&path).is_ok_and(|b| is_crux_cli_json(&path, &b))
    };
    root.join("config.toml").is_file()
        || root.join("identity").is_file()
        || root.join("tokens.json").is_file()
        || json("registry.json")
        || json("secrets.json")
        || json("projects.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_crux_cli_files_from_crux_ones() {
        let reg = Path::new("/h/registry.json");
        assert!(is_crux_cli_json(
            reg,
            br#"{"version":"1.0.0","mcp_definitions":{},"skill_definitions":{}}"#
        ));
        assert!(!is_crux_cli_json(reg, br#"{"version":2,"servers":{}}"#));
        let idx = Path::new("/h/secrets.json");
        assert!(is_crux_cli_json(idx, br#"{"gh":["TOKEN"]}"#));
        assert!(!is_crux_cli_json(idx, br#"{"version":2,"servers":{}}"#));
        let projects = Path::new("/h/projects.json");
        assert!(is_crux_cli_json(projects, br#"{"projects":[]}"#));
        assert!(!is_crux_cli_json(
            projects,
            br#"{"version":1,"projects":{}}"#
        ));
        let project = Path::new("/p/crux.json");
        assert!(is_crux_cli_json(
            project,
            br#"{"name":"p","mcps":["a"],"skills":[]}"#
        ));
        assert!(!is_crux_cli_json(
            project,
            br#"{"version":2,"name":"p","servers":{}}"#
        ));
        assert!(!is_crux_cli_json(idx, b"not json"));
        assert!(
            !is_crux_cli_json(Path::new("/nonexistent/secrets.json"), b"{}"),
            "an empty object alone is nobody's"
        );
    }
}
