//! The command line, end to end in isolated homes: every way to store, list and delete, the
//! backend commands, and bad input — which gets one error line with a fix, a non-zero exit,
//! and loses nothing.

mod common;

use common::{age_plaintext, random_value, require_tool, Env};
use std::fs;
use std::path::Path;
use std::process::Command;

fn json(run: &common::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout()))
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".lock"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn store_in_every_way_then_list_and_delete() {
    let env = Env::for_backend("age");
    let (v1, v2, v3, v4) = (
        random_value("1"),
        random_value("2"),
        random_value("3"),
        random_value("4"),
    );
    env.run(&["mcp", "auth", "github", "GITHUB_TOKEN", &v1])
        .success()
        .stdout_has("✓ Stored GITHUB_TOKEN for 'github' (age)")
        .stderr_has("warning: a value given on the command line stays in your shell history");
    // --stdin drops one trailing newline, as `echo "$T" |` adds it.
    env.run_stdin(
        &["mcp", "auth", "slack", "SLACK_TOKEN", "--stdin"],
        &format!("{v2}\n"),
    )
    .success();
    let run = env.run(&[
        "mcp",
        "auth",
        "wikijs",
        "--value",
        &format!("WIKIJS_URL={v3}"),
        "--value",
        &format!("WIKIJS_API_KEY={v4}=with=equals"),
    ]);
    run.success()
        .stdout_has("✓ Stored WIKIJS_URL")
        .stdout_has("✓ Stored WIKIJS_API_KEY")
        .stderr_has("warning:");

    let plain = age_plaintext(&env);
    assert_eq!(plain["secrets"]["github"]["GITHUB_TOKEN"], v1.as_str());
    assert_eq!(plain["secrets"]["slack"]["SLACK_TOKEN"], v2.as_str());
    assert_eq!(
        plain["secrets"]["wikijs"]["WIKIJS_API_KEY"],
        format!("{v4}=with=equals").as_str()
    );

    let list = env.run(&["mcp", "auth", "--list"]);
    list.success()
        .stdout_has("SERVER")
        .stdout_has("WIKIJS_API_KEY");
    assert_eq!(list.stdout().lines().count(), 5, "{}", list.stdout());
    let filtered = json(
        env.run(&["mcp", "auth", "--list", "wikijs", "--json"])
            .success(),
    );
    let rows = filtered.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row["server"], "wikijs");
        assert_eq!(row["backend"], "age");
        assert_eq!(row["auth_type"], "keychain");
        assert!(row["stored_at"].as_str().unwrap().ends_with('Z'));
    }

    env.run(&["mcp", "auth", "--delete", "wikijs", "WIKIJS_URL"])
        .success()
        .stdout_has("✓ Deleted WIKIJS_URL for 'wikijs' (age)");
    assert!(age_plaintext(&env)["secrets"]["wikijs"]
        .get("WIKIJS_URL")
        .is_none());
    assert_eq!(
        json(
            env.run(&["mcp", "auth", "--list", "wikijs", "--json"])
                .success()
        )
        .as_array()
        .unwrap()
        .len(),
        1
    );
    env.run(&["mcp", "auth", "--delete", "wikijs", "WIKIJS_URL"])
        .fails(1)
        .stderr_has("WIKIJS_URL is not stored");

    let empty = env.run(&["mcp", "auth", "--list", "nothing-here"]);
    empty
        .success()
        .stderr_has("No credentials stored for 'nothing-here'");
    assert!(empty.stdout().is_empty());
}

/// The hidden prompt on a real terminal: what is typed is stored and never echoed.
#[test]
fn prompt_reads_hidden_input_from_the_terminal() {
    let env = Env::for_backend("age");
    let value = random_value("typed");
    let screen = on_terminal(&env, "mcp auth github GITHUB_TOKEN", &[&value]);
    assert!(
        screen.contains("Enter GITHUB_TOKEN for 'github':"),
        "{screen}"
    );
    assert!(screen.contains("✓ Stored GITHUB_TOKEN"), "{screen}");
    assert_eq!(
        age_plaintext(&env)["secrets"]["github"]["GITHUB_TOKEN"],
        value.as_str()
    );
}

#[test]
fn no_terminal_and_no_value_says_how_to_pipe_it() {
    let env = Env::for_backend("age");
    env.run(&["mcp", "auth", "github", "GITHUB_TOKEN"])
        .fails(2)
        .stderr_has("--stdin");
    assert!(!env.crux_home().join("secrets.age").exists());
}

#[test]
fn invalid_names_are_refused_before_anything_is_written() {
    let env = Env::for_backend("age");
    for (mcp, var) in [
        ("../../etc", "X"),
        ("has space", "X"),
        ("a;rm -rf ~", "X"),
        ("ok", "BAD-NAME"),
        ("ok", "1STARTS_WITH_DIGIT"),
        ("ok", "A.B"),
    ] {
        env.run(&["mcp", "auth", mcp, var, "value"])
            .fails(1)
            .stderr_has(if mcp == "ok" {
                "not a valid environment variable name"
            } else {
                "invalid server name"
            });
    }
    env.run(&["mcp", "auth", "--", "-flag", "X", "value"])
        .fails(1)
        .stderr_has("invalid server name '-flag'");
    env.run(&["mcp", "auth", "ok", "--value", "BAD-NAME=x"])
        .fails(1);
    env.run(&["mcp", "auth", "--list", "../x"]).fails(1);
    env.run(&["mcp", "auth", "--delete", "ok", "A-B"]).fails(1);
    assert!(!env.crux_home().join("secrets.age").exists());
    assert!(!env.crux_home().join("secrets.json").exists());
}

#[test]
fn empty_values_are_refused_and_keep_the_stored_one() {
    let env = Env::for_backend("age");
    let value = random_value("keep");
    env.run_stdin(&["mcp", "auth", "gh", "TOKEN", "--stdin"], &value)
        .success();
    env.run_stdin(&["mcp", "auth", "gh", "TOKEN", "--stdin"], "")
        .fails(1)
        .stderr_has("empty");
    env.run_stdin(&["mcp", "auth", "gh", "TOKEN", "--stdin"], "\n")
        .fails(1)
        .stderr_has("empty");
    env.run(&["mcp", "auth", "gh", "TOKEN", ""]).fails(1);
    // One bad pair stores nothing, not even the good one.
    env.run(&[
        "mcp",
        "auth",
        "gh",
        "--value",
        "OTHER=fine",
        "--value",
        "TOKEN=",
    ])
    .fails(1);
    env.run(&["mcp", "auth", "gh", "--value", "NOEQUALS"])
        .fails(2);
    let plain = age_plaintext(&env);
    assert_eq!(plain["secrets"]["gh"]["TOKEN"], value.as_str());
    assert!(plain["secrets"]["gh"].get("OTHER").is_none());
}

#[test]
fn a_corrupt_index_stops_a_store_and_nothing_changes() {
    let env = Env::for_backend("age");
    env.run_stdin(
        &["mcp", "auth", "gh", "TOKEN", "--stdin"],
        &random_value("x"),
    )
    .success();
    let home = env.crux_home();
    fs::write(home.join("secrets.json"), b"{ this is not json").unwrap();
    let before = snapshot(&home);
    env.run_stdin(&["mcp", "auth", "gh", "OTHER", "--stdin"], "v")
        .fails(1)
        .stderr_has("secrets.json cannot be read")
        .stderr_has("mv ");
    env.run(&["mcp", "auth", "--list"]).fails(1);
    env.run(&["mcp", "auth", "--delete", "gh", "TOKEN"])
        .fails(1);
    assert_eq!(snapshot(&home), before);

    fs::write(
        home.join("secrets.json"),
        br#"{"version": 99, "servers": {}}"#,
    )
    .unwrap();
    env.run(&["mcp", "auth", "--list"])
        .fails(1)
        .stderr_has("newer crux");
    fs::write(home.join("secrets.json"), br#"{"servers": {}}"#).unwrap();
    env.run(&["mcp", "auth", "--list"])
        .fails(1)
        .stderr_has("no \"version\"");
}

#[test]
fn a_corrupt_store_is_reported_and_left_alone() {
    let env = Env::for_backend("age");
    env.run_stdin(
        &["mcp", "auth", "gh", "TOKEN", "--stdin"],
        &random_value("x"),
    )
    .success();
    let home = env.crux_home();
    fs::write(
        home.join("secrets.age"),
        b"age-encryption.org/v1\n-> garbage\n",
    )
    .unwrap();
    let before = snapshot(&home);
    env.run_stdin(&["mcp", "auth", "gh", "OTHER", "--stdin"], "v")
        .fails(1)
        .stderr_has("secrets.age cannot be read")
        .stderr_has("restore");
    env.run(&["mcp", "auth", "--delete", "gh", "TOKEN"])
        .fails(1);
    assert_eq!(snapshot(&home), before);
    // Listing reads the index only, so it still works.
    env.run(&["mcp", "auth", "--list"])
        .success()
        .stdout_has("TOKEN");
}

#[test]
fn a_wrong_or_missing_identity_never_costs_a_secret() {
    require_tool("age-keygen", "age");
    let env = Env::for_backend("age");
    let value = random_value("precious");
    env.run_stdin(&["mcp", "auth", "gh", "TOKEN", "--stdin"], &value)
        .success();
    let home = env.crux_home();
    let key = home.join("age-identity.key");
    let original_key = fs::read(&key).unwrap();

    // Another identity in its place: crux refuses, rewrites nothing.
    fs::remove_file(&key).unwrap();
    assert!(Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .unwrap()
        .status
        .success());
    let before = snapshot(&home);
    env.run_stdin(&["mcp", "auth", "gh", "OTHER", "--stdin"], "v")
        .fails(1)
        .stderr_has("is not encrypted to the identity")
        .stderr_has("backup");
    assert_eq!(snapshot(&home), before);

    // No identity at all: crux must not create a new one while secrets.age exists.
    fs::remove_file(&key).unwrap();
    let before = snapshot(&home);
    env.run_stdin(&["mcp", "auth", "gh", "OTHER", "--stdin"], "v")
        .fails(1)
        .stderr_has("age-identity.key is missing")
        .stderr_has("will not create a new identity");
    assert!(!key.exists());
    assert_eq!(snapshot(&home), before);

    // The original identity back: everything is still there.
    fs::write(&key, &original_key).unwrap();
    assert_eq!(
        age_plaintext(&env)["secrets"]["gh"]["TOKEN"],
        value.as_str()
    );
}

#[test]
fn an_unreachable_secret_service_is_a_clear_error() {
    let env = Env::for_backend("secret-service");
    let mut cmd = env.cmd(&["mcp", "auth", "gh", "TOKEN", "--stdin"]);
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", env.dir.path().join("no-such-bus").display()),
    );
    env.run_cmd(cmd, Some("value"))
        .fails(1)
        .stderr_has("secret-service backend is unavailable")
        .stderr_has("crux backend set age");

    // A bus with no Secret Service on it.
    let headless = Env::headless();
    let keyring_less_bus = common::Keyring::start();
    let mut cmd = headless.cmd(&["mcp", "auth", "gh", "TOKEN", "--stdin"]);
    cmd.env("CRUX_BACKEND", "secret-service");
    cmd.env("DBUS_SESSION_BUS_ADDRESS", &keyring_less_bus.address);
    drop(keyring_less_bus);
    headless
        .run_cmd(cmd, Some("value"))
        .fails(1)
        .stderr_has("unavailable");
    assert!(!headless.crux_home().join("secrets.json").exists());
}

#[test]
fn a_locked_keyring_is_a_clear_error_never_a_silent_switch() {
    let env = Env::desktop();
    env.run_stdin(
        &["mcp", "auth", "gh", "TOKEN", "--stdin"],
        &random_value("x"),
    )
    .success()
    .stdout_has("(secret-service)");
    env.keyring().lock();
    let index_before = fs::read(env.crux_home().join("secrets.json")).unwrap();
    // Automatic choice: the stored credentials are in the Secret Service, so crux stays there
    // and reports the lock instead of writing new credentials somewhere else.
    env.run(&["backend"]).success().stdout_has(
        "backend: secret-service (automatic: 1 stored credential(s) are in secret-service)",
    );
    env.run_stdin(&["mcp", "auth", "gh", "TOKEN", "--stdin"], "new")
        .fails(1)
        .stderr_has("keystore (GNOME Keyring) is locked")
        .stderr_has("unlock");
    let mut cmd = env.cmd(&["mcp", "auth", "--delete", "gh", "TOKEN"]);
    cmd.env("CRUX_BACKEND", "secret-service");
    env.run_cmd(cmd, None).fails(1).stderr_has("locked");
    assert_eq!(
        fs::read(env.crux_home().join("secrets.json")).unwrap(),
        index_before
    );
    assert!(
        !env.crux_home().join("secrets.age").exists(),
        "nothing went to the age file"
    );

    // A fresh install next to a locked keyring starts on the age file, and says why.
    let fresh = Env::desktop();
    fresh.keyring().lock();
    fresh
        .run(&["backend"])
        .success()
        .stdout_has("backend: age (automatic: no usable Secret Service (the secret-service keystore (GNOME Keyring) is locked");
}

#[test]
fn values_given_in_the_wrong_place_are_never_echoed() {
    let env = Env::for_backend("age");
    let token = format!("ghp_{}", random_value("t").replace('-', "_"));
    for args in [
        vec!["mcp", "auth", "gh", &token],
        vec!["mcp", "auth", "gh", "--value", &token],
        vec!["mcp", "auth", "gh", "TOKEN", "value with", "spaces", &token],
        vec!["mcp", "auth", "gh", "TOKEN", "-dash-value", &token],
    ] {
        let run = env.run(&args);
        assert!(!run.0.status.success());
        assert!(
            !run.stderr().contains(&token) && !run.stdout().contains(&token),
            "{}",
            run.stderr()
        );
    }
    // A value that starts with a dash is still a value.
    env.run(&["mcp", "auth", "gh", "TOKEN", "-dash-value"])
        .success();
    assert_eq!(age_plaintext(&env)["secrets"]["gh"]["TOKEN"], "-dash-value");
}

#[test]
fn backend_shows_the_choice_and_why() {
    let headless = Env::headless();
    headless
        .run(&["backend"])
        .success()
        .stdout_has("backend: age (automatic: no usable Secret Service")
        .stdout_has("no credentials yet");
    let desktop = Env::desktop();
    desktop
        .run(&["backend"])
        .success()
        .stdout_has("backend: secret-service (automatic: a Secret Service (GNOME Keyring) answered on the session bus and stored, read and deleted a test item)");
    let mut cmd = desktop.cmd(&["backend", "--json"]);
    cmd.env("CRUX_BACKEND", "age");
    let out = desktop.run_cmd(cmd, None);
    let doc = json(out.success());
    assert_eq!(doc["backend"], "age");
    assert_eq!(doc["reason"], "env");

    let mut cmd = desktop.cmd(&["backend"]);
    cmd.env("CRUX_BACKEND", "vault");
    desktop
        .run_cmd(cmd, None)
        .fails(2)
        .stderr_has("CRUX_BACKEND='vault' is not a backend");

    desktop
        .run(&["backend", "set", "age"])
        .success()
        .stdout_has("✓ Saved backend: age");
    desktop
        .run(&["backend"])
        .success()
        .stdout_has("backend: age (saved");
    desktop
        .run_stdin(&["mcp", "auth", "gh", "TOKEN", "--stdin"], "v")
        .success()
        .stdout_has("(age)");
    headless
        .run(&["backend", "set", "secret-service"])
        .fails(1)
        .stderr_has("unavailable");
    headless
        .run(&["backend", "set", "keychain"])
        .fails(1)
        .stderr_has("not available on this platform");
    headless
        .run(&["backend", "set", "nonsense"])
        .usage_error()
        .stderr_has("possible values: keychain, secret-service, age");
    assert!(!headless.crux_home().join("settings.json").exists());
}

#[test]
fn migrate_moves_every_credential_both_ways_and_deletes_old_copies() {
    let env = Env::desktop();
    let keyring = env.keyring();
    let values: Vec<(String, String, String)> = [
        ("github", "GITHUB_TOKEN"),
        ("wikijs", "WIKIJS_API_KEY"),
        ("wikijs", "WIKIJS_URL"),
    ]
    .iter()
    .map(|(m, v)| (m.to_string(), v.to_string(), random_value(v)))
    .collect();
    for (mcp, var, value) in &values {
        env.run_stdin(&["mcp", "auth", mcp, var, "--stdin"], value)
            .success()
            .stdout_has("(secret-service)");
    }
    let lookup = |mcp: &str, var: &str| {
        let out = keyring.secret_tool(
            &["lookup", "service", &format!("crux.{mcp}"), "username", var],
            None,
        );
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap())
    };

    env.run(&["backend", "migrate", "age"])
        .success()
        .stdout_has("✓ Moved 3 credential(s) to age");
    let plain = age_plaintext(&env);
    for (mcp, var, value) in &values {
        assert_eq!(plain["secrets"][mcp][var], value.as_str());
        assert_eq!(lookup(mcp, var), None, "old copy of {mcp} {var} deleted");
    }
    let list = json(env.run(&["mcp", "auth", "--list", "--json"]).success());
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["backend"] == "age"));
    env.run(&["backend"])
        .success()
        .stdout_has("backend: age (saved");

    env.run(&["backend", "migrate", "secret-service"])
        .success()
        .stdout_has("✓ Moved 3 credential(s) to secret-service");
    for (mcp, var, value) in &values {
        assert_eq!(lookup(mcp, var).as_deref(), Some(value.as_str()));
    }
    let plain = age_plaintext(&env);
    assert_eq!(
        plain["secrets"],
        serde_json::json!({}),
        "age copies deleted"
    );
    env.run(&["backend", "migrate", "secret-service"])
        .success()
        .stdout_has("✓ Moved 0 credential(s)");
}

/// Runs crux under a terminal (`script`), typing each line once the prompt is up; no typed
/// value may show.
fn on_terminal(env: &Env, args: &str, lines: &[&str]) -> String {
    let screen = common::on_terminal(env, &env.home(), args, lines);
    for line in lines {
        assert!(!screen.contains(line), "a typed value was echoed: {screen}");
    }
    screen
}

/// `crux mcp auth <MCP>` prompts for every declared variable not yet stored; `--refresh`
/// prompts for the stored ones too.
#[test]
fn auth_of_a_registered_server_prompts_for_what_is_missing() {
    let env = Env::for_backend("age");
    env.run(&[
        "mcp",
        "add",
        "wiki",
        "--npx",
        "wikijs-mcp",
        "--no-install",
        "--keychain",
        "WIKI_URL_KEY,WIKI_API_KEY",
    ])
    .success()
    .stdout_has("Store its credentials with: crux mcp auth wiki");
    let (a, b) = (random_value("a"), random_value("b"));
    let screen = on_terminal(&env, "mcp auth wiki", &[&a, &b]);
    assert!(
        screen.contains("Enter WIKI_URL_KEY for 'wiki':")
            && screen.contains("Enter WIKI_API_KEY for 'wiki':"),
        "{screen}"
    );
    assert!(screen.contains("✓ Authenticated 'wiki'"), "{screen}");
    let plain = age_plaintext(&env);
    assert_eq!(plain["secrets"]["wiki"]["WIKI_URL_KEY"], a.as_str());
    assert_eq!(plain["secrets"]["wiki"]["WIKI_API_KEY"], b.as_str());

    let (c, d) = (random_value("c"), random_value("d"));
    on_terminal(&env, "mcp auth wiki --refresh", &[&c, &d]);
    let plain = age_plaintext(&env);
    assert_eq!(plain["secrets"]["wiki"]["WIKI_URL_KEY"], c.as_str());
    assert_eq!(plain["secrets"]["wiki"]["WIKI_API_KEY"], d.as_str());
}
