//! Turning a definition into a registration on this machine: a pinned package is installed
//! (into a staging folder until the registration is recorded), every program is resolved to an
//! absolute path, and the result is shown in full for the user to judge. `mcp add`, `mcp
//! upgrade` and the teammate flow of `project install` all register through here.

use crate::error::{escape_all, show_command, Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::install::{self, Staged};
use crate::names::ServerName;
use crate::registry::{Package, Registered, Registry, ServerSpec, Source};
use std::path::{Path, PathBuf};

/// A registration resolved on this machine, not recorded yet.
pub struct Pending {
    pub name: ServerName,
    pub registered: Registered,
    staged: Option<Staged>,
}

/// Resolves `spec` for `name`: installs a pinned package into staging, resolves the command
/// and external-cli programs to absolute paths. Nothing is registered yet.
pub fn prepare(home: &CruxHome, name: &ServerName, mut spec: ServerSpec) -> Result<Pending> {
    if name.as_str() == "node_modules" && matches!(spec.source, Source::Npx(_) | Source::Uvx(_)) {
        // Its install folder would sit on every other installed server's module search path.
        return Err(Error::failed(
            "a server installed from a package cannot be named 'node_modules'",
            "choose another name: crux mcp add <MCP> --npx …",
        ));
    }
    let mut staged = None;
    let command = match &spec.source {
        Source::Npx(p) | Source::Uvx(p) if !p.no_install => {
            let wanted = p.clone();
            let s = if matches!(spec.source, Source::Npx(_)) {
                install::npm(home, name, &wanted)?
            } else {
                install::pypi(home, name, &wanted)?
            };
            if let Source::Npx(p) | Source::Uvx(p) = &mut spec.source {
                p.version = Some(s.version.clone());
                p.integrity = Some(s.integrity.clone());
            }
            let mut cmd = s.command();
            staged = Some(s);
            cmd.extend(spec.args.iter().cloned());
            Some(cmd)
        }
        Source::Npx(_) | Source::Uvx(_) => {
            let tool = if matches!(spec.source, Source::Npx(_)) {
                "npx"
            } else {
                "uvx"
            };
            let mut cmd = spec.command_line().expect("an unpinned package has one");
            cmd[0] = absolute(
                tool,
                &format!("install {tool}, or let crux install the server (without --no-install)"),
            )?;
            Some(cmd)
        }
        Source::Command { command } => {
            let program = PathBuf::from(resolve_command(command)?);
            let real = install::real_interpreter(home, &program);
            // An interpreter by its real path; a script with its `#!` interpreter resolved.
            let mut cmd = if real != program {
                vec![real.to_string_lossy().into_owned()]
            } else {
                install::script_command(&program)
            };
            cmd.extend(spec.args.iter().cloned());
            Some(cmd)
        }
        Source::Local { path } => {
            let mut cmd = spec.command_line().expect("a local server has one");
            if cmd[0].starts_with('/') {
                // An executable file: its `#!` interpreter by absolute path too.
                let mut script = install::script_command(Path::new(path));
                script.extend(spec.args.iter().cloned());
                Some(script)
            } else {
                let what = cmd[0].clone();
                let found = absolute(&what, &format!("install {what}, or make the file executable and register it as --command <path>"))?;
                cmd[0] = install::real_interpreter(home, Path::new(&found))
                    .to_string_lossy()
                    .into_owned();
                Some(cmd)
            }
        }
        Source::Url { .. } => None,
    };
    let mut registered = Registered::new(spec);
    registered.command = command;
    for (var, text) in &registered.spec.auth.external_cli {
        if let Some(words) = crate::launch::plain_program(text) {
            let program = &words[0];
            let found = if program.contains('/') {
                std::fs::canonicalize(program).ok()
            } else {
                install::find_program(program)
            };
            if let Some(found) = found {
                registered
                    .external_programs
                    .insert(var.clone(), found.to_string_lossy().into_owned());
            }
        }
    }
    if staged.is_some() {
        registered.installed_at = Some(crate::index::now_rfc3339());
    }
    Ok(Pending {
        name: name.clone(),
        registered,
        staged,
    })
}

fn absolute(program: &str, fix: &str) -> Result<String> {
    install::find_program(program)
        .map(|p| p.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::failed(
                format!("`{}` is not on PATH", crate::error::sanitize(program)),
                fix.to_string(),
            )
        })
}

/// A `--command`: a path (made absolute: the host starts servers from its own directory) or a
/// program on PATH, resolved now so the launch never looks it up.
pub fn resolve_command(command: &str) -> Result<String> {
    let found = if command.contains('/') {
        std::fs::canonicalize(command).ok().filter(|p| p.is_file())
    } else {
        install::find_program(command)
    };
    found
        .map(|p| p.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::failed(
                format!(
                    "the command `{}` is not found",
                    crate::error::sanitize(command)
                ),
                "install it, or give its full path: crux mcp add <MCP> --command /path/to/server",
            )
        })
}

impl Pending {
    /// Records the registration: moves the install into place and saves the registry. The
    /// caller holds the `CRUX_HOME` lock and has loaded `registry` under it.
    pub fn commit(self, home: &CruxHome, registry: &mut Registry) -> Result<Registered> {
        let mut done = commit_all(vec![self], home, registry)?;
        Ok(done.remove(0).1)
    }
}

/// Records several registrations at once: every install moves into place, then one registry
/// save; if anything fails, the old installs come back and the registry is unchanged. The
/// caller holds the `CRUX_HOME` lock and has loaded `registry` under it.
pub fn commit_all(
    pendings: Vec<Pending>,
    home: &CruxHome,
    registry: &mut Registry,
) -> Result<Vec<(ServerName, Registered)>> {
    let before = registry.servers.clone();
    let mut swaps = Vec::new();
    let mut done = Vec::new();
    let mut uninstalled = Vec::new();
    for pending in pendings {
        // A failure here drops the swaps made so far, which puts their old installs back.
        match pending.staged {
            Some(staged) => swaps.push(staged.commit()?),
            None => uninstalled.push(pending.name.clone()),
        }
        registry
            .servers
            .insert(pending.name.to_string(), pending.registered.clone());
        done.push((pending.name, pending.registered));
    }
    if let Err(e) = registry.save(home) {
        registry.servers = before;
        return Err(e);
    }
    swaps.into_iter().for_each(install::Swap::keep);
    // A server that is no longer installed leaves no install behind.
    for name in uninstalled {
        install::remove(home, &name)?;
    }
    Ok(done)
}

/// The lines that show a definition in full: what it runs, with what, and what it gets.
pub fn describe(name: &str, spec: &ServerSpec, command: Option<&[String]>) -> Vec<String> {
    let mut lines = vec![format!(
        "{}: {}",
        escape_all(name),
        escape_all(&spec.describe_source())
    )];
    if let Source::Npx(p) | Source::Uvx(p) = &spec.source {
        lines.extend(describe_package(p));
    }
    let portable = match &spec.source {
        Source::Npx(p) | Source::Uvx(p) if p.pinned() => None,
        _ => spec.command_line(),
    };
    match command.map(<[String]>::to_vec).or(portable) {
        Some(cmd) => lines.push(format!("  runs:        {}", show_command(&cmd))),
        None if spec.url().is_none() => {
            let args = if spec.args.is_empty() {
                "no arguments".to_string()
            } else {
                format!("the arguments {}", show_command(&spec.args))
            };
            lines.push(format!("  runs:        the package's program, with {args}"));
        }
        None => {}
    }
    for (k, v) in &spec.env {
        let warning = if crate::launch::loads_code(k) || k == "PATH" {
            "   <- makes the server load other code"
        } else {
            ""
        };
        lines.push(format!(
            "  setting:     {}={}{warning}",
            escape_all(k),
            escape_all(v)
        ));
    }
    if !spec.allow_env.is_empty() {
        let loading = spec
            .allow_env
            .iter()
            .any(|v| crate::launch::loads_code(v) || v == "PATH");
        lines.push(format!(
            "  lets through from the host: {}{}",
            escape_all(&spec.allow_env.join(", ")),
            if loading {
                "   <- variables that make programs load other code"
            } else {
                ""
            }
        ));
    }
    let vars = spec
        .auth
        .keychain
        .iter()
        .chain(spec.auth.bearer.iter().map(|b| &b.var));
    for var in vars {
        lines.push(format!(
            "  credential:  {} (from the keystore{})",
            escape_all(var),
            spec.sent_in(var)
                .map(|w| format!(", {w}"))
                .unwrap_or_default()
        ));
    }
    for header in spec.shown_headers() {
        lines.push(format!("  sent as:     {}", escape_all(&header)));
    }
    if let Some(b) = &spec.auth.bearer {
        lines.push(format!(
            "  sent as:     {}: {}<{}>",
            escape_all(&b.header_name),
            if b.header_prefix.is_empty() {
                String::new()
            } else {
                format!("{} ", escape_all(&b.header_prefix))
            },
            escape_all(&b.var)
        ));
    }
    if spec.auth.oauth.is_some() {
        lines.push("  credential:  OAuth sign-in (crux mcp auth)".into());
    }
    for (var, command) in &spec.auth.external_cli {
        lines.push(format!(
            "  at every launch, for {}: {}",
            escape_all(var),
            escape_all(command)
        ));
    }
    if let Some(command) = &spec.auth.setup_cmd {
        lines.push(format!(
            "  setup command (run by crux mcp auth {}): {}",
            escape_all(name),
            escape_all(command)
        ));
    }
    lines
}

fn describe_package(p: &Package) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(i) = &p.integrity {
        lines.push(format!("  integrity:   {}", escape_all(i)));
    }
    if !p.no_install {
        lines.push(format!(
            "  install scripts: {}",
            if p.allow_scripts {
                "ALLOWED (the package runs its own code while installing)"
            } else {
                "off"
            }
        ));
    }
    if let Some(b) = &p.bin {
        lines.push(format!("  program:     {}", escape_all(b)));
    }
    lines
}

/// Asks on the terminal; `false` when the answer is anything but yes.
pub fn confirm(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Error::io("cannot read the answer", e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// The stored credentials of `name` that a new registration with `fingerprint` would not get
/// without the user's word.
pub fn inherited(home: &CruxHome, name: &str, fingerprint: &str) -> Result<Vec<String>> {
    Ok(Index::load(home)?.unbound(name, fingerprint))
}

/// Binds every stored credential of `name` to `fingerprint`. Holds the lock.
pub fn bind(home: &CruxHome, name: &str, fingerprint: &str) -> Result<()> {
    let _lock = home.lock()?;
    let mut index = Index::load(home)?;
    index.bind_all(name, fingerprint);
    index.save(home)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_arguments_and_headers_are_described_where_they_go() {
        let stdio: ServerSpec = serde_json::from_value(serde_json::json!({
            "source": {"type": "command", "command": "/usr/bin/srv"},
            "args": ["--api-key", "{crux:API_KEY}"],
            "auth": {"keychain": ["API_KEY", "OTHER"], "in_args": ["API_KEY"]},
        }))
        .unwrap();
        let lines = describe("s", &stdio, None);
        assert!(
            lines.contains(&"  credential:  API_KEY (from the keystore, in the arguments)".into()),
            "{lines:?}"
        );
        assert!(lines.contains(&"  credential:  OTHER (from the keystore)".into()));
        let remote: ServerSpec = serde_json::from_value(serde_json::json!({
            "source": {"type": "url", "url": "https://h.example/mcp?api_key={crux:API_KEY}"},
            "auth": {
                "keychain": ["API_KEY", "TEAM_TOKEN"],
                "headers": {"X-Team": "t-{crux:TEAM_TOKEN}"},
            },
        }))
        .unwrap();
        let lines = describe("r", &remote, None);
        for line in [
            "  credential:  API_KEY (from the keystore, in the URL)",
            "  credential:  TEAM_TOKEN (from the keystore, in a header)",
            "  sent as:     X-Team: t-<TEAM_TOKEN>",
        ] {
            assert!(lines.contains(&line.to_string()), "{line}: {lines:?}");
        }
    }
}
