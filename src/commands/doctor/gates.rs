//! Each host's own gate in front of a project's servers, where crux can read it: Claude Code's
//! trust dialog and approval of `.mcp.json` servers, Gemini CLI's trusted folders, Codex's
//! trusted projects. A gate is checked only for a host whose project file exists.
//!
//! What is relied on (the hosts' own files, read only):
//! - Claude Code: `~/.claude.json` (`$CLAUDE_CONFIG_DIR/.claude.json`) has
//!   `projects["<abs path>"].hasTrustDialogAccepted` for the folder or a parent; a `.mcp.json`
//!   server runs once approved: `enableAllProjectMcpServers` or its name in
//!   `enabledMcpjsonServers`, and not in `disabledMcpjsonServers`, in the project's
//!   `.claude/settings.local.json`, `.claude/settings.json`, the user's `settings.json`
//!   (`~/.claude/`, or `$CLAUDE_CONFIG_DIR`), or the `~/.claude.json` project entry.
//! - Gemini CLI (docs/cli/trusted-folders.md): folder trust is off unless
//!   `security.folderTrust.enabled` is true in `~/.gemini/settings.json`; then
//!   `~/.gemini/trustedFolders.json` (or `$GEMINI_CLI_TRUSTED_FOLDERS_PATH`) maps paths to
//!   `TRUST_FOLDER` (that folder and below), `TRUST_PARENT` (its parent and below) or
//!   `DO_NOT_TRUST` (that folder); an untrusted folder's `.gemini/settings.json` is ignored.
//! - Codex (config basics): project `.codex/` layers load only in a trusted project,
//!   `[projects."<abs path>"] trust_level = "trusted"` in `$CODEX_HOME/config.toml`
//!   (default `~/.codex/config.toml`), for the folder or its git root.

use super::setup::quoted;
use super::Check;
use crate::error::sanitize;
use crate::jsonfile::strings;
use crate::project::Tracked;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn check(dir: &Path, tracked: &Tracked, checks: &mut Vec<Check>) {
    if dir.join(".mcp.json").is_file() {
        claude_trust(dir, checks);
        claude_approval(dir, tracked, checks);
    }
    if dir.join(".gemini/settings.json").is_file() {
        gemini(dir, checks);
    }
    if dir.join(".codex/config.toml").is_file() {
        codex(dir, checks);
    }
}

/// The user's home, as the hosts find it.
fn user_home() -> Option<PathBuf> {
    dirs::home_dir()
}

/// A host's file, parsed as JSON (comments allowed); `Ok(None)` when it does not exist. The
/// user's own file may be a link (dotfile managers); crux only reads it.
fn read_json(path: &Path) -> Result<Option<Value>, String> {
    let text = match std::fs::metadata(path) {
        Err(_) => return Ok(None),
        Ok(m) if !m.is_file() => return Err("it is not a regular file".into()),
        Ok(m) if m.len() > 64 << 20 => return Err("it is larger than 64 MiB".into()),
        Ok(_) => std::fs::read_to_string(path).map_err(|e| e.to_string())?,
    };
    jsonc_parser::parse_to_ast(&text, &Default::default(), &Default::default())
        .map(|r| Some(r.value.map(Value::from).unwrap_or(Value::Null)))
        .map_err(|e| format!("invalid JSON ({})", sanitize(&e.to_string())))
}

fn unreadable(group_check: &'static str, path: &Path, why: String) -> Check {
    Check::failed(
        "hosts",
        group_check,
        path.display().to_string(),
        format!("cannot be read: {why}"),
        format!("repair it by hand: {}", quoted(path)),
    )
}

/// Claude Code's global config and user settings.
fn claude_files() -> Option<(PathBuf, PathBuf)> {
    match std::env::var_os("CLAUDE_CONFIG_DIR").filter(|v| !v.is_empty()) {
        Some(d) => {
            let d = PathBuf::from(d);
            Some((d.join(".claude.json"), d.join("settings.json")))
        }
        None => {
            let home = user_home()?;
            Some((
                home.join(".claude.json"),
                home.join(".claude/settings.json"),
            ))
        }
    }
}

/// The folder and its parents, nearest first.
fn ancestors(dir: &Path) -> impl Iterator<Item = String> + '_ {
    dir.ancestors().map(|p| p.to_string_lossy().into_owned())
}

fn claude_trust(dir: &Path, checks: &mut Vec<Check>) {
    let subject = format!("Claude Code trust of {}", dir.display());
    let Some((global, _)) = claude_files() else {
        return;
    };
    let config = match read_json(&global) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return checks.push(Check::warn(
                "hosts",
                "claude-trust",
                subject,
                format!(
                    "{} does not exist: Claude Code has not run as this user, and will ask to trust the folder and approve its servers",
                    global.display()
                ),
                Some(format!("cd {} && claude, accept the trust dialog and approve the servers", quoted(dir))),
            ))
        }
        Err(why) => return checks.push(unreadable("claude-trust", &global, why)),
    };
    let trusted = ancestors(dir).find(|p| {
        config
            .pointer("/projects")
            .and_then(|m| m.get(p.as_str()))
            .and_then(|e| e.get("hasTrustDialogAccepted"))
            == Some(&Value::Bool(true))
    });
    checks.push(match trusted {
        Some(p) => Check::ok(
            "hosts",
            "claude-trust",
            subject,
            format!("trust accepted for {}", sanitize(&p)),
        ),
        None => Check::failed(
            "hosts",
            "claude-trust",
            subject,
            format!(
                "the folder is not trusted yet ({} has no accepted trust dialog for it), so Claude Code starts none of its .mcp.json servers",
                global.display()
            ),
            format!(
                "cd {} && claude, and accept the trust dialog",
                quoted(dir)
            ),
        ),
    });
}

fn claude_approval(dir: &Path, tracked: &Tracked, checks: &mut Vec<Check>) {
    if tracked.generated.is_empty() {
        return;
    }
    let Some((global, user)) = claude_files() else {
        return;
    };
    if !global.exists() {
        // Claude Code has not run here: the trust check said so.
        return;
    }
    let dir_key = dir.to_string_lossy().into_owned();
    let mut sources: Vec<(PathBuf, Value)> = Vec::new();
    for path in [
        dir.join(".claude/settings.local.json"),
        dir.join(".claude/settings.json"),
        user,
    ] {
        match read_json(&path) {
            Ok(Some(v)) => sources.push((path, v)),
            Ok(None) => {}
            Err(why) => checks.push(unreadable("claude-approval", &path, why)),
        }
    }
    match read_json(&global) {
        Ok(Some(v)) => {
            if let Some(entry) = v.pointer("/projects").and_then(|m| m.get(&dir_key)) {
                sources.push((global.clone(), entry.clone()));
            }
        }
        Ok(None) => {}
        Err(_) => {} // reported by the trust check
    }
    let all = sources
        .iter()
        .find(|(_, v)| v.get("enableAllProjectMcpServers") == Some(&Value::Bool(true)));
    let mut unapproved = Vec::new();
    for name in &tracked.generated {
        let subject = format!("Claude Code approval of '{name}' in {}", dir.display());
        if let Some((path, _)) = sources
            .iter()
            .find(|(_, v)| strings(v, "disabledMcpjsonServers").contains(name))
        {
            checks.push(Check::failed(
                "hosts",
                "claude-approval",
                subject,
                format!("rejected: it is in disabledMcpjsonServers of {}", path.display()),
                format!(
                    "remove \"{name}\" from disabledMcpjsonServers in {} (or approve it in Claude Code's /mcp)",
                    quoted(path)
                ),
            ));
        } else if let Some((path, _)) = sources
            .iter()
            .find(|(_, v)| strings(v, "enabledMcpjsonServers").contains(name))
            .or(all)
        {
            checks.push(Check::ok(
                "hosts",
                "claude-approval",
                subject,
                format!("approved in {}", path.display()),
            ));
        } else {
            unapproved.push((name, subject));
        }
    }
    let list: Vec<String> = unapproved.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    for (_, subject) in unapproved.iter() {
        checks.push(Check::failed(
            "hosts",
            "claude-approval",
            subject.clone(),
            "not approved: Claude Code shows it as pending and does not start it",
            format!(
                "approve it in Claude Code (/mcp), or add \"enabledMcpjsonServers\": [{}] to {}",
                list.join(", "),
                quoted(&dir.join(".claude/settings.local.json"))
            ),
        ));
    }
}

fn gemini(dir: &Path, checks: &mut Vec<Check>) {
    let subject = format!("Gemini CLI trust of {}", dir.display());
    let Some(home) = user_home() else {
        return;
    };
    let settings_path = home.join(".gemini/settings.json");
    let settings = match read_json(&settings_path) {
        Ok(s) => s.unwrap_or(Value::Null),
        Err(why) => return checks.push(unreadable("gemini-trust", &settings_path, why)),
    };
    if settings.pointer("/security/folderTrust/enabled") != Some(&Value::Bool(true)) {
        checks.push(Check::ok(
            "hosts",
            "gemini-trust",
            subject,
            "folder trust is off, so Gemini CLI reads the project's settings",
        ));
        return;
    }
    let trust_path = std::env::var_os("GEMINI_CLI_TRUSTED_FOLDERS_PATH")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".gemini/trustedFolders.json"));
    let rules = match read_json(&trust_path) {
        Ok(r) => r.unwrap_or(Value::Null),
        Err(why) => return checks.push(unreadable("gemini-trust", &trust_path, why)),
    };
    let fix = format!(
        "cd {} && gemini, and choose \"Trust folder\" (or add \"{}\": \"TRUST_FOLDER\" to {})",
        quoted(dir),
        dir.display(),
        quoted(&trust_path)
    );
    checks.push(match gemini_trust(dir, &rules) {
        Some(true) => Check::ok("hosts", "gemini-trust", subject, "trusted in trustedFolders.json"),
        Some(false) => Check::failed(
            "hosts",
            "gemini-trust",
            subject,
            "marked DO_NOT_TRUST: Gemini CLI ignores its .gemini/settings.json and the servers in it",
            fix,
        ),
        None => Check::failed(
            "hosts",
            "gemini-trust",
            subject,
            "not trusted yet (folder trust is on): Gemini CLI ignores its .gemini/settings.json and the servers in it",
            fix,
        ),
    });
}

/// Gemini CLI's `isPathTrusted`: inside a trusted folder (or a trusted parent's parent) is
/// trusted; exactly a `DO_NOT_TRUST` folder is not; anything else is undecided.
fn gemini_trust(dir: &Path, rules: &Value) -> Option<bool> {
    let rules = rules.as_object()?;
    let within = |root: &Path| dir.starts_with(root);
    let mut untrusted = false;
    for (path, level) in rules {
        let path = Path::new(path);
        match level.as_str() {
            Some("TRUST_FOLDER") if within(path) => return Some(true),
            Some("TRUST_PARENT") if path.parent().is_some_and(within) => return Some(true),
            Some("DO_NOT_TRUST") if path == dir => untrusted = true,
            _ => {}
        }
    }
    untrusted.then_some(false)
}

fn codex(dir: &Path, checks: &mut Vec<Check>) {
    let subject = format!("Codex trust of {}", dir.display());
    let codex_home = std::env::var_os("CODEX_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| user_home().map(|h| h.join(".codex")));
    let Some(config_path) = codex_home.map(|h| h.join("config.toml")) else {
        return;
    };
    let text = match std::fs::read_to_string(&config_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return checks.push(unreadable("codex-trust", &config_path, e.to_string())),
    };
    let doc = match text.parse::<toml_edit::DocumentMut>() {
        Ok(d) => d,
        Err(e) => {
            return checks.push(unreadable(
                "codex-trust",
                &config_path,
                format!("invalid TOML ({})", sanitize(&e.to_string())),
            ))
        }
    };
    let level = |p: &Path| {
        doc.get("projects")
            .and_then(|t| t.get(p.to_string_lossy().as_ref()))
            .and_then(|t| t.get("trust_level"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let git_root = dir.ancestors().find(|p| p.join(".git").exists());
    let found = std::iter::once(dir)
        .chain(git_root)
        .find_map(|p| level(p).map(|l| (p.to_path_buf(), l)));
    let fix = format!(
        "trust it when codex asks (cd {} && codex), or add [projects.\"{}\"] trust_level = \"trusted\" to {}",
        quoted(dir),
        dir.display(),
        quoted(&config_path)
    );
    checks.push(match found {
        Some((p, l)) if l == "trusted" => Check::ok(
            "hosts",
            "codex-trust",
            subject,
            format!("trusted in {} ({})", config_path.display(), p.display()),
        ),
        Some((_, l)) => Check::failed(
            "hosts",
            "codex-trust",
            subject,
            format!(
                "trust_level is \"{}\": Codex ignores the project's .codex/config.toml and its servers",
                sanitize(&l)
            ),
            fix,
        ),
        None => Check::failed(
            "hosts",
            "codex-trust",
            subject,
            "not trusted: Codex loads the project's .codex/config.toml (and its servers) only in a trusted project",
            fix,
        ),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_rules_follow_is_path_trusted() {
        let rules = serde_json::json!({
            "/work/a": "TRUST_FOLDER",
            "/work/b/child": "TRUST_PARENT",
            "/work/c": "DO_NOT_TRUST",
        });
        assert_eq!(gemini_trust(Path::new("/work/a"), &rules), Some(true));
        assert_eq!(gemini_trust(Path::new("/work/a/sub"), &rules), Some(true));
        assert_eq!(gemini_trust(Path::new("/work/ab"), &rules), None);
        assert_eq!(gemini_trust(Path::new("/work/b/other"), &rules), Some(true));
        assert_eq!(gemini_trust(Path::new("/work/c"), &rules), Some(false));
        assert_eq!(gemini_trust(Path::new("/work/c/sub"), &rules), None);
        assert_eq!(gemini_trust(Path::new("/elsewhere"), &rules), None);
    }
}
