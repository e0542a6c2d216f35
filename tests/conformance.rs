//! The MCP conformance suite (`@modelcontextprotocol/conformance@0.1.12`, pinned in
//! tests/e2e/conformance) against `crux mcp probe`: every client `auth/*` scenario the suite
//! lists, each run on its own and required to pass with no failure and no warning. The
//! scenario list comes from the suite itself, so a scenario cannot be left out by accident. The
//! transport scenarios run through `crux bridge`.

mod common;

use common::{kit, setup_kit, CRUX};
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
    let client = kit().join("conformance/client.py");
    let mut failed = Vec::new();
    for scenario in &scenarios {
        let out = suite()
            .args(["client", "--scenario", scenario, "--timeout", "60000"])
            .arg("--command")
            .arg(format!("exec python3 {}", client.display()))
            .env("CRUX_BIN", CRUX)
            .env("CRUX_HOME", home.path().join("crux"))
            .env("HOME", home.path())
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
            .unwrap_or("no summary")
            .to_string();
        eprintln!("{scenario}: {summary}");
        if !passed {
            failed.push(format!("{scenario}\n{text}"));
        }
    }
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
    let client = kit().join("conformance/bridge_client.py");
    let mut failed = Vec::new();
    for scenario in ["initialize", "tools_call", "sse-retry"] {
        let out = suite()
            .args(["client", "--scenario", scenario, "--timeout", "60000"])
            .arg("--command")
            .arg(format!("exec python3 {}", client.display()))
            .env("CRUX_BIN", CRUX)
            .env_remove("CRUX_BACKEND")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let passed = out.status.success()
            && text.contains("OVERALL: PASSED")
            && text.contains("0 failed, 0 warnings");
        eprintln!(
            "{scenario}: {}",
            text.lines()
                .find(|l| l.starts_with("Passed:"))
                .unwrap_or("no summary")
        );
        if !passed {
            failed.push(format!("{scenario}\n{text}"));
        }
    }
    assert!(
        failed.is_empty(),
        "failed scenarios:\n{}",
        failed.join("\n\n")
    );
}
