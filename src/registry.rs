//! `CRUX_HOME/registry.json`: the servers a user registered with `crux mcp add` — where each
//! comes from, how it is started, and which credentials it needs. Names of credentials only;
//! never a value.

use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::jsonfile;
use crate::names::{ServerName, VarName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// 2: packages are pinned (version, integrity) and commands resolved on this machine. A
/// version 1 file reads as it is (its servers keep running as they did) and is written back as 2.
pub(crate) const VERSION: u64 = 2;

/// Where a server comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Source {
    Npx(Package),
    Uvx(Package),
    Command { command: String },
    Local { path: String },
    Url { url: String },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A server published on npm or PyPI, and how crux installs it (DESIGN.md, "Server
/// installs"): pinned to one version in `CRUX_HOME/mcps/<name>/`, or, as an explicit opt-out,
/// fetched by npx/uvx at every start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub package: String,
    /// The pinned version. `None` for a registration made before crux pinned installs (npx
    /// resolves the package at every start until `crux mcp upgrade` pins it), or for an
    /// unpinned `--no-install` one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The registry's integrity hash of that version (npm `sha512-…`, PyPI `sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    /// Run through npx/uvx at every start instead of an install: the warned opt-out.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_install: bool,
    /// Install scripts may run (npm lifecycle scripts; PyPI packages built from source).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_scripts: bool,
    /// Which of the package's programs is the server, when it is not the obvious one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
}

impl Package {
    pub fn new(package: impl Into<String>) -> Package {
        Package {
            package: package.into(),
            version: None,
            integrity: None,
            no_install: false,
            allow_scripts: false,
            bin: None,
        }
    }

    /// Installed at a pinned version: the launcher execs the installed entry point.
    pub fn pinned(&self) -> bool {
        self.version.is_some() && !self.no_install
    }

    /// Registered before crux pinned installs: run by npx/uvx until `crux mcp upgrade`.
    pub fn unpinned_legacy(&self) -> bool {
        self.version.is_none() && !self.no_install
    }

    /// The package's name, and the version a registration from before pinning carried in it
    /// (`name@version`, or `name==version` on PyPI).
    pub fn base_and_embedded(&self, npm: bool) -> (&str, Option<&str>) {
        if !self.unpinned_legacy() {
            return (&self.package, None);
        }
        if npm {
            split_npm_spec(&self.package)
        } else {
            split_pypi_spec(&self.package)
        }
    }

    /// The package's name alone.
    pub fn base_name(&self, npm: bool) -> &str {
        self.base_and_embedded(npm).0
    }
}

/// How a server gets its credentials. All lists hold names, never values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthSpec {
    /// Variables whose values live in the keystore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keychain: Vec<String>,
    /// Variables produced at each launch by a command (its trimmed stdout).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_cli: BTreeMap<String, String>,
    /// A one-time interactive setup command, run by `crux mcp auth <name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_cmd: Option<String>,
    /// OAuth for a remote server; its tokens live in the keystore, its state in the index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<crate::oauth_meta::OAuthSpec>,
    /// A static token for a remote server, sent in a header; the value is a keystore variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<BearerSpec>,
    /// Keychain variables the server gets in its arguments (`{crux:VAR}` in `args`, replaced by
    /// the launcher) instead of its environment: for servers that take a credential only as a
    /// command-line flag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_args: Vec<String>,
    /// Headers sent to a remote server, by name; `{crux:VAR}` in a value is replaced by that
    /// keychain variable when the bridge sends it. (`{crux:VAR}` in a remote server's URL is
    /// replaced the same way.)
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

fn authorization() -> String {
    "Authorization".into()
}

fn bearer_prefix() -> String {
    "Bearer".into()
}

/// How a remote server's static token is sent: `<header_name>: <header_prefix> <value of var>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BearerSpec {
    pub var: String,
    #[serde(default = "authorization")]
    pub header_name: String,
    #[serde(default = "bearer_prefix")]
    pub header_prefix: String,
}

impl AuthSpec {
    pub fn is_empty(&self) -> bool {
        self.keychain.is_empty()
            && self.external_cli.is_empty()
            && self.setup_cmd.is_none()
            && self.oauth.is_none()
            && self.bearer.is_none()
            && self.in_args.is_empty()
            && self.headers.is_empty()
    }

    /// Every variable the launcher injects, in a stable order.
    pub fn launch_vars(&self) -> Vec<String> {
        let mut vars = self.keychain.clone();
        vars.extend(self.external_cli.keys().cloned());
        vars
    }

    /// Whether a keychain variable reaches the server in its arguments, not its environment.
    pub fn in_args(&self, var: &str) -> bool {
        self.in_args.iter().any(|v| v == var)
    }
}

/// Headers crux sets itself on a remote server's requests (compared without case); a
/// registration's own headers may not replace them. Names starting with `Mcp-` are the
/// protocol's.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "accept",
    "host",
    "connection",
    "transfer-encoding",
    "last-event-id",
    "user-agent",
];

/// Whether a header name is crux's or the protocol's to set.
pub fn reserved_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("mcp-") || RESERVED_HEADERS.contains(&lower.as_str())
}

/// Whether text is an HTTP header name (an RFC 9110 token).
pub fn header_name_ok(name: &str) -> bool {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    !name.is_empty() && name.chars().all(token)
}

/// A server definition, as stored in the registry and copied into a project's `crux.json`.
/// Portable: nothing in it depends on this machine's paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSpec {
    pub source: Source,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Non-secret settings the server gets in its environment (`--env NAME=VALUE`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Variables the launcher would remove (they load code) that may pass from the host
    /// (`--allow-env NAME`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_env: Vec<String>,
    #[serde(default, skip_serializing_if = "AuthSpec::is_empty")]
    pub auth: AuthSpec,
}

/// What a package name and version may look like: the characters npm and PyPI allow, and
/// nothing a command line would read as an option, a path or a URL.
fn package_name_ok(name: &str, npm: bool) -> bool {
    let (scope, bare) = match name.strip_prefix('@') {
        Some(rest) if npm => match rest.split_once('/') {
            Some((scope, bare)) => (Some(scope), bare),
            None => return false,
        },
        _ => (None, name),
    };
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 214
            && p.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
    };
    scope.is_none_or(part) && part(bare)
}

fn version_ok(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 64
        && version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_' | '!'))
}

impl ServerSpec {
    /// The command line as far as the definition alone decides it, for a registration made
    /// before crux resolved commands, and for display. A pinned package has none: its entry
    /// point is known once it is installed.
    pub fn command_line(&self) -> Option<Vec<String>> {
        let mut cmd = match &self.source {
            Source::Npx(p) if !p.pinned() => {
                let spec = match &p.version {
                    Some(v) => format!("{}@{v}", p.package),
                    None => p.package.clone(),
                };
                vec!["npx".into(), "-y".into(), spec]
            }
            Source::Uvx(p) if !p.pinned() => {
                let spec = match &p.version {
                    Some(v) => format!("{}@{v}", p.package),
                    None => p.package.clone(),
                };
                vec!["uvx".into(), spec]
            }
            Source::Npx(_) | Source::Uvx(_) => return None,
            Source::Command { command } => vec![command.clone()],
            Source::Local { path } => match std::path::Path::new(path)
                .extension()
                .and_then(|e| e.to_str())
            {
                Some("js" | "mjs" | "cjs") => vec!["node".into(), path.clone()],
                Some("py") => vec!["python3".into(), path.clone()],
                _ => vec![path.clone()],
            },
            Source::Url { .. } => return None,
        };
        cmd.extend(self.args.iter().cloned());
        Some(cmd)
    }

    /// Checks names and shapes, so nothing unsafe reaches a keystore, a file or a shell.
    pub fn validate(&self, name: &str) -> Result<()> {
        let bad = |what: String| {
            Error::failed(
                format!("server '{}': {what}", sanitize(name)),
                format!(
                    "fix the definition: crux mcp add {} --force …",
                    sanitize(name)
                ),
            )
        };
        match &self.source {
            Source::Npx(p) | Source::Uvx(p) => {
                let npm = matches!(self.source, Source::Npx(_));
                let base = p.base_name(npm);
                if !package_name_ok(base, npm) {
                    return Err(bad(format!(
                        "'{}' is not a package name",
                        sanitize(&p.package)
                    )));
                }
                if p.version.as_deref().is_some_and(|v| !version_ok(v)) {
                    return Err(bad("the package version is not a version".into()));
                }
                if p.bin.as_deref().is_some_and(|b| !package_name_ok(b, false)) {
                    return Err(bad("the program name (--bin) is not a plain name".into()));
                }
            }
            Source::Command { command } if command.trim().is_empty() => {
                return Err(bad("the command is empty".into()))
            }
            Source::Local { path } if !std::path::Path::new(path).is_absolute() => {
                return Err(bad("the local path is not absolute".into()))
            }
            Source::Url { url } if !(url.starts_with("https://") || url.starts_with("http://")) => {
                return Err(bad("the URL is not http(s)".into()))
            }
            _ => {}
        }
        for var in self.auth.launch_vars() {
            VarName::parse(&var)?;
        }
        for var in self.env.keys().chain(&self.allow_env) {
            let var = VarName::parse(var)?;
            if var.as_str().starts_with("CRUX_") {
                return Err(bad(format!("{var} is crux's own variable")));
            }
            if self.auth.launch_vars().iter().any(|v| v == var.as_str()) {
                return Err(bad(format!("{var} is a credential, not a setting")));
            }
        }
        if self.env.values().any(|v| v.contains('\0')) {
            return Err(bad("a setting's value has a NUL byte".into()));
        }
        if let Some(dup) = self
            .auth
            .keychain
            .iter()
            .find(|v| self.auth.external_cli.contains_key(*v))
        {
            return Err(bad(format!(
                "{dup} is both a keychain and an external-cli variable"
            )));
        }
        if let Some(bearer) = &self.auth.bearer {
            if !matches!(self.source, Source::Url { .. }) {
                return Err(bad("a bearer token is for remote (url) servers".into()));
            }
            if self.auth.oauth.is_some() {
                return Err(bad("a server uses either OAuth or a bearer token".into()));
            }
            VarName::parse(&bearer.var)?;
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if bearer.header_name.is_empty() || !bearer.header_name.chars().all(token) {
                return Err(bad("the header name is not a valid HTTP header name".into()));
            }
            if bearer.header_prefix.chars().any(|c| c.is_control()) {
                return Err(bad("the header prefix has control characters".into()));
            }
        }
        if let Some(oauth) = &self.auth.oauth {
            if !matches!(self.source, Source::Url { .. }) {
                return Err(bad("OAuth is for remote (url) servers".into()));
            }
            if let Some(u) = &oauth.client_metadata_url {
                if !u.starts_with("https://") {
                    return Err(bad("the client metadata URL is not https".into()));
                }
            }
        }
        if self.auth.external_cli.values().any(|c| c.trim().is_empty()) {
            return Err(bad("an external-cli command is empty".into()));
        }
        self.validate_placeholders(&bad)
    }

    /// The `{crux:VAR}` rules: every `in_args` variable is named in the arguments, a remote server's
    /// URL and headers only its keychain variables, and a remote server has no keychain
    /// variable it does not send.
    fn validate_placeholders(&self, bad: &dyn Fn(String) -> Error) -> Result<()> {
        let keychain = |v: &str| self.auth.keychain.iter().any(|k| k == v);
        let remote = matches!(self.source, Source::Url { .. });
        let in_args: Vec<String> = self
            .args
            .iter()
            .flat_map(|a| crate::template::placeholders(a))
            .collect();
        for var in &self.auth.in_args {
            VarName::parse(var)?;
            if remote {
                return Err(bad(format!(
                    "{var} is given in the arguments, but a remote (url) server has none"
                )));
            }
            if !keychain(var) {
                return Err(bad(format!(
                    "{var} is given in the arguments but is not a keychain variable"
                )));
            }
            if !in_args.contains(var) {
                return Err(bad(format!(
                    "{var} is given in the arguments, but no argument holds {{crux:{var}}}"
                )));
            }
        }
        if !remote && !self.auth.headers.is_empty() {
            return Err(bad("headers are for remote (url) servers".into()));
        }
        let auth_header = match (&self.auth.bearer, &self.auth.oauth) {
            (Some(b), _) => Some(b.header_name.as_str()),
            (None, Some(_)) => Some("Authorization"),
            (None, None) => None,
        };
        for (header, value) in &self.auth.headers {
            if !header_name_ok(header) {
                return Err(bad(format!(
                    "'{}' is not a valid HTTP header name",
                    sanitize(header)
                )));
            }
            if reserved_header(header)
                || auth_header.is_some_and(|a| a.eq_ignore_ascii_case(header))
            {
                return Err(bad(format!("the header {header} is one crux sets itself")));
            }
            if value.contains(['\r', '\n', '\0']) {
                return Err(bad(format!(
                    "the value of the header {header} has a line break or NUL byte"
                )));
            }
        }
        let named = self
            .url()
            .into_iter()
            .chain(self.auth.headers.values().map(String::as_str));
        for text in named {
            if let Some(var) = crate::template::placeholders(text)
                .into_iter()
                .find(|v| !keychain(v))
            {
                return Err(bad(format!(
                    "{{crux:{var}}} is not one of the server's keychain variables"
                )));
            }
        }
        if remote {
            let used = self.remote_vars();
            let bearer = |v: &str| self.auth.bearer.as_ref().is_some_and(|b| b.var == v);
            if let Some(var) = self
                .auth
                .keychain
                .iter()
                .find(|v| !used.contains(v) && !bearer(v))
            {
                return Err(bad(format!("{var} is a keychain variable, but neither the URL nor a header of this remote server names {{crux:{var}}}")));
            }
            let in_url = self
                .url()
                .is_some_and(|u| !crate::template::placeholders(u).is_empty());
            if in_url && self.auth.oauth.is_some() {
                return Err(bad(
                    "a server signed in with OAuth has no {crux:VAR} in its URL".into(),
                ));
            }
        }
        Ok(())
    }

    pub fn auth_kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if !self.auth.keychain.is_empty() {
            kinds.push("keychain");
        }
        if !self.auth.external_cli.is_empty() {
            kinds.push("external-cli");
        }
        if self.auth.setup_cmd.is_some() {
            kinds.push("setup-cmd");
        }
        if self.auth.oauth.is_some() {
            kinds.push("oauth");
        }
        if self.auth.bearer.is_some() {
            kinds.push("bearer");
        }
        kinds
    }

    /// The keychain variables a remote server's URL and extra headers name as `{crux:VAR}`, in
    /// order, each once: what the bridge fills in before it sends anything.
    pub fn remote_vars(&self) -> Vec<String> {
        let mut vars: Vec<String> = Vec::new();
        let texts = self
            .url()
            .into_iter()
            .chain(self.auth.headers.values().map(String::as_str));
        for text in texts {
            for var in crate::template::placeholders(text) {
                if self.auth.keychain.contains(&var) && !vars.contains(&var) {
                    vars.push(var);
                }
            }
        }
        vars
    }

    /// Whether the bridge sends this remote server a credential: a bearer token, OAuth, or
    /// keychain variables in its URL or headers.
    pub fn remote_credentials(&self) -> bool {
        self.url().is_some()
            && (self.auth.oauth.is_some()
                || self.auth.bearer.is_some()
                || !self.remote_vars().is_empty()
                || !self.auth.headers.is_empty())
    }

    /// Where a keychain variable reaches the server when it is not the environment: "in the
    /// arguments", "in the URL", "in a header", or both of the last two.
    pub fn sent_in(&self, var: &str) -> Option<&'static str> {
        if self.auth.in_args(var) {
            return Some("in the arguments");
        }
        let names = |text: &str| crate::template::placeholders(text).iter().any(|v| v == var);
        let url = self.url().is_some_and(names);
        let header = self.auth.headers.values().any(|v| names(v));
        match (url, header) {
            (true, true) => Some("in the URL and a header"),
            (true, false) => Some("in the URL"),
            (false, true) => Some("in a header"),
            (false, false) => None,
        }
    }

    /// The registration's extra headers as `Name: value`, each `{crux:VAR}` shown as `<VAR>`
    /// (escape them before printing).
    pub fn shown_headers(&self) -> Vec<String> {
        self.auth
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", crate::template::shown(value)))
            .collect()
    }

    /// The remote server's URL, for `url` sources.
    pub fn url(&self) -> Option<&str> {
        match &self.source {
            Source::Url { url } => Some(url),
            _ => None,
        }
    }

    /// Where the server comes from, whole (escape it before printing).
    pub fn describe_source(&self) -> String {
        let package = |tool: &str, p: &Package| {
            let mut text = format!("{tool} {}", p.package);
            match (&p.version, p.no_install) {
                (Some(v), false) => text.push_str(&format!(" {v} (pinned)")),
                (Some(v), true) => {
                    text.push_str(&format!("@{v} (not installed: {tool} at every start)"))
                }
                (None, true) => text.push_str(&format!(
                    " (not installed: {tool} fetches the latest at every start)"
                )),
                (None, false) => text.push_str(&format!(
                    " (not pinned: {tool} fetches it at every start; pin it: crux mcp upgrade)"
                )),
            }
            text
        };
        match &self.source {
            Source::Npx(p) => package("npx", p),
            Source::Uvx(p) => package("uvx", p),
            Source::Command { command } => format!("command {command}"),
            Source::Local { path } => format!("local {path}"),
            Source::Url { url } => format!("url {url}"),
        }
    }
}

impl ServerSpec {
    /// A short form of the source, for tables.
    pub fn source_summary(&self) -> String {
        let package = |tool: &str, p: &Package| match (&p.version, p.no_install) {
            (Some(v), false) => format!("{tool} {} {v}", p.package),
            (Some(v), true) => format!("{tool} {}@{v} (no install)", p.package),
            (None, true) => format!("{tool} {} (no install)", p.package),
            (None, false) => format!("{tool} {} (unpinned)", p.package),
        };
        match &self.source {
            Source::Npx(p) => package("npx", p),
            Source::Uvx(p) => package("uvx", p),
            _ => self.describe_source(),
        }
    }
}

/// Splits an npm spec `name[@version]` (a scope's leading `@` is part of the name).
pub fn split_npm_spec(spec: &str) -> (&str, Option<&str>) {
    let start = usize::from(spec.starts_with('@'));
    match spec[start..].find('@') {
        Some(at) => (&spec[..start + at], Some(&spec[start + at + 1..])),
        None => (spec, None),
    }
}

/// Splits a PyPI spec `name[==version]` or `name[@version]`.
pub fn split_pypi_spec(spec: &str) -> (&str, Option<&str>) {
    if let Some((name, version)) = spec.split_once("==") {
        return (name.trim(), Some(version.trim()));
    }
    match spec.split_once('@') {
        Some((name, version)) => (name.trim(), Some(version.trim())),
        None => (spec.trim(), None),
    }
}

/// A registered server: its definition plus what happened to it on this machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registered {
    #[serde(flatten)]
    pub spec: ServerSpec,
    pub added_at: String,
    /// When `crux mcp auth` last ran the setup command successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_ran_at: Option<String>,
    /// The command line resolved on this machine at registration: absolute paths, a pinned
    /// package's installed entry point. The launcher execs exactly this, never a lookup in
    /// the launch-time `PATH`. `None` for registrations made before crux resolved commands,
    /// whose command line comes from the definition (until `crux mcp upgrade`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// external-cli programs resolved at registration (absolute paths), by variable; a
    /// command with shell syntax runs through `/bin/sh` and has none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_programs: BTreeMap<String, String>,
    /// When the pinned package was installed into `CRUX_HOME/mcps/<name>/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_at: Option<String>,
    /// The protocol era `crux mcp probe` last found the server speaking (an observation,
    /// not configuration: the bridge finds the era again in each process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ProtocolSeen>,
}

/// What `crux mcp probe` saw of a server's protocol.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProtocolSeen {
    /// `modern` (2026-07-28 and later) or `legacy` (2025-11-25 and earlier).
    pub era: String,
    /// The version crux and the server spoke.
    pub version: String,
    /// The versions a modern server listed in `server/discover`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_versions: Vec<String>,
    pub seen_at: String,
}

impl Registered {
    pub fn new(spec: ServerSpec) -> Registered {
        Registered {
            spec,
            added_at: crate::clock::now_rfc3339(),
            setup_ran_at: None,
            command: None,
            external_programs: BTreeMap::new(),
            installed_at: None,
            protocol: None,
        }
    }

    /// The command line the launcher execs and the generated entries carry.
    pub fn command_line(&self) -> Option<Vec<String>> {
        self.command.clone().or_else(|| self.spec.command_line())
    }

    /// Whether the launcher execs a command resolved at registration (else a legacy one,
    /// looked up in the launch-time PATH).
    pub fn resolved(&self) -> bool {
        self.command.is_some() || self.spec.url().is_some()
    }

    /// The fingerprint of what this registration runs (DESIGN.md: source, resolved command,
    /// arguments, settings, external-cli and setup commands). A credential is bound to the
    /// fingerprint it was stored for, and the launcher hands it to nothing else.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let what = serde_json::json!({
            "v": 1,
            "source": self.spec.source,
            "command": self.command_line(),
            "env": self.spec.env,
            "allow_env": self.spec.allow_env,
            "external_cli": self.spec.auth.external_cli,
            "external_programs": self.external_programs,
            "setup_cmd": self.spec.auth.setup_cmd,
        });
        // Added only when used, so the fingerprints of registrations without them (and the
        // credentials bound to those) stay as they were.
        let mut what = what;
        if !self.spec.auth.in_args.is_empty() {
            what["in_args"] = serde_json::json!(self.spec.auth.in_args);
        }
        if !self.spec.auth.headers.is_empty() {
            what["headers"] = serde_json::json!(self.spec.auth.headers);
        }
        let digest = sha2::Sha256::digest(what.to_string().as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registry {
    pub version: u64,
    #[serde(default)]
    pub servers: BTreeMap<String, Registered>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            version: VERSION,
            servers: BTreeMap::new(),
        }
    }
}

impl Registry {
    /// Loads without checking each entry: for `remove` (the fix for a bad entry) and for the
    /// launcher, which checks only its own server.
    pub fn load_unchecked(home: &CruxHome) -> Result<Registry> {
        let mut registry: Registry =
            jsonfile::load(&home.registry_path(), VERSION)?.unwrap_or_default();
        registry.version = VERSION;
        Ok(registry)
    }

    pub fn load(home: &CruxHome) -> Result<Registry> {
        let registry = Registry::load_unchecked(home)?;
        registry.check(&home.registry_path())?;
        Ok(registry)
    }

    /// Checks every entry as `crux mcp add` checks one; `path` is the file named in errors.
    pub(crate) fn check(&self, path: &std::path::Path) -> Result<()> {
        for (name, entry) in &self.servers {
            ServerName::parse(name)
                .and_then(|_| entry.spec.validate(name))
                .map_err(|e| Error::Corrupt {
                    path: path.to_owned(),
                    reason: e.to_string(),
                    fix: format!(
                        "repair the entry by hand, or remove it: crux mcp remove {} --yes",
                        sanitize(name)
                    ),
                })?;
        }
        Ok(())
    }

    /// Saves; the caller holds the CRUX_HOME lock.
    pub fn save(&self, home: &CruxHome) -> Result<()> {
        home.ensure()?;
        jsonfile::save(&home.registry_path(), self)
    }

    pub fn get(&self, name: &ServerName) -> Option<&Registered> {
        self.servers.get(name.as_str())
    }

    pub fn require(&self, name: &ServerName) -> Result<&Registered> {
        self.get(name).ok_or_else(|| not_registered(name))
    }
}

pub fn not_registered(name: &ServerName) -> Error {
    Error::failed(
        format!("no server named '{name}' is registered"),
        format!("register it: crux mcp add {name} --npx <package> (see crux mcp list)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stdio(args: &[&str], keychain: &[&str], in_args: &[&str]) -> ServerSpec {
        let mut s = ServerSpec {
            source: Source::Command {
                command: "/usr/bin/srv".into(),
            },
            args: args.iter().map(|a| a.to_string()).collect(),
            tags: vec![],
            env: BTreeMap::new(),
            allow_env: vec![],
            auth: AuthSpec::default(),
        };
        s.auth.keychain = keychain.iter().map(|k| k.to_string()).collect();
        s.auth.in_args = in_args.iter().map(|k| k.to_string()).collect();
        s
    }

    fn remote(url: &str, headers: &[(&str, &str)], keychain: &[&str]) -> ServerSpec {
        let mut s = stdio(&[], keychain, &[]);
        s.source = Source::Url { url: url.into() };
        s.auth.headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        s
    }

    #[test]
    fn credentials_in_arguments_are_declared_keychain_variables_the_arguments_name() {
        stdio(&["--api-key", "{crux:API_KEY}"], &["API_KEY"], &["API_KEY"])
            .validate("s")
            .unwrap();
        stdio(
            &["--api-key={crux:API_KEY}", "x"],
            &["API_KEY", "OTHER"],
            &["API_KEY"],
        )
        .validate("s")
        .unwrap();
        for bad in [
            stdio(&["--api-key", "{crux:API_KEY}"], &[], &["API_KEY"]),
            stdio(&["--api-key", "KEY"], &["API_KEY"], &["API_KEY"]),
            stdio(&["{crux:bad-name}"], &[], &["bad-name"]),
        ] {
            let e = bad.validate("s").unwrap_err().render();
            assert!(e.contains("fix: "), "{e}");
        }
        let mut s = remote("https://h.example/mcp?k={crux:API_KEY}", &[], &["API_KEY"]);
        s.auth.in_args = vec!["API_KEY".into()];
        assert!(s.validate("s").is_err(), "a remote server has no arguments");
    }

    #[test]
    fn remote_placeholders_name_keychain_variables_and_headers_are_valid() {
        let ok = remote(
            "https://{crux:URL_USERINFO}@h.example/mcp?api_key={crux:API_KEY}",
            &[
                ("X-Api-Key", "{crux:X_API_KEY}"),
                ("X-Team", "t-{crux:TEAM_TOKEN}"),
            ],
            &["URL_USERINFO", "API_KEY", "X_API_KEY", "TEAM_TOKEN"],
        );
        ok.validate("r").unwrap();
        assert_eq!(
            ok.remote_vars(),
            vec!["URL_USERINFO", "API_KEY", "X_API_KEY", "TEAM_TOKEN"]
        );
        assert!(ok.remote_credentials());
        assert_eq!(ok.sent_in("TEAM_TOKEN"), Some("in a header"));
        assert_eq!(ok.sent_in("API_KEY"), Some("in the URL"));
        assert_eq!(
            ok.shown_headers(),
            vec!["X-Api-Key: <X_API_KEY>", "X-Team: t-<TEAM_TOKEN>"]
        );
        let bad = [
            // A placeholder of an undeclared variable.
            remote("https://h.example/mcp?k={crux:K}", &[], &[]),
            remote("https://h.example/mcp", &[("X-K", "{crux:K}")], &[]),
            // A keychain variable the remote server never sends.
            remote("https://h.example/mcp", &[], &["K"]),
            // Header names: not a token, or crux's own.
            remote("https://h.example/mcp", &[("X K", "{crux:K}")], &["K"]),
            remote(
                "https://h.example/mcp",
                &[("Mcp-Session-Id", "{crux:K}")],
                &["K"],
            ),
            remote(
                "https://h.example/mcp",
                &[("mcp-protocol-version", "{crux:K}")],
                &["K"],
            ),
            remote(
                "https://h.example/mcp",
                &[("Mcp-Method", "{crux:K}")],
                &["K"],
            ),
            remote("https://h.example/mcp", &[("Mcp-Name", "{crux:K}")], &["K"]),
            remote(
                "https://h.example/mcp",
                &[("Content-Type", "{crux:K}")],
                &["K"],
            ),
            remote("https://h.example/mcp", &[("accept", "{crux:K}")], &["K"]),
            remote("https://h.example/mcp", &[("Host", "{crux:K}")], &["K"]),
            remote(
                "https://h.example/mcp",
                &[("Content-Length", "{crux:K}")],
                &["K"],
            ),
            // Values that would split the request.
            remote(
                "https://h.example/mcp",
                &[("X-K", "{crux:K}\r\nX-Evil: 1")],
                &["K"],
            ),
            remote("https://h.example/mcp", &[("X-K", "{crux:K}\n")], &["K"]),
            remote("https://h.example/mcp", &[("X-K", "{crux:K}\0")], &["K"]),
        ];
        for s in bad {
            let e = s.validate("r").unwrap_err().render();
            assert!(e.contains("fix: ") && !e.contains("X-Evil"), "{e}");
        }
        // Headers are for remote servers; a stdio server's go in its environment.
        let mut s = stdio(&[], &["K"], &[]);
        s.auth.headers.insert("X-K".into(), "{crux:K}".into());
        assert!(s.validate("s").is_err());
        // The bearer's header is the bearer's.
        let mut s = remote(
            "https://h.example/mcp",
            &[("authorization", "{crux:K}")],
            &["K"],
        );
        s.auth.bearer = Some(BearerSpec {
            var: "T".into(),
            header_name: "Authorization".into(),
            header_prefix: "Bearer".into(),
        });
        assert!(s.validate("r").is_err());
        // Registrations without placeholders are as they were.
        let plain = remote("https://h.example/mcp", &[], &[]);
        plain.validate("r").unwrap();
        assert!(!plain.remote_credentials());
    }
}
