//! Finding the authorization server of an MCP server, as the MCP authorization specification
//! (2025-06-18, 2025-11-25, 2026-07-28) describes: the 401's `WWW-Authenticate` challenge, RFC 9728
//! protected-resource metadata (path-inserted, then root), RFC 8414 and OpenID Connect
//! authorization-server metadata in every well-known variant the spec lists, and the
//! 2025-03-26 fallbacks (metadata on the server's origin; default endpoints). Metadata whose
//! `issuer` is not the issuer identifier it was fetched for is never used (RFC 8414 §3.3).

use super::http::{redact_url, Http};
use crate::error::{sanitize, Error, Result};
use crate::jsonfile::strings;
use serde_json::Value;
use url::Url;

/// The parameters of a `Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    pub resource_metadata: Option<String>,
    pub scope: Option<String>,
    pub error: Option<String>,
}

impl Challenge {
    /// The `Bearer` challenge among a response's `WWW-Authenticate` headers, if any.
    pub fn from_headers(headers: &[&str]) -> Option<Challenge> {
        headers.iter().find_map(|h| parse_bearer_challenge(h))
    }
}

/// Parses `Bearer k=v, k="v", …` out of a `WWW-Authenticate` value that may list several
/// schemes. Unknown parameters are ignored.
pub fn parse_bearer_challenge(header: &str) -> Option<Challenge> {
    let mut chars = header.char_indices().peekable();
    let bytes = header.as_bytes();
    let mut in_bearer = false;
    let mut found = false;
    let mut challenge = Challenge::default();
    while let Some(&(start, c)) = chars.peek() {
        if c == ',' || c.is_whitespace() {
            chars.next();
            continue;
        }
        // A token: a scheme name, or a parameter name followed by '='.
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c == '=' || c == ',' || c.is_whitespace() {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        let token = &header[start..end];
        // Skip spaces to see whether '=' follows.
        while matches!(chars.peek(), Some(&(_, c)) if c == ' ' || c == '\t') {
            chars.next();
        }
        if matches!(chars.peek(), Some(&(_, '='))) {
            chars.next();
            while matches!(chars.peek(), Some(&(_, c)) if c == ' ' || c == '\t') {
                chars.next();
            }
            let value = if matches!(chars.peek(), Some(&(_, '"'))) {
                chars.next();
                let mut v = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                v.push(n);
                            }
                        }
                        '"' => break,
                        c => v.push(c),
                    }
                }
                v
            } else {
                let vstart = chars.peek().map(|&(i, _)| i).unwrap_or(bytes.len());
                let mut vend = vstart;
                while let Some(&(i, c)) = chars.peek() {
                    if c == ',' || c.is_whitespace() {
                        break;
                    }
                    vend = i + c.len_utf8();
                    chars.next();
                }
                header[vstart..vend].to_string()
            };
            if in_bearer {
                match token.to_ascii_lowercase().as_str() {
                    "resource_metadata" => challenge.resource_metadata = Some(value),
                    "scope" => challenge.scope = Some(value),
                    "error" => challenge.error = Some(value),
                    _ => {}
                }
            }
        } else if !token.is_empty() {
            if found && in_bearer {
                break;
            }
            in_bearer = token.eq_ignore_ascii_case("bearer");
            found |= in_bearer;
        }
    }
    found.then_some(challenge)
}

/// RFC 9728 protected-resource metadata, the fields crux uses.
#[derive(Debug, Clone, Default)]
pub struct ResourceMetadata {
    pub url: String,
    pub resource: Option<String>,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Vec<String>,
}

/// Authorization-server metadata (RFC 8414 / OpenID Connect Discovery), or the 2025-03-26
/// defaults when a server publishes none.
#[derive(Debug, Clone, Default)]
pub struct ServerMetadata {
    /// Where it was read; `None` for the defaults.
    pub url: Option<String>,
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    pub registration_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub scopes_supported: Vec<String>,
    pub code_challenge_methods: Option<Vec<String>>,
    pub token_auth_methods: Option<Vec<String>>,
    pub client_id_metadata_document_supported: bool,
    /// RFC 9207: the server puts `iss` in every authorization response, so one without it
    /// is rejected.
    pub iss_parameter_supported: bool,
    pub prompt_values_supported: Vec<String>,
    /// An OpenID provider: read as OpenID Connect discovery, or a document with what that
    /// requires (`subject_types_supported`, `id_token_signing_alg_values_supported`) or the
    /// `openid` scope.
    pub openid: bool,
}

#[derive(Debug, Clone)]
pub struct Discovered {
    pub resource_metadata: Option<ResourceMetadata>,
    pub server: ServerMetadata,
    /// The canonical URI of the MCP server, for RFC 8707's `resource`.
    pub resource: String,
}

impl Discovered {
    /// Scope to ask for: the challenge's, else what the resource advertises, else none.
    pub fn default_scope(&self, challenge: Option<&Challenge>) -> Option<String> {
        if let Some(scope) = challenge.and_then(|c| c.scope.clone()) {
            return Some(scope);
        }
        let advertised = self
            .resource_metadata
            .as_ref()
            .map(|m| &m.scopes_supported)
            .filter(|s| !s.is_empty())?;
        Some(advertised.join(" "))
    }
}

fn discovery_error(what: &str, url: &str, why: impl std::fmt::Display) -> Error {
    Error::failed(
        format!("{what} at {} is unusable: {why}", redact_url(url)),
        "check the server URL (crux mcp probe <url> shows what the server answers)",
    )
}

/// The canonical form of a server URL for `resource` (RFC 8707 §2; MCP "Canonical Server
/// URI"): lower-case scheme and host, no fragment, no trailing slash on a bare origin.
pub fn canonical_resource(server_url: &str) -> Result<String> {
    let mut url = Url::parse(server_url)
        .map_err(|e| Error::usage(format!("invalid server URL: {e}"), "give an http(s) URL"))?;
    url.set_fragment(None);
    let mut s = url.to_string();
    if url.path() == "/" && url.query().is_none() {
        s.pop();
    }
    Ok(s)
}

/// Well-known URL with the resource's path inserted after the well-known segment (RFC 9728
/// §3.1, RFC 8414 §3.1); `None` for a URL with no path.
fn path_inserted(base: &Url, well_known: &str) -> Option<String> {
    let path = base.path().trim_end_matches('/');
    if path.is_empty() {
        return None;
    }
    Some(format!("{}/.well-known/{well_known}{path}", origin(base)))
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn get_json(http: &Http, url: &str) -> Result<Option<Value>> {
    let resp = http.get(url)?;
    if !resp.ok() {
        return Ok(None);
    }
    match resp.json("metadata") {
        Ok(v @ Value::Object(_)) => Ok(Some(v)),
        _ => Ok(None),
    }
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// RFC 9728 metadata: the challenge's `resource_metadata`, else path-inserted, else root.
pub fn resource_metadata(
    http: &Http,
    server_url: &str,
    challenge: Option<&Challenge>,
) -> Result<Option<ResourceMetadata>> {
    let base = Url::parse(server_url)
        .map_err(|e| Error::usage(format!("invalid server URL: {e}"), "give an http(s) URL"))?;
    let mut candidates = Vec::new();
    if let Some(url) = challenge.and_then(|c| c.resource_metadata.clone()) {
        candidates.push(url);
    }
    candidates.extend(path_inserted(&base, "oauth-protected-resource"));
    candidates.push(format!(
        "{}/.well-known/oauth-protected-resource",
        origin(&base)
    ));
    for url in candidates {
        if let Some(doc) = get_json(http, &url)? {
            return parse_resource_metadata(url, &doc).map(Some);
        }
    }
    Ok(None)
}

/// The fields crux uses of the protected-resource metadata read at `url`.
pub(crate) fn parse_resource_metadata(url: String, doc: &Value) -> Result<ResourceMetadata> {
    let servers = strings(doc, "authorization_servers");
    if servers.is_empty() {
        return Err(discovery_error(
            "protected resource metadata",
            &url,
            "it names no authorization_servers",
        ));
    }
    Ok(ResourceMetadata {
        url,
        resource: string(doc, "resource"),
        authorization_servers: servers,
        scopes_supported: strings(doc, "scopes_supported"),
    })
}

/// The metadata URLs to try for an issuer, in the order the MCP specification gives.
pub fn metadata_candidates(issuer: &Url) -> Vec<String> {
    let o = origin(issuer);
    match path_inserted(issuer, "oauth-authorization-server") {
        Some(oauth) => {
            let path = issuer.path().trim_end_matches('/');
            vec![
                oauth,
                format!("{o}/.well-known/openid-configuration{path}"),
                format!("{o}{path}/.well-known/openid-configuration"),
            ]
        }
        None => vec![
            format!("{o}/.well-known/oauth-authorization-server"),
            format!("{o}/.well-known/openid-configuration"),
        ],
    }
}

pub(crate) fn parse_server_metadata(url: &str, doc: &Value) -> Result<ServerMetadata> {
    let token_endpoint = string(doc, "token_endpoint").ok_or_else(|| {
        discovery_error(
            "authorization server metadata",
            url,
            "token_endpoint is missing",
        )
    })?;
    let flag = |key: &str| doc.get(key).and_then(Value::as_bool).unwrap_or(false);
    Ok(ServerMetadata {
        url: Some(url.to_string()),
        issuer: string(doc, "issuer"),
        authorization_endpoint: string(doc, "authorization_endpoint"),
        token_endpoint,
        registration_endpoint: string(doc, "registration_endpoint"),
        revocation_endpoint: string(doc, "revocation_endpoint"),
        scopes_supported: strings(doc, "scopes_supported"),
        code_challenge_methods: doc
            .get("code_challenge_methods_supported")
            .map(|_| strings(doc, "code_challenge_methods_supported")),
        token_auth_methods: doc
            .get("token_endpoint_auth_methods_supported")
            .map(|_| strings(doc, "token_endpoint_auth_methods_supported")),
        client_id_metadata_document_supported: flag("client_id_metadata_document_supported"),
        iss_parameter_supported: flag("authorization_response_iss_parameter_supported"),
        prompt_values_supported: strings(doc, "prompt_values_supported"),
        // OpenID Connect Discovery requires these; many providers serve the same document
        // at the RFC 8414 URL too, so where it was read is not enough.
        openid: url.contains("/.well-known/openid-configuration")
            || doc.get("id_token_signing_alg_values_supported").is_some()
            || doc.get("subject_types_supported").is_some()
            || strings(doc, "scopes_supported")
                .iter()
                .any(|s| s == "openid"),
    })
}

/// How a metadata document's `issuer` fits the issuer identifier it was fetched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerFit {
    /// Identical strings, as RFC 8414 §3.3 and OpenID Connect Discovery §4.3 require (no
    /// normalization); or no `issuer` at all, taken for the identifier crux asked about.
    Identical,
    /// Another issuer on the same origin (`https://as.example` for
    /// `https://as.example/tenant1`). The document is used, with a warning: the well-known
    /// URL lives at the origin's root, so whoever serves it controls every issuer on that
    /// origin and can name no one else; and servers of the 2025-11-25 era do this (the
    /// 2025-11-25 conformance suite's path-tenant metadata does), which must keep working.
    SameOrigin,
    /// Another origin: never used (MCP 2026-07-28 "Authorization Server Metadata Discovery").
    Foreign,
}

pub fn issuer_fit(declared: Option<&str>, identifier: &str) -> IssuerFit {
    let Some(declared) = declared else {
        return IssuerFit::Identical;
    };
    if declared == identifier {
        return IssuerFit::Identical;
    }
    match (Url::parse(declared), Url::parse(identifier)) {
        (Ok(d), Ok(i)) if d.origin() == i.origin() && d.origin().is_tuple() => {
            IssuerFit::SameOrigin
        }
        _ => IssuerFit::Foreign,
    }
}

/// Authorization-server metadata for an issuer, trying each well-known variant; a document
/// that names an issuer on another origin is skipped, and when every document found does,
/// that is the error. The metadata's `issuer` is the one crux records (and compares RFC 9207
/// `iss` with); without one, the identifier asked about.
pub fn server_metadata(http: &Http, issuer: &str) -> Result<Option<ServerMetadata>> {
    let url = Url::parse(issuer).map_err(|e| discovery_error("authorization server", issuer, e))?;
    let mut foreign = None;
    for candidate in metadata_candidates(&url) {
        if let Some(doc) = get_json(http, &candidate)? {
            let mut meta = parse_server_metadata(&candidate, &doc)?;
            match issuer_fit(meta.issuer.as_deref(), issuer) {
                IssuerFit::Identical => {}
                IssuerFit::SameOrigin => eprintln!(
                    "crux: warning: the authorization server metadata at {} names the issuer {}, not {} (same origin; used)",
                    redact_url(&candidate),
                    sanitize(meta.issuer.as_deref().unwrap_or_default()),
                    sanitize(issuer)
                ),
                IssuerFit::Foreign => {
                    foreign.get_or_insert((candidate, meta.issuer.take().unwrap_or_default()));
                    continue;
                }
            }
            meta.issuer.get_or_insert_with(|| issuer.to_string());
            return Ok(Some(meta));
        }
    }
    match foreign {
        Some((candidate, declared)) => Err(Error::failed(
            format!(
                "the authorization server metadata at {} names the issuer {}, not {}; crux does not use metadata of another issuer",
                redact_url(&candidate),
                sanitize(&declared),
                sanitize(issuer)
            ),
            "the server's metadata is misconfigured or tampered with; report it to its operator",
        )),
        None => Ok(None),
    }
}

/// The whole discovery, from a server URL and the challenge of its 401 (if one was seen).
pub fn discover(
    http: &Http,
    server_url: &str,
    challenge: Option<&Challenge>,
) -> Result<Discovered> {
    let resource = canonical_resource(server_url)?;
    let prm = resource_metadata(http, server_url, challenge)?;
    if let Some(prm) = &prm {
        if let Some(declared) = &prm.resource {
            if !resource_matches(declared, &resource) {
                return Err(Error::failed(
                    format!(
                        "the protected resource metadata at {} is for {}, not for {}",
                        redact_url(&prm.url),
                        sanitize(declared),
                        redact_url(&resource)
                    ),
                    "the server's metadata is misconfigured; report it to its operator",
                ));
            }
        }
    }
    let server = match &prm {
        Some(prm) => {
            let issuer = &prm.authorization_servers[0];
            server_metadata(http, issuer)?.ok_or_else(|| {
                Error::failed(
                    format!(
                        "the authorization server {} publishes no OAuth or OpenID metadata",
                        redact_url(issuer)
                    ),
                    "check the server's OAuth setup; crux needs RFC 8414 or OpenID Connect discovery",
                )
            })?
        }
        None => {
            // 2025-03-26: the authorization base URL is the server URL without its path.
            let base =
                Url::parse(server_url).map_err(|e| discovery_error("server", server_url, e))?;
            let o = origin(&base);
            match server_metadata(http, &o)? {
                Some(m) => m,
                None => ServerMetadata {
                    url: None,
                    authorization_endpoint: Some(format!("{o}/authorize")),
                    token_endpoint: format!("{o}/token"),
                    registration_endpoint: Some(format!("{o}/register")),
                    ..ServerMetadata::default()
                },
            }
        }
    };
    // OAuth requires TLS: tokens, codes and secrets never travel in clear text, except to
    // this machine (loopback, where test and development servers live).
    for (what, url) in [
        ("the MCP server", Some(server_url)),
        ("the token endpoint", Some(server.token_endpoint.as_str())),
        (
            "the authorization endpoint",
            server.authorization_endpoint.as_deref(),
        ),
        (
            "the registration endpoint",
            server.registration_endpoint.as_deref(),
        ),
        (
            "the revocation endpoint",
            server.revocation_endpoint.as_deref(),
        ),
    ] {
        if let Some(url) = url {
            if !is_secure(url) {
                return Err(Error::failed(
                    format!(
                        "{what} ({}) is not HTTPS; crux sends no OAuth credentials over plain HTTP",
                        redact_url(url)
                    ),
                    "use the server's https:// URL",
                ));
            }
        }
    }
    let resource = prm
        .as_ref()
        .and_then(|p| p.resource.clone())
        .unwrap_or(resource);
    Ok(Discovered {
        resource_metadata: prm,
        server,
        resource,
    })
}

/// HTTPS, or plain HTTP to this machine's loopback interface.
pub fn is_secure(url: &str) -> bool {
    let Ok(u) = Url::parse(url) else {
        return false;
    };
    match u.scheme() {
        "https" => true,
        "http" => match u.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// Whether metadata declared for `declared` covers the server at `actual`: same origin, and
/// the declared path a prefix of the actual one on a segment boundary.
pub fn resource_matches(declared: &str, actual: &str) -> bool {
    let (Ok(d), Ok(a)) = (Url::parse(declared), Url::parse(actual)) else {
        return false;
    };
    if d.origin() != a.origin() {
        return false;
    }
    let dp = d.path().trim_end_matches('/');
    let ap = a.path().trim_end_matches('/');
    ap == dp || ap.starts_with(&format!("{dp}/")) || dp.is_empty()
}

use super::spec::ClientSource;
use super::Session;

impl Session {
    /// Takes the endpoints discovery found. A different authorization server invalidates a
    /// remembered dynamic registration.
    pub(super) fn adopt(&mut self, disc: &Discovered) {
        let issuer = disc
            .server
            .issuer
            .clone()
            .or_else(|| Some(disc.server.token_endpoint.clone()));
        if issuer_changed(self.state.issuer.as_deref(), issuer.as_deref()) {
            // Registrations and tokens belong to the authorization server that issued them
            // (MCP 2026-07-28): none is replayed at another. A pre-registered client id
            // stays: the user gave it for this server.
            if self.state.client_source == Some(ClientSource::Dynamic) {
                self.drop_client();
            }
            self.access = None;
            self.refresh = None;
            self.state.has_refresh_token = false;
            self.state.expires_at = None;
            self.state.lifetime = None;
        }
        self.state.issuer = issuer;
        self.state.authorization_endpoint = disc.server.authorization_endpoint.clone();
        self.state.token_endpoint = Some(disc.server.token_endpoint.clone());
        self.state.registration_endpoint = disc.server.registration_endpoint.clone();
        self.state.revocation_endpoint = disc.server.revocation_endpoint.clone();
        self.state.resource = Some(disc.resource.clone());
    }
}

impl Session {
    /// The authorization server the protected resource metadata names now, when it is
    /// another than the one this session's registration and tokens belong to (a server that
    /// moved to a new authorization server answers the old tokens with 401).
    pub(super) fn server_moved(&self, challenge: Option<&Challenge>) -> Option<String> {
        let recorded = self.state.issuer.as_deref()?;
        let prm = resource_metadata(&self.http, &self.server_url, challenge).ok()??;
        let now = prm.authorization_servers.first()?;
        issuer_changed(Some(recorded), Some(now)).then(|| now.clone())
    }
}

/// Whether credentials recorded for issuer `old` must not be used with `new`. Unknown (an
/// index written before crux recorded issuers): no.
pub fn issuer_changed(old: Option<&str>, new: Option<&str>) -> bool {
    matches!((old, new), (Some(o), Some(n)) if o != n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_of_another_issuer_is_not_used() {
        let id = "https://as.example/tenant";
        assert_eq!(issuer_fit(Some(id), id), IssuerFit::Identical);
        assert_eq!(issuer_fit(None, id), IssuerFit::Identical, "absent");
        for foreign in [
            "https://attacker.example.com",
            "http://as.example/tenant",
            "https://as.example:8443/tenant",
            "not a url",
        ] {
            assert_eq!(
                issuer_fit(Some(foreign), id),
                IssuerFit::Foreign,
                "{foreign}"
            );
        }
        assert_eq!(
            issuer_fit(Some("https://as.example"), id),
            IssuerFit::SameOrigin
        );
        assert_eq!(
            issuer_fit(Some("https://as.example/"), "https://as.example"),
            IssuerFit::SameOrigin
        );
    }

    /// oidc-provider serves its OpenID document at the RFC 8414 URL too: still an OpenID
    /// provider (it wants prompt=consent with offline_access).
    #[test]
    fn openid_providers_are_recognized_wherever_their_metadata_is_read() {
        let url = "https://as.example/.well-known/oauth-authorization-server";
        let oidc = serde_json::json!({"issuer": "https://as.example", "token_endpoint": "https://as.example/token",
            "subject_types_supported": ["public"], "scopes_supported": ["openid", "offline_access"]});
        assert!(parse_server_metadata(url, &oidc).unwrap().openid);
        let oauth = serde_json::json!({"issuer": "https://as.example", "token_endpoint": "https://as.example/token",
            "scopes_supported": ["offline_access"], "authorization_response_iss_parameter_supported": true});
        let meta = parse_server_metadata(url, &oauth).unwrap();
        assert!(!meta.openid);
        assert!(meta.iss_parameter_supported);
        let doc_url = "https://as.example/.well-known/openid-configuration";
        assert!(parse_server_metadata(doc_url, &oauth).unwrap().openid);
    }

    #[test]
    fn credentials_are_keyed_by_issuer() {
        assert!(issuer_changed(
            Some("https://as1.example"),
            Some("https://as2.example")
        ));
        assert!(!issuer_changed(
            Some("https://as1.example"),
            Some("https://as1.example")
        ));
        assert!(
            !issuer_changed(None, Some("https://as2.example")),
            "unknown: kept"
        );
        assert!(!issuer_changed(Some("https://as1.example"), None));
    }

    #[test]
    fn parses_bearer_challenges() {
        let c = parse_bearer_challenge(
            r#"Bearer realm="mcp", error="insufficient_scope", scope="files:read files:write", resource_metadata="https://x.example/.well-known/oauth-protected-resource/mcp""#,
        )
        .unwrap();
        assert_eq!(c.scope.as_deref(), Some("files:read files:write"));
        assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://x.example/.well-known/oauth-protected-resource/mcp")
        );
        let c = parse_bearer_challenge(r#"Basic realm="x", Bearer scope=a"#).unwrap();
        assert_eq!(c.scope.as_deref(), Some("a"));
        assert_eq!(parse_bearer_challenge(r#"Basic realm="x""#), None);
        assert_eq!(parse_bearer_challenge("Bearer"), Some(Challenge::default()));
        let c = parse_bearer_challenge(r#"Bearer scope="a", Basic realm="b""#).unwrap();
        assert_eq!(c.scope.as_deref(), Some("a"));
    }

    #[test]
    fn well_known_candidates_follow_the_spec() {
        let with_path = Url::parse("https://auth.example/tenant1").unwrap();
        assert_eq!(
            metadata_candidates(&with_path),
            [
                "https://auth.example/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example/.well-known/openid-configuration/tenant1",
                "https://auth.example/tenant1/.well-known/openid-configuration",
            ]
        );
        let bare = Url::parse("https://auth.example/").unwrap();
        assert_eq!(
            metadata_candidates(&bare),
            [
                "https://auth.example/.well-known/oauth-authorization-server",
                "https://auth.example/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn canonical_resources() {
        assert_eq!(
            canonical_resource("HTTPS://MCP.Example.com/mcp#x").unwrap(),
            "https://mcp.example.com/mcp"
        );
        assert_eq!(
            canonical_resource("https://mcp.example.com/").unwrap(),
            "https://mcp.example.com"
        );
        assert!(resource_matches(
            "https://a.example/mcp",
            "https://a.example/mcp"
        ));
        assert!(resource_matches(
            "https://a.example",
            "https://a.example/mcp"
        ));
        assert!(!resource_matches(
            "https://a.example/mc",
            "https://a.example/mcp"
        ));
        assert!(!resource_matches(
            "https://b.example/mcp",
            "https://a.example/mcp"
        ));
    }
}
