//! `crux doctor [--live] [--json]` against real setups: a temporary CRUX_HOME on the age
//! backend, the real server-everything from the kit, local scripts, and each host's own files
//! written as the host writes them. A healthy setup passes; each broken one fails with its fix.

mod common;

use common::{kit, random_value, setup_kit, Env, Run, CRUX};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A user with crux on PATH (as after `cargo install`), on the age backend.
struct Setup {
    env: Env,
    project: PathBuf,
    extra: Vec<(String, PathBuf)>,
}

impl Setup {
    fn new() -> Setup {
        Setup::on(Env::for_backend("age"))
    }

    fn on(env: Env) -> Setup {
        let project = env.dir.path().join("project");
        fs::create_dir_all(&project).unwrap();
        fs::create_dir_all(env.home()).unwrap();
        Setup {
            env,
            project,
            extra: Vec::new(),
        }
    }

    fn path_var() -> String {
        let bin = Path::new(CRUX).parent().unwrap();
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// crux in the project folder, with crux on PATH.
    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.env.cmd(args);
        cmd.current_dir(&self.project).env("PATH", Self::path_var());
        for (k, v) in &self.extra {
            cmd.env(k, v);
        }
        self.env.run_cmd(cmd, None)
    }

    /// crux with the words of `line`, then `more`.
    fn line(&self, line: &str, more: &[&str]) -> Run {
        let mut args: Vec<&str> = line.split_whitespace().collect();
        args.extend_from_slice(more);
        self.run(&args)
    }

    fn crux_home(&self) -> PathBuf {
        self.env.crux_home()
    }

    /// server-everything with one stored credential, installed in the project.
    fn everything(&self) {
        setup_kit();
        let script =
            kit().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
        self.run(&[
            "mcp",
            "add",
            "everything",
            "--command",
            "node",
            "--keychain",
            "EVERYTHING_API_KEY",
            "--value",
            &format!("EVERYTHING_API_KEY={}", random_value("api")),
            "--",
            script.to_str().unwrap(),
        ])
        .success();
        self.run(&["project", "install", "everything"]).success();
    }

    /// A server without credentials (`cat`), installed in the project.
    fn plain_project(&self) {
        self.run(&["mcp", "add", "plain", "--command", "/bin/cat"])
            .success();
        self.run(&["project", "install", "plain"]).success();
    }

    /// Claude Code's files for a folder it trusts, with the project's servers approved.
    fn trust_in_claude(&self, servers: &[&str]) {
        let config = json!({
            "projects": { self.project.to_str().unwrap(): { "hasTrustDialogAccepted": true } }
        });
        fs::write(self.env.home().join(".claude.json"), config.to_string()).unwrap();
        fs::create_dir_all(self.project.join(".claude")).unwrap();
        fs::write(
            self.project.join(".claude/settings.local.json"),
            json!({ "enabledMcpjsonServers": servers }).to_string(),
        )
        .unwrap();
    }

    fn doctor(&self, args: &[&str]) -> Run {
        let mut all = vec!["doctor"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// `crux doctor` fails, with a check holding every piece of `wanted`.
    #[track_caller]
    fn doctor_fails(&self, wanted: &[&str]) -> Run {
        let run = self.doctor(&[]);
        fails_with(&run, wanted);
        run
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let run = self.doctor(&all);
        serde_json::from_str(&run.stdout())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout(), run.stderr()))
    }
}

/// The check lines of a report.
fn lines(run: &Run) -> Vec<String> {
    run.stdout()
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(['✓', '✗', '!']))
        .map(str::to_string)
        .collect()
}

/// Fails with exit 1, an error line counting the failures, and a failed check holding every
/// piece of `wanted` (the problem and its fix).
#[track_caller]
fn fails_with(run: &Run, wanted: &[&str]) {
    run.fails(1).stderr_has("checks failed");
    let found = lines(run)
        .into_iter()
        .any(|l| l.starts_with('✗') && wanted.iter().all(|w| l.contains(w)));
    assert!(found, "no ✗ line with {wanted:?}:\n{}", run.stdout());
    for l in lines(run).iter().filter(|l| l.starts_with('✗')) {
        assert!(l.contains(" — fix: "), "every failure has a fix: {l}");
    }
}

/// A healthy setup: every check passes; `--live` starts server-everything through its
/// `.mcp.json` entry and reports its tools; `--json` has the documented shape.
#[test]
fn a_healthy_setup_passes_and_live_starts_the_server() {
    let s = Setup::new();
    s.everything();
    s.trust_in_claude(&["everything"]);
    let run = s.doctor(&[]);
    run.success();
    let all = lines(&run);
    assert!(all.len() >= 8, "{}", run.stdout());
    assert!(
        all.iter().all(|l| l.starts_with('✓')),
        "all ✓:\n{}",
        run.stdout()
    );
    run.stdout_has("✓ everything: registered")
        .stdout_has(".mcp.json: current")
        .stdout_has("Claude Code trust of")
        .stdout_has(&format!("{} checks, 0 failed", all.len()));

    let run = s.doctor(&["--live"]);
    run.success();
    assert!(
        lines(&run).iter().all(|l| l.starts_with('✓')),
        "{}",
        run.stdout()
    );
    run.stdout_has("✓ everything: 1 credential(s) readable from age");
    let started = lines(&run)
        .into_iter()
        .find(|l| l.contains("started through"))
        .unwrap_or_else(|| panic!("no start line:\n{}", run.stdout()));
    assert!(started.contains(".mcp.json"), "{started}");
    let tools: usize = started
        .split(": ")
        .nth(2)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no tool count: {started}"));
    assert!(tools >= 5, "{started}");

    let out = s.json(&["--live"]);
    let checks = out["checks"].as_array().unwrap();
    assert_eq!(out["summary"]["failed"], 0, "{out:#}");
    assert_eq!(out["summary"]["checks"], checks.len());
    for c in checks {
        for key in ["check", "subject", "ok", "problem", "fix"] {
            assert!(c.get(key).is_some(), "{key} in {c}");
        }
        assert_eq!(c["ok"], true, "{c}");
        assert!(c["problem"].is_null() && c["fix"].is_null(), "{c}");
    }
    assert!(checks.iter().any(|c| c["check"] == "start"));
    // Nothing printed holds the stored value.
    let printed = String::from_utf8_lossy(&s.env.printed.borrow()).into_owned();
    assert!(!printed.contains("test-api-"), "a value was printed");
}

#[test]
fn a_credential_not_stored_fails_with_crux_mcp_auth() {
    let s = Setup::new();
    s.line("mcp add wiki --command /bin/cat --keychain WIKI_TOKEN", &[])
        .success();
    s.doctor_fails(&["wiki: WIKI_TOKEN is not stored", "fix: crux mcp auth wiki"]);
    let out = s.json(&[]);
    assert_eq!(out["summary"]["failed"], 1, "{out:#}");
    let failed: Vec<&Value> = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failed[0]["subject"], "wiki");
    assert_eq!(failed[0]["problem"], "WIKI_TOKEN is not stored");
    assert_eq!(failed[0]["fix"], "crux mcp auth wiki");
}

#[test]
fn a_missing_or_stale_launcher_fails_until_sync_reinstalls_it() {
    let s = Setup::new();
    s.line(
        "mcp add wiki --command /bin/cat --keychain WIKI_TOKEN --value",
        &[&format!("WIKI_TOKEN={}", random_value("w"))],
    )
    .success();
    s.run(&["project", "install", "wiki"]).success();
    let launcher = s.crux_home().join("launchers/keychain-auth.sh");
    fs::remove_file(&launcher).unwrap();
    s.doctor_fails(&[
        "keychain-auth.sh",
        "is missing (needed by wiki)",
        "fix: crux project sync --all",
    ]);
    s.run(&["project", "sync", "--all"]).success();
    s.doctor(&[]).success();

    let mut text = fs::read_to_string(&launcher).unwrap();
    text = text.replace("installed_bin=", "installed_bin=/nonexistent/crux #");
    fs::write(&launcher, text).unwrap();
    let run = s.doctor(&[]);
    fails_with(
        &run,
        &[
            "keychain-auth.sh",
            "is stale",
            "fix: crux project sync --all",
        ],
    );
    fails_with(&run, &["/nonexistent/crux", "not an executable file"]);
    s.run(&["project", "sync", "--all"]).success();
    s.doctor(&[]).success();
}

#[test]
fn bad_permissions_on_crux_home_or_a_file_fail_with_chmod() {
    let s = Setup::new();
    s.run(&["mcp", "add", "plain", "--command", "/bin/cat"])
        .success();
    let home = s.crux_home();
    fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).unwrap();
    // Every other command refuses this CRUX_HOME; doctor says how to fix it.
    s.doctor_fails(&[
        "readable by other users (mode 755)",
        &format!("fix: chmod 700 {}", home.display()),
    ]);
    fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
    let registry = home.join("registry.json");
    fs::set_permissions(&registry, fs::Permissions::from_mode(0o664)).unwrap();
    s.doctor_fails(&[
        "registry.json: is writable by other users (mode 664)",
        &format!("fix: chmod 600 {}", registry.display()),
    ]);
    fs::set_permissions(&registry, fs::Permissions::from_mode(0o600)).unwrap();
    s.doctor(&[]).success();
}

#[test]
fn a_missing_binary_an_external_program_off_path_and_setup_not_run_fail() {
    let s = Setup::new();
    let script = s.env.dir.path().join("server.sh");
    fs::write(&script, "#!/bin/sh\nexec cat\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    s.run(&["mcp", "add", "gone", "--command", script.to_str().unwrap()])
        .success();
    s.doctor(&[]).success();
    fs::remove_file(&script).unwrap();
    s.doctor_fails(&[
        "gone:",
        &format!("`{}` is missing", script.display()),
        "crux mcp add gone --force",
    ]);

    s.run(&[
        "mcp",
        "add",
        "ext",
        "--command",
        "/bin/cat",
        "--external-cli",
        "EXT_TOKEN=no-such-program-for-crux-doctor token",
    ])
    .success();
    s.doctor_fails(&[
        "ext: `no-such-program-for-crux-doctor` (for EXT_TOKEN) is not on PATH",
        "fix: install no-such-program-for-crux-doctor",
    ]);

    s.run(&[
        "mcp",
        "add",
        "setup",
        "--command",
        "/bin/cat",
        "--setup-cmd",
        "true",
    ])
    .success();
    s.doctor_fails(&[
        "setup: its setup command has not run",
        "fix: crux mcp auth setup",
    ]);
}

#[test]
fn an_expired_oauth_token_without_refresh_token_fails() {
    let s = Setup::new();
    s.run(&[
        "mcp",
        "add",
        "remote",
        "--url",
        "https://mcp.invalid/mcp",
        "--oauth",
    ])
    .success();
    // The index as a sign-in leaves it, with a token that expired an hour ago and no
    // refresh token (nothing secret: the index holds no values).
    let index_path = s.crux_home().join("secrets.json");
    let mut index: Value = match fs::read(&index_path) {
        Ok(b) => serde_json::from_slice(&b).unwrap(),
        Err(_) => json!({"version": 1, "servers": {}}),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    index["servers"]["remote"] = json!({
        "credentials": {"access_token": {
            "backend": "age", "auth_type": "oauth", "stored_at": "2026-01-01T00:00:00Z"
        }},
        "oauth": {"expires_at": now - 3600, "lifetime": 3600, "has_refresh_token": false},
    });
    fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    fs::set_permissions(&index_path, fs::Permissions::from_mode(0o600)).unwrap();
    s.doctor_fails(&[
        "remote: its OAuth token has expired and there is no refresh token",
        "fix: crux mcp auth remote",
    ]);
}

#[test]
fn a_stale_mcp_json_fails_until_synced() {
    let s = Setup::new();
    s.plain_project();
    s.trust_in_claude(&["plain"]);
    s.doctor(&[]).success().stdout_has(".mcp.json: current");
    let path = s.project.join(".mcp.json");
    let mut doc: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    doc["mcpServers"]["plain"]["args"] = json!(["--changed"]);
    fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    s.doctor_fails(&[".mcp.json: stale", "fix: crux project sync --all"]);
    s.run(&["project", "sync", "--all"]).success();
    s.doctor(&[]).success();
}

#[test]
fn claude_code_trust_and_approval_are_checked() {
    let mut s = Setup::new();
    s.plain_project();
    // Claude Code never ran: a warning, not a failure.
    s.doctor(&[]).success().stdout_has("! Claude Code trust of");

    fs::write(
        s.env.home().join(".claude.json"),
        json!({"projects": {}}).to_string(),
    )
    .unwrap();
    let run = s.doctor(&[]);
    fails_with(
        &run,
        &[
            "Claude Code trust of",
            "not trusted yet",
            "accept the trust dialog",
        ],
    );
    fails_with(
        &run,
        &[
            "approval of 'plain'",
            "not approved",
            "\"enabledMcpjsonServers\": [\"plain\"]",
        ],
    );

    s.trust_in_claude(&[]);
    let run = s.doctor(&[]);
    fails_with(&run, &["approval of 'plain'", "not approved"]);
    run.stdout_has("✓ Claude Code trust of");

    // Approved for every project server in the user's settings.
    fs::create_dir_all(s.env.home().join(".claude")).unwrap();
    fs::write(
        s.env.home().join(".claude/settings.json"),
        json!({"enableAllProjectMcpServers": true}).to_string(),
    )
    .unwrap();
    s.doctor(&[])
        .success()
        .stdout_has("✓ Claude Code approval of 'plain'");

    // A rejection wins over the approval.
    fs::write(
        s.project.join(".claude/settings.json"),
        json!({"disabledMcpjsonServers": ["plain"]}).to_string(),
    )
    .unwrap();
    s.doctor_fails(&["approval of 'plain'", "rejected", "disabledMcpjsonServers"]);
    fs::remove_file(s.project.join(".claude/settings.json")).unwrap();

    // CLAUDE_CONFIG_DIR moves both of Claude Code's user files.
    let config_dir = s.env.dir.path().join("claude-config");
    fs::create_dir_all(&config_dir).unwrap();
    fs::write(
        config_dir.join(".claude.json"),
        json!({"projects": {}}).to_string(),
    )
    .unwrap();
    s.extra
        .push(("CLAUDE_CONFIG_DIR".into(), config_dir.clone()));
    s.doctor_fails(&["Claude Code trust of", "claude-config/.claude.json"]);
    fs::write(
        config_dir.join(".claude.json"),
        json!({"projects": {s.project.to_str().unwrap(): {"hasTrustDialogAccepted": true, "enabledMcpjsonServers": ["plain"]}}}).to_string(),
    )
    .unwrap();
    s.doctor(&[]).success();
}

#[test]
fn codex_trust_is_checked_when_the_project_has_codex_config() {
    let mut s = Setup::new();
    s.plain_project();
    s.trust_in_claude(&["plain"]);
    s.doctor(&[]).success();
    s.run(&["project", "sync", "--host", "codex"]).success();
    assert!(s.project.join(".codex/config.toml").is_file());
    s.doctor(&[])
        .stdout_has(".codex/config.toml: current (codex)");
    let codex_home = s.env.dir.path().join("codex-home");
    fs::create_dir_all(&codex_home).unwrap();
    fs::write(codex_home.join("config.toml"), "model = \"x\"\n").unwrap();
    s.extra.push(("CODEX_HOME".into(), codex_home.clone()));
    s.doctor_fails(&["Codex trust of", "not trusted", "trust_level = \"trusted\""]);
    let entry = |level: &str| {
        format!(
            "model = \"x\"\n\n[projects.\"{}\"]\ntrust_level = \"{level}\"\n",
            s.project.display()
        )
    };
    fs::write(codex_home.join("config.toml"), entry("untrusted")).unwrap();
    s.doctor_fails(&["Codex trust of", "trust_level is \"untrusted\""]);
    fs::write(codex_home.join("config.toml"), entry("trusted")).unwrap();
    s.doctor(&[]).success().stdout_has("✓ Codex trust of");
}

#[test]
fn gemini_folder_trust_is_checked_when_it_is_on() {
    let s = Setup::new();
    s.plain_project();
    s.trust_in_claude(&["plain"]);
    s.run(&["project", "sync", "--host", "gemini"]).success();
    assert!(s.project.join(".gemini/settings.json").is_file());
    // Folder trust is off by default: every folder counts as trusted.
    s.doctor(&[]).success().stdout_has("folder trust is off");
    let gemini = s.env.home().join(".gemini");
    fs::create_dir_all(&gemini).unwrap();
    fs::write(
        gemini.join("settings.json"),
        "// comments are allowed\n{\"security\": {\"folderTrust\": {\"enabled\": true}}}\n",
    )
    .unwrap();
    s.doctor_fails(&["Gemini CLI trust of", "not trusted yet", "TRUST_FOLDER"]);
    let dir = s.project.to_str().unwrap();
    fs::write(
        gemini.join("trustedFolders.json"),
        json!({dir: "DO_NOT_TRUST"}).to_string(),
    )
    .unwrap();
    s.doctor_fails(&["Gemini CLI trust of", "DO_NOT_TRUST"]);
    // Trusting the parent of a sibling folder trusts this one too.
    let sibling = s.env.dir.path().join("sibling");
    fs::write(
        gemini.join("trustedFolders.json"),
        json!({sibling.to_str().unwrap(): "TRUST_PARENT"}).to_string(),
    )
    .unwrap();
    s.doctor(&[]).success().stdout_has("✓ Gemini CLI trust of");
}

/// `--live` reads the keystore: a credential the index lists but the age file lost fails
/// the read and the start, with the launcher's own error and fix; without `--live` nothing
/// is read, so the index alone passes.
#[test]
fn live_finds_a_credential_that_is_gone_from_the_age_store() {
    let s = Setup::new();
    s.everything();
    s.trust_in_claude(&["everything"]);
    let store = s.crux_home().join("secrets.age");
    let saved = fs::read(&store).unwrap();
    // Store a second value for a new variable, then put the old store back: the index lists
    // it, the age file does not.
    let script = kit().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    s.run(&[
        "mcp",
        "add",
        "lost",
        "--command",
        "node",
        "--keychain",
        "LOST_TOKEN",
        "--value",
        &format!("LOST_TOKEN={}", random_value("lost")),
        "--",
        script.to_str().unwrap(),
    ])
    .success();
    fs::write(&store, saved).unwrap();
    s.doctor(&[]).success();
    let run = s.doctor(&["--live"]);
    fails_with(
        &run,
        &[
            "lost: LOST_TOKEN is in the index but not in age",
            "fix: crux mcp auth lost",
        ],
    );
    fails_with(
        &run,
        &[
            "lost: started through",
            "LOST_TOKEN is listed in the index but missing from age",
            "crux mcp auth lost",
        ],
    );
    run.stdout_has("✓ everything: started through");
    let out = s.json(&["--live"]);
    assert_eq!(out["summary"]["failed"], 2, "{out:#}");
}

/// On a real Secret Service: `--live` reads the credential there and starts the server (the
/// launcher reaches the same session bus); a locked keyring with no desktop to unlock it fails
/// the backend check with its fix.
#[test]
fn the_secret_service_is_checked_reachable_and_unlocked() {
    let s = Setup::on(Env::for_backend("secret-service"));
    s.everything();
    s.trust_in_claude(&["everything"]);
    s.doctor(&["--live"])
        .success()
        .stdout_has("✓ secret-service keystore: a Secret Service (GNOME Keyring) answered")
        .stdout_has("✓ everything: 1 credential(s) readable from secret-service")
        .stdout_has("✓ everything: started through");
    s.env.keyring().lock();
    s.doctor_fails(&[
        "secret-service keystore",
        "(GNOME Keyring) is locked",
        "fix: ",
    ]);
}

/// An OAuth server signed in for real: `--live` refreshes its token (the server sees the
/// refresh) and starts it through the bridge launcher; once the server forgets the client,
/// the refresh fails with the sign-in as its fix.
#[test]
fn live_refreshes_an_oauth_token_and_reports_a_refresh_that_fails() {
    let mut s = Setup::new();
    let server = common::Server::start("sdk-server.mjs", &[]);
    s.extra.push((
        "CRUX_BROWSER".into(),
        "curl -fsS -o /dev/null -L --max-time 20".into(),
    ));
    s.run(&["mcp", "add", "remote", "--url", &server.mcp(), "--oauth"])
        .success();
    s.run(&["mcp", "auth", "remote"]).success();
    s.run(&["project", "install", "remote"]).success();
    s.trust_in_claude(&["remote"]);
    s.doctor(&[])
        .success()
        .stdout_has("✓ remote: OAuth token expires")
        .stdout_has("a refresh token is stored");
    let before = server.stat("refresh_requests");
    s.doctor(&["--live"])
        .success()
        .stdout_has("✓ remote: the refresh token works")
        .stdout_has("✓ remote: started through");
    assert!(
        server.stat("refresh_requests") > before,
        "{}",
        server.stats()
    );
    server.admin("/admin/forget-clients");
    let run = s.doctor(&["--live"]);
    fails_with(&run, &["remote:", "crux mcp auth remote"]);
    assert!(
        lines(&run)
            .iter()
            .any(|l| l.starts_with("✗ remote:") && !l.contains("started through")),
        "the refresh fails: {}",
        run.stdout()
    );
}
