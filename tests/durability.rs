//! The age store under concurrent writers and under a writer killed mid-write.

mod common;

use common::{age_plaintext, random_value, Env};
use crux::home::CruxHome;
use crux::names::{ServerName, VarName};
use crux::secret::Secret;
use crux::store::age_file::AgeFileStore;
use crux::store::SecretStore;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

/// 20 crux processes storing 20 variables at once, starting from an empty CRUX_HOME (so they
/// also race to create the identity): all 20 are stored and indexed, under one identity.
#[test]
fn twenty_concurrent_writers_lose_nothing() {
    let env = Env::for_backend("age");
    std::fs::create_dir_all(env.home()).unwrap();
    let values: Vec<(String, String)> = (0..20)
        .map(|i| (format!("VAR_{i}"), random_value(&format!("c{i}"))))
        .collect();
    let children: Vec<_> = values
        .iter()
        .map(|(var, _)| {
            env.cmd(&["mcp", "auth", "conc", var, "--stdin"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Feed the values only once every process is running, so they really overlap.
    let outputs: Vec<_> = children
        .into_iter()
        .zip(&values)
        .map(|(mut child, (_, value))| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(value.as_bytes())
                .unwrap();
            child
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut identity_messages = 0;
    for out in &outputs {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        identity_messages += String::from_utf8_lossy(&out.stderr)
            .matches("created the age identity")
            .count();
    }
    assert_eq!(
        identity_messages, 1,
        "exactly one process creates the identity"
    );

    let plain = age_plaintext(&env);
    for (var, value) in &values {
        assert_eq!(plain["secrets"]["conc"][var], value.as_str(), "{var}");
    }
    assert_eq!(plain["secrets"]["conc"].as_object().unwrap().len(), 20);
    let list = env.run(&["mcp", "auth", "--list", "conc", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list.success().stdout()).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        20,
        "all 20 are in the index"
    );
}

/// SIGKILL at many points of a write of a large store: afterwards the store always decrypts
/// and holds exactly the old content or exactly the new one. A temp file found after a kill
/// shows the kill landed mid-write; the test insists that happened.
#[test]
fn a_writer_killed_mid_write_leaves_the_old_or_the_new_store() {
    let env = Env::for_backend("age");
    let home = CruxHome::at(env.crux_home());
    // About 1 MB of secrets, so a write takes long enough to be interrupted.
    let seed = AgeFileStore::new(&home);
    for s in 0..30 {
        let mcp = ServerName::parse(&format!("server-{s}")).unwrap();
        let batch: Vec<(VarName, Secret)> = (0..60)
            .map(|v| {
                (
                    VarName::parse(&format!("VAR_{v}")).unwrap(),
                    Secret::new(format!("{}{}", random_value("seed"), "x".repeat(480))),
                )
            })
            .collect();
        seed.set_many(&mcp, &batch).unwrap();
    }

    let mut mid_write = 0;
    let mut completed = 0;
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    let temp = home.root().join(".secrets.age.tmp.");
    for attempt in 0..16u64 {
        let var = format!("KILLED_{attempt}");
        let value = random_value("new");
        let mut child = env
            .cmd(&["mcp", "auth", "target", &var, "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(value.as_bytes())
            .unwrap();
        let temp = temp.with_file_name(format!(".secrets.age.tmp.{}", child.id()));
        // Wait until the writer has begun its temp file, then kill it at a point that moves
        // through the write from one attempt to the next (some kills land after the rename).
        let start = std::time::Instant::now();
        while !temp.exists()
            && child.try_wait().unwrap().is_none()
            && start.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_micros(50));
        }
        std::thread::sleep(Duration::from_micros((attempt % 8) * 700));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if temp.exists() {
            mid_write += 1;
        }
        let plain = age_plaintext(&env);
        let target: BTreeMap<String, String> = plain["secrets"]
            .get("target")
            .and_then(|t| t.as_object())
            .map(|t| {
                t.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let mut with_new = expected.clone();
        with_new.insert(var.clone(), value.clone());
        if target == with_new {
            expected = with_new;
            completed += 1;
        } else {
            assert_eq!(
                target, expected,
                "attempt {attempt} ({status:?}): neither the old nor the new content"
            );
        }
        assert_eq!(
            plain["secrets"].as_object().unwrap().len(),
            30 + usize::from(!expected.is_empty()),
            "seeded servers intact"
        );
    }
    assert!(
        mid_write >= 4,
        "only {mid_write} kills landed in the middle of a write"
    );
    eprintln!("kills mid-write: {mid_write}, writes that completed first: {completed}");
}
