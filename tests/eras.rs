//! MCP's two wire eras through `crux bridge`, with real parts on both ends: a modern-only server
//! (2026-07-28, TypeScript SDK 2.x, rejects `initialize`) and a legacy server (2025-11-25, SDK
//! 1.32.2, sessions + GET stream) from tests/e2e/eras, each behind a bearer token (and again
//! behind oidc-provider, signed in with `crux mcp auth` through a scripted browser); reached by a
//! modern host (PyPI `mcp` 2.3.0 via the `.mcp.json` crux writes: discover first, initialize as
//! the fallback; tests/e2e/eras/host.py) and by a legacy host (raw 2025-11-25 JSON-RPC on the
//! bridge's stdio, tests/common/stdio_host.rs). Four pairs, each: tools/list and tools/call work,
//! a tools list change reaches the host, and a cancelled call ends at the server (its stats count
//! the cancellation) while the session keeps serving.
//!
//! The pairs with the modern server need the dual-era bridge; until then they fail with the
//! server's 400 (`-32020` header mismatch / `-32022` unsupported protocol version).

mod common;
#[path = "common/stdio_host.rs"]
mod stdio_host;

use common::{kit, random_value, setup_kit, Env, Server};
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use stdio_host::{text, StdioHost};

/// The era test server `era` ("legacy" | "modern") accepting `Bearer <token>`.
fn era_server(era: &str, token: &str) -> Server {
    Server::start_with_env(
        &format!("../eras/{era}-server.mjs"),
        &[],
        &[("CRUX_TEST_BEARER_TOKEN", token)],
    )
}

/// A registered server `remote` in a fresh age-backed home.
struct Setup {
    server: Server,
    env: Env,
    /// The bearer token (never printed), or None with OAuth.
    token: Option<String>,
    /// The 401s the server answered before the test's traffic (OAuth discovery at sign-in).
    unauthorized: u64,
    /// The authorization server, with OAuth (kept alive for the test).
    _provider: Option<Server>,
}

/// A server of `era` with a fresh random bearer token.
fn bearer_setup(era: &str) -> Setup {
    setup_kit();
    let token = random_value("era");
    let server = era_server(era, &token);
    let env = Env::for_backend("age");
    env.run_stdin(
        &[
            "mcp",
            "add",
            "remote",
            "--url",
            &server.mcp(),
            "--bearer",
            "API_TOKEN",
            "--stdin",
        ],
        &token,
    )
    .success();
    Setup {
        server,
        env,
        token: Some(token),
        unauthorized: 0,
        _provider: None,
    }
}

/// A server of `era` behind oidc-provider (tests/e2e/oidc), signed in with `crux mcp auth`
/// through the scripted browser.
fn oauth_setup(era: &str) -> Setup {
    setup_kit();
    let op = Server::start("../oidc/provider.mjs", &[]);
    let server = Server::start(
        &format!("../eras/{era}-server.mjs"),
        &["--auth", "oauth", "--issuer", &op.url("issuer")],
    );
    let env = Env::for_backend("age");
    env.run(&["mcp", "add", "remote", "--url", &server.mcp(), "--oauth"])
        .success();
    let mut auth = env.cmd(&["mcp", "auth", "remote"]);
    auth.env(
        "CRUX_BROWSER",
        format!("node {}", kit().join("oidc/browser.mjs").display()),
    )
    .env("CRUX_OAUTH_TIMEOUT", "30");
    env.run_cmd(auth, None)
        .success()
        .stdout_has("✓ Authenticated 'remote'");
    let unauthorized = server.stat("unauthorized");
    Setup {
        server,
        env,
        token: None,
        unauthorized,
        _provider: Some(op),
    }
}

/// Installs `remote` in a project; its directory (with the `.mcp.json` crux generated).
fn install(env: &Env) -> PathBuf {
    let dir = env.home().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = env.cmd(&["project", "install", "remote"]);
    cmd.current_dir(&dir);
    env.run_cmd(cmd, None).success();
    dir
}

fn counter(stats: &Value, path: &[&str]) -> u64 {
    path.iter().fold(stats, |v, k| &v[*k]).as_u64().unwrap_or(0)
}

/// Waits until the bridge has a stream open on which the server can push a list change: the
/// session's GET stream (legacy) or a `subscriptions/listen` stream (modern).
fn wait_for_push_stream(server: &Server, era: &str) {
    common::wait_for(
        || {
            let s = server.stats();
            match era {
                "legacy" => counter(&s, &["http_methods", "GET"]) >= 1,
                _ => counter(&s, &["listen_streams"]) >= 1,
            }
        },
        "a stream the server can push a list change on",
    );
}

/// What the server must have seen from a bridge speaking its era.
fn assert_era_traffic(setup: &Setup, era: &str) {
    let s = setup.server.stats();
    assert_eq!(counter(&s, &["unauthorized"]), setup.unauthorized, "{s}");
    match era {
        "legacy" => {
            assert_eq!(
                s["session_ids"].as_array().unwrap().len(),
                1,
                "one session: {s}"
            );
            assert!(
                counter(&s, &["headers", "mcp-protocol-version", "2025-11-25"]) >= 2,
                "{s}"
            );
        }
        _ => {
            assert!(
                s["session_ids"].as_array().unwrap().is_empty(),
                "no sessions in 2026-07-28: {s}"
            );
            assert!(
                counter(&s, &["headers", "mcp-protocol-version", "2026-07-28"]) >= 2,
                "{s}"
            );
            assert!(
                counter(&s, &["headers", "mcp-method", "tools/call"]) >= 1,
                "Mcp-Method: {s}"
            );
            assert!(
                counter(&s, &["headers", "mcp-name", "echo"]) >= 1,
                "Mcp-Name: {s}"
            );
            assert!(counter(&s, &["methods", "initialize"]) <= 1, "{s}");
        }
    }
}

/// The cancelled `slow` call ended at the server, and no other `slow` ran to the end.
fn assert_cancelled(server: &Server) {
    common::wait_for(
        || server.stat("cancelled") >= 1,
        "the server to see the cancellation",
    );
    assert_eq!(server.stat("completed_slow"), 0, "{}", server.stats());
}

/// The modern host (PyPI mcp 2.3.0, tests/e2e/eras/host.py) through the launcher and the bridge.
fn modern_host(setup: Setup, era: &str) {
    let (server, env) = (&setup.server, &setup.env);
    let dir = install(env);
    let mut args = vec![];
    if era == "modern" {
        args.push("--confirm");
    }
    let mut child = Command::new(kit().join(".venv/bin/python"))
        .arg(kit().join("eras/host.py"))
        .arg(dir.join(".mcp.json"))
        .arg("remote")
        .args(&args)
        .env_clear()
        .env("HOME", env.home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = vec![];
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if line["op"] == "waiting_list_changed" {
            wait_for_push_stream(server, era);
            server.admin("/admin/add-tool");
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    let all = serde_json::to_string_pretty(&lines).unwrap();
    assert!(
        status.success(),
        "host.py failed: {all}\n{}",
        server.stats()
    );
    let op = |name: &str| -> Vec<&Value> { lines.iter().filter(|l| l["op"] == name).collect() };
    let want = if era == "legacy" {
        "2025-11-25"
    } else {
        "2026-07-28"
    };
    assert_eq!(op("connected")[0]["protocol"], want, "{all}");
    let tools = op("list")[0]["tools"].as_array().unwrap();
    assert!(
        tools.contains(&json!("echo")) && tools.contains(&json!("slow")),
        "{all}"
    );
    assert_eq!(op("call")[0]["text"], "hello", "{all}");
    assert!(
        op("list_changed")[0]["tools"]
            .as_array()
            .unwrap()
            .contains(&json!("extra1")),
        "{all}"
    );
    assert!(
        op("cancelled")[0]["after_ms"].as_u64().unwrap() < 5000,
        "{all}"
    );
    assert_eq!(
        op("call")[1]["text"],
        "after cancel",
        "the session serves after a cancel: {all}"
    );
    if era == "modern" {
        // input_required + elicitation, answered by the host and retried with inputResponses.
        assert_eq!(op("confirm")[0]["text"], "confirmed deploy", "{all}");
        assert!(server.stat("input_required") >= 1);
    }
    assert_cancelled(server);
    assert_era_traffic(&setup, era);
    if let Some(token) = &setup.token {
        let printed = env.printed.borrow();
        assert!(
            !printed.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token was printed"
        );
    }
}

/// The legacy host (raw 2025-11-25 JSON-RPC) on the bridge's stdio.
fn legacy_host(setup: Setup, era: &str) {
    let (server, env) = (&setup.server, &setup.env);
    let mut host = StdioHost::bridge(env, "remote", &server.mcp());
    let init = host.initialize();
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{init}");
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );

    let list = host.request("tools/list", json!({}));
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"echo") && names.contains(&"slow"), "{list}");
    let call = host.call("echo", json!({"text": "hello"}));
    assert_eq!(text(&call), "hello", "{call}");

    // A list change at the server reaches the host as a notification, unasked.
    wait_for_push_stream(server, era);
    server.admin("/admin/add-tool");
    let note = host.wait(Duration::from_secs(15), |m| {
        m["method"] == "notifications/tools/list_changed"
    });
    assert!(
        note.is_some(),
        "no list_changed; seen {:?}; {}",
        host.seen,
        server.stats()
    );
    let list = host.request("tools/list", json!({}));
    assert!(list.to_string().contains("extra1"), "{list}");

    // Cancel a slow call: the server's handler sees it (legacy: the forwarded
    // notifications/cancelled; modern: the bridge closes the request's HTTP stream).
    let id = host.start_request(
        "tools/call",
        json!({"name": "slow", "arguments": {"ms": 10000}}),
    );
    common::wait_for(
        || counter(&server.stats(), &["tool_calls", "slow"]) >= 1,
        "slow to start",
    );
    host.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "test"}),
    );
    assert_cancelled(server);
    // No success for the cancelled request; the session keeps serving.
    let late = host.wait(Duration::from_millis(1500), |m| m["id"] == json!(id));
    if let Some(late) = late {
        assert!(
            late.get("error").is_some() || text(&late) != "done",
            "{late}"
        );
    }
    let call = host.call("echo", json!({"text": "after cancel"}));
    assert_eq!(text(&call), "after cancel", "{call}");
    assert_era_traffic(&setup, era);
    assert!(host.finish().success());
}

#[test]
fn modern_host_and_legacy_server() {
    modern_host(bearer_setup("legacy"), "legacy");
}

#[test]
fn modern_host_and_modern_server() {
    modern_host(bearer_setup("modern"), "modern");
}

#[test]
fn legacy_host_and_legacy_server() {
    legacy_host(bearer_setup("legacy"), "legacy");
}

#[test]
fn legacy_host_and_modern_server() {
    legacy_host(bearer_setup("modern"), "modern");
}

// The same four pairs with OAuth: oidc-provider in front of each server (JWT access tokens for
// the MCP URL, verified by the server against the provider's keys).

#[test]
fn oauth_modern_host_and_legacy_server() {
    modern_host(oauth_setup("legacy"), "legacy");
}

#[test]
fn oauth_modern_host_and_modern_server() {
    modern_host(oauth_setup("modern"), "modern");
}

#[test]
fn oauth_legacy_host_and_legacy_server() {
    legacy_host(oauth_setup("legacy"), "legacy");
}

#[test]
fn oauth_legacy_host_and_modern_server() {
    legacy_host(oauth_setup("modern"), "modern");
}

/// A modern-only server's `input_required` (an elicitation) reaches a legacy host as an
/// `elicitation/create` request; its answer goes back as `inputResponses` on the retried call.
#[test]
fn legacy_host_answers_a_modern_servers_elicitation() {
    let Setup { server, env, .. } = bearer_setup("modern");
    let mut host = StdioHost::bridge(&env, "remote", &server.mcp());
    host.initialize();
    let id = host.start_request(
        "tools/call",
        json!({"name": "confirm", "arguments": {"action": "deploy"}}),
    );
    let ask = host
        .wait(Duration::from_secs(15), |m| {
            m["method"] == "elicitation/create"
        })
        .unwrap_or_else(|| panic!("no elicitation/create; seen {:?}", host.seen));
    assert!(
        ask["params"]["message"]
            .as_str()
            .unwrap()
            .contains("deploy"),
        "{ask}"
    );
    host.send(&json!({"jsonrpc": "2.0", "id": ask["id"],
                      "result": {"action": "accept", "content": {"confirm": true}}}));
    let answer = host.answer(id);
    assert_eq!(text(&answer), "confirmed deploy", "{answer}");
    assert_eq!(server.stat("input_required"), 1);
}

/// `crux mcp probe` speaks both eras: the modern-only server answers its `server/discover`.
#[test]
fn probe_reports_each_servers_era() {
    for (era, version) in [("legacy", "2025-11-25"), ("modern", "2026-07-28")] {
        let Setup { server, env, .. } = bearer_setup(era);
        env.run(&[
            "mcp",
            "probe",
            "remote",
            "--call",
            "echo",
            "--arguments",
            r#"{"text":"hi"}"#,
        ])
        .success()
        .stdout_has(&format!("protocol  {version}"))
        .stdout_has("call      hi");
        assert_eq!(server.stat("unauthorized"), 0);
    }
}

/// `--protocol` pins one era with no fallback; the era the probe found is kept in the
/// registration and shown by `crux mcp show`.
#[test]
fn probe_pins_an_era_and_show_reports_it() {
    let Setup {
        server: _legacy,
        env,
        ..
    } = bearer_setup("legacy");
    env.run(&["mcp", "show", "remote"])
        .success()
        .stdout_has("protocol: not probed yet (find it: crux mcp probe remote)");
    env.run(&["mcp", "probe", "remote", "--protocol", "2026-07-28"])
        .fails(1)
        .stderr_has("does not speak MCP 2026-07-28")
        .stderr_has("--protocol 2025-11-25");
    let out = env
        .run(&["mcp", "probe", "remote", "--json"])
        .success()
        .stdout();
    let probe: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(probe["era"], "legacy", "{probe}");
    env.run(&["mcp", "show", "remote"])
        .success()
        .stdout_has("protocol: 2025-11-25 (legacy), seen by crux mcp probe at");

    let Setup {
        server: modern,
        env,
        ..
    } = bearer_setup("modern");
    env.run(&["mcp", "probe", "remote", "--protocol", "2025-11-25"])
        .fails(1)
        .stderr_has("answered initialize with an error");
    let out = env
        .run(&["mcp", "probe", "remote", "--json"])
        .success()
        .stdout();
    let probe: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(probe["era"], "modern", "{probe}");
    assert_eq!(
        probe["supported_versions"],
        json!(["2026-07-28"]),
        "{probe}"
    );
    assert_eq!(probe["serves_legacy_clients"], false, "{probe}");
    let shown = env
        .run(&["mcp", "show", "remote", "--json"])
        .success()
        .stdout();
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["protocol"]["era"], "modern", "{shown}");
    assert_eq!(shown["protocol"]["version"], "2026-07-28", "{shown}");
    // The modern probe sent no GET and no DELETE, and no session id.
    let stats = modern.stats();
    assert_eq!(counter(&stats, &["http_methods", "GET"]), 0, "{stats}");
    assert_eq!(counter(&stats, &["http_methods", "DELETE"]), 0, "{stats}");
    assert!(
        stats["session_ids"].as_array().unwrap().is_empty(),
        "{stats}"
    );
}

/// As a hostile repository would: its `.mcp.json` entry for a registered bearer server adds
/// proxy variables, hoping the bridge sends the token through a listener of its own. The
/// bridge's HTTP client reads no proxy from the environment: the listener gets no connection,
/// and the call reaches the registered server with the token.
#[test]
fn proxy_variables_in_an_entry_do_not_route_the_credential() {
    let Setup { server, env, .. } = bearer_setup("modern");
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let proxy = format!("http://{}", trap.local_addr().unwrap());
    let vars: Vec<(&str, &str)> = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ]
    .into_iter()
    .map(|name| (name, proxy.as_str()))
    .chain([("NO_PROXY", ""), ("no_proxy", "")])
    .collect();
    let mut host = StdioHost::bridge_with(&env, "remote", &server.mcp(), &vars);
    host.initialize();
    let call = host.call("echo", json!({"text": "direct"}));
    assert_eq!(text(&call), "direct", "{call}");
    assert!(host.finish().success());
    assert!(
        trap.accept().is_err(),
        "the bridge connected to the proxy an entry named"
    );
    assert_eq!(server.stat("unauthorized"), 0, "{}", server.stats());
}

/// A hostile server's `server/discover` answer: thousands of "versions", one of them a terminal
/// escape, and a server name with one. What `crux mcp probe` keeps in the registration and
/// `crux mcp show` prints is bounded and escaped.
#[test]
fn a_hostile_discover_answer_is_bounded_and_escaped() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let mut versions: Vec<String> = (0..5000).map(|i| format!("2026-07-{i:04}")).collect();
    versions.insert(0, "2026-07-28".into());
    versions.insert(1, "\u{1b}[2J2026".into());
    let answer = json!({"jsonrpc": "2.0", "id": 1, "result": {
        "resultType": "complete", "supportedVersions": versions, "capabilities": {},
        "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "evil\u{1b}[31m", "version": "1"}}}})
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then the body its Content-Length names.
            loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    setup_kit();
    let env = Env::for_backend("age");
    env.run(&["mcp", "add", "evil", "--url", &url]).success();
    let probe = env.run(&["mcp", "probe", "evil"]).success().stdout();
    assert!(
        !probe.contains('\u{1b}'),
        "an escape reached the terminal: {probe:?}"
    );
    let registry = std::fs::read_to_string(env.crux_home().join("registry.json")).unwrap();
    assert!(
        registry.len() < 8 * 1024,
        "the registry grew to {} bytes",
        registry.len()
    );
    assert!(
        !registry.contains('\u{1b}') && !registry.contains("\\u001b"),
        "{registry}"
    );
    let shown = env.run(&["mcp", "show", "evil"]).success().stdout();
    assert!(shown.contains("protocol: 2026-07-28 (modern)"), "{shown}");
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
}
