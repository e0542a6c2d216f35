//! End to end with real parts: `crux mcp add` + `crux project install`, then the generated
//! `.mcp.json` driven by real MCP clients — the MCP Inspector CLI and the PyPI `mcp` stdio
//! client, which strips the environment — starting the real server-everything, whose `get-env`
//! tool reports the environment it got. On the Secret Service (found on the user's standard bus
//! socket, with no bus variable in the environment) and on the age file.

mod common;

use common::{kit, random_value, setup_kit, Env};
use std::path::PathBuf;
use std::process::Command;

fn server_script() -> PathBuf {
    kit().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

struct Project {
    env: Env,
    dir: PathBuf,
    values: Vec<(String, String)>,
}

/// Registers server-everything with two keychain credentials and installs it in a project.
fn project(env: Env) -> Project {
    setup_kit();
    let values = vec![
        ("EVERYTHING_API_KEY".to_owned(), random_value("api")),
        ("EVERYTHING_TOKEN".to_owned(), random_value("tok")),
    ];
    let script = server_script();
    env.run(&[
        "mcp",
        "add",
        "everything",
        "--command",
        "node",
        "--keychain",
        "EVERYTHING_API_KEY,EVERYTHING_TOKEN",
        "--value",
        &format!("EVERYTHING_API_KEY={}", values[0].1),
        "--value",
        &format!("EVERYTHING_TOKEN={}", values[1].1),
        "--",
        script.to_str().unwrap(),
    ])
    .success()
    .stdout_has("✓ Authenticated 'everything'");
    let dir = env.dir.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = env.cmd(&["project", "install", "everything"]);
    cmd.current_dir(&dir);
    env.run_cmd(cmd, None).success().stdout_has(".mcp.json");
    Project { env, dir, values }
}

/// The PyPI client: it passes only HOME, LOGNAME, PATH, SHELL, TERM, USER + the entry's env.
fn python_client(p: &Project, tool: &str) -> common::Run {
    let mut cmd = Command::new(kit().join(".venv/bin/python"));
    cmd.arg(kit().join("py_client.py"))
        .arg(p.dir.join(".mcp.json"))
        .arg("everything")
        .arg(tool)
        .env_clear()
        .env("HOME", p.env.home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PARENT_ONLY_MARKER", "must-not-reach-the-server");
    // Not recorded as crux's output: the server's reply holds the values on purpose.
    common::Run(common::run_with_stdin(cmd, None))
}

fn inspector(p: &Project) -> common::Run {
    let mut cmd = Command::new(kit().join("node_modules/.bin/mcp-inspector"));
    cmd.args(["--cli", "--config"])
        .arg(p.dir.join(".mcp.json"))
        .args([
            "--server",
            "everything",
            "--method",
            "tools/call",
            "--tool-name",
            "get-env",
        ])
        .env_clear()
        .env("HOME", p.env.home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    common::Run(common::run_with_stdin(cmd, None))
}

fn assert_server_env(p: &Project, server_env: &serde_json::Value) {
    for (var, value) in &p.values {
        assert_eq!(server_env[var], value.as_str(), "{var} reached the server");
    }
    let vars = server_env.as_object().unwrap();
    assert!(
        vars.keys().all(|k| !k.starts_with("CRUX_")),
        "the launcher's own variables are removed: {vars:?}"
    );
}

fn assert_nothing_leaked(p: &Project) {
    let files = p.env.all_files();
    for name in [
        "registry.json",
        "secrets.json",
        "projects.json",
        "keychain-auth.sh",
        "crux.json",
        ".mcp.json",
    ] {
        assert!(
            files.iter().any(|(path, _)| path.ends_with(name)),
            "{name} was written"
        );
    }
    for (_, value) in &p.values {
        for (path, bytes) in &files {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "{} holds a value",
                path.display()
            );
        }
        let printed = p.env.printed.borrow();
        assert!(
            !printed.windows(value.len()).any(|w| w == value.as_bytes()),
            "a value was printed"
        );
    }
}

fn run_both_clients(p: &Project) {
    let run = python_client(p, "get-env");
    run.success();
    let server_env: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_server_env(p, &server_env);
    assert!(
        server_env.get("PARENT_ONLY_MARKER").is_none(),
        "the Python client strips the environment"
    );
    assert!(server_env.get("DBUS_SESSION_BUS_ADDRESS").is_none());

    let run = inspector(p);
    run.success();
    let result: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_ne!(result["isError"], true, "{result}");
    let server_env: serde_json::Value =
        serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_server_env(p, &server_env);
    assert_nothing_leaked(p);
}

#[test]
fn real_clients_on_the_secret_service_found_on_the_standard_bus_socket() {
    let p = project(Env::desktop_on_user_bus());
    let index = std::fs::read_to_string(p.env.crux_home().join("secrets.json")).unwrap();
    assert!(
        index.contains("\"secret-service\""),
        "stored in the Secret Service: {index}"
    );
    run_both_clients(&p);
}

#[test]
fn real_clients_on_the_age_file() {
    let p = project(Env::for_backend("age"));
    run_both_clients(&p);
}

#[test]
fn a_missing_credential_stops_the_launch_with_the_fix() {
    let p = project(Env::for_backend("age"));
    p.env
        .run(&["mcp", "auth", "--delete", "everything", "EVERYTHING_TOKEN"])
        .success();
    let run = python_client(&p, "get-env");
    assert!(!run.0.status.success());
    run.stderr_has(
        "error: everything: EVERYTHING_TOKEN is not stored; fix: crux mcp auth everything",
    );
}

/// `crux mcp probe` of a local server: a real MCP session over stdio through the launcher, so
/// the probe also proves the credentials reach the server; a missing one fails the probe.
#[test]
fn probe_speaks_mcp_to_a_local_server_through_the_launcher() {
    let p = project(Env::for_backend("age"));
    let run = p.env.run(&["mcp", "probe", "everything", "--json"]);
    run.success();
    let out: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(out["transport"], "stdio");
    assert!(
        out["server"]["name"]
            .as_str()
            .unwrap()
            .contains("everything"),
        "{out}"
    );
    assert!(out["tools"].as_u64().unwrap() >= 5, "{out}");
    assert!(out["protocol_version"].as_str().unwrap().starts_with("20"));
    p.env
        .run(&[
            "mcp",
            "probe",
            "everything",
            "--call",
            "echo",
            "--arguments",
            r#"{"message":"hi there"}"#,
        ])
        .success()
        .stdout_has("hi there");
    p.env
        .run(&["mcp", "auth", "--delete", "everything", "EVERYTHING_TOKEN"])
        .success();
    // The launcher's own error line comes through, then the probe's.
    let run = p.env.run(&["mcp", "probe", "everything"]);
    assert_eq!(run.code(), Some(1));
    run.stderr_has(
        "error: everything: EVERYTHING_TOKEN is not stored; fix: crux mcp auth everything",
    )
    .stderr_has("error: the launcher could not start the server: everything: EVERYTHING_TOKEN is not stored; fix: crux mcp auth everything\n");
    assert_nothing_leaked(&p);
}
