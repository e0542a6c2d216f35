//! Token lifecycle: a usable access token (stored, refreshed under the per-server lock, or
//! obtained anew), the refresh margin, and taking a token response.

use super::*;

/// The most a token is refreshed before it expires (seconds); a short-lived token gets half
/// its lifetime instead ([`OAuthState::refresh_margin`]).
pub const REFRESH_MARGIN: i64 = 60;

impl Session {
    /// A usable access token: the stored one, refreshed when it expires within the margin
    /// ([`Session::margin`]), or a new one from the grant.
    pub fn token(&mut self) -> Result<Secret> {
        if let Some(a) = &self.access {
            if !self.state.expires_within(self.margin()) {
                return Ok(a.clone());
            }
        }
        self.renew(None)
    }

    /// How long before its expiry the held token is replaced: the refresh margin when
    /// something can replace it silently (a refresh token; client credentials, which ask
    /// again); none otherwise: a token nothing can renew is used until it really expires.
    pub(super) fn margin(&self) -> i64 {
        token_margin(
            self.state.lifetime,
            self.refresh.is_some() || self.spec.grant == Grant::ClientCredentials,
        )
    }

    /// The server rejected the token we sent (401): refresh, else obtain a new one. When
    /// the protected resource metadata now names another authorization server, the tokens
    /// and a dynamic registration of the old one are not replayed: crux goes to the new one.
    pub fn rejected(&mut self, challenge: Option<&Challenge>) -> Result<Secret> {
        if let Some(scope) = challenge.and_then(|c| c.scope.as_deref()) {
            self.add_scope(scope);
        }
        if self.access.is_some() && self.refresh.is_some() {
            if let Some(moved) = self.server_moved(challenge) {
                if self.interaction == Interaction::Silent
                    && self.spec.grant == Grant::AuthorizationCode
                {
                    return Err(Error::failed(
                        format!(
                            "{}: the server now uses another authorization server ({})",
                            self.label(),
                            redact_url(&moved)
                        ),
                        self.fix(),
                    ));
                }
                note(&format!(
                    "{}: the server now uses another authorization server ({}); signing in there",
                    self.label(),
                    redact_url(&moved)
                ));
                return self.obtain(challenge);
            }
            // The token may have been revoked or expired early: one refresh, then a sign-in.
            let sent = self.access.clone();
            if let Some(t) = self.try_refresh(sent.as_ref(), true)? {
                return Ok(t);
            }
        }
        self.obtain(challenge)
    }

    /// A refresh whose failure a person can repair by signing in (`None`, after a note);
    /// the launcher, which cannot, gets the error.
    pub(super) fn try_refresh(
        &mut self,
        sent: Option<&Secret>,
        force: bool,
    ) -> Result<Option<Secret>> {
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

    pub(super) fn renew(&mut self, challenge: Option<&Challenge>) -> Result<Secret> {
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
    pub(super) fn refresh_locked(
        &mut self,
        sent: Option<&Secret>,
        force: bool,
    ) -> Result<Option<Secret>> {
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
            if !self.state.expires_within(self.margin()) && (changed || !force) {
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
                    self.drop_client();
                    self.access = None;
                    self.refresh = None;
                    self.state.has_refresh_token = false;
                    self.persist(&[
                        (CLIENT_SECRET, None),
                        (REGISTRATION_TOKEN, None),
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

    /// Takes a successful token response: saves the refresh token (rotated or kept) and the
    /// access token together, then the metadata.
    pub(super) fn accept(&mut self, body: Value, refreshed: bool) -> Result<Secret> {
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
        // A refresh may keep the refresh token (no rotation); a new grant replaces it with
        // whatever came, which may be none: a refresh token is never assumed.
        if new_refresh.is_some() || !refreshed {
            self.refresh = new_refresh;
        }
        let now = spec::now_unix();
        self.state.lifetime = body
            .get("expires_in")
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .map(|secs| secs.clamp(0, 10 * 365 * 86_400));
        self.state.expires_at = self.state.lifetime.map(|secs| now + secs);
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
        let registration = self.registration_token.clone();
        self.persist(&[
            (REFRESH_TOKEN, refresh.as_ref()),
            (ACCESS_TOKEN, Some(&access)),
            (CLIENT_SECRET, secret.as_ref()),
            (REGISTRATION_TOKEN, registration.as_ref()),
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
}

/// [`Session::margin`] as a function: the refresh margin when the token can be renewed
/// silently, else 0.
fn token_margin(lifetime: Option<i64>, renewable: bool) -> i64 {
    if renewable {
        spec::refresh_margin(lifetime)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_nothing_can_renew_is_used_until_it_expires() {
        assert_eq!(token_margin(Some(3600), false), 0);
        assert_eq!(token_margin(None, false), 0);
        assert_eq!(token_margin(Some(3600), true), 60);
        assert_eq!(token_margin(Some(30), true), 15);
        let mut state = OAuthState {
            expires_at: Some(spec::now_unix() + 40),
            lifetime: Some(3600),
            ..OAuthState::default()
        };
        assert!(!state.expires_within(token_margin(state.lifetime, false)));
        assert!(state.expires_within(token_margin(state.lifetime, true)));
        state.lifetime = Some(60);
        assert!(
            !state.expires_within(token_margin(state.lifetime, true)),
            "a 60 s token is refreshed in its last 30 s only"
        );
    }
}
