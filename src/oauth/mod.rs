//! OAuth 2.1 for remote MCP servers, as the MCP authorization specification describes:
//! discovery, client registration (pre-registered, client ID metadata document, or dynamic),
//! authorization code with PKCE S256 over a loopback redirect, client credentials (secret or
//! `private_key_jwt`), refresh under a per-server lock, and revocation.
//!
//! A [`Session`] is one server's OAuth state in memory: the non-secret half mirrors the
//! index, the secret half (tokens, client secret, private key) mirrors the keystore. A session
//! of a registered server writes both back after each change; an ephemeral one (a probe of a
//! bare URL) keeps everything in memory and writes nothing.

pub mod crypto;
pub mod discovery;
pub mod http;
pub mod loopback;
pub mod spec;

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

/// A token this close to expiry is refreshed before use (seconds).
pub const REFRESH_MARGIN: i64 = 60;

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

    fn label(&self) -> String {
        match &self.name {
            Some(n) => n.to_string(),
            None => redact_url(&self.server_url),
        }
    }

    /// The command that signs in again, for error messages.
    fn fix(&self) -> String {
        match &self.name {
            Some(n) => format!("sign in again: crux mcp auth {n}"),
            None => "run the probe again".into(),
        }
    }

    /// Re-reads the index and the keystore (another crux process may have refreshed).
    fn reload(&mut self) -> Result<()> {
        let (Some(home), Some(name)) = (&self.home, &self.name) else {
            return Ok(());
        };
        let index = Index::load(home)?;
        self.state = index
            .servers
            .get(name.as_str())
            .and_then(|e| e.oauth.clone())
            .unwrap_or_default();
        let stored: Vec<(VarName, Backend)> = ACCOUNTS
            .iter()
            .map(|a| account(a))
            .filter_map(|a| index.get(name, &a).map(|c| (a, c.backend)))
            .collect();
        self.backend = stored.first().map(|(_, b)| *b);
        self.access = None;
        self.refresh = None;
        self.client_secret = None;
        self.private_key = None;
        if let Some(backend) = self.backend {
            let store = select::open(backend, home)?;
            let wanted: Vec<VarName> = stored.iter().map(|(a, _)| a.clone()).collect();
            let mut got = store.get_many(name, &wanted)?;
            self.access = got.remove(&account(ACCESS_TOKEN));
            self.refresh = got.remove(&account(REFRESH_TOKEN));
            self.client_secret = got.remove(&account(CLIENT_SECRET));
            self.private_key = got.remove(&account(PRIVATE_KEY));
        }
        // Tokens obtained for another URL (the server was registered again with a new one)
        // are never sent to this one.
        if let Some(resource) = &self.state.resource {
            let here = discovery::canonical_resource(&self.server_url)?;
            if !discovery::resource_matches(resource, &here) {
                self.access = None;
                self.refresh = None;
                self.state.expires_at = None;
                self.state.has_refresh_token = false;
                if self.state.client_source == Some(ClientSource::Dynamic) {
                    self.state.forget_client();
                    self.client_secret = None;
                }
            }
        }
        Ok(())
    }

    /// Writes changed secrets (`None` deletes) and the state, under the CRUX_HOME lock. The
    /// refresh token is written in the same keystore operation as the access token and
    /// before it in order, so a rotated refresh token is never lost.
    fn persist(&mut self, changes: &[(&str, Option<&Secret>)]) -> Result<()> {
        let (Some(home), Some(name)) = (self.home.clone(), self.name.clone()) else {
            return Ok(());
        };
        let backend = match self.backend {
            Some(b) => b,
            None => select::choose(&home)?.backend,
        };
        let store = select::open(backend, &home)?;
        let _lock = home.lock()?;
        let mut index = Index::load(&home)?;
        let mut sets: Vec<(VarName, Secret)> = Vec::new();
        for (acct, value) in changes {
            if let Some(v) = value {
                sets.push((account(acct), (*v).clone()));
            }
        }
        sets.sort_by_key(|(a, _)| a.as_str() != REFRESH_TOKEN);
        if !sets.is_empty() {
            store.set_many(&name, &sets)?;
        }
        for (acct, value) in changes {
            let var = account(acct);
            match value {
                // OAuth tokens are bound to their resource (the registered URL) instead.
                Some(_) => index.record(&name, &var, backend, AuthType::Oauth, None),
                None => {
                    if index.get(&name, &var).is_some() {
                        store.delete(&name, &var)?;
                        index.remove(&name, &var);
                    }
                }
            }
        }
        index.set_oauth(&name, Some(self.state.clone()));
        index.save(&home)?;
        self.backend = Some(backend);
        Ok(())
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

    /// A usable access token: the stored one, refreshed when it expires within
    /// [`REFRESH_MARGIN`], or a new one from the grant.
    pub fn token(&mut self) -> Result<Secret> {
        if let Some(a) = &self.access {
            if !self.state.expires_within(REFRESH_MARGIN) {
                return Ok(a.clone());
            }
        }
        self.renew(None)
    }

    /// The server rejected the token we sent (401): refresh, else obtain a new one.
    pub fn rejected(&mut self, challenge: Option<&Challenge>) -> Result<Secret> {
        if let Some(scope) = challenge.and_then(|c| c.scope.as_deref()) {
            self.add_scope(scope);
        }
        if self.access.is_some() && self.refresh.is_some() {
            // The token may have been revoked or expired early: one refresh, then a sign-in.
            let sent = self.access.clone();
            if let Some(t) = self.try_refresh(sent.as_ref(), true)? {
                return Ok(t);
            }
        }
        self.obtain(challenge)
    }

    /// Step-up (403 `insufficient_scope`): sign in again asking for the challenged scopes too.
    pub fn step_up(&mut self, challenge: &Challenge) -> Result<Secret> {
        let wanted = challenge.scope.as_deref().unwrap_or_default();
        let granted: Vec<&str> = self
            .state
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        if self.access.is_some() && wanted.split_whitespace().all(|s| granted.contains(&s)) {
            // Signing in again would ask for what we already hold: it cannot help.
            return Err(Error::failed(
                format!(
                    "{}: the server refuses the token for lack of scopes it already grants ({})",
                    self.label(),
                    sanitize(if wanted.is_empty() { "none named" } else { wanted })
                ),
                "the account may not be allowed this operation; check its permissions with the server's operator",
            ));
        }
        self.add_scope(wanted);
        if self.interaction == Interaction::Silent && self.spec.grant == Grant::AuthorizationCode {
            // Remember what the server asked for, so the next sign-in asks for it too.
            self.state.wanted_scope = self.extra_scope.clone();
            self.persist(&[])?;
            return Err(Error::failed(
                format!(
                    "{}: the server needs more scopes ({})",
                    self.label(),
                    sanitize(wanted)
                ),
                self.fix(),
            ));
        }
        self.obtain(Some(challenge))
    }

    fn add_scope(&mut self, scope: &str) {
        let mut all: Vec<String> = self
            .extra_scope
            .iter()
            .chain(self.state.scope.iter())
            .flat_map(|s| s.split_whitespace())
            .map(str::to_string)
            .collect();
        for s in scope.split_whitespace() {
            if !all.iter().any(|x| x == s) {
                all.push(s.to_string());
            }
        }
        self.extra_scope = Some(all.join(" "));
    }

    /// A refresh whose failure a person can repair by signing in (`None`, after a note);
    /// the launcher, which cannot, gets the error.
    fn try_refresh(&mut self, sent: Option<&Secret>, force: bool) -> Result<Option<Secret>> {
        match self.refresh_locked(sent, force) {
            Ok(t) => Ok(t),
            Err(e)
                if self.interaction == Interaction::Silent
                    && self.spec.grant != Grant::ClientCredentials =>
            {
                Err(e)
            }
            Err(e) => {
                note(&format!("{e}; signing in again"));
                Ok(None)
            }
        }
    }

    fn renew(&mut self, challenge: Option<&Challenge>) -> Result<Secret> {
        // Client credentials without a refresh token simply ask again.
        let cc_only = self.spec.grant == Grant::ClientCredentials && self.refresh.is_none();
        if !cc_only && (self.refresh.is_some() || self.name.is_some()) {
            let sent = self.access.clone();
            if let Some(t) = self.try_refresh(sent.as_ref(), false)? {
                return Ok(t);
            }
        }
        self.obtain(challenge)
    }

    /// Refreshes under the per-server lock. Another process may have refreshed while we
    /// waited: the reloaded token is used when it differs from the one we had (`sent`) and is
    /// fresh. `force` refreshes even a token that looks fresh (the server rejected it).
    fn refresh_locked(&mut self, sent: Option<&Secret>, force: bool) -> Result<Option<Secret>> {
        let _lock = match (&self.home, &self.name) {
            (Some(home), Some(name)) => {
                let dir = home.root().join("locks");
                home.ensure()?;
                fsutil::ensure_private_dir(&dir)?;
                Some(Lock::acquire(&dir.join(format!("{name}.oauth.lock")))?)
            }
            _ => None,
        };
        self.reload()?;
        if let Some(a) = &self.access {
            let changed = sent != Some(a);
            if !self.state.expires_within(REFRESH_MARGIN) && (changed || !force) {
                return Ok(Some(a.clone()));
            }
        }
        let Some(refresh) = self.refresh.clone() else {
            return Ok(None);
        };
        let token_endpoint = self.state.token_endpoint.clone().ok_or_else(|| {
            Error::failed(
                format!("{}: the token endpoint is not known", self.label()),
                self.fix(),
            )
        })?;
        let mut form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", refresh.expose().to_string()),
        ];
        if self.spec.resource {
            if let Some(r) = &self.state.resource {
                form.push(("resource", r.clone()));
            }
        }
        let resp = self.token_request(&token_endpoint, form)?;
        match token_error(resp)? {
            Ok(body) => self.accept(body, true).map(Some),
            Err((code, detail)) => {
                if code == "invalid_client"
                    && self.state.client_source == Some(ClientSource::Dynamic)
                {
                    // The tokens of a client the server disowned are dead too.
                    self.state.forget_client();
                    self.access = None;
                    self.refresh = None;
                    self.state.has_refresh_token = false;
                    self.persist(&[
                        (CLIENT_SECRET, None),
                        (REFRESH_TOKEN, None),
                        (ACCESS_TOKEN, None),
                    ])?;
                }
                Err(Error::failed(
                    format!(
                        "{}: the token refresh failed: the server answered {code}{detail}",
                        self.label()
                    ),
                    self.fix(),
                ))
            }
        }
    }

    /// Discovery, then the configured grant.
    pub fn obtain(&mut self, challenge: Option<&Challenge>) -> Result<Secret> {
        if self.spec.grant == Grant::AuthorizationCode && self.interaction == Interaction::Silent {
            let problem = if self.access.is_some() {
                "the OAuth token expired and the server issued no refresh token"
            } else {
                "not signed in"
            };
            return Err(Error::failed(
                format!("{}: {problem}", self.label()),
                self.fix(),
            ));
        }
        let disc = discovery::discover(&self.http, &self.server_url, challenge)?;
        self.adopt(&disc);
        let scope = self.scope_for(&disc, challenge);
        match self.spec.grant {
            Grant::AuthorizationCode => self.authorization_code(&disc, scope),
            Grant::ClientCredentials => self.client_credentials(&disc, scope),
        }
    }

    /// Takes the endpoints discovery found. A different authorization server invalidates a
    /// remembered dynamic registration.
    fn adopt(&mut self, disc: &Discovered) {
        let issuer = disc
            .server
            .issuer
            .clone()
            .or_else(|| Some(disc.server.token_endpoint.clone()));
        if self.state.issuer.is_some()
            && self.state.issuer != issuer
            && self.state.client_source == Some(ClientSource::Dynamic)
        {
            self.state.forget_client();
            self.client_secret = None;
        }
        self.state.issuer = issuer;
        self.state.authorization_endpoint = disc.server.authorization_endpoint.clone();
        self.state.token_endpoint = Some(disc.server.token_endpoint.clone());
        self.state.registration_endpoint = disc.server.registration_endpoint.clone();
        self.state.revocation_endpoint = disc.server.revocation_endpoint.clone();
        self.state.resource = Some(disc.resource.clone());
    }

    fn scope_for(&self, disc: &Discovered, challenge: Option<&Challenge>) -> Option<String> {
        let base = self
            .spec
            .scopes
            .clone()
            .or_else(|| disc.default_scope(challenge));
        let extra = match (&self.extra_scope, &self.state.wanted_scope) {
            (Some(e), _) => Some(e.clone()),
            (None, w) => w.clone(),
        };
        match (&base, &extra) {
            (_, None) => base,
            (None, Some(extra)) => Some(extra.clone()),
            (Some(b), Some(extra)) => {
                let mut all: Vec<&str> = b.split_whitespace().collect();
                for s in extra.split_whitespace() {
                    if !all.contains(&s) {
                        all.push(s);
                    }
                }
                Some(all.join(" "))
            }
        }
    }

    /// Makes sure there is a client id for this authorization server and redirect URI.
    fn ensure_client(&mut self, disc: &Discovered, redirect_uri: Option<&str>) -> Result<()> {
        if let Some(id) = &self.spec.client_id {
            self.state.client_id = Some(id.clone());
            self.state.client_source = Some(ClientSource::PreRegistered);
            self.state.redirect_uri = redirect_uri.map(str::to_string);
            self.state.auth_method = Some(self.pick_method(disc, None));
            return Ok(());
        }
        let reusable = self.state.client_id.is_some()
            && match self.state.client_source {
                Some(ClientSource::Dynamic) => {
                    redirect_uri.is_none() || self.state.redirect_uri.as_deref() == redirect_uri
                }
                Some(ClientSource::MetadataDocument) => {
                    self.spec.client_metadata_url == self.state.client_id
                }
                _ => false,
            };
        if reusable {
            return Ok(());
        }
        if let Some(doc_url) = &self.spec.client_metadata_url {
            if disc.server.client_id_metadata_document_supported {
                self.state.client_id = Some(doc_url.clone());
                self.state.client_source = Some(ClientSource::MetadataDocument);
                self.state.redirect_uri = redirect_uri.map(str::to_string);
                self.state.auth_method = Some(if self.private_key.is_some() {
                    AuthMethod::PrivateKeyJwt
                } else {
                    AuthMethod::None
                });
                return Ok(());
            }
        }
        self.register(disc, redirect_uri)
    }

    /// Dynamic client registration (RFC 7591).
    fn register(&mut self, disc: &Discovered, redirect_uri: Option<&str>) -> Result<()> {
        let Some(endpoint) = disc.server.registration_endpoint.clone() else {
            return Err(Error::failed(
                format!(
                    "{}: the authorization server does not offer dynamic client registration",
                    self.label()
                ),
                match &self.name {
                    Some(n) => format!("register a client with the server's operator, then: crux mcp add {n} --url <url> --oauth --client-id <ID> --force"),
                    None => "pass a pre-registered client id (--client-id)".into(),
                },
            ));
        };
        let mut body = json!({
            "client_name": "crux",
            "client_uri": "https://github.com/crux-mcp/crux",
            "software_id": "crux",
            "software_version": env!("CARGO_PKG_VERSION"),
        });
        match self.spec.grant {
            Grant::AuthorizationCode => {
                body["redirect_uris"] = json!([redirect_uri.unwrap_or_default()]);
                body["grant_types"] = json!(["authorization_code", "refresh_token"]);
                body["response_types"] = json!(["code"]);
                // A public client where the server allows one (crux cannot keep a secret
                // from its own user anyway), else a confidential one.
                let method = match &disc.server.token_auth_methods {
                    Some(m) if !m.iter().any(|x| x == "none") => {
                        if m.iter().any(|x| x == "client_secret_basic")
                            || !m.iter().any(|x| x == "client_secret_post")
                        {
                            "client_secret_basic"
                        } else {
                            "client_secret_post"
                        }
                    }
                    _ => "none",
                };
                body["token_endpoint_auth_method"] = json!(method);
            }
            Grant::ClientCredentials => {
                body["grant_types"] = json!(["client_credentials"]);
                let method = self
                    .spec
                    .auth_method
                    .unwrap_or(AuthMethod::ClientSecretBasic);
                body["token_endpoint_auth_method"] = json!(method.as_str());
                if method == AuthMethod::PrivateKeyJwt {
                    let key = self.ensure_private_key()?;
                    body["jwks"] = json!({"keys": [crypto::public_jwk(&key)?]});
                }
            }
        }
        let resp = self.http.post_json(&endpoint, &body)?;
        if !resp.ok() {
            let status = resp.status;
            let detail = error_detail(resp);
            return Err(Error::failed(
                format!(
                    "{}: client registration at {} failed (HTTP {status}{detail})",
                    self.label(),
                    redact_url(&endpoint)
                ),
                "register a client with the server's operator and pass --client-id",
            ));
        }
        let doc = resp.json("the client registration response")?;
        let client_id = doc
            .get("client_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::failed(
                    format!(
                        "{}: the registration response has no client_id",
                        self.label()
                    ),
                    "report it to the server's operator",
                )
            })?;
        self.state.client_id = Some(client_id.to_string());
        self.state.client_source = Some(ClientSource::Dynamic);
        self.state.redirect_uri = redirect_uri.map(str::to_string);
        self.client_secret = doc
            .get("client_secret")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(Secret::new);
        let answered = doc
            .get("token_endpoint_auth_method")
            .and_then(Value::as_str)
            .and_then(AuthMethod::parse);
        self.state.auth_method = Some(self.pick_method(disc, answered));
        let secret = self.client_secret.clone();
        self.persist(&[(CLIENT_SECRET, secret.as_ref())])?;
        Ok(())
    }

    /// The token endpoint authentication method: what was configured or registered, else
    /// what the client's credentials and the server's metadata allow.
    fn pick_method(&self, disc: &Discovered, registered: Option<AuthMethod>) -> AuthMethod {
        if let Some(m) = self.spec.auth_method.or(registered) {
            return m;
        }
        if self.private_key.is_some() {
            return AuthMethod::PrivateKeyJwt;
        }
        if self.client_secret.is_none() {
            return AuthMethod::None;
        }
        match &disc.server.token_auth_methods {
            Some(m)
                if !m.iter().any(|x| x == "client_secret_basic")
                    && m.iter().any(|x| x == "client_secret_post") =>
            {
                AuthMethod::ClientSecretPost
            }
            _ => AuthMethod::ClientSecretBasic,
        }
    }

    fn ensure_private_key(&mut self) -> Result<Secret> {
        if let Some(k) = &self.private_key {
            return Ok(k.clone());
        }
        let key = crypto::generate_key()?;
        self.private_key = Some(key.clone());
        self.persist(&[(PRIVATE_KEY, Some(&key))])?;
        Ok(key)
    }

    /// The public JWK of this server's `private_key_jwt` key, generating the key if needed.
    pub fn public_key(&mut self) -> Result<Value> {
        let key = self.ensure_private_key()?;
        crypto::public_jwk(&key)
    }

    /// POSTs a token request with the client's authentication added.
    fn token_request(
        &self,
        endpoint: &str,
        mut form: Vec<(&'static str, String)>,
    ) -> Result<Response> {
        let client_id = self.state.client_id.clone().unwrap_or_default();
        let method = self.state.auth_method.unwrap_or(AuthMethod::None);
        let mut basic = None;
        match method {
            AuthMethod::None => form.push(("client_id", client_id.clone())),
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                let secret = self.client_secret.clone().ok_or_else(|| {
                    Error::failed(
                        format!("{}: the client secret is not stored", self.label()),
                        match &self.name {
                            Some(n) => format!("store it: crux mcp auth {n} --client-secret-stdin"),
                            None => "pass the client secret".into(),
                        },
                    )
                })?;
                if method == AuthMethod::ClientSecretBasic {
                    basic = Some(secret);
                } else {
                    form.push(("client_id", client_id.clone()));
                    form.push(("client_secret", secret.expose().to_string()));
                }
            }
            AuthMethod::PrivateKeyJwt => {
                let key = self.private_key.clone().ok_or_else(|| {
                    Error::failed(
                        format!("{}: no private key is stored for private_key_jwt", self.label()),
                        match &self.name {
                            Some(n) => format!("create one and register its public half: crux mcp auth {n} --show-public-key"),
                            None => "pass the private key".into(),
                        },
                    )
                })?;
                // RFC 7523 §3 allows the token endpoint or the issuer; RFC 7523bis and the MCP
                // client-credentials extension want the issuer, which servers accept widely.
                let audience = self
                    .state
                    .issuer
                    .clone()
                    .unwrap_or_else(|| endpoint.to_string());
                let assertion = crypto::client_assertion(&key, &client_id, &audience)?;
                form.push(("client_id", client_id.clone()));
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion", assertion.expose().to_string()));
            }
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = self.http.post_form(
            endpoint,
            &pairs,
            basic.as_ref().map(|s| (client_id.as_str(), s)),
        );
        for (_, v) in form.iter_mut() {
            zeroize::Zeroize::zeroize(v);
        }
        resp
    }

    /// Authorization code + PKCE through the browser and a loopback redirect.
    fn authorization_code(&mut self, disc: &Discovered, scope: Option<String>) -> Result<Secret> {
        match &disc.server.code_challenge_methods {
            Some(methods) if !methods.iter().any(|m| m == "S256") => {
                return Err(Error::failed(
                    format!(
                        "{}: the authorization server does not support PKCE with S256, which MCP requires; crux will not sign in without it",
                        self.label()
                    ),
                    "ask the server's operator to enable PKCE (S256)",
                ))
            }
            None if disc.server.url.is_some() => {
                return Err(Error::failed(
                    format!(
                        "{}: the authorization server's metadata does not advertise PKCE (code_challenge_methods_supported), which MCP requires; crux will not sign in without it",
                        self.label()
                    ),
                    "ask the server's operator to enable PKCE (S256)",
                ))
            }
            _ => {}
        }
        let Some(auth_endpoint) = disc.server.authorization_endpoint.clone() else {
            return Err(Error::failed(
                format!(
                    "{}: the authorization server has no authorization endpoint",
                    self.label()
                ),
                "for machine-to-machine servers register with --grant client-credentials",
            ));
        };
        let label = self.label();
        // Bind first, then register the exact URI. Reuse the remembered port when free, so a
        // dynamic registration stays valid; a fixed --callback-port must be free.
        let listener = match self.spec.callback_port {
            Some(port) => loopback::Listener::bind(port, &label)?,
            None => {
                let remembered = self
                    .state
                    .redirect_uri
                    .as_deref()
                    .and_then(|u| url::Url::parse(u).ok())
                    .and_then(|u| u.port());
                match remembered.map(|p| loopback::Listener::bind(p, &label)) {
                    Some(Ok(l)) => l,
                    _ => loopback::Listener::bind(0, &label)?,
                }
            }
        };
        for attempt in 0..2 {
            self.ensure_client(disc, Some(&listener.redirect_uri))?;
            let client_id = self.state.client_id.clone().unwrap_or_default();
            let pkce = crypto::Pkce::new();
            let state = crypto::random_token();
            let mut url = url::Url::parse(&auth_endpoint).map_err(|e| {
                Error::failed(
                    format!("{label}: the authorization endpoint is not a URL: {e}"),
                    "report it to the server's operator",
                )
            })?;
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("response_type", "code")
                    .append_pair("client_id", &client_id)
                    .append_pair("redirect_uri", &listener.redirect_uri)
                    .append_pair("code_challenge", &pkce.challenge)
                    .append_pair("code_challenge_method", "S256")
                    .append_pair("state", &state);
                if let Some(s) = &scope {
                    q.append_pair("scope", s);
                }
                if self.spec.resource {
                    q.append_pair("resource", &disc.resource);
                }
            }
            eprintln!(
                "crux: sign in to {label} in your browser. If it does not open, visit:\n  {url}"
            );
            loopback::open_browser(url.as_str());
            let timeout = std::env::var("CRUX_OAUTH_TIMEOUT")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(300);
            let code = listener.wait(&state, Duration::from_secs(timeout), true)?;
            let mut form = vec![
                ("grant_type", "authorization_code".to_string()),
                ("code", code.expose().to_string()),
                ("redirect_uri", listener.redirect_uri.clone()),
                ("code_verifier", pkce.verifier.expose().to_string()),
            ];
            if self.spec.resource {
                form.push(("resource", disc.resource.clone()));
            }
            let resp = self.token_request(&disc.server.token_endpoint, form)?;
            match self.grant_answer(resp, &scope, attempt == 0)? {
                Ok(token) => return Ok(token),
                Err(None) => note(&format!(
                    "{label}: the server no longer knows crux's registration; registering again"
                )),
                Err(Some((code, detail))) => {
                    return Err(Error::failed(
                        format!(
                            "{label}: the token request failed: the server answered {code}{detail}"
                        ),
                        self.fix(),
                    ))
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// A grant's token answer: the token; `Err(None)` when the server disowned a dynamic
    /// registration on the first attempt (it is dropped, and the grant runs again with a new
    /// one); else the OAuth error code and detail.
    fn grant_answer(
        &mut self,
        resp: Response,
        scope: &Option<String>,
        first: bool,
    ) -> Result<std::result::Result<Secret, Option<(String, String)>>> {
        match token_error(resp)? {
            Ok(body) => {
                self.state.scope = scope.clone();
                self.accept(body, false).map(Ok)
            }
            Err((code, _))
                if code == "invalid_client"
                    && first
                    && self.state.client_source == Some(ClientSource::Dynamic) =>
            {
                self.state.forget_client();
                self.client_secret = None;
                Ok(Err(None))
            }
            Err(e) => Ok(Err(Some(e))),
        }
    }

    /// Client credentials (RFC 6749 §4.4) for machine-to-machine servers.
    fn client_credentials(&mut self, disc: &Discovered, scope: Option<String>) -> Result<Secret> {
        for attempt in 0..2 {
            self.ensure_client(disc, None)?;
            let mut form = vec![("grant_type", "client_credentials".to_string())];
            if let Some(s) = &scope {
                form.push(("scope", s.clone()));
            }
            if self.spec.resource {
                form.push(("resource", disc.resource.clone()));
            }
            let resp = self.token_request(&disc.server.token_endpoint, form)?;
            match self.grant_answer(resp, &scope, attempt == 0)? {
                Ok(token) => return Ok(token),
                Err(None) => {}
                Err(Some((code, detail))) => {
                    return Err(Error::failed(
                        format!(
                            "{}: the client credentials were refused: the server answered {code}{detail}",
                            self.label()
                        ),
                        match &self.name {
                            Some(n) => format!("check the client id and secret or key: crux mcp auth {n} --status"),
                            None => "check the client id and secret or key".into(),
                        },
                    ))
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Takes a successful token response: saves the refresh token (rotated or kept) and the
    /// access token together, then the metadata.
    fn accept(&mut self, body: Value, refreshed: bool) -> Result<Secret> {
        let access = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(Secret::new)
            .ok_or_else(|| {
                Error::failed(
                    format!("{}: the token response has no access_token", self.label()),
                    "report it to the server's operator",
                )
            })?;
        // RFC 6750 b64token: visible ASCII only, so it can travel in a header.
        if !access.expose().chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::failed(
                format!(
                    "{}: the server issued an access token with characters a header cannot carry",
                    self.label()
                ),
                "report it to the server's operator",
            ));
        }
        if let Some(kind) = body.get("token_type").and_then(Value::as_str) {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(Error::failed(
                    format!(
                        "{}: the server issued a '{}' token; MCP uses bearer tokens",
                        self.label(),
                        sanitize(kind)
                    ),
                    "report it to the server's operator",
                ));
            }
        }
        let new_refresh = body
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(Secret::new);
        if let Some(r) = new_refresh {
            self.refresh = Some(r);
        }
        let now = spec::now_unix();
        self.state.expires_at = body
            .get("expires_in")
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .map(|secs| now + secs.clamp(0, 10 * 365 * 86_400));
        if let Some(scope) = body.get("scope").and_then(Value::as_str) {
            self.state.scope = Some(scope.to_string());
        }
        let stamp = now_rfc3339();
        if refreshed {
            self.state.last_refresh = Some(stamp);
        } else {
            self.state.obtained_at = Some(stamp);
            self.state.last_refresh = None;
        }
        self.state.has_refresh_token = self.refresh.is_some();
        self.access = Some(access.clone());
        let refresh = self.refresh.clone();
        let secret = self.client_secret.clone();
        self.persist(&[
            (REFRESH_TOKEN, refresh.as_ref()),
            (ACCESS_TOKEN, Some(&access)),
            (CLIENT_SECRET, secret.as_ref()),
        ])?;
        Ok(access)
    }

    /// Refreshes now, whatever the expiry (`crux mcp auth --refresh-all`).
    pub fn force_refresh(&mut self) -> Result<Secret> {
        let sent = self.access.clone();
        self.refresh_locked(sent.as_ref(), true)?.ok_or_else(|| {
            Error::failed(
                format!(
                    "{}: there is no refresh token to refresh with",
                    self.label()
                ),
                self.fix(),
            )
        })
    }

    /// Revokes the tokens at the server (RFC 7009) when it has a revocation endpoint, then
    /// deletes them here. Returns whether the server was told.
    pub fn revoke(&mut self) -> Result<bool> {
        let mut told = false;
        if let Some(endpoint) = self.state.revocation_endpoint.clone() {
            let tokens = [
                (self.refresh.clone(), "refresh_token"),
                (self.access.clone(), "access_token"),
            ];
            for (token, hint) in tokens {
                let Some(token) = token else { continue };
                let form = vec![
                    ("token", token.expose().to_string()),
                    ("token_type_hint", hint.to_string()),
                ];
                let resp = self.token_request(&endpoint, form)?;
                if !resp.ok() {
                    let status = resp.status;
                    let detail = error_detail(resp);
                    return Err(Error::failed(
                        format!(
                            "{}: the server refused to revoke the {hint} (HTTP {status}{detail}); nothing was deleted",
                            self.label()
                        ),
                        match &self.name {
                            Some(n) => format!("to delete the tokens here anyway: crux mcp auth --revoke {n} --local"),
                            None => String::new(),
                        },
                    ));
                }
                told = true;
            }
        }
        self.forget_tokens()?;
        Ok(told)
    }

    /// Deletes the tokens here (the client registration stays).
    pub fn forget_tokens(&mut self) -> Result<()> {
        self.access = None;
        self.refresh = None;
        self.state.expires_at = None;
        self.state.has_refresh_token = false;
        self.state.obtained_at = None;
        self.state.last_refresh = None;
        self.persist(&[(ACCESS_TOKEN, None), (REFRESH_TOKEN, None)])
    }

    /// Stores a client secret given by the user (`--client-secret-stdin`).
    pub fn set_client_secret(&mut self, secret: Secret) -> Result<()> {
        self.client_secret = Some(secret.clone());
        self.persist(&[(CLIENT_SECRET, Some(&secret))])
    }
}

/// Deletes a server's OAuth tokens and session state (its client secret and private key, which
/// the user provided or registered, stay). For a registration that changed URL or OAuth
/// settings: tokens obtained for the old one must not be used with the new one.
pub fn forget_session(home: &CruxHome, name: &ServerName) -> Result<bool> {
    let _lock = home.lock()?;
    let mut index = Index::load(home)?;
    let mut changed = index.oauth(name).is_some();
    for acct in [ACCESS_TOKEN, REFRESH_TOKEN] {
        let var = account(acct);
        if let Some(cred) = index.get(name, &var).cloned() {
            select::open(cred.backend, home)?.delete(name, &var)?;
            index.remove(name, &var);
            changed = true;
        }
    }
    index.set_oauth(name, None);
    if changed {
        index.save(home)?;
    }
    Ok(changed)
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
