//! The grants: authorization code with PKCE S256 through the browser and a loopback
//! redirect, and client credentials; the scopes each asks for, and the token request with the
//! client's authentication.

use super::*;

impl Session {
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

    pub(super) fn add_scope(&mut self, scope: &str) {
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

    pub(super) fn scope_for(
        &self,
        disc: &Discovered,
        challenge: Option<&Challenge>,
    ) -> Option<String> {
        // Scopes the user pinned (--scopes) are asked for as given; otherwise crux asks for
        // a refresh token where the authorization server offers one (MCP 2026-07-28
        // "Refresh Tokens"). It never counts on getting one.
        let base = match &self.spec.scopes {
            Some(pinned) => Some(pinned.clone()),
            None if self.spec.grant == Grant::AuthorizationCode => {
                with_offline_access(disc.default_scope(challenge), &disc.server)
            }
            None => disc.default_scope(challenge),
        };
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

    /// Authorization code + PKCE through the browser and a loopback redirect.
    pub(super) fn authorization_code(
        &mut self,
        disc: &Discovered,
        scope: Option<String>,
    ) -> Result<Secret> {
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
        let iss = loopback::IssExpectation {
            issuer: disc.server.issuer.as_deref(),
            required: disc.server.iss_parameter_supported,
        };
        let timeout = std::env::var("CRUX_OAUTH_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(300);
        // One new registration at most: after the server disowned the remembered one (RFC
        // 7592 says so, or the token request answers invalid_client), or after a timeout
        // with a remembered one (its page may have refused a client it forgot).
        for attempt in 0..2 {
            let registered_now = self.ensure_client(disc, Some(&listener.redirect_uri))?;
            let mut remembered = !registered_now
                && attempt == 0
                && self.state.client_source == Some(ClientSource::Dynamic);
            if remembered && !self.registration_known() {
                note(&format!(
                    "{label}: the server no longer knows crux's registration; registering again"
                ));
                self.drop_client();
                self.ensure_client(disc, Some(&listener.redirect_uri))?;
                remembered = false;
            }
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
                if wants_consent_prompt(scope.as_deref(), &disc.server) {
                    q.append_pair("prompt", "consent");
                }
                if self.spec.resource {
                    q.append_pair("resource", &disc.resource);
                }
            }
            eprintln!(
                "crux: sign in to {label} in your browser. If it does not open, visit:\n  {url}"
            );
            let mut browser = loopback::open_browser(url.as_str())?;
            let waited = listener.wait(
                &state,
                iss,
                Duration::from_secs(timeout),
                true,
                browser.as_mut(),
            )?;
            let Some(code) = waited else {
                if remembered && self.state.registration_endpoint.is_some() {
                    note(&format!(
                        "{label}: no answer from the browser within {timeout} s; the server may have refused the remembered client registration, so crux registers again and asks once more"
                    ));
                    self.drop_client();
                    continue;
                }
                let again = match &self.name {
                    Some(n) => format!("; if the server's page showed an error about the client, register again: crux mcp auth {n} --reregister"),
                    None => String::new(),
                };
                return Err(Error::failed(
                    format!("{label}: no answer from the browser within {timeout} seconds"),
                    format!("run the command again and finish signing in in the browser (CRUX_OAUTH_TIMEOUT=<seconds> waits longer){again}"),
                ));
            };
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
        Err(Error::failed(
            format!("{label}: no answer from the browser after registering again"),
            "run the command again and finish signing in in the browser (CRUX_OAUTH_TIMEOUT=<seconds> waits longer)",
        ))
    }

    /// A grant's token answer: the token; `Err(None)` when the server disowned a dynamic
    /// registration on the first attempt (it is dropped, and the grant runs again with a new
    /// one); else the OAuth error code and detail.
    pub(super) fn grant_answer(
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
                self.drop_client();
                Ok(Err(None))
            }
            Err(e) => Ok(Err(Some(e))),
        }
    }

    /// Client credentials (RFC 6749 §4.4) for machine-to-machine servers.
    pub(super) fn client_credentials(
        &mut self,
        disc: &Discovered,
        scope: Option<String>,
    ) -> Result<Secret> {
        for attempt in 0..2 {
            let _ = self.ensure_client(disc, None)?;
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

    /// POSTs a token request with the client's authentication added.
    pub(super) fn token_request(
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
}

/// Adds `offline_access` to the scope of an authorization request when the authorization
/// server lists it in `scopes_supported` (and only then: asking for a scope a server does not
/// know can fail the request).
fn with_offline_access(
    scope: Option<String>,
    server: &discovery::ServerMetadata,
) -> Option<String> {
    if !server.scopes_supported.iter().any(|s| s == OFFLINE_ACCESS) {
        return scope;
    }
    match scope {
        Some(s) if s.split_whitespace().any(|x| x == OFFLINE_ACCESS) => Some(s),
        Some(s) if !s.trim().is_empty() => Some(format!("{s} {OFFLINE_ACCESS}")),
        _ => Some(OFFLINE_ACCESS.to_string()),
    }
}

const OFFLINE_ACCESS: &str = "offline_access";

/// `prompt=consent` goes with `offline_access` where the server is an OpenID provider: OpenID
/// Connect Core §11 has a provider ignore `offline_access` without it (oidc-provider does),
/// so no refresh token would come. Decided from `prompt_values_supported` when the server
/// lists it, else from the metadata being OpenID discovery. A plain OAuth server (RFC 8414)
/// defines no `prompt` and gets none.
fn wants_consent_prompt(scope: Option<&str>, server: &discovery::ServerMetadata) -> bool {
    let offline = scope.is_some_and(|s| s.split_whitespace().any(|x| x == OFFLINE_ACCESS));
    if !offline {
        return false;
    }
    if server.prompt_values_supported.is_empty() {
        server.openid
    } else {
        server
            .prompt_values_supported
            .iter()
            .any(|p| p == "consent")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use discovery::ServerMetadata;

    fn server(scopes: &[&str], prompts: &[&str], openid: bool) -> ServerMetadata {
        ServerMetadata {
            scopes_supported: scopes.iter().map(|s| s.to_string()).collect(),
            prompt_values_supported: prompts.iter().map(|s| s.to_string()).collect(),
            openid,
            ..ServerMetadata::default()
        }
    }

    #[test]
    fn offline_access_only_where_the_server_lists_it() {
        let offers = server(&["mcp:basic", "offline_access"], &[], false);
        let lacks = server(&["mcp:basic", "mcp:read"], &[], false);
        assert_eq!(
            with_offline_access(Some("mcp:basic".into()), &offers).as_deref(),
            Some("mcp:basic offline_access")
        );
        assert_eq!(
            with_offline_access(None, &offers).as_deref(),
            Some("offline_access")
        );
        assert_eq!(
            with_offline_access(Some("offline_access a".into()), &offers).as_deref(),
            Some("offline_access a"),
            "not twice"
        );
        assert_eq!(
            with_offline_access(Some("mcp:basic".into()), &lacks).as_deref(),
            Some("mcp:basic")
        );
        assert_eq!(with_offline_access(None, &lacks), None);
    }

    #[test]
    fn consent_prompt_only_for_offline_access_at_an_openid_provider() {
        let oidc = server(&["openid", "offline_access"], &[], true);
        let listed = server(&["offline_access"], &["login", "consent"], false);
        let no_consent = server(&["offline_access"], &["login"], true);
        let oauth = server(&["offline_access"], &[], false);
        assert!(wants_consent_prompt(Some("a offline_access"), &oidc));
        assert!(wants_consent_prompt(Some("offline_access"), &listed));
        assert!(!wants_consent_prompt(Some("offline_access"), &no_consent));
        assert!(!wants_consent_prompt(Some("offline_access"), &oauth));
        assert!(!wants_consent_prompt(Some("a"), &oidc), "no offline_access");
        assert!(!wants_consent_prompt(None, &oidc));
    }
}
