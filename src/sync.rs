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
const BRIDGE_LAUNCHER: &str = include_str!("../launchers/http-bridge-auth.sh");
pub const BRIDGE_LAUNCHER_NAME: &str = "http-bridge-auth.sh";

/// Quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The crux binary the launcher should run: the one running now, named by its PATH entry when
/// that is the same file (a stable name such as ~/.cargo/bin/crux survives upgrades that move
/// the real file), else by its own resolved path.
fn crux_binary() -> Result<PathBuf> {
    let current = std::env::current_exe().map_err(|e| {
        Error::failed(
            format!("cannot find the crux binary: {e}"),
            "put crux on PATH",
        )
    })?;
    if let Ok(on_path) = which::which("crux") {
        let same = std::fs::canonicalize(&on_path).ok() == std::fs::canonicalize(&current).ok();
        if same {
            return Ok(on_path);
        }
    }
    Ok(current)
}

/// Installs the launchers into `CRUX_HOME/launchers/` (0700), with the crux binary's path
/// resolved now; rewrites them only when they differ. Returns the keychain launcher's path
/// (the bridge launcher sits beside it).
pub fn install_launchers(home: &CruxHome) -> Result<PathBuf> {
    let dir = home.launchers_dir();
    fsutil::ensure_private_dir(&dir)?;
    let crux = crux_binary()?;
    let crux_q = shell_quote(&crux.to_string_lossy());
    let home_q = shell_quote(&home.root().to_string_lossy());
    for (name, template) in [
        (BRIDGE_LAUNCHER_NAME, BRIDGE_LAUNCHER),
        ("keychain-auth.sh", KEYCHAIN_LAUNCHER),
    ] {
        let script = fill(template, &crux_q, &home_q);
        let path = dir.join(name);
        let current = fsutil::read_optional(&path)?;
        let mode_ok = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777 == 0o700)
            .unwrap_or(false);
        if current.as_deref() != Some(script.as_bytes()) || !mode_ok {
            fsutil::write_atomic_mode(&path, script.as_bytes(), 0o700)?;
        }
    }
    Ok(dir.join("keychain-auth.sh"))
}

/// The start of a `headersHelper` command: crux, with its `CRUX_HOME`, as one shell line.
pub fn headers_helper_prefix(home: &CruxHome) -> Result<String> {
    Ok(format!(
        "CRUX_HOME={} {}",
        shell_quote(&home.root().to_string_lossy()),
        shell_quote(&crux_binary()?.to_string_lossy())
    ))
}

/// Fills a launcher template's placeholders in one pass, so substituted text is never
/// substituted again.
fn fill(template: &str, crux_q: &str, home_q: &str) -> String {
    let mut script = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(at) = rest.find('@') {
        script.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(tail) = rest.strip_prefix("@CRUX_BIN@") {
            script.push_str(crux_q);
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("@CRUX_HOME@") {
            script.push_str(home_q);
            rest = tail;
        } else {
            script.push('@');
            rest = &rest[1..];
        }
    }
    script.push_str(rest);
    script
}

/// The definitions a project uses. For a server registered on this machine the registry's
/// definition wins (the launcher hands credentials only to the registered command); a
/// different one in `crux.json` is reported. `{}` must name a registered server.
pub fn resolve(
    project: &ProjectFile,
    dir: &Path,
    registry: &Registry,
) -> Result<Vec<(String, ServerSpec)>> {
    project
        .servers
        .iter()
        .map(|(name, server)| {
            let server_name = crate::names::ServerName::parse(name)?;
            let spec = match (registry.get(&server_name), server) {
                (Some(registered), ProjectServer::Spec(spec)) => {
                    if **spec != registered.spec {
                        eprintln!(
                            "note: {} defines '{name}' differently from this machine's registry; using the registry's (update crux.json: crux project install {name})",
                            dir.join(PROJECT_FILE).display()
                        );
                    }
                    registered.spec.clone()
                }
                (Some(registered), ProjectServer::Registered) => registered.spec.clone(),
                (None, ProjectServer::Spec(spec)) => (**spec).clone(),
                (None, ProjectServer::Registered) => {
                    let e = not_registered(&server_name);
                    return Err(Error::failed(
                        format!("{} names '{}', which is not registered here", dir.join(PROJECT_FILE).display(), sanitize(name)),
                        e.fix().unwrap_or_default(),
                    ));
                }
            };
            Ok((name.clone(), spec))
        })
        .collect()
}

/// The `.mcp.json` entry for one server (DESIGN.md, "Generated .mcp.json entries").
pub fn entry_for(
    name: &str,
    spec: &ServerSpec,
    launcher: &Path,
    headers_helper: Option<&str>,
) -> Value {
    let Some(cmd) = spec.command_line() else {
        let Source::Url { url } = &spec.source else {
            unreachable!("only url has no command line")
        };
        let authenticated = spec.auth.oauth.is_some() || spec.auth.bearer.is_some();
        if let (true, Some(prefix)) = (authenticated, headers_helper) {
            return json!({
                "type": "http",
                "url": url,
                "headersHelper": format!("{prefix} headers {name}"),
            });
        }
        if authenticated {
            return json!({
                "command": launcher.with_file_name(BRIDGE_LAUNCHER_NAME).to_string_lossy(),
                "args": [],
                "env": { "CRUX_MCP_NAME": name, "CRUX_BRIDGE_URL": url },
            });
        }
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
/// before (`owned`) and no longer wants, keeps everything else — and refuses to replace an
/// entry crux did not write. Returns whether it wrote.
pub fn write_mcp_json(dir: &Path, entries: &[(String, Value)], owned: &[String]) -> Result<bool> {
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
    for (name, entry) in entries {
        let foreign =
            servers.get(name).is_some_and(|current| current != entry) && !owned.contains(name);
        if foreign {
            return Err(Error::failed(
                format!("{} already has an entry '{}' that crux did not write", path.display(), sanitize(name)),
                "rename or remove that entry (crux keeps entries it did not write), then run: crux project sync",
            ));
        }
    }
    for name in owned {
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
