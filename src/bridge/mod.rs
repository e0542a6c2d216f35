//! `crux bridge`: the launcher of a remote server. The MCP host starts it as a stdio server
//! (through `CRUX_HOME/launchers/http-bridge-auth.sh`); it forwards each JSON-RPC message from
//! stdin to the server's Streamable HTTP endpoint with the server's credential (a bearer token
//! from the keystore, or an OAuth token refreshed before it expires), and writes every message
//! of the answers to stdout. A request that cannot be served gets a JSON-RPC error that says
//! what to run, and the bridge keeps serving. One that cannot start (not signed in, a refresh
//! that fails) answers the host's first request with why (`crate::first_request`) and exits
//! 78. Stopped by stdin's end or a signal ([`signals`]), it ends a legacy session (DELETE).
//!
//! It speaks both protocol eras in both directions: [`legacy`] holds the 2025-11-25 session
//! logic, [`modern`] the 2026-07-28 logic, era detection, and the translation that lets a
//! legacy host use a modern-only server. The SSE parser (`crate::sse`) is shared.

pub mod filled;
mod legacy;
mod modern;
mod signals;

use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::names::{ServerName, VarName};
use crate::oauth::discovery::Challenge;
use crate::oauth::http::{redact_url, Http, Response};
use crate::oauth::{Interaction, Session};
use crate::protocol::{self, Era, ToolHeaders};
use crate::registry::{BearerSpec, Registry};
use crate::secret::Secret;
use crate::store::select;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// How many times a broken SSE response stream is resumed before the request is failed.
const RESUME_LIMIT: usize = 5;
/// The reconnection delay when the server names none (ms).
const DEFAULT_RETRY_MS: u64 = 1000;
/// The error code of the bridge's own errors: outside the range the 2026-07-28 specification
/// reserves for modern hosts, the usual server-error code for legacy ones.
const BRIDGE_ERROR_MODERN: i64 = -31001;
const BRIDGE_ERROR_LEGACY: i64 = -32001;

enum Auth {
    None,
    Bearer { spec: BearerSpec, value: Secret },
    Oauth(Box<Session>),
}

#[derive(Default)]
struct McpSession {
    id: Option<String>,
    protocol_version: Option<String>,
    /// The host's `initialize` request, replayed when the server forgets the session.
    initialize: Option<Value>,
}

/// Which protocol headers a request carries.
enum Headers<'a> {
    /// Legacy: the session id and negotiated version.
    Session,
    /// Legacy, opening a new session: the version only.
    NewSession,
    /// Modern: the headers that mirror the message.
    Modern(&'a [(String, String)]),
}

struct Bridge {
    home: CruxHome,
    mcp: ServerName,
    /// The registered URL, placeholders and all: what errors and logs name.
    url: String,
    http: Http,
    auth: Mutex<Auth>,
    /// The URL requests go to and the registration's extra headers, credentials filled in.
    filled: Mutex<filled::Filled>,
    session: Mutex<McpSession>,
    out: Mutex<std::io::Stdout>,
    retry_ms: AtomicU64,
    get_stream_started: AtomicBool,
    /// Bumped at each (re)initialization: the GET stream reconnects for a new session.
    generation: AtomicU64,
    reinit: Mutex<()>,
    /// Requests whose answer went to the host (on whatever stream it came).
    answered: Mutex<HashSet<String>>,
    /// The server's era, once known; found under `detecting`.
    era: Mutex<Option<Era>>,
    detecting: Mutex<()>,
    /// `x-mcp-header` annotations of the tools the server listed.
    tools: Mutex<ToolHeaders>,
    /// Open response streams of modern requests, by the host's request id.
    inflight: Mutex<HashMap<String, modern::Closer>>,
    /// Modern requests waiting for their response headers: the thread blocked reading.
    waiting: Mutex<HashMap<String, i64>>,
    /// The server's port (a blocked read's socket must be connected to it).
    port: u16,
    /// Requests the host cancelled: their answers are not sent.
    cancelled: Mutex<HashSet<String>>,
    /// A legacy host's session with a modern server.
    translation: Mutex<modern::Translation>,
    /// Requests sent to the host on the server's behalf, awaiting its answer.
    pending: Mutex<HashMap<String, mpsc::Sender<Value>>>,
    next_id: AtomicU64,
    listening: AtomicBool,
    listen_generation: AtomicU64,
    listen_closer: Mutex<Option<modern::Closer>>,
    /// Whether the session was ended (stdin closed, or a signal came): once only.
    ended: Mutex<bool>,
}

/// Runs the bridge until the host closes stdin.
pub fn run(home: &CruxHome) -> Result<()> {
    // A host that closes our stdout must not kill us before the session is DELETEd: writes
    // then fail quietly instead.
    // SAFETY: setting a signal disposition; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // First, before any thread exists: the stop signals go to the watching thread.
    let watch = signals::Watch::start();
    let bridge = Arc::new(prepare(home).map_err(|e| Error::Launch(Box::new(e)))?);
    watch.serve(&bridge);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut input, &mut line)
            .map_err(|e| Error::io("cannot read from the MCP host", e))?;
        if n == 0 {
            break;
        }
        let Ok(messages) = host_messages(&line) else {
            bridge.note("ignored a line from the host that is not JSON");
            continue;
        };
        for message in messages {
            dispatch(&bridge, message);
        }
    }
    // The host is gone: nobody reads answers still in flight. End the session and exit
    // without waiting for streams the server keeps open.
    bridge.end();
    Ok(())
}

/// The messages on one line from the host: none on a blank line, `Err` when it is not JSON.
pub(crate) fn host_messages(line: &str) -> std::result::Result<Vec<Value>, serde_json::Error> {
    let text = line.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match serde_json::from_str::<Value>(text)? {
        // A batch (2025-03-26 hosts): each message on its own.
        Value::Array(items) => items,
        message => vec![message],
    })
}

/// Sends one message from the host on its way, by the host's era and the server's.
fn dispatch(bridge: &Arc<Bridge>, message: Value) {
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let is_request = message.get("id").is_some() && !method.is_empty();
    let server = bridge.server_era();
    if method.is_empty() {
        // An answer to a request: one the bridge sent on a modern server's behalf, or one
        // the legacy server sent.
        if !bridge.host_answered(&message) && server != Some(Era::Modern) {
            bridge.forward(&message);
        }
        return;
    }
    if method == "notifications/cancelled" && bridge.cancel(&message) {
        // Closing the stream is the cancellation over Streamable HTTP.
        return;
    }
    if protocol::is_modern_message(&message) {
        // A modern host. Requests run on their own threads; the first one finds the era.
        let b = Arc::clone(bridge);
        std::thread::spawn(move || b.modern_forward(message));
        return;
    }
    // A legacy host.
    if method == "initialize" {
        match bridge.translate_initialize(&message) {
            Ok(true) => {}
            // A legacy server: the session starts before anything else.
            Ok(false) => bridge.forward(&message),
            Err(e) => bridge.answer_error(message.get("id").unwrap_or(&Value::Null), false, &e),
        }
        return;
    }
    if server == Some(Era::Modern) {
        if method == "notifications/initialized" {
            Bridge::start_listen(bridge);
        } else if is_request {
            let b = Arc::clone(bridge);
            std::thread::spawn(move || b.translate_request(message));
        }
        // Other notifications of a legacy host have no modern counterpart.
        return;
    }
    if !is_request {
        // In order: notifications and answers to the server's requests keep their order.
        bridge.forward(&message);
        if method == "notifications/initialized" {
            Bridge::start_get_stream(bridge);
        }
    } else {
        let b = Arc::clone(bridge);
        std::thread::spawn(move || b.forward(&message));
    }
}

/// Checks the environment against the registry and loads the credential: every failure here
/// stops the launch (exit 78) before the host sees a server.
fn prepare(home: &CruxHome) -> Result<Bridge> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mcp = var("CRUX_MCP_NAME").ok_or_else(|| {
        Error::failed(
            "CRUX_MCP_NAME is not set, so crux does not know which server to bridge",
            "start servers through the entries crux writes: crux project sync",
        )
    })?;
    let mcp = ServerName::parse(&mcp)?;
    let url = var("CRUX_BRIDGE_URL").ok_or_else(|| {
        Error::failed(
            format!("{mcp}: CRUX_BRIDGE_URL is not set"),
            "regenerate the entry: crux project sync",
        )
    })?;
    let registry = Registry::load_unchecked(home)?;
    let registered = registry.require(&mcp)?;
    registered.spec.validate(mcp.as_str())?;
    // Credentials go only to the URL the user registered for this server.
    if registered.spec.url() != Some(url.as_str()) {
        let named = registered.spec.remote_vars();
        let registered_url = registered.spec.url().unwrap_or_default();
        if !named.is_empty() && crate::template::could_fill(registered_url, &url) {
            // Something filled the entry's placeholders in (a host expanding variables in its
            // config): what it put there may be a credential, so it is not shown.
            return Err(Error::failed(
                format!("{mcp}: the launcher was not given the registered URL: the MCP host changed its {{crux:VAR}} placeholders ({}), so crux sends it no credential", named.join(", ")),
                format!("regenerate the entry: crux project sync (see the registered URL: crux mcp show {mcp})"),
            ));
        }
        return Err(Error::failed(
            format!(
                "{mcp}: the launcher was asked to connect to {}, not to the registered URL, so crux sends it no credential",
                redact_url(&url)
            ),
            format!("regenerate the entry: crux project sync (see the registered URL: crux mcp show {mcp})"),
        ));
    }
    let auth = if let Some(spec) = &registered.spec.auth.oauth {
        let mut session = Session::load(home, &mcp, &url, spec.clone(), Interaction::Silent)?;
        if !session.has_token()
            && !session.has_refresh_token()
            && spec.grant == crate::oauth::spec::Grant::AuthorizationCode
        {
            return Err(Error::failed(
                format!("{mcp}: not signed in"),
                format!("sign in: crux mcp auth {mcp}"),
            ));
        }
        session.token()?;
        Auth::Oauth(Box::new(session))
    } else if let Some(spec) = &registered.spec.auth.bearer {
        let value = bearer_value(home, &mcp, spec)?;
        Auth::Bearer {
            spec: spec.clone(),
            value,
        }
    } else {
        Auth::None
    };
    let filled = filled::read(home, &mcp, registered)?;
    let http = Http::new(Duration::from_secs(3600));
    http.show_as(&filled.url, &url);
    let port = url::Url::parse(filled.url.expose())
        .ok()
        .and_then(|u| u.port_or_known_default())
        .unwrap_or(443);
    Ok(Bridge {
        home: home.clone(),
        mcp,
        url,
        http,
        auth: Mutex::new(auth),
        filled: Mutex::new(filled),
        session: Mutex::new(McpSession::default()),
        out: Mutex::new(std::io::stdout()),
        retry_ms: AtomicU64::new(DEFAULT_RETRY_MS),
        get_stream_started: AtomicBool::new(false),
        generation: AtomicU64::new(0),
        reinit: Mutex::new(()),
        answered: Mutex::new(HashSet::new()),
        era: Mutex::new(None),
        detecting: Mutex::new(()),
        tools: Mutex::new(ToolHeaders::default()),
        inflight: Mutex::new(HashMap::new()),
        waiting: Mutex::new(HashMap::new()),
        port,
        cancelled: Mutex::new(HashSet::new()),
        translation: Mutex::new(modern::Translation::default()),
        pending: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
        listening: AtomicBool::new(false),
        listen_generation: AtomicU64::new(0),
        listen_closer: Mutex::new(None),
        ended: Mutex::new(false),
    })
}

/// The stored bearer token of a server, if it is bound to the server's registration (stored
/// for it, or confirmed for it): a token stored before a registration of that name is not sent
/// to whatever URL the registration names until the user confirms it.
pub fn bearer_value(home: &CruxHome, mcp: &ServerName, spec: &BearerSpec) -> Result<Secret> {
    let var = VarName::parse(&spec.var)?;
    let index = Index::load(home)?;
    let cred = index.get(mcp, &var).ok_or_else(|| Error::NotStored {
        mcp: mcp.to_string(),
        var: var.to_string(),
    })?;
    let fingerprint = Registry::load_unchecked(home)?
        .get(mcp)
        .map(crate::registry::Registered::fingerprint);
    if fingerprint.is_none() || cred.bound_to != fingerprint {
        return Err(Error::failed(
            format!("{mcp}: {var} was stored before this registration of '{mcp}' (for another definition, or before it was registered), so crux does not send it"),
            format!("review the registration and confirm it: crux mcp bind {mcp}"),
        ));
    }
    let store = select::open(cred.backend, home)?;
    match store.get(mcp, &var)? {
        Some(v) if !header_safe(v.expose()) => Err(Error::failed(
            format!("{mcp}: the stored {var} contains a line break, control or non-ASCII character, which cannot go in an HTTP header"),
            format!("store it again: crux mcp auth {mcp} {var}"),
        )),
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Error::NotStored {
            mcp: mcp.to_string(),
            var: var.to_string(),
        }),
    }
}

/// Whether text can be an HTTP header value as it is: visible ASCII and spaces.
pub fn header_safe(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_graphic() || c == ' ')
}

/// The header a bearer credential is sent in: name and value.
pub fn bearer_header(spec: &BearerSpec, value: &Secret) -> (String, Secret) {
    let header = if spec.header_prefix.is_empty() {
        value.clone()
    } else {
        Secret::new(format!("{} {}", spec.header_prefix, value.expose()))
    };
    (spec.header_name.clone(), header)
}

/// What a request carried.
#[derive(Default)]
struct Sent {
    session: Option<String>,
    credential: Option<Secret>,
    /// The values filled into the URL and extra headers.
    filled: std::collections::BTreeMap<String, Secret>,
}

enum Outcome {
    Done,
    /// The stream ended before the answer to the request arrived.
    Unanswered,
}

impl Bridge {
    /// Ends the session at the server, once, whoever asks first (the end of stdin or a
    /// signal); a second caller waits until the first is done. Modern sessions have no end.
    fn end(&self) {
        let mut ended = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        if !std::mem::replace(&mut *ended, true) && self.server_era() != Some(Era::Modern) {
            self.delete_session();
        }
    }

    fn note(&self, message: &str) {
        eprintln!(
            "crux bridge ({}): {}",
            self.mcp,
            crate::redact::mask(&crate::error::one_line(message))
        );
    }

    /// Relays a message to the host, with any credential crux sent masked: a server that
    /// echoes the token back does not get it into the host's context or logs.
    fn write(&self, message: &Value) {
        let text = message.to_string();
        let text = crate::redact::mask(&text);
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// Forwards one message from the host to a legacy server; a request that fails gets a
    /// JSON-RPC error.
    fn forward(&self, message: &Value) {
        let request_id = message.get("method").and(message.get("id")).cloned();
        if let Err(e) = self.legacy_post(message, request_id.as_ref()) {
            match request_id {
                Some(id) => self.answer_error(&id, false, &e),
                None => self.note(&e.line()),
            }
        }
    }

    /// Answers a request the bridge could not serve with a JSON-RPC error that says what to
    /// run (and says it on stderr).
    fn answer_error(&self, id: &Value, modern: bool, e: &Error) {
        let line = e.line();
        self.note(&line);
        let code = if modern {
            BRIDGE_ERROR_MODERN
        } else {
            BRIDGE_ERROR_LEGACY
        };
        self.write(&json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": code, "message": format!("crux: {line}")},
        }));
    }

    /// A request with the session's headers and the credential.
    fn request(&self, method: &str) -> Result<ureq::Request> {
        self.request_full(method, Headers::Session)
            .map(|(req, _)| req)
    }

    /// A request with the session's headers and the credential, and what it carries: the
    /// session id and the credential, so a failure can tell whether another thread has
    /// already replaced them.
    fn request_with(&self, method: &str) -> Result<(ureq::Request, Sent)> {
        self.request_full(method, Headers::Session)
    }

    fn request_full(&self, method: &str, headers: Headers) -> Result<(ureq::Request, Sent)> {
        let mut sent = Sent::default();
        let mut req = {
            let filled = self.filled.lock().unwrap_or_else(|p| p.into_inner());
            let mut req = self.http.request(method, filled.url.expose());
            for (name, value) in &filled.headers {
                req = req.set(name, value.expose());
            }
            sent.filled = filled.values.clone();
            req
        };
        match headers {
            Headers::Modern(list) => {
                for (name, value) in list {
                    req = req.set(name, value);
                }
            }
            Headers::Session | Headers::NewSession => {
                let s = self.session.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(id) = s.id.as_ref() {
                    if matches!(headers, Headers::Session) {
                        req = req.set("Mcp-Session-Id", id);
                        sent.session = Some(id.clone());
                    }
                }
                if let Some(v) = &s.protocol_version {
                    req = req.set("MCP-Protocol-Version", v);
                }
            }
        }
        let mut auth = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *auth {
            Auth::None => {}
            Auth::Bearer { spec, value } => {
                let (name, header) = bearer_header(spec, value);
                crate::redact::remember(value);
                req = req.set(&name, header.expose());
                sent.credential = Some(value.clone());
            }
            Auth::Oauth(session) => {
                // Before each use: refreshed if it expires soon.
                let token = session.token()?;
                crate::redact::remember(&token);
                req = req.set("Authorization", &format!("Bearer {}", token.expose()));
                sent.credential = Some(token);
            }
        }
        Ok((req, sent))
    }

    /// A 401 or 403 answer. `Ok(true)`: the credential was renewed (once), send again;
    /// `Ok(false)`: not an authorization answer.
    fn auth_retry(&self, resp: &Response, sent: &Sent, recovered: &mut bool) -> Result<bool> {
        match resp.status {
            401 if !*recovered => {
                *recovered = true;
                let challenge = Challenge::from_headers(&resp.all_headers("www-authenticate"));
                self.recover(challenge.as_ref(), sent.credential.as_ref(), &sent.filled)?;
                Ok(true)
            }
            401 => Err(Error::failed(
                format!(
                    "{} still rejects the credential of '{}'",
                    redact_url(&self.url),
                    self.mcp
                ),
                format!("store a valid one: crux mcp auth {}", self.mcp),
            )),
            403 => Err(self.forbidden(resp)),
            _ => Ok(false),
        }
    }

    /// A stream that ended before the answer to its request.
    fn closed_early(&self) -> Error {
        Error::failed(
            format!(
                "{} closed the stream before answering",
                redact_url(&self.url)
            ),
            format!(
                "try again; if it repeats, check the server (crux mcp probe {})",
                self.mcp
            ),
        )
    }

    /// After a 401: refresh the OAuth token, or re-read a bearer token the user may have
    /// replaced. An error says what to run.
    fn recover(
        &self,
        challenge: Option<&Challenge>,
        sent: Option<&Secret>,
        sent_filled: &std::collections::BTreeMap<String, Secret>,
    ) -> Result<()> {
        let rejected = || {
            Error::failed(
                format!(
                    "{} rejected the credential of '{}'",
                    redact_url(&self.url),
                    self.mcp
                ),
                format!("store a valid one: crux mcp auth {}", self.mcp),
            )
        };
        if self.reread_filled(sent_filled)? {
            return Ok(());
        }
        let mut auth = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        // Another request already replaced the credential this one carried: just retry.
        let current = match &*auth {
            Auth::Bearer { value, .. } => Some(value),
            Auth::Oauth(session) => session.access_token(),
            Auth::None => None,
        };
        if sent.is_some() && current != sent {
            return Ok(());
        }
        match &mut *auth {
            Auth::None if !sent_filled.is_empty() => Err(rejected()),
            Auth::None => Err(Error::failed(
                format!("{} requires authorization", redact_url(&self.url)),
                format!("register its credential: crux mcp add {} --url <URL> --oauth (or --bearer VAR) --force", self.mcp),
            )),
            Auth::Bearer { spec, value } => {
                let fresh = bearer_value(&self.home, &self.mcp, spec)?;
                if fresh == *value {
                    return Err(rejected());
                }
                *value = fresh;
                Ok(())
            }
            Auth::Oauth(session) => session.rejected(challenge).map(|_| ()).map_err(|e| {
                Error::failed(
                    format!(
                        "{} rejected the OAuth token of '{}' and it could not be renewed ({})",
                        redact_url(&self.url),
                        self.mcp,
                        e.to_string().trim_end_matches('.')
                    ),
                    format!("sign in again: crux mcp auth {}", self.mcp),
                )
            }),
        }
    }

    /// After a 401: reads the values of the URL's and headers' placeholders again, once per
    /// rejection. `Ok(true)`: they changed (the user stored new ones, or another request
    /// already re-read them), send again.
    fn reread_filled(&self, sent: &std::collections::BTreeMap<String, Secret>) -> Result<bool> {
        if sent.is_empty() {
            return Ok(false);
        }
        let mut filled = self.filled.lock().unwrap_or_else(|p| p.into_inner());
        if filled.values != *sent {
            return Ok(true);
        }
        let registry = Registry::load_unchecked(&self.home)?;
        let registered = registry.require(&self.mcp)?;
        let fresh = filled::read(&self.home, &self.mcp, registered)?;
        if fresh.values == filled.values {
            return Ok(false);
        }
        self.http.show_as(&fresh.url, &self.url);
        *filled = fresh;
        Ok(true)
    }
}

fn error_text(resp: Response) -> String {
    let bytes = resp.bytes().unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let short: String = text.chars().take(200).collect();
    format!(": {}", sanitize(&short))
}
