//! `crux host add | remove | list`: hosts configured per user — Claude Desktop, Windsurf,
//! Cline, and the user scope of Claude Code, Codex, Gemini CLI and Cursor. crux records which
//! entries it wrote in each (projects.json), edits only those, and keeps everything else in the
//! file byte for byte.

use crate::cli::HostCommand;
use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::hosts::{self, HostId};
use crate::names::ServerName;
use crate::project::{ProjectFile, Projects};
use crate::registry::{Registered, Registry};
use crate::sync;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub fn run(command: HostCommand, home: &CruxHome) -> Result<()> {
    match command {
        HostCommand::Add { host, mcps } => add(home, host, &mcps),
        HostCommand::Remove { host, mcps } => remove(home, host, &mcps),
        HostCommand::List { json } => list(home, json),
    }
}

fn user_file(host: HostId) -> Result<PathBuf> {
    host.user_file().ok_or_else(|| {
        Error::usage(
            format!("{} is configured per project, not per user", host.title()),
            format!("add it to a project: crux project sync --host {host} (inside the project)"),
        )
    })
}

/// A user file's folder is created (0700) when missing, and must be a real directory; the home
/// directory itself is taken as it is.
fn prepare(path: &Path) -> Result<()> {
    if path.parent() == dirs::home_dir().as_deref() {
        return Ok(());
    }
    hosts::prepare_folder(path, 0o700)
}

/// Writes `host`'s user file with crux's entries for `names` (and no other entries of crux's);
/// returns whether it wrote. Records the entries in projects.json.
pub(crate) fn write_user(
    home: &CruxHome,
    host: HostId,
    registry: &Registry,
    projects: &mut Projects,
    names: &[String],
    also_owned: &[String],
) -> Result<bool> {
    let path = user_file(host)?;
    let servers: Vec<(String, &Registered)> = names
        .iter()
        .filter_map(|n| {
            let name = ServerName::parse(n).ok()?;
            Some((n.clone(), registry.get(&name)?))
        })
        .collect();
    let launcher = sync::launcher_for(home, &servers)?;
    let entries: Vec<(String, Value)> = servers
        .iter()
        .map(|(name, r)| (name.clone(), sync::entry_on(host, name, r, &launcher, None)))
        .collect();
    let mut owned = projects.user_hosts.get(&host).cloned().unwrap_or_default();
    owned.extend(also_owned.iter().cloned());
    let bytes = hosts::plan(host, &path, &entries, &owned)?;
    if let Some(bytes) = &bytes {
        prepare(&path)?;
        hosts::write(&path, bytes, 0o600)?;
    }
    let written: Vec<String> = entries.into_iter().map(|(n, _)| n).collect();
    if written.is_empty() {
        projects.user_hosts.remove(&host);
    } else {
        projects.user_hosts.insert(host, written);
    }
    Ok(bytes.is_some())
}

fn parse_names(mcps: &[String]) -> Result<Vec<ServerName>> {
    mcps.iter().map(|m| ServerName::parse(m)).collect()
}

fn add(home: &CruxHome, host: HostId, mcps: &[String]) -> Result<()> {
    let (path, names) = (user_file(host)?, parse_names(mcps)?);
    let _lock = home.lock()?;
    let registry = Registry::load(home)?;
    for name in &names {
        registry.require(name)?;
    }
    let mut projects = Projects::load(home)?;
    let mut wanted = projects.user_hosts.get(&host).cloned().unwrap_or_default();
    // Entries crux wrote for servers since removed from the registry go.
    wanted.retain(|n| {
        let keep = ServerName::parse(n)
            .ok()
            .is_some_and(|n| registry.get(&n).is_some());
        if !keep {
            println!(
                "- removing '{}' from {} (it is no longer registered)",
                sanitize(n),
                path.display()
            );
        }
        keep
    });
    for name in &names {
        if !wanted.iter().any(|w| w == name.as_str()) {
            wanted.push(name.to_string());
        }
    }
    let wrote = write_user(home, host, &registry, &mut projects, &wanted, &[])?;
    projects.save(home)?;
    if wrote {
        for name in &names {
            println!("✓ Added '{name}' to {} ({})", host.title(), path.display());
        }
        println!(
            "  Restart {} (or reload its MCP servers) to pick it up.",
            host.title()
        );
    } else {
        println!("✓ {} is up to date", path.display());
    }
    Ok(())
}

fn remove(home: &CruxHome, host: HostId, mcps: &[String]) -> Result<()> {
    let (path, names) = (user_file(host)?, parse_names(mcps)?);
    let _lock = home.lock()?;
    let registry = Registry::load(home)?;
    let mut projects = Projects::load(home)?;
    let owned = projects.user_hosts.get(&host).cloned().unwrap_or_default();
    let present = hosts::read_entries(host, &path)?.unwrap_or_default();
    let mut launcher_shaped = Vec::new();
    for name in &names {
        let entry = present.iter().find(|(n, _)| n == name.as_str());
        match entry {
            None if !owned.iter().any(|o| o == name.as_str()) => {
                return Err(Error::failed(
                    format!("{} has no entry '{name}'", path.display()),
                    "see what crux wrote there: crux host list".to_string(),
                ))
            }
            Some((_, e)) if !owned.iter().any(|o| o == name.as_str()) => {
                if !hosts::is_launcher_entry(name.as_str(), e) {
                    return Err(Error::failed(
                        format!(
                            "the entry '{name}' in {} was not written by crux, so crux leaves it",
                            path.display()
                        ),
                        format!("remove it by hand from {}", path.display()),
                    ));
                }
                launcher_shaped.push(name.to_string());
            }
            _ => {}
        }
    }
    let wanted: Vec<String> = owned
        .into_iter()
        .filter(|o| !names.iter().any(|n| n.as_str() == o))
        .filter(|o| {
            ServerName::parse(o)
                .ok()
                .is_some_and(|n| registry.get(&n).is_some())
        })
        .collect();
    write_user(
        home,
        host,
        &registry,
        &mut projects,
        &wanted,
        &launcher_shaped,
    )?;
    projects.save(home)?;
    for name in &names {
        println!(
            "✓ Removed '{name}' from {} ({})",
            host.title(),
            path.display()
        );
    }
    Ok(())
}

/// The state of one server entry crux finds in a host file.
struct Found {
    name: String,
    from_crux: bool,
    /// For crux's entries: `None` when current, else why it is stale.
    stale: Option<String>,
}

/// The entries of a host's user file: which come from crux, and whether each is current.
fn survey(
    home: &CruxHome,
    host: HostId,
    path: &Path,
    registry: &Registry,
    owned: &[String],
) -> Result<Option<Vec<Found>>> {
    let Some(entries) = hosts::read_entries(host, path)? else {
        return Ok(None);
    };
    let launcher = home.launchers_dir().join("keychain-auth.sh");
    Ok(Some(
        entries
            .into_iter()
            .map(|(name, entry)| {
                let from_crux =
                    owned.iter().any(|o| o == &name) || hosts::is_launcher_entry(&name, &entry);
                let stale = from_crux
                    .then(|| {
                        let registered = ServerName::parse(&name)
                            .ok()
                            .and_then(|n| registry.get(&n));
                        match registered {
                            None => Some(format!(
                                "not registered any more; remove it: crux host remove {host} {}",
                                sanitize(&name)
                            )),
                            Some(r) => (sync::entry_on(host, &name, r, &launcher, None) != entry)
                                .then(|| {
                                    format!(
                                        "differs from its registration; rewrite it: crux host add {host} {}",
                                        sanitize(&name)
                                    )
                                }),
                        }
                    })
                    .flatten();
                Found {
                    name,
                    from_crux,
                    stale,
                }
            })
            .collect(),
    ))
}

fn list(home: &CruxHome, as_json: bool) -> Result<()> {
    let registry = Registry::load(home)?;
    let projects = Projects::load(home)?;
    let mut out = Vec::new();
    let mut lines = Vec::new();
    for host in hosts::ALL {
        let installed = host.installed();
        let path = host.user_file();
        let owned = projects.user_hosts.get(&host).cloned().unwrap_or_default();
        let found = match &path {
            Some(p) => match survey(home, host, p, &registry, &owned) {
                Ok(found) => Ok(found),
                Err(e) => Err(e.render()),
            },
            None => Ok(None),
        };
        let in_projects = host.project_file().map(|_| {
            projects
                .projects
                .iter()
                .filter(|(dir, t)| {
                    !t.generated_for(host).is_empty()
                        || ProjectFile::load(dir)
                            .ok()
                            .flatten()
                            .is_some_and(|p| p.hosts.as_ref().is_some_and(|h| h.contains(&host)))
                })
                .count()
        });
        if !installed && !matches!(found, Ok(Some(_))) && in_projects.unwrap_or(0) == 0 {
            lines.push(format!(
                "- {} ({host}): not found on this machine",
                host.title()
            ));
            out.push(json!({"host": host.name(), "title": host.title(), "installed": false, "user_file": path}));
            continue;
        }
        lines.push(format!("✓ {} ({host})", host.title()));
        let mut servers = Vec::new();
        match (&path, &found) {
            (Some(p), Ok(None)) => lines.push(format!("    {}: not there yet", p.display())),
            (Some(p), Ok(Some(found))) => {
                let ours: Vec<&Found> = found.iter().filter(|f| f.from_crux).collect();
                let others = found.len() - ours.len();
                lines.push(format!(
                    "    {}: {} from crux, {others} of its own",
                    p.display(),
                    ours.len()
                ));
                for f in &ours {
                    match &f.stale {
                        None => lines.push(format!("      ✓ {}: current", sanitize(&f.name))),
                        Some(why) => {
                            lines.push(format!("      ✗ {}: stale — {why}", sanitize(&f.name)))
                        }
                    }
                }
                for f in found {
                    servers.push(json!({
                        "name": f.name,
                        "from_crux": f.from_crux,
                        "state": if !f.from_crux { Value::Null } else if f.stale.is_some() { json!("stale") } else { json!("current") },
                        "fix": f.stale,
                    }));
                }
            }
            (Some(p), Err(e)) => lines.push(format!("    {}: {e}", p.display())),
            (None, _) => {}
        }
        if let Some(n) = in_projects {
            lines.push(format!(
                "    {} in {n} tracked project(s)",
                host.project_file().unwrap_or_default()
            ));
        }
        out.push(json!({
            "host": host.name(),
            "title": host.title(),
            "installed": installed,
            "user_file": path,
            "user_file_exists": matches!(found, Ok(Some(_))),
            "error": found.as_ref().err(),
            "servers": servers,
            "projects": in_projects,
        }));
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
    } else {
        for line in lines {
            println!("{line}");
        }
    }
    Ok(())
}
