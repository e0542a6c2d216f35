//! `crux import`: plaintext credentials in every host format crux writes move into the
//! keystore, the host files keep everything else and hold names only afterwards, and real
//! MCP clients start the migrated servers — the real server-everything, whose `get-env` shows
//! the values arrived. A failure between storing and rewriting leaves the host file byte for
//! byte; a git-tracked file gets the history warning; bad input changes nothing.

mod common;

use common::{age_plaintext, kit, random_value, setup_kit, Env};
use crux::hosts::HostId;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn server_script() -> String {
    kit()
        .join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
        .to_string_lossy()
        .into_owned()
}

/// The values one server's entry holds in plaintext, and the setting next to them.
struct Values {
    token: String,
    api_key: String,
    referenced: String,
}

impl Values {
    fn new(tag: &str) -> Values {
        Values {
            token: random_value(&format!("{tag}-tok")),
            api_key: random_value(&format!("{tag}-key")),
            referenced: random_value(&format!("{tag}-ref")),
        }
    }

    fn all(&self) -> [&str; 3] {
        [&self.token, &self.api_key, &self.referenced]
    }

    /// The server's environment in the host file: two literal credentials, a reference
    /// (Claude Code's `${VAR}` or Cursor/VS Code's `${env:VAR}`) and a setting.
    fn env(&self, reference: &str) -> Value {
        json!({
            "EV_TOKEN": self.token,
            "EV_API_KEY": self.api_key,
            "EV_REFERENCED_TOKEN": reference,
            "LOG_LEVEL": "debug",
        })
    }
}

/// The environment variable the references name; set for the import only.
const REF_VAR: &str = "IMPORT_TEST_REFERENCED";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A stdio entry (command, args, env) of the server `name` in `host`'s file, as the test
/// writes it and as a client reads it back after the import.
fn stdio_entry(host: HostId, path: &Path, name: &str) -> (String, Vec<String>, Value) {
    let mut entries = crux::hosts::read_entries(host, path).unwrap().unwrap();
    if path.ends_with(".claude.json") {
        // And the local scopes.
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for project in doc["projects"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            for (n, e) in project["mcpServers"].as_object().into_iter().flatten() {
                entries.push((n.clone(), e.clone()));
            }
        }
    }
    let entry = entries
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} in {}", path.display()))
        .1;
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    if host == HostId::OpenCode {
        let mut line = strings(&entry["command"]);
        let command = line.remove(0);
        return (command, line, entry["environment"].clone());
    }
    (
        entry["command"].as_str().unwrap().to_string(),
        strings(&entry["args"]),
        entry.get("env").cloned().unwrap_or(json!({})),
    )
}

/// Starts the server of `name` in `host`'s file with the PyPI `mcp` stdio client (it passes
/// only HOME, LOGNAME, PATH, SHELL, TERM, USER and the entry's env) and returns what
/// server-everything's `get-env` reports.
fn server_env(env: &Env, host: HostId, path: &Path, name: &str) -> Value {
    let (command, args, entry_env) = stdio_entry(host, path, name);
    let config = env.dir.path().join(format!("client-{name}.json"));
    std::fs::write(
        &config,
        json!({"mcpServers": {name: {"command": command, "args": args, "env": entry_env}}})
            .to_string(),
    )
    .unwrap();
    let mut cmd = Command::new(kit().join(".venv/bin/python"));
    cmd.arg(kit().join("py_client.py"))
        .arg(&config)
        .arg(name)
        .arg("get-env")
        .env_clear()
        .env("HOME", env.home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    // Not recorded as crux's output: the server's reply holds the values on purpose.
    let run = common::Run(common::run_with_stdin(cmd, None));
    run.success();
    serde_json::from_str(&run.stdout()).unwrap()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn assert_no_value_in_files(env: &Env, values: &[&str]) {
    for (path, bytes) in env.all_files() {
        for value in values {
            assert!(
                !contains(&bytes, value),
                "{} holds a value after the import",
                path.display()
            );
        }
    }
}

fn import_cmd(env: &Env, dir: &Path, args: &[&str]) -> Command {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let mut cmd = env.cmd(&all);
    cmd.current_dir(dir);
    cmd
}

/// One file per host format crux writes (eight project files, three user files), each with a
/// server holding plaintext credentials: after one `crux import --yes`, no value is in any
/// file, the age store holds each, every other byte of the files' own content is kept, and a
/// real client starts each migrated entry and sees the same values and setting.
#[test]
fn every_host_format_is_imported_and_the_servers_see_the_same_values() {
    setup_kit();
    let env = Env::for_backend("age");
    let dir = env.dir.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    let home = env.home();
    let script = server_script();
    let stdio = |values: &Values, reference: &str| json!({"command": "node", "args": [script], "env": values.env(reference)});

    // (host, file, server name, values); the files are written in each host's shape.
    let mut cases: Vec<(HostId, PathBuf, String, Values)> = Vec::new();
    let mut add = |host: HostId, path: PathBuf, name: &str| {
        let values = Values::new(name);
        cases.push((host, path, name.to_string(), values));
    };
    add(HostId::ClaudeCode, dir.join(".mcp.json"), "ev-claude");
    add(HostId::Cursor, dir.join(".cursor/mcp.json"), "ev-cursor");
    add(HostId::VsCode, dir.join(".vscode/mcp.json"), "ev-vscode");
    add(
        HostId::Gemini,
        dir.join(".gemini/settings.json"),
        "ev-gemini",
    );
    add(HostId::Codex, dir.join(".codex/config.toml"), "ev-codex");
    add(HostId::Roo, dir.join(".roo/mcp.json"), "ev-roo");
    add(HostId::Zed, dir.join(".zed/settings.json"), "ev-zed");
    add(HostId::OpenCode, dir.join("opencode.json"), "ev-opencode");
    add(
        HostId::ClaudeCode,
        home.join(".claude.json"),
        "ev-claude-user",
    );
    // Claude Code's local scope (what `claude mcp add` writes by default), in the same file.
    add(
        HostId::ClaudeCode,
        home.join(".claude.json"),
        "ev-claude-local",
    );
    add(
        HostId::ClaudeDesktop,
        home.join(".config/Claude/claude_desktop_config.json"),
        "ev-desktop",
    );
    add(
        HostId::Windsurf,
        home.join(".codeium/windsurf/mcp_config.json"),
        "ev-windsurf",
    );

    for (host, path, name, values) in &cases {
        let text = match host {
            HostId::ClaudeCode if name == "ev-claude-local" => continue,
            HostId::ClaudeCode if path.ends_with(".claude.json") => {
                let local = &cases.iter().find(|c| c.2 == "ev-claude-local").unwrap().3;
                json!({
                    "numStartups": 12,
                    "projects": {
                        "/elsewhere": {"allowedTools": []},
                        dir.to_str().unwrap(): {"allowedTools": ["x"], "mcpServers": {
                            "ev-claude-local": stdio(local, &format!("${{{REF_VAR}}}")),
                        }},
                    },
                    "mcpServers": {name.as_str(): stdio(values, &format!("${{{REF_VAR}}}"))},
                })
                .to_string()
            }
            HostId::ClaudeCode => {
                // Claude Code's default form: npx at every start, here pinned by the import.
                json!({"mcpServers": {name.as_str(): {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-everything@2026.8.31"],
                    "env": values.env(&format!("${{{REF_VAR}}}")),
                }, "untouched": {"command": "echo", "args": ["no credentials"]}}})
                .to_string()
            }
            HostId::VsCode => format!(
                "// the user's comment\n{}\n",
                json!({"servers": {name.as_str(): {"type": "stdio", "command": "node", "args": [script], "env": values.env(&format!("${{env:{REF_VAR}}}"))}}, "inputs": []})
            ),
            HostId::Cursor => json!({"mcpServers": {name.as_str(): stdio(values, &format!("${{env:{REF_VAR}}}"))}}).to_string(),
            HostId::Gemini => json!({"theme": "GitHub", "mcpServers": {name.as_str(): stdio(values, &format!("${{{REF_VAR}}}"))}}).to_string(),
            HostId::Zed => json!({"context_servers": {name.as_str(): stdio(values, &format!("${{{REF_VAR}}}"))}, "theme": "One Dark"}).to_string(),
            HostId::OpenCode => json!({"$schema": "https://opencode.ai/config.json", "mcp": {name.as_str(): {"type": "local", "command": ["node", script], "environment": values.env(&format!("${{{REF_VAR}}}"))}}}).to_string(),
            HostId::Codex => format!(
                "# the user's comment\nmodel = \"o3\"\n\n[mcp_servers.{name}]\ncommand = \"node\"\nargs = [{script:?}]\n\n[mcp_servers.{name}.env]\nEV_TOKEN = {:?}\nEV_API_KEY = {:?}\nEV_REFERENCED_TOKEN = {:?}\nLOG_LEVEL = \"debug\"\n",
                values.token, values.api_key, values.referenced
            ),
            _ => json!({"mcpServers": {name.as_str(): stdio(values, &format!("${{{REF_VAR}}}"))}}).to_string(),
        };
        write(path, &text);
    }

    let mut cmd = import_cmd(&env, &dir, &["--yes"]);
    // One variable for every reference: each server that names it gets the first case's value.
    cmd.env(REF_VAR, &cases[0].3.referenced);
    let run = env.run_cmd(cmd, None);
    run.success();
    for (_, _, name, _) in &cases {
        run.stdout_has(&format!("✓ Imported '{name}'"));
    }
    run.stdout_has("untouched: left as it is — no credentials in it");

    // The values are in the keystore (the age file, read with the age CLI), nowhere else.
    let store = age_plaintext(&env);
    let mut every_value = Vec::new();
    for (host, _, name, values) in &cases {
        let referenced = if *host == HostId::Codex {
            &values.referenced
        } else {
            &cases[0].3.referenced
        };
        assert_eq!(store["secrets"][name]["EV_TOKEN"], values.token.as_str());
        assert_eq!(
            store["secrets"][name]["EV_API_KEY"],
            values.api_key.as_str()
        );
        assert_eq!(
            store["secrets"][name]["EV_REFERENCED_TOKEN"],
            referenced.as_str(),
            "{name}"
        );
        every_value.extend(values.all().map(str::to_string));
    }
    let refs: Vec<&str> = every_value.iter().map(String::as_str).collect();
    assert_no_value_in_files(&env, &refs);
    for value in &refs {
        assert!(
            !contains(&env.printed.borrow(), value),
            "a value was printed"
        );
    }

    // Everything else in the files is kept.
    let claude_user: Value =
        serde_json::from_str(&std::fs::read_to_string(home.join(".claude.json")).unwrap()).unwrap();
    assert_eq!(claude_user["numStartups"], 12);
    assert!(claude_user["projects"]["/elsewhere"].is_object());
    assert_eq!(
        claude_user["projects"][dir.to_str().unwrap()]["allowedTools"],
        json!(["x"])
    );
    let vscode = std::fs::read_to_string(dir.join(".vscode/mcp.json")).unwrap();
    assert!(vscode.starts_with("// the user's comment\n"), "{vscode}");
    let codex = std::fs::read_to_string(dir.join(".codex/config.toml")).unwrap();
    assert!(
        codex.starts_with("# the user's comment\nmodel = \"o3\"\n"),
        "{codex}"
    );
    let gemini = std::fs::read_to_string(dir.join(".gemini/settings.json")).unwrap();
    assert!(gemini.contains("\"theme\":\"GitHub\""), "{gemini}");
    let mcp = std::fs::read_to_string(dir.join(".mcp.json")).unwrap();
    assert!(mcp.contains("\"untouched\""), "{mcp}");
    assert!(dir.join("crux.json").is_file());

    // The Claude Code entry's npx package was installed and pinned, as `mcp add` pins.
    let show = env.run(&["mcp", "show", "ev-claude", "--json"]);
    show.success();
    let shown: Value = serde_json::from_str(&show.stdout()).unwrap();
    assert_eq!(shown["source"]["version"], "2026.8.31", "{shown}");

    // Real clients start every migrated entry, and the server sees what it saw before.
    for (host, path, name, values) in &cases {
        let seen = server_env(&env, *host, path, name);
        let referenced = if *host == HostId::Codex {
            &values.referenced
        } else {
            &cases[0].3.referenced
        };
        assert_eq!(seen["EV_TOKEN"], values.token.as_str(), "{name}");
        assert_eq!(seen["EV_API_KEY"], values.api_key.as_str(), "{name}");
        assert_eq!(seen["EV_REFERENCED_TOKEN"], referenced.as_str(), "{name}");
        assert_eq!(seen["LOG_LEVEL"], "debug", "{name}");
    }

    // A second import finds nothing left to do and changes nothing.
    let before = env.all_files();
    let again = env.run_cmd(import_cmd(&env, &dir, &["--yes"]), None);
    again.success().stdout_has("Nothing to import");
    let after = env.all_files();
    assert_eq!(before.len(), after.len());
    for ((p1, b1), (p2, b2)) in before.iter().zip(after.iter()) {
        assert_eq!(p1, p2);
        assert!(b1 == b2, "{} changed on the second import", p1.display());
    }
}

/// Reads stderr until the confirmation question, so the test can act before answering.
fn wait_for_question(stderr: &mut impl BufRead) {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let n = std::io::Read::read(stderr, &mut byte).unwrap();
        assert!(
            n > 0,
            "crux ended before asking: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.push(byte[0]);
        if seen.ends_with(b"[y/N] ") {
            return;
        }
    }
}

/// The host changes the entry after crux stored its values and before it rewrites the file
/// (here: while crux asks, the values stored only after the answer): crux takes the server
/// back — registration and values — and the file stays byte for byte as the host left it.
#[test]
fn a_change_between_storing_and_rewriting_leaves_the_file_byte_identical() {
    let env = Env::for_backend("age");
    let dir = env.dir.path().join("project");
    let values = Values::new("race");
    let file = dir.join(".mcp.json");
    write(
        &file,
        &json!({"mcpServers": {"race": {"command": "node", "args": ["server.js"], "env": {"RACE_TOKEN": values.token}}}})
            .to_string(),
    );
    std::fs::write(dir.join("server.js"), "").unwrap();
    let mut cmd = import_cmd(&env, &dir, &[]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::fs::create_dir_all(env.home()).unwrap();
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    wait_for_question(&mut stderr);
    // The host rewrites its file: a new token in the same entry.
    let changed = json!({"mcpServers": {"race": {"command": "node", "args": ["server.js"], "env": {"RACE_TOKEN": values.api_key}}}, "added": 1})
        .to_string();
    std::fs::write(&file, &changed).unwrap();
    child.stdin.take().unwrap().write_all(b"y\n").unwrap();
    let mut rest = String::new();
    for line in stderr.lines() {
        rest.push_str(&line.unwrap());
        rest.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(rest.contains("changed while crux was importing"), "{rest}");
    assert!(!rest.contains(&values.token) && !rest.contains(&values.api_key));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), changed);
    // No half-registered server: not registered, nothing stored for it.
    let list = env.run(&["mcp", "list", "--json"]);
    list.success();
    assert!(!list.stdout().contains("\"race\""), "{}", list.stdout());
    let store = age_plaintext(&env);
    assert!(
        store["secrets"]
            .get("race")
            .is_none_or(|s| s.as_object().unwrap().is_empty()),
        "{store}"
    );
    assert!(!dir.join("crux.json").exists());
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=t@example.test", "-c", "user.name=t"])
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A host file git tracks, and one that a commit held before it was untracked: the import
/// names every imported value (server and variable, never the value) as in the history and
/// says to rotate it; the history is not rewritten.
#[test]
fn a_file_in_git_history_gets_the_rotation_warning() {
    let env = Env::for_backend("age");
    let dir = env.dir.path().join("repo");
    let values = Values::new("git");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("server.js"), "").unwrap();
    write(
        &dir.join(".mcp.json"),
        &json!({"mcpServers": {"tracked": {"command": "node", "args": ["server.js"], "env": {"TRACKED_TOKEN": values.token}}}}).to_string(),
    );
    write(
        &dir.join(".cursor/mcp.json"),
        &json!({"mcpServers": {"was-committed": {"command": "node", "args": ["server.js"], "env": {"OLD_API_KEY": values.api_key}}}}).to_string(),
    );
    git(&dir, &["init", "-q", "."]);
    git(&dir, &["add", ".mcp.json", ".cursor/mcp.json"]);
    git(&dir, &["commit", "-qm", "configs"]);
    git(&dir, &["rm", "-q", "--cached", ".cursor/mcp.json"]);
    git(&dir, &["commit", "-qm", "untrack"]);
    let head = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap()
        .stdout;

    let run = env.run_cmd(import_cmd(&env, &dir, &["--yes"]), None);
    run.success()
        .stderr_has(".mcp.json is tracked by git, so these values are in the repository's history and must be rotated: tracked TRACKED_TOKEN")
        .stderr_has("mcp.json was committed to git, so these values are in the repository's history and must be rotated: was-committed OLD_API_KEY")
        .stderr_has("revoke the old one");
    for v in values.all() {
        assert!(!contains(&env.printed.borrow(), v));
    }
    let after = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(head, after, "the history is not rewritten");
}

/// A host file that does not parse stops the import before anything: the error names the
/// file and the way around it, and no file changes — not the good one next to it either.
#[test]
fn a_broken_host_file_changes_nothing() {
    let env = Env::for_backend("age");
    let dir = env.dir.path().join("project");
    let values = Values::new("bad");
    let good = json!({"mcpServers": {"good": {"command": "node", "args": ["x.js"], "env": {"GOOD_TOKEN": values.token}}}}).to_string();
    write(&dir.join(".mcp.json"), &good);
    write(&dir.join(".cursor/mcp.json"), "{\"mcpServers\": {\"x\": ");
    let run = env.run_cmd(import_cmd(&env, &dir, &["--yes"]), None);
    run.fails(1)
        .stderr_has(".cursor/mcp.json cannot be read")
        .stderr_has("crux import <HOST>");
    assert_eq!(
        std::fs::read_to_string(dir.join(".mcp.json")).unwrap(),
        good
    );
    assert!(!env.crux_home().join("registry.json").exists());
    assert!(!env.crux_home().join("secrets.age").exists());
    // Once the broken file is repaired (the project's sync writes it too), the import goes.
    std::fs::write(dir.join("x.js"), "").unwrap();
    std::fs::write(dir.join(".cursor/mcp.json"), "{}\n").unwrap();
    env.run_cmd(
        import_cmd(&env, &dir, &["claude-code", "--project", "--yes"]),
        None,
    )
    .success()
    .stdout_has("✓ Imported 'good'");
}

/// A keystore that refuses the values (a locked Secret Service): nothing is registered, and
/// the host file is byte for byte as it was.
#[test]
fn a_locked_keystore_imports_nothing() {
    let env = Env::for_backend("secret-service");
    let dir = env.dir.path().join("project");
    let values = Values::new("locked");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("x.js"), "").unwrap();
    let text = json!({"mcpServers": {"srv": {"command": "node", "args": ["x.js"], "env": {"SRV_TOKEN": values.token}}}}).to_string();
    write(&dir.join(".mcp.json"), &text);
    env.keyring().lock();
    let run = env.run_cmd(import_cmd(&env, &dir, &["--yes"]), None);
    run.fails(1)
        .stderr_has("✗ Not imported 'srv'")
        .stderr_has("locked");
    assert_eq!(
        std::fs::read_to_string(dir.join(".mcp.json")).unwrap(),
        text
    );
    let list = env.run(&["mcp", "list", "--json"]);
    assert!(!list.stdout().contains("\"srv\""), "{}", list.stdout());
}

/// `--dry-run --json`: the plan with masked values (at most four characters), each decision
/// and its reason, the user's overrides applied; nothing is written.
#[test]
fn a_dry_run_shows_the_classified_plan_and_writes_nothing() {
    let env = Env::for_backend("age");
    let dir = env.dir.path().join("project");
    let values = Values::new("plan");
    let text = json!({"mcpServers": {"srv": {"command": "node", "args": ["x.js", "--api-key", values.api_key], "env": {
        "SRV_TOKEN": values.token,
        "LOG_LEVEL": "debug",
        "DATA_DIR": "/srv/data",
        "SESSION_ID": "12345",
        "API_BASE": "https://api.example.com/",
        "UNSET_TOKEN": "${IMPORT_TEST_NOT_SET}",
    }}}})
    .to_string();
    write(&dir.join(".mcp.json"), &text);
    let run = env.run_cmd(
        import_cmd(
            &env,
            &dir,
            &[
                "--dry-run",
                "--json",
                "--secret",
                "srv:SESSION_ID",
                "--not-secret",
                "NOT_THERE",
            ],
        ),
        None,
    );
    run.success()
        .stderr_has("--not-secret NOT_THERE names nothing");
    let plan: Value = serde_json::from_str(&run.stdout()).unwrap();
    let srv = &plan["servers"][0];
    assert_eq!(srv["status"], "import");
    let creds: Vec<&str> = srv["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["variable"].as_str().unwrap())
        .collect();
    assert_eq!(
        creds,
        vec!["API_KEY", "SRV_TOKEN", "SESSION_ID", "UNSET_TOKEN"],
        "{srv}"
    );
    let settings: Vec<&str> = srv["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(settings, vec!["LOG_LEVEL", "DATA_DIR", "API_BASE"], "{srv}");
    for c in srv["credentials"].as_array().unwrap() {
        if let Some(masked) = c["value"].as_str() {
            assert!(masked.chars().count() <= 5, "{masked}");
        }
    }
    assert_eq!(srv["credentials"][2]["why"], "--secret");
    assert!(srv["credentials"][3]["value"].is_null());
    for v in values.all() {
        assert!(!run.stdout().contains(v));
    }
    assert_eq!(
        std::fs::read_to_string(dir.join(".mcp.json")).unwrap(),
        text
    );
    assert!(!env.crux_home().join("registry.json").exists());
}

/// A stand-in stdio server: writes its command line and environment to the file its first
/// argument names.
fn report_server(dir: &Path) -> PathBuf {
    let path = dir.join("server.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\nreport=\"$1\"; shift\n{ tr '\\0' ' ' < /proc/$$/cmdline; echo; env; } > \"$report\"\nexit 42\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

/// Credentials in a remote server's URL (user info, a query parameter) and headers (a literal
/// one, one named by `--secret`, an `Authorization` that refers to the environment), and one
/// after a stdio server's `--api-key`: after the import none is in a file, the remote server
/// — which checks every one of them on every request — answers a real client through the
/// bridge entry, and the stdio server gets its key in its arguments, not its environment.
#[test]
fn url_header_and_argument_credentials_still_reach_their_servers() {
    setup_kit();
    let api_key = random_value("query");
    let password = random_value("userinfo");
    let x_api_key = random_value("header");
    let team = random_value("team");
    let bearer = random_value("bearer");
    let arg_key = random_value("argkey");
    let expect = json!({
        "query": {"api_key": api_key},
        "basic": format!("crux:{password}"),
        "headers": {"X-Api-Key": x_api_key, "X-Team": format!("t-{team}"), "X-Ref": bearer},
    });
    let server = common::Server::start_with_env(
        "bearer-server.mjs",
        &[],
        &[("CRUX_TEST_EXPECT", &expect.to_string())],
    );
    let env = Env::for_backend("age");
    let dir = env.dir.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    let stand_in = report_server(env.dir.path());
    let report = env.dir.path().join("report.txt");
    let url = server
        .mcp()
        .replacen("http://", &format!("http://crux:{password}@"), 1)
        + &format!("?api_key={api_key}");
    let file = dir.join(".mcp.json");
    write(
        &file,
        &json!({"mcpServers": {
            "remote": {"type": "http", "url": url, "headers": {
                "X-Api-Key": x_api_key,
                "X-Team": format!("t-{team}"),
                "X-Ref": "${IMPORT_TEST_BEARER}",
            }},
            "flagged": {"command": stand_in, "args": [report, "--api-key", arg_key, "--verbose"]},
        }})
        .to_string(),
    );
    let mut cmd = import_cmd(&env, &dir, &["--yes", "--secret", "remote:X-Team"]);
    cmd.env("IMPORT_TEST_BEARER", &bearer);
    let run = env.run_cmd(cmd, None);
    run.success()
        .stdout_has("✓ Imported 'remote'")
        .stdout_has("✓ Imported 'flagged'");
    let values = [&api_key, &password, &x_api_key, &team, &bearer, &arg_key];
    let refs: Vec<&str> = values.iter().map(|v| v.as_str()).collect();
    assert_no_value_in_files(&env, &refs);
    for v in &refs {
        assert!(!contains(&env.printed.borrow(), v), "a value was printed");
    }
    let store = age_plaintext(&env);
    assert_eq!(store["secrets"]["remote"]["API_KEY"], api_key.as_str());
    assert_eq!(
        store["secrets"]["remote"]["URL_USERINFO"],
        format!("crux:{password}")
    );
    assert_eq!(store["secrets"]["flagged"]["API_KEY"], arg_key.as_str());

    // The remote server, through the bridge entry and the PyPI client.
    let mut client = Command::new(kit().join(".venv/bin/python"));
    client
        .arg(kit().join("py_client.py"))
        .arg(&file)
        .arg("remote")
        .arg("whoami")
        .env_clear()
        .env("HOME", env.home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    let answer = common::Run(common::run_with_stdin(client, None));
    answer.success().stdout_has("ok");
    let stats = server.stats();
    assert_eq!(stats["expected_missing"], 0, "{stats}");
    assert_eq!(stats["unauthorized"], 0, "{stats}");
    assert!(stats["expected_ok"].as_u64().unwrap() > 0, "{stats}");

    // The stdio server: the key in its arguments, where it had it, and not in its environment.
    let (command, args, entry_env) = stdio_entry(HostId::ClaudeCode, &file, "flagged");
    let entry = json!({"command": command, "args": args, "env": entry_env});
    assert!(
        entry["args"].to_string().contains("{crux:API_KEY}"),
        "{entry}"
    );
    let out = common::entry_command(&entry, &env.home())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(42),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = std::fs::read_to_string(&report).unwrap();
    let cmdline = seen.lines().next().unwrap();
    assert!(
        cmdline.contains(&format!("--api-key {arg_key} --verbose")),
        "{cmdline}"
    );
    assert!(
        !seen.lines().skip(1).any(|l| l.contains(&arg_key)),
        "not in the environment: {seen}"
    );
}

/// The same server, with the same token, in two user files (Claude Code's and Cursor's): one
/// registration, both files rewritten, the token stored once.
#[test]
fn the_same_server_in_two_user_files_is_one_server() {
    let env = Env::for_backend("age");
    let home = env.home();
    let token = random_value("shared");
    let script = env.dir.path().join("s.js");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(&script, "").unwrap();
    let entry = json!({"command": "node", "args": [script], "env": {"GITHUB_TOKEN": token}});
    write(
        &home.join(".claude.json"),
        &json!({"mcpServers": {"github": entry}}).to_string(),
    );
    write(
        &home.join(".cursor/mcp.json"),
        &json!({"mcpServers": {"github": entry}}).to_string(),
    );
    let run = env.run_cmd(import_cmd(&env, &home, &["--user", "--yes"]), None);
    run.success();
    assert_eq!(
        run.stdout().matches("✓ Imported 'github'").count(),
        2,
        "{}",
        run.stdout()
    );
    for file in [home.join(".claude.json"), home.join(".cursor/mcp.json")] {
        let (command, _, _) = stdio_entry(HostId::Cursor, &file, "github");
        assert!(command.ends_with("keychain-auth.sh"), "{}", file.display());
    }
    assert_no_value_in_files(&env, &[&token]);
    assert_eq!(
        age_plaintext(&env)["secrets"]["github"]["GITHUB_TOKEN"],
        token.as_str()
    );
}

/// A cloned project's `crux.json` that lists more servers and hosts than the import found:
/// the import writes only the servers it imported, only into the files they came from.
#[test]
fn a_project_crux_json_does_not_widen_what_the_import_writes() {
    let env = Env::for_backend("age");
    let dir = env.dir.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s.js"), "").unwrap();
    // The user's own server, registered with a credential.
    env.run(&[
        "mcp",
        "add",
        "mine",
        "--command",
        "node",
        "--keychain",
        "MINE_TOKEN",
        "--value",
        "MINE_TOKEN=mine-value",
        "--",
        "/nonexistent/mine.js",
    ])
    .success();
    write(
        &dir.join("crux.json"),
        &json!({"version": 2, "name": "cloned", "servers": {"mine": {}}, "hosts": ["claude-code", "cursor"]}).to_string(),
    );
    let token = random_value("clone");
    write(
        &dir.join(".mcp.json"),
        &json!({"mcpServers": {"bait": {"command": "node", "args": ["s.js"], "env": {"BAIT_TOKEN": token}}}}).to_string(),
    );
    let run = env.run_cmd(import_cmd(&env, &dir, &["--yes"]), None);
    run.success().stdout_has("✓ Imported 'bait'");
    let mcp = std::fs::read_to_string(dir.join(".mcp.json")).unwrap();
    assert!(
        mcp.contains("\"bait\"") && !mcp.contains("\"mine\""),
        "{mcp}"
    );
    assert!(
        !dir.join(".cursor").exists(),
        "no other host file was written"
    );
    // The relative script became the project's file by absolute path.
    let show = env.run(&["mcp", "show", "bait", "--json"]);
    let shown: Value = serde_json::from_str(&show.success().stdout()).unwrap();
    let script = std::fs::canonicalize(dir.join("s.js")).unwrap();
    assert_eq!(shown["args"], json!([script.to_str().unwrap()]), "{shown}");
    assert_no_value_in_files(&env, &[&token]);
}

/// A hostile repository's `.mcp.json`: a server with a plaintext token that sets
/// `NODE_OPTIONS=--require ./evil.js`. Imported, the setting would join a registration that
/// every folder shares, and any project with its own `evil.js` and a crux entry for the server
/// would run that code with the credential. The entry is left as it is, nothing is registered,
/// and the token goes nowhere.
#[test]
fn a_hostile_entry_that_loads_other_code_is_not_imported() {
    let env = Env::for_backend("age");
    let dir = env.dir.path().join("cloned");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s.js"), "").unwrap();
    std::fs::write(dir.join("evil.js"), "").unwrap();
    let token = random_value("hostile");
    let text = json!({"mcpServers": {"srv": {"command": "node", "args": ["s.js"], "env": {
        "SRV_TOKEN": token,
        "NODE_OPTIONS": "--require ./evil.js",
    }}}})
    .to_string();
    write(&dir.join(".mcp.json"), &text);
    let run = env.run_cmd(import_cmd(&env, &dir, &["--yes"]), None);
    run.success()
        .stdout_has(
            "srv: left as it is — it sets NODE_OPTIONS, which makes the server load other code",
        )
        .stdout_has("Nothing to import");
    assert_eq!(
        std::fs::read_to_string(dir.join(".mcp.json")).unwrap(),
        text
    );
    assert!(!env.crux_home().join("registry.json").exists());
    assert!(!contains(&env.printed.borrow(), &token));
}
