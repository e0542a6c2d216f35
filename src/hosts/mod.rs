//! MCP hosts and their config files: which hosts crux writes for, where each keeps its
//! servers (per project, per user), and the shape each gives a server's entry.
//!
//! Every file is edited, never regenerated: [`json`] edits JSON and JSONC documents through
//! their syntax tree and [`toml`] edits Codex's TOML document, so the user's entries, keys,
//! comments and formatting stay byte for byte. crux's entries are the same on every host — the
//! installed launcher with names only (DESIGN.md, "Generated .mcp.json entries") — in each
//! host's own shape.

pub mod gitignore;
pub mod json;
pub mod toml;

use crate::error::{Error, Result};
use clap::ValueEnum;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// An MCP host crux writes entries for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum HostId {
    /// Claude Code: `.mcp.json` in a project, `~/.claude.json` for the user
    #[value(name = "claude-code")]
    ClaudeCode,
    /// Cursor: `.cursor/mcp.json`, `~/.cursor/mcp.json`
    Cursor,
    /// VS Code: `.vscode/mcp.json`
    #[value(name = "vscode")]
    VsCode,
    /// Gemini CLI: `.gemini/settings.json`, `~/.gemini/settings.json`
    Gemini,
    /// Codex: `.codex/config.toml`, `$CODEX_HOME/config.toml`
    Codex,
    /// Roo Code: `.roo/mcp.json`
    Roo,
    /// Zed: `.zed/settings.json`
    Zed,
    /// OpenCode: `opencode.json`
    #[value(name = "opencode")]
    OpenCode,
    /// Claude Desktop: `claude_desktop_config.json` (per user)
    #[value(name = "claude-desktop")]
    ClaudeDesktop,
    /// Windsurf: `~/.codeium/windsurf/mcp_config.json` (per user)
    Windsurf,
    /// Cline: `cline_mcp_settings.json` in VS Code's storage (per user)
    Cline,
}

impl serde::Serialize for HostId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for HostId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        HostId::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown host \"{}\" (hosts: {})",
                crate::error::sanitize(&name),
                ALL.map(HostId::name).join(", ")
            ))
        })
    }
}

impl std::fmt::Display for HostId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a host keeps the servers crux writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Project,
    User,
}

/// How a host's file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Strict JSON (the host parses it with `JSON.parse`).
    Json,
    /// JSON with comments and trailing commas.
    Jsonc,
    /// Codex's TOML.
    Toml,
}

pub const ALL: [HostId; 11] = [
    HostId::ClaudeCode,
    HostId::Cursor,
    HostId::VsCode,
    HostId::Gemini,
    HostId::Codex,
    HostId::Roo,
    HostId::Zed,
    HostId::OpenCode,
    HostId::ClaudeDesktop,
    HostId::Windsurf,
    HostId::Cline,
];

impl HostId {
    /// The name used on the command line and in `crux.json`'s `"hosts"`.
    pub fn name(self) -> &'static str {
        match self {
            HostId::ClaudeCode => "claude-code",
            HostId::Cursor => "cursor",
            HostId::VsCode => "vscode",
            HostId::Gemini => "gemini",
            HostId::Codex => "codex",
            HostId::Roo => "roo",
            HostId::Zed => "zed",
            HostId::OpenCode => "opencode",
            HostId::ClaudeDesktop => "claude-desktop",
            HostId::Windsurf => "windsurf",
            HostId::Cline => "cline",
        }
    }

    pub fn from_name(name: &str) -> Option<HostId> {
        ALL.into_iter().find(|h| h.name() == name)
    }

    /// What users call it.
    pub fn title(self) -> &'static str {
        match self {
            HostId::ClaudeCode => "Claude Code",
            HostId::Cursor => "Cursor",
            HostId::VsCode => "VS Code",
            HostId::Gemini => "Gemini CLI",
            HostId::Codex => "Codex",
            HostId::Roo => "Roo Code",
            HostId::Zed => "Zed",
            HostId::OpenCode => "OpenCode",
            HostId::ClaudeDesktop => "Claude Desktop",
            HostId::Windsurf => "Windsurf",
            HostId::Cline => "Cline",
        }
    }

    /// The host's file in a project, relative to the project's directory.
    pub fn project_file(self) -> Option<&'static str> {
        Some(match self {
            HostId::ClaudeCode => ".mcp.json",
            HostId::Cursor => ".cursor/mcp.json",
            HostId::VsCode => ".vscode/mcp.json",
            HostId::Gemini => ".gemini/settings.json",
            HostId::Codex => ".codex/config.toml",
            HostId::Roo => ".roo/mcp.json",
            HostId::Zed => ".zed/settings.json",
            HostId::OpenCode => "opencode.json",
            HostId::ClaudeDesktop | HostId::Windsurf | HostId::Cline => return None,
        })
    }

    /// Whether the project in `dir` already has this host's folder (or file), which makes the
    /// host one of the project's hosts when `crux.json` lists none.
    pub fn present_in(self, dir: &Path) -> bool {
        let is_dir =
            |p: &str| std::fs::symlink_metadata(dir.join(p)).is_ok_and(|m| m.file_type().is_dir());
        match self {
            HostId::ClaudeCode => true,
            HostId::Cursor => is_dir(".cursor"),
            HostId::VsCode => is_dir(".vscode"),
            HostId::Gemini => is_dir(".gemini"),
            HostId::Codex => is_dir(".codex"),
            HostId::Roo => is_dir(".roo"),
            HostId::Zed => is_dir(".zed"),
            HostId::OpenCode => {
                is_dir(".opencode") || std::fs::symlink_metadata(dir.join("opencode.json")).is_ok()
            }
            HostId::ClaudeDesktop | HostId::Windsurf | HostId::Cline => false,
        }
    }

    /// The host's user-wide file on this machine (Linux and macOS paths; `CLAUDE_CONFIG_DIR`
    /// and `CODEX_HOME` honoured).
    pub fn user_file(self) -> Option<PathBuf> {
        let home = dirs::home_dir()?;
        let env_dir = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        // VS Code's and Claude Desktop's configuration folder: ~/Library/Application Support
        // on macOS, $XDG_CONFIG_HOME (~/.config) on Linux.
        let config = || dirs::config_dir().unwrap_or_else(|| home.join(".config"));
        Some(match self {
            HostId::ClaudeCode => env_dir("CLAUDE_CONFIG_DIR")
                .unwrap_or_else(|| home.clone())
                .join(".claude.json"),
            HostId::Cursor => home.join(".cursor/mcp.json"),
            HostId::Gemini => home.join(".gemini/settings.json"),
            HostId::Codex => env_dir("CODEX_HOME")
                .unwrap_or_else(|| home.join(".codex"))
                .join("config.toml"),
            HostId::ClaudeDesktop => config().join("Claude/claude_desktop_config.json"),
            HostId::Windsurf => home.join(".codeium/windsurf/mcp_config.json"),
            HostId::Cline => config().join(
                "Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
            ),
            HostId::VsCode | HostId::Roo | HostId::Zed | HostId::OpenCode => return None,
        })
    }

    /// The hosts that can be configured per user, for error messages.
    pub fn user_hosts() -> Vec<HostId> {
        ALL.into_iter()
            .filter(|h| h.user_file().is_some())
            .collect()
    }

    pub fn project_hosts() -> Vec<HostId> {
        ALL.into_iter()
            .filter(|h| h.project_file().is_some())
            .collect()
    }

    /// The programs whose presence on PATH shows the host is installed.
    fn programs(self) -> &'static [&'static str] {
        match self {
            HostId::ClaudeCode => &["claude"],
            HostId::Cursor => &["cursor"],
            HostId::VsCode | HostId::Cline | HostId::Roo => &["code", "codium"],
            HostId::Gemini => &["gemini"],
            HostId::Codex => &["codex"],
            HostId::Zed => &["zed", "zeditor"],
            HostId::OpenCode => &["opencode"],
            HostId::ClaudeDesktop => &["claude-desktop"],
            HostId::Windsurf => &["windsurf"],
        }
    }

    /// Whether this machine has the host: its user file or folder exists, or its program is on
    /// PATH.
    pub fn installed(self) -> bool {
        let folder = self
            .user_file()
            .is_some_and(|f| f.exists() || f.parent().is_some_and(Path::exists));
        folder || self.programs().iter().any(|p| which::which(p).is_ok())
    }

    pub fn syntax(self) -> Syntax {
        match self {
            HostId::Codex => Syntax::Toml,
            HostId::VsCode | HostId::Zed | HostId::Gemini | HostId::OpenCode => Syntax::Jsonc,
            _ => Syntax::Json,
        }
    }

    /// The key of the object that holds the servers.
    pub fn servers_key(self) -> &'static str {
        match self {
            HostId::VsCode => "servers",
            HostId::Zed => "context_servers",
            HostId::OpenCode => "mcp",
            HostId::Codex => "mcp_servers",
            _ => "mcpServers",
        }
    }

    /// The document a new file starts as, before the servers go in.
    pub fn new_document(self) -> Map<String, Value> {
        let mut doc = Map::new();
        if self == HostId::OpenCode {
            doc.insert("$schema".into(), json!("https://opencode.ai/config.json"));
        }
        doc
    }

    /// Whether the host reads remote (Streamable HTTP) servers from its file. Those that do
    /// not get the bridge for every remote server.
    fn reads_remote(self) -> bool {
        self != HostId::ClaudeDesktop
    }

    /// The entry crux writes for one server in this host's shape, from the Claude Code shape
    /// [`crate::sync::entry_for`] builds: a stdio entry (`command`, `args`, `env`) or a remote
    /// one (`type: http`, `url`). `bridge` is the bridge launcher, for hosts that cannot reach a
    /// remote server by themselves.
    pub fn shape(self, name: &str, canonical: &Value, bridge: &Path) -> Value {
        if self == HostId::ClaudeCode {
            return canonical.clone();
        }
        if let Some(url) = canonical.get("url").and_then(Value::as_str) {
            return match self {
                _ if !self.reads_remote() => {
                    let stdio = json!({
                        "command": bridge.to_string_lossy(),
                        "args": [],
                        "env": { "CRUX_MCP_NAME": name, "CRUX_BRIDGE_URL": url },
                    });
                    self.shape(name, &stdio, bridge)
                }
                HostId::VsCode => json!({ "type": "http", "url": url }),
                HostId::Gemini => json!({ "httpUrl": url }),
                HostId::Roo => json!({ "type": "streamable-http", "url": url }),
                HostId::Windsurf => json!({ "serverUrl": url }),
                HostId::Cline => json!({ "type": "streamableHttp", "url": url }),
                HostId::OpenCode => json!({ "type": "remote", "url": url }),
                _ => json!({ "url": url }),
            };
        }
        let command = canonical["command"].clone();
        let args = canonical.get("args").cloned().unwrap_or_else(|| json!([]));
        let env = canonical.get("env").cloned();
        match self {
            HostId::OpenCode => {
                let mut line = vec![command];
                line.extend(args.as_array().cloned().unwrap_or_default());
                let mut entry = json!({ "type": "local", "command": line });
                if let Some(env) = env {
                    entry["environment"] = env;
                }
                entry
            }
            HostId::VsCode => {
                let mut entry = json!({ "type": "stdio", "command": command, "args": args });
                if let Some(env) = env {
                    entry["env"] = env;
                }
                entry
            }
            _ => {
                let mut entry = json!({ "command": command, "args": args });
                if let Some(env) = env {
                    entry["env"] = env;
                }
                if self == HostId::Codex && is_launcher_entry(name, &entry) {
                    // Codex gives a stdio server only HOME, LOGNAME, PATH, SHELL, USER, LANG,
                    // LC_ALL, TERM, TMPDIR, TZ and the variables `env_vars` names: without
                    // these the launcher finds the Secret Service only on the standard socket.
                    entry["env_vars"] = json!(CODEX_BUS_VARS);
                }
                entry
            }
        }
    }
}

/// The host variables a Codex entry passes through to crux's launcher, for the session bus.
const CODEX_BUS_VARS: [&str; 2] = ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"];

/// Whether an entry in a host file is one of crux's launcher entries for the server `name`,
/// whatever host shape it has: its environment names the server to crux.
pub fn is_launcher_entry(name: &str, entry: &Value) -> bool {
    let env = entry.get("env").or_else(|| entry.get("environment"));
    env.and_then(|e| e.get("CRUX_MCP_NAME"))
        .and_then(Value::as_str)
        == Some(name)
}

/// Refuses a host folder that is a symlink or not a directory: crux writes a host file only
/// into a real folder of the project or the user (a cloned repository's `.vscode` linked to
/// elsewhere must not make crux write there). Whether the folder exists.
pub fn check_folder(dir: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_dir() => Ok(true),
        Ok(_) => Err(Error::failed(
            format!(
                "{} is not a plain directory (a symlink or another kind of file); crux does not write through it",
                dir.display()
            ),
            format!("replace it with a directory of your own (look at what it is: ls -ld {})", dir.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(format!("cannot read {}", dir.display()), e)),
    }
}

/// [`check_folder`] for a host file's folder, which is created (with `mode`) when missing.
pub fn prepare_folder(file: &Path, mode: u32) -> Result<()> {
    let Some(dir) = file.parent() else {
        return Ok(());
    };
    if check_folder(dir)? {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))
}

/// The planned new content of one host file: `None` when nothing changes.
pub fn plan(
    host: HostId,
    path: &Path,
    entries: &[(String, Value)],
    owned: &[String],
) -> Result<Option<Vec<u8>>> {
    match host.syntax() {
        Syntax::Toml => toml::plan(path, host.servers_key(), entries, owned),
        syntax => json::plan(
            path,
            host.servers_key(),
            syntax == Syntax::Jsonc,
            host.new_document(),
            entries,
            owned,
        ),
    }
}

/// The entries of one host file, by name, as JSON values (TOML converted); `None` when the
/// file does not exist.
pub fn read_entries(host: HostId, path: &Path) -> Result<Option<Vec<(String, Value)>>> {
    match host.syntax() {
        Syntax::Toml => toml::entries(path, host.servers_key()),
        syntax => json::entries(path, host.servers_key(), syntax == Syntax::Jsonc),
    }
}

/// Writes a planned file atomically, keeping the mode of the file it replaces (`new_mode` for a
/// new one).
pub fn write(path: &Path, bytes: &[u8], new_mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::symlink_metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(new_mode);
    crate::fsutil::write_atomic_mode(path, bytes, mode)
}

/// Whether a host config file holds what `crux project sync` (or `crux host add`) would write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Holds exactly crux's entries.
    Current,
    /// Exists, but a sync would change crux's entries in it.
    Stale,
    /// The host is configured for this project (or user) but the file is not there.
    Missing,
}

/// One host config file and its state.
#[derive(Debug, Clone)]
pub struct HostFile {
    pub host: HostId,
    pub path: PathBuf,
    pub state: FileState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_cli() {
        for host in ALL {
            assert_eq!(HostId::from_name(host.name()), Some(host));
            let value = host.to_possible_value().unwrap();
            assert_eq!(value.get_name(), host.name());
            assert!(host.project_file().is_some() || host.user_file().is_some());
        }
    }

    #[test]
    fn shapes() {
        let stdio = json!({"command": "/l/keychain-auth.sh", "args": ["srv", "-x"], "env": {"CRUX_MCP_NAME": "a", "CRUX_AUTH_ENV_VARS": "T"}});
        let bridge = Path::new("/l/http-bridge-auth.sh");
        assert_eq!(
            HostId::OpenCode.shape("a", &stdio, bridge),
            json!({"type": "local", "command": ["/l/keychain-auth.sh", "srv", "-x"], "environment": {"CRUX_MCP_NAME": "a", "CRUX_AUTH_ENV_VARS": "T"}})
        );
        assert_eq!(HostId::VsCode.shape("a", &stdio, bridge)["type"], "stdio");
        assert_eq!(HostId::Gemini.shape("a", &stdio, bridge), stdio);
        let remote = json!({"type": "http", "url": "https://example.test/mcp"});
        assert_eq!(
            HostId::Gemini.shape("a", &remote, bridge),
            json!({"httpUrl": "https://example.test/mcp"})
        );
        let desktop = HostId::ClaudeDesktop.shape("a", &remote, bridge);
        assert_eq!(desktop["command"], "/l/http-bridge-auth.sh");
        assert_eq!(
            desktop["env"]["CRUX_BRIDGE_URL"],
            "https://example.test/mcp"
        );
        assert!(is_launcher_entry("a", &desktop));
        assert!(is_launcher_entry(
            "a",
            &HostId::OpenCode.shape("a", &stdio, bridge)
        ));
        assert!(!is_launcher_entry("b", &stdio));
        let codex = HostId::Codex.shape("a", &stdio, bridge);
        assert_eq!(
            codex["env_vars"],
            json!(["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"])
        );
        let plain = json!({"command": "srv"});
        assert!(HostId::Codex
            .shape("a", &plain, bridge)
            .get("env_vars")
            .is_none());
    }
}
