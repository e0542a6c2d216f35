//! Remote servers through `crux bridge`, with real parts: Streamable HTTP servers built on the
//! MCP TypeScript SDK 1.32.2 (tests/e2e/oauth: a stateful one behind a bearer token, and one
//! behind the SDK's own OAuth router), driven by the real MCP Inspector CLI and the PyPI `mcp`
//! client through the `.mcp.json` crux generates, and by a raw stdio driver for the protocol
//! details (session re-initialization, DELETE on exit, errors that keep the bridge serving).

mod common;

use common::{kit, random_value, setup_kit, BridgeProcess, Env, Run, Server};
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;

const BROWSER: &str = "curl -fsS -o /dev/null -L --max-time 20";

fn crux(env: &Env, args: &[&str]) -> Run {
    let mut cmd = env.cmd(args);
    cmd.env("CRUX_BROWSER", BROWSER);
    env.run_cmd(cmd, None)
}

/// Installs `remote` in a project; returns the project directory.
fn install(env: &Env) -> PathBuf {
    let dir = env.home().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = env.cmd(&["project", "install", "remote"]);
    cmd.current_dir(&dir);
    env.run_cmd(cmd, None).success();
    let mcp: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".mcp.json")).unwrap()).unwrap();
    let entry = &mcp["mcpServers"]["remote"];
    assert!(
        entry["command"]
            .as_str()
            .unwrap()
            .ends_with("launchers/http-bridge-auth.sh"),
        "{entry}"
    );
    dir
}

fn inspector(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(kit().join("node_modules/.bin/mcp-inspector"));
    cmd.args(["--cli", "--config"])
        .arg(dir.join(".mcp.json"))
        .args(["--server", "remote"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.parent().unwrap());
    Run(common::run_with_stdin(cmd, None))
}

fn python_client(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(kit().join(".venv/bin/python"));
    cmd.arg(kit().join("py_client.py"))
        .arg(dir.join(".mcp.json"))
        .arg("remote")
        .args(args)
        .env_clear()
        .env("HOME", dir.parent().unwrap())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    Run(common::run_with_stdin(cmd, None))
}

/// `crux headers remote` as Claude Code runs a headers helper: with the URL it sends them to.
fn headers(env: &Env, url: &str) -> Run {
    let mut cmd = env.cmd(&["headers", "remote"]);
    cmd.env("CLAUDE_CODE_MCP_SERVER_URL", url);
    env.run_cmd(cmd, None)
}

fn assert_not_in_files_or_output(env: &Env, value: &str) {
    let printed = env.printed.borrow();
    assert!(
        !printed.windows(value.len()).any(|w| w == value.as_bytes()),
        "a credential was printed"
    );
    for (path, bytes) in env.all_files() {
        assert!(
            !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
            "a credential is in {}",
            path.display()
        );
    }
}

fn bearer_setup(token: &str, flags: &[&str]) -> (Server, Env) {
    setup_kit();
    let server = Server::start_with_env(
        "bearer-server.mjs",
        flags,
        &[("CRUX_TEST_BEARER_TOKEN", token)],
    );
    let env = Env::for_backend("age");
    let out = env.run_stdin(
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
        token,
    );
    out.success();
    (server, env)
}

#[test]
fn real_clients_reach_a_bearer_server_through_the_bridge() {
    let token = random_value("bearer");
    let (server, env) = bearer_setup(&token, &[]);
    let dir = install(&env);
    let list = inspector(&dir, &["--method", "tools/list"]);
    list.success().stdout_has("whoami");
    inspector(&dir, &["--method", "tools/call", "--tool-name", "whoami"])
        .success()
        .stdout_has("ok");
    python_client(&dir, &["echo", r#"{"message":"through the bridge"}"#])
        .success()
        .stdout_has("through the bridge");
    assert!(server.stat("sessions_created") >= 3, "{}", server.stats());
    assert_eq!(server.stat("unauthorized"), 0);
    // Each client's session was ended with a DELETE when it closed the bridge.
    assert!(server.stat("deletes") >= 3, "{}", server.stats());
    crux(&env, &["mcp", "probe", "remote"])
        .success()
        .stdout_has("tools");
    assert_not_in_files_or_output(&env, &token);
}

#[test]
fn real_clients_reach_an_oauth_server_and_a_token_expiring_mid_session_is_refreshed() {
    setup_kit();
    // Tokens live 10 s: crux refreshes one within half its lifetime of expiry (a 60 s margin
    // for longer ones), so after 6 s the same session's next request goes out with a
    // refreshed token.
    let server = Server::start("sdk-server.mjs", &["--expires-in", "10"]);
    let env = Env::for_backend("age");
    crux(
        &env,
        &["mcp", "add", "remote", "--url", &server.mcp(), "--oauth"],
    )
    .success();
    crux(&env, &["mcp", "auth", "remote"]).success();
    let dir = install(&env);
    inspector(&dir, &["--method", "tools/list"])
        .success()
        .stdout_has("whoami");
    let before = server.stat("refresh_requests");
    python_client(&dir, &["--steps", "list;sleep 6;call whoami {}"])
        .success()
        .stdout_has("ok");
    assert!(
        server.stat("refresh_requests") > before,
        "{}",
        server.stats()
    );
    assert_eq!(server.stat("rejected_refresh"), 0);
}

#[test]
fn a_forgotten_session_is_initialized_again_and_deleted_on_exit() {
    let token = random_value("bearer");
    let (server, env) = bearer_setup(&token, &[]);
    let mut bridge = BridgeProcess::start(&env, "remote", &server.mcp());
    let init = bridge.initialize();
    assert!(init["result"]["serverInfo"]["name"].is_string(), "{init}");
    let call = bridge.request("tools/call", json!({"name": "whoami", "arguments": {}}));
    assert_eq!(call["result"]["content"][0]["text"], "ok", "{call}");
    // The server restarts (forgets every session): the next request gets 404, and the bridge
    // initializes a new session and retries, unnoticed by the host.
    let streams = server.stat("get_streams");
    server.admin("/admin/drop-sessions");
    let call = bridge.request("tools/call", json!({"name": "whoami", "arguments": {}}));
    assert_eq!(call["result"]["content"][0]["text"], "ok", "{call}");
    assert_eq!(server.stat("initialize"), 2, "{}", server.stats());
    assert!(server.stat("session_not_found") >= 1);
    // The GET stream of server-initiated messages is opened again for the new session.
    common::wait_for(
        || server.stat("get_streams") > streams,
        "a GET stream on the new session",
    );
    let deletes = server.stat("deletes");
    let (status, _) = bridge.finish();
    assert!(status.success());
    assert_eq!(server.stat("deletes"), deletes + 1, "DELETE on exit");
}

#[test]
fn a_wrong_token_gets_an_error_naming_the_fix_and_the_bridge_keeps_serving() {
    let right = random_value("right");
    let wrong = random_value("wrong");
    let (server, env) = bearer_setup(&right, &[]);
    env.run_stdin(
        &["mcp", "auth", "remote", "REMOTE_TOKEN", "--stdin"],
        &wrong,
    )
    .success();
    let mut bridge = BridgeProcess::start(&env, "remote", &server.mcp());
    // The token is not in the bridge's argv.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", bridge.child.id())).unwrap();
    assert!(!cmdline.windows(wrong.len()).any(|w| w == wrong.as_bytes()));
    let init = bridge.initialize();
    let message = init["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("crux mcp auth remote"), "{init}");
    assert!(!message.contains(&wrong));
    // Still serving: the next request gets its own answer; after the fix, it works.
    let again = bridge.request("ping", json!({}));
    assert!(again["error"]["message"]
        .as_str()
        .unwrap()
        .contains("crux mcp auth remote"));
    env.run_stdin(
        &["mcp", "auth", "remote", "REMOTE_TOKEN", "--stdin"],
        &right,
    )
    .success();
    let init = bridge.initialize();
    assert!(init["result"]["serverInfo"].is_object(), "{init}");
    let (status, stderr) = bridge.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("crux mcp auth remote"));
    assert!(!stderr.contains(&wrong) && !stderr.contains(&right));
    // Through a real client: a JSON-RPC error that names the fix.
    env.run_stdin(
        &["mcp", "auth", "remote", "REMOTE_TOKEN", "--stdin"],
        &wrong,
    )
    .success();
    let dir = install(&env);
    let run = python_client(&dir, &["whoami"]);
    assert!(!run.0.status.success());
    run.stderr_has("crux mcp auth remote");
    assert_not_in_files_or_output(&env, &wrong);
    assert_not_in_files_or_output(&env, &right);
}

#[test]
fn json_responses_and_concurrent_requests() {
    let token = random_value("bearer");
    let (server, env) = bearer_setup(&token, &["--json-response"]);
    let mut bridge = BridgeProcess::start(&env, "remote", &server.mcp());
    bridge.initialize();
    // A slow call and a quick one in flight together: the quick one is not held up.
    bridge.send(&json!({"jsonrpc": "2.0", "id": 100, "method": "tools/call", "params": {"name": "slow", "arguments": {"ms": 1500}}}));
    let started = std::time::Instant::now();
    let quick = bridge.request(
        "tools/call",
        json!({"name": "echo", "arguments": {"message": "fast"}}),
    );
    assert_eq!(quick["result"]["content"][0]["text"], "fast");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1200),
        "the quick call waited"
    );
    let mut line = String::new();
    loop {
        line.clear();
        bridge.stdout.read_line(&mut line).unwrap();
        let msg: Value = serde_json::from_str(&line).unwrap();
        if msg["id"] == 100 {
            assert_eq!(msg["result"]["content"][0]["text"], "done", "{msg}");
            break;
        }
    }
    let (status, _) = bridge.finish();
    assert!(status.success());
}

#[test]
fn headers_helper_entries_hold_no_value() {
    let token = random_value("bearer");
    let (server, env) = bearer_setup(&token, &[]);
    let dir = install(&env);
    let mut cmd = env.cmd(&["project", "sync", "--headers-helper"]);
    cmd.current_dir(&dir);
    env.run_cmd(cmd, None).success();
    let mcp: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".mcp.json")).unwrap()).unwrap();
    let entry = &mcp["mcpServers"]["remote"];
    assert_eq!(entry["type"], "http");
    let helper = entry["headersHelper"].as_str().unwrap();
    assert!(helper.ends_with(" headers remote"), "{helper}");
    // What the host runs, telling the helper where the headers go: its output carries the
    // header.
    let out = Command::new("sh")
        .arg("-c")
        .arg(helper)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("HOME", env.home())
        .env("CLAUDE_CODE_MCP_SERVER_NAME", "remote")
        .env("CLAUDE_CODE_MCP_SERVER_URL", server.mcp())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let headers: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(headers["Authorization"], format!("Bearer {token}").as_str());
    // Back to the bridge, and the setting sticks for sync --all.
    let mut cmd = env.cmd(&["project", "sync", "--no-headers-helper"]);
    cmd.current_dir(&dir);
    env.run_cmd(cmd, None).success();
    env.run(&["project", "sync", "--all"]).success();
    let mcp: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".mcp.json")).unwrap()).unwrap();
    assert!(mcp["mcpServers"]["remote"]["command"].is_string());
    // The helper printed the token to the host on purpose; no file holds it.
    for (path, bytes) in env.all_files() {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "a credential is in {}",
            path.display()
        );
    }
}

/// An SSE answer carrying notifications before the result: every message reaches the host,
/// in order, and the bridge holds the GET stream for server-initiated messages.
#[test]
fn sse_streams_forward_every_message_and_the_get_stream_is_held() {
    let token = random_value("bearer");
    let (server, env) = bearer_setup(&token, &[]);
    let mut bridge = BridgeProcess::start(&env, "remote", &server.mcp());
    bridge.initialize();
    bridge.send(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "slow", "arguments": {"ms": 200}, "_meta": {"progressToken": "p1"}}}));
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        assert!(bridge.stdout.read_line(&mut line).unwrap() > 0);
        let msg: Value = serde_json::from_str(&line).unwrap();
        let done = msg["id"] == 7;
        seen.push(msg);
        if done {
            break;
        }
    }
    let methods: Vec<&str> = seen.iter().filter_map(|m| m["method"].as_str()).collect();
    assert!(methods.contains(&"notifications/message"), "{seen:?}");
    assert!(methods.contains(&"notifications/progress"), "{seen:?}");
    assert_eq!(seen.last().unwrap()["result"]["content"][0]["text"], "done");
    assert!(server.stat("get_streams") >= 1, "{}", server.stats());
    let (status, _) = bridge.finish();
    assert!(status.success());
}

/// A token with a line break (or anything an HTTP header cannot carry) is refused when it
/// is stored, without being echoed: an HTTP library's "bad header" error would quote it.
#[test]
fn a_token_with_a_line_break_is_refused_without_being_shown() {
    let env = Env::for_backend("age");
    let secret = random_value("split");
    let bad = format!("{secret}\r\nX-Injected: 1");
    let url = "http://127.0.0.1:9/mcp";
    env.run(&[
        "mcp",
        "add",
        "remote",
        "--url",
        url,
        "--bearer",
        "REMOTE_TOKEN",
        "--value",
        &format!("REMOTE_TOKEN={bad}"),
    ])
    .fails(2)
    .stderr_has("an HTTP header cannot carry");
    env.run(&[
        "mcp",
        "add",
        "remote",
        "--url",
        url,
        "--bearer",
        "REMOTE_TOKEN",
        "--value",
        "REMOTE_TOKEN=good-token",
    ])
    .success();
    env.run_stdin(&["mcp", "auth", "remote", "REMOTE_TOKEN", "--stdin"], &bad)
        .fails(2)
        .stderr_has("crux mcp auth remote REMOTE_TOKEN --stdin");
    headers(&env, url).success().stdout_has("Bearer good-token");
    assert_not_in_files_or_output(&env, &secret);
}

/// Re-registering a bearer server at another URL does not carry its token over.
#[test]
fn a_bearer_token_does_not_follow_a_new_url() {
    let env = Env::for_backend("age");
    let token = random_value("old");
    env.run_stdin(
        &[
            "mcp",
            "add",
            "remote",
            "--url",
            "http://127.0.0.1:9/mcp",
            "--bearer",
            "REMOTE_TOKEN",
            "--stdin",
        ],
        &token,
    )
    .success();
    env.run(&[
        "mcp",
        "add",
        "remote",
        "--url",
        "http://127.0.0.1:10/mcp",
        "--bearer",
        "REMOTE_TOKEN",
        "--force",
    ])
    .success()
    .stdout_has("deleted REMOTE_TOKEN");
    headers(&env, "http://127.0.0.1:10/mcp")
        .fails(1)
        .stderr_has("REMOTE_TOKEN is not stored");
    assert_not_in_files_or_output(&env, &token);
}

/// Several requests meet the same lost session at once: one new session serves them all.
#[test]
fn concurrent_requests_on_a_lost_session_share_one_new_session() {
    let token = random_value("bearer");
    let (server, env) = bearer_setup(&token, &[]);
    let mut bridge = BridgeProcess::start(&env, "remote", &server.mcp());
    bridge.initialize();
    server.admin("/admin/drop-sessions");
    for id in 100..104 {
        bridge.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": format!("m{id}")}}}));
    }
    let mut answered = 0;
    while answered < 4 {
        let mut line = String::new();
        assert!(bridge.stdout.read_line(&mut line).unwrap() > 0);
        let msg: Value = serde_json::from_str(&line).unwrap();
        if let Some(id) = msg["id"].as_u64() {
            assert_eq!(
                msg["result"]["content"][0]["text"],
                format!("m{id}").as_str(),
                "{msg}"
            );
            answered += 1;
        }
    }
    assert_eq!(server.stat("initialize"), 2, "{}", server.stats());
    let (status, _) = bridge.finish();
    assert!(status.success());
}

/// Turns the registered remote server `remote` into one whose URL is `url` and whose extra
/// headers are `headers`, with `keychain` its keychain variables: what `crux import` writes
/// for a host config that had credentials in its URL and headers (`crux mcp add` registers
/// no such server by hand).
fn register_placeholders(env: &Env, url: &str, headers: Value, keychain: &[&str]) {
    let path = env.crux_home().join("registry.json");
    let mut registry: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let server = &mut registry["servers"]["remote"];
    server["source"]["url"] = json!(url);
    server["auth"] = json!({"keychain": keychain, "headers": headers});
    std::fs::write(&path, serde_json::to_vec_pretty(&registry).unwrap()).unwrap();
}

/// A remote server that checks a query parameter, URL userinfo (as Basic auth) and two
/// headers on every request, and the age-backed home that registered it with placeholders.
struct Placeholders {
    server: Server,
    env: Env,
    url: String,
    values: Vec<String>,
}

fn placeholders_setup() -> Placeholders {
    setup_kit();
    let api_key = random_value("query");
    let password = random_value("userinfo");
    let x_api_key = random_value("header");
    let team = random_value("team");
    let expect = json!({
        "query": {"api_key": api_key},
        "basic": format!("crux:{password}"),
        "headers": {"X-Api-Key": x_api_key, "X-Team": format!("t-{team}")},
    });
    let server = Server::start_with_env(
        "bearer-server.mjs",
        &[],
        &[("CRUX_TEST_EXPECT", &expect.to_string())],
    );
    let env = Env::for_backend("age");
    crux(&env, &["mcp", "add", "remote", "--url", &server.mcp()]).success();
    let url = server
        .mcp()
        .replacen("http://", "http://{crux:URL_USERINFO}@", 1)
        + "?api_key={crux:API_KEY}";
    register_placeholders(
        &env,
        &url,
        json!({"X-Api-Key": "{crux:X_API_KEY}", "X-Team": "t-{crux:TEAM_TOKEN}"}),
        &["URL_USERINFO", "API_KEY", "X_API_KEY", "TEAM_TOKEN"],
    );
    let userinfo = format!("crux:{password}");
    for (var, value) in [
        ("URL_USERINFO", &userinfo),
        ("API_KEY", &api_key),
        ("X_API_KEY", &x_api_key),
        ("TEAM_TOKEN", &team),
    ] {
        env.run_stdin(&["mcp", "auth", "remote", var, "--stdin"], value)
            .success();
    }
    Placeholders {
        server,
        env,
        url,
        values: vec![api_key, password, x_api_key, team],
    }
}

#[test]
fn a_remote_server_gets_the_credentials_of_its_url_and_headers() {
    let Placeholders {
        server,
        env,
        url,
        values,
    } = placeholders_setup();
    let show = crux(&env, &["mcp", "show", "remote"]);
    show.success()
        .stdout_has("in the URL")
        .stdout_has("in a header")
        .stdout_has("sent as:  X-Team: t-<TEAM_TOKEN>");
    let dir = install(&env);
    let mut cmd = env.cmd(&["project", "status"]);
    cmd.current_dir(&dir);
    let status = env.run_cmd(cmd, None);
    assert!(
        !status.stdout().contains("not stored"),
        "{}",
        status.stdout()
    );
    let mcp: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".mcp.json")).unwrap()).unwrap();
    assert_eq!(
        mcp["mcpServers"]["remote"]["env"]["CRUX_BRIDGE_URL"],
        url.as_str()
    );
    // A real client through the generated entry.
    let call = inspector(&dir, &["--method", "tools/call", "--tool-name", "whoami"]);
    call.success().stdout_has("ok");
    python_client(&dir, &["echo", r#"{"message":"filled in"}"#])
        .success()
        .stdout_has("filled in");
    let stats = server.stats();
    assert_eq!(stats["expected_missing"], 0, "{stats}");
    assert_eq!(stats["unauthorized"], 0, "{stats}");
    assert!(stats["tool_calls"].as_u64().unwrap() >= 2, "{stats}");
    assert!(
        stats["expected_ok"].as_u64().unwrap() >= stats["requests"].as_u64().unwrap(),
        "every request carried them: {stats}"
    );
    crux(&env, &["mcp", "probe", "remote"])
        .success()
        .stdout_has("tools     3");
    assert_eq!(
        server.stat("expected_missing"),
        0,
        "the probe carried them too"
    );
    // The raw bridge: its stderr and answers name no value.
    let mut bridge = BridgeProcess::start(&env, "remote", &url);
    let init = bridge.initialize();
    assert!(init["result"]["serverInfo"].is_object(), "{init}");
    let (status, stderr) = bridge.finish();
    assert!(status.success(), "{stderr}");
    for value in &values {
        for output in [call.stdout(), call.stderr(), stderr.clone()] {
            assert!(!output.contains(value.as_str()), "{output}");
        }
        assert_not_in_files_or_output(&env, value);
    }
    // A host that filled the URL's placeholders in from its own environment gets nothing,
    // and the error does not repeat what it put there.
    let host_value = random_value("hostenv");
    let expanded = url.replace("{crux:API_KEY}", &host_value);
    let mut bridge = BridgeProcess::start(&env, "remote", &expanded);
    let init = bridge.initialize();
    let message = init["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("changed its {crux:VAR} placeholders"),
        "{init}"
    );
    let (status, stderr) = bridge.finish();
    assert_eq!(status.code(), Some(78), "{stderr}");
    assert!(!message.contains(&host_value) && !stderr.contains(&host_value));
    // The headers helper cannot fill in a URL: it says so, and prints nothing.
    let run = headers(&env, &url);
    run.fails(1);
    assert!(run.stdout().is_empty());
}

#[test]
fn a_rejected_url_credential_is_read_again_once_and_never_shown() {
    let Placeholders {
        server,
        env,
        url,
        values,
    } = placeholders_setup();
    let wrong = random_value("wrong");
    env.run_stdin(&["mcp", "auth", "remote", "API_KEY", "--stdin"], &wrong)
        .success();
    let mut bridge = BridgeProcess::start(&env, "remote", &url);
    let init = bridge.initialize();
    let message = init["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("rejected") && message.contains("crux mcp auth remote"),
        "{init}"
    );
    assert!(!message.contains(&wrong), "{message}");
    // The user stores the right value while the bridge runs: the next 401 reads it again.
    env.run_stdin(&["mcp", "auth", "remote", "API_KEY", "--stdin"], &values[0])
        .success();
    let init = bridge.initialize();
    assert!(init["result"]["serverInfo"].is_object(), "{init}");
    let call = bridge.request("tools/call", json!({"name": "whoami", "arguments": {}}));
    assert_eq!(call["result"]["content"][0]["text"], "ok", "{call}");
    let (status, stderr) = bridge.finish();
    assert!(status.success(), "{stderr}");
    assert!(server.stat("expected_missing") >= 1);
    for value in values.iter().chain([&wrong]) {
        assert!(!stderr.contains(value.as_str()), "{stderr}");
        assert_not_in_files_or_output(&env, value);
    }
    // A server that cannot be reached: the error names the placeholder URL, not the filled one.
    let dead = url.replace(&server.mcp().replace("http://", ""), "127.0.0.1:9/mcp");
    drop(server);
    register_placeholders(
        &env,
        &dead,
        json!({"X-Api-Key": "{crux:X_API_KEY}", "X-Team": "t-{crux:TEAM_TOKEN}"}),
        &["URL_USERINFO", "API_KEY", "X_API_KEY", "TEAM_TOKEN"],
    );
    crux(&env, &["mcp", "bind", "remote", "--yes"]).success();
    let mut bridge = BridgeProcess::start(&env, "remote", &dead);
    let init = bridge.initialize();
    let message = init["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("cannot reach"), "{init}");
    assert!(
        message.contains("http://{crux:URL_USERINFO}@127.0.0.1:9/mcp"),
        "{message}"
    );
    let (_, stderr) = bridge.finish();
    for value in &values {
        assert!(!message.contains(value.as_str()), "{message}");
        assert!(!stderr.contains(value.as_str()), "{stderr}");
    }
}

#[test]
fn a_headers_helper_prints_the_extra_headers_filled_in() {
    let env = Env::for_backend("age");
    let url = "https://mcp.example.com/mcp";
    crux(&env, &["mcp", "add", "remote", "--url", url]).success();
    register_placeholders(
        &env,
        url,
        json!({"X-Api-Key": "{crux:X_API_KEY}", "X-Client": "crux"}),
        &["X_API_KEY"],
    );
    let key = random_value("header");
    env.run_stdin(&["mcp", "auth", "remote", "X_API_KEY", "--stdin"], &key)
        .success();
    let dir = env.home().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = env.cmd(&["project", "install", "remote"]);
    cmd.current_dir(&dir);
    env.run_cmd(cmd, None).success();
    let mut cmd = env.cmd(&["project", "sync", "--headers-helper"]);
    cmd.current_dir(&dir);
    env.run_cmd(cmd, None).success();
    let mcp: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".mcp.json")).unwrap()).unwrap();
    let entry = &mcp["mcpServers"]["remote"];
    assert_eq!(entry["type"], "http", "{entry}");
    let out = headers(&env, url);
    out.success();
    let printed: Value = serde_json::from_str(&out.stdout()).unwrap();
    assert_eq!(printed, json!({"X-Api-Key": key, "X-Client": "crux"}));
    for (path, bytes) in env.all_files() {
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "a credential is in {}",
            path.display()
        );
    }
}
