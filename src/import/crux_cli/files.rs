//! crux-cli 1.0.x's files in `CRUX_HOME`, read as crux-cli wrote them (never written here):
//! `registry.json`, `secrets.json`, `tokens.json`, `projects.json`, `config.toml`, the age
//! `identity` + `secrets.age`, and each tracked project's `crux.json`. None holds a value
//! except the encrypted `secrets.age`.

use crate::error::{json_error, sanitize, Error, Result};
use crate::fsutil;
use crate::store::Backend;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::legacy_files::COMMAND;
use crate::legacy_files::{is_crux_cli_json, object};

/// Words of a command: crux-cli keeps them as a list (`subprocess.run(list)`); a hand-edited
/// file may hold one string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub enum Words {
    #[default]
    None,
    List(Vec<String>),
    One(String),
}

impl Words {
    pub fn words(&self) -> Vec<String> {
        match self {
            Words::None => Vec::new(),
            Words::List(l) => l.clone(),
            Words::One(s) if s.trim().is_empty() => Vec::new(),
            Words::One(s) => vec![s.clone()],
        }
    }
}

/// Scopes: a list in crux-cli's files, a space-separated string by hand.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub enum Scopes {
    #[default]
    None,
    List(Vec<String>),
    One(String),
}

impl Scopes {
    pub fn joined(&self) -> Option<String> {
        let text = match self {
            Scopes::None => return None,
            Scopes::List(l) => l.join(" "),
            Scopes::One(s) => s.clone(),
        };
        let text = text.trim().to_string();
        (!text.is_empty()).then_some(text)
    }
}

/// `auth` of a registry entry (every field of every type; `type` says which apply).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CliAuth {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub env_vars: Vec<String>,
    pub keychain_key: Option<String>,
    pub header_name: Option<String>,
    pub header_prefix: Option<String>,
    pub discovery_url: Option<String>,
    pub resource_url: Option<String>,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    #[serde(default)]
    pub scopes: Scopes,
    #[serde(default)]
    pub check_cmd: Words,
    #[serde(default)]
    pub fix_cmd: Words,
    #[serde(default)]
    pub setup_cmd: Words,
}

impl CliAuth {
    /// The type, inferred from the fields as crux-cli does when `type` is absent.
    pub fn kind(&self) -> Option<&str> {
        match self.kind.as_deref() {
            Some(k) if !k.is_empty() => Some(k),
            _ if !self.env_vars.is_empty() => Some("keychain"),
            _ if !self.check_cmd.words().is_empty() => Some("external-cli"),
            _ if !self.setup_cmd.words().is_empty() => Some("setup-cmd"),
            _ => None,
        }
    }
}

/// One `mcp_definitions` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct CliMcp {
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    pub source: Option<String>,
    pub source_dir: Option<String>,
    pub build_cmd: Option<String>,
    pub url: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub auth: Option<CliAuth>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CliRegistry {
    #[serde(default)]
    pub mcp_definitions: BTreeMap<String, CliMcp>,
    #[serde(default)]
    pub skill_definitions: serde_json::Map<String, Value>,
}

/// One `tokens.json` entry: where an OAuth server's tokens are and their metadata.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CliToken {
    pub auth_type: Option<String>,
    pub keychain_account_access: Option<String>,
    pub keychain_account_refresh: Option<String>,
    pub expires_at: Option<String>,
    #[serde(default)]
    pub scopes: Scopes,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CliTracked {
    pub path: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CliProjects {
    pub(crate) projects: Vec<CliTracked>,
}

/// A project's `mcps` item: a name, or a name with extra arguments.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CliProjectMcp {
    Name(String),
    WithArgs {
        name: String,
        #[serde(default)]
        args: Vec<String>,
    },
}

impl CliProjectMcp {
    pub fn name(&self) -> &str {
        match self {
            CliProjectMcp::Name(n) | CliProjectMcp::WithArgs { name: n, .. } => n,
        }
    }
    pub fn args(&self) -> &[String] {
        match self {
            CliProjectMcp::Name(_) => &[],
            CliProjectMcp::WithArgs { args, .. } => args,
        }
    }
}

/// A project's `crux.json` as crux-cli writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct CliProjectFile {
    pub name: Option<String>,
    #[serde(default)]
    pub mcps: Vec<CliProjectMcp>,
    #[serde(default)]
    pub skills: Vec<Value>,
}

/// A file of crux-cli's, with its bytes as read (kept as `<name>.crux-cli`).
#[derive(Debug, Clone)]
pub struct Original {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Everything crux-cli left in a `CRUX_HOME`.
#[derive(Debug, Default)]
pub struct CliHome {
    pub registry: Option<CliRegistry>,
    /// `secrets.json`: which keys each server has (names only).
    pub index: Option<BTreeMap<String, Vec<String>>>,
    pub tokens: BTreeMap<String, CliToken>,
    /// Tracked projects, with their `crux.json` when it is crux-cli's (`None`: gone, or
    /// already crux's).
    pub projects: Vec<(CliTracked, Option<(CliProjectFile, Original)>)>,
    /// `[secrets] backend` of `config.toml`; `None` without the setting.
    pub backend: Option<Backend>,
    /// The age identity and store, when there is a store.
    pub age: Option<(PathBuf, PathBuf)>,
    /// The files converted (their originals kept beside them).
    pub originals: Vec<Original>,
}

impl CliHome {
    pub fn is_empty(&self) -> bool {
        self.registry.is_none()
            && self.index.is_none()
            && self.tokens.is_empty()
            && self.projects.is_empty()
            && self.age.is_none()
            && self.originals.is_empty()
    }

    /// The backend crux-cli used: its setting, else its platform default (Keychain on macOS,
    /// the Secret Service on Linux).
    pub fn backend(&self) -> Backend {
        self.backend.unwrap_or(if cfg!(target_os = "macos") {
            Backend::Keychain
        } else {
            Backend::SecretService
        })
    }
}

fn bad_shape(path: &Path, reason: String) -> Error {
    Error::failed(
        format!(
            "{} is not in a format crux-cli 1.0 writes ({reason}); nothing was changed",
            path.display()
        ),
        format!(
            "repair the file by hand (or move it aside: mv {0} {0}.broken), then run: {COMMAND}",
            path.display()
        ),
    )
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| bad_shape(path, json_error(&e)))
}

/// Reads crux-cli's files in `root`. A crux-cli file of a shape crux-cli does not write is an
/// error naming it; files that are crux's own already are left out.
pub fn read(root: &Path) -> Result<CliHome> {
    let mut home = CliHome::default();
    let mut originals = Vec::new();
    let load = |name: &str| -> Result<Option<(PathBuf, Vec<u8>)>> {
        let path = root.join(name);
        let Some(bytes) = fsutil::read_optional(&path)? else {
            return Ok(None);
        };
        Ok(Some((path, bytes)))
    };

    if let Some((path, bytes)) = load("registry.json")? {
        if is_crux_cli_json(&path, &bytes) {
            let map = object(&bytes).expect("checked");
            if let Some(v) = map.get("version").and_then(Value::as_str) {
                if !v.starts_with("1.") {
                    return Err(bad_shape(
                        &path,
                        format!("registry version {}", sanitize(v)),
                    ));
                }
            }
            home.registry = Some(parse(&path, &bytes)?);
            originals.push(Original { path, bytes });
        } else if object(&bytes).is_none_or(|m| !m.get("version").is_some_and(Value::is_u64)) {
            return Err(bad_shape(
                &path,
                "neither crux-cli's nor crux's registry".into(),
            ));
        }
    }
    if let Some((path, bytes)) = load("secrets.json")? {
        if is_crux_cli_json(&path, &bytes) {
            home.index = Some(parse(&path, &bytes)?);
            originals.push(Original { path, bytes });
        } else if object(&bytes).is_none_or(|m| !m.get("version").is_some_and(Value::is_u64)) {
            return Err(bad_shape(
                &path,
                "neither crux-cli's nor crux's index".into(),
            ));
        }
    }
    if let Some((path, bytes)) = load("tokens.json")? {
        home.tokens = parse(&path, &bytes)?;
        originals.push(Original { path, bytes });
    }
    if let Some((path, bytes)) = load("projects.json")? {
        if is_crux_cli_json(&path, &bytes) {
            let listed: CliProjects = parse(&path, &bytes)?;
            for tracked in listed.projects {
                let file = Path::new(&tracked.path).join("crux.json");
                let project = match fsutil::read_optional(&file) {
                    Ok(Some(b)) if is_crux_cli_json(&file, &b) => {
                        let parsed: CliProjectFile = parse(&file, &b)?;
                        Some((
                            parsed,
                            Original {
                                path: file,
                                bytes: b,
                            },
                        ))
                    }
                    _ => None,
                };
                home.projects.push((tracked, project));
            }
            originals.push(Original { path, bytes });
        } else if object(&bytes).is_none_or(|m| !m.get("version").is_some_and(Value::is_u64)) {
            return Err(bad_shape(
                &path,
                "neither crux-cli's nor crux's projects list".into(),
            ));
        }
    }
    if let Some((path, bytes)) = load("config.toml")? {
        home.backend = config_backend(&path, &bytes)?;
        originals.push(Original { path, bytes });
    }
    let identity = root.join("identity");
    let store = root.join("secrets.age");
    if identity.is_file() && store.is_file() {
        home.age = Some((identity, store));
    }
    home.originals = originals;
    Ok(home)
}

/// `[secrets] backend` of crux-cli's `config.toml`; `None` without the setting.
pub(crate) fn config_backend(path: &Path, bytes: &[u8]) -> Result<Option<Backend>> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad_shape(path, "it is not text".into()))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|_| bad_shape(path, "it is not TOML".into()))?;
    let Some(item) = doc.get("secrets").and_then(|s| s.get("backend")) else {
        return Ok(None);
    };
    let name = item
        .as_str()
        .ok_or_else(|| bad_shape(path, "[secrets] backend is not a string".into()))?;
    Ok(Some(match name {
        "keychain" => Backend::Keychain,
        "secret-service" => Backend::SecretService,
        "age" => Backend::Age,
        other => {
            return Err(bad_shape(
                path,
                format!(
                    "[secrets] backend = '{}' is not keychain, secret-service or age",
                    sanitize(other)
                ),
            ))
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_mcps_take_both_forms() {
        let p: CliProjectFile =
            serde_json::from_str(r#"{"name":"p","mcps":["a",{"name":"b","args":["--x"]}]}"#)
                .unwrap();
        assert_eq!(p.mcps[0].name(), "a");
        assert_eq!(p.mcps[1].args(), ["--x"]);
    }
}
