//! Interoperability, both directions: `secret-tool` ↔ crux on a real gnome-keyring, and the
//! `age` CLI ↔ crux on the encrypted file.

mod common;

use common::{age_plaintext, random_value, require_tool, Env};
use crux::home::CruxHome;
use crux::names::{ServerName, VarName};
use crux::secret::Secret;
use crux::store::age_file::AgeFileStore;
use crux::store::secret_service::SecretServiceStore;
use crux::store::SecretStore;
use std::process::Command;

fn names(mcp: &str, var: &str) -> (ServerName, VarName) {
    (
        ServerName::parse(mcp).unwrap(),
        VarName::parse(var).unwrap(),
    )
}

#[test]
fn secret_tool_reads_what_crux_stored() {
    let env = Env::desktop();
    let value = random_value("gh");
    env.run_stdin(
        &["mcp", "auth", "github", "GITHUB_TOKEN", "--stdin"],
        &value,
    )
    .success()
    .stdout_has("✓ Stored GITHUB_TOKEN")
    .stdout_has("(secret-service)");
    let out = env.keyring().secret_tool(
        &[
            "lookup",
            "service",
            "crux.github",
            "username",
            "GITHUB_TOKEN",
        ],
        None,
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
}

#[test]
fn crux_reads_updates_and_deletes_what_secret_tool_stored() {
    let env = Env::desktop();
    let keyring = env.keyring();
    let value = random_value("tool");
    let out = keyring.secret_tool(
        &[
            "store",
            "--label=made by secret-tool",
            "service",
            "crux.wikijs",
            "username",
            "WIKIJS_API_KEY",
        ],
        Some(&value),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (mcp, var) = names("wikijs", "WIKIJS_API_KEY");
    let store = SecretServiceStore::connect_to(&keyring.address).unwrap();
    assert_eq!(store.get(&mcp, &var).unwrap().unwrap().expose(), value);

    // Re-storing updates that item in place: secret-tool sees one item, with the new value.
    let newer = random_value("newer");
    env.run_stdin(
        &["mcp", "auth", "wikijs", "WIKIJS_API_KEY", "--stdin"],
        &newer,
    )
    .success();
    let out = keyring.secret_tool(
        &[
            "lookup",
            "service",
            "crux.wikijs",
            "username",
            "WIKIJS_API_KEY",
        ],
        None,
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), newer);
    let out = keyring.secret_tool(&["search", "--all", "service", "crux.wikijs"], None);
    let listing =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        listing
            .matches("attribute.username = WIKIJS_API_KEY")
            .count(),
        1,
        "{listing}"
    );

    env.run(&["mcp", "auth", "--delete", "wikijs", "WIKIJS_API_KEY"])
        .success();
    let out = keyring.secret_tool(
        &[
            "lookup",
            "service",
            "crux.wikijs",
            "username",
            "WIKIJS_API_KEY",
        ],
        None,
    );
    assert!(!out.status.success() && out.stdout.is_empty(), "deleted");
}

#[test]
fn age_cli_decrypts_what_crux_stored() {
    let env = Env::for_backend("age");
    let (a, b) = (random_value("a"), random_value("b"));
    env.run_stdin(&["mcp", "auth", "github", "GITHUB_TOKEN", "--stdin"], &a)
        .success()
        .stderr_has("back it up");
    env.run_stdin(&["mcp", "auth", "slack", "SLACK_TOKEN", "--stdin"], &b)
        .success();
    let doc = age_plaintext(&env);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["secrets"]["github"]["GITHUB_TOKEN"], a.as_str());
    assert_eq!(doc["secrets"]["slack"]["SLACK_TOKEN"], b.as_str());
}

/// A store the user wrote with the age CLI (identity from age-keygen, bare JSON), binary and
/// armored: crux reads it, and its own writes keep the user's entries.
#[test]
fn crux_reads_and_extends_a_store_the_age_cli_wrote() {
    require_tool("age-keygen", "age");
    for armor in [false, true] {
        let env = Env::for_backend("age");
        let home = env.crux_home();
        std::fs::create_dir_all(&home).unwrap();
        // Private, as crux requires of CRUX_HOME (as ssh does of ~/.ssh).
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let key = home.join("age-identity.key");
        let out = Command::new("age-keygen")
            .arg("-o")
            .arg(&key)
            .output()
            .unwrap();
        assert!(out.status.success());
        let public = String::from_utf8_lossy(&out.stderr)
            .trim()
            .trim_start_matches("Public key: ")
            .to_owned();
        let value = random_value("cli");
        let plain = home.join("plain.json");
        std::fs::write(
            &plain,
            format!(r#"{{"wikijs": {{"WIKIJS_API_KEY": "{value}"}}}}"#),
        )
        .unwrap();
        let mut age = Command::new("age");
        age.arg("-r")
            .arg(&public)
            .arg("-o")
            .arg(home.join("secrets.age"));
        if armor {
            age.arg("-a");
        }
        assert!(age.arg(&plain).status().unwrap().success());
        std::fs::remove_file(&plain).unwrap();

        let (mcp, var) = names("wikijs", "WIKIJS_API_KEY");
        let store = AgeFileStore::new(&CruxHome::at(&home));
        assert_eq!(
            store.get(&mcp, &var).unwrap().unwrap().expose(),
            value,
            "armor={armor}"
        );

        let identity_before = std::fs::read(&key).unwrap();
        let added = random_value("added");
        env.run_stdin(
            &["mcp", "auth", "github", "GITHUB_TOKEN", "--stdin"],
            &added,
        )
        .success();
        let doc = age_plaintext(&env);
        assert_eq!(doc["secrets"]["wikijs"]["WIKIJS_API_KEY"], value.as_str());
        assert_eq!(doc["secrets"]["github"]["GITHUB_TOKEN"], added.as_str());
        assert_eq!(
            std::fs::read(&key).unwrap(),
            identity_before,
            "the user's identity is kept"
        );
        let store = AgeFileStore::new(&CruxHome::at(&home));
        assert_eq!(
            store
                .get(&mcp, &var)
                .unwrap()
                .map(|s: Secret| s.expose().to_owned()),
            Some(value)
        );
    }
}
