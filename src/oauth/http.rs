//! The HTTP client crux speaks OAuth and Streamable HTTP with: `ureq` 2, bounded timeouts, and
//! every status answered as a [`Response`] rather than an error, so callers can read a 401's
//! challenge or a token endpoint's `error` body.
//!
//! No request that can carry a credential follows a redirect: a 3xx is an error that names only
//! the redirect's origin. (ureq drops `Authorization` on a cross-origin redirect, but not other
//! headers, a form body or a token in a body.) Only [`Http::get`], which fetches public metadata
//! and never carries a credential, follows redirects.

use crate::error::{sanitize, Error, Result};
use crate::secret::Secret;
use serde_json::Value;
use std::io::Read;
use std::time::Duration;

/// Bodies crux reads whole (metadata, token responses) are capped: a hostile or broken server
/// cannot make it allocate without bound.
const MAX_BODY: u64 = 4 << 20;

/// Form fields of token, revocation and registration requests that carry a secret.
const SECRET_FORM_FIELDS: &[&str] = &[
    "code",
    "code_verifier",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "token",
];

#[derive(Clone)]
pub struct Http {
    /// Never follows a redirect.
    agent: ureq::Agent,
    /// Follows redirects: for credential-free metadata GETs only.
    follow: ureq::Agent,
    /// A URL with credentials filled in, and the placeholder form errors show instead
    /// (shared: a bridge that re-reads the credentials after a 401 updates it).
    shown: std::sync::Arc<std::sync::Mutex<Option<(Secret, String)>>>,
}

pub struct Response {
    pub status: u16,
    pub url: String,
    inner: ureq::Response,
}

impl Default for Http {
    fn default() -> Self {
        Http::new(Duration::from_secs(30))
    }
}

impl Http {
    pub fn new(read_timeout: Duration) -> Http {
        let builder = || {
            ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(10))
                .timeout_read(read_timeout)
                .timeout_write(Duration::from_secs(30))
                .user_agent(concat!("crux/", env!("CARGO_PKG_VERSION")))
        };
        Http {
            agent: builder().redirects(0).build(),
            follow: builder().redirects(5).build(),
            shown: Default::default(),
        }
    }

    /// Requests to `wire` (a URL with credentials filled in) are named `shown` (its
    /// placeholder form) in every error and [`Response::url`]: the filled URL is never shown.
    pub fn show_as(&self, wire: &Secret, shown: &str) {
        let mut current = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        *current = (wire.expose() != shown).then(|| (wire.clone(), shown.to_string()));
    }

    /// The URL as errors may show it.
    fn shown_url(&self, url: &str) -> String {
        let scrubbed = self.scrub(url);
        let current = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        match &*current {
            Some((_, shown)) if scrubbed != url => shown.clone(),
            _ => url.to_string(),
        }
    }

    /// `text` with the filled URL (raw or as ureq writes it) replaced by its placeholder form.
    fn scrub(&self, text: &str) -> String {
        let current = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        match &*current {
            Some((wire, shown)) => {
                let mut out = text.replace(wire.expose(), shown);
                if let Ok(parsed) = url::Url::parse(wire.expose()) {
                    out = out.replace(parsed.as_str(), shown);
                }
                out
            }
            None => text.to_string(),
        }
    }

    /// A GET of public metadata (no credential goes with it), following redirects.
    pub fn get(&self, url: &str) -> Result<Response> {
        self.send(self.follow.get(url), None)
    }

    /// A form POST (`application/x-www-form-urlencoded`), the shape of every token request.
    pub fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic_auth: Option<(&str, &Secret)>,
    ) -> Result<Response> {
        let mut req = self
            .agent
            .post(url)
            .set("Accept", "application/json")
            .set("Content-Type", "application/x-www-form-urlencoded");
        if let Some((user, password)) = basic_auth {
            crate::redact::remember(password);
            req = req.set("Authorization", &basic_header(user, password));
        }
        // What an error answer might echo back is never printed.
        for (key, value) in form {
            if SECRET_FORM_FIELDS.contains(key) {
                crate::redact::remember(&Secret::new(*value));
            }
        }
        let body = zeroize::Zeroizing::new(encode_form(form));
        self.send(req, Some(body.as_bytes()))
    }

    pub fn post_json(&self, url: &str, body: &Value) -> Result<Response> {
        let req = self
            .agent
            .post(url)
            .set("Accept", "application/json")
            .set("Content-Type", "application/json");
        self.send(req, Some(body.to_string().as_bytes()))
    }

    /// A request built by the caller (headers of its own), sent with an optional body.
    pub fn request(&self, method: &str, url: &str) -> ureq::Request {
        self.agent.request(method, url)
    }

    pub fn send(&self, req: ureq::Request, body: Option<&[u8]>) -> Result<Response> {
        let wire = zeroize::Zeroizing::new(req.url().to_string());
        let url = self.shown_url(&wire);
        let result = match body {
            Some(bytes) => req.send_bytes(bytes),
            None => req.call(),
        };
        match result {
            Ok(inner) if (300..400).contains(&inner.status()) => {
                Err(redirected(&wire, &url, &inner))
            }
            Ok(inner) | Err(ureq::Error::Status(_, inner)) => Ok(Response {
                status: inner.status(),
                url: redact_url(&url),
                inner,
            }),
            // Its message quotes the header, which may hold a credential: never shown.
            Err(ureq::Error::Transport(t)) if t.kind() == ureq::ErrorKind::BadHeader => {
                Err(Error::failed(
                    format!(
                        "a request to {} was not sent: a header value is not valid HTTP (it is not shown, as it may be a credential)",
                        redact_url(&url)
                    ),
                    "store the credential again without line breaks or control characters: crux mcp auth <MCP> <VAR>",
                ))
            }
            Err(ureq::Error::Transport(t)) => Err(Error::failed(
                format!(
                    "cannot reach {}: {}{}",
                    redact_url(&url),
                    t.kind(),
                    std::error::Error::source(&t)
                        .map(|s| s.to_string())
                        .or_else(|| t.message().map(str::to_string))
                        .map(|m| format!(" ({})", sanitize(&self.scrub(&m))))
                        .unwrap_or_default()
                ),
                "check the URL and your network connection, then try again",
            )),
        }
    }
}

/// A redirect crux did not follow: where it pointed, by origin only (its path or query may
/// carry a code or a token).
fn redirected(wire: &str, url: &str, resp: &ureq::Response) -> Error {
    let target = resp
        .header("location")
        .and_then(|l| url::Url::parse(wire).ok()?.join(l).ok())
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| "an unreadable location".into());
    Error::failed(
        format!(
            "{} answered with a redirect (HTTP {}) to {target}; crux does not send credentials across a redirect, so it stopped there",
            redact_url(url),
            resp.status()
        ),
        "if the server moved, register its new URL (crux mcp add <MCP> --url <new URL> --force); otherwise tell its operator",
    )
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.header(name)
    }

    pub fn all_headers(&self, name: &str) -> Vec<&str> {
        self.inner.all(name)
    }

    pub fn content_type(&self) -> String {
        self.inner.content_type().to_ascii_lowercase()
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn into_reader(self) -> Box<dyn Read + Send + Sync + 'static> {
        self.inner.into_reader()
    }

    /// The connection's local and remote addresses: what identifies its socket, so that
    /// another thread can close a stream that is blocked reading it.
    pub fn addrs(&self) -> (std::net::SocketAddr, std::net::SocketAddr) {
        (self.inner.local_addr(), self.inner.remote_addr())
    }

    /// The whole body, at most [`MAX_BODY`] bytes.
    pub fn bytes(self) -> Result<Vec<u8>> {
        let url = self.url.clone();
        let mut buf = Vec::new();
        self.inner
            .into_reader()
            .take(MAX_BODY)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(format!("cannot read the response from {url}"), e))?;
        Ok(buf)
    }

    /// The body as JSON; `what` names it in the error ("authorization server metadata").
    pub fn json(self, what: &str) -> Result<Value> {
        let url = self.url.clone();
        let bytes = zeroize::Zeroizing::new(self.bytes()?);
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::failed(
                format!("{what} from {url} is not valid JSON: {e}"),
                "the server's response is malformed; report it to the server's operator",
            )
        })
    }
}

pub fn basic_header(user: &str, password: &Secret) -> String {
    use base64::Engine;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    let pair = zeroize::Zeroizing::new(format!(
        "{}:{}",
        form_component(user),
        form_component(password.expose())
    ));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
    )
}

pub fn encode_form(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", form_component(k), form_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn form_component(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A URL as crux prints it: without query or fragment, which can carry codes or tokens.
pub fn redact_url(url: &str) -> String {
    // `{crux:VAR}` placeholders stand in for plain words while parsing: their `:` would split a
    // placeholder in the user info into a name and a password.
    let vars = crate::template::placeholders(url);
    let stand_in = |i: usize| format!("cruxplaceholder{i}x");
    let mut plain = url.to_string();
    for (i, var) in vars.iter().enumerate() {
        plain = plain.replace(&crate::template::placeholder(var), &stand_in(i));
    }
    let redacted = match url::Url::parse(&plain) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_password(None);
            u.as_str().to_string()
        }
        Err(_) => sanitize(plain.split(['?', '#']).next().unwrap_or("")),
    };
    let mut out = redacted;
    for (i, var) in vars.iter().enumerate().rev() {
        out = out.replace(&stand_in(i), &crate::template::placeholder(var));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_a_redacted_url_read_as_registered() {
        assert_eq!(
            redact_url("https://{crux:URL_USERINFO}@h.example/mcp/{crux:P}?api_key={crux:API_KEY}"),
            "https://{crux:URL_USERINFO}@h.example/mcp/{crux:P}"
        );
        assert_eq!(
            redact_url("https://h.example/{crux:not-a-var}"),
            "https://h.example/%7Bcrux:not-a-var%7D"
        );
        assert_eq!(
            redact_url("https://u:secret@h.example/mcp?k=v"),
            "https://u@h.example/mcp"
        );
    }

    #[test]
    fn urls_lose_queries_when_printed() {
        assert_eq!(
            redact_url("https://a.example/cb?code=xyz#frag"),
            "https://a.example/cb"
        );
    }

    /// A server that answers every request with `status` and `Location: location`, counting
    /// what it got; the URL and the count.
    fn redirector(
        status: u16,
        location: Option<String>,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", server.server_addr());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut response = tiny_http::Response::from_string("{}").with_status_code(status);
                if let Some(l) = &location {
                    response = response.with_header(
                        tiny_http::Header::from_bytes("Location", l.as_bytes()).unwrap(),
                    );
                }
                let _ = request.respond(response);
            }
        });
        (url, count)
    }

    #[test]
    fn requests_that_carry_credentials_never_follow_a_redirect() {
        use std::sync::atomic::Ordering::SeqCst;
        let (elsewhere, reached) = redirector(200, None);
        for status in [301, 302, 303, 307, 308] {
            let (url, hit) = redirector(status, Some(format!("{elsewhere}token?code=secret-code")));
            let http = Http::default();
            let secret = Secret::new("client-secret-value");
            let attempts = [
                http.post_form(
                    &url,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", "rt-value"),
                    ],
                    Some(("client", &secret)),
                ),
                http.post_json(&url, &serde_json::json!({"redirect_uris": ["x"]})),
                http.send(
                    http.request("POST", &url).set("X-Api-Key", "key-value"),
                    Some(b"{}"),
                ),
                http.send(
                    http.request("GET", &url).set("Authorization", "Bearer t"),
                    None,
                ),
                http.send(http.request("DELETE", &url), None),
            ];
            for result in attempts {
                let e = result.err().expect("a redirect is an error").render();
                let origin = elsewhere.trim_end_matches('/');
                assert!(
                    e.contains(&format!("redirect (HTTP {status}) to {origin}")),
                    "{e}"
                );
                assert!(
                    !e.contains("secret-code") && !e.contains("token?"),
                    "origin only: {e}"
                );
            }
            assert_eq!(hit.load(SeqCst), 5);
        }
        assert_eq!(
            reached.load(SeqCst),
            0,
            "nothing reached the redirect's target"
        );
        // Public metadata (no credential) may follow one.
        let (url, _) = redirector(302, Some(elsewhere.clone()));
        assert!(Http::default().get(&url).unwrap().ok());
        assert_eq!(reached.load(SeqCst), 1);
    }

    #[test]
    fn basic_auth_form_encodes_both_parts() {
        let h = basic_header("a b", &Secret::new("p:w"));
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(h.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), "a+b:p%3Aw");
    }
}
