//! `crux launch`: what the installed launcher runs at every server start. It reads
//! `CRUX_MCP_NAME` and `CRUX_AUTH_ENV_VARS`, fetches every credential of that server in one
//! batch per backend — the backend the index recorded for each, never a fresh automatic choice
//! — runs `external-cli` commands, and `exec`s the server with the credentials added to its
//! environment and its own `CRUX_*` variables removed. argv is passed through untouched, but
//! for the `{crux:VAR}` placeholders of a registration's `in_args` credentials, which are filled
//! in (those credentials go in the arguments only, not in the environment).
//!
//! Credentials go only to what the user approved: the command line registered for that server
//! (resolved to absolute paths when it was registered, never looked up in the launch-time
//! `PATH`), and only credentials bound to that registration. The server's environment is the
//! host's minus the variables that make an interpreter or the dynamic loader run other code
//! (an entry in a hostile `.mcp.json` can set them), unless the registration names them.
//!
//! A missing or empty credential stops the launch: exit 78, one line on stderr naming the
//! server, the variable and the fix. The server is never started with an empty variable.
//! As hosts hide stderr, that line also answers the host's first request
//! (`crate::first_request`, called where errors become exit codes).

use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::names::{ServerName, VarName};
use crate::registry::{Registered, Registry, ServerSpec};
use crate::secret::Secret;
use crate::store::select;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Variables that make a program load or run other code, or trust other servers, by the
/// runtime they affect. A name ending in `*` is a prefix. `PYTHON*` and `NODE_*` go whole,
/// but for the settings in [`HARMLESS`]: new ones appear with each release.
const CODE_LOADING: &[(&str, &[&str])] = &[
    ("the dynamic loader", &["LD_*", "DYLD_*", "GCONV_PATH"]),
    ("Node.js", &["NODE_*"]),
    ("npm", &["npm_config_*", "NPM_CONFIG_*"]),
    ("Python", &["PYTHON*"]),
    ("Perl", &["PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB"]),
    (
        "Ruby",
        &[
            "RUBYOPT",
            "RUBYLIB",
            "GEM_PATH",
            "GEM_HOME",
            "BUNDLE_GEMFILE",
        ],
    ),
    (
        "shells",
        &[
            "BASH_ENV",
            "ENV",
            "BASH_FUNC_*",
            "SHELLOPTS",
            "BASHOPTS",
            "PS4",
        ],
    ),
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
            "GIT_EXTERNAL_DIFF",
            "GIT_PAGER",
            "GIT_EDITOR",
            "GIT_SEQUENCE_EDITOR",
            "GIT_PROXY_COMMAND",
        ],
    ),
    // Not code, but they hand the server's traffic (and the token in it) to whoever is on the
    // way, or to a name server's choice.
    (
        "the resolver",
        &["RES_OPTIONS", "LOCALDOMAIN", "HOSTALIASES"],
    ),
];

/// Settings of the `NODE_*` and `PYTHON*` families that change no code and no trust.
const HARMLESS: &[&str] = &[
    "NODE_ENV",
    "NODE_NO_WARNINGS",
    "NODE_DEBUG",
    "NODE_DISABLE_COLORS",
    "NODE_USE_ENV_PROXY",
    "NODE_EXTRA_CA_CERTS",
    "PYTHONUNBUFFERED",
    "PYTHONIOENCODING",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUTF8",
    "PYTHONFAULTHANDLER",
    "PYTHONHASHSEED",
    "PYTHONNOUSERSITE",
    "PYTHONSAFEPATH",
    "PYTHONOPTIMIZE",
    "PYTHONDEVMODE",
];

/// Variables naming a file or folder a program reads its trust or its configuration (which
/// can name programs to run) from, or a program to run. They pass, as users set them for good
/// reasons, unless they name something a repository could have planted: a relative path, or
/// one inside the project the host starts the server in. `HOME` is then set back to the
/// user's own.
const PATH_VALUED: &[&str] = &[
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "GH_CONFIG_DIR",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "CLOUDSDK_CONFIG",
    "CLOUDSDK_PYTHON",
    "KUBECONFIG",
    "DOCKER_CONFIG",
    "PIP_CONFIG_FILE",
    "SHELL",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "BROWSER",
];

/// The [`PATH_VALUED`] variables that name a program (with arguments), not a file.
const COMMAND_VALUED: &[&str] = &["SHELL", "EDITOR", "VISUAL", "PAGER", "BROWSER"];

/// Variables a host passes to every server (the MCP SDKs' default set and the locale), which
/// stay even when the host set them only for the server; each still gets its own checks.
const HOST_SET: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LANGUAGE", "TZ", "TMPDIR",
    // Kept by the launcher's own shell.
    "PWD", "OLDPWD", "SHLVL", "_",
];

/// Whether a variable makes a program load other code (see [`CODE_LOADING`]).
pub fn loads_code(name: &str) -> bool {
    !HARMLESS.contains(&name)
        && CODE_LOADING.iter().any(|(_, names)| {
            names.iter().any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *pattern,
            })
        })
}

/// Why the launcher keeps a variable from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// It makes a program load other code, or trust a file a project planted.
    LoadsCode,
    /// The host did not have it: the entry in the project's config set it.
    SetByEntry,
}

/// How the server's environment differs from the host's: what is removed, `PATH` without the
/// entries a project could plant, and the registration's own settings.
#[derive(Debug, Default)]
pub struct Environment {
    pub removed: Vec<(OsString, Option<Removal>)>,
    pub path: Option<OsString>,
    pub dropped_path: Vec<PathBuf>,
    pub settings: Vec<(String, OsString)>,
}

impl Environment {
    /// Computes the server's environment from this process's, the host's and the
    /// registration.
    ///
    /// The server's environment is the host's: a variable the host process itself does not
    /// have was added by the entry that started the launcher (a project's `.mcp.json` can add
    /// `GITHUB_API_URL=https://attacker…` as easily as `NODE_OPTIONS`), and goes, unless the
    /// registration names it. Where the host's environment cannot be read, the code-loading
    /// rules below still hold.
    pub fn for_server(spec: &ServerSpec) -> Environment {
        let allowed =
            |name: &str| spec.allow_env.iter().any(|a| a == name) || spec.env.contains_key(name);
        let cwd = std::env::current_dir().ok();
        let home = home_dir(cwd.as_deref());
        let project = project_dir(cwd.as_deref(), home.as_deref()).map(|physical| {
            // `PWD` names the same folder through links, if it names it at all.
            let logical = std::env::var_os("PWD")
                .map(PathBuf::from)
                .filter(|l| l.is_absolute() && l != physical)
                .filter(|l| std::fs::canonicalize(l).is_ok_and(|real| real == physical));
            Project {
                physical: physical.to_path_buf(),
                logical,
            }
        });
        let planted = |path: &Path| planted_in(project.as_ref(), path);
        let host = host_variables();
        let mut env = Environment::default();
        for (key, value) in std::env::vars_os() {
            let Some(name) = key.to_str() else {
                continue;
            };
            if name.starts_with("CRUX_") {
                env.removed.push((key.clone(), None));
                continue;
            }
            if allowed(name) {
                continue;
            }
            let value_planted = || {
                let text = value.to_string_lossy();
                if COMMAND_VALUED.contains(&name) {
                    // A bare program name is looked up in the cleaned PATH.
                    let program = text.split_whitespace().next().unwrap_or_default();
                    program.contains('/') && planted(Path::new(program))
                } else {
                    !text.is_empty() && planted(Path::new(&*text))
                }
            };
            let path_planted = PATH_VALUED.contains(&name) && value_planted();
            if loads_code(name) || path_planted {
                env.removed.push((key.clone(), Some(Removal::LoadsCode)));
            } else if name == "HOME" && planted(Path::new(&value)) {
                if let Some(h) = &home {
                    env.settings
                        .push(("HOME".into(), h.clone().into_os_string()));
                }
                env.removed.push((key.clone(), Some(Removal::LoadsCode)));
            } else if host
                .as_ref()
                .is_some_and(|h| !h.contains(&key) && !HOST_SET.contains(&name))
            {
                env.removed.push((key.clone(), Some(Removal::SetByEntry)));
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
        env.settings
            .extend(spec.env.iter().map(|(k, v)| (k.clone(), OsString::from(v))));
        env
    }

    fn apply(&self, cmd: &mut Command) {
        for (key, _) in &self.removed {
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
        let names = |why: Removal| -> Vec<String> {
            self.removed
                .iter()
                .filter(|(_, w)| *w == Some(why))
                .map(|(k, _)| sanitize(&k.to_string_lossy()))
                .collect()
        };
        let (code, entry) = (names(Removal::LoadsCode), names(Removal::SetByEntry));
        let mut parts = Vec::new();
        if !code.is_empty() {
            parts.push(format!(
                "{} (they make programs load other code, or trust what a project planted)",
                code.join(", ")
            ));
        }
        if !entry.is_empty() {
            parts.push(format!(
                "{} (set by the entry that started crux, not by the host)",
                entry.join(", ")
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
        if parts.is_empty() {
            return None;
        }
        Some(format!(
            "crux: {mcp}: not passed to the server: {}; to let one through, register it with --allow-env NAME or set it with --env NAME=VALUE (crux mcp show {mcp})",
            parts.join("; ")
        ))
    }
}

/// The names of the variables in the environment of the process that started this one (the
/// MCP host), on Linux; `None` where it cannot be read.
fn host_variables() -> Option<std::collections::HashSet<OsString>> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: getppid has no preconditions and cannot fail.
        let ppid = unsafe { libc::getppid() };
        let bytes = std::fs::read(format!("/proc/{ppid}/environ")).ok()?;
        Some(
            bytes
                .split(|b| *b == 0)
                .filter_map(|kv| kv.iter().position(|b| *b == b'=').map(|at| &kv[..at]))
                .map(|k| OsStr::from_bytes(k).to_os_string())
                .collect(),
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The user's home directory: `HOME`, unless it lies inside the working directory (an entry
/// can set it to the project), in which case the account database says.
fn home_dir(cwd: Option<&Path>) -> Option<PathBuf> {
    match std::env::var_os("HOME").map(PathBuf::from) {
        Some(h) if h.is_absolute() && !cwd.is_some_and(|c| h.starts_with(c)) => Some(h),
        _ => account_home(),
    }
}

/// The user's home directory from the account database, not from `HOME`.
fn account_home() -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: getpwuid_r writes into the buffers we give it; the result points into `buf`,
    // which outlives its use here.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::geteuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
            return std::env::var_os("HOME").map(PathBuf::from);
        }
        let dir = std::ffi::CStr::from_ptr(pwd.pw_dir);
        Some(PathBuf::from(OsStr::from_bytes(dir.to_bytes())))
    }
}

/// Whether `path` is something a repository could have planted: relative, or inside the
/// project (compared after resolving links, so `/proc/self/cwd/…` or a linked folder is seen
/// for what it is).
fn planted_in(project: Option<&Project>, path: &Path) -> bool {
    if !path.is_absolute() {
        return true;
    }
    let Some(project) = project else {
        return false;
    };
    if project.holds(path) {
        return true;
    }
    // Only a link the system provides leads from outside the project into it without the
    // repository having run anything (`/proc/self/cwd`, `/dev/fd/N`), or `..` out and back:
    // those paths are resolved; others are taken as written (no system call per PATH entry,
    // on a path every server start takes).
    let magic = path.starts_with("/proc") || path.starts_with("/dev/fd");
    let climbs = path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir));
    (magic || climbs) && project.holds(&resolved(path))
}

/// The project folder by its physical path (the working directory) and by the logical one a
/// host may have passed in `PWD` (the path through a linked folder), which a project file can
/// name with `${PWD}`.
struct Project {
    physical: PathBuf,
    logical: Option<PathBuf>,
}

impl Project {
    fn holds(&self, path: &Path) -> bool {
        path.starts_with(&self.physical)
            || self.logical.as_ref().is_some_and(|l| path.starts_with(l))
    }
}

/// `path` with the links of its longest existing part resolved (`/proc/self/cwd/bin`, where
/// `bin` does not exist yet, is still inside the working directory).
fn resolved(path: &Path) -> PathBuf {
    for base in path.ancestors() {
        if let Ok(real) = std::fs::canonicalize(base) {
            let rest = path.strip_prefix(base).unwrap_or(Path::new(""));
            return real.join(rest);
        }
    }
    path.to_path_buf()
}

/// The project a host starts the server in: the working directory, unless it holds the home
/// directory (a host started from `~` or `/` would make everything "inside the project").
fn project_dir<'a>(cwd: Option<&'a Path>, home: Option<&Path>) -> Option<&'a Path> {
    let home = home.map(|h| std::fs::canonicalize(h).unwrap_or_else(|_| h.to_path_buf()));
    cwd.filter(|c| c.parent().is_some() && !home.as_ref().is_some_and(|h| h.starts_with(c)))
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
    /// Credentials added to the server's environment.
    pub credentials: Vec<(VarName, Secret)>,
    /// The command line with the `in_args` credentials filled in (`{crux:VAR}` replaced), when
    /// the registration gives any in the arguments; else the command runs as it came.
    pub argv: Option<Vec<Secret>>,
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
            argv: None,
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
        if host_expanded(command, &expected, &registered.spec.auth.in_args) {
            return Err(Error::failed(
                format!("{mcp}: the MCP host changed the {{crux:VAR}} placeholders of the arguments ({}), so crux hands it no credentials", registered.spec.auth.in_args.join(", ")),
                "regenerate the entry (crux project sync), and check that nothing in the host rewrites its servers' arguments",
            ));
        }
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
    // The arguments need their credentials whatever the entry lists (it lists them all).
    let mut vars = vars;
    for var in &registered.spec.auth.in_args {
        let var = VarName::parse(var)?;
        if !vars.contains(&var) {
            vars.push(var);
        }
    }
    let environment = Environment::for_server(&registered.spec);
    let external = &registered.spec.auth.external_cli;
    let index = Index::load(home)?;
    let fingerprint = registered.fingerprint();
    // Stored before this registration (for an earlier definition, or before the name was
    // registered at all): not handed over until the user confirms this one.
    let stored: Vec<VarName> = vars
        .iter()
        .filter(|v| !external.contains_key(v.as_str()))
        .cloned()
        .collect();
    let mut values = select::read_bound(
        home,
        &index,
        &mcp,
        &fingerprint,
        &stored,
        |var| unbound(&mcp, var),
        |var, backend| {
            Error::failed(
                format!("{mcp}: {var} is listed in the index but missing from {backend}"),
                format!("store it again: crux mcp auth {mcp}"),
            )
        },
    )?;
    for var in vars.iter().filter(|v| external.contains_key(v.as_str())) {
        let secret = run_external(&mcp, var, registered, &environment)?;
        values.insert(var.clone(), secret);
    }
    let auth = &registered.spec.auth;
    // The registered command line (compared above) with `{crux:VAR}` filled in: in_args
    // credentials go there, and only there.
    let argv = (!auth.in_args.is_empty()).then(|| {
        let in_args: BTreeMap<String, Secret> = values
            .iter()
            .filter(|(v, _)| auth.in_args(v.as_str()))
            .map(|(v, s)| (v.to_string(), s.clone()))
            .collect();
        expected
            .iter()
            .map(|word| crate::template::fill(word, &in_args))
            .collect()
    });
    let credentials = vars
        .into_iter()
        .filter(|v| !auth.in_args(v.as_str()))
        .map(|v| {
            let s = values.remove(&v).expect("every variable was collected");
            (v, s)
        })
        .collect();
    Ok(Prepared {
        credentials,
        argv,
        environment,
    })
}

/// Whether `command` is the registered command line but for the words that name an
/// `in_args` variable, which the host replaced (a host that expanded variables in its config
/// would).
fn host_expanded(command: &[OsString], expected: &[String], in_args: &[String]) -> bool {
    let named = |word: &str| {
        crate::template::placeholders(word)
            .iter()
            .any(|v| in_args.contains(v))
    };
    command.len() == expected.len()
        && expected.iter().any(|w| named(w))
        && command
            .iter()
            .zip(expected)
            .all(|(got, want)| got.as_os_str() == OsStr::new(want) || named(want))
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
    match &prepared.argv {
        Some(argv) => cmd.args(argv.iter().skip(1).map(|a| a.expose())),
        None => cmd.args(&command[1..]),
    };
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
