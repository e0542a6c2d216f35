//! The OAuth side of `crux mcp auth` (sign-in, --status, --refresh-all, --revoke,
//! --show-public-key, --client-secret-stdin) and `crux mcp probe`.

use crate::cli::{AuthArgs, ProbeArgs};
use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::mcp_client::{Client, HttpTransport, Probe, StdioTransport, Transport};
use crate::names::ServerName;
use crate::oauth::discovery::Challenge;
use crate::oauth::http::Http;
use crate::oauth::spec::{in_words, rfc3339, Grant, OAuthSpec, OAuthState, ACCOUNTS};
use crate::oauth::{Interaction, Session};
use crate::protocol::Era;
use crate::registry::{Registered, Registry};
use serde_json::{json, Value};
use std::io::IsTerminal;

/// What `run` in auth.rs hands over: the OAuth-only actions.
pub fn run(args: &AuthArgs, home: &CruxHome) -> Result<Option<()>> {
    if args.status {
        return status(home, args.mcp.as_deref(), args.json).map(Some);
    }
    if args.refresh_all {
        return refresh_all(home, args.dry_run).map(Some);
    }
    let Some(name) = args.mcp.as_deref() else {
        return Ok(None);
    };
    if args.reregister {
        return reregister(home, &ServerName::parse(name)?).map(Some);
    }
    if args.revoke || args.show_public_key || args.client_secret_stdin {
        let mcp = ServerName::parse(name)?;
        let mut session = load(home, &mcp, Interaction::Silent)?;
        if args.revoke {
            return revoke(&mcp, &mut session, args.local).map(Some);
        }
        if args.show_public_key {
            let jwk = session.public_key()?;
            println!("{}", serde_json::to_string_pretty(&jwk).expect("JSON"));
            eprintln!("Register this public key (JWK) for client '{}' with the authorization server; the private key stays in the keystore.",
                session.state.client_id.as_deref().or(session.spec.client_id.as_deref()).unwrap_or("<your client id>"));
            return Ok(Some(()));
        }
        let secret = super::input::read_stdin()?;
        if secret.is_empty() {
            return Err(Error::usage(
                "the client secret read from standard input is empty",
                format!("printf %s \"$SECRET\" | crux mcp auth {mcp} --client-secret-stdin"),
            ));
        }
        session.set_client_secret(secret)?;
        println!("✓ Stored the client secret of '{mcp}'");
        return Ok(Some(()));
    }
    Ok(None)
}

/// The registered OAuth server `mcp`, as a session.
fn load(home: &CruxHome, mcp: &ServerName, interaction: Interaction) -> Result<Session> {
    let registry = Registry::load(home)?;
    let registered = registry.require(mcp)?;
    let (url, spec) = oauth_of(mcp, registered)?;
    Session::load(home, mcp, &url, spec, interaction)
}

fn oauth_of(mcp: &ServerName, registered: &Registered) -> Result<(String, OAuthSpec)> {
    match (registered.spec.url(), &registered.spec.auth.oauth) {
        (Some(url), Some(spec)) => Ok((url.to_string(), spec.clone())),
        _ => Err(Error::failed(
            format!("'{mcp}' does not use OAuth"),
            format!("register it with OAuth: crux mcp add {mcp} --url <URL> --oauth --force"),
        )),
    }
}

/// `crux mcp auth <MCP>` for an OAuth server: a fresh sign-in (or client-credentials token).
pub fn sign_in(home: &CruxHome, mcp: &ServerName, registered: &Registered) -> Result<()> {
    let (url, spec) = oauth_of(mcp, registered)?;
    let mut session = Session::load(home, mcp, &url, spec, Interaction::Browser)?;
    // The server's own challenge says where its metadata is and which scopes it wants.
    let challenge = challenge_of(&url)?;
    session.obtain(challenge.as_ref())?;
    println!(
        "✓ Authenticated '{mcp}' ({})",
        describe(&session.state, session.has_refresh_token())
    );
    Ok(())
}

/// `crux mcp auth <MCP> --reregister`: forgets the client registration crux made (and its
/// tokens), then signs in, which registers a new client.
fn reregister(home: &CruxHome, mcp: &ServerName) -> Result<()> {
    let registry = Registry::load(home)?;
    let registered = registry.require(mcp)?;
    let (_, spec) = oauth_of(mcp, registered)?;
    if let Some(id) = &spec.client_id {
        return Err(Error::failed(
            format!(
                "'{mcp}' uses the pre-registered client id '{}' (--client-id); crux registers no other client for it",
                sanitize(id)
            ),
            format!("to let crux register one, register the server without --client-id: crux mcp add {mcp} --url <URL> --oauth --force"),
        ));
    }
    if crate::oauth::forget_registration(home, mcp)? {
        eprintln!(
            "crux: forgot the client registration of '{mcp}' and its tokens; registering again"
        );
    }
    sign_in(home, mcp, registered)
}

/// The `WWW-Authenticate` challenge an unauthenticated `initialize` draws, if any.
fn challenge_of(url: &str) -> Result<Option<Challenge>> {
    let http = Http::default();
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": crate::mcp_client::PROTOCOL_VERSION, "capabilities": {},
        "clientInfo": {"name": "crux", "version": env!("CARGO_PKG_VERSION")}}});
    let req = http
        .request("POST", url)
        .set("Accept", "application/json, text/event-stream")
        .set("Content-Type", "application/json");
    let resp = http.send(req, Some(body.to_string().as_bytes()))?;
    if resp.status == 401 {
        return Ok(Challenge::from_headers(
            &resp.all_headers("www-authenticate"),
        ));
    }
    Ok(None)
}

fn describe(state: &OAuthState, refresh: bool) -> String {
    let mut parts = Vec::new();
    match state.expires_at {
        Some(at) => parts.push(format!("token expires {}", in_words(at))),
        None => parts.push("token has no stated expiry".into()),
    }
    if let Some(scope) = &state.scope {
        parts.push(format!("scopes: {}", sanitize(scope)));
    }
    parts.push(
        if refresh {
            "refresh token stored"
        } else {
            "no refresh token"
        }
        .into(),
    );
    parts.join("; ")
}

/// `crux mcp auth --status [<MCP>] [--json]`. Reads the registry and the index only: it never
/// unlocks a keystore.
fn status(home: &CruxHome, only: Option<&str>, json_out: bool) -> Result<()> {
    let filter = only.map(ServerName::parse).transpose()?;
    let registry = Registry::load(home)?;
    let index = Index::load(home)?;
    if let Some(f) = &filter {
        if registry.get(f).is_none() && !index.servers.contains_key(f.as_str()) {
            return Err(crate::registry::not_registered(f));
        }
    }
    let mut names: Vec<String> = registry.servers.keys().cloned().collect();
    for n in index.servers.keys() {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    names.sort();
    let mut out = Vec::new();
    for name in names {
        if filter.as_ref().is_some_and(|f| f.as_str() != name) {
            continue;
        }
        let registered = registry.servers.get(&name);
        let entry = index.servers.get(&name);
        let mut kinds: Vec<&str> = registered.map(|r| r.spec.auth_kinds()).unwrap_or_default();
        if kinds.is_empty() && entry.is_some_and(|e| !e.credentials.is_empty()) {
            kinds.push("keychain");
        }
        let keys: Vec<&String> = entry
            .map(|e| e.credentials.keys().collect())
            .unwrap_or_default();
        let oauth = entry.and_then(|e| e.oauth.as_ref());
        let mut row = json!({
            "server": name,
            "registered": registered.is_some(),
            "auth_types": kinds,
            "stored_keys": keys,
        });
        if let Some(o) = oauth {
            let signed_in =
                entry.is_some_and(|e| e.credentials.contains_key(crate::oauth::spec::ACCESS_TOKEN));
            row["oauth"] = json!({
                "signed_in": signed_in,
                "expires_at": o.expires_at.map(rfc3339),
                "expires_in_words": o.expires_at.map(in_words),
                "expired": o.expires_at.map(|a| a <= crate::oauth::spec::now_unix()),
                "scopes": o.scope,
                "refresh_token": o.has_refresh_token,
                "last_refresh": o.last_refresh,
                "obtained_at": o.obtained_at,
                "client_id": o.client_id,
                "client_source": o.client_source,
                "issuer": o.issuer,
                "resource": o.resource,
            });
        } else if registered.is_some_and(|r| r.spec.auth.oauth.is_some()) {
            row["oauth"] = json!({"signed_in": false});
        }
        out.push(row);
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
        return Ok(());
    }
    if out.is_empty() {
        eprintln!(
            "No servers registered and no credentials stored. Register one: crux mcp add <MCP> …"
        );
        return Ok(());
    }
    for row in &out {
        let name = row["server"].as_str().unwrap_or_default();
        let kinds: Vec<&str> = row["auth_types"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!("{}", sanitize(name));
        println!(
            "  auth          {}",
            if kinds.is_empty() {
                "none".into()
            } else {
                kinds.join(", ")
            }
        );
        let keys: Vec<&str> = row["stored_keys"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "  stored keys   {}",
            if keys.is_empty() {
                "none".into()
            } else {
                keys.join(", ")
            }
        );
        if let Some(o) = row.get("oauth") {
            if o["signed_in"] != json!(true) {
                println!("  oauth         not signed in; sign in with: crux mcp auth {name}");
                continue;
            }
            match (o["expires_in_words"].as_str(), o["expires_at"].as_str()) {
                (Some(w), Some(at)) => println!("  expires       {w} ({at})"),
                _ => println!("  expires       no expiry stated by the server"),
            }
            println!(
                "  scopes        {}",
                o["scopes"]
                    .as_str()
                    .map(sanitize)
                    .unwrap_or_else(|| "(none requested)".into())
            );
            println!(
                "  refresh token {}",
                if o["refresh_token"] == json!(true) {
                    "yes"
                } else {
                    "no"
                }
            );
            println!(
                "  last refresh  {}",
                o["last_refresh"].as_str().unwrap_or("never")
            );
            if o["expired"] == json!(true) && o["refresh_token"] != json!(true) {
                println!("  → expired with no refresh token; sign in again: crux mcp auth {name}");
            }
        }
    }
    Ok(())
}

/// `crux mcp auth --refresh-all [--dry-run]`.
fn refresh_all(home: &CruxHome, dry_run: bool) -> Result<()> {
    let registry = Registry::load(home)?;
    let index = Index::load(home)?;
    let mut failed = 0;
    let mut any = false;
    for (name, registered) in &registry.servers {
        let Some(spec) = &registered.spec.auth.oauth else {
            continue;
        };
        let mcp = ServerName::parse(name)?;
        let state = index.oauth(&mcp);
        let refreshable = state.is_some_and(|s| s.has_refresh_token);
        let cc = spec.grant == Grant::ClientCredentials;
        any = true;
        if !refreshable && !cc {
            println!("- {name}: nothing to refresh (no refresh token); sign in with: crux mcp auth {name}");
            continue;
        }
        if dry_run {
            let when = state
                .and_then(|s| s.expires_at)
                .map(|a| format!("expires {}", in_words(a)))
                .unwrap_or_else(|| "no stated expiry".into());
            println!("would refresh {name} ({when})");
            continue;
        }
        let result = load(home, &mcp, Interaction::Silent).and_then(|mut s| {
            if cc && !s.has_refresh_token() {
                s.obtain(None)?;
            } else {
                s.force_refresh()?;
            }
            Ok(s)
        });
        match result {
            Ok(s) => println!(
                "✓ {name}: refreshed ({})",
                describe(&s.state, s.has_refresh_token())
            ),
            Err(e) => {
                failed += 1;
                eprintln!(
                    "{}",
                    e.render().replacen("error:", &format!("error: {name}:"), 1)
                );
            }
        }
    }
    if !any {
        println!("No OAuth servers registered.");
    }
    if failed > 0 {
        return Err(Error::failed(
            format!("{failed} refresh(es) failed"),
            "sign in again to each server named above: crux mcp auth <MCP>",
        ));
    }
    Ok(())
}

fn revoke(mcp: &ServerName, session: &mut Session, local: bool) -> Result<()> {
    if !session.has_token() && !session.has_refresh_token() {
        println!("'{mcp}' holds no OAuth tokens; nothing to revoke");
        return Ok(());
    }
    if local {
        session.forget_tokens()?;
        println!("✓ Deleted the OAuth tokens of '{mcp}' here (the server was not told)");
        return Ok(());
    }
    let report = session.revoke()?;
    let said = crate::redact::mask(&report.describe()).into_owned();
    if report.complete() {
        println!("✓ '{mcp}': {said}");
        return Ok(());
    }
    Err(Error::failed(
        format!("'{mcp}': {said}"),
        format!(
            "try again later, or delete the tokens here only: crux mcp auth --revoke {mcp} --local"
        ),
    ))
}

/// Whether a registered OAuth server has no token yet.
pub fn needs_sign_in(index: &Index, mcp: &ServerName, registered: &Registered) -> bool {
    registered
        .spec
        .auth
        .oauth
        .as_ref()
        .is_some_and(|o| o.grant == Grant::AuthorizationCode)
        && !ACCOUNTS[..1].iter().any(|a| {
            index
                .servers
                .get(mcp.as_str())
                .is_some_and(|e| e.credentials.contains_key(*a))
        })
}

/// `crux mcp probe <MCP|URL>`.
pub fn probe(args: ProbeArgs, home: &CruxHome) -> Result<()> {
    let arguments: Value = match &args.arguments {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            Error::usage(
                format!("--arguments is not JSON: {e}"),
                "give a JSON object: --arguments '{\"q\":\"x\"}'",
            )
        })?,
        None => json!({}),
    };
    let era = args.protocol.as_deref().map(|v| {
        if v == crate::protocol::MODERN_VERSION {
            Era::Modern
        } else {
            Era::Legacy
        }
    });
    let is_url = args.target.starts_with("http://") || args.target.starts_with("https://");
    let (result, transport_name, url) =
        if is_url {
            if url::Url::parse(&args.target).is_err() {
                return Err(Error::usage(
                    "the URL is not valid",
                    "give the server's MCP endpoint, e.g. https://mcp.example.com/mcp",
                ));
            }
            let secret = if args.oauth.client_secret_stdin || args.private_key_stdin {
                Some(super::input::read_stdin()?)
            } else {
                None
            };
            let (client_secret, private_key) = if args.private_key_stdin {
                (None, secret)
            } else {
                (secret, None)
            };
            let mut session = Session::ephemeral(
                &args.target,
                args.oauth.to_spec(),
                client_secret,
                private_key,
                Interaction::Browser,
            );
            let r = run_probe(
                HttpTransport::new(&args.target, Some(&mut session)),
                args.call.as_deref(),
                &arguments,
                era,
            );
            (r, "streamable-http", Some(args.target.clone()))
        } else {
            if args.oauth.any() || args.private_key_stdin {
                return Err(Error::usage(
                "OAuth options apply to a URL; a registered server uses its registered settings",
                format!("change them with: crux mcp add {} --force …", sanitize(&args.target)),
            ));
            }
            let mcp = ServerName::parse(&args.target)?;
            let registry = Registry::load(home)?;
            let registered = registry.require(&mcp)?;
            match registered.spec.url() {
                Some(url) => {
                    let r = match &registered.spec.auth.oauth {
                        Some(spec) => {
                            let mut session =
                                Session::load(home, &mcp, url, spec.clone(), Interaction::Browser)?;
                            let filled = crate::bridge::filled::read(home, &mcp, registered)?;
                            run_probe(
                                HttpTransport::new(url, Some(&mut session)).with_filled(filled),
                                args.call.as_deref(),
                                &arguments,
                                era,
                            )
                        }
                        None => {
                            let filled = crate::bridge::filled::read(home, &mcp, registered)?;
                            let mut transport = HttpTransport::new(url, None).with_filled(filled);
                            if let Some(spec) = &registered.spec.auth.bearer {
                                let value = crate::bridge::bearer_value(home, &mcp, spec)?;
                                let (name, header) = crate::bridge::bearer_header(spec, &value);
                                transport = transport.with_header(name, header);
                            }
                            run_probe(transport, args.call.as_deref(), &arguments, era)
                        }
                    };
                    (r, "streamable-http", Some(url.to_string()))
                }
                None => {
                    let argv = registered.command_line().unwrap_or_default();
                    let exe = std::env::current_exe()
                        .map_err(|e| Error::io("cannot find crux's own path", e))?;
                    let mut cmd = std::process::Command::new(exe);
                    cmd.arg("launch")
                        .args(&argv)
                        .env("CRUX_MCP_NAME", mcp.as_str())
                        .env(
                            "CRUX_AUTH_ENV_VARS",
                            registered.spec.auth.launch_vars().join(","),
                        )
                        .env("CRUX_HOME", home.root());
                    let r = StdioTransport::spawn(cmd)
                        .and_then(|t| run_probe(t, args.call.as_deref(), &arguments, era));
                    (r, "stdio", None)
                }
            }
        };
    let (probe, call) = result?;
    if !is_url {
        remember_protocol(home, &args.target, &probe)?;
    }
    if args.json {
        let mut out = json!({
            "server": {"name": probe.server_name, "version": probe.server_version},
            "protocol_version": probe.protocol_version,
            "era": probe.era.as_str(),
            "supported_versions": probe.supported_versions,
            "serves_legacy_clients": probe.legacy_too,
            "tools": probe.tools,
            "transport": transport_name,
        });
        if let Some(u) = url {
            out["url"] = json!(crate::oauth::http::redact_url(&u));
        }
        if let Some(c) = call {
            out["call"] = c;
        }
        let text = serde_json::to_string_pretty(&out).expect("JSON");
        println!("{}", crate::redact::mask(&text));
        return Ok(());
    }
    println!(
        "server    {} {}",
        sanitize(&probe.server_name),
        sanitize(&probe.server_version)
    );
    println!(
        "protocol  {} ({})",
        sanitize(&probe.protocol_version),
        probe.era.as_str()
    );
    if probe.era == Era::Modern {
        let versions: Vec<String> = probe
            .supported_versions
            .iter()
            .map(|v| sanitize(v))
            .collect();
        println!("versions  {}", versions.join(", "));
        match probe.legacy_too {
            Some(true) => println!("legacy    also serves legacy (2025-11-25) clients"),
            Some(false) => {
                println!("legacy    modern only: legacy hosts reach it through crux's bridge")
            }
            None => {}
        }
    }
    println!("tools     {}", probe.tools);
    println!("transport {transport_name}");
    if let Some(c) = call {
        let text: Vec<String> = c
            .get("content")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.get("text").and_then(Value::as_str))
                    .map(|t| crate::redact::mask(&sanitize(t)).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let failed = c.get("isError") == Some(&json!(true));
        println!(
            "call      {}{}",
            if failed { "error: " } else { "" },
            text.join(" ")
        );
        if failed {
            return Err(Error::failed(
                "the tool call reported an error",
                "check the tool's arguments",
            ));
        }
    }
    Ok(())
}

/// Records the era a registered server spoke in its registration, for `crux mcp show`.
fn remember_protocol(home: &CruxHome, name: &str, probe: &Probe) -> Result<()> {
    let mcp = ServerName::parse(name)?;
    let _lock = home.lock()?;
    let mut registry = Registry::load(home)?;
    let Some(r) = registry.servers.get_mut(mcp.as_str()) else {
        return Ok(());
    };
    let seen = crate::registry::ProtocolSeen {
        era: probe.era.as_str().to_string(),
        version: probe.protocol_version.clone(),
        supported_versions: probe.supported_versions.clone(),
        seen_at: crate::index::now_rfc3339(),
    };
    if r.protocol.as_ref().is_some_and(|p| {
        p.era == seen.era
            && p.version == seen.version
            && p.supported_versions == seen.supported_versions
    }) {
        return Ok(());
    }
    r.protocol = Some(seen);
    registry.save(home)
}

fn run_probe<T: Transport>(
    transport: T,
    call: Option<&str>,
    arguments: &Value,
    era: Option<Era>,
) -> Result<(Probe, Option<Value>)> {
    let mut client = Client::new(transport);
    if let Some(era) = era {
        client = client.pin(era);
    }
    let probe = client.probe()?;
    let called = match call {
        Some(tool) => client.request("tools/call", json!({"name": tool, "arguments": arguments})),
        None => Ok(Value::Null),
    };
    client.finish();
    let called = called?;
    Ok((probe, call.map(|_| called)))
}

/// Offers the sign-in at the end of `mcp add` when a person is at a terminal.
pub fn offer_sign_in(home: &CruxHome, mcp: &ServerName) -> Result<()> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        println!("Sign in with: crux mcp auth {mcp}");
        return Ok(());
    }
    eprint!("Sign in to '{mcp}' now? [Y/n] ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::io("cannot read the answer", e))?;
    if matches!(line.trim().to_ascii_lowercase().as_str(), "" | "y" | "yes") {
        let registry = Registry::load(home)?;
        sign_in(home, mcp, registry.require(mcp)?)
    } else {
        println!("Sign in later with: crux mcp auth {mcp}");
        Ok(())
    }
}

/// `crux headers <MCP>`: the auth headers of a remote server as a JSON object, for hosts that
/// run a headers helper (Claude Code's `headersHelper`). It prints a token on purpose: it is
/// meant to be read by the host, never written to a file.
pub fn headers(home: &CruxHome, name: &str, no_url_check: bool) -> Result<()> {
    let mcp = ServerName::parse(name)?;
    let registry = Registry::load(home)?;
    let registered = registry.require(&mcp)?;
    if let Some(url) = registered.spec.url() {
        check_destination(&mcp, url, no_url_check)?;
    }
    let url = registered.spec.url().unwrap_or_default();
    if !crate::template::placeholders(url).is_empty() {
        return Err(Error::failed(
            format!("'{mcp}' has a credential in its URL, which a headers helper cannot fill in"),
            format!("connect through crux's bridge instead: crux project sync (without --headers-helper); see: crux mcp show {mcp}"),
        ));
    }
    // The registration's extra headers, credentials filled in, then the auth header.
    let extra = crate::bridge::filled::read(home, &mcp, registered)?.headers;
    let auth = match (
        &registered.spec.auth.oauth,
        &registered.spec.auth.bearer,
        registered.spec.url(),
    ) {
        (Some(spec), _, Some(url)) => {
            let mut session = Session::load(home, &mcp, url, spec.clone(), Interaction::Silent)?;
            if !session.has_token()
                && !session.has_refresh_token()
                && spec.grant == Grant::AuthorizationCode
            {
                return Err(Error::failed(
                    format!("{mcp}: not signed in"),
                    format!("sign in: crux mcp auth {mcp}"),
                ));
            }
            let token = session.token()?;
            Some((
                "Authorization".to_string(),
                crate::secret::Secret::new(format!("Bearer {}", token.expose())),
            ))
        }
        (None, Some(spec), Some(_)) => {
            let value = crate::bridge::bearer_value(home, &mcp, spec)?;
            Some(crate::bridge::bearer_header(spec, &value))
        }
        (None, None, Some(_)) if !extra.is_empty() => None,
        _ => {
            return Err(Error::failed(
                format!(
                "'{mcp}' is not a remote server with a bearer token, OAuth or credential headers"
            ),
                format!("see it with: crux mcp show {mcp}"),
            ))
        }
    };
    let mut map = serde_json::Map::new();
    for (header, value) in extra.into_iter().chain(auth) {
        map.insert(header, Value::String(value.expose().to_string()));
    }
    println!("{}", Value::Object(map));
    Ok(())
}

/// The URL a headers helper's output goes to, as the host states it.
const HOST_URL_VAR: &str = "CLAUDE_CODE_MCP_SERVER_URL";

/// A credential is printed for a host only when the host says it sends it to the registered
/// URL: a project's `.mcp.json` that runs `crux headers github` for another URL gets nothing.
fn check_destination(mcp: &ServerName, registered: &str, no_url_check: bool) -> Result<()> {
    let same = |a: &str, b: &str| match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    // A project file's entry can set the variable itself in its helper's command line
    // (`CLAUDE_CODE_MCP_SERVER_URL=<registered> crux headers github`) while its `url` is
    // another: every `.mcp.json` the host (or this process) works in is checked too.
    if let Some((path, entry, url)) = foreign_helper(mcp, registered, &same) {
        return Err(Error::failed(
            format!(
                "{} has an entry '{}' whose headers helper would send the headers of '{mcp}' to {}, not to its registered URL, so crux printed nothing",
                path.display(),
                sanitize(&entry),
                crate::oauth::http::redact_url(&url)
            ),
            format!("remove that entry (crux writes its own with: crux project sync --headers-helper); see the registered URL: crux mcp show {mcp}"),
        ));
    }
    match std::env::var(HOST_URL_VAR).ok().filter(|u| !u.is_empty()) {
        Some(host) if same(&host, registered) => Ok(()),
        Some(host) => Err(Error::failed(
            format!(
                "the host would send the headers of '{mcp}' to {}, not to its registered URL {}, so crux printed nothing",
                crate::oauth::http::redact_url(&host),
                crate::oauth::http::redact_url(registered)
            ),
            format!("remove that entry from the project's .mcp.json (crux writes its own with: crux project sync --headers-helper); see the registered URL: crux mcp show {mcp}"),
        )),
        None if no_url_check => {
            eprintln!("warning: --no-url-check: crux cannot tell where the host sends the headers of '{mcp}'; any project file that runs this command receives the credential");
            Ok(())
        }
        None => Err(Error::failed(
            format!("the host did not say where it sends the headers of '{mcp}' ({HOST_URL_VAR} is not set), so crux printed nothing"),
            format!("run it as Claude Code's headersHelper (crux project sync --headers-helper); for a host that names no URL: crux headers {mcp} --no-url-check"),
        )),
    }
}

/// An entry in a `.mcp.json` near this process or its ancestors (the host) whose
/// `headersHelper` runs `crux headers <mcp>` for a URL other than the registered one: the
/// file, the entry's name and its URL.
fn foreign_helper(
    mcp: &ServerName,
    registered: &str,
    same: &dyn Fn(&str, &str) -> bool,
) -> Option<(std::path::PathBuf, String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    for dir in working_dirs() {
        for d in dir.ancestors() {
            let path = d.join(crate::sync::MCP_FILE);
            if !seen.insert(path.clone()) {
                continue;
            }
            let Ok(Some(bytes)) = crate::fsutil::read_optional(&path) else {
                continue;
            };
            let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            for (name, entry) in doc["mcpServers"].as_object().into_iter().flatten() {
                let Some(helper) = entry["headersHelper"].as_str() else {
                    continue;
                };
                let words = shlex::split(helper).unwrap_or_default();
                let runs_ours = words
                    .windows(2)
                    .any(|w| w[0] == "headers" && w[1] == mcp.as_str());
                let url = entry["url"].as_str().unwrap_or_default();
                if runs_ours && !same(url, registered) {
                    return Some((path, name.clone(), url.to_string()));
                }
            }
        }
    }
    None
}

/// This process's working directory and those of its ancestors (the shell a host ran the
/// helper in, the host itself), nearest first.
fn working_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = std::env::current_dir().into_iter().collect();
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getppid has no preconditions and cannot fail.
        let mut pid = unsafe { libc::getppid() };
        for _ in 0..32 {
            if pid <= 1 {
                break;
            }
            if let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd")) {
                dirs.push(cwd);
            }
            let Some(parent) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    // `pid (comm) state ppid …`: comm may hold spaces and parentheses.
                    let rest = &stat[stat.rfind(')')? + 1..];
                    rest.split_whitespace().nth(1)?.parse().ok()
                })
            else {
                break;
            };
            pid = parent;
        }
    }
    dirs
}
