//! `--live`: each registered server started through its generated entry (a project's
//! `.mcp.json` entry, else the one `crux project sync` would write), as a host would, then
//! `initialize` + `tools/list` — like `claude mcp list`. Each start is bounded and the child
//! is killed afterwards.

use super::setup::Context;
use super::Check;
use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::mcp_client::{Client, HttpTransport, Probe, StdioTransport};
use crate::protocol::Era;
use crate::registry::Registered;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long one server may take to start and list its tools.
const PER_SERVER: Duration = Duration::from_secs(15);

/// How many servers start at the same time.
const PARALLEL: usize = 4;

/// One server to start: its entry and the folder it starts in.
struct Start {
    name: String,
    entry: Value,
    dir: PathBuf,
    from: String,
}

pub fn start_all(home: &CruxHome, cx: &Context, checks: &mut Vec<Check>) {
    let launcher = home.launchers_dir().join("keychain-auth.sh");
    let starts: Vec<Start> = cx
        .registry
        .servers
        .iter()
        .map(|(name, r)| {
            project_entry(cx, name).unwrap_or_else(|| Start {
                name: name.clone(),
                entry: generated_entry(home, name, r, &launcher),
                dir: home.root().to_path_buf(),
                from: "its generated entry".into(),
            })
        })
        .collect();
    // A few at a time: each waits on its own server, and a machine with many servers is not
    // made to start them all at once.
    for batch in starts.chunks(PARALLEL) {
        std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|s| scope.spawn(move || start(s)))
                .collect();
            checks.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a start does not panic")),
            );
        });
    }
}

/// The entry `crux project sync` would write. A server in no project has no launcher
/// installed for it; it starts through `crux launch`, which the launcher runs.
fn generated_entry(home: &CruxHome, name: &str, r: &Registered, launcher: &Path) -> Value {
    let mut entry = crate::sync::entry_for(name, r, launcher, None);
    let through_launcher = entry.get("command").and_then(Value::as_str).map(Path::new);
    if through_launcher.is_some_and(|c| c.starts_with(home.launchers_dir()) && !c.exists()) {
        let bridge =
            through_launcher.is_some_and(|c| c.ends_with(crate::sync::BRIDGE_LAUNCHER_NAME));
        let exe = std::env::current_exe().unwrap_or_else(|_| "crux".into());
        let mut args = vec![Value::from(if bridge { "bridge" } else { "launch" })];
        if let Some(a) = entry.get("args").and_then(Value::as_array) {
            args.extend(a.iter().cloned());
        }
        entry["command"] = Value::from(exe.to_string_lossy().into_owned());
        entry["args"] = Value::from(args);
        entry["env"]["CRUX_HOME"] = Value::from(home.root().to_string_lossy().into_owned());
    }
    entry
}

/// The server's entry in a tracked project's `.mcp.json`, when crux generated one there.
fn project_entry(cx: &Context, name: &str) -> Option<Start> {
    cx.projects
        .projects
        .iter()
        .filter(|(_, t)| t.generated.iter().any(|g| g == name))
        .find_map(|(dir, _)| {
            let path = dir.join(crate::sync::MCP_FILE);
            let bytes = crate::fsutil::read_optional(&path).ok()??;
            let doc: Value = serde_json::from_slice(&bytes).ok()?;
            let entry = doc.get("mcpServers")?.get(name)?.clone();
            Some(Start {
                name: name.to_string(),
                entry,
                dir: dir.clone(),
                from: path.display().to_string(),
            })
        })
}

fn start(s: &Start) -> Check {
    let name = &s.name;
    let mut how = format!("started through {}", s.from);
    let outcome = if let Some(command) = s.entry.get("command").and_then(Value::as_str) {
        stdio(s, command)
    } else if s.entry.get("headersHelper").is_some() {
        return Check::warn(
            "live",
            "start",
            name,
            "not started: its entry gets its headers from Claude Code's headersHelper",
            Some(format!("probe it directly: crux mcp probe {name}")),
        );
    } else if let Some(url) = s.entry.get("url").and_then(Value::as_str) {
        how = format!("reached at {}", crate::oauth::http::redact_url(url));
        let mut client = Client::new(HttpTransport::new(url, None));
        let probe = client.probe();
        client.finish();
        probe.map_err(|e| (e, None))
    } else {
        return Check::failed(
            "live",
            "start",
            name,
            format!("its entry in {} has no command and no url", s.from),
            "crux project sync --all",
        );
    };
    match outcome {
        Ok(p) => Check::ok(
            "live",
            "start",
            name,
            format!(
                "{how}: {} tool(s) ({} {}, protocol {})",
                p.tools,
                sanitize(&p.server_name),
                sanitize(&p.server_version),
                sanitize(&p.protocol_version)
            ),
        ),
        Err((e, stderr)) => {
            let mut problem = format!("{how}: {e}");
            if let Some(line) = &stderr {
                let line: String = crate::error::escape_all(line).chars().take(300).collect();
                problem.push_str(&format!(" (its last error output: {line})"));
            }
            // The launcher's error line names its own fix (whole on stderr; its JSON-RPC
            // answer may come shortened, and the stderr line may not have been read yet when
            // the answer arrives: then the answer's own fix).
            let fix = [stderr.unwrap_or_default(), e.line()]
                .iter()
                .find_map(|t| t.split_once("; fix: ").map(|(_, f)| f.trim().to_string()))
                .unwrap_or_else(|| format!("see what it says: crux mcp probe {name}"));
            Check::failed("live", "start", name, problem, fix)
        }
    }
}

/// Starts a stdio entry as a host would: its command and arguments, the host's environment
/// plus the entry's `env`.
fn stdio(s: &Start, command: &str) -> std::result::Result<Probe, (Error, Option<String>)> {
    let args = crate::jsonfile::strings(&s.entry, "args");
    let mut cmd = std::process::Command::new(command);
    cmd.args(&args).current_dir(&s.dir);
    if let Some(env) = s.entry.get("env").and_then(Value::as_object) {
        for (k, v) in env {
            if let Some(v) = v.as_str() {
                cmd.env(k, v);
            }
        }
    }
    let transport = StdioTransport::spawn_captured(cmd)
        .map_err(|e| (e, None))?
        .with_deadline(Instant::now() + PER_SERVER);
    let mut client = Client::new(transport).pin(Era::Legacy);
    let result: Result<Probe> = client.probe();
    let tail = client.transport().stderr_tail();
    // Dropping the client kills the server.
    result.map_err(|e| (e, tail))
}
