//! Revocation (RFC 7009): tell the server, token by token, then delete here what the server
//! revoked (or cannot revoke), and say exactly which happened.

use super::*;

/// What the server did with one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Revoked (RFC 7009 answers 200 for a token it had already forgotten, too).
    Revoked,
    /// `unsupported_token_type` (RFC 7009 §2.2.1): the server cannot revoke this kind of
    /// token, typically a self-contained JWT access token, which stays valid until it
    /// expires. Nothing more can be done at the server, so it counts as done.
    Unsupported,
    /// Refused or unreachable: the printable reason. The token is kept here.
    Failed(String),
}

impl Fate {
    /// Whether the token may be deleted here.
    pub fn settled(&self) -> bool {
        !matches!(self, Fate::Failed(_))
    }
}

/// One token's revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRevocation {
    pub fate: Fate,
    /// Whether the token is a JWT (a server typically cannot revoke those).
    pub jwt: bool,
}

/// What [`Session::revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Revocation {
    /// The server has a revocation endpoint and was asked.
    pub told: bool,
    /// `None`: no such token was held.
    pub refresh: Option<TokenRevocation>,
    pub access: Option<TokenRevocation>,
    /// Seconds until the access token expires, when the server said.
    pub access_expires_in: Option<i64>,
}

impl Revocation {
    /// Whether every token held was revoked or cannot be (and so was deleted here).
    pub fn complete(&self) -> bool {
        [&self.refresh, &self.access]
            .into_iter()
            .flatten()
            .all(|t| t.fate.settled())
    }

    /// One sentence: what happened at the server and what here.
    pub fn describe(&self) -> String {
        if !self.told {
            return "deleted here; the server has no revocation endpoint, so they stay valid there until they expire".into();
        }
        let mut at_server = Vec::new();
        let mut deleted = Vec::new();
        let mut kept = Vec::new();
        for (name, t) in [
            ("refresh token", &self.refresh),
            ("access token", &self.access),
        ] {
            let Some(t) = t else { continue };
            at_server.push(match &t.fate {
                Fate::Revoked => format!("{name} revoked at the server"),
                Fate::Unsupported => {
                    let what = if t.jwt {
                        format!(
                            "the {name} is a JWT the server cannot revoke (unsupported_token_type)"
                        )
                    } else {
                        format!("the server cannot revoke the {name} (unsupported_token_type)")
                    };
                    let until = match (name, self.access_expires_in) {
                        ("access token", Some(s)) => {
                            format!(", it {}", expires_phrase(s))
                        }
                        _ => ", it stays valid there until it expires".into(),
                    };
                    format!("{what}{until}")
                }
                Fate::Failed(why) => format!("the server did not revoke the {name} ({why})"),
            });
            if t.fate.settled() {
                deleted.push(name);
            } else {
                kept.push(name);
            }
        }
        let here = match (deleted.len(), kept.len()) {
            (2, _) => "both deleted here".to_string(),
            (1, 0) => format!("the {} deleted here", deleted[0]),
            (1, _) => format!("the {} deleted here, the {} kept", deleted[0], kept[0]),
            (_, 1) => format!("the {} kept here", kept[0]),
            _ => "both kept here".to_string(),
        };
        format!("{}; {here}", at_server.join("; "))
    }
}

fn expires_phrase(seconds: i64) -> String {
    if seconds > 0 {
        format!("expires {}", spec::span_words(seconds))
    } else {
        "has expired".into()
    }
}

/// The fate of a token from the revocation endpoint's answer: status and `error` code.
pub fn fate_of(status: u16, error: Option<&str>, detail: &str) -> Fate {
    match (status, error) {
        (200..=299, _) => Fate::Revoked,
        (_, Some("unsupported_token_type")) => Fate::Unsupported,
        _ => Fate::Failed(format!("HTTP {status}{detail}")),
    }
}

/// Whether a token is a JWS compact serialization: three base64url parts, the first a JSON
/// header naming an `alg`. Only the header is decoded; nothing about the token is printed.
pub fn is_jwt(token: &str) -> bool {
    use base64::Engine;
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts[..2].iter().any(|p| p.is_empty()) {
        return false;
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0].trim_end_matches('='))
        .ok()
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        .is_some_and(|h| h.get("alg").is_some())
}

impl Session {
    /// Revokes the tokens at the server (RFC 7009) when it has a revocation endpoint, the
    /// refresh token first (which revokes its grant's access tokens where the server
    /// supports that), and deletes here each token the server revoked or cannot revoke; a
    /// token it refused stays here. Without an endpoint, deletes them here.
    pub fn revoke(&mut self) -> Result<Revocation> {
        let mut report = Revocation {
            access_expires_in: self.state.expires_at.map(|at| at - spec::now_unix()),
            ..Revocation::default()
        };
        let Some(endpoint) = self.state.revocation_endpoint.clone() else {
            self.forget_tokens()?;
            return Ok(report);
        };
        report.told = true;
        let tokens = [
            (self.refresh.clone(), REFRESH_TOKEN),
            (self.access.clone(), ACCESS_TOKEN),
        ];
        for (token, hint) in tokens {
            let Some(token) = token else { continue };
            let form = vec![
                ("token", token.expose().to_string()),
                ("token_type_hint", hint.to_string()),
            ];
            let fate = match self.token_request(&endpoint, form) {
                Ok(resp) => {
                    let status = resp.status;
                    let body = if resp.ok() {
                        Value::Null
                    } else {
                        resp.json("the error response").unwrap_or(Value::Null)
                    };
                    let code = body.get("error").and_then(Value::as_str).map(sanitize);
                    let detail =
                        match (&code, body.get("error_description").and_then(Value::as_str)) {
                            (Some(c), Some(d)) => format!(": {c} ({})", sanitize(d)),
                            (Some(c), None) => format!(": {c}"),
                            _ => String::new(),
                        };
                    fate_of(status, code.as_deref(), &detail)
                }
                Err(e) => Fate::Failed(e.to_string()),
            };
            let entry = TokenRevocation {
                jwt: is_jwt(token.expose()),
                fate,
            };
            if hint == REFRESH_TOKEN {
                report.refresh = Some(entry);
            } else {
                report.access = Some(entry);
            }
        }
        let settled = |t: &Option<TokenRevocation>| t.as_ref().is_some_and(|t| t.fate.settled());
        let mut deletions: Vec<(&str, Option<&Secret>)> = Vec::new();
        if settled(&report.refresh) {
            self.refresh = None;
            self.state.has_refresh_token = false;
            deletions.push((REFRESH_TOKEN, None));
        }
        if settled(&report.access) {
            self.access = None;
            self.state.expires_at = None;
            self.state.lifetime = None;
            deletions.push((ACCESS_TOKEN, None));
        }
        if self.access.is_none() && self.refresh.is_none() {
            self.state.obtained_at = None;
            self.state.last_refresh = None;
        }
        if !deletions.is_empty() {
            self.persist(&deletions)?;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(fate: Fate, jwt: bool) -> Option<TokenRevocation> {
        Some(TokenRevocation { fate, jwt })
    }

    #[test]
    fn revocation_answers() {
        assert_eq!(fate_of(200, None, ""), Fate::Revoked);
        assert_eq!(
            fate_of(400, Some("unsupported_token_type"), ""),
            Fate::Unsupported
        );
        assert_eq!(
            fate_of(400, Some("invalid_request"), ": invalid_request"),
            Fate::Failed("HTTP 400: invalid_request".into())
        );
        assert_eq!(fate_of(503, None, ""), Fate::Failed("HTTP 503".into()));
    }

    #[test]
    fn jwts_are_recognized_by_their_header() {
        // {"alg":"RS256","typ":"JWT"} . {} . signature
        assert!(is_jwt("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.e30.c2ln"));
        assert!(!is_jwt("opaque-token-value"));
        assert!(!is_jwt("a.b.c"));
        assert!(!is_jwt("e30.e30.c2ln"), "a header without alg");
    }

    #[test]
    fn the_report_says_what_happened_there_and_here() {
        let oidc = Revocation {
            told: true,
            refresh: token(Fate::Revoked, false),
            access: token(Fate::Unsupported, true),
            access_expires_in: Some(90),
        };
        assert!(oidc.complete());
        assert_eq!(
            oidc.describe(),
            "refresh token revoked at the server; the access token is a JWT the server cannot revoke (unsupported_token_type), it expires in 90 s; both deleted here"
        );
        let both = Revocation {
            told: true,
            refresh: token(Fate::Revoked, false),
            access: token(Fate::Revoked, false),
            access_expires_in: None,
        };
        assert_eq!(
            both.describe(),
            "refresh token revoked at the server; access token revoked at the server; both deleted here"
        );
        let partial = Revocation {
            told: true,
            refresh: token(Fate::Revoked, false),
            access: token(Fate::Failed("HTTP 500".into()), false),
            access_expires_in: Some(600),
        };
        assert!(!partial.complete());
        assert_eq!(
            partial.describe(),
            "refresh token revoked at the server; the server did not revoke the access token (HTTP 500); the refresh token deleted here, the access token kept"
        );
        let access_only = Revocation {
            told: true,
            refresh: None,
            access: token(Fate::Unsupported, false),
            access_expires_in: Some(-5),
        };
        assert_eq!(
            access_only.describe(),
            "the server cannot revoke the access token (unsupported_token_type), it has expired; the access token deleted here"
        );
        assert!(Revocation::default()
            .describe()
            .contains("no revocation endpoint"));
    }
}
