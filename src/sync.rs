//! registry + `crux.json` → `.mcp.json`. Entries for servers with credentials point at the
//! installed launcher and hold names only; entries crux did not generate are kept as they are;
//! the file is replaced atomically, and only when its content changes.

use crate::error::{sanitize, Error, Result};
use crate::fsutil;
use crate::home::CruxHome;
use crate::project::{ProjectFile, ProjectServer, PROJECT_FILE};
use crate::registry::{not_registered, Registered, Registry, ServerSpec, Source};
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
    for (name, script) in launcher_scripts(home)? {
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

/// What [`install_launchers`] writes: each launcher's file name and content, with the crux
/// binary's path resolved now. Writes nothing (`crux doctor` compares the installed ones).
pub fn launcher_scripts(home: &CruxHome) -> Result<Vec<(&'static str, String)>> {
    let crux_q = shell_quote(&crux_binary()?.to_string_lossy());
    let home_q = shell_quote(&home.root().to_string_lossy());
    Ok([
        (BRIDGE_LAUNCHER_NAME, BRIDGE_LAUNCHER),
        ("keychain-auth.sh", KEYCHAIN_LAUNCHER),
    ]
    .into_iter()
    .map(|(name, template)| (name, fill(template, &crux_q, &home_q)))
    .collect())
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

/// A project's servers: the registered ones, and the names not registered here.
pub type Resolved<'a> = (Vec<(String, &'a Registered)>, Vec<String>);

/// The servers of a project that get entries: each registered one, with the registry's
/// definition (the launcher hands credentials only to the registered command; a different one
/// in `crux.json` is reported), and the names `crux.json` defines that are not registered here,
/// which get no entry until `crux project install` registers them. `{}` must name a registered
/// server.
pub fn resolve<'a>(
    project: &ProjectFile,
    dir: &Path,
    registry: &'a Registry,
) -> Result<Resolved<'a>> {
    let (mut found, mut unregistered) = (Vec::new(), Vec::new());
    for (name, server) in &project.servers {
        let server_name = crate::names::ServerName::parse(name)?;
        match (registry.get(&server_name), server) {
            (Some(registered), ProjectServer::Spec(spec)) => {
                if !same_definition(spec, &registered.spec) {
                    eprintln!(
                        "note: {} defines '{name}' differently from this machine's registry; using the registry's (update crux.json: crux project install {name})",
                        dir.join(PROJECT_FILE).display()
                    );
                }
                found.push((name.clone(), registered));
            }
            (Some(registered), ProjectServer::Registered) => found.push((name.clone(), registered)),
            (None, ProjectServer::Spec(_)) => unregistered.push(name.clone()),
            (None, ProjectServer::Registered) => {
                let e = not_registered(&server_name);
                return Err(Error::failed(
                    format!(
                        "{} names '{}', which is not registered here",
                        dir.join(PROJECT_FILE).display(),
                        sanitize(name)
                    ),
                    e.fix().unwrap_or_default(),
                ));
            }
        }
    }
    Ok((found, unregistered))
}

/// Whether a `crux.json` definition is the registered one. A pinned version in `crux.json`
/// without the integrity hash the registry recorded is the same definition.
pub fn same_definition(project: &ServerSpec, registered: &ServerSpec) -> bool {
    if project == registered {
        return true;
    }
    let mut a = project.clone();
    let mut b = registered.clone();
    for s in [&mut a, &mut b] {
        if let Source::Npx(p) | Source::Uvx(p) = &mut s.source {
            p.integrity = None;
        }
    }
    a == b
}

/// The `.mcp.json` entry for one server (DESIGN.md, "Generated .mcp.json entries").
pub fn entry_for(
    name: &str,
    registered: &Registered,
    launcher: &Path,
    headers_helper: Option<&str>,
) -> Value {
    let spec = &registered.spec;
    let Some(cmd) = registered.command_line() else {
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
        let mut entry = json!({ "command": cmd[0], "args": cmd[1..] });
        if !spec.env.is_empty() {
            entry["env"] = json!(spec.env);
        }
        return entry;
    }
    json!({
        "command": launcher.to_string_lossy(),
        "args": cmd,
        "env": { "CRUX_MCP_NAME": name, "CRUX_AUTH_ENV_VARS": vars.join(",") },
    })
}

/// The new content of `dir/.mcp.json` with `entries` merged in: those replaced, the ones crux
/// generated before (`owned`) and no longer wants removed, everything else kept byte for byte
/// (an edit of the document, not a rewrite: numbers, duplicate keys, order and formatting of
/// entries crux did not write stay as they were). Refuses to replace an entry crux did not
/// write. `None` when nothing changes.
pub fn plan_mcp_json(
    dir: &Path,
    entries: &[(String, Value)],
    owned: &[String],
) -> Result<Option<Vec<u8>>> {
    let path = dir.join(MCP_FILE);
    let current = fsutil::read_optional(&path)?;
    let broken = |reason: String| Error::Corrupt {
        path: path.clone(),
        reason,
        fix: "repair the JSON by hand (crux changed nothing), then run: crux project sync"
            .to_string(),
    };
    let foreign = |name: &str| {
        Error::failed(
            format!("{} already has an entry '{}' that crux did not write", path.display(), sanitize(name)),
            "rename or remove that entry (crux keeps entries it did not write), then run: crux project sync",
        )
    };
    let text = match &current {
        Some(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => {
            std::str::from_utf8(bytes).map_err(|_| broken("it is not UTF-8 text".into()))?
        }
        _ => {
            // A new file: written whole.
            let servers: Map<String, Value> = entries.iter().cloned().collect();
            let mut bytes = serde_json::to_vec_pretty(&json!({ "mcpServers": servers }))
                .expect("JSON serializes");
            bytes.push(b'\n');
            return Ok(Some(bytes));
        }
    };
    // Strict JSON first (Claude Code reads it so); the edit then keeps every other byte.
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| broken(format!("invalid JSON ({})", crate::error::json_error(&e))))?;
    if !doc.is_object() {
        return Err(broken("it is not a JSON object".into()));
    }
    if doc.get("mcpServers").is_some_and(|s| !s.is_object()) {
        return Err(broken("\"mcpServers\" is not an object".into()));
    }
    let root = jsonc_parser::cst::CstRootNode::parse(text, &jsonc_parser::ParseOptions::default())
        .map_err(|e| broken(format!("invalid JSON ({})", sanitize(&e.to_string()))))?;
    let top = root
        .object_value()
        .ok_or_else(|| broken("it is not a JSON object".into()))?;
    let lists = top
        .properties()
        .into_iter()
        .filter(|p| p.decoded_name().as_deref() == Some("mcpServers"))
        .count();
    if lists > 1 {
        // Hosts read the last one; crux would edit the first.
        return Err(broken("it has \"mcpServers\" more than once".into()));
    }
    let servers = top.object_value_or_set("mcpServers");
    let props = |name: &str| -> Vec<jsonc_parser::cst::CstObjectProp> {
        servers
            .properties()
            .into_iter()
            .filter(|p| p.decoded_name().as_deref() == Some(name))
            .collect()
    };
    for (name, entry) in entries {
        let current = props(name);
        if current.len() > 1 {
            return Err(foreign(name));
        }
        let differs = current
            .first()
            .is_some_and(|p| p.value().and_then(|v| v.to_serde_value()).as_ref() != Some(entry));
        if differs && !owned.contains(name) {
            return Err(foreign(name));
        }
    }
    let mut changed = false;
    for name in owned {
        if !entries.iter().any(|(n, _)| n == name) {
            for prop in props(name) {
                prop.remove();
                changed = true;
            }
        }
    }
    for (name, entry) in entries {
        match props(name).into_iter().next() {
            Some(prop) => {
                if prop.value().and_then(|v| v.to_serde_value()).as_ref() != Some(entry) {
                    prop.set_value(cst_value(entry));
                    changed = true;
                }
            }
            None => {
                servers.append(name, cst_value(entry));
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(None);
    }
    let mut bytes = root.to_string().into_bytes();
    if !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    Ok((current.as_deref() != Some(&bytes[..])).then_some(bytes))
}

fn cst_value(value: &Value) -> jsonc_parser::cst::CstInputValue {
    use jsonc_parser::cst::CstInputValue as V;
    match value {
        Value::Null => V::Null,
        Value::Bool(b) => V::Bool(*b),
        Value::Number(n) => V::Number(n.to_string()),
        Value::String(s) => V::String(s.clone()),
        Value::Array(items) => V::Array(items.iter().map(cst_value).collect()),
        Value::Object(map) => {
            V::Object(map.iter().map(|(k, v)| (k.clone(), cst_value(v))).collect())
        }
    }
}

/// Writes what [`plan_mcp_json`] planned, atomically, keeping the file's mode.
pub fn write_planned(dir: &Path, bytes: &[u8]) -> Result<()> {
    let path = dir.join(MCP_FILE);
    let mode = std::fs::symlink_metadata(&path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0o644);
    fsutil::write_atomic_mode(&path, bytes, mode)
}

/// Merges `entries` into `dir/.mcp.json` (see [`plan_mcp_json`]). Returns whether it wrote.
pub fn write_mcp_json(dir: &Path, entries: &[(String, Value)], owned: &[String]) -> Result<bool> {
    match plan_mcp_json(dir, entries, owned)? {
        Some(bytes) => write_planned(dir, &bytes).map(|()| true),
        None => Ok(false),
    }
}
