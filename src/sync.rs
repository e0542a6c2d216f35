//! registry + `crux.json` → `.mcp.json`. Entries for servers with credentials point at the
//! installed launcher and hold names only; entries crux did not generate are kept as they are;
//! the file is replaced atomically, and only when its content changes.

use crate::error::{sanitize, Error, Result};
use crate::fsutil;
use crate::home::CruxHome;
use crate::hosts::{self, FileState, HostFile, HostId};
use crate::project::{ProjectFile, ProjectServer, PROJECT_FILE};
use crate::project::{Projects, Tracked};
use crate::registry::{not_registered, Registered, Registry, ServerSpec, Source};
use serde_json::{json, Value};
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
        let authenticated = spec.remote_credentials();
        // A headers helper cannot fill `{crux:VAR}` in the URL the host connects to.
        let url_filled = !crate::template::placeholders(url).is_empty();
        if let (true, false, Some(prefix)) = (authenticated, url_filled, headers_helper) {
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

/// The new content of `dir/.mcp.json` with `entries` merged in (see [`hosts::json::plan`]).
/// `None` when nothing changes.
pub fn plan_mcp_json(
    dir: &Path,
    entries: &[(String, Value)],
    owned: &[String],
) -> Result<Option<Vec<u8>>> {
    hosts::plan(HostId::ClaudeCode, &dir.join(MCP_FILE), entries, owned)
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

/// The entry of one server in `host`'s shape (see [`entry_for`] and [`HostId::shape`]).
pub fn entry_on(
    host: HostId,
    name: &str,
    registered: &Registered,
    launcher: &Path,
    headers_helper: Option<&str>,
) -> Value {
    let canonical = entry_for(name, registered, launcher, headers_helper);
    host.shape(
        name,
        &canonical,
        &launcher.with_file_name(BRIDGE_LAUNCHER_NAME),
    )
}

/// Installs the launchers when one of `servers` needs them; returns the keychain launcher's
/// path either way.
pub fn launcher_for(home: &CruxHome, servers: &[(String, &Registered)]) -> Result<PathBuf> {
    if needs_launcher(servers) {
        install_launchers(home)
    } else {
        Ok(home.launchers_dir().join("keychain-auth.sh"))
    }
}

/// One host file of a project, planned but not written yet.
pub struct PlannedFile {
    pub host: HostId,
    pub path: PathBuf,
    /// The new content; `None` when the file stays as it is.
    pub bytes: Option<Vec<u8>>,
    /// The entries crux owns in it afterwards.
    pub generated: Vec<String>,
}

/// Whether any server of a project needs a launcher.
fn needs_launcher(servers: &[(String, &Registered)]) -> bool {
    servers.iter().any(|(_, r)| {
        !r.spec.auth.launch_vars().is_empty()
            || r.spec.auth.oauth.is_some()
            || r.spec.auth.bearer.is_some()
            || r.spec.remote_credentials()
            || matches!(r.spec.source, Source::Url { .. })
    })
}

/// Computes every host file of the project in `dir` from `project`; writes nothing in the
/// project. `install` installs the launchers first (a sync); without it the plan only reads
/// (a check). The hosts are the project's hosts, plus every host where crux wrote entries
/// before and no longer should (they are removed).
pub fn plan_project(
    home: &CruxHome,
    dir: &Path,
    project: &ProjectFile,
    registry: &Registry,
    tracked: &Tracked,
    install: bool,
) -> Result<Vec<PlannedFile>> {
    let (servers, unregistered) = resolve(project, dir, registry)?;
    if install {
        for (name, r) in &servers {
            if let Source::Npx(p) | Source::Uvx(p) = &r.spec.source {
                if p.unpinned_legacy() {
                    eprintln!("note: '{name}' is not pinned: npx/uvx fetches it at every start, from the registry or from a project folder that ships it; pin it: crux mcp upgrade {name}");
                }
            }
        }
        for name in &unregistered {
            eprintln!(
                "note: '{}' in {} is not registered on this machine, so it gets no entry; register what {PROJECT_FILE} defines: crux project install",
                sanitize(name),
                dir.join(PROJECT_FILE).display()
            );
        }
    }
    let launcher = if install {
        launcher_for(home, &servers)?
    } else {
        home.launchers_dir().join("keychain-auth.sh")
    };
    let helper = if tracked.headers_helper {
        Some(headers_helper_prefix(home)?)
    } else {
        None
    };
    let wanted = project.hosts_in(dir);
    let mut hosts = wanted.clone();
    let before = tracked
        .hosts
        .keys()
        .copied()
        .chain((!tracked.generated.is_empty()).then_some(HostId::ClaudeCode));
    hosts.extend(before.filter(|h| !wanted.contains(h)));
    let mut plans = Vec::with_capacity(hosts.len());
    for host in hosts {
        let path = dir.join(host.project_file().expect("a project host"));
        let entries: Vec<(String, Value)> = if wanted.contains(&host) {
            // Claude Code's headersHelper is Claude Code's own; other hosts get the bridge.
            let helper = helper.as_deref().filter(|_| host == HostId::ClaudeCode);
            servers
                .iter()
                .map(|(name, registered)| {
                    (
                        name.clone(),
                        entry_on(host, name, registered, &launcher, helper),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        if host != HostId::ClaudeCode {
            check_folder(dir, &path)?;
        }
        let bytes = hosts::plan(host, &path, &entries, tracked.generated_for(host))?;
        plans.push(PlannedFile {
            host,
            path,
            bytes,
            generated: entries.into_iter().map(|(n, _)| n).collect(),
        });
    }
    Ok(plans)
}

/// A project host file's folder (`.vscode`, `.codex`…) must be a real directory of the project.
fn check_folder(dir: &Path, path: &Path) -> Result<()> {
    match path.parent().filter(|f| *f != dir) {
        Some(folder) => hosts::check_folder(folder).map(drop),
        None => Ok(()),
    }
}

/// Writes one planned file (creating its folder), keeping the mode of the file it replaces.
pub fn write_planned_file(file: &PlannedFile) -> Result<bool> {
    let Some(bytes) = &file.bytes else {
        return Ok(false);
    };
    hosts::prepare_folder(&file.path, 0o755)?;
    hosts::write(&file.path, bytes, 0o644)?;
    Ok(true)
}

/// The host files of the project in `dir` (the hosts its `crux.json` uses) and whether each
/// holds what a sync would write. Reads only; unlocks nothing.
pub fn check_project(home: &CruxHome, dir: &Path) -> Result<Vec<HostFile>> {
    let project = ProjectFile::load(dir)?.ok_or_else(|| {
        Error::failed(
            format!("{} is gone", dir.join(PROJECT_FILE).display()),
            "create it: crux project create",
        )
    })?;
    let registry = Registry::load(home)?;
    let projects = Projects::load(home)?;
    let tracked = projects.projects.get(dir).cloned().unwrap_or_default();
    let plans = plan_project(home, dir, &project, &registry, &tracked, false)?;
    Ok(plans
        .into_iter()
        .map(|p| {
            let state = match (&p.bytes, p.path.exists()) {
                (None, _) => FileState::Current,
                (Some(_), false) => FileState::Missing,
                (Some(_), true) => FileState::Stale,
            };
            HostFile {
                host: p.host,
                path: p.path,
                state,
            }
        })
        .collect())
}
