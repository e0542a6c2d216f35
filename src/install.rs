//! Pinned server installs (DESIGN.md, "Server installs"): a package from npm or PyPI is
//! installed at one exact version, with its dependency tree, into `CRUX_HOME/mcps/<name>/`,
//! and its registered command is the installed entry point by absolute path. At launch nothing
//! is resolved from the project folder, the launch-time `PATH` or the network.
//!
//! npm installs with a lockfile (`package-lock.json`) and `--ignore-scripts` unless the user
//! allows scripts; PyPI installs into a virtual environment with pip, wheels only unless the
//! user allows builds (a source build runs the package's code). Both run from a staging folder
//! inside `mcps/`, never from the folder the user is in (whose `.npmrc` or `node_modules` a
//! repository controls), and the staging folder replaces the old install only once everything
//! worked, so a failed install leaves nothing behind.

use crate::error::{one_line, sanitize, Error, Result};
use crate::fsutil;
use crate::home::CruxHome;
use crate::names::ServerName;
use crate::registry::Package;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The two package registries crux installs from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecosystem {
    Npm,
    PyPi,
}

/// An install that worked, in its staging folder; removed on drop unless committed.
pub struct Staged {
    dir: PathBuf,
    final_dir: PathBuf,
    pub version: String,
    pub integrity: String,
    /// The command line, relative to the install folder where it points inside it.
    entry: Entry,
    committed: bool,
}

enum Entry {
    /// A JavaScript file run with this `node`.
    Node { node: PathBuf, script: PathBuf },
    /// An executable file inside the install.
    Exec(PathBuf),
    /// A console script run with the virtual environment's Python.
    Python(PathBuf),
}

impl Staged {
    /// The command line once the install is in place: absolute paths only.
    pub fn command(&self) -> Vec<String> {
        let inside = |p: &Path| self.final_dir.join(p).to_string_lossy().into_owned();
        match &self.entry {
            Entry::Node { node, script } => {
                vec![node.to_string_lossy().into_owned(), inside(script)]
            }
            Entry::Exec(file) => {
                // Read from the staging folder (the file is there until the commit); its
                // interpreter is resolved now, and it runs from its final place.
                let mut cmd = script_command(&self.dir.join(file));
                let last = cmd.len() - 1;
                cmd[last] = inside(file);
                cmd
            }
            Entry::Python(script) => vec![inside(Path::new("venv/bin/python")), inside(script)],
        }
    }

    /// Moves the install into `CRUX_HOME/mcps/<name>/`, the old one aside. The caller holds
    /// the `CRUX_HOME` lock, records the registration, then calls [`Swap::keep`]; a `Swap`
    /// dropped without it puts the old install back.
    pub fn commit(mut self) -> Result<Swap> {
        let aside = self.final_dir.with_file_name(format!(
            ".old-{}-{}",
            file_name(&self.final_dir),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&aside);
        let had_old = self.final_dir.exists();
        if had_old {
            std::fs::rename(&self.final_dir, &aside).map_err(|e| {
                Error::io(format!("cannot move {} aside", self.final_dir.display()), e)
            })?;
        }
        if let Err(e) = std::fs::rename(&self.dir, &self.final_dir) {
            if had_old {
                let _ = std::fs::rename(&aside, &self.final_dir);
            }
            return Err(Error::io(
                format!("cannot move the install into {}", self.final_dir.display()),
                e,
            ));
        }
        self.committed = true;
        Ok(Swap {
            dir: self.final_dir.clone(),
            old: had_old.then_some(aside),
            kept: false,
        })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A committed install whose registration is being recorded.
pub struct Swap {
    dir: PathBuf,
    old: Option<PathBuf>,
    kept: bool,
}

impl Swap {
    /// The registration is recorded: the old install goes.
    pub fn keep(mut self) {
        self.kept = true;
        if let Some(old) = &self.old {
            let _ = std::fs::remove_dir_all(old);
        }
    }
}

impl Drop for Swap {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(old) = &self.old {
            let _ = std::fs::rename(old, &self.dir);
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The install folder of a server.
pub fn dir_of(home: &CruxHome, name: &ServerName) -> PathBuf {
    home.mcps_dir().join(name.as_str())
}

/// Removes a server's install folder, if it has one.
pub fn remove(home: &CruxHome, name: &ServerName) -> Result<bool> {
    let dir = dir_of(home, name);
    match std::fs::symlink_metadata(&dir) {
        Ok(_) => std::fs::remove_dir_all(&dir)
            .map(|()| true)
            .map_err(|e| Error::io(format!("cannot remove {}", dir.display()), e)),
        Err(_) => Ok(false),
    }
}

/// The `PATH` programs are resolved in when a server is registered: the user's, without
/// relative entries and without entries inside the current directory (a cloned repository's
/// `node_modules/.bin`, say), which would otherwise be resolved against it.
pub fn resolution_path() -> std::ffi::OsString {
    let cwd = std::env::current_dir().ok();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let inside = |d: &Path| {
        cwd.as_ref()
            .is_some_and(|c| c.parent().is_some() && d.starts_with(c))
    };
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|d| d.is_absolute() && !inside(d))
        .collect();
    std::env::join_paths(kept).unwrap_or_default()
}

/// A program on PATH (see [`resolution_path`]), by absolute path.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    which::which_in(name, Some(resolution_path()), cwd).ok()
}

/// A program crux needs, by absolute path.
pub fn program(name: &str, fix: &str) -> Result<PathBuf> {
    find_program(name).ok_or_else(|| {
        Error::failed(
            format!("`{name}` is not on PATH, and crux needs it to install this server"),
            fix.to_string(),
        )
    })
}

/// The interpreter itself behind `program` (`node`, `python3`), as it reports its own path: a
/// version manager's shim (asdf, mise, volta, pyenv) would otherwise choose a version from
/// the project folder at every launch. Asked from inside `CRUX_HOME`.
pub fn real_interpreter(home: &CruxHome, program: &Path) -> PathBuf {
    let python = |n: &str| {
        n.strip_prefix("python")
            .is_some_and(|v| v.is_empty() || v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    let ask: &[&str] = match program.file_name().and_then(|n| n.to_str()) {
        Some("node" | "nodejs") => &["-p", "process.execPath"],
        Some(n) if python(n) => &["-c", "import sys; print(sys.executable)"],
        _ => return program.to_path_buf(),
    };
    let out = Command::new(program)
        .args(ask)
        .current_dir(home.root())
        .env("PATH", resolution_path())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let real = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if real.is_absolute() && real.is_file() {
                real
            } else {
                program.to_path_buf()
            }
        }
        _ => program.to_path_buf(),
    }
}

/// The command line that runs a script by absolute paths only: its `#!` interpreter resolved
/// now (`#!/usr/bin/env python3` would otherwise look `python3` up at every launch), or the
/// file itself when it is a binary.
pub fn script_command(script: &Path) -> Vec<String> {
    let text = |p: &Path| p.to_string_lossy().into_owned();
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let first = String::from_utf8_lossy(&head[..n]);
    let Some(line) = first.strip_prefix("#!").and_then(|l| l.lines().next()) else {
        return vec![text(script)];
    };
    let mut words = line.split_whitespace();
    let Some(interpreter) = words.next() else {
        return vec![text(script)];
    };
    let mut rest: Vec<&str> = words.collect();
    let interpreter = if Path::new(interpreter)
        .file_name()
        .is_some_and(|n| n == "env")
    {
        rest.retain(|w| *w != "-S");
        match rest.first().and_then(|w| find_program(w)) {
            Some(found) => {
                rest.remove(0);
                found
            }
            None => return vec![text(script)],
        }
    } else {
        PathBuf::from(interpreter)
    };
    let mut cmd = vec![text(&interpreter)];
    cmd.extend(rest.iter().map(|w| w.to_string()));
    cmd.push(text(script));
    cmd
}

/// A new, private staging folder inside `CRUX_HOME/mcps/`.
fn staging(home: &CruxHome, name: &ServerName) -> Result<PathBuf> {
    home.ensure()?;
    let mcps = home.mcps_dir();
    fsutil::ensure_private_dir(&mcps)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    remove_abandoned(&mcps);
    let dir = mcps.join(format!(".staging-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    fsutil::ensure_private_dir(&dir)?;
    Ok(dir)
}

/// Removes staging and set-aside folders left by a crux process that was killed (its pid, in
/// the folder's name, is gone).
fn remove_abandoned(mcps: &Path) {
    let Ok(entries) = std::fs::read_dir(mcps) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix(".staging-")
            .or_else(|| name.strip_prefix(".old-"))
        else {
            continue;
        };
        // `<server>-<pid>[-<nanos>]`: the server name may hold '-', the pid is all digits.
        let pid = rest
            .rsplit('-')
            .take(2)
            .filter_map(|p| p.parse::<i32>().ok())
            .last();
        // SAFETY: kill with signal 0 only checks that the process exists.
        let gone = pid.is_some_and(|p| {
            p > 0
                && unsafe { libc::kill(p, 0) } != 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
        });
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Runs an installer step; a failure says what the tool said, on one line.
fn run(cmd: &mut Command, what: &str, fix: &str) -> Result<Vec<u8>> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd
        .output()
        .map_err(|e| Error::failed(format!("cannot run {what}: {e}"), fix.to_string()))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.contains("A complete log of this run"))
            .collect();
        let detail = lines
            .iter()
            .rev()
            .take(3)
            .rev()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let mut shown: String = one_line(&detail).chars().take(400).collect();
        if shown.is_empty() {
            shown = format!("{}", out.status);
        }
        return Err(Error::failed(
            format!("{what} failed: {}", crate::error::escape_all(&shown)),
            fix.to_string(),
        ));
    }
    Ok(out.stdout)
}

/// Installs an npm package at `package.version` (the latest when none is given) into a
/// staging folder, checking `package.integrity` when it is given.
pub fn npm(home: &CruxHome, name: &ServerName, package: &Package) -> Result<Staged> {
    let npm = program(
        "npm",
        "install Node.js (it ships npm), then run the command again",
    )?;
    let node = real_interpreter(
        home,
        &program("node", "install Node.js, then run the command again")?,
    );
    let dir = staging(home, name)?;
    let guard = StagingGuard(Some(dir.clone()));
    let manifest = serde_json::json!({
        "name": format!("crux-mcp-{}", name.as_str().to_ascii_lowercase()),
        "private": true,
        "description": "A server installed by crux; do not edit (crux mcp upgrade changes it)",
    });
    fsutil::write_atomic(
        &dir.join("package.json"),
        format!("{manifest:#}\n").as_bytes(),
    )?;
    let wanted = format!(
        "{}@{}",
        package.package,
        package.version.as_deref().unwrap_or("latest")
    );
    eprintln!("Installing {} from npm…", sanitize(&wanted));
    let mut cmd = Command::new(&npm);
    cmd.current_dir(&dir).args([
        "install",
        "--save-exact",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
        "--loglevel=error",
    ]);
    // The folder is the project npm installs into because it holds the package.json (not
    // --prefix, which would also move npm's global config, and with it the user's cafile).
    if !package.allow_scripts {
        cmd.arg("--ignore-scripts");
    }
    cmd.arg(&wanted);
    run(
        &mut cmd,
        &format!("npm install {}", sanitize(&wanted)),
        "check the package name and version (npm view <package> versions) and your connection to the registry",
    )?;
    let lock: Value = read_json(&dir.join("package-lock.json"))?;
    let key = format!("node_modules/{}", package.package);
    let entry = lock.pointer(&format!(
        "/packages/{}",
        key.replace('~', "~0").replace('/', "~1")
    ));
    let version = entry
        .and_then(|e| e.get("version"))
        .and_then(Value::as_str)
        .ok_or_else(|| not_installed(&package.package, "npm"))?
        .to_string();
    let integrity = entry
        .and_then(|e| e.get("integrity"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::failed(
                format!(
                    "npm recorded no integrity hash for {}, so crux cannot pin it",
                    sanitize(&package.package)
                ),
                "install it from a registry (not a git URL or a tarball)",
            )
        })?
        .to_string();
    check_integrity(package, &integrity)?;
    let pkg_dir = PathBuf::from("node_modules").join(&package.package);
    let manifest: Value = read_json(&dir.join(&pkg_dir).join("package.json"))?;
    let unscoped = package
        .package
        .rsplit('/')
        .next()
        .unwrap_or(&package.package);
    let (_, bin) = choose_program(
        &manifest["bin"],
        unscoped,
        package.bin.as_deref(),
        &package.package,
    )?;
    let rel = pkg_dir.join(&bin);
    let full = dir.join(&rel);
    let canonical = std::fs::canonicalize(&full).ok();
    // The entry point must be a file inside the install (compared after resolving links on
    // both sides: CRUX_HOME's own path may hold one).
    let real_dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
    if !canonical
        .as_ref()
        .is_some_and(|c| c.starts_with(&real_dir) && c.is_file())
    {
        return Err(Error::failed(
            format!(
                "{}'s entry point {} is not a file inside the package",
                sanitize(&package.package),
                sanitize(&bin)
            ),
            "choose another package, or ask its authors to fix its \"bin\"",
        ));
    }
    let entry = if runs_with_node(&full) {
        Entry::Node { node, script: rel }
    } else {
        Entry::Exec(rel)
    };
    Ok(Staged {
        final_dir: dir_of(home, name),
        dir: guard.keep(),
        version,
        integrity,
        entry,
        committed: false,
    })
}

/// Removes a staging folder if the install stops half-way.
struct StagingGuard(Option<PathBuf>);

impl StagingGuard {
    /// The install worked: the folder is the [`Staged`]'s to clean up now.
    fn keep(mut self) -> PathBuf {
        self.0.take().expect("kept once")
    }
}

impl Drop for StagingGuard {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn not_installed(package: &str, tool: &str) -> Error {
    Error::failed(
        format!("{tool} did not install {}", sanitize(package)),
        "check the package name, then run the command again",
    )
}

/// A teammate's `crux.json` pins the hash its author installed: anything else is refused.
fn check_integrity(package: &Package, found: &str) -> Result<()> {
    match &package.integrity {
        Some(expected) if expected != found => Err(Error::failed(
            format!(
                "{} {} from the registry does not match the integrity hash pinned for it ({} instead of {}); crux installed nothing",
                sanitize(&package.package),
                sanitize(package.version.as_deref().unwrap_or("")),
                sanitize(found),
                sanitize(expected)
            ),
            "find out why the published package changed; if the new one is right, register it again: crux mcp add <MCP> … --force",
        )),
        _ => Ok(()),
    }
}

/// Which of a package's programs is the server, as npx picks it: the one asked for, the only
/// one, or the one named like the package.
fn choose_program(
    bin: &Value,
    unscoped: &str,
    wanted: Option<&str>,
    package: &str,
) -> Result<(String, String)> {
    let programs: Vec<(String, String)> = match bin {
        Value::String(path) => vec![(unscoped.to_string(), path.clone())],
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    let names = || {
        programs
            .iter()
            .map(|(n, _)| sanitize(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if programs.is_empty() {
        return Err(Error::failed(
            format!(
                "{} has no program to run (no \"bin\" in its package.json)",
                sanitize(package)
            ),
            "check that it is an MCP server package; a plain library cannot be started",
        ));
    }
    let found = match wanted {
        Some(w) => programs.iter().find(|(n, _)| n == w),
        None if programs.len() == 1 => programs.first(),
        None => programs
            .iter()
            .find(|(n, _)| n == unscoped || normalize_pypi(n) == unscoped),
    };
    found.cloned().ok_or_else(|| match wanted {
        Some(w) => Error::failed(
            format!(
                "{} has no program named {} (it has: {})",
                sanitize(package),
                sanitize(w),
                names()
            ),
            "name one of them: --bin <NAME>",
        ),
        None => Error::failed(
            format!(
                "{} has several programs ({}) and none is named like the package",
                sanitize(package),
                names()
            ),
            "name the server's: crux mcp add <MCP> --npx <package> --bin <NAME>",
        ),
    })
}

/// Whether node runs this file: a JavaScript file, or a script whose `#!` names node.
fn runs_with_node(file: &Path) -> bool {
    if matches!(
        file.extension().and_then(|e| e.to_str()),
        Some("js" | "mjs" | "cjs")
    ) {
        return true;
    }
    let mut head = [0u8; 128];
    let n = std::fs::File::open(file)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let head = &head[..n];
    !head.starts_with(b"#!")
        || head
            .split(|b| *b == b'\n')
            .next()
            .is_some_and(|l| l.windows(4).any(|w| w == b"node"))
}

fn read_json(path: &Path) -> Result<Value> {
    let bytes = fsutil::read_optional(path)?.ok_or_else(|| {
        Error::failed(
            format!("{} is missing after the install", path.display()),
            "run the command again; if it repeats, check the installer's output",
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::failed(
            format!(
                "{} is not JSON ({})",
                path.display(),
                crate::error::json_error(&e)
            ),
            "run the command again",
        )
    })
}

/// Installs a PyPI package at `package.version` (the latest when none is given) into a
/// virtual environment in a staging folder, checking `package.integrity` when it is given.
pub fn pypi(home: &CruxHome, name: &ServerName, package: &Package) -> Result<Staged> {
    let python = program(
        "python3",
        "install Python 3 (with its venv module), then run the command again",
    )?;
    let dir = staging(home, name)?;
    let guard = StagingGuard(Some(dir.clone()));
    let wanted = match &package.version {
        Some(v) => format!("{}=={v}", package.package),
        None => package.package.clone(),
    };
    eprintln!("Installing {} from PyPI…", sanitize(&wanted));
    let venv = dir.join("venv");
    run(
        Command::new(&python)
            .current_dir(&dir)
            .args(["-m", "venv"])
            .arg(&venv),
        "python3 -m venv",
        "install Python's venv module (Debian: apt-get install python3-venv)",
    )?;
    let venv_python = venv.join("bin/python");
    let report = dir.join("install-report.json");
    let mut cmd = Command::new(&venv_python);
    cmd.current_dir(&dir).args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--report",
    ]);
    cmd.arg(&report);
    if !package.allow_scripts {
        // A source distribution runs its own code to build: wheels only, unless allowed.
        cmd.arg("--only-binary=:all:");
    }
    cmd.arg(&wanted);
    run(
        &mut cmd,
        &format!("pip install {}", sanitize(&wanted)),
        "check the package name and version (pip index versions <package>) and your connection to the index; a package published only as source needs --allow-scripts",
    )?;
    let report: Value = read_json(&report)?;
    let normalized = normalize_pypi(&package.package);
    let item = report["install"]
        .as_array()
        .and_then(|items| {
            items.iter().find(|i| {
                i["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| normalize_pypi(n) == normalized)
            })
        })
        .ok_or_else(|| not_installed(&package.package, "pip"))?;
    let version = item["metadata"]["version"]
        .as_str()
        .ok_or_else(|| not_installed(&package.package, "pip"))?
        .to_string();
    let archive = &item["download_info"]["archive_info"];
    let sha256 = archive["hashes"]["sha256"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            archive["hash"]
                .as_str()
                .and_then(|h| h.strip_prefix("sha256="))
                .map(str::to_string)
        })
        .ok_or_else(|| {
            Error::failed(
                format!(
                    "pip recorded no sha256 for {}, so crux cannot pin it",
                    sanitize(&package.package)
                ),
                "install it from an index (not a local folder or a VCS URL)",
            )
        })?;
    let integrity = format!("sha256:{sha256}");
    check_integrity(package, &integrity)?;
    let listed = run(
        Command::new(&venv_python).current_dir(&dir).args([
            "-c",
            "import importlib.metadata as m, json, sys\nd = m.distribution(sys.argv[1])\nprint(json.dumps({e.name: e.value for e in d.entry_points if e.group == 'console_scripts'}))",
            &package.package,
        ]),
        "reading the package's programs",
        "check that it is an MCP server package",
    )?;
    let scripts: Value = serde_json::from_slice(&listed).unwrap_or(Value::Null);
    let (bin, _) = choose_program(
        &scripts,
        &normalized,
        package.bin.as_deref(),
        &package.package,
    )?;
    let script = PathBuf::from("venv/bin").join(&bin);
    if !dir.join(&script).is_file() {
        return Err(Error::failed(
            format!("pip did not install the program {}", sanitize(&bin)),
            "run the command again; if it repeats, check the package",
        ));
    }
    Ok(Staged {
        final_dir: dir_of(home, name),
        dir: guard.keep(),
        version,
        integrity,
        entry: Entry::Python(script),
        committed: false,
    })
}

/// PyPI names compare case-insensitively with `-`, `_` and `.` alike (PEP 503).
fn normalize_pypi(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The version an upgrade would install: `target`, or the latest the registry offers.
pub fn newest_version(
    home: &CruxHome,
    ecosystem: Ecosystem,
    package: &str,
    target: Option<&str>,
) -> Result<String> {
    home.ensure()?;
    fsutil::ensure_private_dir(&home.mcps_dir())?;
    let fix = "check the package name and your connection to the registry";
    match ecosystem {
        Ecosystem::Npm => {
            let npm = program("npm", "install Node.js (it ships npm)")?;
            let spec = format!("{package}@{}", target.unwrap_or("latest"));
            let out = run(
                Command::new(npm)
                    .current_dir(home.mcps_dir())
                    .args(["view", "--json", &spec, "version"]),
                &format!("npm view {}", sanitize(&spec)),
                fix,
            )?;
            let value: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
            let version = match &value {
                Value::String(v) => Some(v.clone()),
                Value::Array(vs) => vs.last().and_then(Value::as_str).map(str::to_string),
                _ => None,
            };
            version.ok_or_else(|| {
                Error::failed(
                    format!(
                        "npm has no version {} of {}",
                        sanitize(target.unwrap_or("latest")),
                        sanitize(package)
                    ),
                    "see the published versions: npm view <package> versions",
                )
            })
        }
        Ecosystem::PyPi => {
            if let Some(t) = target {
                return Ok(t.to_string());
            }
            let python = program("python3", "install Python 3")?;
            let out = run(
                Command::new(python).current_dir(home.mcps_dir()).args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--quiet",
                    "--dry-run",
                    "--no-deps",
                    "--ignore-installed",
                    "--report",
                    "-",
                    package,
                ]),
                &format!("pip install --dry-run {}", sanitize(package)),
                fix,
            )?;
            let report: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
            report["install"][0]["metadata"]["version"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| not_installed(package, "pip"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_chosen_as_npx_does() {
        let one = serde_json::json!({"mcp-server-everything": "dist/index.js"});
        assert_eq!(
            choose_program(&one, "server-everything", None, "p")
                .unwrap()
                .1,
            "dist/index.js"
        );
        let named = serde_json::json!({"a": "a.js", "server-x": "x.js"});
        assert_eq!(
            choose_program(&named, "server-x", None, "p").unwrap().1,
            "x.js"
        );
        assert_eq!(
            choose_program(&named, "server-x", Some("a"), "p")
                .unwrap()
                .1,
            "a.js"
        );
        let e = choose_program(
            &serde_json::json!({"a": "a.js", "b": "b.js"}),
            "c",
            None,
            "p",
        );
        assert!(e.unwrap_err().render().contains("--bin"));
        let e = choose_program(&Value::Null, "c", None, "p");
        assert!(e.unwrap_err().render().contains("no program"));
        assert_eq!(
            choose_program(&Value::String("cli.js".into()), "c", None, "p").unwrap(),
            ("c".to_string(), "cli.js".to_string())
        );
    }

    #[test]
    fn pypi_names_normalize() {
        assert_eq!(normalize_pypi("MCP_Server.Time"), "mcp-server-time");
    }
}
