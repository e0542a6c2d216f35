//! MCP hosts and their config files: which hosts crux writes for, where each keeps its
//! servers (per project or per user), and each file's own format.

use clap::ValueEnum;

/// An MCP host crux writes entries for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum HostId {
    /// Claude Code: `.mcp.json` in a project, `~/.claude.json` for the user
    #[value(name = "claude-code")]
    ClaudeCode,
    /// Cursor: `.cursor/mcp.json`
    Cursor,
    /// VS Code: `.vscode/mcp.json`
    #[value(name = "vscode")]
    VsCode,
    /// Gemini CLI: `.gemini/settings.json`
    Gemini,
    /// Codex: `.codex/config.toml`
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
    /// Cline: `cline_mcp_settings.json` (per user)
    Cline,
}

impl HostId {
    /// The name used on the command line and in `crux.json`'s `"hosts"`.
    pub fn name(self) -> &'static str {
        self.to_possible_value()
            .expect("no variant is skipped")
            .get_name()
            .to_owned()
            .leak()
    }
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
    pub path: std::path::PathBuf,
    pub state: FileState,
}

/// The host files of the project in `dir` (the hosts its `crux.json` uses), and whether each is
/// current. Reads only; unlocks nothing.
pub fn check_project(
    _home: &crate::home::CruxHome,
    _dir: &std::path::Path,
) -> crate::error::Result<Vec<HostFile>> {
    Ok(Vec::new())
}
