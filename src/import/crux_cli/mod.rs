//! crux-cli (PyPI `crux-cli` 1.0.x, the Python tool the reference guide describes) keeps a
//! `~/.crux` of its own shape: detected so it is never reported as corrupt
//! ([`crate::legacy_files`]), and converted into crux's files and keystore naming by
//! `crux import --from crux-cli`.
//!
//! The conversion reads everything first (a file of an unknown shape, or a secret that cannot
//! be read, stops it before anything changes), shows the plan and asks once, then copies every
//! secret into crux's naming and reads it back through crux's own store, and only then writes
//! crux's files, each original kept beside it as `<name>.crux-cli`. A failure part-way puts
//! back every file and keystore item it changed. It never writes a value anywhere but a
//! keystore, and never prints one.

pub mod convert;
pub mod files;
pub mod secrets;

use crate::error::{escape_all, sanitize, Error, Result};
use crate::fsutil;
use crate::home::CruxHome;
use crate::index::{AuthType, Index};
use crate::names::{ServerName, VarName};
use crate::project::{ProjectFile, ProjectServer, Projects, Tracked, PROJECT_FILE};
use crate::registration::{self, Pending};
use crate::registry::{Registered, Registry, Source};
use crate::settings::Settings;
use crate::store::{age_file::AgeFileStore, select, Backend, SecretStore};
use convert::{Converted, OAUTH_ACCOUNTS};
use files::{CliHome, COMMAND};
use secrets::Found;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub use crate::legacy_files::{is_crux_cli_json, present, written_by_crux_cli};

/// The suffix of the crux-cli originals kept beside crux's files.
const KEPT: &str = "crux-cli";

/// A project crux-cli tracked, as it will be.
struct ProjectPlan {
    dir: PathBuf,
    /// The converted `crux.json`; `None` when it is crux's already (it is re-synced only).
    file: Option<(ProjectFile, files::Original)>,
    servers: Vec<String>,
    notes: Vec<String>,
}

/// Everything the conversion will do, computed before anything changes.
struct Plan {
    servers: Vec<Converted>,
    /// Each server's secrets in crux-cli's index (names only).
    wanted: Vec<(ServerName, Vec<VarName>)>,
    projects: Vec<ProjectPlan>,
    /// The backend crux-cli used, and the one crux will use.
    from: Backend,
    target: Backend,
    notes: Vec<String>,
}

impl Plan {
    /// Where crux-cli's originals are kept.
    fn kept(&self, cli: &CliHome) -> Vec<String> {
        cli.originals
            .iter()
            .map(|o| kept_path(&o.path).display().to_string())
            .chain(
                self.projects
                    .iter()
                    .filter_map(|p| p.file.as_ref())
                    .map(|(_, o)| kept_path(&o.path).display().to_string()),
            )
            .collect()
    }

    /// The names of a server's secrets in crux-cli's index.
    fn secrets_of(&self, name: &ServerName) -> Vec<String> {
        self.wanted
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.iter().map(|v| v.to_string()).collect())
            .unwrap_or_default()
    }
}

fn kept_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{KEPT}"));
    path.with_file_name(name)
}

/// `crux import --from crux-cli`.
pub fn run(home: &CruxHome, dry_run: bool, yes: bool, json: bool) -> Result<()> {
    // Read without the lock first: a dry run, a refusal or a file of an unknown shape leave
    // CRUX_HOME exactly as it was (not even a lock file).
    let cli = files::read(home.root())?;
    if cli.is_empty() {
        if json {
            println!(
                "{:#}",
                serde_json::json!({"converted": false, "reason": "no crux-cli files"})
            );
        } else {
            println!(
                "Nothing to import: {} holds no crux-cli files (converted ones are kept as *.{KEPT}).",
                home.root().display()
            );
        }
        return Ok(());
    }
    let plan = make_plan(home, &cli)?;
    // With --json --yes the plan goes into the one document printed at the end.
    if !(json && yes && !dry_run) {
        show_plan(home, &cli, &plan, dry_run, json);
    }
    if dry_run {
        return Ok(());
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(
                "converting crux-cli's files needs a confirmation, and there is no terminal to ask on",
                format!("read the plan above, then: {COMMAND} --yes"),
            ));
        }
        if !registration::confirm("Convert crux-cli's files and secrets as shown?")? {
            println!("Nothing was changed.");
            return Ok(());
        }
    }
    make_private(home.root())?;
    // Under the lock, from what is there now (another crux may have run meanwhile).
    let _lock = home.lock()?;
    let cli = files::read(home.root())?;
    if cli.is_empty() {
        println!("Nothing to import: another crux converted crux-cli's files meanwhile.");
        return Ok(());
    }
    let plan = make_plan(home, &cli)?;
    apply(home, &cli, plan, json)
}

fn make_plan(home: &CruxHome, cli: &CliHome) -> Result<Plan> {
    let registry_path = home.registry_path();
    let source_root = home
        .root()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| home.root().to_path_buf());
    let mut notes = Vec::new();
    let mut servers = Vec::new();
    let existing = match &cli.registry {
        Some(_) => Registry::default(),
        None => Registry::load(home)?,
    };
    if let Some(reg) = &cli.registry {
        for (name, mcp) in &reg.mcp_definitions {
            let converted = convert::server(name, mcp, &source_root, &registry_path)?;
            servers.push(converted);
        }
        if !reg.skill_definitions.is_empty() {
            notes.push(format!(
                "crux-cli's {} skill(s) are not crux's business: they stay listed in registry.json.{KEPT}",
                reg.skill_definitions.len()
            ));
        }
    }
    for s in &servers {
        if existing.get(&s.name).is_some() {
            return Err(Error::failed(
                format!(
                    "'{}' is registered in crux already and in crux-cli's registry; nothing was changed",
                    s.name
                ),
                format!(
                    "keep one: crux mcp remove {} --keep-secrets (crux's), then run: {COMMAND}",
                    s.name
                ),
            ));
        }
    }
    let index_path = home.index_path();
    let mut wanted: BTreeMap<ServerName, Vec<VarName>> = BTreeMap::new();
    for (mcp, keys) in cli.index.iter().flatten() {
        let name = ServerName::parse(mcp).map_err(|e| {
            Error::failed(
                format!(
                    "{}: '{}' is not a server name crux can use ({e}); nothing was changed",
                    index_path.display(),
                    sanitize(mcp)
                ),
                format!(
                    "remove it from {} by hand, then run: {COMMAND}",
                    index_path.display()
                ),
            )
        })?;
        for key in keys {
            let var = VarName::parse(key).map_err(|e| {
                Error::failed(
                    format!(
                        "{}: a key of '{name}' is not a variable name crux can use ({e}); nothing was changed",
                        index_path.display()
                    ),
                    format!("remove it from {} by hand, then run: {COMMAND}", index_path.display()),
                )
            })?;
            let list = wanted.entry(name.clone()).or_default();
            if !list.contains(&var) {
                list.push(var);
            }
        }
    }
    // OAuth tokens are in crux-cli's index too; tokens.json names the accounts.
    for (mcp, token) in &cli.tokens {
        let Ok(name) = ServerName::parse(mcp) else {
            continue;
        };
        for account in [
            &token.keychain_account_access,
            &token.keychain_account_refresh,
        ]
        .into_iter()
        .flatten()
        {
            if let Ok(var) = VarName::parse(account) {
                let list = wanted.entry(name.clone()).or_default();
                if !list.contains(&var) {
                    list.push(var);
                }
            }
        }
    }
    let from = cli.backend();
    let target = target_backend(from, cli)?;
    if target != from {
        notes.push(format!(
            "crux-cli's setting is {from}, which is not reachable here; crux-cli kept the secrets in its age store, so crux uses age"
        ));
    }
    let mut projects = Vec::new();
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    for (tracked, file) in &cli.projects {
        let dir = PathBuf::from(&tracked.path);
        let mut pnotes = Vec::new();
        if !dir.is_dir() {
            notes.push(format!(
                "the project {} crux-cli tracked is gone; crux does not track it",
                escape_all(&tracked.path)
            ));
            continue;
        }
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let mut servers_of = Vec::new();
        let converted = match file {
            Some((pf, original)) => {
                let name = pf
                    .name
                    .clone()
                    .or_else(|| tracked.name.clone())
                    .unwrap_or_else(|| {
                        dir.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    });
                let mut project = ProjectFile::new(&name);
                for m in &pf.mcps {
                    if !names.contains(&m.name()) {
                        pnotes.push(format!(
                            "'{}' is in its crux.json but not in crux-cli's registry: left out",
                            sanitize(m.name())
                        ));
                        continue;
                    }
                    if !m.args().is_empty() {
                        pnotes.push(format!(
                            "crux-cli added {} to '{}' in this project only; crux runs every project's server as registered (register a variant: crux mcp add <MCP> …)",
                            crate::error::show_command(m.args()),
                            sanitize(m.name())
                        ));
                    }
                    servers_of.push(m.name().to_string());
                    // The definition is filled in once the server is registered.
                    project
                        .servers
                        .insert(m.name().to_string(), ProjectServer::Registered);
                }
                if !pf.skills.is_empty() {
                    pnotes.push(format!(
                        "its skills are not crux's business: they stay in {PROJECT_FILE}.{KEPT}"
                    ));
                }
                Some((project, original.clone()))
            }
            None => {
                if let Ok(Some(pf)) = ProjectFile::load(&dir) {
                    servers_of.extend(pf.servers.keys().cloned());
                }
                None
            }
        };
        projects.push(ProjectPlan {
            dir,
            file: converted,
            servers: servers_of,
            notes: pnotes,
        });
    }
    Ok(Plan {
        servers,
        wanted: wanted.into_iter().collect(),
        projects,
        from,
        target,
        notes,
    })
}

/// The backend crux uses for the converted secrets: crux-cli's, unless crux-cli could not use
/// it either and fell back to its age store.
fn target_backend(from: Backend, cli: &CliHome) -> Result<Backend> {
    match from {
        #[cfg(target_os = "linux")]
        Backend::SecretService => {
            match crate::store::secret_service::SecretServiceStore::connect() {
                Ok(_) => Ok(from),
                Err(_) if cli.age.is_some() => Ok(Backend::Age),
                Err(e) => Err(Error::failed(
                    format!("crux-cli's secrets are in the Secret Service, which cannot be reached: {e}; nothing was changed"),
                    format!("{}, then run: {COMMAND}", e.fix().unwrap_or_default()),
                )),
            }
        }
        #[cfg(not(target_os = "macos"))]
        Backend::Keychain => Err(Error::failed(
            "crux-cli's config.toml says its secrets are in the macOS Keychain, which this system does not have; nothing was changed",
            format!("run {COMMAND} on the Mac that holds them"),
        )),
        other => Ok(other),
    }
}

fn auth_type_of(spec: Option<&crate::registry::ServerSpec>, var: &VarName) -> AuthType {
    let Some(spec) = spec else {
        return AuthType::Keychain;
    };
    if spec
        .auth
        .bearer
        .as_ref()
        .is_some_and(|b| b.var == var.as_str())
    {
        return AuthType::Bearer;
    }
    if spec.auth.oauth.is_some() && OAUTH_ACCOUNTS.contains(&var.as_str()) {
        return AuthType::Oauth;
    }
    AuthType::Keychain
}

/// The plan as JSON (names, never values).
fn plan_json(home: &CruxHome, cli: &CliHome, plan: &Plan, dry_run: bool) -> serde_json::Value {
    let kept = plan.kept(cli);
    let secrets_of = |name: &ServerName| plan.secrets_of(name);
    let servers: Vec<_> = plan
        .servers
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name.as_str(),
                "source": s.spec.describe_source(),
                "auth": s.spec.auth_kinds(),
                "secrets": secrets_of(&s.name),
                "notes": s.notes,
            })
        })
        .collect();
    let unregistered: Vec<_> = plan
        .wanted
        .iter()
        .filter(|(n, _)| !plan.servers.iter().any(|s| &s.name == n))
        .map(|(n, v)| serde_json::json!({"name": n.as_str(), "secrets": v.iter().map(|v| v.as_str()).collect::<Vec<_>>()}))
        .collect();
    let projects: Vec<_> = plan
        .projects
        .iter()
        .map(|p| {
            serde_json::json!({
                "path": p.dir,
                "crux_json": if p.file.is_some() { "converted" } else { "crux's already" },
                "servers": p.servers,
                "notes": p.notes,
            })
        })
        .collect();
    serde_json::json!({
        "dry_run": dry_run,
        "crux_home": home.root(),
        "backend": {"crux_cli": plan.from.as_str(), "crux": plan.target.as_str()},
        "servers": servers,
        "secrets_without_server": unregistered,
        "projects": projects,
        "kept": kept,
        "notes": plan.notes,
    })
}

fn show_plan(home: &CruxHome, cli: &CliHome, plan: &Plan, dry_run: bool, json: bool) {
    if json {
        println!("{:#}", plan_json(home, cli, plan, dry_run));
        return;
    }
    let kept = plan.kept(cli);
    let secrets_of = |name: &ServerName| plan.secrets_of(name);
    println!(
        "crux-cli's files in {} {} converted into crux's:",
        home.root().display(),
        if dry_run { "would be" } else { "will be" }
    );
    for s in &plan.servers {
        // In full, as `crux mcp add` shows a definition: what it runs and what it gets.
        for (i, line) in registration::describe(s.name.as_str(), &s.spec, None)
            .iter()
            .enumerate()
        {
            if i == 0 {
                println!("  server {line}");
            } else {
                println!("  {line}");
            }
        }
        let secrets = secrets_of(&s.name);
        if !secrets.is_empty() {
            println!(
                "    moved from crux-cli's keystore: {} (not re-entered)",
                secrets.join(", ")
            );
        }
        for n in &s.notes {
            println!("    note: {n}");
        }
    }
    for (n, vars) in &plan.wanted {
        if !plan.servers.iter().any(|s| &s.name == n) {
            let vars: Vec<&str> = vars.iter().map(VarName::as_str).collect();
            println!(
                "  secrets of '{n}' (not registered in crux-cli): {} — kept for when you register it",
                vars.join(", ")
            );
        }
    }
    for p in &plan.projects {
        println!(
            "  project {}: {}host files re-synced ({})",
            p.dir.display(),
            if p.file.is_some() {
                "crux.json converted, "
            } else {
                ""
            },
            if p.servers.is_empty() {
                "no servers".to_string()
            } else {
                p.servers.join(", ")
            }
        );
        for n in &p.notes {
            println!("    note: {n}");
        }
    }
    let moved = match plan.target {
        Backend::SecretService => "the same Secret Service items, given crux's username attribute (crux-cli still reads them)",
        Backend::Keychain => "the same Keychain items (crux names them as crux-cli does)",
        Backend::Age => "re-encrypted into crux's secrets.age (identity age-identity.key)",
    };
    println!(
        "  secrets: crux-cli's {} backend → crux's {}: {moved}",
        plan.from, plan.target
    );
    println!("  backend: {} saved in settings.json", plan.target);
    if cli.age.is_some() {
        println!(
            "  crux-cli's encrypted store and identity are kept as secrets.age.{KEPT} and identity.{KEPT} (they hold the old values): delete both once crux works for you"
        );
    }
    if !kept.is_empty() {
        println!("  originals kept (no values in them): {}", kept.join(", "));
    }
    for n in &plan.notes {
        println!("  note: {n}");
    }
}

/// Files written so far, to put back on failure.
#[derive(Default)]
struct Journal {
    /// (path, content before, mode); `None`: it did not exist.
    files: Vec<(PathBuf, Option<Vec<u8>>, u32)>,
    /// Installs moved into `CRUX_HOME/mcps/` and folders (`launchers/`) that did not exist
    /// before.
    installs: Vec<PathBuf>,
}

impl Journal {
    fn write(&mut self, path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
        let before = fsutil::read_optional(path)?;
        if before.as_deref() == Some(bytes) {
            return Ok(());
        }
        self.files.push((path.to_path_buf(), before, mode));
        fsutil::write_atomic_mode(path, bytes, mode)
    }

    fn remember(&mut self, path: &Path, mode: u32) -> Result<()> {
        let before = fsutil::read_optional(path)?;
        self.files.push((path.to_path_buf(), before, mode));
        Ok(())
    }

    fn remove(&mut self, path: &Path) -> Result<()> {
        let Some(before) = fsutil::read_optional(path)? else {
            return Ok(());
        };
        self.files.push((path.to_path_buf(), Some(before), 0o600));
        std::fs::remove_file(path)
            .map_err(|e| Error::io(format!("cannot remove {}", path.display()), e))
    }

    fn undo(self) {
        for (path, before, mode) in self.files.into_iter().rev() {
            let result = match before {
                Some(bytes) => fsutil::write_atomic_mode(&path, &bytes, mode),
                None => match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(Error::io(format!("cannot remove {}", path.display()), e))
                    }
                    _ => Ok(()),
                },
            };
            if let Err(e) = result {
                eprintln!("warning: could not put back {}: {e}", path.display());
            }
        }
        for dir in self.installs {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

fn json_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("crux's files serialize");
    bytes.push(b'\n');
    bytes
}

fn apply(home: &CruxHome, cli: &CliHome, plan: Plan, json: bool) -> Result<()> {
    // 1. Every secret, read from crux-cli's keystore (nothing changes if one cannot be read).
    let age = match &cli.age {
        Some((identity, store)) => Some(secrets::decrypt_age(identity, store)?),
        None => None,
    };
    let (found, missing) = secrets::read_all(plan.from, age.as_ref(), &plan.wanted, home)?;
    let mcps_dir = home.mcps_dir();
    let mcps_existed = mcps_dir.exists();
    let result = apply_found(home, cli, plan, json, found, missing);
    if result.is_err() && !mcps_existed {
        // Only when empty: what a failed install staged is gone already.
        let _ = std::fs::remove_dir(&mcps_dir);
    }
    result
}

fn apply_found(
    home: &CruxHome,
    cli: &CliHome,
    plan: Plan,
    json: bool,
    found: Vec<Found>,
    missing: Vec<secrets::Missing>,
) -> Result<()> {
    // 2. Each server resolved on this machine (a package installed into staging).
    let mut notes: Vec<String> = Vec::new();
    let mut pendings: Vec<Pending> = Vec::new();
    for s in &plan.servers {
        let pending = match registration::prepare(home, &s.name, s.spec.clone()) {
            Ok(p) => p,
            Err(e) if matches!(s.spec.source, Source::Npx(_) | Source::Uvx(_)) => {
                let mut spec = s.spec.clone();
                if let Source::Npx(p) | Source::Uvx(p) = &mut spec.source {
                    p.no_install = true;
                }
                notes.push(format!(
                    "'{}' could not be installed ({}); it keeps starting through npx/uvx at every start, as under crux-cli; pin it later: crux mcp upgrade {}",
                    s.name,
                    e.line(),
                    s.name
                ));
                registration::prepare(home, &s.name, spec)
                    .map_err(|e| nothing_changed(&s.name, e))?
            }
            Err(e) => return Err(nothing_changed(&s.name, e)),
        };
        pendings.push(pending);
    }
    let registered: BTreeMap<String, Registered> = pendings
        .iter()
        .map(|p| (p.name.to_string(), p.registered.clone()))
        .collect();

    // 3. The secrets in crux's naming, read back; then crux's files.
    let mut journal = Journal::default();
    let mut adopted = secrets::Adopted::default();
    let result = (|| -> Result<Vec<String>> {
        adopt(home, cli, &plan, &found, &mut journal, &mut adopted)?;
        secrets::verify(home, plan.target, &found)?;
        write_files(
            home,
            cli,
            &plan,
            pendings,
            &registered,
            &found,
            &mut journal,
        )
    })();
    match result {
        Ok(mut more) => {
            notes.append(&mut more);
            report(home, cli, &plan, &found, &missing, &notes, json);
            Ok(())
        }
        Err(e) => {
            journal.undo();
            adopted.undo(home);
            Err(Error::failed(
                format!(
                    "{e}; crux put back every file and keystore item the conversion had changed"
                ),
                match e.fix() {
                    Some(fix) if fix.contains(COMMAND) => fix,
                    Some(fix) => format!("{fix}, then run: {COMMAND}"),
                    None => format!("run again: {COMMAND}"),
                },
            ))
        }
    }
}

fn nothing_changed(name: &ServerName, e: Error) -> Error {
    Error::failed(
        format!("'{name}' cannot be registered in crux: {e}; nothing was changed"),
        format!(
            "{}, then run: {COMMAND}",
            e.fix().unwrap_or_else(|| "fix it".into())
        ),
    )
}

/// Copies every found secret into crux's naming in the target backend.
fn adopt(
    home: &CruxHome,
    cli: &CliHome,
    plan: &Plan,
    found: &[Found],
    journal: &mut Journal,
    adopted: &mut secrets::Adopted,
) -> Result<()> {
    if plan.target == Backend::Age {
        // crux's store has crux-cli's file name: crux-cli's moves aside first (kept).
        let store = home.age_store_path();
        if let Some((identity, cli_store)) = &cli.age {
            if secrets::is_cli_age(identity, cli_store) {
                let bytes = fsutil::read_optional(cli_store)?.unwrap_or_default();
                journal.write(&kept_path(cli_store), &bytes, 0o600)?;
                journal.remove(&store)?;
            }
        }
        journal.remember(&store, 0o600)?;
        journal.remember(&home.age_identity_path(), 0o600)?;
    }
    let conflicts = secrets::conflicts(home, plan.target, found)?;
    if let Some((mcp, var)) = conflicts.first() {
        return Err(Error::failed(
            format!("crux already holds another value for '{mcp}' {var} than crux-cli"),
            format!("keep crux-cli's: crux mcp auth --delete {mcp} {var}, then run: {COMMAND}"),
        ));
    }
    let mut copies: Vec<&Found> = Vec::new();
    match plan.target {
        #[cfg(target_os = "linux")]
        Backend::SecretService => {
            secrets::adopt_secret_service(found, adopted)?;
            copies.extend(found.iter().filter(|f| f.item.is_none()));
        }
        Backend::Keychain => copies.extend(found.iter().filter(|f| f.from != Backend::Keychain)),
        _ => copies.extend(found.iter()),
    }
    if copies.is_empty() {
        return Ok(());
    }
    let store: Box<dyn SecretStore> = match plan.target {
        Backend::Age => Box::new(AgeFileStore::new(home)),
        other => select::open(other, home)?,
    };
    let mut by_server: BTreeMap<&ServerName, Vec<(VarName, crate::secret::Secret)>> =
        BTreeMap::new();
    for f in copies {
        by_server
            .entry(&f.mcp)
            .or_default()
            .push((f.var.clone(), f.secret.clone()));
    }
    for (mcp, values) in by_server {
        if plan.target != Backend::Age {
            // What crux did not hold before is removed again on failure.
            let vars: Vec<VarName> = values.iter().map(|(v, _)| v.clone()).collect();
            let held = store.get_many(mcp, &vars)?;
            for var in vars.into_iter().filter(|v| !held.contains_key(v)) {
                adopted.created.push((plan.target, mcp.clone(), var));
            }
        }
        store.set_many(mcp, &values).map_err(|e| {
            Error::failed(
                format!(
                    "crux's {} store cannot take the secrets of '{mcp}': {e}",
                    plan.target
                ),
                format!("{}, then run: {COMMAND}", e.fix().unwrap_or_default()),
            )
        })?;
    }
    Ok(())
}

/// Writes crux's registry, index, projects, settings, each project's crux.json and host files,
/// and keeps crux-cli's originals. Returns notes for the report.
#[allow(clippy::too_many_arguments)]
fn write_files(
    home: &CruxHome,
    cli: &CliHome,
    plan: &Plan,
    pendings: Vec<Pending>,
    registered: &BTreeMap<String, Registered>,
    found: &[Found],
    journal: &mut Journal,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    // The originals first, beside the files they become.
    for o in &cli.originals {
        journal.write(&kept_path(&o.path), &o.bytes, 0o600)?;
    }
    // The registry: packages move into place with it.
    let mut registry = match &cli.registry {
        Some(_) => Registry::default(),
        None => Registry::load(home)?,
    };
    journal.remember(&home.registry_path(), 0o600)?;
    let (packages, others): (Vec<Pending>, Vec<Pending>) = pendings
        .into_iter()
        .partition(|p| p.registered.installed_at.is_some());
    for p in &packages {
        let dir = crate::install::dir_of(home, &p.name);
        if !dir.exists() {
            journal.installs.push(dir);
        }
    }
    if !packages.is_empty() {
        registration::commit_all(packages, home, &mut registry)?;
    }
    // Not through commit_all: it clears CRUX_HOME/mcps/<name>/, where crux-cli keeps the
    // sources of its github and local servers.
    for p in others {
        registry.servers.insert(p.name.to_string(), p.registered);
    }
    journal.write(&home.registry_path(), &json_bytes(&registry), 0o600)?;

    // The index: every secret bound to the registration it was stored for.
    let mut index = match &cli.index {
        Some(_) => Index::default(),
        None => Index::load(home)?,
    };
    for f in found {
        let reg = registered.get(f.mcp.as_str());
        let kind = auth_type_of(reg.map(|r| &r.spec), &f.var);
        // OAuth tokens are bound to their resource (the registered URL) instead.
        let bound = reg
            .filter(|_| kind != AuthType::Oauth)
            .map(Registered::fingerprint);
        index.record(&f.mcp, &f.var, plan.target, kind, bound);
    }
    for (mcp, token) in &cli.tokens {
        let (Ok(name), Some(reg)) = (ServerName::parse(mcp), registered.get(mcp)) else {
            continue;
        };
        let Some(cli_mcp) = cli
            .registry
            .as_ref()
            .and_then(|r| r.mcp_definitions.get(mcp))
        else {
            continue;
        };
        if reg.spec.auth.oauth.is_none() {
            continue;
        }
        let has_refresh = found
            .iter()
            .any(|f| f.mcp == name && f.var.as_str() == "refresh_token");
        index.set_oauth(
            &name,
            Some(convert::oauth_state(&reg.spec, token, has_refresh, cli_mcp)),
        );
    }
    journal.write(&home.index_path(), &json_bytes(&index), 0o600)?;

    // The backend crux-cli used, as crux's saved setting.
    let mut settings = Settings::load(home)?;
    settings.backend = Some(plan.target);
    journal.write(&home.settings_path(), &json_bytes(&settings), 0o600)?;

    // Projects: crux.json converted, host files re-synced.
    let mut projects = match cli.originals.iter().any(|o| o.path == home.projects_path()) {
        true => Projects::default(),
        false => Projects::load(home)?,
    };
    for p in &plan.projects {
        let project = match &p.file {
            Some((project, original)) => {
                let mut project = project.clone();
                for (name, server) in project.servers.iter_mut() {
                    if let Some(r) = registry.servers.get(name) {
                        *server = ProjectServer::Spec(Box::new(r.spec.clone()));
                    }
                }
                journal.write(&kept_path(&original.path), &original.bytes, 0o644)?;
                journal.write(&p.dir.join(PROJECT_FILE), &json_bytes(&project), 0o644)?;
                project
            }
            None => match ProjectFile::load(&p.dir)? {
                Some(project) => project,
                None => continue,
            },
        };
        // The entries crux-cli generated are crux's to replace now.
        let mut tracked = projects.projects.get(&p.dir).cloned().unwrap_or_default();
        if tracked.generated.is_empty() {
            tracked = Tracked {
                generated: p.servers.clone(),
                ..tracked
            };
        }
        if !home.launchers_dir().exists() {
            journal.installs.push(home.launchers_dir());
        }
        let planned = crate::sync::plan_project(home, &p.dir, &project, &registry, &tracked, true)?;
        let entry = projects.projects.entry(p.dir.clone()).or_default();
        let mut wrote = false;
        for file in planned {
            if let Some(bytes) = &file.bytes {
                crate::hosts::prepare_folder(&file.path, 0o755)?;
                let mode = std::fs::symlink_metadata(&file.path)
                    .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
                    .unwrap_or(0o644);
                journal.write(&file.path, bytes, mode)?;
                wrote = true;
            }
            entry.set_generated(file.host, file.generated);
        }
        if wrote {
            entry.synced_at = Some(crate::index::now_rfc3339());
        }
    }
    journal.write(&home.projects_path(), &json_bytes(&projects), 0o600)?;

    // crux-cli's files crux has no use for: only their kept copies stay.
    for name in ["config.toml", "tokens.json"] {
        let path = home.root().join(name);
        if cli.originals.iter().any(|o| o.path == path) {
            journal.remove(&path)?;
        }
    }
    if let Some((identity, _)) = &cli.age {
        // Its store moved aside already when crux's age store took its place.
        let store = home.age_store_path();
        if plan.target != Backend::Age && secrets::is_cli_age(identity, &store) {
            let bytes = fsutil::read_optional(&store)?.unwrap_or_default();
            journal.write(&kept_path(&store), &bytes, 0o600)?;
            journal.remove(&store)?;
        }
        let bytes = fsutil::read_optional(identity)?.unwrap_or_default();
        journal.write(&kept_path(identity), &bytes, 0o600)?;
        journal.remove(identity)?;
    }
    if !found.iter().any(|f| f.item.is_some()) && plan.target == Backend::SecretService {
        notes.push("no Secret Service item needed crux's name".into());
    }
    Ok(notes)
}

fn report(
    home: &CruxHome,
    cli: &CliHome,
    plan: &Plan,
    found: &[Found],
    missing: &[(ServerName, VarName)],
    notes: &[String],
    json: bool,
) {
    let missing_json: Vec<_> = missing
        .iter()
        .map(|(m, v)| serde_json::json!({"server": m.as_str(), "variable": v.as_str()}))
        .collect();
    if json {
        println!(
            "{:#}",
            serde_json::json!({
                "plan": plan_json(home, cli, plan, false),
                "converted": true,
                "servers": plan.servers.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
                "secrets_moved": found.len(),
                "backend": plan.target.as_str(),
                "missing": missing_json,
                "projects": plan.projects.iter().map(|p| &p.dir).collect::<Vec<_>>(),
                "notes": notes,
            })
        );
        return;
    }
    println!(
        "✓ Converted crux-cli's {} server(s) and {} secret(s) into crux ({} backend); {} project(s) re-synced.",
        plan.servers.len(),
        found.len(),
        plan.target,
        plan.projects.len()
    );
    for (m, v) in missing {
        if OAUTH_ACCOUNTS.contains(&v.as_str()) {
            println!("note: crux-cli lists the OAuth {v} of '{m}', but no keystore holds it; sign in again: crux mcp auth {m}");
        } else {
            println!("note: crux-cli's index lists '{m}' {v}, but no keystore holds it; store it: crux mcp auth {m} {v}");
        }
    }
    for n in notes {
        println!("note: {n}");
    }
    if cli.age.is_some() {
        println!(
            "Kept crux-cli's encrypted store and identity as {0}/secrets.age.{KEPT} and {0}/identity.{KEPT}; once crux works for you, delete both: rm {0}/secrets.age.{KEPT} {0}/identity.{KEPT}",
            home.root().display()
        );
    }
    println!("crux-cli's other files are kept as *.{KEPT} (no values in them). Check: crux doctor");
}

/// Whether `root` is the user's own crux-cli home that only its mode keeps from crux: readable
/// by others (crux-cli creates it with the umask's 0755) but writable by no one else, so
/// nothing in it can have been planted by another user.
pub fn only_readable(root: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(root) else {
        return false;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let mode = meta.mode() & 0o777;
    meta.uid() == me && mode & 0o077 != 0 && mode & 0o022 == 0 && present(root)
}

/// Makes a crux-cli home that is [`only_readable`] private (0700), and says so.
fn make_private(root: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !only_readable(root) {
        return Ok(());
    }
    let mode = std::fs::metadata(root)
        .map(|m| m.mode() & 0o777)
        .unwrap_or(0);
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(format!("cannot make {} private", root.display()), e))?;
    eprintln!(
        "note: {} was readable by other users (mode {mode:o}, as crux-cli created it); it is 0700 now",
        root.display()
    );
    Ok(())
}
