//! registry + `crux.json` → `.mcp.json`. Entries for servers with credentials point at the
//! installed launcher and hold names only; entries crux did not generate are kept as they are;
//! the file is replaced atomically, and only when its content changes.

use crate::error::{sanitize, Error, Result};
use crate::fsutil;
use crate::home::CruxHome;
use crate::project::{ProjectFile, ProjectServer, PROJECT_FILE};
use crate::registry::{not_registered, Registry, ServerSpec, Source};
use serde_json::{json, Map, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const MCP_FILE: &str = ".mcp.json";
const KEYCHAIN_LAUNCHER: &str = include_str!("../launchers/keychain-auth.sh");

/// Quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Installs the launchers into `CRUX_HOME/launchers/` (0700), with the crux binary's path
/// resolved now; rewrites them only when they differ. Returns the keychain launcher's path.
pub fn install_launchers(home: &CruxHome) -> Result<PathBuf> {
    let dir = home.launchers_dir();
    fsutil::ensure_private_dir(&dir)?;
    let crux = std::env::current_exe()
        .ok()
        .or_else(|| which::which("crux").ok())
        .ok_or_else(|| Error::failed("cannot find the crux binary", "put crux on PATH"))?;
    let crux = crux.to_string_lossy();
    let script = KEYCHAIN_LAUNCHER
        .replace("@CRUX_BIN_TEXT@", &sanitize(&crux))
        .replace("@CRUX_BIN@", &shell_quote(&crux))
        .replace("@CRUX_HOME@", &shell_quote(&home.root().to_string_lossy()));
    let path = dir.join("keychain-auth.sh");
    let current = fsutil::read_optional(&path)?;
    let mode_ok = std::fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o777 == 0o700)
        .unwrap_or(false);
    if current.as_deref() != Some(script.as_bytes()) || !mode_ok {
        fsutil::write_atomic_mode(&path, script.as_bytes(), 0o700)?;
    }
    Ok(path)
}

/// The definitions a project uses: its own from `crux.json`, or the registry's for `{}`.
pub fn resolve(
    project: &ProjectFile,
    dir: &Path,
    registry: &Registry,
) -> Result<Vec<(String, ServerSpec)>> {
    project
        .servers
        .iter()
        .map(|(name, server)| {
            let spec = match server {
                ProjectServer::Spec(spec) => (**spec).clone(),
                ProjectServer::Registered {} => {
                    let server_name = crate::names::ServerName::parse(name)?;
                    let registered = registry.get(&server_name).ok_or_else(|| {
                        let e = not_registered(&server_name);
                        Error::failed(
                            format!(
                                "{} names '{}', which is not registered here",
                                dir.join(PROJECT_FILE).display(),
                                sanitize(name)
                            ),
                            e.fix().unwrap_or_default(),
                        )
                    })?;
                    registered.spec.clone()
                }
            };
            Ok((name.clone(), spec))
        })
        .collect()
}

/// The `.mcp.json` entry for one server (DESIGN.md, "Generated .mcp.json entries").
pub fn entry_for(name: &str, spec: &ServerSpec, launcher: &Path) -> Value {
    let Some(cmd) = spec.command_line() else {
        let Source::Url { url } = &spec.source else {
            unreachable!("only url has no command line")
        };
        return json!({ "type": "http", "url": url });
    };
    let vars = spec.auth.launch_vars();
    if vars.is_empty() {
        return json!({ "command": cmd[0], "args": cmd[1..] });
    }
    json!({
        "command": launcher.to_string_lossy(),
        "args": cmd,
        "env": { "CRUX_MCP_NAME": name, "CRUX_AUTH_ENV_VARS": vars.join(",") },
    })
}

/// Merges `entries` into `dir/.mcp.json`: replaces those, removes the ones crux generated
/// before and no longer wants (`stale`), keeps everything else. Returns whether it wrote.
pub fn write_mcp_json(dir: &Path, entries: &[(String, Value)], stale: &[String]) -> Result<bool> {
    let path = dir.join(MCP_FILE);
    let current = fsutil::read_optional(&path)?;
    let broken = |reason: String| Error::Corrupt {
        path: path.clone(),
        reason,
        fix: "repair the JSON by hand (crux changed nothing), then run: crux project sync"
            .to_string(),
    };
    let mut doc: Value = match &current {
        Some(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => {
            serde_json::from_slice(bytes).map_err(|e| broken(format!("invalid JSON ({e})")))?
        }
        _ => json!({}),
    };
    let top = doc
        .as_object_mut()
        .ok_or_else(|| broken("it is not a JSON object".into()))?;
    let servers = top
        .entry("mcpServers")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| broken("\"mcpServers\" is not an object".into()))?;
    for name in stale {
        if !entries.iter().any(|(n, _)| n == name) {
            servers.shift_remove(name);
        }
    }
    for (name, entry) in entries {
        servers.insert(name.clone(), entry.clone());
    }
    let mut bytes = serde_json::to_vec_pretty(&doc).expect("JSON serializes");
    bytes.push(b'\n');
    if current.as_deref() == Some(&bytes[..]) {
        return Ok(false);
    }
    let mode = std::fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0o644);
    fsutil::write_atomic_mode(&path, &bytes, mode)?;
    Ok(true)
}
