//! Real MCP hosts (tests/e2e/hosts: Claude Code 2.1.328, Gemini CLI 0.61.0, Codex 0.169.0)
//! start crux's launcher entries from the files crux writes for them, each in its own test
//! HOME, and connect: a keychain stdio server and a bearer remote server through the bridge.
//! The servers report the environment they got, so each test sees the credential arrive and no
//! `CRUX_*` variable with it; no file under the test's HOME and project holds a value.
//!
//! What each host passes a stdio server (measured with these pins):
//! - Claude Code: its whole environment plus the entry's `env`.
//! - Gemini CLI: its environment minus names matching TOKEN, SECRET, PASSWORD, KEY, AUTH, CERT,
//!   … (and values that look like keys), plus `GEMINI_CLI=1` and the entry's `env`.
//! - Codex: only HOME, LOGNAME, PATH, SHELL, USER, LANG, LC_ALL, TERM, TMPDIR, TZ, the
//!   variables the entry's `env_vars` names and the entry's `env`. crux's entries name
//!   `DBUS_SESSION_BUS_ADDRESS` and `XDG_RUNTIME_DIR` there; without them the launcher would
//!   find the Secret Service only on the standard socket, `/run/user/<uid>/bus`.

mod common;

use common::{kit, random_value, setup_kit, Env, Run, Server};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A variable only the host's own environment has: a host that passes its environment on
/// shows it in the server's.
const HOST_MARKER: (&str, &str) = ("TEST_HOST_MARKER", "host-only");

fn host_bin(name: &str) -> PathBuf {
    kit().join("hosts/node_modules/.bin").join(name)
}

fn env_server() -> PathBuf {
    kit().join("hosts/env-server.mjs")
}

fn everything() -> PathBuf {
    kit().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

/// One user with crux, a project, servers registered in it, and a folder outside both where
/// the env-dump servers write what they got.
struct Setup {
    env: Env,
    project: PathBuf,
    dumps: tempfile::TempDir,
    /// (server, variable, value) of every credential stored.
    values: Vec<(String, String, String)>,
    remote: Option<Server>,
}

impl Setup {
    fn new(env: Env) -> Setup {
        setup_kit();
        let project = env.dir.path().join("project");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(env.home()).unwrap();
        Setup {
            env,
            project,
            dumps: tempfile::tempdir().unwrap(),
            values: Vec::new(),
            remote: None,
        }
    }

    /// crux in the project, with the hosts' own location variables (`CODEX_HOME`) as the
    /// hosts get them.
    fn in_project(&self, args: &[&str]) -> Run {
        let mut cmd = self.env.cmd(args);
        cmd.current_dir(&self.project)
            .env("CODEX_HOME", self.codex_home());
        self.env.run_cmd(cmd, None)
    }

    /// Not `~/.codex`: crux must honour `CODEX_HOME`, as Codex does.
    fn codex_home(&self) -> PathBuf {
        self.env.home().join("codex-home")
    }

    /// `crux project install` (the project's `.mcp.json`).
    fn install(&self, servers: &[&str]) {
        if servers.is_empty() {
            return;
        }
        let mut args = vec!["project", "install"];
        args.extend_from_slice(servers);
        self.in_project(&args).success();
    }

    /// `crux project sync --host …`: the project's files for these hosts.
    fn sync_hosts(&self, hosts: &[&str]) {
        let mut args = vec!["project", "sync"];
        for host in hosts {
            args.extend(["--host", host]);
        }
        self.in_project(&args).success();
    }

    /// `crux host add HOST SERVER…`: the host's user-wide file.
    fn host_add(&self, host: &str, servers: &[&str]) {
        if servers.is_empty() {
            return;
        }
        let mut args = vec!["host", "add", host];
        args.extend_from_slice(servers);
        self.in_project(&args).success();
    }

    /// `name`: env-server.mjs (or server-everything) with one keychain credential `var`.
    fn add_stdio(&mut self, name: &str, var: &str, script: &Path, args: &[&str]) {
        let value = random_value(name);
        let mut argv = vec![
            "mcp",
            "add",
            name,
            "--command",
            "node",
            "--keychain",
            var,
            "--stdin",
            "--",
        ];
        argv.push(script.to_str().unwrap());
        argv.extend_from_slice(args);
        self.env
            .run_stdin(&argv, &value)
            .success()
            .stdout_has(&format!("✓ Authenticated '{name}'"));
        self.values.push((name.into(), var.into(), value));
    }

    /// An env-dump server: it writes its environment to `dump(name)` when it starts.
    fn add_env_server(&mut self, name: &str, var: &str) {
        let dump = self.dump(name);
        self.add_stdio(name, var, &env_server(), &[dump.to_str().unwrap()]);
    }

    fn dump(&self, name: &str) -> PathBuf {
        self.dumps.path().join(format!("{name}.json"))
    }

    /// The environment the env-dump server `name` started with.
    fn dumped_env(&self, name: &str) -> Value {
        let path = self.dump(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{name} never started ({}): {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// `remote`: the stateful bearer server of tests/e2e/oauth, registered with `--bearer`.
    fn add_remote(&mut self) {
        let token = random_value("bearer");
        let server = Server::start_with_env(
            "bearer-server.mjs",
            &[],
            &[("CRUX_TEST_BEARER_TOKEN", &token)],
        );
        self.env
            .run_stdin(
                &[
                    "mcp",
                    "add",
                    "remote",
                    "--url",
                    &server.mcp(),
                    "--bearer",
                    "REMOTE_TOKEN",
                    "--stdin",
                ],
                &token,
            )
            .success();
        self.values
            .push(("remote".into(), "REMOTE_TOKEN".into(), token));
        self.remote = Some(server);
    }

    fn remote(&self) -> &Server {
        self.remote.as_ref().expect("a remote server was added")
    }

    fn value(&self, server: &str) -> &str {
        &self.values.iter().find(|(s, _, _)| s == server).unwrap().2
    }

    fn var(&self, server: &str) -> &str {
        &self.values.iter().find(|(s, _, _)| s == server).unwrap().1
    }

    /// A host process in the test's HOME, in the project, with an environment of its own: what
    /// a desktop session would give it (the keyring's bus when there is one, on its standard
    /// socket or not), nothing of the real user, no proxy (no network), no `CRUX_*`.
    fn host(&self, bin: &str) -> Command {
        let home = self.env.home();
        let mut cmd = Command::new(host_bin(bin));
        cmd.current_dir(&self.project)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("USER", "crux-test")
            .env("LOGNAME", "crux-test")
            .env("SHELL", "/bin/sh")
            .env("LANG", "C.UTF-8")
            .env("TERM", "dumb")
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("CODEX_HOME", self.codex_home())
            .env("XDG_RUNTIME_DIR", self.env.dir.path().join("no-runtime"))
            // Claude Code: no telemetry, update checks or other traffic.
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env(HOST_MARKER.0, HOST_MARKER.1);
        if let Some(keyring) = &self.env.keyring {
            for (key, value) in keyring.env() {
                cmd.env(key, value);
            }
        }
        cmd
    }

    fn run_host(&self, cmd: Command) -> Run {
        let start = Instant::now();
        let run = Run(common::run_with_stdin(cmd, None));
        eprintln!(
            "host ran {:.1} s\nstdout: {}\nstderr: {}",
            start.elapsed().as_secs_f64(),
            run.stdout(),
            run.stderr()
        );
        run
    }

    /// After the host ran (Claude Code rewrites `~/.claude.json` at every start), `crux host
    /// list` still finds crux's entries in the host's user file, current.
    #[track_caller]
    fn assert_user_entries_current(&self, host: &str, servers: &[&str]) {
        let run = self.in_project(&["host", "list", "--json"]);
        run.success();
        let hosts: Value = serde_json::from_str(&run.stdout()).unwrap();
        let entry = hosts
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["host"] == host)
            .unwrap_or_else(|| panic!("no {host} in {hosts}"));
        for name in servers {
            let server = entry["servers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == *name)
                .unwrap_or_else(|| panic!("no {name} in {entry}"));
            assert_eq!(server["from_crux"], true, "{server}");
            assert_eq!(server["state"], "current", "{server}");
        }
    }

    /// Every credential is in `backend`, as the index records it.
    #[track_caller]
    fn assert_stored_in(&self, backend: &str) {
        let index: Value = serde_json::from_slice(
            &std::fs::read(self.env.crux_home().join("secrets.json")).unwrap(),
        )
        .unwrap();
        let text = index.to_string();
        assert_eq!(
            text.matches(&format!("\"backend\":\"{backend}\"")).count(),
            self.values.len(),
            "every credential is in the {backend} backend: {text}"
        );
    }

    /// Every file under the test's HOME (CRUX_HOME and the hosts' files in it) and the project
    /// holds no value; crux printed none.
    fn assert_no_value_in_files(&self) {
        let files = self.env.all_files();
        assert!(!files.is_empty());
        for (_, _, value) in &self.values {
            for (path, bytes) in &files {
                assert!(
                    !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                    "{} holds a value",
                    path.display()
                );
            }
            let printed = self.env.printed.borrow();
            assert!(
                !printed.windows(value.len()).any(|w| w == value.as_bytes()),
                "crux printed a value"
            );
        }
    }
}

/// The server got its credential from the launcher, and none of the launcher's variables.
#[track_caller]
fn assert_credential_arrived(setup: &Setup, server: &str, server_env: &Value) {
    let var = setup.var(server);
    assert_eq!(
        server_env[var].as_str(),
        Some(setup.value(server)),
        "{server}: {var} reached the server"
    );
    let vars = server_env.as_object().unwrap();
    assert!(
        vars.keys().all(|k| !k.starts_with("CRUX_")),
        "{server}: the launcher's own variables are removed: {:?}",
        vars.keys().collect::<Vec<_>>()
    );
}

/// The bearer server saw only requests with the right token, through at least one session.
#[track_caller]
fn assert_bearer_arrived(setup: &Setup) {
    let stats = setup.remote().stats();
    assert!(stats["sessions_created"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(stats["unauthorized"], 0, "{stats}");
}

/// The line of `claude mcp list` / `gemini mcp list` for `server`.
#[track_caller]
fn list_line(run: &Run, server: &str) -> String {
    // Gemini CLI prints its list on stderr.
    let out = run.stdout() + &run.stderr();
    out.lines()
        .map(|l| l.trim_start_matches(['✓', '✗', '○', '✔', '✘', ' ']))
        .find(|l| l.starts_with(&format!("{server}: ")))
        .unwrap_or_else(|| panic!("no line for {server}:\n{out}"))
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// The hosts' files: crux writes the entries (`crux project install` / `project sync --host` for
// a project, `crux host add` for the user); the test writes only what a user does by hand in
// each host, trusting the folder (before crux edits the same file, so crux must keep it).

/// Claude Code: the folder trusted in `~/.claude.json` and the project's servers approved in
/// `.claude/settings.local.json`; `.mcp.json` (`mcpServers`) from `crux project install`, and
/// `~/.claude.json`'s `mcpServers` from `crux host add claude-code`.
fn claude_code_files(setup: &Setup, project: &[&str], user: &[&str]) {
    let path = setup.env.home().join(".claude.json");
    let mut config: Value = std::fs::read(&path)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_else(|_| json!({}));
    config["projects"][setup.project.to_str().unwrap()]["hasTrustDialogAccepted"] = json!(true);
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let local = setup.project.join(".claude");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(
        local.join("settings.local.json"),
        r#"{"enableAllProjectMcpServers": true}"#,
    )
    .unwrap();
    setup.install(project);
    setup.host_add("claude-code", user);
    let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        written["projects"][setup.project.to_str().unwrap()]["hasTrustDialogAccepted"],
        true,
        "crux keeps the user's part of ~/.claude.json"
    );
}

/// Gemini CLI: the folder trusted in `~/.gemini/trustedFolders.json`; `.gemini/settings.json`
/// (`mcpServers`) from `crux project sync --host gemini`, `~/.gemini/settings.json` from
/// `crux host add gemini`.
fn gemini_files(setup: &Setup, project: &[&str], user: &[&str]) {
    let dir = setup.env.home().join(".gemini");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("trustedFolders.json"),
        serde_json::to_vec_pretty(&json!({setup.project.to_str().unwrap(): "TRUST_FOLDER"}))
            .unwrap(),
    )
    .unwrap();
    setup.install(project);
    setup.sync_hosts(&["gemini"]);
    assert!(setup.project.join(".gemini/settings.json").is_file());
    setup.host_add("gemini", user);
}

/// Codex: the project trusted in `$CODEX_HOME/config.toml` (Codex ignores an untrusted
/// project's file); `.codex/config.toml` (`[mcp_servers.<name>]`) from `crux project sync
/// --host codex`, `$CODEX_HOME/config.toml`'s from `crux host add codex`.
fn codex_files(setup: &Setup, project: &[&str], user: &[&str]) {
    let home = setup.codex_home();
    std::fs::create_dir_all(&home).unwrap();
    let trust = format!(
        "[projects.{}]\ntrust_level = \"trusted\"\n",
        serde_json::to_string(setup.project.to_str().unwrap()).unwrap()
    );
    std::fs::write(home.join("config.toml"), &trust).unwrap();
    setup.install(project);
    setup.sync_hosts(&["codex"]);
    assert!(setup.project.join(".codex/config.toml").is_file());
    setup.host_add("codex", user);
    let written = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(
        written.contains(&trust),
        "crux keeps the user's part of config.toml:\n{written}"
    );
}

// ---------------------------------------------------------------------------------------------
// Claude Code

fn claude_mcp_list(setup: &Setup) -> Run {
    let mut cmd = setup.host("claude");
    cmd.args(["mcp", "list"]);
    setup.run_host(cmd)
}

/// `claude mcp list` connects to both servers, one in the project's `.mcp.json` and one in the
/// user's `~/.claude.json`; the keychain server got its credential.
fn claude_code_connects(backend: &'static str, project: &[&str], user: &[&str]) {
    let mut setup = Setup::new(Env::for_backend(backend));
    setup.add_env_server("evx", "EV_TOKEN");
    setup.add_remote();
    claude_code_files(&setup, project, user);
    let run = claude_mcp_list(&setup);
    run.success();
    for server in ["evx", "remote"] {
        let line = list_line(&run, server);
        assert!(line.ends_with("✔ Connected"), "{line}");
    }
    let server_env = setup.dumped_env("evx");
    assert_credential_arrived(&setup, "evx", &server_env);
    assert_eq!(
        server_env[HOST_MARKER.0], HOST_MARKER.1,
        "Claude Code passes its environment on"
    );
    assert_bearer_arrived(&setup);
    setup.assert_stored_in(backend);
    setup.assert_user_entries_current("claude-code", user);
    setup.assert_no_value_in_files();
}

#[test]
fn claude_code_connects_through_the_launcher_and_the_bridge_on_the_age_file() {
    claude_code_connects("age", &["evx"], &["remote"]);
}

#[test]
fn claude_code_connects_through_the_launcher_and_the_bridge_on_the_secret_service() {
    claude_code_connects("secret-service", &["remote"], &["evx"]);
}

/// A deleted credential: the launcher's error line reaches Claude Code, in its log whole and in
/// `claude mcp list` as the answer to its `initialize`.
///
/// Claude Code 2.1.328 sends `server/discover` first and, when that fails, `initialize` on the
/// same stdio; it shows the error of the `initialize`, so the launcher must answer both. It
/// also masks, case-insensitively, every string of 4 characters or more that the entry's `env`
/// values or `args` hold: with one credential `CRUX_AUTH_ENV_VARS` is `EV_TOKEN`, which shows
/// as `[redacted]`, and a server named with 4 characters or more would lose its name from the
/// fix (`crux mcp auth [redacted]`); `evx` keeps it.
#[test]
fn claude_code_shows_the_fix_for_a_missing_credential() {
    let mut setup = Setup::new(Env::for_backend("age"));
    setup.add_env_server("evx", "EV_TOKEN");
    setup.add_env_server("everlong", "EL_TOKEN");
    claude_code_files(&setup, &["evx", "everlong"], &[]);
    for (server, var) in [("evx", "EV_TOKEN"), ("everlong", "EL_TOKEN")] {
        setup
            .env
            .run(&["mcp", "auth", "--delete", server, var])
            .success();
    }
    let run = claude_mcp_list(&setup);
    assert!(!setup.dump("evx").exists(), "the server never started");
    // Claude Code keeps the server's stderr in its cache: the whole line is there.
    let logs: Vec<String> = setup
        .env
        .all_files()
        .into_iter()
        .filter(|(path, _)| path.to_string_lossy().contains("/mcp-logs-evx/"))
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
        .collect();
    assert!(
        logs.iter().any(|log| log
            .contains("Server stderr: error: evx: EV_TOKEN is not stored; fix: crux mcp auth evx")),
        "{logs:?}"
    );
    let line = list_line(&run, "evx");
    assert!(
        line.contains("✘ Failed to connect — -32603: evx: "),
        "{line}"
    );
    assert!(
        line.contains(" is not stored; fix: crux mcp auth evx"),
        "the launcher's fix reaches the host's list: {line}"
    );
    // A longer name is masked out of the fix; the pointer to `crux doctor` still shows.
    let line = list_line(&run, "everlong");
    assert!(
        line.contains("✘ Failed to connect — -32603: ")
            && line.contains("(every check and its fix: crux doctor)"),
        "{line}"
    );
}

// ---------------------------------------------------------------------------------------------
// Gemini CLI

/// `gemini mcp list` connects to both; Gemini strips credential-looking names from its own
/// environment but passes the bus, so the Secret Service is found through its address.
#[test]
fn gemini_cli_connects_through_the_launcher_and_the_bridge() {
    let mut setup = Setup::new(Env::for_backend("secret-service"));
    setup.add_env_server("evx", "EV_TOKEN");
    setup.add_remote();
    gemini_files(&setup, &["evx"], &["remote"]);
    let mut cmd = setup.host("gemini");
    cmd.args(["mcp", "list"])
        // Gemini starts itself again with a larger heap and this set, unless it is already
        // set: the server's environment is the same either way, and the test 4 s faster.
        .env("GEMINI_CLI_NO_RELAUNCH", "true")
        // Gemini drops a name like this one before the server sees it.
        .env("HOST_ONLY_API_KEY", "dropped-by-gemini");
    let run = setup.run_host(cmd);
    run.success();
    for server in ["evx", "remote"] {
        let line = list_line(&run, server);
        assert!(line.ends_with("(stdio) - Connected"), "{line}");
    }
    let server_env = setup.dumped_env("evx");
    assert_credential_arrived(&setup, "evx", &server_env);
    assert_eq!(server_env[HOST_MARKER.0], HOST_MARKER.1);
    assert!(
        server_env.get("HOST_ONLY_API_KEY").is_none(),
        "{server_env}"
    );
    assert_bearer_arrived(&setup);
    setup.assert_stored_in("secret-service");
    setup.assert_user_entries_current("gemini", &["remote"]);
    setup.assert_no_value_in_files();
}

// ---------------------------------------------------------------------------------------------
// Codex

/// `codex app-server`: JSON-RPC over stdio (codex-rs/app-server-protocol), one JSON message a
/// line, with a reader thread so each answer has a deadline.
struct AppServer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    next: u64,
}

impl AppServer {
    /// Its log goes to `log` (outside the folders searched for values).
    fn start(mut cmd: Command, log: &Path) -> AppServer {
        cmd.arg("app-server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap());
        let mut child = cmd.spawn().expect("start codex app-server");
        let stdin = child.stdin.take();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                let msg: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("codex wrote a line that is not JSON ({e}): {line}")
                });
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        let mut server = AppServer {
            child,
            stdin,
            lines,
            next: 1,
        };
        server.request(
            "initialize",
            json!({"clientInfo": {"name": "crux-tests", "version": "1"}}),
        );
        server.send(&json!({"jsonrpc": "2.0", "method": "initialized"}));
        server
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// The answer (result or error) to one request, within 60 s.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(msg) if msg["id"] == json!(id) && msg.get("method").is_none() => return msg,
                Ok(_) => {} // notifications, and requests codex would have us answer
                Err(RecvTimeoutError::Timeout) => panic!("codex: no answer to {method}"),
                Err(RecvTimeoutError::Disconnected) => panic!("codex exited during {method}"),
            }
        }
    }

    /// A thread in `cwd` (which makes Codex start the MCP servers configured for it); its id.
    fn start_thread(&mut self, cwd: &Path) -> String {
        let answer = self.request("thread/start", json!({"cwd": cwd, "ephemeral": true}));
        answer["result"]["thread"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("thread/start: {answer}"))
            .to_string()
    }

    /// The thread's MCP servers once none is still starting, by name.
    fn server_status(&mut self, thread: &str) -> serde_json::Map<String, Value> {
        let start = Instant::now();
        loop {
            let answer = self.request("mcpServerStatus/list", json!({"threadId": thread}));
            let servers: serde_json::Map<String, Value> = answer["result"]["data"]
                .as_array()
                .unwrap_or_else(|| panic!("mcpServerStatus/list: {answer}"))
                .iter()
                .map(|s| (s["name"].as_str().unwrap().to_string(), s.clone()))
                .collect();
            let starting = servers
                .values()
                .any(|s| matches!(s["runtimeStatus"].as_str(), Some("starting" | "notStarted")));
            if !starting || start.elapsed() > Duration::from_secs(30) {
                return servers;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn call(&mut self, thread: &str, server: &str, tool: &str) -> Value {
        self.request(
            "mcpServer/tool/call",
            json!({"threadId": thread, "server": server, "tool": tool, "arguments": {}}),
        )
    }
}

impl Drop for AppServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[track_caller]
fn tool_text(answer: &Value) -> String {
    assert!(answer["error"].is_null(), "{answer}");
    assert_ne!(answer["result"]["isError"], true, "{answer}");
    answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_string()
}

/// `codex app-server` starts both servers for a thread in the trusted project, lists their
/// tools, and calls them: server-everything's `get-env` shows the credential arrived, and the
/// bridge's `whoami` the bearer token. The keyring's bus is not on the standard socket: Codex
/// passes it only because crux's entries name it in `env_vars`.
#[test]
fn codex_app_server_calls_tools_through_the_launcher_and_the_bridge() {
    let mut setup = Setup::new(Env::for_backend("secret-service"));
    setup.add_stdio("evc", "EV_TOKEN", &everything(), &[]);
    setup.add_remote();
    codex_files(&setup, &["evc"], &["remote"]);
    let mut codex = AppServer::start(setup.host("codex"), &setup.dumps.path().join("codex.log"));
    let thread = codex.start_thread(&setup.project);
    let servers = codex.server_status(&thread);
    for name in ["evc", "remote"] {
        let server = &servers
            .get(name)
            .unwrap_or_else(|| panic!("codex did not load {name}: {servers:?}"));
        assert_eq!(server["runtimeStatus"], "connected", "{server}");
    }
    assert!(servers["evc"]["tools"].get("get-env").is_some());
    assert!(servers["remote"]["tools"].get("whoami").is_some());

    let server_env: Value =
        serde_json::from_str(&tool_text(&codex.call(&thread, "evc", "get-env"))).unwrap();
    assert_credential_arrived(&setup, "evc", &server_env);
    assert!(
        server_env.get(HOST_MARKER.0).is_none(),
        "Codex passes only its default variables and those the entry names: {server_env}"
    );
    assert_eq!(
        server_env["DBUS_SESSION_BUS_ADDRESS"].as_str(),
        Some(setup.env.keyring().address.as_str()),
        "the entry's env_vars pass the bus"
    );
    assert_eq!(tool_text(&codex.call(&thread, "remote", "whoami")), "ok");
    drop(codex);
    assert_bearer_arrived(&setup);
    setup.assert_stored_in("secret-service");
    setup.assert_user_entries_current("codex", &["remote"]);
    setup.assert_no_value_in_files();
}

/// A deleted credential: Codex reports the server failed, with the launcher's error line.
/// (Codex 0.169.0 sends `initialize` and, when that fails, `initialize` again without its
/// experimental capabilities; it shows both errors.)
#[test]
fn codex_shows_the_fix_for_a_missing_credential() {
    let mut setup = Setup::new(Env::for_backend("age"));
    setup.add_stdio("evc", "EV_TOKEN", &everything(), &[]);
    codex_files(&setup, &["evc"], &[]);
    setup
        .env
        .run(&["mcp", "auth", "--delete", "evc", "EV_TOKEN"])
        .success();
    let mut codex = AppServer::start(setup.host("codex"), &setup.dumps.path().join("codex.log"));
    let thread = codex.start_thread(&setup.project);
    let servers = codex.server_status(&thread);
    let server = &servers["evc"];
    assert_eq!(server["runtimeStatus"], "failed", "{server}");
    let error = server["toolsError"].as_str().unwrap_or_default();
    assert!(
        error.contains("evc: EV_TOKEN is not stored; fix: crux mcp auth evc"),
        "the launcher's fix reaches Codex: {error}"
    );
}
