//! OAuth configuration (in the registry) and OAuth state (in the index). Neither holds a
//! secret: tokens, client secrets and private keys live in the keystore under the accounts
//! [`ACCESS_TOKEN`], [`REFRESH_TOKEN`], [`CLIENT_SECRET`], [`PRIVATE_KEY`] and
//! [`REGISTRATION_TOKEN`].
//!
//! Plain types, below the registry and the index that store them and below the OAuth protocol
//! code ([`crate::oauth`], where they are also `oauth::spec`) that fills them in.

use serde::{Deserialize, Serialize};

pub const ACCESS_TOKEN: &str = "access_token";
pub const REFRESH_TOKEN: &str = "refresh_token";
pub const CLIENT_SECRET: &str = "client_secret";
/// The PKCS#8 PEM of the ES256 key for `private_key_jwt`; it never leaves the keystore.
pub const PRIVATE_KEY: &str = "private_key";
/// The RFC 7592 registration access token of a dynamic registration, which lets crux ask the
/// server whether it still knows the client.
pub const REGISTRATION_TOKEN: &str = "registration_access_token";
pub const ACCOUNTS: [&str; 5] = [
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    CLIENT_SECRET,
    PRIVATE_KEY,
    REGISTRATION_TOKEN,
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Grant {
    /// Authorization code with PKCE, in the browser
    #[default]
    AuthorizationCode,
    /// Client credentials, for machine-to-machine servers
    ClientCredentials,
}

/// How the client authenticates at the token endpoint (RFC 7591 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum AuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(s: &str) -> Option<AuthMethod> {
        [
            AuthMethod::None,
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::PrivateKeyJwt,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A server's OAuth configuration, as `crux mcp add --oauth …` registered it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthSpec {
    #[serde(default)]
    pub grant: Grant,
    /// A client id registered with the authorization server beforehand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethod>,
    /// Space-separated scopes; when absent, the server's challenge or metadata decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_port: Option<u16>,
    /// Send RFC 8707 `resource` (on unless `--no-resource`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub resource: bool,
    /// An HTTPS URL whose document describes this client, used as its client id where the
    /// server supports client ID metadata documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata_url: Option<String>,
}

/// Where the client id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientSource {
    PreRegistered,
    Dynamic,
    MetadataDocument,
}

/// The non-secret half of a server's OAuth session, kept in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthState {
    /// The authorization server (its validated metadata `issuer`) the client registration
    /// and the tokens belong to; absent in indexes written before crux recorded it, or when
    /// the server publishes no metadata (then: unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The RFC 8707 resource the tokens are bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_source: Option<ClientSource>,
    /// RFC 7592: where a dynamic registration can be read back (its access token is in the
    /// keystore, [`REGISTRATION_TOKEN`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_client_uri: Option<String>,
    /// The redirect URI the client was registered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethod>,
    /// The scopes granted (or asked for, when the server did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Unix seconds; absent when the server gave no `expires_in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The token's lifetime when it was issued (`expires_in`, seconds), for the refresh
    /// margin; absent in older indexes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obtained_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refresh: Option<String>,
    #[serde(default)]
    pub has_refresh_token: bool,
    /// Scopes a server demanded (403 insufficient_scope) beyond those granted; the next
    /// sign-in asks for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wanted_scope: Option<String>,
}

impl OAuthState {
    /// Whether the access token expires within `margin` seconds (or has expired).
    pub fn expires_within(&self, margin: i64) -> bool {
        match self.expires_at {
            Some(at) => at - now_unix() <= margin,
            None => false,
        }
    }

    /// How long before expiry a token with a refresh token is refreshed: 60 s, or half its
    /// lifetime when that is shorter (a 60-second token is not refreshed at once, each time).
    pub fn refresh_margin(&self) -> i64 {
        refresh_margin(self.lifetime)
    }

    /// Forgets the client registration (after the server disowned it).
    pub fn forget_client(&mut self) {
        self.client_id = None;
        self.registration_client_uri = None;
        self.client_source = None;
        self.redirect_uri = None;
        self.auth_method = None;
    }
}

/// [`OAuthState::refresh_margin`] for a lifetime (unknown: the full 60 s).
pub fn refresh_margin(lifetime: Option<i64>) -> i64 {
    const MARGIN: i64 = 60;
    match lifetime {
        Some(l) => MARGIN.min(l.max(0) / 2),
        None => MARGIN,
    }
}

pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An expiry in words: "in 90 s", "in 59 minutes", "expired 2 hours ago". Below five
/// minutes the seconds are exact: rounding 90 s to "2 minutes" misleads someone deciding
/// whether to refresh now.
pub fn in_words(at: i64) -> String {
    span_words(at - now_unix())
}

/// [`in_words`] for a number of seconds from now (negative: ago).
pub fn span_words(delta: i64) -> String {
    let span = |s: i64| -> String {
        let s = s.abs();
        if s < 300 {
            return format!("{s} s");
        }
        let (n, unit) = match s {
            300..=5399 => ((s + 30) / 60, "minute"),
            5400..=129_599 => ((s + 1800) / 3600, "hour"),
            _ => ((s + 43_200) / 86_400, "day"),
        };
        format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
    };
    if delta >= 0 {
        format!("in {}", span(delta))
    } else {
        format!("expired {} ago", span(delta))
    }
}

pub fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_in_words() {
        let now = now_unix();
        assert_eq!(in_words(now + 3600), "in 60 minutes");
        assert_eq!(in_words(now + 7200), "in 2 hours");
        assert_eq!(in_words(now + 3 * 86_400), "in 3 days");
        assert_eq!(span_words(-30), "expired 30 s ago");
        assert_eq!(span_words(90), "in 90 s", "exact below five minutes");
        assert_eq!(span_words(299), "in 299 s");
        assert_eq!(span_words(0), "in 0 s");
        assert_eq!(span_words(300), "in 5 minutes");
        assert_eq!(span_words(-7200), "expired 2 hours ago");
    }

    #[test]
    fn refresh_margin_is_60_s_or_half_the_lifetime() {
        assert_eq!(refresh_margin(None), 60, "unknown lifetime");
        assert_eq!(refresh_margin(Some(3600)), 60);
        assert_eq!(refresh_margin(Some(120)), 60);
        assert_eq!(refresh_margin(Some(60)), 30);
        assert_eq!(refresh_margin(Some(10)), 5);
        assert_eq!(refresh_margin(Some(0)), 0);
        assert_eq!(refresh_margin(Some(-5)), 0);
    }

    /// Indexes written before crux recorded lifetimes and RFC 7592 URIs still load.
    #[test]
    fn old_states_load() {
        let old: OAuthState = serde_json::from_str(
            r#"{"token_endpoint":"https://as.example/token","client_id":"c","client_source":"dynamic","expires_at":1,"has_refresh_token":true}"#,
        )
        .unwrap();
        assert_eq!(old.issuer, None);
        assert_eq!(old.lifetime, None);
        assert_eq!(old.refresh_margin(), 60);
        assert_eq!(old.registration_client_uri, None);
    }
}
