//! The MCP conformance suite against crux, in two releases:
//! - `@modelcontextprotocol/conformance@0.1.12` (tests/e2e/conformance, Node 20): every client
//!   `auth/*` scenario it lists, with `crux mcp probe` as the client, and the transport
//!   scenarios through `crux bridge`.
//! - `@modelcontextprotocol/conformance@0.2.0-alpha.12` (tests/e2e/conformance-2026, run by the
//!   Node 22 its lockfile pins): every client scenario of `list --requirements 2026-07-28`:
//!   the `auth/*` ones with `crux mcp probe` as the client, the others through `crux bridge`,
//!   once with a legacy host and once with a modern one.
//!
//! Each scenario runs on its own and must pass with no failure and no warning. The scenario
//! lists come from the suites themselves, so a scenario cannot be left out by accident.

mod common;

use common::{kit, setup_kit, CRUX};
use std::path::Path;
use std::process::Command;

fn suite() -> Command {
    let mut cmd = Command::new(kit().join("conformance/node_modules/.bin/conformance"));
    cmd.current_dir(kit().join("conformance"));
    cmd
}

/// The 2026-07-28 suite, on its own Node 22.
fn suite_2026() -> Command {
    let dir = kit().join("conformance-2026");
    let mut cmd = Command::new(dir.join("node_modules/.bin/node"));
    cmd.arg(dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js"))
        .current_dir(&dir);
    cmd
}

/// The client scenarios the suite lists as required for 2026-07-28.
fn scenarios_2026() -> Vec<String> {
    let out = suite_2026()
        .args(["list", "--client", "--requirements", "2026-07-28"])
        .output()
        .unwrap();
    assert!(out.status.success(), "conformance list failed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut names = Vec::new();
    let mut in_client = false;
    for line in text.lines() {
        if line.starts_with("Client scenarios") {
            in_client = true;
            continue;
        }
        if in_client {
            match line.trim().strip_prefix("- ") {
                Some(name) => names.push(name.to_string()),
                None if line.trim().is_empty() => break,
                None => {}
            }
        }
    }
    names
}

fn auth_scenarios() -> Vec<String> {
    let out = suite().args(["list", "--client"]).output().unwrap();
    assert!(out.status.success(), "conformance list failed");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut names: Vec<String> = text
        .split(|c: char| c.is_whitespace())
        .filter(|w| w.starts_with("auth/"))
        .map(str::to_string)
        .collect();
    names.dedup();
    names
}

/// Runs each scenario with `client` (a script of tests/e2e/conformance) as the client
/// command; returns the full output of every scenario that did not pass cleanly.
fn run_scenarios(scenarios: &[String], client: &str, home: &Path) -> Vec<String> {
    run_with(suite, &[], scenarios, client, home, &[])
}

fn run_with(
    suite: fn() -> Command,
    suite_args: &[&str],
    scenarios: &[String],
    client: &str,
    home: &Path,
    envs: &[(&str, &str)],
) -> Vec<String> {
    // One scenario at a time in this binary: sse-retry checks reconnection timing, which a
    // busy machine would blur.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let client = kit().join("conformance").join(client);
    let mut failed = Vec::new();
    for scenario in scenarios {
        let out = suite()
            .args(["client", "--scenario", scenario, "--timeout", "60000"])
            .args(suite_args)
            .arg("--command")
            .arg(format!("exec python3 {}", client.display()))
            .envs(envs.iter().copied())
            .env("CRUX_BIN", CRUX)
            .env("CRUX_HOME", home.join("crux"))
            .env("HOME", home)
            .env_remove("CRUX_BACKEND")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let passed = out.status.success()
            && text.contains("OVERALL: PASSED")
            && text.contains("0 failed, 0 warnings");
        let summary = text
            .lines()
            .find(|l| l.starts_with("Passed:"))
            .unwrap_or("no summary");
        eprintln!("{scenario} {envs:?}: {summary}");
        if !passed {
            failed.push(format!("{scenario} {envs:?}\n{text}"));
        }
    }
    failed
}

#[test]
fn every_auth_scenario_passes() {
    setup_kit();
    common::require_tool("curl", "curl");
    let scenarios = auth_scenarios();
    assert!(
        scenarios.len() >= 19,
        "the suite lists {} auth scenarios: {scenarios:?}",
        scenarios.len()
    );
    let home = tempfile::tempdir().unwrap();
    let failed = run_scenarios(&scenarios, "client.py", home.path());
    // A probe of a bare URL keeps its tokens in memory: nothing was written.
    assert!(
        !home.path().join("crux").exists(),
        "a URL probe wrote to CRUX_HOME"
    );
    assert!(
        failed.is_empty(),
        "failed scenarios:\n{}",
        failed.join("\n\n")
    );
}

/// The transport scenarios through `crux bridge`: a small stdio client
/// (tests/e2e/conformance/bridge_client.py) drives the bridge as an MCP host would, and the
/// suite checks what reaches its server (initialize, a tool call, and SSE resumption with
/// `Last-Event-ID` after the server's `retry` delay).
#[test]
fn transport_scenarios_pass_through_the_bridge() {
    setup_kit();
    let home = tempfile::tempdir().unwrap();
    let scenarios = ["initialize", "tools_call", "sse-retry"].map(String::from);
    let failed = run_scenarios(&scenarios, "bridge_client.py", home.path());
    assert!(
        failed.is_empty(),
        "failed scenarios:\n{}",
        failed.join("\n\n")
    );
}

/// Every client scenario the 2026-07-28 requirements name: `auth/*` with `crux mcp probe` as
/// the client; the others through `crux bridge`, with a legacy host (the bridge translates:
/// `initialize` from `server/discover`, `_meta` and headers added, `input_required` turned
/// into elicitation requests to the host) and with a modern host (the bridge adds the
/// headers and relays).
#[test]
fn every_2026_07_28_client_scenario_passes() {
    setup_kit();
    common::require_tool("curl", "curl");
    let scenarios = scenarios_2026();
    assert!(
        scenarios.len() >= 32,
        "the suite lists {} client scenarios for 2026-07-28: {scenarios:?}",
        scenarios.len()
    );
    let (auth, other): (Vec<String>, Vec<String>) =
        scenarios.into_iter().partition(|s| s.starts_with("auth/"));
    let home = tempfile::tempdir().unwrap();
    let wire = ["--spec-version", "2026-07-28"];
    let mut failed = run_with(suite_2026, &wire, &auth, "client.py", home.path(), &[]);
    for era in ["legacy", "modern"] {
        failed.extend(run_with(
            suite_2026,
            &wire,
            &other,
            "bridge_client.py",
            home.path(),
            &[("HOST_ERA", era)],
        ));
    }
    assert!(
        !home.path().join("crux").exists(),
        "a URL probe wrote to CRUX_HOME"
    );
    assert!(
        failed.is_empty(),
        "failed scenarios:\n{}",
        failed.join("\n\n")
    );
}
