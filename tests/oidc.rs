//! OAuth against a real OpenID provider: oidc-provider 9.13.3 (tests/e2e/oidc/provider.mjs:
//! DCR, PKCE, resource indicators with JWT access tokens for the MCP URL, rotating refresh tokens
//! issued only for `offline_access` + consent, revocation, in-memory state) in front of the era
//! test servers (tests/e2e/eras, `--auth oauth`: they verify the JWTs from the provider's JWKS).
//! "The browser" is tests/e2e/oidc/browser.mjs, which signs in on the provider's dev login page
//! and consents (`CRUX_BROWSER`).
//!
//! What crux must do here that the simpler servers of tests/oauth.rs let slide: ask for
//! `offline_access` (with `prompt=consent`) to get a refresh token at all; revoke the refresh
//! token (the provider refuses to revoke its JWT access tokens: `unsupported_token_type`); sign
//! in again with a new registration when a restarted provider has forgotten the client; and not
//! refresh a 20 s token on every call.

mod common;
#[path = "common/stdio_host.rs"]
mod stdio_host;

use common::{curl_status, kit, setup_kit, Env, Run, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use stdio_host::{text, StdioHost};

fn browser() -> String {
    format!("node {}", kit().join("oidc/browser.mjs").display())
}

fn crux(env: &Env, args: &[&str]) -> Run {
    let mut cmd = env.cmd(args);
    // browser.mjs finishes in well under a second; a sign-in that waits longer is stuck (e.g.
    // the browser met an error page, which crux cannot see).
    cmd.env("CRUX_BROWSER", browser())
        .env("CRUX_OAUTH_TIMEOUT", "30");
    env.run_cmd(cmd, None)
}

/// The provider, with access tokens living `ttl` seconds; on `port` when given (a restart).
fn provider(ttl: u64, port: Option<u16>) -> Server {
    let ttl = ttl.to_string();
    let port = port.map(|p| p.to_string());
    let mut envs = vec![("OIDC_ACCESS_TOKEN_TTL", ttl.as_str())];
    if let Some(p) = &port {
        envs.push(("OIDC_PORT", p.as_str()));
    }
    Server::start_with_env("../oidc/provider.mjs", &[], &envs)
}

/// An era test server (`legacy` | `modern`) that takes the provider's JWTs.
fn mcp_server(era: &str, op: &Server) -> Server {
    Server::start(
        &format!("../eras/{era}-server.mjs"),
        &["--auth", "oauth", "--issuer", &op.url("issuer")],
    )
}

fn stored(env: &Env, account: &str) -> Option<String> {
    if !env.crux_home().join("secrets.age").exists() {
        return None;
    }
    common::age_plaintext(env)["secrets"]["remote"][account]
        .as_str()
        .map(str::to_string)
}

fn oauth_index(env: &Env) -> Value {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(env.crux_home().join("secrets.json")).unwrap())
            .unwrap();
    doc["servers"]["remote"]["oauth"].clone()
}

/// Whether the provider still honours `refresh_token` (its grant not revoked).
fn refresh_token_active(op: &Server, refresh_token: &str) -> bool {
    let (status, body) = curl_status(&[
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "--data-binary",
        &json!({ "token": refresh_token }).to_string(),
        &format!("{}/refresh-token-status", op.url("admin")),
    ]);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["active"] == true
}

/// Registers `remote` (the MCP server) with --oauth and signs in through the scripted browser;
/// with `refresh`, a refresh token must come with the access token.
fn sign_in(env: &Env, mcp: &Server, refresh: bool) {
    crux(
        env,
        &["mcp", "add", "remote", "--url", &mcp.mcp(), "--oauth"],
    )
    .success()
    .stdout_has("Sign in with: crux mcp auth remote");
    let out = crux(env, &["mcp", "auth", "remote"]);
    out.success().stdout_has("✓ Authenticated 'remote'");
    if refresh {
        out.stdout_has("refresh token stored");
    }
}

fn assert_no_leak(env: &Env, values: &[&str]) {
    let printed = env.printed.borrow();
    for value in values {
        assert!(
            !printed.windows(value.len()).any(|w| w == value.as_bytes()),
            "a token was printed"
        );
        for (path, bytes) in env.all_files() {
            if path.ends_with("secrets.age") {
                continue;
            }
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "a token is in {}",
                path.display()
            );
        }
    }
}

/// sign in → calls through the bridge across the token's expiry (refreshed, rotated) → revoke.
fn sign_in_refresh_revoke(era: &str) {
    setup_kit();
    // 24 s tokens: crux refreshes a token that expires within min(60 s, half its lifetime) =
    // 12 s, so 13 s in, the next call of the same bridge session goes out with a refreshed one.
    let op = provider(24, None);
    let mcp = mcp_server(era, &op);
    let env = Env::for_backend("age");
    sign_in(&env, &mcp, true);
    let refresh1 = stored(&env, "refresh_token").expect("a refresh token is stored");
    let access1 = stored(&env, "access_token").expect("an access token is stored");
    let client = &op.stats()["clients"][0];
    assert!(
        client["grant_types"].to_string().contains("refresh_token"),
        "{client}"
    );
    assert_eq!(
        op.stats()["last_resource"],
        mcp.mcp(),
        "the token is for the MCP URL"
    );
    let unauthorized = mcp.stat("unauthorized"); // sign-in's discovery got its 401

    let mut host = StdioHost::bridge(&env, "remote", &mcp.mcp());
    host.initialize();
    assert_eq!(text(&host.call("echo", json!({"text": "one"}))), "one");
    assert_eq!(
        op.stat("refresh_grants"),
        0,
        "a fresh token is not refreshed"
    );
    std::thread::sleep(Duration::from_secs(13));
    let answer = host.call("echo", json!({"text": "two"}));
    assert_eq!(text(&answer), "two", "{answer}");
    assert_eq!(op.stat("refresh_grants"), 1, "{}", op.stats());
    assert_eq!(op.stat("refresh_errors"), 0, "{}", op.stats());
    assert!(host.finish().success());
    let refresh2 = stored(&env, "refresh_token").unwrap();
    let access2 = stored(&env, "access_token").unwrap();
    assert!(refresh1 != refresh2, "the provider rotates refresh tokens");
    assert!(refresh_token_active(&op, &refresh2));
    assert_eq!(mcp.stat("unauthorized"), unauthorized, "{}", mcp.stats());

    // Revoke: the grant is dead at the provider, nothing is left here.
    crux(&env, &["mcp", "auth", "remote", "--revoke"])
        .success()
        .stdout_has("refresh token revoked at the server")
        .stdout_has("(unsupported_token_type)")
        .stdout_has("both deleted here");
    assert!(op.stat("revocations") >= 1, "{}", op.stats());
    assert!(
        !refresh_token_active(&op, &refresh2),
        "the grant survived the revocation"
    );
    assert_eq!(stored(&env, "access_token"), None);
    assert_eq!(stored(&env, "refresh_token"), None);
    crux(&env, &["mcp", "auth", "--status", "remote"])
        .success()
        .stdout_has("not signed in; sign in with: crux mcp auth remote");
    assert_no_leak(&env, &[&refresh1, &refresh2, &access1, &access2]);
}

#[test]
fn legacy_server_sign_in_refresh_across_expiry_and_revoke() {
    sign_in_refresh_revoke("legacy");
}

#[test]
fn modern_server_sign_in_refresh_across_expiry_and_revoke() {
    sign_in_refresh_revoke("modern");
}

#[test]
fn a_restarted_provider_that_forgot_the_client_gets_a_new_registration() {
    setup_kit();
    let op = provider(3600, None);
    let port: u16 = op
        .url("issuer")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mcp = mcp_server("legacy", &op);
    let env = Env::for_backend("age");
    sign_in(&env, &mcp, true);
    let client1 = oauth_index(&env)["client_id"].as_str().unwrap().to_string();
    crux(&env, &["mcp", "probe", "remote"]).success();

    // The provider restarts on the same issuer URL with nothing: no clients, grants or keys.
    drop(op);
    let op = provider(3600, Some(port));
    assert_eq!(op.stat("registrations"), 0);
    // The stored token is signed with a key the provider no longer has, its refresh token and
    // its client are unknown there (a refresh gets invalid_client / invalid_grant): signing in
    // again must register a new client, not reuse the old id (which the provider's authorization
    // endpoint answers with an invalid_client error page that only the browser sees).
    // Signing in again registers a new client.
    crux(&env, &["mcp", "auth", "remote"])
        .success()
        .stdout_has("✓ Authenticated 'remote'");
    assert_eq!(op.stat("registrations"), 1, "{}", op.stats());
    let client2 = oauth_index(&env)["client_id"].as_str().unwrap().to_string();
    assert_ne!(client1, client2, "the forgotten client id was reused");
    crux(
        &env,
        &[
            "mcp",
            "probe",
            "remote",
            "--call",
            "echo",
            "--arguments",
            r#"{"text":"back"}"#,
        ],
    )
    .success()
    .stdout_has("call      back");
}

/// 20 s access tokens: a fixed 60 s refresh margin would be longer than the token's whole life,
/// so every call would refresh; with min(60 s, half the lifetime) it is at most once per 10 s.
#[test]
fn twenty_second_tokens_are_not_refreshed_on_every_call() {
    setup_kit();
    let op = provider(20, None);
    let mcp = mcp_server("legacy", &op);
    let env = Env::for_backend("age");
    sign_in(&env, &mcp, true);
    let unauthorized = mcp.stat("unauthorized");
    let mut host = StdioHost::bridge(&env, "remote", &mcp.mcp());
    host.initialize();
    let start = Instant::now();
    let mut calls = 0;
    while start.elapsed() < Duration::from_secs(30) {
        let answer = host.call("echo", json!({"text": calls.to_string()}));
        assert_eq!(text(&answer), calls.to_string(), "call {calls}: {answer}");
        calls += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    let refreshes = op.stat("refresh_grants");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        refreshes >= 1,
        "a 20 s token lived {secs:.0} s without a refresh?"
    );
    assert!(
        refreshes as f64 <= secs / 10.0 + 1.0,
        "{refreshes} refreshes in {secs:.0} s of {calls} calls"
    );
    // Times of the refresh grants, about 10 s apart (half the lifetime; expiries count in
    // whole seconds, so a few milliseconds less is the same second).
    let times: Vec<u64> = op.stats()["refresh_times"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[1] - w[0] >= 9_000), "{times:?}");
    assert_eq!(op.stat("refresh_errors"), 0);
    assert_eq!(
        mcp.stat("unauthorized"),
        unauthorized,
        "no call was sent with an expired token"
    );
    assert!(host.finish().success());
}
