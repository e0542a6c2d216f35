//! OAuth end to end against real authorization servers: the MCP TypeScript SDK's
//! `mcpAuthRouter` (with a provider that rotates refresh tokens) and `oauth2-mock-server`, each
//! in front of a real Streamable HTTP MCP server (tests/e2e/oauth). "The browser" is curl,
//! following the authorization endpoint's redirect to crux's loopback listener
//! (`CRUX_BROWSER`). Tokens are read back from the real keystores; leak checks search every
//! file the test wrote and everything crux printed.

mod common;

use common::{curl_status, Env, Run, Server};
use serde_json::Value;
use std::process::{Child, Command, Stdio};

const BROWSER: &str = "curl -fsS -o /dev/null -L --max-time 20";

fn crux(env: &Env, args: &[&str]) -> Run {
    let mut cmd = env.cmd(args);
    cmd.env("CRUX_BROWSER", BROWSER);
    env.run_cmd(cmd, None)
}

/// A value crux stored, read with the backend's own tool (age CLI, secret-tool).
fn stored(env: &Env, mcp: &str, account: &str) -> Option<String> {
    match env.backend {
        Some("secret-service") => {
            let out = env.keyring().secret_tool(
                &[
                    "lookup",
                    "service",
                    &format!("crux.{mcp}"),
                    "username",
                    account,
                ],
                None,
            );
            out.status
                .success()
                .then(|| String::from_utf8(out.stdout).unwrap())
                .filter(|v| !v.is_empty())
        }
        _ => {
            if !env.crux_home().join("secrets.age").exists() {
                return None;
            }
            common::age_plaintext(env)["secrets"][mcp][account]
                .as_str()
                .map(str::to_string)
        }
    }
}

fn index(env: &Env) -> Value {
    serde_json::from_slice(&std::fs::read(env.crux_home().join("secrets.json")).unwrap()).unwrap()
}

/// Moves the recorded expiry into the past, as if the clock had passed it.
fn expire_locally(env: &Env, mcp: &str) {
    let path = env.crux_home().join("secrets.json");
    let mut doc = index(env);
    doc["servers"][mcp]["oauth"]["expires_at"] = Value::from(1000);
    std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

/// A token request a client would make with a refresh token; returns the HTTP status and the
/// OAuth error code.
fn try_refresh(server: &Server, env: &Env, mcp: &str, refresh: &str) -> (u16, String) {
    let client_id = index(env)["servers"][mcp]["oauth"]["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let token_endpoint = index(env)["servers"][mcp]["oauth"]["token_endpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let _ = server;
    let (status, body) = curl_status(&[
        "-X",
        "POST",
        &token_endpoint,
        "--data-urlencode",
        "grant_type=refresh_token",
        "--data-urlencode",
        &format!("refresh_token={refresh}"),
        "--data-urlencode",
        &format!("client_id={client_id}"),
    ]);
    let error = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_default();
    (status, error)
}

fn assert_no_leak(env: &Env, values: &[String]) {
    let printed = env.printed.borrow();
    for value in values {
        assert!(
            !printed.windows(value.len()).any(|w| w == value.as_bytes()),
            "a token was printed"
        );
        for (path, bytes) in env.all_files() {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "a token is in {}",
                path.display()
            );
        }
    }
}

/// authorize → token → forced expiry → refresh (rotated; the old refresh token is dead) →
/// server-side expiry → refresh on 401 → revoke. Returns every token seen, for leak checks.
fn full_flow(env: &Env, server: &Server, add_args: &[&str]) -> Vec<String> {
    let url = server.mcp();
    let mut add = vec!["mcp", "add", "remote", "--url", &url, "--oauth"];
    add.extend_from_slice(add_args);
    crux(env, &add)
        .success()
        .stdout_has("Sign in with: crux mcp auth remote");
    // Not signed in yet: the launcher-side bridge refuses, naming the fix.
    let mut bridge = env.cmd(&["bridge"]);
    bridge
        .env("CRUX_MCP_NAME", "remote")
        .env("CRUX_BRIDGE_URL", &url);
    env.run_cmd(bridge, Some(""))
        .fails(78)
        .stderr_has("crux mcp auth remote");

    crux(env, &["mcp", "auth", "remote"])
        .success()
        .stdout_has("✓ Authenticated 'remote'")
        .stdout_has("refresh token stored");
    let access1 = stored(env, "remote", "access_token").expect("access token stored");
    let refresh1 = stored(env, "remote", "refresh_token").expect("refresh token stored");
    let status = crux(env, &["mcp", "auth", "--status", "remote", "--json"]);
    status.success();
    let row: Value = serde_json::from_str(&status.stdout()).unwrap();
    assert_eq!(row[0]["oauth"]["signed_in"], true, "{row}");
    assert_eq!(row[0]["oauth"]["refresh_token"], true, "{row}");
    assert_eq!(row[0]["oauth"]["expired"], false, "{row}");
    assert!(row[0]["oauth"]["expires_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    crux(env, &["mcp", "auth", "--status", "remote"])
        .success()
        .stdout_has("expires       in 60 minutes")
        .stdout_has("refresh token yes");
    let refreshes0 = server.stat("refresh_requests");

    crux(env, &["mcp", "probe", "remote", "--call", "whoami"])
        .success()
        .stdout_has("tools     1")
        .stdout_has("call      ok");
    assert_eq!(
        server.stat("refresh_requests"),
        refreshes0,
        "a fresh token is not refreshed"
    );

    // Forced expiry: the next use refreshes first, and the rotated refresh token replaces
    // the old one, which the server no longer accepts.
    expire_locally(env, "remote");
    crux(env, &["mcp", "probe", "remote"]).success();
    assert_eq!(server.stat("refresh_requests"), refreshes0 + 1);
    let access2 = stored(env, "remote", "access_token").unwrap();
    let refresh2 = stored(env, "remote", "refresh_token").unwrap();
    // (oauth2-mock-server's JWTs can repeat within one second, so only the refresh token,
    // which both servers rotate, must differ.) No values in assertion messages.
    assert!(refresh1 != refresh2, "the server rotates refresh tokens");
    let (code, error) = try_refresh(server, env, "remote", &refresh1);
    assert_eq!(
        (code, error.as_str()),
        (400, "invalid_grant"),
        "old refresh token still works"
    );
    let row: Value =
        serde_json::from_str(&crux(env, &["mcp", "auth", "--status", "--json"]).stdout()).unwrap();
    assert!(row[0]["oauth"]["last_refresh"].is_string(), "{row}");

    // --refresh-all refreshes now; --dry-run only says so. (The rejected request above
    // counts as a refresh request too.)
    let refreshes1 = server.stat("refresh_requests");
    crux(env, &["mcp", "auth", "--refresh-all", "--dry-run"])
        .success()
        .stdout_has("would refresh remote");
    assert_eq!(server.stat("refresh_requests"), refreshes1);
    crux(env, &["mcp", "auth", "--refresh-all"])
        .success()
        .stdout_has("✓ remote: refreshed");
    assert_eq!(server.stat("refresh_requests"), refreshes1 + 1);
    let access3 = stored(env, "remote", "access_token").unwrap();
    let refresh3 = stored(env, "remote", "refresh_token").unwrap();

    // Revoke: the server is told, the tokens are gone here, and the old token stops working.
    crux(env, &["mcp", "auth", "--revoke", "remote"])
        .success()
        .stdout_has("revoked at the server")
        .stdout_has("deleted here");
    assert!(server.stat("revocations") >= 1);
    assert_eq!(stored(env, "remote", "access_token"), None);
    assert_eq!(stored(env, "remote", "refresh_token"), None);
    let (code, _) = try_refresh(server, env, "remote", &refresh3);
    assert_eq!(code, 400, "the revoked refresh token still works");
    crux(env, &["mcp", "auth", "--status", "remote"])
        .success()
        .stdout_has("not signed in; sign in with: crux mcp auth remote");
    vec![access1, access2, access3, refresh1, refresh2, refresh3]
}

#[test]
fn sdk_auth_router_full_flow_on_the_age_file() {
    let server = Server::start("sdk-server.mjs", &[]);
    let env = Env::for_backend("age");
    let tokens = full_flow(&env, &server, &[]);
    assert_eq!(server.stat("registrations"), 1, "one dynamic registration");
    assert_eq!(
        server.stats()["last_resource"].as_str(),
        Some(server.mcp().as_str()),
        "RFC 8707 resource sent"
    );
    assert_no_leak(&env, &tokens);
}

#[test]
fn sdk_auth_router_full_flow_on_the_secret_service() {
    let server = Server::start("sdk-server.mjs", &[]);
    let env = Env::for_backend("secret-service");
    let tokens = full_flow(&env, &server, &[]);
    assert_no_leak(&env, &tokens);
}

#[test]
fn oauth2_mock_server_full_flow() {
    let server = Server::start("mock-server.mjs", &[]);
    let env = Env::for_backend("age");
    let tokens = full_flow(&env, &server, &["--client-id", "crux-test-client"]);
    assert_no_leak(&env, &tokens);
}

/// Ten launches at once of a server whose token has expired: one refresh request reaches the
/// token endpoint, and all ten bridges start with the fresh token.
#[test]
fn ten_concurrent_launches_refresh_once() {
    let server = Server::start("sdk-server.mjs", &[]);
    let env = Env::for_backend("age");
    let url = server.mcp();
    crux(&env, &["mcp", "add", "remote", "--url", &url, "--oauth"]).success();
    crux(&env, &["mcp", "auth", "remote"]).success();
    let project = env.home().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let mut sync = env.cmd(&["project", "install", "remote"]);
    sync.current_dir(&project);
    env.run_cmd(sync, None).success();
    let mcp_json: Value =
        serde_json::from_slice(&std::fs::read(project.join(".mcp.json")).unwrap()).unwrap();
    let entry = &mcp_json["mcpServers"]["remote"];
    assert!(entry["command"]
        .as_str()
        .unwrap()
        .ends_with("launchers/http-bridge-auth.sh"));
    assert_eq!(entry["env"]["CRUX_BRIDGE_URL"], url.as_str());
    assert!(!mcp_json.to_string().contains("token"), "{mcp_json}");

    expire_locally(&env, "remote");
    let before = server.stat("refresh_requests");
    let tokens_before = server.stat("token_requests");
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let children: Vec<Child> = (0..10)
        .map(|_| {
            // What a host does: run the entry's command with only the entry's env.
            let mut cmd = Command::new(entry["command"].as_str().unwrap());
            cmd.env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap())
                .env("HOME", env.home())
                .env("CRUX_MCP_NAME", "remote")
                .env("CRUX_BRIDGE_URL", &url)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            writeln!(stdin, "{init}").unwrap();
            drop(stdin);
            child
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success() && stdout.contains("sdk-oauth-test"),
            "a launch failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        server.stat("refresh_requests"),
        before + 1,
        "exactly one refresh"
    );
    assert_eq!(server.stat("token_requests"), tokens_before + 1);
}

/// The server forgets crux's dynamic registration: a refresh answers invalid_client, the
/// launcher stops (exit 78, naming the fix), and `crux mcp auth` registers again by itself.
#[test]
fn a_forgotten_registration_is_replaced() {
    let server = Server::start("sdk-server.mjs", &[]);
    let env = Env::for_backend("age");
    let url = server.mcp();
    crux(&env, &["mcp", "add", "remote", "--url", &url, "--oauth"]).success();
    crux(&env, &["mcp", "auth", "remote"]).success();
    let first_client = index(&env)["servers"]["remote"]["oauth"]["client_id"].clone();
    server.admin("/admin/forget-clients");
    expire_locally(&env, "remote");
    let mut bridge = env.cmd(&["bridge"]);
    bridge
        .env("CRUX_MCP_NAME", "remote")
        .env("CRUX_BRIDGE_URL", &url);
    env.run_cmd(bridge, Some(""))
        .fails(78)
        .stderr_has("the token refresh failed")
        .stderr_has("crux mcp auth remote");
    crux(&env, &["mcp", "auth", "remote"]).success();
    assert_eq!(server.stat("registrations"), 2, "registered again");
    assert_ne!(
        index(&env)["servers"]["remote"]["oauth"]["client_id"],
        first_client
    );
    crux(&env, &["mcp", "probe", "remote"]).success();
}

/// The server forgets crux's registration and its authorization page refuses the client (no
/// redirect comes): a failing browser command is reported at once; a browser that shows the
/// page (exit 0) runs into the timeout, after which crux registers again and asks once more.
/// `--reregister` and `mcp add --force` start over with a new registration by hand.
#[test]
fn a_refused_authorization_page_leads_to_a_new_registration() {
    let server = Server::start("sdk-server.mjs", &[]);
    let env = Env::for_backend("age");
    let url = server.mcp();
    crux(&env, &["mcp", "add", "remote", "--url", &url, "--oauth"]).success();
    crux(&env, &["mcp", "auth", "remote"]).success();
    assert_eq!(server.stat("registrations"), 1);
    server.admin("/admin/forget-clients");
    crux(&env, &["mcp", "auth", "--revoke", "remote", "--local"]).success();

    // curl -f fails on the page's HTTP 400: said at once, not after the timeout.
    let started = std::time::Instant::now();
    crux(&env, &["mcp", "auth", "remote"])
        .fails(1)
        .stderr_has("the browser command 'curl' exited with status 22")
        .stderr_has("CRUX_BROWSER");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(server.stat("registrations"), 1);

    // A browser that just shows the page: the wait times out, crux registers again.
    let mut cmd = env.cmd(&["mcp", "auth", "remote"]);
    cmd.env("CRUX_BROWSER", "curl -sS -o /dev/null -L --max-time 20")
        .env("CRUX_OAUTH_TIMEOUT", "2");
    env.run_cmd(cmd, None)
        .success()
        .stderr_has("registers again and asks once more");
    assert_eq!(server.stat("registrations"), 2);

    crux(&env, &["mcp", "auth", "remote", "--reregister"])
        .success()
        .stderr_has("registering again");
    assert_eq!(server.stat("registrations"), 3);

    let before = index(&env)["servers"]["remote"]["oauth"]["client_id"].clone();
    assert!(before.is_string());
    crux(
        &env,
        &["mcp", "add", "remote", "--url", &url, "--oauth", "--force"],
    )
    .success()
    .stdout_has("the next sign-in registers again");
    assert!(index(&env)["servers"]["remote"]["oauth"]["client_id"].is_null());
    assert_eq!(stored(&env, "remote", "access_token"), None);
    crux(&env, &["mcp", "auth", "remote"]).success();
    assert_eq!(server.stat("registrations"), 4);
    crux(&env, &["mcp", "probe", "remote"]).success();
}

/// A fixed callback port that is taken fails with a clear error and changes nothing.
#[test]
fn a_busy_callback_port_is_a_clear_error() {
    let server = Server::start("sdk-server.mjs", &[]);
    let env = Env::for_backend("age");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    crux(
        &env,
        &[
            "mcp",
            "add",
            "remote",
            "--url",
            &server.mcp(),
            "--oauth",
            "--callback-port",
            &port,
        ],
    )
    .success();
    crux(&env, &["mcp", "auth", "remote"])
        .fails(1)
        .stderr_has(&format!("127.0.0.1:{port}"))
        .stderr_has("--callback-port");
    assert_eq!(server.stat("authorize_requests"), 0);
    drop(taken);
    crux(&env, &["mcp", "auth", "remote"]).success();
    let redirect = index(&env)["servers"]["remote"]["oauth"]["redirect_uri"].clone();
    assert_eq!(
        redirect,
        format!("http://127.0.0.1:{port}/callback").as_str()
    );
}

/// private_key_jwt: the key is generated in the keystore, only its public half is shown.
#[test]
fn private_key_jwt_keys_stay_in_the_keystore() {
    let env = Env::for_backend("age");
    let out = crux(
        &env,
        &[
            "mcp",
            "add",
            "m2m",
            "--url",
            "https://m2m.invalid/mcp",
            "--oauth",
            "--grant",
            "client-credentials",
            "--auth-method",
            "private_key_jwt",
            "--client-id",
            "svc-1",
        ],
    );
    out.success().stdout_has("\"kty\": \"EC\"");
    assert!(
        !out.stdout().contains("\"d\""),
        "the private part was printed"
    );
    let pem = stored(&env, "m2m", "private_key").expect("key in the keystore");
    // The PKCS#8 PEM header, spelled in two parts so no tracked file holds a key marker.
    assert!(pem.starts_with(concat!("-----BEGIN ", "PRIVATE", " KEY-----")));
    let again = crux(&env, &["mcp", "auth", "m2m", "--show-public-key"]);
    again.success();
    let jwk: Value = serde_json::from_str(&again.stdout()).unwrap();
    assert_eq!(jwk["crv"], "P-256");
    assert!(jwk.get("d").is_none());
    assert_no_leak(&env, &[pem]);
}
