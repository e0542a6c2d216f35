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
// The OAuth metadata the registry and the index store sits below them, outside the protocol
// code; `oauth::spec` is its old name.
pub use crate::oauth_meta as spec;
mod tokens;

pub use persist::{forget_registration, forget_session};
pub use revoke::{Fate, Revocation, TokenRevocation};
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
    /// RFC 7592 registration access token of a dynamic registration.
    registration_token: Option<Secret>,
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
            registration_token: None,
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
            registration_token: None,
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

    /// A protected resource whose metadata names `as1` until `migrated` is set, then `as2`;
    /// both authorization servers register clients and issue tokens (with refresh tokens).
    /// Records which client id each authorization server saw.
    struct Migration {
        base: String,
        migrated: std::sync::Arc<std::sync::atomic::AtomicBool>,
        seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    }

    impl Migration {
        fn start() -> Migration {
            use std::sync::atomic::Ordering::SeqCst;
            let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
            let base = format!("http://{}", server.server_addr());
            let migrated = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let (b, m, log) = (base.clone(), migrated.clone(), seen.clone());
            std::thread::spawn(move || {
                for mut req in server.incoming_requests() {
                    let path = req.url().to_string();
                    let auth = req
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("Authorization"))
                        .map(|h| h.value.to_string());
                    let mut body = String::new();
                    let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
                    let now = if m.load(SeqCst) { "as2" } else { "as1" };
                    let answer = match path.as_str() {
                        "/.well-known/oauth-protected-resource/mcp" => json!({
                            "resource": format!("{b}/mcp"),
                            "authorization_servers": [format!("{b}/{now}")],
                        }),
                        p if p.starts_with("/.well-known/oauth-authorization-server/") => {
                            let name = &p["/.well-known/oauth-authorization-server/".len()..];
                            json!({
                                "issuer": format!("{b}/{name}"),
                                "token_endpoint": format!("{b}/{name}/token"),
                                "registration_endpoint": format!("{b}/{name}/register"),
                            })
                        }
                        p if p.ends_with("/register") => {
                            let name = &p[1..4];
                            log.lock().unwrap().push(format!("{name} register"));
                            json!({"client_id": format!("{name}-client"), "client_secret": format!("{name}-client-secret")})
                        }
                        p if p.ends_with("/token") => {
                            use base64::Engine;
                            let name = &p[1..4];
                            let client = auth
                                .and_then(|a| {
                                    base64::engine::general_purpose::STANDARD
                                        .decode(a.trim_start_matches("Basic "))
                                        .ok()
                                })
                                .map(|raw| {
                                    String::from_utf8_lossy(&raw)
                                        .split(':')
                                        .next()
                                        .unwrap_or_default()
                                        .to_string()
                                })
                                .unwrap_or_default();
                            log.lock().unwrap().push(format!("{name} token {client}"));
                            json!({"access_token": format!("{name}-access-token"), "token_type": "Bearer",
                                   "expires_in": 3600, "refresh_token": format!("{name}-refresh-token")})
                        }
                        _ => Value::Null,
                    };
                    let status = if answer.is_null() { 404 } else { 200 };
                    let _ = req.respond(
                        tiny_http::Response::from_string(answer.to_string())
                            .with_status_code(status)
                            .with_header(
                                tiny_http::Header::from_bytes("Content-Type", "application/json")
                                    .unwrap(),
                            ),
                    );
                }
            });
            Migration {
                base,
                migrated,
                seen,
            }
        }
    }

    /// The protected resource moves to another authorization server: the tokens and the
    /// dynamic registration of the old one are not replayed there (no refresh at the old
    /// one either); crux registers with the new one (MCP 2026-07-28, SEP-2352).
    #[test]
    fn a_new_authorization_server_gets_a_new_registration() {
        let fake = Migration::start();
        let spec = OAuthSpec {
            grant: Grant::ClientCredentials,
            ..OAuthSpec::default()
        };
        let mut s = Session::ephemeral(
            &format!("{}/mcp", fake.base),
            spec,
            None,
            None,
            Interaction::Silent,
        );
        let first = s.obtain(None).unwrap();
        assert_eq!(first.expose(), "as1-access-token");
        assert_eq!(s.state.issuer, Some(format!("{}/as1", fake.base)));
        assert!(s.has_refresh_token());
        fake.migrated
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let second = s.rejected(None).unwrap();
        assert_eq!(second.expose(), "as2-access-token");
        assert_eq!(s.state.issuer, Some(format!("{}/as2", fake.base)));
        assert_eq!(s.state.client_id.as_deref(), Some("as2-client"));
        assert_eq!(
            *fake.seen.lock().unwrap(),
            [
                "as1 register",
                "as1 token as1-client",
                "as2 register",
                "as2 token as2-client"
            ],
            "no refresh at the old server, no old client id at the new one"
        );
    }

    /// A server that answers each request with `answer(path, form body)`: status and JSON.
    /// A session for the tests against [`fake`]: nothing stored, no interaction.
    fn silent_session() -> Session {
        Session::ephemeral(
            "https://mcp.example/mcp",
            OAuthSpec::default(),
            None,
            None,
            Interaction::Silent,
        )
    }

    /// A revocation endpoint's answer that refuses the access token and takes the refresh token.
    fn access_refused(body: &str, status: u16, error: Value) -> (u16, Value) {
        if body.contains("token_type_hint=access_token") {
            (status, error)
        } else {
            (200, Value::Null)
        }
    }

    fn fake(answer: fn(&str, &str) -> (u16, Value)) -> String {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let base = format!("http://{}", server.server_addr());
        std::thread::spawn(move || {
            for mut req in server.incoming_requests() {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
                let (status, json) = answer(req.url(), &body);
                let _ = req.respond(
                    tiny_http::Response::from_string(json.to_string()).with_status_code(status),
                );
            }
        });
        base
    }

    /// oidc-provider's answer for a JWT access token: unsupported_token_type. That token is
    /// as revoked as it can be: both are deleted, and the report says why.
    #[test]
    fn unsupported_token_type_counts_as_revoked() {
        let base =
            fake(|_, body| access_refused(body, 400, json!({"error": "unsupported_token_type"})));
        let mut s = silent_session();
        s.state.revocation_endpoint = Some(format!("{base}/revoke"));
        s.state.client_id = Some("c".into());
        s.state.expires_at = Some(spec::now_unix() + 90);
        s.access = Some(Secret::new("eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"));
        s.refresh = Some(Secret::new("opaque-refresh-token"));
        let report = s.revoke().unwrap();
        assert!(report.complete());
        assert!(!s.has_token() && !s.has_refresh_token());
        let said = report.describe();
        assert!(said.starts_with("refresh token revoked at the server; the access token is a JWT the server cannot revoke (unsupported_token_type), it expires in"), "{said}");
        assert!(said.ends_with("both deleted here"), "{said}");
    }

    /// A refused revocation keeps that token here.
    #[test]
    fn a_refused_revocation_keeps_the_token() {
        let base = fake(|_, body| access_refused(body, 500, json!({"error": "server_error"})));
        let mut s = silent_session();
        s.state.revocation_endpoint = Some(format!("{base}/revoke"));
        s.access = Some(Secret::new("opaque-access-token"));
        s.refresh = Some(Secret::new("opaque-refresh-token"));
        let report = s.revoke().unwrap();
        assert!(!report.complete());
        assert!(s.has_token() && !s.has_refresh_token());
        assert!(report.describe().contains("HTTP 500: server_error"));
    }

    /// RFC 7592: a registration the server answers 401 for is gone; one it returns, or one
    /// crux cannot ask about, is taken as known.
    #[test]
    fn the_server_is_asked_whether_it_knows_the_registration() {
        let base = fake(|path, _| match path {
            "/register/known" => (200, json!({"client_id": "known"})),
            _ => (401, json!({"error": "invalid_token"})),
        });
        let mut s = silent_session();
        assert!(s.registration_known(), "no way to ask");
        s.registration_token = Some(Secret::new("registration-access-token"));
        s.state.registration_client_uri = Some(format!("{base}/register/known"));
        assert!(s.registration_known());
        s.state.registration_client_uri = Some(format!("{base}/register/forgotten"));
        assert!(!s.registration_known());
    }
}
