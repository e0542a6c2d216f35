//! `crux launch`: what the installed launcher runs at every server start. It reads
//! `CRUX_MCP_NAME` and `CRUX_AUTH_ENV_VARS`, fetches every credential of that server in one
//! batch per backend — the backend the index recorded for each, never a fresh automatic choice
//! — runs `external-cli` commands, and `exec`s the server with the credentials added to its
//! environment and its own `CRUX_*` variables removed. argv is passed through untouched.
//!
//! Credentials go only to what the user approved: the command line registered for that server
//! (resolved to absolute paths when it was registered, never looked up in the launch-time
//! `PATH`), and only credentials bound to that registration. The server's environment is the
//! host's minus the variables that make an interpreter or the dynamic loader run other code
//! (an entry in a hostile `.mcp.json` can set them), unless the registration names them.
//!
//! A missing or empty credential stops the launch: exit 78, one line on stderr naming the
//! server, the variable and the fix. The server is never started with an empty variable.

use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::names::{ServerName, VarName};
use crate::registry::{Registered, Registry, ServerSpec};
use crate::secret::Secret;
use crate::store::{select, Backend};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Variables that make a program load or run other code, or trust other servers, by the
/// runtime they affect. A name ending in `*` is a prefix.
const CODE_LOADING: &[(&str, &[&str])] = &[
    ("the dynamic loader", &["LD_*", "DYLD_*", "GCONV_PATH"]),
    (
        "Node.js",
        &["NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE"],
    ),
    ("npm", &["npm_config_*", "NPM_CONFIG_*"]),
    (
        "Python",
        &[
            "PYTHONPATH",
            "PYTHONSTARTUP",
            "PYTHONHOME",
            "PYTHONUSERBASE",
            "PYTHONINSPECT",
            "PYTHONWARNINGS",
            "PYTHONBREAKPOINT",
            "PYTHONEXECUTABLE",
        ],
    ),
    ("Perl", &["PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB"]),
    ("Ruby", &["RUBYOPT", "RUBYLIB"]),
    ("shells", &["BASH_ENV", "ENV", "BASH_FUNC_*"]),
    (
        "Java",
        &[
            "JAVA_TOOL_OPTIONS",
            "_JAVA_OPTIONS",
            "JDK_JAVA_OPTIONS",
            "CLASSPATH",
        ],
    ),
    (
        "git",
        &[
            "GIT_SSH",
            "GIT_SSH_COMMAND",
            "GIT_EXEC_PATH",
            "GIT_ASKPASS",
            "SSH_ASKPASS",
            "GIT_CONFIG_*",
            "GIT_TEMPLATE_DIR",
        ],
    ),
    // Not code, but it hands the server's traffic (and the token in it) to whoever is on the
    // way.
    (
        "TLS verification",
        &["NODE_TLS_REJECT_UNAUTHORIZED", "PYTHONHTTPSVERIFY"],
    ),
];

/// Variables naming the certificates a server trusts. Corporate networks set them for good
/// reasons, so they pass, unless they name a file a repository could have planted: a relative
/// path, or one inside the project the host starts the server in.
const TRUST_FILES: &[&str] = &[
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
];

/// Whether a variable makes a program load other code (see [`CODE_LOADING`]).
pub fn loads_code(name: &str) -> bool {
    CODE_LOADING.iter().any(|(_, names)| {
        names.iter().any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *pattern,
        })
    })
}

/// The code-loading variable names, for documentation and errors.
pub fn code_loading_names() -> Vec<&'static str> {
    CODE_LOADING
        .iter()
        .flat_map(|(_, names)| names.iter().copied())
        .collect()
}

/// How the server's environment differs from the host's: what is removed, `PATH` without the
/// entries a project could plant, and the registration's own settings.
#[derive(Debug, Default)]
pub struct Environment {
    pub removed: Vec<OsString>,
    pub path: Option<OsString>,
    pub dropped_path: Vec<PathBuf>,
    pub settings: Vec<(String, String)>,
}

impl Environment {
    /// Computes the server's environment from this process's and the registration.
    pub fn for_server(spec: &ServerSpec) -> Environment {
        let allowed =
            |name: &str| spec.allow_env.iter().any(|a| a == name) || spec.env.contains_key(name);
        let cwd = std::env::current_dir().ok();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let project = project_dir(cwd.as_deref(), home.as_deref());
        let planted =
            |dir: &Path| !dir.is_absolute() || project.is_some_and(|p| dir.starts_with(p));
        let mut env = Environment::default();
        for (key, value) in std::env::vars_os() {
            let Some(name) = key.to_str() else {
                continue;
            };
            let own = name.starts_with("CRUX_");
            let trust_planted = TRUST_FILES.contains(&name) && planted(Path::new(&value));
            if own || ((loads_code(name) || trust_planted) && !allowed(name)) {
                env.removed.push(key.clone());
            }
        }
        if !allowed("PATH") {
            if let Some(path) = std::env::var_os("PATH") {
                let (kept, dropped) = clean_path(&path, &planted);
                if !dropped.is_empty() {
                    env.path = Some(kept);
                    env.dropped_path = dropped;
                }
            }
        }
        env.settings = spec
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        env
    }

    fn apply(&self, cmd: &mut Command) {
        for key in &self.removed {
            cmd.env_remove(key);
        }
        if let Some(path) = &self.path {
            cmd.env("PATH", path);
        }
        for (k, v) in &self.settings {
            cmd.env(k, v);
        }
    }

    /// One line for stderr about what the server does not get, if anything.
    pub fn note(&self, mcp: &ServerName) -> Option<String> {
        let removed: Vec<String> = self
            .removed
            .iter()
            .filter_map(|k| k.to_str())
            .filter(|k| !k.starts_with("CRUX_"))
            .map(sanitize)
            .collect();
        if removed.is_empty() && self.dropped_path.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        if !removed.is_empty() {
            parts.push(format!(
                "{} (they make programs load other code, or trust what a project planted)",
                removed.join(", ")
            ));
        }
        if !self.dropped_path.is_empty() {
            let dirs: Vec<String> = self
                .dropped_path
                .iter()
                .map(|d| sanitize(&d.to_string_lossy()))
                .collect();
            parts.push(format!(
                "PATH entries that are relative or inside the project ({})",
                dirs.join(", ")
            ));
        }
        Some(format!(
            "crux: {mcp}: not passed to the server: {}; to let one through, register it with --allow-env NAME (crux mcp show {mcp})",
            parts.join("; ")
        ))
    }
}

/// The project a host starts the server in: the working directory, unless it holds the home
/// directory (a host started from `~` or `/` would make everything "inside the project").
fn project_dir<'a>(cwd: Option<&'a Path>, home: Option<&Path>) -> Option<&'a Path> {
    cwd.filter(|c| c.parent().is_some() && !home.is_some_and(|h| h.starts_with(c)))
}

/// `PATH` without the entries a project could have planted (`planted`: relative, or inside
/// the project), and the ones dropped.
fn clean_path(path: &OsStr, planted: &dyn Fn(&Path) -> bool) -> (OsString, Vec<PathBuf>) {
    let (mut kept, mut dropped) = (Vec::new(), Vec::new());
    for dir in std::env::split_paths(path) {
        if planted(&dir) {
            dropped.push(dir);
        } else {
            kept.push(dir);
        }
    }
    (
        std::env::join_paths(kept).unwrap_or_else(|_| path.to_owned()),
        dropped,
    )
}

fn launch_error(e: Error) -> Error {
    match e {
        Error::Launch(_) => e,
        other => Error::Launch(Box::new(other)),
    }
}

/// What the launcher starts the server with.
pub struct Prepared {
    pub credentials: Vec<(VarName, Secret)>,
    pub environment: Environment,
}

/// Collects the credentials, then replaces this process with the server. Returns only on error.
pub fn run(command: &[OsString], home: &CruxHome) -> Error {
    match prepare(command, home) {
        Ok(prepared) => exec(command, &prepared),
        Err(e) => launch_error(e),
    }
}

fn env_str(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The credentials to inject, in order, and the server's environment.
pub fn prepare(command: &[OsString], home: &CruxHome) -> Result<Prepared> {
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
        return Ok(Prepared {
            credentials: Vec::new(),
            environment: Environment::default(),
        });
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
    let expected = registered.command_line().unwrap_or_default();
    if command
        .iter()
        .map(|a| a.as_os_str())
        .ne(expected.iter().map(OsStr::new))
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
    let environment = Environment::for_server(&registered.spec);
    let external = &registered.spec.auth.external_cli;
    let index = Index::load(home)?;
    let fingerprint = registered.fingerprint();
    let mut by_backend: BTreeMap<Backend, Vec<VarName>> = BTreeMap::new();
    for var in vars.iter().filter(|v| !external.contains_key(v.as_str())) {
        let cred = index.get(&mcp, var).ok_or_else(|| Error::NotStored {
            mcp: mcp.to_string(),
            var: var.to_string(),
        })?;
        // Stored before this registration (for an earlier definition, or before the name was
        // registered at all): not handed over until the user confirms this one.
        if cred.bound_to.as_deref() != Some(fingerprint.as_str()) {
            return Err(unbound(&mcp, var));
        }
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
        let secret = run_external(&mcp, var, registered, &environment)?;
        values.insert(var.clone(), secret);
    }
    let credentials = vars
        .into_iter()
        .map(|v| {
            let s = values.remove(&v).expect("every variable was collected");
            (v, s)
        })
        .collect();
    Ok(Prepared {
        credentials,
        environment,
    })
}

fn unbound(mcp: &ServerName, var: &VarName) -> Error {
    Error::failed(
        format!("{mcp}: {var} was stored before this registration of '{mcp}' (for another definition, or before it was registered), so crux does not hand it to this one"),
        format!("review the registration and confirm it: crux mcp bind {mcp}"),
    )
}

/// The program of an external-cli command that is a plain command line (no shell syntax), so
/// it can run without a shell, by the absolute path resolved at registration.
pub fn plain_program(command: &str) -> Option<Vec<String>> {
    let shell_syntax = |c: char| "|&;<>()$`\\\"'*?[]{}!~#\n".contains(c);
    if command.chars().any(shell_syntax) {
        return None;
    }
    let words = shlex::split(command)?;
    let first = words.first()?;
    (!first.contains('=')).then_some(words)
}

/// Runs an `external-cli` command; its trimmed stdout is the value. A plain command runs by
/// the absolute path resolved at registration; one with shell syntax through `/bin/sh`. Either
/// way with the server's cleaned environment.
fn run_external(
    mcp: &ServerName,
    var: &VarName,
    registered: &Registered,
    environment: &Environment,
) -> Result<Secret> {
    let command = &registered.spec.auth.external_cli[var.as_str()];
    let fix = format!(
        "make `{}` work in your shell, or change it: crux mcp show {mcp}",
        sanitize(command)
    );
    let words = plain_program(command);
    let mut cmd = match (words, registered.external_programs.get(var.as_str())) {
        (Some(words), Some(program)) => {
            let mut cmd = Command::new(program);
            cmd.args(&words[1..]);
            cmd
        }
        _ => {
            let mut cmd = Command::new("/bin/sh");
            cmd.arg("-c").arg(command);
            cmd
        }
    };
    cmd.stdin(Stdio::null());
    environment.apply(&mut cmd);
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

fn exec(command: &[OsString], prepared: &Prepared) -> Error {
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]);
    prepared.environment.apply(&mut cmd);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CRUX_") {
            cmd.env_remove(key);
        }
    }
    for (var, secret) in &prepared.credentials {
        cmd.env(var.as_str(), secret.expose());
    }
    let mcp = env_str("CRUX_MCP_NAME")
        .map(|n| sanitize(&n))
        .unwrap_or_default();
    if let Some(note) = ServerName::parse(&mcp)
        .ok()
        .and_then(|m| prepared.environment.note(&m))
    {
        eprintln!("{note}");
    }
    let e = cmd.exec();
    let program = sanitize(&command[0].to_string_lossy());
    Error::Launch(Box::new(Error::failed(
        format!("{mcp}: cannot start `{program}`: {e}"),
        "install it, or check the PATH your MCP host passes (crux project status)",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_loading_variables() {
        for name in [
            "LD_PRELOAD",
            "LD_AUDIT",
            "DYLD_INSERT_LIBRARIES",
            "NODE_OPTIONS",
            "npm_config_registry",
            "NPM_CONFIG_REGISTRY",
            "PYTHONPATH",
            "PERL5OPT",
            "RUBYOPT",
            "BASH_ENV",
            "ENV",
            "BASH_FUNC_npx%%",
            "JAVA_TOOL_OPTIONS",
            "_JAVA_OPTIONS",
        ] {
            assert!(loads_code(name), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "GITHUB_TOKEN",
            "NODE_ENV",
            "PYTHONUNBUFFERED",
            "ENVIRONMENT",
        ] {
            assert!(!loads_code(name), "{name}");
        }
    }

    #[test]
    fn path_entries_a_project_could_plant_are_dropped() {
        let path =
            OsString::from("/usr/bin:./bin::/work/repo/node_modules/.bin:/home/u/.local/bin");
        let home = Some(Path::new("/home/u"));
        let planted_in = |project: Option<&'static Path>| {
            move |d: &Path| !d.is_absolute() || project.is_some_and(|p| d.starts_with(p))
        };
        let project = project_dir(Some(Path::new("/work/repo")), home);
        assert_eq!(project, Some(Path::new("/work/repo")));
        let (kept, dropped) = clean_path(&path, &planted_in(Some(Path::new("/work/repo"))));
        assert_eq!(kept, OsString::from("/usr/bin:/home/u/.local/bin"));
        assert_eq!(dropped.len(), 3, "{dropped:?}");
        // Started in the home directory (or above it): no project to exclude.
        assert_eq!(project_dir(Some(Path::new("/home/u")), home), None);
        assert_eq!(project_dir(Some(Path::new("/")), home), None);
        let (kept, _) = clean_path(&path, &planted_in(None));
        assert!(kept.to_string_lossy().contains("/home/u/.local/bin"));
    }

    #[test]
    fn plain_external_commands() {
        assert_eq!(
            plain_program("gh auth token").unwrap(),
            vec!["gh", "auth", "token"]
        );
        assert!(plain_program("gh auth token | tr -d x").is_none());
        assert!(plain_program("echo $HOME").is_none());
        assert!(plain_program("A=1 gh").is_none());
    }
}
