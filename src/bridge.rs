//! `crux bridge`: the launcher of a remote server. The MCP host starts it as a stdio server
//! (through `CRUX_HOME/launchers/http-bridge-auth.sh`); it forwards each JSON-RPC message from
//! stdin to the server's Streamable HTTP endpoint with the server's credential (a bearer token
//! from the keystore, or an OAuth token refreshed when it expires within a minute), and writes
//! every message of the answers to stdout: JSON bodies, SSE streams (resumed with
//! `Last-Event-ID` after the server's `retry` delay), and the optional GET stream of
//! server-initiated messages. A session the server forgets (404) is initialized again; the
//! session is DELETEd on exit. A request that cannot be served gets a JSON-RPC error that says
//! what to run, and the bridge keeps serving.

use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::names::{ServerName, VarName};
use crate::oauth::discovery::Challenge;
use crate::oauth::http::{redact_url, Http, Response};
use crate::oauth::{Interaction, Session};
use crate::registry::{BearerSpec, Registry};
use crate::secret::Secret;
use crate::store::select;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many times a broken SSE response stream is resumed before the request is failed.
const RESUME_LIMIT: usize = 5;
/// The reconnection delay when the server names none (ms).
const DEFAULT_RETRY_MS: u64 = 1000;

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

struct Bridge {
    home: CruxHome,
    mcp: ServerName,
    url: String,
    http: Http,
    auth: Mutex<Auth>,
    session: Mutex<McpSession>,
    out: Mutex<std::io::Stdout>,
    retry_ms: AtomicU64,
    get_stream_started: AtomicBool,
    /// Bumped at each (re)initialization: the GET stream reconnects for a new session.
    generation: AtomicU64,
    reinit: Mutex<()>,
    /// Requests whose answer went to the host (on whatever stream it came).
    answered: Mutex<std::collections::HashSet<String>>,
}

/// Runs the bridge until the host closes stdin.
pub fn run(home: &CruxHome) -> Result<()> {
    // A host that closes our stdout must not kill us before the session is DELETEd: writes
    // then fail quietly instead.
    // SAFETY: setting a signal disposition; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let bridge = Arc::new(prepare(home).map_err(|e| Error::Launch(Box::new(e)))?);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = String::new();
    loop {
        line.clear();
        let n = input
            .read_line(&mut line)
            .map_err(|e| Error::io("cannot read from the MCP host", e))?;
        if n == 0 {
            break;
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let messages = match serde_json::from_str::<Value>(text) {
            // A batch (2025-03-26 hosts): each message on its own.
            Ok(Value::Array(items)) => items,
            Ok(message) => vec![message],
            Err(_) => {
                bridge.note("ignored a line from the host that is not JSON");
                continue;
            }
        };
        for message in messages {
            dispatch(&bridge, message);
        }
    }
    // The host is gone: nobody reads answers still in flight. End the session and exit
    // without waiting for streams the server keeps open.
    bridge.delete_session();
    Ok(())
}

/// Sends one message from the host on its way.
fn dispatch(bridge: &Arc<Bridge>, message: Value) {
    {
        let method = message.get("method").and_then(Value::as_str).unwrap_or("");
        let is_request = message.get("id").is_some() && !method.is_empty();
        if method == "initialize" || !is_request {
            // In order: the session starts before anything else, and notifications and
            // answers to the server's requests keep their order.
            bridge.forward(&message);
            if method == "notifications/initialized" {
                Bridge::start_get_stream(bridge);
            }
        } else {
            let b = Arc::clone(bridge);
            std::thread::spawn(move || b.forward(&message));
        }
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
    Ok(Bridge {
        home: home.clone(),
        mcp,
        url,
        http: Http::new(Duration::from_secs(3600)),
        auth: Mutex::new(auth),
        session: Mutex::new(McpSession::default()),
        out: Mutex::new(std::io::stdout()),
        retry_ms: AtomicU64::new(DEFAULT_RETRY_MS),
        get_stream_started: AtomicBool::new(false),
        generation: AtomicU64::new(0),
        reinit: Mutex::new(()),
        answered: Mutex::new(std::collections::HashSet::new()),
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
}

enum Outcome {
    Done,
    /// The stream ended before the answer to the request arrived.
    Unanswered,
}

impl Bridge {
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

    /// Forwards one message from the host; a request that fails gets a JSON-RPC error.
    fn forward(&self, message: &Value) {
        let request_id = message.get("method").and(message.get("id")).cloned();
        if let Err(e) = self.post(message, request_id.as_ref()) {
            let (problem, fix) = match &e {
                Error::Failed { problem, fix } => (problem.clone(), fix.clone()),
                other => (other.to_string(), other.fix().unwrap_or_default()),
            };
            self.note(&format!("{problem}; fix: {fix}"));
            if let Some(id) = request_id {
                self.write(&json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "error": {"code": -32001, "message": format!("crux: {problem}; fix: {fix}")},
                }));
            }
        }
    }

    /// A request with the session's headers and the credential.
    fn request(&self, method: &str) -> Result<ureq::Request> {
        self.request_with(method).map(|(req, _)| req)
    }

    /// A request with the session's headers and the credential, and what it carries: the
    /// session id and the credential, so a failure can tell whether another thread has
    /// already replaced them.
    fn request_with(&self, method: &str) -> Result<(ureq::Request, Sent)> {
        self.request_full(method, true)
    }

    fn request_full(&self, method: &str, with_session: bool) -> Result<(ureq::Request, Sent)> {
        let mut req = self.http.request(method, &self.url);
        let mut sent = Sent::default();
        {
            let s = self.session.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(id) = s.id.as_ref().filter(|_| with_session) {
                req = req.set("Mcp-Session-Id", id);
                sent.session = Some(id.clone());
            }
            if let Some(v) = &s.protocol_version {
                req = req.set("MCP-Protocol-Version", v);
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
                // Before each use: refreshed if it expires within a minute.
                let token = session.token()?;
                crate::redact::remember(&token);
                req = req.set("Authorization", &format!("Bearer {}", token.expose()));
                sent.credential = Some(token);
            }
        }
        Ok((req, sent))
    }

    /// After a 401: refresh the OAuth token, or re-read a bearer token the user may have
    /// replaced. An error says what to run.
    fn recover(&self, challenge: Option<&Challenge>, sent: Option<&Secret>) -> Result<()> {
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

    fn post(&self, message: &Value, request_id: Option<&Value>) -> Result<()> {
        let is_initialize = message.get("method") == Some(&json!("initialize"));
        if is_initialize {
            let mut s = self.session.lock().unwrap_or_else(|p| p.into_inner());
            *s = McpSession {
                initialize: Some(message.clone()),
                ..McpSession::default()
            };
        }
        let body = message.to_string();
        let (mut recovered, mut reinitialized) = (false, false);
        loop {
            let (req, sent) = self.request_with("POST")?;
            let req = req
                .set("Accept", "application/json, text/event-stream")
                .set("Content-Type", "application/json");
            let resp = self.http.send(req, Some(body.as_bytes()))?;
            match resp.status {
                401 if !recovered => {
                    recovered = true;
                    let challenge = Challenge::from_headers(&resp.all_headers("www-authenticate"));
                    self.recover(challenge.as_ref(), sent.credential.as_ref())?;
                }
                401 => {
                    return Err(Error::failed(
                        format!(
                            "{} still rejects the credential of '{}'",
                            redact_url(&self.url),
                            self.mcp
                        ),
                        format!("store a valid one: crux mcp auth {}", self.mcp),
                    ))
                }
                403 => {
                    let challenge = Challenge::from_headers(&resp.all_headers("www-authenticate"));
                    let scope = challenge
                        .and_then(|c| c.scope)
                        .map(|s| format!(" (it asks for: {})", sanitize(&s)))
                        .unwrap_or_default();
                    return Err(Error::failed(
                        format!(
                            "{} refused the request: forbidden{scope}",
                            redact_url(&self.url)
                        ),
                        format!("sign in with the needed scopes: crux mcp auth {}", self.mcp),
                    ));
                }
                404 if !is_initialize && !reinitialized && sent.session.is_some() => {
                    reinitialized = true;
                    self.reinitialize(sent.session.as_deref())?;
                }
                s if (200..300).contains(&s) => {
                    if let Some(id) = resp.header("mcp-session-id") {
                        if is_initialize {
                            self.session.lock().unwrap_or_else(|p| p.into_inner()).id =
                                Some(id.to_string());
                        }
                    }
                    return self.answer(resp, request_id, is_initialize);
                }
                s => {
                    let detail = error_text(resp);
                    return Err(Error::failed(
                        format!("{} answered HTTP {s}{detail}", redact_url(&self.url)),
                        format!("check the server (crux mcp probe {})", self.mcp),
                    ));
                }
            }
        }
    }

    fn has_session(&self) -> bool {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .id
            .is_some()
    }

    /// Forwards the messages of a 2xx answer; resumes a broken SSE stream.
    fn answer(
        &self,
        resp: Response,
        request_id: Option<&Value>,
        is_initialize: bool,
    ) -> Result<()> {
        if request_id.is_none() {
            return Ok(());
        }
        if resp.status == 202 || resp.status == 204 {
            return Err(Error::failed(
                format!(
                    "{} accepted the request but sent no answer (HTTP {})",
                    redact_url(&self.url),
                    resp.status
                ),
                format!("check the server (crux mcp probe {})", self.mcp),
            ));
        }
        let record_version = |m: &Value| {
            if is_initialize {
                if let Some(v) = m.pointer("/result/protocolVersion").and_then(Value::as_str) {
                    self.session
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .protocol_version = Some(v.to_string());
                }
            }
        };
        if !resp.content_type().starts_with("text/event-stream") {
            match resp.json("the server's answer")? {
                Value::Array(items) => items.iter().for_each(|m| {
                    record_version(m);
                    self.write(m)
                }),
                m => {
                    record_version(&m);
                    self.write(&m)
                }
            }
            return Ok(());
        }
        // This stream's own last event id: a resumption names it, and nothing else does.
        let mut last = None;
        let mut reader = BufReader::new(resp.into_reader());
        let mut outcome = self.pump(&mut reader, request_id, &record_version, &mut last)?;
        if matches!(outcome, Outcome::Done) && !is_initialize {
            // Read the stream to its end (forwarding anything after the answer), so the
            // connection goes back to the pool instead of being dropped. Requests run on
            // their own threads, so this delays nobody; initialize runs inline and does not.
            self.pump(&mut reader, None, &|_| {}, &mut last)?;
        }
        let mut resumes = 0;
        while matches!(outcome, Outcome::Unanswered) {
            if request_id.is_some_and(|id| self.was_answered(id)) {
                // The answer came on another stream (the GET stream).
                return Ok(());
            }
            resumes += 1;
            if resumes > RESUME_LIMIT || last.is_none() {
                return Err(Error::failed(
                    format!(
                        "{} closed the stream before answering",
                        redact_url(&self.url)
                    ),
                    format!(
                        "try again; if it repeats, check the server (crux mcp probe {})",
                        self.mcp
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(self.retry_ms.load(Ordering::Relaxed)));
            let mut req = self.request("GET")?.set("Accept", "text/event-stream");
            if let Some(id) = &last {
                req = req.set("Last-Event-ID", id);
            }
            let resp = self.http.send(req, None)?;
            if !resp.ok() || !resp.content_type().starts_with("text/event-stream") {
                return Err(Error::failed(
                    format!(
                        "{} did not resume the stream (HTTP {})",
                        redact_url(&self.url),
                        resp.status
                    ),
                    format!("try again (crux mcp probe {})", self.mcp),
                ));
            }
            // A resumed stream is a GET stream the server may keep open: not drained.
            let mut reader = BufReader::new(resp.into_reader());
            outcome = self.pump(&mut reader, request_id, &record_version, &mut last)?;
        }
        Ok(())
    }

    /// Reads an SSE stream, forwarding each message; stops once the answer to `request_id`
    /// has gone out (`Done`), or reports that the stream ended first.
    fn pump(
        &self,
        reader: &mut dyn BufRead,
        request_id: Option<&Value>,
        seen: &dyn Fn(&Value),
        last_event_id: &mut Option<String>,
    ) -> Result<Outcome> {
        let mut answered = false;
        // A read error is a dropped connection: a stream that ended.
        let _ = crate::sse::read(reader, |item| {
            let data = match item {
                crate::sse::Item::Retry(ms) => {
                    self.retry_ms.store(ms, Ordering::Relaxed);
                    return false;
                }
                crate::sse::Item::Event { id, data } => {
                    if id.is_some() {
                        *last_event_id = id;
                    }
                    data
                }
            };
            let Ok(m) = serde_json::from_str::<Value>(&data) else {
                return false;
            };
            seen(&m);
            let is_answer = m.get("method").is_none();
            if is_answer {
                if let Some(id) = m.get("id") {
                    self.answered
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(id.to_string());
                }
            }
            self.write(&m);
            answered = is_answer && request_id.is_some() && m.get("id") == request_id;
            answered
        });
        if answered {
            return Ok(Outcome::Done);
        }
        Ok(if request_id.is_some() {
            Outcome::Unanswered
        } else {
            Outcome::Done
        })
    }

    /// The server forgot the session: replay the host's `initialize` (its answer is not
    /// forwarded: the host already has one) and `notifications/initialized`.
    fn reinitialize(&self, lost: Option<&str>) -> Result<()> {
        // One re-initialization for all the requests that met the same lost session.
        let _one = self.reinit.lock().unwrap_or_else(|p| p.into_inner());
        let init = {
            let s = self.session.lock().unwrap_or_else(|p| p.into_inner());
            if s.id.as_deref() != lost {
                return Ok(());
            }
            s.initialize.clone()
        };
        self.note("the server forgot the session; initializing a new one");
        let Some(mut init) = init else {
            return Err(Error::failed(
                "the server forgot the session before it was initialized",
                format!(
                    "restart the server in your MCP host (crux mcp probe {})",
                    self.mcp
                ),
            ));
        };
        init["id"] = json!("crux-bridge-reinitialize");
        // A new session: its initialize carries no session id.
        let (req, _) = self.request_full("POST", false)?;
        let req = req
            .set("Accept", "application/json, text/event-stream")
            .set("Content-Type", "application/json");

        let resp = self.http.send(req, Some(init.to_string().as_bytes()))?;
        if !resp.ok() {
            return Err(Error::failed(
                format!(
                    "{} refused a new session (HTTP {})",
                    redact_url(&self.url),
                    resp.status
                ),
                format!(
                    "restart the server in your MCP host (crux mcp probe {})",
                    self.mcp
                ),
            ));
        }
        self.session.lock().unwrap_or_else(|p| p.into_inner()).id =
            resp.header("mcp-session-id").map(str::to_string);
        // Drain the answer without forwarding it.
        let _ = resp.bytes();
        self.generation.fetch_add(1, Ordering::SeqCst);
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let req = self
            .request("POST")?
            .set("Accept", "application/json, text/event-stream")
            .set("Content-Type", "application/json");
        let _ = self
            .http
            .send(req, Some(note.to_string().as_bytes()))?
            .bytes();
        Ok(())
    }

    fn was_answered(&self, id: &Value) -> bool {
        self.answered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&id.to_string())
    }

    /// The optional GET stream of server-initiated messages, reconnected after the server's
    /// `retry` delay with its own `Last-Event-ID`, and opened again for a new session after a
    /// re-initialization. A server without one (405, or anything but an event stream) is
    /// fine. The first request's headers are awaited (up to a second), so the stream is in
    /// place before the host's next message goes out.
    fn start_get_stream(bridge: &Arc<Bridge>) {
        if bridge.get_stream_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let (opened, wait) = std::sync::mpsc::channel::<()>();
        let b = Arc::clone(bridge);
        std::thread::spawn(move || {
            let mut opened = Some(opened);
            let (mut failures, mut last, mut generation) =
                (0u32, None::<String>, b.generation.load(Ordering::SeqCst));
            loop {
                let sent = b.request_with("GET").and_then(|(req, sent)| {
                    let mut req = req.set("Accept", "text/event-stream");
                    if let Some(id) = &last {
                        req = req.set("Last-Event-ID", id);
                    }
                    b.http.send(req, None).map(|resp| (resp, sent))
                });
                if let Some(tx) = opened.take() {
                    let _ = tx.send(());
                }
                match sent {
                    Ok((resp, _))
                        if resp.ok() && resp.content_type().starts_with("text/event-stream") =>
                    {
                        failures = 0;
                        let mut reader = BufReader::new(resp.into_reader());
                        let _ = b.pump(&mut reader, None, &|_| {}, &mut last);
                    }
                    // The server offers no GET stream: fine, and final.
                    Ok((resp, _)) if resp.status == 405 => return,
                    Ok((resp, _)) if resp.status == 404 => {
                        // The session is gone: wait for the next one.
                        while b.generation.load(Ordering::SeqCst) == generation {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                    Ok((resp, sent)) if resp.status == 401 => {
                        let challenge =
                            Challenge::from_headers(&resp.all_headers("www-authenticate"));
                        if b.recover(challenge.as_ref(), sent.credential.as_ref())
                            .is_err()
                        {
                            failures += 1;
                        }
                    }
                    // Anything else (a network drop, a 5xx, a laptop asleep): try again later.
                    _ => failures += 1,
                }
                let now = b.generation.load(Ordering::SeqCst);
                if now != generation {
                    generation = now;
                    last = None;
                    continue;
                }
                let base = b.retry_ms.load(Ordering::Relaxed);
                let backoff = base.saturating_mul(1 << failures.min(5)).min(30_000);
                std::thread::sleep(Duration::from_millis(backoff));
            }
        });
        let _ = wait.recv_timeout(Duration::from_secs(1));
    }

    /// Ends the session at the server (DELETE), as the spec asks of a client that leaves.
    fn delete_session(&self) {
        if !self.has_session() {
            return;
        }
        if let Ok(req) = self.request("DELETE") {
            let _ = self.http.send(req.timeout(Duration::from_secs(5)), None);
        }
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
