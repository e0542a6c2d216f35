//! Projects: a project's `crux.json` (committed: which servers it uses, with their
//! definitions, never a value) and `CRUX_HOME/projects.json` (which projects this machine
//! tracks, and which `.mcp.json` entries crux generated in each).

use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::hosts::HostId;
use crate::jsonfile;
use crate::registry::ServerSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// 2: packages carry their pinned version and integrity; an older crux that would ignore them
/// (and run the latest release) refuses the file instead.
pub(crate) const PROJECT_VERSION: u64 = 2;
pub(crate) const PROJECTS_VERSION: u64 = 1;
pub const PROJECT_FILE: &str = "crux.json";

/// A server in `crux.json`: its full definition (what `crux project install` writes, so a
/// teammate's crux can register it), or `{}` to use the definition in the local registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectServer {
    Spec(Box<ServerSpec>),
    Registered,
}

impl Serialize for ProjectServer {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ProjectServer::Spec(spec) => spec.serialize(serializer),
            ProjectServer::Registered => serde_json::Map::new().serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ProjectServer {
    /// `{}` is a reference to the registry; anything else must be a whole definition, and a
    /// mistyped one is an error, never silently a reference.
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.as_object().is_some_and(|m| m.is_empty()) {
            return Ok(ProjectServer::Registered);
        }
        serde_json::from_value(value)
            .map(|spec| ProjectServer::Spec(Box::new(spec)))
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectFile {
    pub version: u64,
    pub name: String,
    #[serde(default)]
    pub servers: BTreeMap<String, ProjectServer>,
    /// The hosts whose config `crux project sync` writes. Absent: Claude Code plus every host
    /// whose folder the project already has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<HostId>>,
    /// `false`: the generated host files are not added to `.gitignore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitignore: Option<bool>,
}

impl ProjectFile {
    pub fn new(name: &str) -> ProjectFile {
        ProjectFile {
            version: PROJECT_VERSION,
            name: name.to_owned(),
            servers: BTreeMap::new(),
            hosts: None,
            gitignore: None,
        }
    }

    /// The hosts whose files a sync writes in `dir`: the `"hosts"` list, else Claude Code and
    /// every host whose folder is there.
    pub fn hosts_in(&self, dir: &Path) -> Vec<HostId> {
        match &self.hosts {
            Some(hosts) => {
                let mut hosts = hosts.clone();
                hosts.sort();
                hosts.dedup();
                hosts
            }
            None => HostId::project_hosts()
                .into_iter()
                .filter(|h| h.present_in(dir))
                .collect(),
        }
    }

    pub fn load(dir: &Path) -> Result<Option<ProjectFile>> {
        let path = dir.join(PROJECT_FILE);
        let mut file: Option<ProjectFile> = jsonfile::load(&path, PROJECT_VERSION)?;
        if let Some(f) = &mut file {
            f.version = PROJECT_VERSION;
        }
        if let Some(file) = &file {
            file.check(&path)?;
        }
        Ok(file)
    }

    /// Checks a loaded file as untrusted input (it is committed); `path` is named in errors.
    pub(crate) fn check(&self, path: &Path) -> Result<()> {
        if let Some(host) = self
            .hosts
            .iter()
            .flatten()
            .find(|h| h.project_file().is_none())
        {
            return Err(Error::Corrupt {
                path: path.to_owned(),
                reason: format!(
                    "\"hosts\" lists {host}, which is configured per user, not per project"
                ),
                fix: format!(
                    "remove it from \"hosts\" in {} and use: crux host add {host} <MCP>",
                    path.display()
                ),
            });
        }
        for (name, server) in &self.servers {
            let check = crate::names::ServerName::parse(name).and_then(|_| match server {
                // A committed file is untrusted input: the same checks as `mcp add`.
                ProjectServer::Spec(spec) => spec
                    .validate(name)
                    .and_then(|()| crate::misplaced::check(name, spec)),
                ProjectServer::Registered => Ok(()),
            });
            check.map_err(|e| Error::Corrupt {
                path: path.to_owned(),
                reason: e.to_string(),
                fix: format!(
                    "fix or remove the entry '{}' in {}",
                    sanitize(name),
                    path.display()
                ),
            })?;
        }
        Ok(())
    }

    /// Writes `crux.json` (0644: it is committed and holds no secret).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("crux.json serializes");
        bytes.push(b'\n');
        crate::fsutil::write_atomic_mode(&dir.join(PROJECT_FILE), &bytes, 0o644)
    }
}

/// The project around `start`: the nearest directory, going up, holding a `crux.json`.
pub fn find_project(start: &Path) -> Option<PathBuf> {
    // One key per project in projects.json, however the directory was reached.
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    start
        .ancestors()
        .find(|d| d.join(PROJECT_FILE).is_file())
        .map(Path::to_path_buf)
}

pub fn require_project(start: &Path) -> Result<PathBuf> {
    find_project(start).ok_or_else(|| {
        Error::failed(
            format!("no {PROJECT_FILE} here or in any parent directory"),
            "create one here: crux project create",
        )
    })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tracked {
    /// The `.mcp.json` entries crux wrote in this project at the last sync.
    #[serde(default)]
    pub generated: Vec<String>,
    /// The entries crux wrote in the project's other host files, by host.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<HostId, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<String>,
    /// Remote servers with credentials get native `http` entries whose headers come from
    /// `crux headers` (Claude Code's `headersHelper`) instead of the bridge launcher.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headers_helper: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Projects {
    pub version: u64,
    #[serde(default)]
    pub projects: BTreeMap<PathBuf, Tracked>,
    /// The entries crux wrote in hosts' user-wide files (`crux host add`), by host.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_hosts: BTreeMap<HostId, Vec<String>>,
    /// The entries crux wrote in Claude Code's local scope (`~/.claude.json`,
    /// `projects.<dir>.mcpServers`, by `crux import`), by the project's key there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claude_local: BTreeMap<String, Vec<String>>,
}

impl Default for Projects {
    fn default() -> Self {
        Projects {
            version: PROJECTS_VERSION,
            projects: BTreeMap::new(),
            user_hosts: BTreeMap::new(),
            claude_local: BTreeMap::new(),
        }
    }
}

impl Tracked {
    /// The entries crux wrote in `host`'s file of this project.
    pub fn generated_for(&self, host: HostId) -> &[String] {
        match host {
            HostId::ClaudeCode => &self.generated,
            _ => self.hosts.get(&host).map(Vec::as_slice).unwrap_or_default(),
        }
    }

    pub fn set_generated(&mut self, host: HostId, names: Vec<String>) {
        match host {
            HostId::ClaudeCode => self.generated = names,
            _ if names.is_empty() => {
                self.hosts.remove(&host);
            }
            _ => {
                self.hosts.insert(host, names);
            }
        }
    }
}

impl Projects {
    pub fn load(home: &CruxHome) -> Result<Projects> {
        Ok(jsonfile::load(&home.projects_path(), PROJECTS_VERSION)?.unwrap_or_default())
    }

    /// Saves; the caller holds the CRUX_HOME lock.
    pub fn save(&self, home: &CruxHome) -> Result<()> {
        home.ensure()?;
        jsonfile::save(&home.projects_path(), self)
    }
}
