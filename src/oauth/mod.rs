//! OAuth 2.1 for remote MCP servers, as the MCP authorization specification describes:
//! discovery, client registration (pre-registered, client ID metadata document, or dynamic),
//! authorization code with PKCE S256 over a loopback redirect, client credentials (secret or
//! `private_key_jwt`), refresh under a per-server lock, and revocation.
//!
//! A [`Session`] is one server's OAuth state in memory: the non-secret half mirrors the
//! index, the secret half (tokens, client secret, private key) mirrors the keystore. A session
//! of a registered server writes both back after each change; an ephemeral one (a probe of a
//! bare URL) keeps everything in memory and writes nothing.

//! One concern per file, each an `impl Session` of its own: `discovery` (metadata),
//! `registration` (the client id), `grants` (authorization code, client credentials),
//! `tokens` (refresh, expiry), `persist` (index and keystore), `revoke`.

pub mod crypto;
pub mod discovery;
mod grants;
pub mod http;
pub mod loopback;
mod persist;
mod registration;
mod revoke;
pub mod spec;
mod tokens;

pub use persist::forget_session;
pub use tokens::REFRESH_MARGIN;

use crate::error::{sanitize, Error, Result};
use crate::fsutil::{self, Lock};
use crate::home::CruxHome;
use crate::index::{now_rfc3339, AuthType, Index};
use crate::names::{ServerName, VarName};
use crate::secret::Secret;
use crate::store::{select, Backend};
use discovery::{Challenge, Discovered};
use http::{redact_url, Http, Response};
use serde_json::{json, Value};
use spec::*;
use std::time::Duration;

/// How a session may reach the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// A browser sign-in may be started (commands a person runs).
    Browser,
    /// Only silent steps: stored tokens, refresh, client credentials (the launcher).
    Silent,
}

pub struct Session {
    name: Option<ServerName>,
    home: Option<CruxHome>,
    pub server_url: String,
    pub spec: OAuthSpec,
    pub state: OAuthState,
    backend: Option<Backend>,
    access: Option<Secret>,
    refresh: Option<Secret>,
    client_secret: Option<Secret>,
    private_key: Option<Secret>,
    http: Http,
    interaction: Interaction,
    /// Scopes added by step-up challenges during this session.
    extra_scope: Option<String>,
}

fn account(name: &str) -> VarName {
    VarName::parse(name).expect("account names are valid variable names")
}

impl Session {
    /// A session of a registered server, loaded from the index and the keystore.
    pub fn load(
        home: &CruxHome,
        name: &ServerName,
        server_url: &str,
        spec: OAuthSpec,
        interaction: Interaction,
    ) -> Result<Session> {
        let mut session = Session {
            name: Some(name.clone()),
            home: Some(home.clone()),
            server_url: server_url.to_string(),
            spec,
            state: OAuthState::default(),
            backend: None,
            access: None,
            refresh: None,
            client_secret: None,
            private_key: None,
            http: Http::default(),
            interaction,
            extra_scope: None,
        };
        session.reload()?;
        Ok(session)
    }

    /// A session that lives in memory only (a probe of a URL that is not registered).
    pub fn ephemeral(
        server_url: &str,
        spec: OAuthSpec,
        client_secret: Option<Secret>,
        private_key: Option<Secret>,
        interaction: Interaction,
    ) -> Session {
        Session {
            name: None,
            home: None,
            server_url: server_url.to_string(),
            spec,
            state: OAuthState::default(),
            backend: None,
            access: None,
            refresh: None,
            client_secret,
            private_key,
            http: Http::default(),
            interaction,
            extra_scope: None,
        }
    }

    pub(super) fn label(&self) -> String {
        match &self.name {
            Some(n) => n.to_string(),
            None => redact_url(&self.server_url),
        }
    }

    /// The command that signs in again, for error messages.
    pub(super) fn fix(&self) -> String {
        match &self.name {
            Some(n) => format!("sign in again: crux mcp auth {n}"),
            None => "run the probe again".into(),
        }
    }

    /// The access token held now (none when signed out).
    pub fn access_token(&self) -> Option<&Secret> {
        self.access.as_ref()
    }

    pub fn has_token(&self) -> bool {
        self.access.is_some()
    }

    pub fn has_refresh_token(&self) -> bool {
        self.refresh.is_some()
    }
}

/// A token endpoint's answer: the JSON body on success, else the OAuth `error` code and a
/// printable detail (RFC 6749 §5.2).
fn token_error(resp: Response) -> Result<std::result::Result<Value, (String, String)>> {
    let status = resp.status;
    let url = resp.url.clone();
    let ok = resp.ok();
    let body = if ok {
        resp.json("the token response")?
    } else {
        resp.json("the error response").unwrap_or(Value::Null)
    };
    // Some servers (GitHub) answer errors with 200 and an `error` member.
    if ok && (body.get("access_token").is_some() || body.get("error").is_none()) {
        return Ok(Ok(body));
    }
    let code = body
        .get("error")
        .and_then(Value::as_str)
        .map(sanitize)
        .unwrap_or_else(|| format!("HTTP {status}"));
    let detail = body
        .get("error_description")
        .and_then(Value::as_str)
        .map(|d| format!(" ({})", sanitize(d)))
        .unwrap_or_else(|| format!(" at {url}"));
    Ok(Err((code, detail)))
}

fn error_detail(resp: Response) -> String {
    let body = resp.json("the error response").unwrap_or(Value::Null);
    match (
        body.get("error").and_then(Value::as_str),
        body.get("error_description").and_then(Value::as_str),
    ) {
        (Some(e), Some(d)) => format!(": {} ({})", sanitize(e), sanitize(d)),
        (Some(e), None) => format!(": {}", sanitize(e)),
        _ => String::new(),
    }
}

fn note(message: &str) {
    eprintln!("crux: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use discovery::ServerMetadata;

    fn discovered(methods: Option<Vec<String>>) -> Discovered {
        Discovered {
            resource_metadata: None,
            server: ServerMetadata {
                url: Some("https://as.example/.well-known/oauth-authorization-server".into()),
                authorization_endpoint: Some("https://as.example/authorize".into()),
                token_endpoint: "https://as.example/token".into(),
                registration_endpoint: Some("https://as.example/register".into()),
                code_challenge_methods: methods,
                ..ServerMetadata::default()
            },
            resource: "https://mcp.example/mcp".into(),
        }
    }

    /// Without S256 advertised, crux stops before it listens, registers or opens a browser.
    #[test]
    fn no_s256_no_sign_in() {
        for methods in [Some(vec!["plain".to_string()]), None] {
            let mut s = Session::ephemeral(
                "https://mcp.example/mcp",
                OAuthSpec::default(),
                None,
                None,
                Interaction::Browser,
            );
            let err = s
                .authorization_code(&discovered(methods), None)
                .unwrap_err();
            assert!(err.to_string().contains("PKCE"), "{err}");
            assert!(s.state.client_id.is_none(), "nothing was registered");
        }
    }

    #[test]
    fn scopes_union_for_step_up() {
        let mut s = Session::ephemeral(
            "https://mcp.example/mcp",
            OAuthSpec::default(),
            None,
            None,
            Interaction::Browser,
        );
        s.state.scope = Some("a b".into());
        s.add_scope("b c");
        let disc = discovered(Some(vec!["S256".into()]));
        let challenge = Challenge {
            scope: Some("a".into()),
            ..Challenge::default()
        };
        assert_eq!(
            s.scope_for(&disc, Some(&challenge)).as_deref(),
            Some("a b c")
        );
    }
}
