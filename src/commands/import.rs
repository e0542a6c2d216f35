//! `crux import`: the plaintext credentials of existing host configs into the keystore, the
//! host files rewritten with crux's entries; or a crux-cli `CRUX_HOME` converted.
//!
//! The order, per group of files (one project's files together, each user file alone): every
//! server is resolved and installed, then registered, its values stored and read back, and only
//! then are the host files rewritten. A server that fails at any step is taken back out (its
//! registration and stored values); a file that cannot be rewritten takes back every server of
//! its group, and stays byte for byte as it was.

use crate::cli::{ImportArgs, ImportFrom};
use crate::commands::auth::store_credentials;
use crate::error::{escape_all, sanitize, Error, Result};
use crate::home::CruxHome;
use crate::hosts::{self, HostId, Scope};
use crate::import::classify::{mask, Overrides};
use crate::import::entry::{self, Candidate, Origin};
use crate::index::{AuthType, Index};
use crate::names::{ServerName, VarName};
use crate::project::{ProjectFile, ProjectServer, Projects, PROJECT_FILE};
use crate::registry::{Registry, ServerSpec, Source};
use crate::secret::Secret;
use crate::store::select;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub fn run(args: ImportArgs, home: &CruxHome) -> Result<()> {
    if args.from == Some(ImportFrom::CruxCli) {
        return crate::import::crux_cli::run(home, args.dry_run, args.yes, args.json);
    }
    import_hosts(&args, home)
}

/// A servers object's entries, by name.
type Entries = Vec<(String, Value)>;

/// One host config file in the import's scope.
struct HostFileScan {
    host: HostId,
    scope: Scope,
    path: PathBuf,
    /// The project folder, for project files.
    dir: Option<PathBuf>,
    /// Claude Code's local scope: the project's key in `~/.claude.json`'s `projects`, whose
    /// `mcpServers` these are.
    local: Option<String>,
    entries: Vec<(String, Value)>,
}

impl HostFileScan {
    /// The servers object's keys in the file, for a nested one.
    fn keys(&self) -> Option<[&str; 3]> {
        self.local.as_deref().map(|l| ["projects", l, "mcpServers"])
    }

    /// The file's entries as they are now.
    fn current_entries(&self) -> Result<Vec<(String, Value)>> {
        Ok(match self.keys() {
            Some(keys) => hosts::json::entries_at(&self.path, &keys, false)?,
            None => hosts::read_entries(self.host, &self.path)?,
        }
        .unwrap_or_default())
    }

    fn shown(&self) -> String {
        if let Some(local) = &self.local {
            return format!(
                "{} (local scope of {})",
                self.path.display(),
                escape_all(local)
            );
        }
        match &self.dir {
            Some(dir) => self
                .path
                .strip_prefix(dir)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| self.path.display().to_string()),
            None => self.path.display().to_string(),
        }
    }
}

/// What happens to one server entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    /// To be imported (the plan), or imported (the result).
    Import,
    /// Registered already with this definition: its values are stored for it (when missing)
    /// and the entry rewritten.
    Reuse,
    /// Left as it is, and why.
    Skip(String),
    /// Tried and taken back, and why.
    Failed(String),
    Imported,
}

/// One server entry of one file.
struct Item {
    file: usize,
    name: String,
    entry: Value,
    candidate: Option<Candidate>,
    status: Status,
    /// The keystore the values went to, once stored.
    backend: Option<crate::store::Backend>,
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Project => "project",
        Scope::User => "user",
    }
}

/// The host files the arguments name that exist.
fn scan(args: &ImportArgs, cwd: &Path) -> Result<Vec<HostFileScan>> {
    let hosts: Vec<HostId> = match args.host {
        Some(h) => vec![h],
        None => hosts::ALL.to_vec(),
    };
    let mut files = Vec::new();
    for host in hosts {
        let mut places = Vec::new();
        if !args.user {
            if let Some(rel) = host.project_file() {
                places.push((Scope::Project, cwd.join(rel), Some(cwd.to_path_buf())));
            }
        }
        if !args.project {
            if let Some(path) = host.user_file() {
                places.push((Scope::User, path, None));
            }
        }
        for (scope, path, dir) in places {
            // The same file for both scopes (a project in the home folder): read once.
            if files
                .iter()
                .any(|f: &HostFileScan| f.path == path && f.local.is_none())
            {
                continue;
            }
            if scope == Scope::Project {
                if let Some(folder) = path.parent().filter(|f| Some(*f) != dir.as_deref()) {
                    if !hosts::check_folder(folder)? {
                        continue;
                    }
                }
            }
            let Some(entries) = hosts::read_entries(host, &path).map_err(|e| match e {
                Error::Corrupt { path, reason, .. } => Error::Corrupt {
                    path,
                    reason,
                    fix: format!("repair it by hand (crux changed nothing), or leave it out: crux import <HOST> (this one is {host}), --project or --user"),
                },
                other => other,
            })?
            else {
                continue;
            };
            let local_scopes = if host == HostId::ClaudeCode && scope == Scope::User {
                claude_local_scopes(&path)?
            } else {
                Vec::new()
            };
            files.push(HostFileScan {
                host,
                scope,
                path: path.clone(),
                dir,
                local: None,
                entries,
            });
            for (local, entries) in local_scopes {
                files.push(HostFileScan {
                    host,
                    scope,
                    path: path.clone(),
                    dir: None,
                    local: Some(local),
                    entries,
                });
            }
        }
    }
    Ok(files)
}

/// Claude Code's local scope: the servers `claude mcp add` (its default scope) keeps per
/// project in `~/.claude.json`, under `projects.<dir>.mcpServers`.
fn claude_local_scopes(path: &Path) -> Result<Vec<(String, Entries)>> {
    let Some(bytes) = crate::fsutil::read_optional(path)? else {
        return Ok(Vec::new());
    };
    let doc: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let mut scopes = Vec::new();
    for (local, project) in doc
        .get("projects")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if project
            .get("mcpServers")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
        {
            let keys = ["projects", local.as_str(), "mcpServers"];
            let entries = hosts::json::entries_at(path, &keys, false)?.unwrap_or_default();
            scopes.push((local.clone(), entries));
        }
    }
    Ok(scopes)
}

/// The same definition, where a package the entry names without a version is the registered
/// pinned one.
fn same_as_registered(candidate: &ServerSpec, registered: &ServerSpec) -> bool {
    let mut wanted = candidate.clone();
    if let (Source::Npx(w) | Source::Uvx(w), Source::Npx(r) | Source::Uvx(r)) =
        (&mut wanted.source, &registered.source)
    {
        if w.version.is_none() {
            w.version = r.version.clone();
        }
    }
    if let Source::Command { command } = &mut wanted.source {
        if let Ok(resolved) = crate::registration::resolve_command(command) {
            if matches!(&registered.source, Source::Command { command: c } if *c == resolved) {
                *command = resolved;
            }
        }
    }
    crate::sync::same_definition(&wanted, registered)
}

fn values_of(c: &Candidate) -> Vec<(VarName, Secret)> {
    c.credentials
        .iter()
        .filter_map(|f| Some((VarName::parse(&f.var).ok()?, f.value.clone()?)))
        .collect()
}

fn same_values(a: &Candidate, b: &Candidate) -> bool {
    let key = |c: &Candidate| {
        let mut v: Vec<(String, Option<String>)> = c
            .credentials
            .iter()
            .map(|f| {
                (
                    f.var.clone(),
                    f.value.as_ref().map(|s| s.expose().to_string()),
                )
            })
            .collect();
        v.sort();
        v
    };
    a.spec == b.spec && key(a) == key(b)
}

/// Reads every entry and decides what happens to it.
fn plan(
    home: &CruxHome,
    files: &[HostFileScan],
    overrides: &Overrides,
    projects: &Projects,
) -> Result<Vec<Item>> {
    let registry = Registry::load(home)?;
    let lookup = |v: &str| std::env::var(v).ok().filter(|x| !x.is_empty());
    let mut items: Vec<Item> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let owned: Vec<String> = match (file.scope, &file.dir) {
            (Scope::User, _) if file.local.is_some() => projects
                .claude_local
                .get(file.local.as_deref().unwrap_or_default())
                .cloned()
                .unwrap_or_default(),
            (Scope::User, _) => projects
                .user_hosts
                .get(&file.host)
                .cloned()
                .unwrap_or_default(),
            (Scope::Project, Some(dir)) => projects
                .projects
                .get(dir)
                .map(|t| t.generated_for(file.host).to_vec())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for (name, value) in &file.entries {
            let mut item = Item {
                file: i,
                name: name.clone(),
                entry: value.clone(),
                candidate: None,
                status: Status::Import,
                backend: None,
            };
            if owned.contains(name) || hosts::is_launcher_entry(name, value) {
                item.status = Status::Skip("crux's own entry".into());
                items.push(item);
                continue;
            }
            if ServerName::parse(name).is_err() {
                item.status = Status::Skip(
                    "its name is not one crux can use (letters, digits, . _ -; rename the entry)"
                        .into(),
                );
                items.push(item);
                continue;
            }
            let ctx = entry::Context {
                dir: file.dir.as_deref(),
                home: dirs::home_dir(),
            };
            match entry::read(file.host, name, value, overrides, &lookup, &ctx) {
                Err(why) => item.status = Status::Skip(why),
                Ok(c) if c.credentials.is_empty() => {
                    item.status = Status::Skip("no credentials in it".into());
                    item.candidate = Some(c);
                }
                Ok(c) => {
                    let twin = registry
                        .servers
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case(name) && *k != name);
                    if let Some(twin) = twin {
                        // On a case-insensitive file system their installs would be one folder.
                        item.status = Status::Skip(format!(
                            "'{}' differs from the registered '{}' only in case: rename the entry, then import again",
                            sanitize(name),
                            sanitize(twin)
                        ));
                        item.candidate = Some(c);
                        items.push(item);
                        continue;
                    }
                    if let Some(r) = ServerName::parse(name).ok().and_then(|n| registry.get(&n)) {
                        item.status = if same_as_registered(&c.spec, &r.spec) {
                            Status::Reuse
                        } else {
                            Status::Skip(format!(
                                "'{}' is registered in crux with another definition (see: crux mcp show {}); rename the entry, then import again",
                                sanitize(name),
                                sanitize(name)
                            ))
                        };
                    }
                    item.candidate = Some(c);
                }
            }
            items.push(item);
        }
    }
    // The same name in several files: one server when the definitions and values agree.
    for i in 0..items.len() {
        if !matches!(items[i].status, Status::Import | Status::Reuse) {
            continue;
        }
        let clash: Vec<usize> = (0..items.len())
            .filter(|&j| j != i && items[j].name == items[i].name)
            .filter(|&j| matches!(items[j].status, Status::Import | Status::Reuse))
            .filter(|&j| {
                let (a, b) = (items[i].candidate.as_ref(), items[j].candidate.as_ref());
                !a.zip(b).is_some_and(|(a, b)| same_values(a, b))
            })
            .collect();
        if !clash.is_empty() {
            let others: Vec<String> = clash
                .iter()
                .map(|&j| files[items[j].file].shown())
                .collect();
            let why = format!(
                "'{}' is defined differently in {} and {}: make them the same or rename one, then import again",
                sanitize(&items[i].name),
                files[items[i].file].shown(),
                others.join(", ")
            );
            for j in clash.into_iter().chain([i]) {
                items[j].status = Status::Skip(why.clone());
            }
        }
    }
    Ok(items)
}

fn origin_text(o: &Origin) -> String {
    match o {
        Origin::Literal => "in the file".into(),
        Origin::Environment(v) => format!("${{{v}}}, from your environment"),
        Origin::Default(v) => format!("${{{v}}} is not set: its default"),
        Origin::Unset(v) => format!("${{{v}}} is not set here: store it later"),
    }
}

fn print_plan(files: &[HostFileScan], items: &[Item]) {
    for (i, file) in files.iter().enumerate() {
        let mine: Vec<&Item> = items.iter().filter(|it| it.file == i).collect();
        if file.host == HostId::ClaudeCode
            && file.scope == Scope::User
            && file.local.is_none()
            && mine
                .iter()
                .any(|it| matches!(it.status, Status::Import | Status::Reuse))
        {
            eprintln!("note: Claude Code rewrites {} while it runs: quit it before importing, or it may write its own copy (with the values) back", file.path.display());
        }
        match &file.local {
            Some(local) => println!(
                "{} — {} (local scope of {})",
                file.path.display(),
                file.host.title(),
                escape_all(local)
            ),
            None => println!(
                "{} — {} ({})",
                file.path.display(),
                file.host.title(),
                scope_name(file.scope)
            ),
        }
        if mine.is_empty() {
            println!("  no servers");
        }
        for item in mine {
            let name = escape_all(&item.name);
            match (&item.status, &item.candidate) {
                (Status::Skip(why), _) => println!("  {name}: left as it is — {}", escape_all(why)),
                (status, Some(c)) => {
                    let how = if *status == Status::Reuse {
                        " (registered already with this definition)"
                    } else {
                        ""
                    };
                    // The definition in full, as `crux mcp add` shows it: what runs, with
                    // what, and what gets the credentials (a cloned project's file can name
                    // any command, and its references can pull values from your environment).
                    let lines = crate::registration::describe(&item.name, &c.spec, None);
                    println!("  {}{how}", lines[0]);
                    for line in &lines[1..] {
                        println!("  {line}");
                    }
                    println!("    found (values masked):");
                    for f in &c.credentials {
                        let value = f
                            .value
                            .as_ref()
                            .map(|v| mask(v.expose()))
                            .unwrap_or_else(|| "(no value)".into());
                        println!(
                            "      {:<20} {:<28} {:<8} {}; a credential: {}",
                            escape_all(&f.var),
                            escape_all(&f.place),
                            escape_all(&value),
                            escape_all(&origin_text(&f.origin)),
                            escape_all(&f.why)
                        );
                    }
                    for s in &c.settings {
                        let value = s.value.as_deref().unwrap_or("");
                        println!(
                            "      {:<20} {:<28} {:<8} a setting: {}",
                            escape_all(&s.name),
                            escape_all(&s.place),
                            escape_all(value),
                            escape_all(&s.why)
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

fn item_json(files: &[HostFileScan], item: &Item) -> Value {
    let file = &files[item.file];
    let (status, reason) = match &item.status {
        Status::Import => ("import", None),
        Status::Reuse => (
            "import",
            Some("registered already with this definition".to_string()),
        ),
        Status::Skip(w) => ("skip", Some(w.clone())),
        Status::Failed(w) => ("failed", Some(w.clone())),
        Status::Imported => ("imported", None),
    };
    let mut v = json!({
        "server": item.name,
        "host": file.host,
        "scope": scope_name(file.scope),
        "file": file.path,
        "status": status,
    });
    if let Some(r) = reason {
        v["reason"] = json!(r);
    }
    if let Some(c) = &item.candidate {
        v["source"] = json!(c.spec.describe_source());
        v["credentials"] = c
            .credentials
            .iter()
            .map(|f| {
                json!({
                    "variable": f.var,
                    "found": f.place,
                    "value": f.value.as_ref().map(|s| mask(s.expose())),
                    "origin": origin_text(&f.origin),
                    "why": f.why,
                })
            })
            .collect();
        v["settings"] = c
            .settings
            .iter()
            .map(|s| json!({"name": s.name, "found": s.place, "value": s.value, "why": s.why}))
            .collect();
    }
    if let Some(b) = item.backend {
        v["backend"] = json!(b.as_str());
    }
    v
}

fn import_hosts(args: &ImportArgs, home: &CruxHome) -> Result<()> {
    if args.json && !args.yes && !args.dry_run {
        return Err(Error::usage(
            "--json prints the plan and the result without asking, so it needs --yes or --dry-run",
            "crux import --dry-run --json (see the plan), then: crux import --yes --json",
        ));
    }
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    let overrides = Overrides::new(&args.secret, &args.not_secret);
    let files = scan(args, &cwd)?;
    let projects = Projects::load(home)?;
    let mut items = plan(home, &files, &overrides, &projects)?;
    let seen: Vec<(String, String)> = items
        .iter()
        .filter_map(|it| it.candidate.as_ref().map(|c| (it.name.clone(), c)))
        .flat_map(|(n, c)| {
            c.credentials
                .iter()
                .map(|f| f.place.rsplit(' ').next().unwrap_or("").to_string())
                .chain(c.settings.iter().map(|s| s.name.clone()))
                .chain(c.credentials.iter().map(|f| f.var.clone()))
                .map(move |x| (n.clone(), x))
                .collect::<Vec<_>>()
        })
        .collect();
    for unused in overrides.unused(&seen) {
        eprintln!(
            "warning: --secret/--not-secret {} names nothing the import found",
            sanitize(unused)
        );
    }
    let todo = items
        .iter()
        .filter(|i| matches!(i.status, Status::Import | Status::Reuse))
        .count();
    if !args.json {
        if files.is_empty() {
            println!(
                "No host config files found{}.",
                match (args.project, args.user) {
                    (true, _) => " in this folder",
                    (_, true) => " for this user",
                    _ => " (in this folder or for this user)",
                }
            );
        } else {
            print_plan(&files, &items);
        }
    }
    if args.dry_run || todo == 0 {
        if args.json {
            let out = json!({
                "dry_run": args.dry_run,
                "servers": items.iter().map(|i| item_json(&files, i)).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
        } else if todo == 0 && !files.is_empty() {
            println!("Nothing to import: no server with a credential crux does not keep already.");
        } else if args.dry_run {
            println!(
                "Dry run: nothing was changed. Import with: crux import{}",
                rerun_args(args)
            );
        }
        return Ok(());
    }
    if !args.yes && !crate::registration::confirm(&format!(
        "Import {todo} server(s): register them, store their credentials in the keystore, and rewrite the files above with crux's entries?"
    ))? {
        return Err(Error::failed(
            "nothing was imported",
            format!("run it again and answer yes: crux import{}", rerun_args(args)),
        ));
    }

    // Groups: one project's files together (a sync writes them together), each user file
    // alone.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        match f.scope {
            Scope::Project => match groups
                .iter_mut()
                .find(|g| files[g[0]].scope == Scope::Project && files[g[0]].dir == f.dir)
            {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            },
            Scope::User => groups.push(vec![i]),
        }
    }
    let mut warnings = Vec::new();
    for group in groups {
        import_group(home, &files, &group, &mut items, &mut warnings)?;
    }
    report(args, &files, &items, &warnings)
}

fn rerun_args(args: &ImportArgs) -> String {
    let mut text = String::new();
    if let Some(h) = args.host {
        text.push_str(&format!(" {h}"));
    }
    if args.project {
        text.push_str(" --project");
    }
    if args.user {
        text.push_str(" --user");
    }
    for s in &args.secret {
        text.push_str(&format!(" --secret {}", sanitize(s)));
    }
    for s in &args.not_secret {
        text.push_str(&format!(" --not-secret {}", sanitize(s)));
    }
    text
}

/// What one server of a group did, to take it back.
struct Done {
    item: usize,
    name: ServerName,
    registered_now: bool,
    stored: Vec<VarName>,
}

/// Takes back what was done for a server: the values stored now, and its registration if it
/// was made now. Problems are reported; the original host files were not touched.
fn undo(home: &CruxHome, done: &Done) {
    for var in &done.stored {
        if let Err(e) = crate::commands::auth::delete(home, &done.name, var) {
            eprintln!(
                "warning: could not take back {var} of '{}': {}",
                done.name,
                e.render()
            );
        }
    }
    if done.registered_now {
        let result = (|| -> Result<()> {
            let _lock = home.lock()?;
            let mut registry = Registry::load(home)?;
            registry.servers.remove(done.name.as_str());
            registry.save(home)?;
            crate::install::remove(home, &done.name)?;
            Ok(())
        })();
        if let Err(e) = result {
            eprintln!(
                "warning: could not take back the registration of '{}': {} (remove it: crux mcp remove {})",
                done.name,
                e.render(),
                done.name
            );
        }
    }
}

/// Registers, stores and reads back one server; `Err` after taking back what it did.
fn import_server(home: &CruxHome, item: &mut Item, index_of: usize) -> Result<Done> {
    let c = item
        .candidate
        .clone()
        .expect("a server to import has a candidate");
    let name = ServerName::parse(&item.name)?;
    let reuse = item.status == Status::Reuse;
    let mut done = Done {
        item: index_of,
        name: name.clone(),
        registered_now: false,
        stored: Vec::new(),
    };
    let values = values_of(&c);
    let fail = |done: &Done, e: Error| -> Error {
        undo(home, done);
        e
    };
    if !reuse {
        c.spec.validate(name.as_str())?;
        crate::misplaced::check(name.as_str(), &c.spec)?;
        if !values.is_empty() {
            // The keystore the values go to is reachable before anything is registered.
            select::open(select::choose(home)?.backend, home)?;
        }
        let pending = crate::registration::prepare(home, &name, c.spec.clone())?;
        let _lock = home.lock()?;
        let mut registry = Registry::load(home)?;
        if registry.get(&name).is_some() {
            return Err(Error::failed(
                format!("'{name}' was registered by another crux meanwhile"),
                format!("see it (crux mcp show {name}), then import again"),
            ));
        }
        pending.commit(home, &mut registry)?;
        done.registered_now = true;
    }
    // Values: stored unless the same value is stored already.
    let index = Index::load(home)?;
    let mut to_store = Vec::new();
    for (var, value) in &values {
        let current = match index.get(&name, var) {
            Some(cred) => select::open(cred.backend, home)
                .and_then(|s| s.get(&name, var))
                .map_err(|e| fail(&done, e))?,
            None => None,
        };
        match current {
            Some(v) if v == *value => {}
            Some(_) => {
                return Err(fail(
                    &done,
                    Error::failed(
                        format!("'{name}' has another value of {var} stored already"),
                        format!("keep one: crux mcp auth {name} {var} (then import again)"),
                    ),
                ))
            }
            None => to_store.push((var.clone(), value.clone())),
        }
    }
    if !to_store.is_empty() {
        let auth_type = if c.spec.auth.bearer.is_some() {
            AuthType::Bearer
        } else {
            AuthType::Keychain
        };
        let backend =
            store_credentials(home, &name, &to_store, auth_type).map_err(|e| fail(&done, e))?;
        done.stored = to_store.iter().map(|(v, _)| v.clone()).collect();
        item.backend = Some(backend);
        // Read back before any host file loses its copy.
        let vars: Vec<VarName> = done.stored.clone();
        let got = select::open(backend, home)
            .and_then(|s| s.get_many(&name, &vars))
            .map_err(|e| fail(&done, e))?;
        for (var, value) in &to_store {
            if got.get(var) != Some(value) {
                return Err(fail(
                    &done,
                    Error::failed(
                        format!("{var} of '{name}' did not read back from {backend} as stored"),
                        format!("check the keystore (crux doctor {name}), then import again"),
                    ),
                ));
            }
        }
    }
    Ok(done)
}

/// One group of files: every server imported, then the files rewritten; a file that cannot
/// be rewritten takes back the group's servers.
fn import_group(
    home: &CruxHome,
    files: &[HostFileScan],
    group: &[usize],
    items: &mut [Item],
    warnings: &mut Vec<String>,
) -> Result<()> {
    let mut done: Vec<Done> = Vec::new();
    // A server an earlier group registered (the same one in another user file) is reused here.
    let registry = Registry::load(home)?;
    for item in items.iter_mut() {
        if !group.contains(&item.file) || item.status != Status::Import {
            continue;
        }
        let (Ok(name), Some(c)) = (ServerName::parse(&item.name), &item.candidate) else {
            continue;
        };
        if let Some(r) = registry.get(&name) {
            item.status = if same_as_registered(&c.spec, &r.spec) {
                Status::Reuse
            } else {
                Status::Failed(format!(
                    "'{name}' was registered meanwhile with another definition (see: crux mcp show {name})"
                ))
            };
        }
    }
    for i in 0..items.len() {
        if !group.contains(&items[i].file)
            || !matches!(items[i].status, Status::Import | Status::Reuse)
        {
            continue;
        }
        // A server met in an earlier file of this group is one server.
        if let Some(d) = done.iter().find(|d| d.name.as_str() == items[i].name) {
            let first = d.item;
            items[i].status = Status::Imported;
            items[i].backend = items[first].backend;
            continue;
        }
        let item = &mut items[i];
        match import_server(home, item, i) {
            Ok(d) => done.push(d),
            Err(e) => item.status = Status::Failed(e.line()),
        }
    }
    for d in &done {
        items[d.item].status = Status::Imported;
    }
    if done.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = done.iter().map(|d| d.name.to_string()).collect();
    let rewritten = rewrite(home, files, group, items, &names);
    match rewritten {
        Ok(()) => {
            for &f in group {
                verify(&files[f], items, f, warnings);
                history_warning(&files[f], items, f, warnings);
            }
        }
        Err(e) => {
            let why = format!("{} (the host files were left as they were)", e.line());
            for d in &done {
                undo(home, d);
            }
            for item in items.iter_mut() {
                if group.contains(&item.file) && item.status == Status::Imported {
                    item.status = Status::Failed(why.clone());
                    item.backend = None;
                }
            }
        }
    }
    Ok(())
}

/// Whether the entries of `names` in a file still hold what the plan read.
fn unchanged(file: &HostFileScan, items: &[Item], index: usize, names: &[String]) -> Result<()> {
    let now = file.current_entries()?;
    for item in items
        .iter()
        .filter(|it| it.file == index && names.contains(&it.name))
    {
        let current = now.iter().find(|(n, _)| *n == item.name).map(|(_, v)| v);
        if current != Some(&item.entry) {
            return Err(Error::failed(
                format!(
                    "the entry '{}' in {} changed while crux was importing it",
                    sanitize(&item.name),
                    file.path.display()
                ),
                "run the import again: crux import",
            ));
        }
    }
    Ok(())
}

/// The files a rewrite touches, as they were, to put back if a later step fails.
#[derive(Default)]
struct Backup(Vec<(PathBuf, Option<Vec<u8>>, u32)>);

impl Backup {
    fn keep(&mut self, path: &Path) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if self.0.iter().any(|(p, _, _)| p == path) {
            return Ok(());
        }
        let mode = std::fs::symlink_metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o600);
        self.0.push((
            path.to_path_buf(),
            crate::fsutil::read_optional(path)?,
            mode,
        ));
        Ok(())
    }

    fn restore(&self) {
        for (path, bytes, mode) in self.0.iter().rev() {
            let now = crate::fsutil::read_optional(path).ok().flatten();
            if now.as_ref() == bytes.as_ref() {
                continue;
            }
            let put_back = match bytes {
                Some(bytes) => crate::fsutil::write_atomic_mode(path, bytes, *mode),
                None => std::fs::remove_file(path)
                    .map_err(|e| Error::io(format!("cannot remove {}", path.display()), e)),
            };
            if let Err(e) = put_back {
                eprintln!(
                    "warning: could not put {} back as it was: {}",
                    path.display(),
                    e.render()
                );
            }
        }
    }
}

/// Rewrites a group's files with crux's entries for `names`; if any step fails, every file it
/// wrote is put back as it was.
fn rewrite(
    home: &CruxHome,
    files: &[HostFileScan],
    group: &[usize],
    items: &[Item],
    names: &[String],
) -> Result<()> {
    let mut backup = Backup::default();
    let result = rewrite_files(home, files, group, items, names, &mut backup);
    if result.is_err() {
        backup.restore();
    }
    result
}

fn rewrite_files(
    home: &CruxHome,
    files: &[HostFileScan],
    group: &[usize],
    items: &[Item],
    names: &[String],
    backup: &mut Backup,
) -> Result<()> {
    let _lock = home.lock()?;
    let registry = Registry::load(home)?;
    let mut projects = Projects::load(home)?;
    backup.keep(&home.projects_path())?;
    let imported_in = |f: usize| -> Vec<String> {
        items
            .iter()
            .filter(|it| it.file == f && it.status == Status::Imported && names.contains(&it.name))
            .map(|it| it.name.clone())
            .collect()
    };
    for &f in group {
        unchanged(&files[f], items, f, &imported_in(f))?;
    }
    let registered = |list: &[String]| -> Vec<(String, &crate::registry::Registered)> {
        list.iter()
            .filter_map(|n| Some((n.clone(), registry.get(&ServerName::parse(n).ok()?)?)))
            .collect()
    };
    let first = &files[group[0]];
    match (first.scope, &first.dir) {
        (Scope::User, _) if first.local.is_some() => {
            let local = first.local.clone().expect("checked");
            let mine = imported_in(group[0]);
            let mut wanted = projects
                .claude_local
                .get(&local)
                .cloned()
                .unwrap_or_default();
            wanted.extend(
                mine.iter()
                    .filter(|n| !wanted.contains(n))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            let servers = registered(&wanted);
            let launcher = crate::sync::launcher_for(home, &servers)?;
            let entries: Vec<(String, Value)> = servers
                .iter()
                .map(|(n, r)| {
                    (
                        n.clone(),
                        crate::sync::entry_on(HostId::ClaudeCode, n, r, &launcher, None),
                    )
                })
                .collect();
            let keys = first.keys().expect("a local scope");
            if let Some(bytes) = hosts::json::plan_at(
                &first.path,
                &keys,
                false,
                serde_json::Map::new(),
                &entries,
                &wanted,
            )? {
                backup.keep(&first.path)?;
                hosts::write(&first.path, &bytes, 0o600)?;
                println!(
                    "✓ Wrote {} (local scope of {})",
                    first.path.display(),
                    escape_all(&local)
                );
            }
            projects.claude_local.insert(local, wanted);
            projects.save(home)?;
        }
        (Scope::User, _) => {
            let host = first.host;
            let mut wanted = projects.user_hosts.get(&host).cloned().unwrap_or_default();
            let mine = imported_in(group[0]);
            wanted.extend(
                mine.iter()
                    .filter(|n| !wanted.contains(n))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            backup.keep(&first.path)?;
            let wrote = crate::commands::host::write_user(
                home,
                host,
                &registry,
                &mut projects,
                &wanted,
                &mine,
            )?;
            if wrote {
                println!("✓ Wrote {}", first.path.display());
            }
            projects.save(home)?;
        }
        (Scope::Project, Some(dir)) => {
            // Only the imported servers, only in the files they came from: a project's other
            // servers and hosts (a cloned repository's crux.json may list more) wait for the
            // user's own `crux project sync`.
            let mut project = ProjectFile::load(dir)?.unwrap_or_else(|| {
                ProjectFile::new(
                    &dir.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "project".into()),
                )
            });
            for name in names {
                let parsed = ServerName::parse(name)?;
                let spec = registry.require(&parsed)?.spec.clone();
                project
                    .servers
                    .insert(name.clone(), ProjectServer::Spec(Box::new(spec)));
            }
            let servers = registered(names);
            let launcher = crate::sync::launcher_for(home, &servers)?;
            let tracked = projects.projects.entry(dir.to_path_buf()).or_default();
            let mut planned = Vec::new();
            for &f in group {
                let file = &files[f];
                if let Some(list) = &mut project.hosts {
                    if !list.contains(&file.host) {
                        list.push(file.host);
                    }
                }
                let mine = imported_in(f);
                let entries: Vec<(String, Value)> = servers
                    .iter()
                    .filter(|(n, _)| mine.contains(n))
                    .map(|(n, r)| {
                        (
                            n.clone(),
                            crate::sync::entry_on(file.host, n, r, &launcher, None),
                        )
                    })
                    .collect();
                let bytes = hosts::plan(file.host, &file.path, &entries, &mine)?;
                let mut generated = tracked.generated_for(file.host).to_vec();
                generated.extend(
                    mine.into_iter()
                        .filter(|n| !generated.contains(n))
                        .collect::<Vec<_>>(),
                );
                planned.push((file, bytes, generated));
            }
            let created = !dir.join(PROJECT_FILE).exists();
            backup.keep(&dir.join(PROJECT_FILE))?;
            project.save(dir)?;
            if created {
                println!("✓ Created {}", dir.join(PROJECT_FILE).display());
            }
            for (file, bytes, generated) in planned {
                if let Some(bytes) = bytes {
                    backup.keep(&file.path)?;
                    hosts::write(&file.path, &bytes, 0o644)?;
                    println!("✓ Wrote {}", file.path.display());
                }
                tracked.set_generated(file.host, generated);
            }
            tracked.synced_at = Some(crate::index::now_rfc3339());
            projects.save(home)?;
            crate::commands::project::gitignore(dir, &project);
            let others: Vec<String> = project
                .hosts_in(dir)
                .into_iter()
                .filter(|h| !group.iter().any(|&f| files[f].host == *h))
                .filter_map(|h| h.project_file().map(str::to_string))
                .collect();
            if !others.is_empty() {
                println!(
                    "  The project's other host files ({}) get these servers with: crux project sync",
                    others.join(", ")
                );
            }
        }
        (Scope::Project, None) => unreachable!("a project file has its folder"),
    }
    Ok(())
}

/// After the rewrite, every imported entry must be crux's: a host that rewrites its file
/// while it runs (Claude Code and `~/.claude.json`) can put its own copy back.
fn verify(file: &HostFileScan, items: &[Item], index: usize, warnings: &mut Vec<String>) {
    let Ok(now) = file.current_entries() else {
        return;
    };
    for item in items
        .iter()
        .filter(|it| it.file == index && it.status == Status::Imported)
    {
        let ours = now
            .iter()
            .any(|(n, e)| *n == item.name && hosts::is_launcher_entry(n, e));
        if !ours {
            warnings.push(format!(
                "the entry '{}' in {} is not crux's after the import (did the host write its own copy back?): quit the host, then run crux import again",
                sanitize(&item.name),
                file.path.display()
            ));
        }
    }
}

/// A file that git tracks, or that a commit ever held: its imported values are in the
/// repository's history.
fn history_warning(file: &HostFileScan, items: &[Item], index: usize, warnings: &mut Vec<String>) {
    if file.local.is_some() {
        return;
    }
    let (dir, rel) = match &file.dir {
        Some(dir) => (dir.clone(), file.shown()),
        None => match (file.path.parent(), file.path.file_name()) {
            (Some(d), Some(n)) => (d.to_path_buf(), n.to_string_lossy().into_owned()),
            _ => return,
        },
    };
    let Some((tracked, held)) = hosts::gitignore::history(&dir, &rel) else {
        return;
    };
    if !held {
        return;
    }
    let leaked: Vec<String> = items
        .iter()
        .filter(|it| it.file == index && it.status == Status::Imported)
        .filter_map(|it| it.candidate.as_ref())
        .flat_map(|c| {
            c.credentials
                .iter()
                .filter(|f| f.origin == Origin::Literal)
                .map(move |f| format!("{} {}", c.name, f.var))
        })
        .collect();
    if leaked.is_empty() {
        return;
    }
    warnings.push(format!(
        "{} {} git, so these values are in the repository's history and must be rotated: {}. For each: create a new value at its provider, revoke the old one, and store the new one (crux mcp auth <MCP> <VAR>); crux does not rewrite history.",
        file.path.display(),
        if tracked { "is tracked by" } else { "was committed to" },
        leaked.join(", ")
    ));
}

fn report(
    args: &ImportArgs,
    files: &[HostFileScan],
    items: &[Item],
    warnings: &[String],
) -> Result<()> {
    let failed = items.iter().any(|i| matches!(i.status, Status::Failed(_)));
    if args.json {
        let out = json!({
            "dry_run": false,
            "servers": items.iter().map(|i| item_json(files, i)).collect::<Vec<_>>(),
            "warnings": warnings,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
    } else {
        println!();
        for item in items {
            let file = files[item.file].path.display();
            match &item.status {
                Status::Imported => {
                    let c = item.candidate.as_ref().expect("imported");
                    let stored = c.credentials.iter().filter(|f| f.value.is_some()).count();
                    let backend = item.backend.map(|b| format!(" in {b}")).unwrap_or_default();
                    println!(
                        "✓ Imported '{}' from {file}: {stored} credential(s) stored{backend}",
                        escape_all(&item.name)
                    );
                    for f in c.credentials.iter().filter(|f| f.value.is_none()) {
                        println!(
                            "  {} was not set here: store it with: crux mcp auth {} {}",
                            escape_all(&f.var),
                            escape_all(&item.name),
                            escape_all(&f.var)
                        );
                    }
                }
                Status::Skip(why) if why != "crux's own entry" && why != "no credentials in it" => {
                    println!(
                        "- Left '{}' in {file} as it is: {}",
                        escape_all(&item.name),
                        escape_all(why)
                    );
                }
                Status::Failed(why) => {
                    eprintln!(
                        "✗ Not imported '{}' from {file}: {}",
                        escape_all(&item.name),
                        why
                    );
                }
                _ => {}
            }
        }
        for w in warnings {
            eprintln!("warning: {w}");
        }
        if items.iter().any(|i| i.status == Status::Imported) {
            println!("Restart your MCP hosts (or reload their servers) to start the servers through crux.");
        }
    }
    if failed {
        return Err(Error::failed(
            "some servers were not imported (see above); their host files and entries are as they were",
            "fix what each line says, then run the import again: crux import",
        ));
    }
    Ok(())
}
