//! The client id: pre-registered (the user gave it), a client ID metadata document, or
//! dynamic client registration (RFC 7591) as the last resort; the token endpoint
//! authentication method; the `private_key_jwt` key.

use super::*;

impl Session {
    /// Makes sure there is a client id for this authorization server and redirect URI, in
    /// the order the MCP specification gives: pre-registered, client ID metadata document,
    /// dynamic registration. Returns whether it registered a client just now.
    pub(super) fn ensure_client(
        &mut self,
        disc: &Discovered,
        redirect_uri: Option<&str>,
    ) -> Result<bool> {
        if let Some(id) = &self.spec.client_id {
            self.state.client_id = Some(id.clone());
            self.state.client_source = Some(ClientSource::PreRegistered);
            self.state.redirect_uri = redirect_uri.map(str::to_string);
            self.state.auth_method = Some(self.pick_method(disc, None));
            return Ok(false);
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
            return Ok(false);
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
                return Ok(false);
            }
        }
        self.register(disc, redirect_uri).map(|()| true)
    }

    /// Forgets the dynamic client registration, in memory (the next persist deletes its
    /// secret and registration token): the server disowned it, or it belongs to another
    /// authorization server.
    pub(super) fn drop_client(&mut self) {
        self.state.forget_client();
        self.client_secret = None;
        self.registration_token = None;
    }

    /// Asks the server whether it still knows the remembered dynamic registration (RFC 7592
    /// §2.1, where crux stored the registration's URI and access token). `false` only when
    /// the server says it does not (401, 403, 404); any other answer, or no way to ask, is
    /// taken for yes: the sign-in itself will tell.
    pub(super) fn registration_known(&self) -> bool {
        let (Some(uri), Some(token)) = (
            self.state.registration_client_uri.as_deref(),
            self.registration_token.as_ref(),
        ) else {
            return true;
        };
        if !discovery::is_secure(uri) {
            return true;
        }
        crate::redact::remember(token);
        let req = self
            .http
            .request("GET", uri)
            .set("Accept", "application/json")
            .set("Authorization", &format!("Bearer {}", token.expose()));
        match self.http.send(req, None) {
            Ok(resp) => !registration_gone(resp.status),
            Err(_) => true,
        }
    }

    /// Dynamic client registration (RFC 7591).
    pub(super) fn register(&mut self, disc: &Discovered, redirect_uri: Option<&str>) -> Result<()> {
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
            // A native application (RFC 8252; OpenID Connect Registration): loopback
            // redirects, no secret it could keep from its own user. OpenID providers default
            // to "web", which refuses http://127.0.0.1 redirect URIs.
            "application_type": "native",
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
        // RFC 7592: kept so a later sign-in can ask whether the server still knows the client.
        self.registration_token = doc
            .get("registration_access_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(Secret::new);
        self.state.registration_client_uri = doc
            .get("registration_client_uri")
            .and_then(Value::as_str)
            .filter(|s| self.registration_token.is_some() && discovery::is_secure(s))
            .map(str::to_string);
        let secret = self.client_secret.clone();
        let token = self.registration_token.clone();
        self.persist(&[
            (CLIENT_SECRET, secret.as_ref()),
            (REGISTRATION_TOKEN, token.as_ref()),
        ])?;
        Ok(())
    }

    /// The token endpoint authentication method: what was configured or registered, else
    /// what the client's credentials and the server's metadata allow.
    pub(super) fn pick_method(
        &self,
        disc: &Discovered,
        registered: Option<AuthMethod>,
    ) -> AuthMethod {
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

    pub(super) fn ensure_private_key(&mut self) -> Result<Secret> {
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

    /// Stores a client secret given by the user (`--client-secret-stdin`).
    pub fn set_client_secret(&mut self, secret: Secret) -> Result<()> {
        self.client_secret = Some(secret.clone());
        self.persist(&[(CLIENT_SECRET, Some(&secret))])
    }
}

/// RFC 7592 §2.1: an unknown client (or a revoked registration token) is 401, 403 or 404.
fn registration_gone(status: u16) -> bool {
    matches!(status, 401 | 403 | 404)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refusal_means_the_registration_is_gone() {
        for status in [401, 403, 404] {
            assert!(registration_gone(status), "{status}");
        }
        for status in [200, 400, 500, 503] {
            assert!(!registration_gone(status), "{status}");
        }
    }
}
