//! Secrets stay secret: after a scripted session of stores, lists, deletes and a migration, no
//! file under the test's home (CRUX_HOME, the keyring's files) and nothing crux printed holds
//! any value in the clear. Files are 0600 and directories 0700.

mod common;

use common::{random_value, Env};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn scripted_session(env: &Env) -> Vec<String> {
    let values: Vec<String> = (0..6).map(|i| random_value(&format!("leak{i}"))).collect();
    env.run_stdin(
        &["mcp", "auth", "github", "GITHUB_TOKEN", "--stdin"],
        &values[0],
    )
    .success();
    env.run_stdin(
        &["mcp", "auth", "github", "GITHUB_TOKEN", "--stdin"],
        &values[1],
    )
    .success();
    env.run(&[
        "mcp",
        "auth",
        "wikijs",
        "--value",
        &format!("WIKIJS_API_KEY={}", values[2]),
        "--value",
        &format!("WIKIJS_URL={}", values[3]),
    ])
    .success();
    env.run_stdin(
        &["mcp", "auth", "slack", "SLACK_TOKEN", "--stdin"],
        &values[4],
    )
    .success();
    env.run(&["mcp", "auth", "--list"]).success();
    env.run(&["mcp", "auth", "--list", "--json"]).success();
    env.run(&["mcp", "auth", "--delete", "slack", "SLACK_TOKEN"])
        .success();
    env.run(&["backend"]).success();
    env.run(&["backend", "--json"]).success();
    // Failures print errors: they must not carry values either.
    env.run_stdin(&["mcp", "auth", "bad name", "X", "--stdin"], &values[5])
        .fails(1);
    env.run(&[
        "mcp",
        "auth",
        "gh",
        "--value",
        &format!("BAD-VAR={}", values[5]),
    ])
    .fails(1);
    env.run(&["mcp", "auth", "gh", "--value", &values[5]])
        .fails(2);
    values
}

fn assert_no_value_anywhere(env: &Env, values: &[String]) {
    let files = env.all_files();
    assert!(
        files.iter().any(|(p, _)| p.ends_with("secrets.json")),
        "the session wrote files"
    );
    for value in values {
        for (path, bytes) in &files {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "{} holds a secret value in the clear",
                path.display()
            );
        }
        let printed = env.printed.borrow();
        assert!(
            !printed.windows(value.len()).any(|w| w == value.as_bytes()),
            "crux printed a secret value"
        );
    }
}

fn assert_private(root: &Path) {
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        if entry.file_type().unwrap().is_dir() {
            assert_eq!(mode, 0o700, "{}", entry.path().display());
            assert_private(&entry.path());
        } else {
            assert_eq!(mode, 0o600, "{}", entry.path().display());
        }
    }
}

#[test]
fn age_session_leaks_nothing() {
    let env = Env::for_backend("age");
    let values = scripted_session(&env);
    assert_no_value_anywhere(&env, &values);
    let root = env.crux_home();
    assert_eq!(
        std::fs::metadata(&root).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_private(&root);
    // The values are really there, encrypted: the store decrypts to them.
    let store = crux::store::age_file::AgeFileStore::new(&crux::home::CruxHome::at(&root));
    let got = crux::store::SecretStore::get(
        &store,
        &crux::names::ServerName::parse("github").unwrap(),
        &crux::names::VarName::parse("GITHUB_TOKEN").unwrap(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(got.expose(), values[1]);
}

#[test]
fn secret_service_session_and_migration_leak_nothing() {
    let env = Env::desktop();
    let values = scripted_session(&env);
    env.run(&["backend", "migrate", "age"]).success();
    env.run(&["backend", "migrate", "secret-service"]).success();
    assert_no_value_anywhere(&env, &values);
    assert_private(&env.crux_home());
    let out = env.keyring().secret_tool(
        &["lookup", "service", "crux.wikijs", "username", "WIKIJS_URL"],
        None,
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), values[3]);
}
