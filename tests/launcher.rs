//! The installed launcher, with a stand-in server that reports what it got: its environment,
//! its argv (/proc/self/cmdline), its pid (to prove exec), and a chosen exit code.

mod common;

use common::{random_value, Env};
use std::path::{Path, PathBuf};

/// A server that writes its argv, environment and pid to `report`, then exits 42.
fn write_server(dir: &Path) -> PathBuf {
    let path = dir.join("server.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\nreport=\"$1\"; shift\n{ echo \"pid=$$\"; tr '\\0' ' ' < /proc/$$/cmdline; echo; env; } > \"$report\"\nexit 42\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

struct Setup {
    env: Env,
    server: PathBuf,
    report: PathBuf,
    entry: serde_json::Value,
}

fn setup(env: Env, add_args: &[&str]) -> Setup {
    let server = write_server(env.dir.path());
    let report = env.dir.path().join("report.txt");
    let mut args = vec!["--command", server.to_str().unwrap()];
    args.extend_from_slice(add_args);
    args.extend_from_slice(&["--", report.to_str().unwrap(), "--flag", "two words"]);
    let (_, entry) = common::install_entry(&env, "stand-in", &args);
    Setup {
        env,
        server,
        report,
        entry,
    }
}

/// Starts the entry the way an MCP SDK stdio client does: only HOME, PATH + the entry's env.
fn launch(s: &Setup) -> (std::process::Output, u32) {
    launch_with(s, &[])
}

fn launch_with(s: &Setup, extra_env: &[(&str, &str)]) -> (std::process::Output, u32) {
    let mut cmd = common::entry_command(&s.entry, &s.env.home());
    // A launch that fails waits for the host's first request until stdin ends (see
    // tests/host_errors.rs): these tests send none.
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd.envs(extra_env.iter().copied());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid)
}

#[test]
fn credentials_reach_the_environment_only_and_the_server_is_execed() {
    let value = random_value("key");
    let s = setup(
        Env::for_backend("age"),
        &[
            "--keychain",
            "API_KEY",
            "--value",
            &format!("API_KEY={value}"),
        ],
    );
    assert_eq!(s.entry["env"]["CRUX_AUTH_ENV_VARS"], "API_KEY");
    assert!(s.entry["command"]
        .as_str()
        .unwrap()
        .ends_with("/launchers/keychain-auth.sh"));
    let (out, pid) = launch(&s);
    assert_eq!(
        out.status.code(),
        Some(42),
        "the server's exit code passes through: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(&s.report).unwrap();
    assert!(
        report.contains(&format!("pid={pid}")),
        "the launcher execs the server (same pid): {report}"
    );
    assert!(report.contains(&format!("API_KEY={value}")));
    let cmdline = report.lines().nth(1).unwrap();
    assert!(
        cmdline.contains(s.server.to_str().unwrap()) && cmdline.contains("--flag two words"),
        "argv untouched: {cmdline}"
    );
    assert!(!cmdline.contains(&value), "no value in argv");
    assert!(
        !report.lines().any(|l| l.starts_with("CRUX_")),
        "CRUX_* removed: {report}"
    );
    let launcher = std::fs::read(s.entry["command"].as_str().unwrap()).unwrap();
    assert!(!launcher.windows(value.len()).any(|w| w == value.as_bytes()));
}

#[test]
fn a_missing_credential_exits_78_without_starting_the_server() {
    let s = setup(
        Env::for_backend("age"),
        &[
            "--keychain",
            "API_KEY,SECOND_KEY",
            "--value",
            "API_KEY=x",
            "--value",
            "SECOND_KEY=y",
        ],
    );
    s.env
        .run(&["mcp", "auth", "--delete", "stand-in", "SECOND_KEY"])
        .success();
    let (out, _) = launch(&s);
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("stand-in: SECOND_KEY is not stored; fix: crux mcp auth stand-in"),
        "{stderr}"
    );
    assert!(!s.report.exists(), "the server did not start");
}

#[test]
fn a_missing_value_in_the_keystore_exits_78() {
    let s = setup(
        Env::for_backend("age"),
        &["--keychain", "API_KEY", "--value", "API_KEY=x"],
    );
    // The index still lists it, but the store has lost it.
    std::fs::remove_file(s.env.crux_home().join("secrets.age")).unwrap();
    let (out, _) = launch(&s);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("API_KEY is listed in the index but missing from age"));
    assert!(!s.report.exists());
}

#[test]
fn external_cli_output_becomes_the_variable() {
    let s = setup(
        Env::for_backend("age"),
        &["--external-cli", "GH_TOKEN=printf '  from-cli-%s\\n' ok"],
    );
    assert_eq!(s.entry["env"]["CRUX_AUTH_ENV_VARS"], "GH_TOKEN");
    let (out, _) = launch(&s);
    assert_eq!(
        out.status.code(),
        Some(42),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&s.report)
            .unwrap()
            .contains("GH_TOKEN=from-cli-ok\n"),
        "trimmed output"
    );
}

#[test]
fn a_failing_or_silent_external_cli_stops_the_launch() {
    let s = setup(
        Env::for_backend("age"),
        &[
            "--external-cli",
            "GH_TOKEN=echo 'not logged in: run gh auth login' >&2; exit 4",
        ],
    );
    let (out, _) = launch(&s);
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stand-in: GH_TOKEN:")
            && stderr.contains("not logged in: run gh auth login"),
        "{stderr}"
    );
    assert!(!s.report.exists());

    let s = setup(
        Env::for_backend("age"),
        &["--external-cli", "GH_TOKEN=true"],
    );
    let (out, _) = launch(&s);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("printed nothing"));
}

#[test]
fn launch_without_its_variables_is_a_clear_error() {
    let env = Env::for_backend("age");
    let run = env.run(&["launch", "--", "true"]);
    assert_eq!(run.code(), Some(78));
    run.stderr_has("CRUX_MCP_NAME is not set");
}

#[test]
fn the_secret_service_backend_works_through_the_launcher() {
    let value = random_value("ss");
    let s = setup(
        Env::desktop(),
        &[
            "--keychain",
            "API_KEY",
            "--value",
            &format!("API_KEY={value}"),
        ],
    );
    let address = s.env.keyring().address.clone();
    let (out, _) = launch_with(&s, &[("DBUS_SESSION_BUS_ADDRESS", &address)]);
    assert_eq!(
        out.status.code(),
        Some(42),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&s.report)
        .unwrap()
        .contains(&format!("API_KEY={value}")));
}

/// Credentials go only to the registered command: an entry (a hostile `.mcp.json`, or a
/// committed `crux.json`) that points the launcher elsewhere, or asks for other variables,
/// gets nothing.
#[test]
fn the_launcher_hands_credentials_only_to_the_registered_command() {
    let value = random_value("guarded");
    let mut s = setup(
        Env::for_backend("age"),
        &[
            "--keychain",
            "API_KEY",
            "--value",
            &format!("API_KEY={value}"),
        ],
    );
    let registered_args = s.entry["args"].clone();

    s.entry["args"] = serde_json::json!(["/bin/sh", "-c", "echo stolen=$API_KEY"]);
    let (out, _) = launch(&s);
    assert_eq!(out.status.code(), Some(78));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("other than the registered one") && !all.contains(&value),
        "{all}"
    );

    s.entry["args"] = registered_args;
    s.entry["env"]["CRUX_AUTH_ENV_VARS"] = serde_json::json!("API_KEY,OTHER_SERVERS_KEY");
    let (out, _) = launch(&s);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("OTHER_SERVERS_KEY is not one of the server's declared variables"));

    s.entry["env"]["CRUX_MCP_NAME"] = serde_json::json!("not-registered");
    s.entry["env"]["CRUX_AUTH_ENV_VARS"] = serde_json::json!("API_KEY");
    let (out, _) = launch(&s);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("not-registered is not registered on this machine"));
    assert!(!s.report.exists());
}

/// A CRUX_HOME whose path holds quotes, `$(…)` and spaces is written into the launcher as data.
#[test]
fn odd_paths_are_quoted_in_the_installed_launcher() {
    let env = Env::for_backend("age");
    let odd = env.dir.path().join("we'ird \"$(touch pwned)\" `x` dir");
    let server = write_server(env.dir.path());
    let report = env.dir.path().join("report.txt");
    let project = env.dir.path().join("proj");
    std::fs::create_dir_all(&project).unwrap();
    let mut add = env.cmd(&[
        "mcp",
        "add",
        "odd",
        "--command",
        server.to_str().unwrap(),
        "--keychain",
        "K",
        "--value",
        "K=v",
        "--",
        report.to_str().unwrap(),
    ]);
    add.env("CRUX_HOME", &odd);
    env.run_cmd(add, None).success();
    let mut install = env.cmd(&["project", "install", "odd"]);
    install.env("CRUX_HOME", &odd).current_dir(&project);
    env.run_cmd(install, None).success();
    let entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.join(".mcp.json")).unwrap()).unwrap();
    let s = Setup {
        env,
        server,
        report,
        entry: entry["mcpServers"]["odd"].clone(),
    };
    let (out, _) = launch(&s);
    assert_eq!(
        out.status.code(),
        Some(42),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&s.report).unwrap().contains("K=v"));
    assert!(!std::path::Path::new("pwned").exists() && !s.env.dir.path().join("pwned").exists());
}

#[test]
fn in_args_credentials_reach_the_arguments_only() {
    let key = random_value("argkey");
    let other = random_value("other");
    let env = Env::for_backend("age");
    let server = write_server(env.dir.path());
    let report = env.dir.path().join("report.txt");
    let (_, entry) = common::install_entry(
        &env,
        "stand-in",
        &[
            "--command",
            server.to_str().unwrap(),
            "--keychain",
            "API_KEY,OTHER",
            "--value",
            &format!("API_KEY={key}"),
            "--value",
            &format!("OTHER={other}"),
            "--",
            report.to_str().unwrap(),
            "--api-key",
            "{crux:API_KEY}",
            "--flag={crux:UNDECLARED}",
        ],
    );
    // The host file holds the placeholder; the launcher fetches both.
    assert_eq!(entry["env"]["CRUX_AUTH_ENV_VARS"], "API_KEY,OTHER");
    let args: Vec<&str> = entry["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(args.contains(&"{crux:API_KEY}"), "{entry}");
    let show = env.run(&["mcp", "show", "stand-in", "--json"]);
    let show: serde_json::Value = serde_json::from_str(&show.success().stdout()).unwrap();
    assert_eq!(show["auth"]["in_args"], serde_json::json!(["API_KEY"]));
    let sent_in: Vec<&serde_json::Value> = show["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["sent_in"])
        .collect();
    assert_eq!(
        sent_in,
        [
            &serde_json::json!("in the arguments"),
            &serde_json::Value::Null
        ]
    );
    env.run(&["mcp", "show", "stand-in"])
        .success()
        .stdout_has("in the arguments");

    let mut cmd = common::entry_command(&entry, &env.home());
    cmd.stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(42),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&report).unwrap();
    let cmdline = text.lines().nth(1).unwrap();
    assert!(
        cmdline.contains(&format!("--api-key {key} ")),
        "the value is in argv: {cmdline}"
    );
    // Only declared variables are filled in; OTHER, named in no argument, goes in the env.
    assert!(cmdline.contains("--flag={crux:UNDECLARED}"), "{cmdline}");
    let environment: Vec<&str> = text.lines().skip(2).collect();
    assert!(
        !environment
            .iter()
            .any(|l| l.contains(&key) || l.starts_with("API_KEY=")),
        "an in_args credential is not in the environment: {text}"
    );
    assert!(
        environment.contains(&format!("OTHER={other}").as_str()),
        "{text}"
    );
    for output in [&out.stdout, &out.stderr] {
        assert!(!output.windows(key.len()).any(|w| w == key.as_bytes()));
    }
    let printed = env.printed.borrow();
    assert!(!printed.windows(key.len()).any(|w| w == key.as_bytes()));
    for (path, bytes) in env.all_files() {
        if path != report {
            assert!(
                !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                "the value is in {}",
                path.display()
            );
        }
    }
}

#[test]
fn an_in_args_registration_gets_its_credentials_only_for_its_own_command_line() {
    let key = random_value("argkey");
    let env = Env::for_backend("age");
    let server = write_server(env.dir.path());
    let report = env.dir.path().join("report.txt");
    let (_, mut entry) = common::install_entry(
        &env,
        "stand-in",
        &[
            "--command",
            server.to_str().unwrap(),
            "--keychain",
            "API_KEY",
            "--value",
            &format!("API_KEY={key}"),
            "--",
            report.to_str().unwrap(),
            "--api-key",
            "{crux:API_KEY}",
        ],
    );
    // A host that fills `{crux:API_KEY}` in from its own environment (Claude Code does) gets
    // nothing either, and is told why.
    let host_value = random_value("host");
    let mut expanded = entry.clone();
    for arg in expanded["args"].as_array_mut().unwrap() {
        if arg == "{crux:API_KEY}" {
            *arg = serde_json::json!(host_value);
        }
    }
    let mut cmd = common::entry_command(&expanded, &env.home());
    cmd.stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("changed the {crux:VAR} placeholders"),
        "{stderr}"
    );
    assert!(!stderr.contains(&host_value) && !stderr.contains(&key));
    assert!(!report.exists(), "the server was not started");
    // An entry that moves the placeholder to another argument gets nothing.
    let args = entry["args"].as_array_mut().unwrap();
    args.push(serde_json::json!("--leak={crux:API_KEY}"));
    let mut cmd = common::entry_command(&entry, &env.home());
    cmd.stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(!report.exists(), "the server was not started");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&key));
}
