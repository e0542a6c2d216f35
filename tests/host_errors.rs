//! Failures the host shows: a launcher that cannot start its server (`crux launch` through the
//! installed `keychain-auth.sh`, `crux bridge`) answers the host's first JSON-RPC request with
//! the error line stderr gets, then exits 78; and a bridge stopped by a signal ends its legacy
//! session (one DELETE) before it exits. Real parts throughout: the installed launcher started
//! the way an MCP SDK's stdio client starts it, the age and Secret Service backends, the PyPI
//! `mcp` client, and Streamable HTTP servers on the MCP TypeScript SDK.

mod common;

use common::{kit, random_value, setup_kit, BridgeProcess, Env, Server};
use serde_json::{json, Value};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The launcher's wait for the host's first request (src/first_request.rs).
const BOUND: Duration = Duration::from_secs(5);
/// An answer that does not wait for the bound comes well within this.
const PROMPT: Duration = Duration::from_secs(3);

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"host","version":"1"}}}"#;

/// A server that writes `started` to the file named by its first argument (it never should).
fn write_server(dir: &Path) -> PathBuf {
    let path = dir.join("server.sh");
    std::fs::write(&path, "#!/bin/sh\necho started > \"$1\"\nexit 42\n").unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

/// A server `stand-in` registered with `add_args` and installed in a project: its entry.
struct Setup {
    env: Env,
    report: PathBuf,
    project: PathBuf,
    entry: Value,
}

fn setup(env: Env, add_args: &[&str]) -> Setup {
    let server = write_server(env.dir.path());
    setup_program(env, &server, add_args)
}

fn setup_program(env: Env, server: &Path, add_args: &[&str]) -> Setup {
    let report = env.dir.path().join("started.txt");
    let mut args = vec!["--command", server.to_str().unwrap()];
    args.extend_from_slice(add_args);
    args.extend_from_slice(&["--", report.to_str().unwrap()]);
    let (project, entry) = common::install_entry(&env, "stand-in", &args);
    assert!(
        entry["command"]
            .as_str()
            .unwrap()
            .ends_with("/launchers/keychain-auth.sh"),
        "{entry}"
    );
    Setup {
        env,
        report,
        project,
        entry,
    }
}

/// The age backend with `API_KEY` stored.
fn stored() -> Setup {
    stored_as(&random_value("key"))
}

fn stored_as(value: &str) -> Setup {
    let value = format!("API_KEY={value}");
    setup(
        Env::for_backend("age"),
        &["--keychain", "API_KEY", "--value", &value],
    )
}

/// The entry's command as an MCP SDK's stdio client runs it: HOME, PATH and the entry's env.
fn entry_command(s: &Setup, extra: &[(&str, &str)]) -> Command {
    let mut cmd = common::entry_command(&s.entry, &s.env.home());
    cmd.current_dir(&s.project);
    cmd.envs(extra.iter().copied());
    cmd
}

/// What a host saw of one start.
struct Seen {
    stdout: String,
    stderr: String,
    status: ExitStatus,
    /// From the start to the exit.
    elapsed: Duration,
}

impl Seen {
    /// The stderr line, without `error: `, which the host's answer must carry.
    fn error_line(&self) -> String {
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "one error line: {}", self.stderr);
        errors[0].trim_start_matches("error: ").to_string()
    }

    /// The host's request `id` got a JSON-RPC error -32603 carrying the stderr line (which
    /// holds `fix`), and nothing else was written; exit 78, without waiting for the bound.
    #[track_caller]
    fn answered(&self, id: Value, fix: &str) -> Value {
        assert_eq!(self.status.code(), Some(78), "stderr: {}", self.stderr);
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "one answer: {:?}", self.stdout);
        assert!(self.stdout.ends_with('\n'), "newline-delimited");
        let answer: Value = serde_json::from_str(lines[0]).unwrap();
        let line = self.error_line();
        let message = format!("{line}{}", crux::first_request::HINT);
        assert_eq!(
            answer,
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": message}}),
        );
        assert!(line.contains(fix), "{line}");
        assert!(
            self.elapsed < PROMPT,
            "answered and exited in {:?}",
            self.elapsed
        );
        answer
    }
}

/// Waits for `child` to exit (at most `limit`), killing it after.
fn wait_exit(child: &mut Child, start: Instant, limit: Duration) -> (ExitStatus, Duration) {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `cmd` as a host does, writes `input` to its stdin and keeps stdin open (or closes
/// it, with `close`) until it exits.
fn start(mut cmd: Command, input: &[u8], close: bool) -> Seen {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let begun = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A launcher that stops reading may be gone before all of it is written.
    let _ = stdin.write_all(input).and_then(|()| stdin.flush());
    let stdin = (!close).then_some(stdin);
    let (status, elapsed) = wait_exit(&mut child, begun, Duration::from_secs(20));
    drop(stdin);
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Seen {
        stdout,
        stderr,
        status,
        elapsed,
    }
}

fn initialize(s: &Setup) -> Seen {
    start(
        entry_command(s, &[]),
        format!("{INITIALIZE}\n").as_bytes(),
        false,
    )
}

#[test]
fn a_credential_that_is_not_stored_answers_initialize() {
    let s = stored();
    s.env
        .run(&["mcp", "auth", "--delete", "stand-in", "API_KEY"])
        .success();
    let seen = initialize(&s);
    let answer = seen.answered(json!(1), "fix: crux mcp auth stand-in");
    assert_eq!(
        answer["error"]["message"],
        "stand-in: API_KEY is not stored; fix: crux mcp auth stand-in (every check and its fix: crux doctor)"
    );
    assert!(!s.report.exists(), "the server did not start");
    eprintln!("not stored: answered and exited in {:?}", seen.elapsed);
}

#[test]
fn a_failing_external_cli_answers_initialize() {
    let s = setup(
        Env::for_backend("age"),
        &[
            "--external-cli",
            "GH_TOKEN=echo 'not logged in: run gh auth login' >&2; exit 4",
        ],
    );
    let answer = initialize(&s).answered(json!(1), "fix: make `echo");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("stand-in: GH_TOKEN:") && message.contains("not logged in"),
        "{message}"
    );
    assert!(!s.report.exists());
}

#[test]
fn a_command_other_than_the_registered_one_answers_initialize() {
    let value = random_value("guarded");
    let mut s = stored_as(&value);
    s.entry["args"] = json!(["/bin/sh", "-c", "echo stolen=$API_KEY"]);
    let seen = initialize(&s);
    seen.answered(
        json!(1),
        "fix: regenerate the entry: crux project sync (see the registered command: crux mcp show stand-in)",
    );
    assert!(!seen.stdout.contains(&value) && !seen.stderr.contains(&value));
    assert!(seen.stdout.contains("other than the registered one"));
}

#[test]
fn a_server_that_is_not_registered_answers_initialize() {
    let mut s = stored();
    s.entry["env"]["CRUX_MCP_NAME"] = json!("not-registered");
    initialize(&s).answered(json!(1), "then: crux project sync");
}

/// exec fails: the registered program is gone (ENOENT) or not executable (EACCES).
#[test]
fn a_missing_or_unexecutable_binary_answers_initialize() {
    let env = Env::for_backend("age");
    // A program, not a script (a script is registered as its interpreter's argument).
    let program = env.dir.path().join("server-bin");
    std::fs::copy("/bin/true", &program).unwrap();
    let s = setup_program(
        env,
        &program,
        &["--keychain", "API_KEY", "--value", "API_KEY=x"],
    );
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let answer = initialize(&s).answered(json!(1), "fix: install it");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{answer}"
    );
    std::fs::remove_file(&program).unwrap();
    let answer = initialize(&s).answered(json!(1), "fix: install it");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("stand-in: cannot start") && message.contains("No such file"),
        "{message}"
    );
}

/// The age backend's identity is gone: the store cannot be opened.
#[test]
fn an_unreadable_age_store_answers_initialize() {
    let s = stored();
    std::fs::remove_file(s.env.crux_home().join("age-identity.key")).unwrap();
    let answer = initialize(&s).answered(json!(1), "fix: restore");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("age identity"),
        "{answer}"
    );
    assert!(!s.report.exists());
}

#[test]
fn a_locked_keyring_answers_initialize() {
    let s = setup(
        Env::desktop(),
        &["--keychain", "API_KEY", "--value", "API_KEY=x"],
    );
    s.env.keyring().lock();
    let address = s.env.keyring().address.clone();
    let seen = start(
        entry_command(&s, &[("DBUS_SESSION_BUS_ADDRESS", &address)]),
        format!("{INITIALIZE}\n").as_bytes(),
        false,
    );
    seen.answered(json!(1), "fix: unlock the keyring");
    assert!(
        seen.stdout.contains("keystore (GNOME Keyring) is locked"),
        "{}",
        seen.stdout
    );
    assert!(!s.report.exists());
}

/// A 2026-07-28 host's first request is `server/discover`; its id (a string here) comes back.
#[test]
fn a_server_discover_request_is_answered() {
    let s = stored();
    std::fs::remove_file(s.env.crux_home().join("age-identity.key")).unwrap();
    let discover = json!({"jsonrpc": "2.0", "id": "discover-1", "method": "server/discover",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}});
    let seen = start(
        entry_command(&s, &[]),
        format!("{discover}\n").as_bytes(),
        false,
    );
    seen.answered(json!("discover-1"), "fix: restore");
}

/// Notifications and lines that are not JSON-RPC requests are read past, never answered.
#[test]
fn what_comes_before_the_first_request_is_skipped() {
    let s = stored();
    std::fs::remove_file(s.env.crux_home().join("age-identity.key")).unwrap();
    let input = format!(
        "{}\nnot json at all\n\n{}\n{}\n{}\n",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 9, "result": {}}),
        json!({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 8, "method": "tools/list"}),
    );
    start(entry_command(&s, &[]), input.as_bytes(), false).answered(json!(7), "fix: restore");
}

#[test]
fn stdin_closed_at_once_exits_78_without_output() {
    let s = stored();
    std::fs::remove_file(s.env.crux_home().join("age-identity.key")).unwrap();
    let seen = start(entry_command(&s, &[]), b"", true);
    assert_eq!(seen.status.code(), Some(78));
    assert_eq!(seen.stdout, "");
    seen.error_line();
    assert!(seen.elapsed < PROMPT, "{:?}", seen.elapsed);
    eprintln!("closed stdin: exited in {:?}", seen.elapsed);
}

#[test]
fn a_host_that_sends_nothing_gets_an_exit_after_the_bound() {
    let s = stored();
    std::fs::remove_file(s.env.crux_home().join("age-identity.key")).unwrap();
    // Half a message, and then nothing: stdin stays open.
    let seen = start(entry_command(&s, &[]), br#"{"jsonrpc":"2.0","#, false);
    assert_eq!(seen.status.code(), Some(78));
    assert_eq!(seen.stdout, "");
    seen.error_line();
    assert!(
        seen.elapsed >= BOUND - Duration::from_millis(100) && seen.elapsed < BOUND + PROMPT,
        "{:?}",
        seen.elapsed
    );
    eprintln!("silent host: exited after {:?}", seen.elapsed);
}

/// A flood without a request stops the wait at the byte bound (1 MiB), before the time bound.
#[test]
fn a_flood_on_stdin_is_not_read_without_bound() {
    let s = stored();
    std::fs::remove_file(s.env.crux_home().join("age-identity.key")).unwrap();
    let flood = vec![b'x'; 3 << 20];
    let seen = start(entry_command(&s, &[]), &flood, false);
    assert_eq!(seen.status.code(), Some(78));
    assert_eq!(seen.stdout, "");
    assert!(seen.elapsed < PROMPT, "{:?}", seen.elapsed);
}

/// Someone running the launcher by hand: stdin is a terminal, and nobody is waited for.
#[test]
fn on_a_terminal_the_launcher_does_not_wait() {
    common::require_tool("script", "bsdutils");
    let s = stored();
    std::fs::remove_file(s.env.crux_home().join("age-identity.key")).unwrap();
    let cmd = entry_command(&s, &[]);
    let mut words = vec!["env".to_string(), "-i".to_string()];
    for (k, v) in cmd.get_envs() {
        words.push(format!(
            "{}={}",
            k.to_str().unwrap(),
            v.unwrap().to_str().unwrap()
        ));
    }
    words.push(cmd.get_program().to_str().unwrap().to_string());
    words.extend(cmd.get_args().map(|a| a.to_str().unwrap().to_string()));
    let line = words
        .iter()
        .map(|w| shlex::try_quote(w).unwrap().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script
        .args(["-qefc", &line, "/dev/null"])
        .env("TERM", "dumb")
        .current_dir(&s.project);
    let seen = start(script, b"", false);
    assert_eq!(seen.status.code(), Some(78), "{}", seen.stdout);
    assert!(
        seen.stdout.contains("error: ") && seen.stdout.contains("age identity"),
        "{}",
        seen.stdout
    );
    assert!(!seen.stdout.contains("jsonrpc"), "{}", seen.stdout);
    assert!(seen.elapsed < PROMPT, "{:?}", seen.elapsed);
}

/// The PyPI `mcp` 2.3.0 stdio client, with the launcher's stderr sent elsewhere (as hosts
/// do): what its `initialize` raises.
const PY_HOST: &str = r#"
import json, sys, anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

entry = json.load(open(sys.argv[1]))["mcpServers"][sys.argv[2]]
params = StdioServerParameters(command=entry["command"], args=entry.get("args", []), env=entry.get("env", {}))

def first(e):
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    return e

async def main():
    with open(sys.argv[3], "w") as errlog:
        try:
            async with stdio_client(params, errlog=errlog) as (r, w):
                async with ClientSession(r, w) as s:
                    await s.initialize()
            print(json.dumps({"ok": True}))
        except BaseException as e:
            e = first(e)
            if isinstance(e, MCPError):
                print(json.dumps({"code": e.code, "message": e.message}))
            else:
                print(json.dumps({"other": repr(e)}))

anyio.run(main)
"#;

#[test]
fn a_real_mcp_client_receives_the_error_line() {
    setup_kit();
    let s = stored();
    s.env
        .run(&["mcp", "auth", "--delete", "stand-in", "API_KEY"])
        .success();
    let script = s.env.dir.path().join("host.py");
    std::fs::write(&script, PY_HOST).unwrap();
    let errlog = s.env.dir.path().join("server-stderr.txt");
    let begun = Instant::now();
    let out = Command::new(kit().join(".venv/bin/python"))
        .arg(&script)
        .arg(s.project.join(".mcp.json"))
        .arg("stand-in")
        .arg(&errlog)
        .env_clear()
        .env("HOME", s.env.home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(&s.project)
        .output()
        .unwrap();
    let elapsed = begun.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let got: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        got,
        json!({"code": -32603, "message": "stand-in: API_KEY is not stored; fix: crux mcp auth stand-in (every check and its fix: crux doctor)"})
    );
    // The host hid stderr (it went to a file), and the line was there too.
    assert!(std::fs::read_to_string(&errlog)
        .unwrap()
        .contains("error: stand-in: API_KEY is not stored"));
    eprintln!("python mcp client: initialize failed with the line in {elapsed:?}");
}

// The bridge.

fn crux(env: &Env, args: &[&str]) {
    env.run(args).success();
}

/// Reads one line of the bridge's stdout.
fn read_answer(bridge: &mut BridgeProcess) -> Value {
    let mut line = String::new();
    assert!(bridge.stdout.read_line(&mut line).unwrap() > 0, "no answer");
    serde_json::from_str(&line).unwrap()
}

/// An OAuth server that was never signed in to: both eras' first requests get the error.
#[test]
fn a_bridge_that_is_not_signed_in_answers_the_first_request() {
    setup_kit();
    let server = Server::start("sdk-server.mjs", &[]);
    let env = Env::for_backend("age");
    let url = server.mcp();
    crux(&env, &["mcp", "add", "remote", "--url", &url, "--oauth"]);
    let discover = json!({"jsonrpc": "2.0", "id": "d", "method": "server/discover",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}});
    for (request, id) in [
        (serde_json::from_str::<Value>(INITIALIZE).unwrap(), json!(1)),
        (discover, json!("d")),
    ] {
        let begun = Instant::now();
        let mut bridge = BridgeProcess::start(&env, "remote", &url);
        bridge.send(&json!({"jsonrpc": "2.0", "method": "notifications/whatever"}));
        bridge.send(&request);
        let answer = read_answer(&mut bridge);
        let (status, elapsed) = wait_exit(&mut bridge.child, begun, Duration::from_secs(10));
        assert_eq!(status.code(), Some(78));
        assert_eq!(
            answer,
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603,
                "message": "remote: not signed in; fix: sign in: crux mcp auth remote (every check and its fix: crux doctor)"}})
        );
        let mut rest = String::new();
        bridge.stdout.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "", "one answer only");
        let (_, stderr) = bridge.finish();
        assert!(
            stderr.contains("error: remote: not signed in; fix: sign in: crux mcp auth remote"),
            "{stderr}"
        );
        assert!(elapsed < PROMPT, "{elapsed:?}");
    }
    assert_eq!(server.stat("mcp_requests_ok"), 0, "{}", server.stats());
    assert_eq!(server.stat("token_requests"), 0, "{}", server.stats());
}

/// A test server behind a fresh bearer token, registered as `remote`.
fn bearer_server(script: &str) -> (Server, Env, String) {
    setup_kit();
    let token = random_value("bearer");
    let server = Server::start_with_env(script, &[], &[("CRUX_TEST_BEARER_TOKEN", &token)]);
    let env = common::bearer_home(&server.mcp(), "REMOTE_TOKEN", &token);
    (server, env, token)
}

/// A legacy-era session is DELETEd when the host stops the bridge with a signal, as when it
/// closes stdin: exactly once, for that session, and the bridge exits promptly.
#[test]
fn a_signal_ends_the_legacy_session_then_the_bridge() {
    let (server, env, token) = bearer_server("bearer-server.mjs");
    for (sig, name) in [
        (libc::SIGINT, "SIGINT"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
    ] {
        let mut bridge = BridgeProcess::start(&env, "remote", &server.mcp());
        let init = bridge.initialize();
        assert!(init["result"]["serverInfo"].is_object(), "{init}");
        let call = bridge.request("tools/call", json!({"name": "whoami", "arguments": {}}));
        assert_eq!(call["result"]["content"][0]["text"], "ok", "{call}");
        assert_eq!(server.stat("sessions"), 1, "{}", server.stats());
        let deletes = server.stat("deletes");
        let not_found = server.stat("session_not_found");
        let begun = Instant::now();
        // SAFETY: kill sends a signal to our own child.
        assert_eq!(unsafe { libc::kill(bridge.child.id() as i32, sig) }, 0);
        // stdin stays open: only the signal stops it.
        let (status, elapsed) = wait_exit(&mut bridge.child, begun, Duration::from_secs(10));
        assert_eq!(status.code(), Some(128 + sig), "{name}: {status:?}");
        assert_eq!(server.stat("deletes"), deletes + 1, "{name}: one DELETE");
        assert_eq!(
            server.stat("sessions"),
            0,
            "{name}: the DELETE ended that session: {}",
            server.stats()
        );
        assert_eq!(server.stat("session_not_found"), not_found);
        assert!(elapsed < PROMPT, "{name}: exited in {elapsed:?}");
        eprintln!("{name}: session deleted and bridge exited in {elapsed:?}");
        let (_, stderr) = bridge.finish();
        assert!(!stderr.contains(&token));
    }
}

/// A modern-era (2026-07-28) server has no session to end: the bridge just exits.
#[test]
fn a_signal_stops_a_modern_bridge_without_a_delete() {
    let (server, env, _) = bearer_server("../eras/modern-server.mjs");
    let mut bridge = BridgeProcess::start(&env, "remote", &server.mcp());
    let init = bridge.initialize();
    assert!(init["result"].is_object(), "{init}");
    let begun = Instant::now();
    // SAFETY: kill sends a signal to our own child.
    assert_eq!(
        unsafe { libc::kill(bridge.child.id() as i32, libc::SIGINT) },
        0
    );
    let (status, elapsed) = wait_exit(&mut bridge.child, begun, Duration::from_secs(10));
    assert_eq!(status.code(), Some(128 + libc::SIGINT));
    assert!(elapsed < PROMPT, "{elapsed:?}");
    let stats = server.stats();
    assert!(
        stats["http_methods"]["POST"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    assert!(stats["http_methods"].get("DELETE").is_none(), "{stats}");
}
