//! `crux project create | install | uninstall | sync | status`.

use crate::cli::ProjectCommand;
use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::names::ServerName;
use crate::project::{
    find_project, require_project, ProjectFile, ProjectServer, Projects, PROJECT_FILE,
};
use crate::registry::{Registered, Registry, ServerSpec, Source};
use crate::sync;
use std::path::{Path, PathBuf};

pub fn run(command: ProjectCommand, home: &CruxHome) -> Result<()> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    match command {
        ProjectCommand::Create { name } => create(home, &cwd, name),
        ProjectCommand::Install { mcps } => install(home, &cwd, &mcps),
        ProjectCommand::Uninstall { mcp } => uninstall(home, &cwd, &mcp),
        ProjectCommand::Sync {
            all,
            headers_helper,
            no_headers_helper,
        } => sync_cmd(
            home,
            &cwd,
            all,
            if headers_helper {
                Some(true)
            } else if no_headers_helper {
                Some(false)
            } else {
                None
            },
        ),
        ProjectCommand::Status { all, json } => status(home, &cwd, all, json),
    }
}

fn create(home: &CruxHome, cwd: &Path, name: Option<String>) -> Result<()> {
    if cwd.join(PROJECT_FILE).exists() {
        return Err(Error::failed(
            format!("{} already exists", cwd.join(PROJECT_FILE).display()),
            "add servers to it: crux project install <MCP>",
        ));
    }
    let name = name.unwrap_or_else(|| {
        cwd.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "project".into())
    });
    let _lock = home.lock()?;
    ProjectFile::new(&name).save(cwd)?;
    let mut projects = Projects::load(home)?;
    projects.projects.entry(cwd.to_path_buf()).or_default();
    projects.save(home)?;
    println!(
        "✓ Created {PROJECT_FILE} for '{}'. Add servers: crux project install <MCP>",
        sanitize(&name)
    );
    Ok(())
}

fn install(home: &CruxHome, cwd: &Path, mcps: &[String]) -> Result<()> {
    let names: Vec<ServerName> = mcps
        .iter()
        .map(|m| ServerName::parse(m))
        .collect::<Result<_>>()?;
    let _lock = home.lock()?;
    let dir = find_project(cwd).unwrap_or_else(|| cwd.to_path_buf());
    let mut registry = Registry::load(home)?;
    let existing = ProjectFile::load(&dir)?;
    let created = existing.is_none();
    let mut project = existing.unwrap_or_else(|| {
        ProjectFile::new(
            &dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "project".into()),
        )
    });
    if names.is_empty() {
        if created {
            return Err(Error::failed(
                format!("no {PROJECT_FILE} here or in any parent directory"),
                "create one (crux project create) or name servers: crux project install <MCP>",
            ));
        }
        // The teammate flow: register what crux.json defines and this machine lacks.
        let mut added = Vec::new();
        for (name, server) in &project.servers {
            if let ProjectServer::Spec(spec) = server {
                if !registry.servers.contains_key(name) {
                    registry.servers.insert(
                        name.clone(),
                        Registered {
                            spec: (**spec).clone(),
                            added_at: crate::index::now_rfc3339(),
                            setup_ran_at: None,
                        },
                    );
                    added.push(name.clone());
                }
            }
        }
        if !added.is_empty() {
            registry.save(home)?;
            for name in &added {
                let spec = &registry.servers[name].spec;
                println!(
                    "✓ Registered '{name}' from {PROJECT_FILE}: {}",
                    sanitize(&spec.describe_source())
                );
                for (var, command) in &spec.auth.external_cli {
                    println!("  runs at every launch, for {var}: {}", sanitize(command));
                }
                if let Some(command) = &spec.auth.setup_cmd {
                    println!(
                        "  setup command (run by crux mcp auth {name}): {}",
                        sanitize(command)
                    );
                }
            }
        }
    } else {
        for name in &names {
            let spec = registry.require(name)?.spec.clone();
            project
                .servers
                .insert(name.to_string(), ProjectServer::Spec(Box::new(spec)));
        }
        project.save(&dir)?;
        if created {
            println!("✓ Created {}", dir.join(PROJECT_FILE).display());
        }
        for name in &names {
            println!("✓ Added '{name}' to {PROJECT_FILE}");
        }
    }
    let mut projects = Projects::load(home)?;
    let changed = sync_one(home, &dir, &registry, &mut projects)?;
    projects.save(home)?;
    report_sync(&dir, changed);
    let gaps = project_gaps(home, &dir, &registry)?;
    for (server, server_gaps) in &gaps {
        for gap in server_gaps {
            println!("! {server}: {} — {}", gap.problem, gap.fix);
        }
    }
    Ok(())
}

fn uninstall(home: &CruxHome, cwd: &Path, mcp: &str) -> Result<()> {
    let name = ServerName::parse(mcp)?;
    let _lock = home.lock()?;
    let dir = require_project(cwd)?;
    let mut project = ProjectFile::load(&dir)?.expect("require_project found it");
    if project.servers.remove(name.as_str()).is_none() {
        return Err(Error::failed(
            format!("'{name}' is not in {}", dir.join(PROJECT_FILE).display()),
            "see what it holds: crux project status",
        ));
    }
    project.save(&dir)?;
    let registry = Registry::load(home)?;
    let mut projects = Projects::load(home)?;
    let changed = sync_one(home, &dir, &registry, &mut projects)?;
    projects.save(home)?;
    println!("✓ Removed '{name}' from {PROJECT_FILE}");
    report_sync(&dir, changed);
    Ok(())
}

fn report_sync(dir: &Path, changed: bool) {
    if changed {
        println!("✓ Wrote {}", dir.join(sync::MCP_FILE).display());
    } else {
        println!("✓ {} is up to date", dir.join(sync::MCP_FILE).display());
    }
}

/// Regenerates one project's `.mcp.json`; records what crux generated. Holds the lock.
fn sync_one(
    home: &CruxHome,
    dir: &Path,
    registry: &Registry,
    projects: &mut Projects,
) -> Result<bool> {
    let project = ProjectFile::load(dir)?.ok_or_else(|| {
        Error::failed(
            format!("{} is gone", dir.join(PROJECT_FILE).display()),
            "create it: crux project create",
        )
    })?;
    let specs = sync::resolve(&project, dir, registry)?;
    let launcher = if specs.iter().any(|(_, s)| {
        !s.auth.launch_vars().is_empty() || s.auth.oauth.is_some() || s.auth.bearer.is_some()
    }) {
        sync::install_launchers(home)?
    } else {
        home.launchers_dir().join("keychain-auth.sh")
    };
    let tracked = projects.projects.entry(dir.to_path_buf()).or_default();
    let helper = if tracked.headers_helper {
        Some(sync::headers_helper_prefix(home)?)
    } else {
        None
    };
    let entries: Vec<(String, serde_json::Value)> = specs
        .iter()
        .map(|(name, spec)| {
            (
                name.clone(),
                sync::entry_for(name, spec, &launcher, helper.as_deref()),
            )
        })
        .collect();
    let changed = sync::write_mcp_json(dir, &entries, &tracked.generated)?;
    tracked.generated = entries.into_iter().map(|(n, _)| n).collect();
    if changed {
        tracked.synced_at = Some(crate::index::now_rfc3339());
    }
    Ok(changed)
}

fn sync_cmd(home: &CruxHome, cwd: &Path, all: bool, headers_helper: Option<bool>) -> Result<()> {
    let _lock = home.lock()?;
    let registry = Registry::load(home)?;
    let mut projects = Projects::load(home)?;
    let before = serde_json::to_vec(&projects).expect("JSON");
    let dirs: Vec<PathBuf> = if all {
        projects.projects.keys().cloned().collect()
    } else {
        vec![require_project(cwd)?]
    };
    if let Some(on) = headers_helper {
        for dir in &dirs {
            projects
                .projects
                .entry(dir.clone())
                .or_default()
                .headers_helper = on;
        }
    }
    let (mut written, mut current, mut failed) = (0, 0, 0);
    for dir in dirs {
        if all && !dir.join(PROJECT_FILE).is_file() {
            projects.projects.remove(&dir);
            println!("- dropped {} (its {PROJECT_FILE} is gone)", dir.display());
            continue;
        }
        match sync_one(home, &dir, &registry, &mut projects) {
            Ok(true) => {
                written += 1;
                println!("✓ Wrote {}", dir.join(sync::MCP_FILE).display());
            }
            Ok(false) => current += 1,
            Err(e) if all => {
                failed += 1;
                eprintln!("{}: {}", dir.display(), e.render());
            }
            Err(e) => return Err(e),
        }
    }
    if serde_json::to_vec(&projects).expect("JSON") != before {
        projects.save(home)?;
    }
    if !all && written == 0 {
        println!(
            "✓ {} is up to date",
            require_project(cwd)?.join(sync::MCP_FILE).display()
        );
    } else if all {
        println!("{written} written, {current} up to date, {failed} failed");
    }
    if failed > 0 {
        return Err(Error::failed(
            format!("{failed} project(s) did not sync"),
            "fix the errors above, then: crux project sync --all",
        ));
    }
    Ok(())
}

pub struct Gap {
    pub problem: String,
    pub fix: String,
}

/// What stands between a server and a successful start, read from the index and PATH only
/// (no keystore is unlocked).
fn server_gaps(name: &str, spec: &ServerSpec, index: &Index, registry: &Registry) -> Vec<Gap> {
    let mut gaps = Vec::new();
    if !registry.servers.contains_key(name) {
        gaps.push(Gap {
            problem: "it is not registered on this machine, so the launcher hands it nothing"
                .into(),
            fix: "crux project install (registers what crux.json defines)".into(),
        });
    }
    let on_path = |program: &str| {
        program.contains('/') && Path::new(program).is_file() || which::which(program).is_ok()
    };
    match &spec.source {
        Source::Npx { .. } if !on_path("npx") => gaps.push(Gap { problem: "npx is not on PATH".into(), fix: "install Node.js (npm ships npx)".into() }),
        Source::Uvx { .. } if !on_path("uvx") => gaps.push(Gap { problem: "uvx is not on PATH".into(), fix: "install uv (pipx install uv)".into() }),
        Source::Command { command } if !on_path(command) => gaps.push(Gap {
            problem: format!("`{}` is not on PATH", sanitize(command)),
            fix: format!("install it, or re-register with its full path: crux mcp add {name} --force --command /path/…"),
        }),
        Source::Local { path } if !Path::new(path).is_file() => gaps.push(Gap {
            problem: format!("{} is missing", sanitize(path)),
            fix: format!("restore it, or re-register: crux mcp add {name} --force --local <path>"),
        }),
        _ => {}
    }
    for var in spec
        .auth
        .keychain
        .iter()
        .chain(spec.auth.bearer.iter().map(|b| &b.var))
    {
        if index
            .servers
            .get(name)
            .and_then(|s| s.credentials.get(var))
            .is_none()
        {
            gaps.push(Gap {
                problem: format!("{var} is not stored"),
                fix: format!("crux mcp auth {name}"),
            });
        }
    }
    if spec
        .auth
        .oauth
        .as_ref()
        .is_some_and(|o| o.grant == crate::oauth::spec::Grant::AuthorizationCode)
    {
        let entry = index.servers.get(name);
        let signed_in =
            entry.is_some_and(|s| s.credentials.contains_key(crate::oauth::spec::ACCESS_TOKEN));
        let state = entry.and_then(|s| s.oauth.as_ref());
        if !signed_in {
            gaps.push(Gap {
                problem: "it is not signed in (OAuth)".into(),
                fix: format!("crux mcp auth {name}"),
            });
        } else if state.is_some_and(|s| s.expires_within(0) && !s.has_refresh_token) {
            gaps.push(Gap {
                problem: "its OAuth token has expired and there is no refresh token".into(),
                fix: format!("crux mcp auth {name}"),
            });
        }
    }
    for (var, command) in &spec.auth.external_cli {
        let program = shlex::split(command)
            .and_then(|w| w.into_iter().next())
            .unwrap_or_default();
        if !on_path(&program) {
            gaps.push(Gap {
                problem: format!("`{}` (for {var}) is not on PATH", sanitize(&program)),
                fix: format!("install {}", sanitize(&program)),
            });
        }
    }
    if spec.auth.setup_cmd.is_some()
        && registry
            .servers
            .get(name)
            .and_then(|r| r.setup_ran_at.as_ref())
            .is_none()
    {
        gaps.push(Gap {
            problem: "its setup command has not run".into(),
            fix: format!("crux mcp auth {name}"),
        });
    }
    gaps
}

fn project_gaps(
    home: &CruxHome,
    dir: &Path,
    registry: &Registry,
) -> Result<Vec<(String, Vec<Gap>)>> {
    let project = ProjectFile::load(dir)?.ok_or_else(|| require_project(dir).unwrap_err())?;
    let index = Index::load(home)?;
    let specs = sync::resolve(&project, dir, registry)?;
    Ok(specs
        .iter()
        .map(|(name, spec)| (name.clone(), server_gaps(name, spec, &index, registry)))
        .collect())
}

fn status(home: &CruxHome, cwd: &Path, all: bool, json: bool) -> Result<()> {
    let registry = Registry::load(home)?;
    let dirs: Vec<PathBuf> = if all {
        Projects::load(home)?
            .projects
            .keys()
            .filter(|d| d.join(PROJECT_FILE).is_file())
            .cloned()
            .collect()
    } else {
        vec![require_project(cwd)?]
    };
    let mut report = Vec::new();
    let mut not_ready = 0;
    for dir in &dirs {
        let gaps = project_gaps(home, dir, &registry)?;
        not_ready += gaps.iter().filter(|(_, g)| !g.is_empty()).count();
        report.push((dir.clone(), gaps));
    }
    if json {
        let out: Vec<_> = report
            .iter()
            .map(|(dir, gaps)| {
                let servers: Vec<_> = gaps
                    .iter()
                    .map(|(name, g)| serde_json::json!({
                        "name": name, "ready": g.is_empty(),
                        "problems": g.iter().map(|g| serde_json::json!({"problem": g.problem, "fix": g.fix})).collect::<Vec<_>>(),
                    }))
                    .collect();
                serde_json::json!({ "project": dir, "servers": servers })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
    } else {
        for (dir, gaps) in &report {
            println!("{}", dir.display());
            if gaps.is_empty() {
                println!("  (no servers; add one: crux project install <MCP>)");
            }
            for (name, g) in gaps {
                if g.is_empty() {
                    println!("  ✓ {name}: ready");
                }
                for gap in g {
                    println!("  ✗ {name}: {} — fix: {}", gap.problem, gap.fix);
                }
            }
        }
    }
    if not_ready > 0 {
        return Err(Error::failed(
            format!("{not_ready} server(s) are not ready to start"),
            "run the fixes listed above",
        ));
    }
    Ok(())
}
