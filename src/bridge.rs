//! `crux bridge`: the launcher of a remote server. The MCP host starts it as a stdio server
//! (through `CRUX_HOME/launchers/http-bridge-auth.sh`); it refreshes the server's OAuth token
//! if it expires within a minute, then forwards each JSON-RPC message from stdin to the
//! server's Streamable HTTP endpoint with the token in the `Authorization` header, and writes
//! every message of the answers to stdout.

use crate::error::{Error, Result};
use crate::home::CruxHome;
use crate::mcp_client::HttpTransport;
use crate::names::ServerName;
use crate::oauth::http::redact_url;
use crate::oauth::{Interaction, Session};
use crate::registry::Registry;
use serde_json::{json, Value};
use std::io::{BufRead, Write};

/// Runs the bridge; returns only on failure (or when the host closes stdin: `Ok`).
pub fn run(home: &CruxHome) -> Result<()> {
    let (mcp, url, session) = prepare(home).map_err(|e| Error::Launch(Box::new(e)))?;
    let mut session = session;
    let mut transport = HttpTransport::new(&url, session.as_mut());
    let stdin = std::io::stdin();
    let mut line = String::new();
    let mut input = stdin.lock();
    loop {
        line.clear();
        let n = input
            .read_line(&mut line)
            .map_err(|e| Error::io("cannot read from the MCP host", e))?;
        if n == 0 {
            return Ok(());
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            eprintln!("crux bridge ({mcp}): ignored a line that is not JSON");
            continue;
        };
        let is_initialize = message.get("method") == Some(&json!("initialize"));
        let request_id = message.get("method").and(message.get("id")).cloned();
        let mut version = None;
        let result = transport.send_message(&message, |reply| {
            if is_initialize {
                version = reply
                    .pointer("/result/protocolVersion")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            if reply.get("id").is_some() || reply.get("method").is_some() {
                write_line(&reply);
            }
            false
        });
        if let Some(v) = version {
            transport.protocol_version(&v);
        }
        if let Err(e) = result {
            eprintln!(
                "crux bridge ({mcp}): {}",
                e.render().trim_start_matches("error: ")
            );
            if let Some(id) = request_id {
                write_line(&json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "error": {"code": -32000, "message": format!("crux bridge: {e}")},
                }));
            }
        }
    }
}

fn write_line(message: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{message}");
    let _ = out.flush();
}

/// Checks the environment against the registry and gets a fresh token: every failure here
/// stops the launch (exit 78) before the host sees a server.
fn prepare(home: &CruxHome) -> Result<(ServerName, String, Option<Session>)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mcp = var("CRUX_MCP_NAME").ok_or_else(|| {
        Error::failed(
            "CRUX_MCP_NAME is not set, so crux does not know which server to bridge",
            "start servers through the entries crux writes: crux project sync",
        )
    })?;
    let mcp = ServerName::parse(&mcp)?;
    let url = var("CRUX_BRIDGE_URL").ok_or_else(|| {
        Error::failed(
            format!("{mcp}: CRUX_BRIDGE_URL is not set"),
            "regenerate the entry: crux project sync",
        )
    })?;
    let registry = Registry::load_unchecked(home)?;
    let registered = registry.require(&mcp)?;
    registered.spec.validate(mcp.as_str())?;
    // Tokens go only to the URL the user registered for this server.
    if registered.spec.url() != Some(url.as_str()) {
        return Err(Error::failed(
            format!(
                "{mcp}: the launcher was asked to connect to {}, not to the registered URL, so crux sends it no token",
                redact_url(&url)
            ),
            format!("regenerate the entry: crux project sync (see the registered URL: crux mcp show {mcp})"),
        ));
    }
    let session = match &registered.spec.auth.oauth {
        Some(spec) => {
            let mut session = Session::load(home, &mcp, &url, spec.clone(), Interaction::Silent)?;
            if !session.has_token()
                && !session.has_refresh_token()
                && spec.grant == crate::oauth::spec::Grant::AuthorizationCode
            {
                return Err(Error::failed(
                    format!("{mcp}: not signed in"),
                    format!("sign in: crux mcp auth {mcp}"),
                ));
            }
            session.token()?;
            Some(session)
        }
        None => None,
    };
    Ok((mcp, url, session))
}
