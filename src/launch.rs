//! `crux launch`: what the installed launcher runs at every server start. It reads
//! `CRUX_MCP_NAME` and `CRUX_AUTH_ENV_VARS`, fetches every credential of that server in one
//! batch per backend — the backend the index recorded for each, never a fresh automatic choice
//! — runs `external-cli` commands, and `exec`s the server with the credentials added to its
//! environment and its own `CRUX_*` variables removed. argv is passed through untouched.
//!
//! A missing or empty credential stops the launch: exit 78, one line on stderr naming the
//! server, the variable and the fix. The server is never started with an empty variable.

use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::names::{ServerName, VarName};
use crate::registry::Registry;
use crate::secret::Secret;
use crate::store::{select, Backend};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

fn launch_error(e: Error) -> Error {
    match e {
        Error::Launch(_) => e,
        other => Error::Launch(Box::new(other)),
    }
}

/// Collects the credentials, then replaces this process with the server. Returns only on error.
pub fn run(command: &[OsString], home: &CruxHome) -> Error {
    match prepare(command, home) {
        Ok(credentials) => exec(command, &credentials),
        Err(e) => launch_error(e),
    }
}

fn env_str(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The credentials to inject, in order.
pub fn prepare(command: &[OsString], home: &CruxHome) -> Result<Vec<(VarName, Secret)>> {
    let mcp = env_str("CRUX_MCP_NAME").ok_or_else(|| {
        Error::failed(
            "CRUX_MCP_NAME is not set, so crux does not know which server it is starting",
            "start servers through the entries crux writes: crux project sync",
        )
    })?;
    let mcp = ServerName::parse(&mcp)?;
    if command.is_empty() {
        return Err(Error::failed(
            format!("{mcp}: the launcher got no server command"),
            format!("regenerate the entry: crux project sync (server {mcp})"),
        ));
    }
    let vars: Vec<VarName> = env_str("CRUX_AUTH_ENV_VARS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(VarName::parse)
        .collect::<Result<_>>()?;
    if vars.is_empty() {
        return Ok(Vec::new());
    }

    // Credentials go only to the command the user registered for this server: a `.mcp.json`
    // (or a committed `crux.json`) that points the launcher at another command gets nothing.
    let registry = Registry::load_unchecked(home)?;
    let registered = registry.get(&mcp).ok_or_else(|| {
        Error::failed(
            format!("{mcp} is not registered on this machine, so crux hands it no credentials"),
            "register it (crux project install registers what crux.json defines), then: crux project sync",
        )
    })?;
    registered.spec.validate(mcp.as_str())?;
    let expected = registered.spec.command_line().unwrap_or_default();
    if command
        .iter()
        .map(|a| a.as_os_str())
        .ne(expected.iter().map(std::ffi::OsStr::new))
    {
        return Err(Error::failed(
            format!("{mcp}: the launcher was asked to start a command other than the registered one, so crux hands it no credentials"),
            format!("regenerate the entry: crux project sync (see the registered command: crux mcp show {mcp})"),
        ));
    }
    let declared = registered.spec.auth.launch_vars();
    if let Some(var) = vars
        .iter()
        .find(|v| !declared.iter().any(|d| d == v.as_str()))
    {
        return Err(Error::failed(
            format!("{mcp}: {var} is not one of the server's declared variables"),
            format!("regenerate the entry: crux project sync (see: crux mcp show {mcp})"),
        ));
    }
    let external = registered.spec.auth.external_cli.clone();
    let index = Index::load(home)?;
    let mut by_backend: BTreeMap<Backend, Vec<VarName>> = BTreeMap::new();
    for var in vars.iter().filter(|v| !external.contains_key(v.as_str())) {
        let cred = index.get(&mcp, var).ok_or_else(|| Error::NotStored {
            mcp: mcp.to_string(),
            var: var.to_string(),
        })?;
        by_backend
            .entry(cred.backend)
            .or_default()
            .push(var.clone());
    }

    let mut values: BTreeMap<VarName, Secret> = BTreeMap::new();
    for (backend, wanted) in &by_backend {
        let store = select::open(*backend, home)?;
        let mut got = store.get_many(&mcp, wanted)?;
        for var in wanted {
            match got.remove(var) {
                Some(secret) if !secret.is_empty() => {
                    values.insert(var.clone(), secret);
                }
                _ => {
                    return Err(Error::failed(
                        format!("{mcp}: {var} is listed in the index but missing from {backend}"),
                        format!("store it again: crux mcp auth {mcp}"),
                    ))
                }
            }
        }
    }
    for var in vars.iter().filter(|v| external.contains_key(v.as_str())) {
        let secret = run_external(&mcp, var, &external[var.as_str()])?;
        values.insert(var.clone(), secret);
    }
    Ok(vars
        .into_iter()
        .map(|v| {
            let s = values.remove(&v).expect("every variable was collected");
            (v, s)
        })
        .collect())
}

/// Runs an `external-cli` command; its trimmed stdout is the value.
fn run_external(mcp: &ServerName, var: &VarName, command: &str) -> Result<Secret> {
    let fix = format!(
        "make `{}` work in your shell, or change it: crux mcp show {mcp}",
        sanitize(command)
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command).stdin(Stdio::null());
    without_crux_vars(&mut cmd);
    let out = cmd.output().map_err(|e| {
        Error::failed(
            format!("{mcp}: {var}: cannot run `{}`: {e}", sanitize(command)),
            fix.clone(),
        )
    })?;
    let stdout = zeroize::Zeroizing::new(out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no error output");
        return Err(Error::failed(
            format!(
                "{mcp}: {var}: `{}` failed ({}): {}",
                sanitize(command),
                out.status,
                sanitize(last.trim())
            ),
            fix,
        ));
    }
    let text = std::str::from_utf8(&stdout)
        .map_err(|_| {
            Error::failed(
                format!(
                    "{mcp}: {var}: `{}` printed non-UTF-8 output",
                    sanitize(command)
                ),
                fix.clone(),
            )
        })?
        .trim();
    if text.is_empty() || text.contains('\0') {
        return Err(Error::failed(
            format!("{mcp}: {var}: `{}` printed nothing", sanitize(command)),
            fix,
        ));
    }
    Ok(Secret::new(text))
}

/// Removes the launcher's own `CRUX_*` variables from a child's environment.
fn without_crux_vars(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CRUX_") {
            cmd.env_remove(key);
        }
    }
}

fn exec(command: &[OsString], credentials: &[(VarName, Secret)]) -> Error {
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]);
    without_crux_vars(&mut cmd);
    for (var, secret) in credentials {
        cmd.env(var.as_str(), secret.expose());
    }
    let e = cmd.exec();
    let program = sanitize(&command[0].to_string_lossy());
    Error::Launch(Box::new(Error::failed(
        format!(
            "{}: cannot start `{program}`: {e}",
            env_str("CRUX_MCP_NAME")
                .map(|n| sanitize(&n))
                .unwrap_or_default()
        ),
        "install it, or check the PATH your MCP host passes (crux project status)",
    )))
}
