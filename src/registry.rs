//! `CRUX_HOME/registry.json`: the servers a user registered with `crux mcp add` — where each
//! comes from, how it is started, and which credentials it needs. Names of credentials only;
//! never a value.

use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::jsonfile;
use crate::names::{ServerName, VarName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const VERSION: u64 = 1;

/// Where a server comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Source {
    Npx { package: String },
    Uvx { package: String },
    Command { command: String },
    Local { path: String },
    Url { url: String },
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
    pub oauth: Option<crate::oauth::spec::OAuthSpec>,
    /// A static token for a remote server, sent in a header; the value is a keystore variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<BearerSpec>,
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
    }

    /// Every variable the launcher injects, in a stable order.
    pub fn launch_vars(&self) -> Vec<String> {
        let mut vars = self.keychain.clone();
        vars.extend(self.external_cli.keys().cloned());
        vars
    }
}

/// A server definition, as stored in the registry and copied into a project's `crux.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSpec {
    pub source: Source,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "AuthSpec::is_empty")]
    pub auth: AuthSpec,
}

impl ServerSpec {
    /// The command line that starts the server; `None` for a remote (`url`) server.
    pub fn command_line(&self) -> Option<Vec<String>> {
        let mut cmd = match &self.source {
            Source::Npx { package } => vec!["npx".into(), "-y".into(), package.clone()],
            Source::Uvx { package } => vec!["uvx".into(), package.clone()],
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
            Source::Npx { package } | Source::Uvx { package }
                if package.trim().is_empty() || package.starts_with('-') =>
            {
                return Err(bad("the package name is empty or starts with '-'".into()))
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

    /// The remote server's URL, for `url` sources.
    pub fn url(&self) -> Option<&str> {
        match &self.source {
            Source::Url { url } => Some(url),
            _ => None,
        }
    }

    pub fn describe_source(&self) -> String {
        match &self.source {
            Source::Npx { package } => format!("npx {package}"),
            Source::Uvx { package } => format!("uvx {package}"),
            Source::Command { command } => format!("command {command}"),
            Source::Local { path } => format!("local {path}"),
            Source::Url { url } => format!("url {url}"),
        }
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
        Ok(jsonfile::load(&home.registry_path(), VERSION)?.unwrap_or_default())
    }

    pub fn load(home: &CruxHome) -> Result<Registry> {
        let registry = Registry::load_unchecked(home)?;
        for (name, entry) in &registry.servers {
            ServerName::parse(name)
                .and_then(|_| entry.spec.validate(name))
                .map_err(|e| Error::Corrupt {
                    path: home.registry_path(),
                    reason: e.to_string(),
                    fix: format!(
                        "repair the entry by hand, or remove it: crux mcp remove {} --yes",
                        sanitize(name)
                    ),
                })?;
        }
        Ok(registry)
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
