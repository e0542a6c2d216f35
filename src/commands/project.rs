//! `crux project create | install | uninstall | sync | status`.

use crate::cli::ProjectCommand;
use crate::error::{escape_all, sanitize, Error, Result};
use crate::gaps::{server_gaps, Gap};
use crate::home::CruxHome;
use crate::hosts::HostId;
use crate::index::Index;
use crate::names::ServerName;
use crate::project::{
    find_project, require_project, ProjectFile, ProjectServer, Projects, PROJECT_FILE,
};
use crate::registry::{Registry, ServerSpec};
use crate::sync;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub fn run(command: ProjectCommand, home: &CruxHome) -> Result<()> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    match command {
        ProjectCommand::Create { name } => create(home, &cwd, name),
        ProjectCommand::Install { mcps, yes } => install(home, &cwd, &mcps, yes),
        ProjectCommand::Uninstall { mcp } => uninstall(home, &cwd, &mcp),
        ProjectCommand::Sync {
            all,
            hosts,
            headers_helper,
            no_headers_helper,
        } => sync_cmd(
            home,
            &cwd,
            all,
            &hosts,
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
    let project = ProjectFile::new(&name);
    project.save(cwd)?;
    let mut projects = Projects::load(home)?;
    projects.projects.entry(cwd.to_path_buf()).or_default();
    projects.save(home)?;
    println!(
        "✓ Created {PROJECT_FILE} for '{}'. Add servers: crux project install <MCP>",
        sanitize(&name)
    );
    gitignore_files(cwd, &project, true);
    Ok(())
}

fn install(home: &CruxHome, cwd: &Path, mcps: &[String], yes: bool) -> Result<()> {
    let names: Vec<ServerName> = mcps
        .iter()
        .map(|m| ServerName::parse(m))
        .collect::<Result<_>>()?;
    let dir = find_project(cwd).unwrap_or_else(|| cwd.to_path_buf());
    let existing = ProjectFile::load(&dir)?;
    if names.is_empty() {
        let Some(project) = existing else {
            return Err(Error::failed(
                format!("no {PROJECT_FILE} here or in any parent directory"),
                "create one (crux project create) or name servers: crux project install <MCP>",
            ));
        };
        return teammate(home, &dir, &project, yes);
    }
    let created = existing.is_none();
    let mut project = existing.unwrap_or_else(|| {
        ProjectFile::new(
            &dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "project".into()),
        )
    });
    let _lock = home.lock()?;
    let registry = Registry::load(home)?;
    for name in &names {
        let spec = registry.require(name)?.spec.clone();
        project
            .servers
            .insert(name.to_string(), ProjectServer::Spec(Box::new(spec)));
    }
    // Everything is checked before anything is written: the new .mcp.json is planned from the
    // new crux.json, and only then are both written.
    let mut projects = Projects::load(home)?;
    let plan = plan_sync(home, &dir, &project, &registry, &projects)?;
    project.save(&dir)?;
    if created {
        println!("✓ Created {}", dir.join(PROJECT_FILE).display());
    }
    for name in &names {
        println!("✓ Added '{name}' to {PROJECT_FILE}");
    }
    let written = apply_sync(&dir, plan, &mut projects)?;
    projects.save(home)?;
    report_sync(&dir, &project, &written);
    gitignore(&dir, &project);
    report_gaps(home, &dir, &registry)
}

fn report_gaps(home: &CruxHome, dir: &Path, registry: &Registry) -> Result<()> {
    let gaps = project_gaps(home, dir, registry)?;
    for (server, server_gaps) in &gaps {
        for gap in server_gaps {
            println!("! {server}: {} — {}", gap.problem, gap.fix);
        }
    }
    Ok(())
}

/// The teammate flow: registers what a cloned `crux.json` defines and this machine lacks —
/// shown in full first (every argument, every command whole, invisible characters escaped),
/// and only once the user confirms (`--yes` for scripts). Credentials stored for those names
/// before go to them as part of that confirmation. Then syncs.
fn teammate(home: &CruxHome, dir: &Path, project: &ProjectFile, yes: bool) -> Result<()> {
    let registry = Registry::load(home)?;
    let index = Index::load(home)?;
    let candidates: Vec<(ServerName, ServerSpec)> = project
        .servers
        .iter()
        .filter_map(|(name, server)| match server {
            ProjectServer::Spec(spec) if !registry.servers.contains_key(name) => {
                Some(ServerName::parse(name).map(|n| (n, (**spec).clone())))
            }
            _ => None,
        })
        .collect::<Result<_>>()?;
    if !candidates.is_empty() {
        println!(
            "{} defines {} server(s) that this machine has not registered:",
            dir.join(PROJECT_FILE).display(),
            candidates.len()
        );
        for (name, spec) in &candidates {
            for line in crate::registration::describe(name.as_str(), spec, None) {
                println!("{line}");
            }
            let stored: Vec<String> = index
                .servers
                .get(name.as_str())
                .map(|e| e.credentials.keys().cloned().collect())
                .unwrap_or_default();
            if !stored.is_empty() {
                println!(
                    "  it would receive credentials already stored here for '{name}': {}",
                    stored.join(", ")
                );
            }
        }
        let approved = if yes {
            true
        } else if std::io::stdin().is_terminal() {
            crate::registration::confirm(&format!(
                "Register {} and let {} run with these credentials?",
                if candidates.len() == 1 { "it" } else { "them" },
                if candidates.len() == 1 { "it" } else { "them" },
            ))?
        } else {
            return Err(Error::failed(
                format!(
                    "{} registered nothing: the servers above run on this machine with your credentials, so crux asks first, and there is no terminal to ask on",
                    PROJECT_FILE
                ),
                "read the definitions above, then: crux project install --yes",
            ));
        };
        if !approved {
            println!("Nothing registered.");
            return Ok(());
        }
        // Every install is done (into staging) before anything is registered.
        let mut pendings = Vec::new();
        for (name, spec) in candidates {
            pendings.push(crate::registration::prepare(home, &name, spec)?);
        }
        let _lock = home.lock()?;
        let mut registry = Registry::load(home)?;
        // A server another crux process registered meanwhile keeps its registration.
        pendings.retain(|p| registry.get(&p.name).is_none());
        let registered = crate::registration::commit_all(pendings, home, &mut registry)?;
        // Confirmed above, with the credentials each would receive.
        let mut index = Index::load(home)?;
        for (name, r) in &registered {
            index.bind_all(name.as_str(), &r.fingerprint());
            println!(
                "✓ Registered '{name}' from {PROJECT_FILE}: {}",
                escape_all(&r.spec.describe_source())
            );
        }
        index.save(home)?;
    }
    let _lock = home.lock()?;
    let registry = Registry::load(home)?;
    let mut projects = Projects::load(home)?;
    let plan = plan_sync(home, dir, project, &registry, &projects)?;
    let written = apply_sync(dir, plan, &mut projects)?;
    projects.save(home)?;
    report_sync(dir, project, &written);
    gitignore(dir, project);
    report_gaps(home, dir, &registry)
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
    let registry = Registry::load(home)?;
    let mut projects = Projects::load(home)?;
    let plan = plan_sync(home, &dir, &project, &registry, &projects)?;
    project.save(&dir)?;
    let written = apply_sync(&dir, plan, &mut projects)?;
    projects.save(home)?;
    println!("✓ Removed '{name}' from {PROJECT_FILE}");
    report_sync(&dir, &project, &written);
    Ok(())
}

/// Says what a sync wrote: each host file written, or that they are up to date.
pub(crate) fn report_sync(dir: &Path, project: &ProjectFile, written: &[PathBuf]) {
    if written.is_empty() {
        let files: Vec<String> = project
            .hosts_in(dir)
            .iter()
            .filter_map(|h| h.project_file())
            .map(|f| dir.join(f).display().to_string())
            .collect();
        match files.as_slice() {
            [one] => println!("✓ {one} is up to date"),
            many => println!("✓ Up to date: {}", many.join(", ")),
        }
    }
    for path in written {
        println!("✓ Wrote {}", path.display());
    }
}

/// Computes one project's host files from `project`; writes nothing in the project.
fn plan_sync(
    home: &CruxHome,
    dir: &Path,
    project: &ProjectFile,
    registry: &Registry,
    projects: &Projects,
) -> Result<Vec<sync::PlannedFile>> {
    let tracked = projects.projects.get(dir).cloned().unwrap_or_default();
    sync::plan_project(home, dir, project, registry, &tracked, true)
}

/// Writes a project's planned host files and records what crux generated in each. Returns the
/// files written.
pub(crate) fn apply_sync(
    dir: &Path,
    plans: Vec<sync::PlannedFile>,
    projects: &mut Projects,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let tracked = projects.projects.entry(dir.to_path_buf()).or_default();
    for file in plans {
        if sync::write_planned_file(&file)? {
            written.push(file.path.clone());
        }
        tracked.set_generated(file.host, file.generated);
    }
    if !written.is_empty() {
        tracked.synced_at = Some(crate::index::now_rfc3339());
    }
    Ok(written)
}

/// In a git work tree, adds the project's generated host files to its `.gitignore` (unless
/// `crux.json` opts out) and says so; warns about ones git already tracks. A problem here is
/// reported, never a failed sync.
pub(crate) fn gitignore(dir: &Path, project: &ProjectFile) {
    gitignore_files(dir, project, false)
}

/// [`gitignore`]; `ahead`: also files a sync has not written yet (a new project).
fn gitignore_files(dir: &Path, project: &ProjectFile, ahead: bool) {
    if project.gitignore == Some(false) {
        return;
    }
    let files: Vec<&str> = project
        .hosts_in(dir)
        .into_iter()
        .filter_map(HostId::project_file)
        .filter(|f| ahead || dir.join(f).is_file())
        .collect();
    match crate::hosts::gitignore::ensure(dir, &files) {
        Ok(outcome) => {
            for file in &outcome.added {
                println!("✓ Added {file} to .gitignore (it names this machine's launcher; {PROJECT_FILE} is the file to commit)");
            }
            for file in &outcome.tracked {
                eprintln!("note: git tracks {file}, which names this machine's launcher by absolute path; commit {PROJECT_FILE} instead and untrack it: git rm --cached {file}");
            }
        }
        Err(e) => eprintln!("note: .gitignore not updated: {}", e.render()),
    }
}

/// Regenerates one project's host files; records what crux generated. Holds the lock.
/// `project` replaces the `crux.json` on disk (a sync that adds hosts), which is saved once the
/// plan has been checked. Returns the `crux.json` synced and the files written.
fn sync_one(
    home: &CruxHome,
    dir: &Path,
    registry: &Registry,
    projects: &mut Projects,
    project: Option<ProjectFile>,
) -> Result<(ProjectFile, Vec<PathBuf>)> {
    let save = project.is_some();
    let project = match project {
        Some(p) => p,
        None => ProjectFile::load(dir)?.ok_or_else(|| {
            Error::failed(
                format!("{} is gone", dir.join(PROJECT_FILE).display()),
                "create it: crux project create",
            )
        })?,
    };
    let plan = plan_sync(home, dir, &project, registry, projects)?;
    if save {
        project.save(dir)?;
    }
    let written = apply_sync(dir, plan, projects)?;
    Ok((project, written))
}

/// `crux.json` with `hosts` added to its `"hosts"` list (which starts as the hosts a sync
/// writes today); `None` when it lists them already.
fn with_hosts(dir: &Path, hosts: &[HostId]) -> Result<Option<ProjectFile>> {
    if let Some(host) = hosts.iter().find(|h| h.project_file().is_none()) {
        return Err(Error::usage(
            format!("{} is configured per user, not per project", host.title()),
            format!("add servers to it: crux host add {host} <MCP>"),
        ));
    }
    let mut project = ProjectFile::load(dir)?.ok_or_else(|| require_project(dir).unwrap_err())?;
    let mut list = project.hosts_in(dir);
    let before = project.hosts.clone();
    for host in hosts {
        if !list.contains(host) {
            list.push(*host);
        }
    }
    list.sort();
    if before.as_ref() == Some(&list) {
        return Ok(None);
    }
    project.hosts = Some(list);
    Ok(Some(project))
}

fn sync_cmd(
    home: &CruxHome,
    cwd: &Path,
    all: bool,
    hosts: &[HostId],
    headers_helper: Option<bool>,
) -> Result<()> {
    if all && !hosts.is_empty() {
        return Err(Error::usage(
            "--host changes one project's crux.json, not every project's",
            "run it inside the project: crux project sync --host <HOST>",
        ));
    }
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
        let changed = if hosts.is_empty() {
            None
        } else {
            with_hosts(&dir, hosts)?
        };
        if changed.is_some() {
            let names: Vec<&str> = hosts.iter().map(|h| h.name()).collect();
            println!(
                "✓ {PROJECT_FILE} now lists {} among its hosts",
                names.join(", ")
            );
        }
        match sync_one(home, &dir, &registry, &mut projects, changed) {
            Ok((project, files)) => {
                if files.is_empty() {
                    current += 1;
                } else {
                    written += 1;
                }
                // `--all` says only what it wrote.
                if !all || !files.is_empty() {
                    report_sync(&dir, &project, &files);
                    gitignore(&dir, &project);
                }
            }
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
    if all {
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

fn project_gaps(
    home: &CruxHome,
    dir: &Path,
    registry: &Registry,
) -> Result<Vec<(String, Vec<Gap>)>> {
    let project = ProjectFile::load(dir)?.ok_or_else(|| require_project(dir).unwrap_err())?;
    let index = Index::load(home)?;
    let mut out = Vec::new();
    for (name, server) in &project.servers {
        let spec = match (registry.servers.get(name), server) {
            (Some(r), _) => r.spec.clone(),
            (None, ProjectServer::Spec(spec)) => (**spec).clone(),
            (None, ProjectServer::Registered) => {
                return Err(Error::failed(
                    format!(
                        "{} names '{}', which is not registered here",
                        dir.join(PROJECT_FILE).display(),
                        sanitize(name)
                    ),
                    format!("register it: crux mcp add {} …", sanitize(name)),
                ))
            }
        };
        out.push((name.clone(), server_gaps(name, &spec, &index, registry)));
    }
    Ok(out)
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
