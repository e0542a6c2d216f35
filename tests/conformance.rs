//! The MCP conformance suite (`@modelcontextprotocol/conformance@0.1.12`, pinned in
//! tests/e2e/conformance) against crux: every client `auth/*` scenario the suite lists, with
//! `crux mcp probe` as the client, and the transport scenarios through `crux bridge`. Each
//! scenario runs on its own and must pass with no failure and no warning. The auth scenario
//! list comes from the suite itself, so a scenario cannot be left out by accident.

mod common;

use common::{kit, setup_kit, CRUX};
use std::path::Path;
use std::process::Command;

fn suite() -> Command {
    let mut cmd = Command::new(kit().join("conformance/node_modules/.bin/conformance"));
    cmd.current_dir(kit().join("conformance"));
    cmd
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
    // One scenario at a time in this binary: sse-retry checks reconnection timing, which a
    // busy machine would blur.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let client = kit().join("conformance").join(client);
    let mut failed = Vec::new();
    for scenario in scenarios {
        let out = suite()
            .args(["client", "--scenario", scenario, "--timeout", "60000"])
            .arg("--command")
            .arg(format!("exec python3 {}", client.display()))
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
        eprintln!("{scenario}: {summary}");
        if !passed {
            failed.push(format!("{scenario}\n{text}"));
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
