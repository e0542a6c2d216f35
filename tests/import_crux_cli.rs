//! `crux import --from crux-cli` against the real crux-cli (PyPI `crux-cli==1.0.5`, installed
//! by tests/e2e/setup.sh): crux-cli's own commands register servers and store secrets (on the
//! age backend and on the Secret Service), crux converts its `CRUX_HOME`, and a real MCP client
//! starts the converted entries: every value arrives, none was re-entered, none is in a file.

mod common;

use common::{kit, random_value, setup_kit, Env, Run, Server};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SERVER: &str = "everything";
const VARS: [&str; 2] = ["EVERYTHING_API_KEY", "EVERYTHING_TOKEN"];

fn server_script() -> PathBuf {
    kit().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

/// crux-cli, run as the user would: the test's HOME and CRUX_HOME, the keyring's bus if any.
fn crux_cli(env: &Env, dir: &Path, args: &[&str]) -> Run {
    crux_cli_program(env, dir, "crux", args, None)
}

thread_local! {
    /// crux-cli runs without the keyring's bus (as in a session without one).
    static NO_BUS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A program of crux-cli's virtualenv (`crux`, or `python` running crux-cli's own code).
fn crux_cli_program(
    env: &Env,
    dir: &Path,
    program: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Run {
    let mut cmd = Command::new(kit().join("crux-cli/.venv/bin").join(program));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.home())
        .env("CRUX_HOME", env.crux_home())
        .env("XDG_RUNTIME_DIR", env.dir.path().join("no-runtime"));
    if let Some(k) = env.keyring.as_ref().filter(|_| !NO_BUS.get()) {
        for (key, value) in k.env() {
            cmd.env(key, value);
        }
    }
    std::fs::create_dir_all(env.home()).unwrap();
    let run = Run(common::run_with_stdin(cmd, stdin));
    assert!(
        run.code() == Some(0),
        "crux-cli {args:?}: {}{}",
        run.stdout(),
        run.stderr()
    );
    run
}

/// A crux-cli home: `backend` in config.toml, server-everything registered with two keychain
/// secrets stored through `crux mcp auth --value`, and a project that uses it, synced.
fn crux_cli_home(env: &Env, backend: &str) -> (PathBuf, Vec<(String, String)>) {
    setup_kit();
    let home = env.crux_home();
    std::fs::create_dir_all(&home).unwrap();
    // crux-cli's own format (config.py `_to_toml`); it has no command that sets it.
    std::fs::write(
        home.join("config.toml"),
        format!("[secrets]\nbackend = \"{backend}\"\n"),
    )
    .unwrap();
    let values: Vec<(String, String)> = VARS
        .iter()
        .map(|v| (v.to_string(), random_value(&v.to_lowercase())))
        .collect();
    let source = env.dir.path().join("server-src");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("README"), "a local server\n").unwrap();
    let here = env.dir.path().to_path_buf();
    crux_cli(
        env,
        &here,
        &[
            "mcp",
            "add",
            SERVER,
            "--local",
            source.to_str().unwrap(),
            "--command",
            "node",
            "--args",
            server_script().to_str().unwrap(),
            "--keychain",
            &VARS.join(","),
            "--tags",
            "demo",
        ],
    );
    let pairs: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
    crux_cli(
        env,
        &here,
        &[
            "mcp", "auth", SERVER, "--value", &pairs[0], "--value", &pairs[1],
        ],
    );
    let projects = env.dir.path().join("work");
    std::fs::create_dir_all(&projects).unwrap();
    crux_cli(
        env,
        &projects,
        &["project", "create", "app", "--mcp", SERVER],
    );
    let project = projects.join("app");
    crux_cli(env, &project, &["project", "sync"]);
    assert!(
        project.join(".mcp.json").is_file(),
        "crux-cli wrote .mcp.json"
    );
    (project, values)
}

/// Every file under the test's directory, by path (crux's, crux-cli's, the keyring's).
fn snapshot(env: &Env) -> BTreeMap<PathBuf, Vec<u8>> {
    env.all_files()
        .into_iter()
        .filter(|(p, _)| p.extension().is_none_or(|e| e != "lock"))
        .collect()
}

/// server-everything's `get-env`, through the converted `.mcp.json` entry, by the MCP Python
/// SDK's stdio client (which strips the environment).
fn server_env(env: &Env, project: &Path) -> serde_json::Value {
    serde_json::from_str(&call_tool(env, project, SERVER, "get-env")).unwrap()
}

/// A tool of `server`, called through the project's `.mcp.json` entry by the MCP Python SDK.
fn call_tool(env: &Env, project: &Path, server: &str, tool: &str) -> String {
    let mut cmd = Command::new(kit().join(".venv/bin/python"));
    cmd.arg(kit().join("py_client.py"))
        .arg(project.join(".mcp.json"))
        .arg(server)
        .arg(tool)
        .env_clear()
        .env("HOME", env.home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    // Not recorded as crux's output: the server's reply holds the values on purpose.
    let run = Run(common::run_with_stdin(cmd, None));
    run.success();
    run.stdout()
}

fn assert_no_value_in_files(env: &Env, values: &[(String, String)]) {
    let files = env.all_files();
    for (_, value) in values {
        for (path, bytes) in &files {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "{} holds a value in plaintext",
                path.display()
            );
        }
        let printed = env.printed.borrow();
        assert!(
            !printed.windows(value.len()).any(|w| w == value.as_bytes()),
            "crux printed a value"
        );
    }
}

fn converts_and_launches(env: Env, backend: &str) {
    let (project, values) = crux_cli_home(&env, backend);
    let home = env.crux_home();
    // crux-cli leaves CRUX_HOME as its umask made it (0755 under the usual 022): crux says
    // whose it is and what to run; the conversion makes it private itself.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.run(&["mcp", "list"])
        .fails(1)
        .stderr_has("crux-cli")
        .stderr_has("crux import --from crux-cli");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // --dry-run reads it as it is.
    let before = snapshot(&env);
    env.run(&["import", "--from", "crux-cli", "--dry-run"])
        .success()
        .stdout_has("would be converted");
    assert_eq!(snapshot(&env), before);
    assert_eq!(mode(&home), 0o755, "--dry-run changed no mode");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    // Never "corrupt": crux-cli's files, and the command that converts them.
    let run = env.run(&["mcp", "list"]);
    run.fails(1)
        .stderr_has("written by crux-cli")
        .stderr_has("crux import --from crux-cli");
    assert!(!run.stderr().contains("corrupt"), "{}", run.stderr());
    for args in [&["mcp", "auth", "--list"][..], &["backend"][..]] {
        let run = env.run(args);
        assert!(
            run.stderr().contains("crux import --from crux-cli")
                && !run.stderr().contains("corrupt"),
            "{args:?}: {}",
            run.stderr()
        );
    }
    let mut sync = env.cmd(&["project", "sync"]);
    sync.current_dir(&project);
    let run = env.run_cmd(sync, None);
    run.fails(1).stderr_has("written by crux-cli");

    // --dry-run shows the plan and changes nothing.
    let before = snapshot(&env);
    env.run(&["import", "--from", "crux-cli", "--dry-run"])
        .success()
        .stdout_has("would be converted")
        .stdout_has(&format!("server {SERVER}: command node"))
        .stdout_has(&server_script().display().to_string())
        .stdout_has(&VARS.join(", "));
    let plan = env.run(&["import", "--from", "crux-cli", "--dry-run", "--json"]);
    plan.success();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout()).unwrap();
    assert_eq!(plan["servers"][0]["secrets"], serde_json::json!(VARS));
    assert_eq!(snapshot(&env), before, "--dry-run changed nothing");

    // Without a terminal and without --yes: nothing changes, and the fix is named.
    env.run(&["import", "--from", "crux-cli"])
        .fails(2)
        .stderr_has("--yes");
    assert_eq!(snapshot(&env), before);

    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.run(&["import", "--from", "crux-cli", "--yes"])
        .success()
        .stdout_has("✓ Converted crux-cli's 1 server(s) and 2 secret(s)")
        .stderr_has("it is 0700 now");
    assert_eq!(mode(&home), 0o700);

    // crux's own files, crux-cli's originals beside them.
    for kept in [
        "registry.json.crux-cli",
        "secrets.json.crux-cli",
        "projects.json.crux-cli",
        "config.toml.crux-cli",
    ] {
        assert!(home.join(kept).is_file(), "{kept} is kept");
    }
    assert!(project.join("crux.json.crux-cli").is_file());
    assert!(
        home.join("mcps").join(SERVER).join("README").is_file(),
        "crux-cli's copy of a local server's folder stays"
    );
    for file in [
        "registry.json",
        "secrets.json",
        "projects.json",
        "settings.json",
    ] {
        let meta = std::fs::metadata(home.join(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file} is 0600");
    }
    let settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join("settings.json")).unwrap()).unwrap();
    assert_eq!(
        settings["backend"], backend,
        "crux-cli's backend is crux's setting"
    );
    env.run(&["mcp", "list"]).success().stdout_has(SERVER);
    env.run(&["mcp", "auth", "--list", SERVER])
        .success()
        .stdout_has(VARS[0])
        .stdout_has(VARS[1]);

    // A real MCP client starts the converted entry: every value arrives.
    let got = server_env(&env, &project);
    for (var, value) in &values {
        assert_eq!(got[var], value.as_str(), "{var} reached the server");
    }
    assert_no_value_in_files(&env, &values);

    // Twice: nothing changes.
    let after = snapshot(&env);
    env.run(&["import", "--from", "crux-cli", "--yes"])
        .success()
        .stdout_has("Nothing to import");
    assert_eq!(snapshot(&env), after, "a second run changed nothing");
}

#[test]
fn age_backend_for_real() {
    let env = Env::headless();
    converts_and_launches(env, "age");
}

#[test]
fn secret_service_for_real() {
    // The launcher finds the keyring on the user's standard bus socket, as a host starts it.
    let env = Env::desktop_on_user_bus();
    converts_and_launches(env, "secret-service");
}

#[test]
fn secret_service_items_read_by_both_tools() {
    let env = Env::desktop();
    let (_, values) = crux_cli_home(&env, "secret-service");
    let home = env.crux_home();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    env.run(&["import", "--from", "crux-cli", "--yes"])
        .success();
    let service = format!("crux.{SERVER}");
    for (var, value) in &values {
        // crux's naming, and crux-cli's still: one item.
        for attr in ["username", "account"] {
            let out = env
                .keyring()
                .secret_tool(&["lookup", "service", &service, attr, var], None);
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                value.as_str(),
                "{attr}={var}"
            );
        }
    }
    assert_no_value_in_files(&env, &values);
}

/// A home of crux-cli's made by hand (no crux-cli run needed for bad input).
fn hand_made(env: &Env, registry: &str) -> PathBuf {
    let home = env.crux_home();
    std::fs::create_dir_all(&home).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(home.join("registry.json"), registry).unwrap();
    std::fs::write(home.join("secrets.json"), r#"{"srv": ["SRV_TOKEN"]}"#).unwrap();
    std::fs::write(home.join("config.toml"), "[secrets]\nbackend = \"age\"\n").unwrap();
    home
}

const GOOD_REGISTRY: &str = r#"{"version": "1.0.0", "mcp_definitions": {"srv": {"tags": [], "type": "local", "source_dir": "/tmp", "command": "node", "args": ["x.js"], "auth": {"type": "keychain", "env_vars": ["SRV_TOKEN"]}}}, "skill_definitions": {}}"#;

#[test]
fn unknown_shape_names_the_file_and_changes_nothing() {
    let env = Env::headless();
    let home = hand_made(
        &env,
        r#"{"version": "1.0.0", "mcp_definitions": {"srv": {"type": "docker", "command": "x"}}, "skill_definitions": {}}"#,
    );
    let before = snapshot(&env);
    env.run(&["import", "--from", "crux-cli", "--yes"])
        .fails(1)
        .stderr_has(&home.join("registry.json").display().to_string())
        .stderr_has("'srv'")
        .stderr_has("'docker'")
        .stderr_has("nothing was changed");
    assert_eq!(snapshot(&env), before);

    // A file of no shape crux-cli writes at all.
    std::fs::write(home.join("registry.json"), GOOD_REGISTRY).unwrap();
    std::fs::write(home.join("tokens.json"), "[1, 2]").unwrap();
    let before = snapshot(&env);
    env.run(&["import", "--from", "crux-cli", "--yes"])
        .fails(1)
        .stderr_has(&home.join("tokens.json").display().to_string())
        .stderr_has("crux import --from crux-cli");
    assert_eq!(snapshot(&env), before);
}

#[test]
fn unreadable_age_store_names_it_and_changes_nothing() {
    common::require_tool("age-keygen", "age");
    let env = Env::headless();
    let home = hand_made(&env, GOOD_REGISTRY);
    let key = Command::new("age-keygen").output().unwrap();
    std::fs::write(home.join("identity"), &key.stdout).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        home.join("identity"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::write(home.join("secrets.age"), b"not an age file").unwrap();
    let before = snapshot(&env);
    env.run(&["import", "--from", "crux-cli", "--yes"])
        .fails(1)
        .stderr_has(&home.join("secrets.age").display().to_string())
        .stderr_has("nothing was changed");
    assert_eq!(snapshot(&env), before);
}

#[test]
fn locked_keyring_names_the_items_and_changes_nothing() {
    let env = Env::desktop();
    crux_cli_home(&env, "secret-service");
    let home = env.crux_home();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    env.keyring().lock();
    let before = snapshot(&env);
    env.run(&["import", "--from", "crux-cli", "--yes"])
        .fails(1)
        .stderr_has(&format!("crux-cli's secrets of '{SERVER}'"))
        .stderr_has(VARS[0])
        .stderr_has("locked")
        .stderr_has("nothing was changed");
    let after = snapshot(&env);
    let changed: Vec<&PathBuf> = after
        .iter()
        .filter(|(p, b)| before.get(*p) != Some(*b))
        .map(|(p, _)| p)
        .filter(|p| p.starts_with(&home) || p.starts_with(env.dir.path().join("work")))
        .collect();
    assert!(changed.is_empty(), "changed: {changed:?}");
}

/// crux's and crux-cli's files (CRUX_HOME, the projects), without the keyring's own.
fn crux_files(env: &Env) -> BTreeMap<PathBuf, Vec<u8>> {
    let keep = [env.crux_home(), env.dir.path().join("work")];
    snapshot(env)
        .into_iter()
        .filter(|(p, _)| keep.iter().any(|k| p.starts_with(k)))
        .collect()
}

fn failure_part_way(env: Env, backend: &str) {
    let (project, values) = crux_cli_home(&env, backend);
    let home = env.crux_home();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    // The project's host file is a symlink, which crux refuses to replace: the conversion
    // fails after the secrets were copied and crux's registry and index were written.
    let mcp = project.join(".mcp.json");
    let elsewhere = env.dir.path().join("elsewhere.json");
    std::fs::rename(&mcp, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &mcp).unwrap();
    let before = crux_files(&env);
    let run = env.run(&["import", "--from", "crux-cli", "--yes"]);
    run.fails(1);
    assert!(run.stderr().contains(".mcp.json"), "{}", run.stderr());
    assert_eq!(crux_files(&env), before, "every file is as it was");
    if let Some(keyring) = &env.keyring {
        let service = format!("crux.{SERVER}");
        for (var, value) in &values {
            let crux = keyring.secret_tool(&["lookup", "service", &service, "username", var], None);
            assert!(
                crux.stdout.is_empty(),
                "{var}: crux's name is taken off again"
            );
            let cli = keyring.secret_tool(&["lookup", "service", &service, "account", var], None);
            assert_eq!(String::from_utf8_lossy(&cli.stdout), value.as_str());
        }
    }
    // Fixed, it goes through.
    std::fs::remove_file(&mcp).unwrap();
    std::fs::rename(&elsewhere, &mcp).unwrap();
    env.run(&["import", "--from", "crux-cli", "--yes"])
        .success();
    let got = server_env(&env, &project);
    for (var, value) in &values {
        assert_eq!(got[var], value.as_str());
    }
    assert_no_value_in_files(&env, &values);
}

#[test]
fn failure_part_way_puts_back_the_age_files() {
    failure_part_way(Env::headless(), "age");
}

#[test]
fn failure_part_way_puts_back_the_secret_service_items() {
    failure_part_way(Env::desktop_on_user_bus(), "secret-service");
}

/// Remote servers: a bearer token and OAuth (client credentials) tokens crux-cli obtained from a
/// real authorization server reach the servers through crux's bridge, without a new sign-in.
#[test]
fn remote_servers_keep_their_tokens() {
    setup_kit();
    let token = random_value("bearer");
    let bearer = Server::start_with_env(
        "bearer-server.mjs",
        &[],
        &[("CRUX_TEST_BEARER_TOKEN", &token)],
    );
    let oauth = Server::start("mock-server.mjs", &[]);
    let env = Env::headless();
    let home = env.crux_home();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("config.toml"), "[secrets]\nbackend = \"age\"\n").unwrap();
    let here = env.dir.path().to_path_buf();
    crux_cli(&env, &here, &["mcp", "list"]);
    // crux-cli's `mcp add` has no flag for remote servers: its users write the entry, here with
    // crux-cli's own code.
    let entries = serde_json::json!({
        "remote": {"tags": [], "type": "streamable-http", "url": bearer.mcp(),
                   "auth": {"type": "bearer", "keychain_key": "REMOTE_TOKEN"}},
        "signed": {"tags": [], "type": "streamable-http", "url": oauth.mcp(),
                   "auth": {"type": "oauth-client-credentials",
                            "discovery_url": format!("{}/.well-known/openid-configuration", oauth.url("issuer")),
                            "client_id": "crux-test", "scopes": []}},
    });
    let script = format!(
        "import json, sys\nfrom crux_cli.manifest import load_registry, save_registry\nfrom crux_cli.secrets import get_backend\nreg = load_registry()\nreg['mcp_definitions'].update(json.loads({:?}))\nsave_registry(reg)\nget_backend().set('signed', 'client_secret', sys.stdin.read())\n",
        entries.to_string()
    );
    let client_secret = random_value("client-secret");
    crux_cli_program(
        &env,
        &here,
        "python",
        &["-c", &script],
        Some(&client_secret),
    );
    crux_cli(
        &env,
        &here,
        &[
            "mcp",
            "auth",
            "remote",
            "--value",
            &format!("REMOTE_TOKEN={token}"),
        ],
    );
    crux_cli(&env, &here, &["mcp", "auth", "signed"]);
    assert!(home.join("tokens.json").is_file(), "crux-cli signed in");
    let tokens_before = oauth.stat("token_requests");
    let projects = env.dir.path().join("work");
    std::fs::create_dir_all(&projects).unwrap();
    crux_cli(
        &env,
        &projects,
        &["project", "create", "app", "--mcp", "remote,signed"],
    );
    let project = projects.join("app");
    crux_cli(&env, &project, &["project", "sync"]);

    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    env.run(&["import", "--from", "crux-cli", "--yes"])
        .success();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join("secrets.json")).unwrap()).unwrap();
    let signed = &index["servers"]["signed"];
    assert_eq!(
        signed["credentials"]["access_token"]["auth_type"], "oauth",
        "{index}"
    );
    assert_eq!(signed["oauth"]["client_id"], "crux-test", "{index}");
    assert!(signed["oauth"]["expires_at"].is_i64(), "{index}");
    assert_eq!(
        index["servers"]["remote"]["credentials"]["REMOTE_TOKEN"]["auth_type"],
        "bearer"
    );

    assert_eq!(call_tool(&env, &project, "remote", "whoami").trim(), "ok");
    assert!(bearer.stats()["tool_calls"].as_u64().unwrap() >= 1);
    assert_eq!(call_tool(&env, &project, "signed", "whoami").trim(), "ok");
    assert!(oauth.stat("mcp_requests_ok") >= 1);
    assert_eq!(
        oauth.stat("token_requests"),
        tokens_before,
        "crux used crux-cli's access token: no new sign-in"
    );
    assert_no_value_in_files(
        &env,
        &[
            ("REMOTE_TOKEN".into(), token),
            ("client_secret".into(), client_secret),
        ],
    );
}

/// crux-cli set to the Secret Service, run where none was reachable, kept the secrets in its age
/// store: crux, with the Secret Service here, copies them there.
#[test]
fn secrets_crux_cli_kept_in_its_age_fallback_go_to_the_secret_service() {
    let env = Env::desktop_on_user_bus();
    NO_BUS.set(true);
    let (project, values) = crux_cli_home(&env, "secret-service");
    NO_BUS.set(false);
    let home = env.crux_home();
    assert!(home.join("identity").is_file() && home.join("secrets.age").is_file());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    env.run(&["import", "--from", "crux-cli", "--yes"])
        .success()
        .stdout_has("secret-service backend");
    let service = format!("crux.{SERVER}");
    for (var, value) in &values {
        let out = env
            .keyring()
            .secret_tool(&["lookup", "service", &service, "username", var], None);
        assert_eq!(String::from_utf8_lossy(&out.stdout), value.as_str());
    }
    assert!(
        home.join("secrets.age.crux-cli").is_file() && home.join("identity.crux-cli").is_file()
    );
    assert!(
        !home.join("secrets.age").exists(),
        "crux's backend is the Secret Service"
    );
    let got = server_env(&env, &project);
    for (var, value) in &values {
        assert_eq!(got[var], value.as_str());
    }
    assert_no_value_in_files(&env, &values);
}
