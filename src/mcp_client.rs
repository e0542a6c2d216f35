//! A small MCP client: enough to initialize a server and list its tools, over Streamable HTTP
//! (with OAuth when the server asks for it) or over stdio. `crux mcp probe` uses it.

use crate::error::{sanitize, Error, Result};
use crate::oauth::discovery::Challenge;
use crate::oauth::http::{redact_url, Http, Response};
use crate::oauth::Session;
use crate::protocol::{self, ClientMeta, Era, ToolHeaders};
use crate::secret::Secret;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};

/// The protocol version crux offers in `initialize`; the server answers with the one it speaks.
pub const PROTOCOL_VERSION: &str = protocol::LEGACY_VERSION;

/// How many times one request may be retried after a step-up (403 insufficient_scope).
const STEP_UP_LIMIT: usize = 2;

pub trait Transport {
    /// Sends one message; for a request (`id` given) returns its response. A response that
    /// came in-band with an HTTP error status (a modern server's 400 or 404) is returned as
    /// the JSON-RPC error it carries.
    fn exchange(&mut self, message: &Value, id: Option<u64>) -> Result<Option<Value>>;
    /// Called once `initialize` has answered.
    fn initialized(&mut self, _protocol_version: &str) {}
    /// The era the transport speaks from now on (modern: no session, headers per request).
    fn set_era(&mut self, _era: Era) {}
    /// The HTTP status of the last exchange that failed with a 4xx and no JSON-RPC body: a
    /// legacy server's way of refusing a modern request.
    fn rejected_status(&self) -> Option<u16> {
        None
    }
    /// Records a `tools/list` result (and removes tools whose header annotations are invalid).
    fn tools_listed(&mut self, _result: &mut Value) {}
    /// How long to wait for the answer to the era probe (a legacy stdio server may not answer).
    fn probe_timeout(&mut self, _timeout: Option<std::time::Duration>) {}
    /// Ends what the transport opened at the server (a legacy HTTP session).
    fn end_session(&mut self) {}
}

/// A crux launcher that could not start its server answers the first requests with its error
/// line (see `crate::first_request`): that line's problem and fix, instead of "the server
/// answered with an error".
pub(crate) fn launcher_error(err: &Value) -> Option<Error> {
    if err.get("code")?.as_i64()? != crate::first_request::CODE {
        return None;
    }
    let message = err.get("message")?.as_str()?;
    let (problem, fix) = message
        .strip_suffix(crate::first_request::HINT)?
        .rsplit_once("; fix: ")?;
    let bounded =
        |text: &str| crate::error::escape_all(&text.chars().take(400).collect::<String>());
    Some(Error::failed(
        format!(
            "the launcher could not start the server: {}",
            bounded(problem)
        ),
        bounded(fix),
    ))
}

pub struct Client<T: Transport> {
    transport: T,
    next_id: u64,
    /// Set once the era is known (or pinned with `--protocol`).
    era: Option<Era>,
    meta: ClientMeta,
}

/// What `initialize` or `server/discover`, and `tools/list`, told.
#[derive(Debug, Clone)]
pub struct Probe {
    pub server_name: String,
    pub server_version: String,
    pub protocol_version: String,
    pub era: Era,
    /// The versions a modern server lists in `server/discover`.
    pub supported_versions: Vec<String>,
    /// For a modern server: whether it also serves legacy clients (it lists a legacy version).
    pub legacy_too: Option<bool>,
    pub tools: usize,
}

impl<T: Transport> Client<T> {
    pub fn new(transport: T) -> Self {
        Client {
            transport,
            next_id: 1,
            era: None,
            meta: ClientMeta::crux(),
        }
    }

    /// Speaks only this era (`--protocol`): no detection, no fallback.
    pub fn pin(mut self, era: Era) -> Self {
        self.era = Some(era);
        self.transport.set_era(era);
        self
    }

    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    fn message(&mut self, method: &str, params: Value) -> (u64, Value) {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if self.era == Some(Era::Modern) {
            self.meta.apply(&mut message);
        }
        (id, message)
    }

    /// One request and its response message (an error response included).
    fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let (id, message) = self.message(method, params);
        self.transport.exchange(&message, Some(id))?.ok_or_else(|| {
            Error::failed(
                format!("the server sent no response to {method}"),
                "check that the URL or command is an MCP server",
            )
        })
    }

    pub fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let mut response = self.call(method, params.clone())?;
        if self.era == Some(Era::Modern)
            && protocol::error_code(&response) == Some(protocol::UNSUPPORTED_VERSION)
        {
            // Another modern version: retry once with one both sides speak.
            self.retry_version(&response)?;
            response = self.call(method, params)?;
        }
        if let Some(err) = response.get("error") {
            if let Some(e) = launcher_error(err) {
                return Err(e);
            }
            return Err(Error::failed(
                format!(
                    "the server answered {method} with an error: {}",
                    sanitize(
                        err.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("(no message)")
                    )
                ),
                "check the server's logs",
            ));
        }
        let mut result = response.get("result").cloned().unwrap_or(Value::Null);
        if method == "tools/list" {
            self.transport.tools_listed(&mut result);
        }
        if result.get("resultType").and_then(Value::as_str) == Some("input_required") {
            let asks: Vec<String> = result
                .get("inputRequests")
                .and_then(Value::as_object)
                .map(|m| {
                    m.values()
                        .filter_map(|r| r.get("method").and_then(Value::as_str))
                        .map(sanitize)
                        .collect()
                })
                .unwrap_or_default();
            return Err(Error::failed(
                format!(
                    "the server asks for input to answer {method} ({}), which a probe cannot give",
                    if asks.is_empty() {
                        "more state".to_string()
                    } else {
                        asks.join(", ")
                    }
                ),
                "call it from your MCP host",
            ));
        }
        Ok(result)
    }

    /// After an `UnsupportedProtocolVersion` error: the newest version both sides speak.
    fn retry_version(&mut self, response: &Value) -> Result<()> {
        match protocol::supported_from_error(response).first() {
            Some(v) => {
                self.meta.version = v.to_string();
                Ok(())
            }
            None => Err(Error::failed(
                format!(
                    "the server speaks none of crux's protocol versions (it lists {})",
                    response
                        .pointer("/error/data/supported")
                        .map(|v| sanitize(&v.to_string()))
                        .unwrap_or_else(|| "none".into())
                ),
                "update crux, or ask the server's operator which versions it serves",
            )),
        }
    }

    pub fn notify(&mut self, method: &str) -> Result<()> {
        let message = json!({"jsonrpc": "2.0", "method": method});
        self.transport.exchange(&message, None).map(|_| ())
    }

    /// Finds the server's era (a modern `server/discover` first, falling back on a
    /// rejection that is not a modern error), then lists its tools (every page).
    pub fn probe(&mut self) -> Result<Probe> {
        if self.era != Some(Era::Legacy) {
            let pinned = self.era == Some(Era::Modern);
            self.era = Some(Era::Modern);
            self.transport.set_era(Era::Modern);
            if let Some(found) = self.discover(pinned)? {
                return Ok(found);
            }
            self.era = Some(Era::Legacy);
            self.transport.set_era(Era::Legacy);
        }
        self.legacy_probe()
    }

    /// `server/discover`; `None` when the answer says the server is legacy.
    fn discover(&mut self, pinned: bool) -> Result<Option<Probe>> {
        let legacy = |why: String| -> Result<Option<Probe>> {
            if pinned {
                return Err(Error::failed(
                    format!(
                        "the server does not speak MCP {} ({why})",
                        protocol::MODERN_VERSION
                    ),
                    format!("probe it with --protocol {}", protocol::LEGACY_VERSION),
                ));
            }
            Ok(None)
        };
        let mut retried = false;
        loop {
            self.transport
                .probe_timeout(Some(std::time::Duration::from_secs(10)));
            let answer = self.call("server/discover", json!({}));
            self.transport.probe_timeout(None);
            let response = match answer {
                Ok(r) => r,
                Err(e) => match self.transport.rejected_status() {
                    Some(status) => return legacy(format!("HTTP {status}")),
                    None if e.to_string().contains("timed out") => {
                        return legacy("no answer".into())
                    }
                    None => return Err(e),
                },
            };
            match protocol::error_code(&response) {
                Some(protocol::UNSUPPORTED_VERSION) if !retried => {
                    retried = true;
                    self.retry_version(&response)?;
                    continue;
                }
                Some(code) if protocol::is_modern_code(code) => {
                    return Err(Error::failed(
                        format!(
                            "the server refused server/discover: {}",
                            sanitize(
                                response
                                    .pointer("/error/message")
                                    .and_then(Value::as_str)
                                    .unwrap_or("(no message)")
                            )
                        ),
                        "check the server's logs",
                    ))
                }
                Some(code) => return legacy(format!("error {code}")),
                None => {}
            }
            let result = response.get("result").cloned().unwrap_or(Value::Null);
            let Some(supported) = protocol::discover_versions(&result) else {
                // Not a discover result: a legacy server that answers any method.
                return legacy("no supportedVersions in its answer".into());
            };
            if let Some(v) = protocol::pick_modern(&supported) {
                self.meta.version = v.to_string();
            }
            let info = protocol::discover_server_info(&result);
            let tools = if result.pointer("/capabilities/tools").is_some() {
                self.count_tools()?
            } else {
                0
            };
            // A dual-era server lists the legacy versions it serves among its versions.
            let legacy_too = Some(
                supported
                    .iter()
                    .any(|v| protocol::LEGACY_VERSIONS.contains(&v.as_str())),
            );
            return Ok(Some(Probe {
                server_name: text(&info, "name"),
                server_version: text(&info, "version"),
                protocol_version: self.meta.version.clone(),
                era: Era::Modern,
                supported_versions: supported,
                legacy_too,
                tools,
            }));
        }
    }

    fn legacy_probe(&mut self) -> Result<Probe> {
        let init = self.request("initialize", initialize_params())?;
        let protocol_version = init
            .get("protocolVersion")
            .and_then(Value::as_str)
            .filter(|v| protocol::is_version_text(v))
            .unwrap_or_default()
            .to_string();
        self.transport.initialized(&protocol_version);
        self.notify("notifications/initialized")?;
        let info = init.get("serverInfo").cloned().unwrap_or(Value::Null);
        let tools = if init.pointer("/capabilities/tools").is_some() {
            self.count_tools()?
        } else {
            0
        };
        Ok(Probe {
            server_name: text(&info, "name"),
            server_version: text(&info, "version"),
            protocol_version,
            era: Era::Legacy,
            supported_versions: Vec::new(),
            legacy_too: Some(true),
            tools,
        })
    }

    fn count_tools(&mut self) -> Result<usize> {
        let mut tools = 0;
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let page = self.request("tools/list", params)?;
            tools += page
                .get("tools")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            cursor = page
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        Ok(tools)
    }

    /// Ends a legacy session the probe opened.
    pub fn finish(&mut self) {
        if self.era == Some(Era::Legacy) {
            self.transport.end_session();
        }
    }
}

fn initialize_params() -> Value {
    json!({
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "crux", "version": env!("CARGO_PKG_VERSION")},
    })
}

fn text(info: &Value, key: &str) -> String {
    info.get(key)
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

/// Streamable HTTP (MCP 2025-03-26 and later), with OAuth when a session is given.
pub struct HttpTransport<'a> {
    http: Http,
    url: String,
    session_id: Option<String>,
    protocol_version: Option<String>,
    auth: Option<&'a mut Session>,
    token: Option<Secret>,
    /// A static credential header (a bearer server's), sent with every request.
    header: Option<(String, Secret)>,
    /// The URL requests go to when it has credentials filled in (`url` is then its
    /// placeholder form, which errors name), and the registration's extra headers.
    filled: Option<crate::bridge::filled::Filled>,
    era: Era,
    tools: ToolHeaders,
    rejected: Option<u16>,
    /// Set when the server demanded authorization but no session was given.
    pub needs_auth: bool,
}

impl<'a> HttpTransport<'a> {
    pub fn with_header(mut self, name: String, value: Secret) -> Self {
        self.header = Some((name, value));
        self
    }

    /// Sends to the URL and with the extra headers of a registration's `{crux:VAR}` placeholders,
    /// filled in; errors keep naming the placeholder URL.
    pub fn with_filled(mut self, filled: crate::bridge::filled::Filled) -> Self {
        self.http.show_as(&filled.url, &self.url);
        self.filled = Some(filled);
        self
    }

    /// The URL requests go to.
    fn wire_url(&self) -> &str {
        self.filled
            .as_ref()
            .map_or(self.url.as_str(), |f| f.url.expose())
    }

    /// The extra headers of a registration, filled in.
    fn extra_headers(&self) -> impl Iterator<Item = &(String, Secret)> {
        self.filled.iter().flat_map(|f| f.headers.iter())
    }

    pub fn protocol_version(&mut self, version: &str) {
        self.protocol_version = Some(version.to_string());
    }

    pub fn new(url: &str, auth: Option<&'a mut Session>) -> Self {
        HttpTransport {
            http: Http::new(std::time::Duration::from_secs(300)),
            url: url.to_string(),
            session_id: None,
            protocol_version: None,
            auth,
            token: None,
            header: None,
            filled: None,
            era: Era::Legacy,
            tools: ToolHeaders::default(),
            rejected: None,
            needs_auth: false,
        }
    }

    /// POSTs a message, answering 401 with a refresh or sign-in and 403
    /// `insufficient_scope` with a step-up, each a bounded number of times.
    fn post(&mut self, message: &Value) -> Result<Response> {
        // Before each use: the stored token, refreshed if it expires soon.
        if let Some(auth) = self.auth.as_deref_mut() {
            if auth.has_token() {
                self.token = Some(auth.token()?);
            }
        }
        let body = message.to_string();
        let (mut unauthorized, mut step_ups) = (0, 0);
        loop {
            let mut req = self
                .http
                .request("POST", self.wire_url())
                .set("Accept", "application/json, text/event-stream")
                .set("Content-Type", "application/json");
            if self.era == Era::Modern {
                for (name, value) in protocol::standard_headers(message)
                    .into_iter()
                    .chain(self.tools.for_call(message))
                {
                    req = req.set(&name, &value);
                }
            } else {
                if let Some(sid) = &self.session_id {
                    req = req.set("Mcp-Session-Id", sid);
                }
                if let Some(v) = &self.protocol_version {
                    req = req.set("MCP-Protocol-Version", v);
                }
            }
            if let Some(t) = &self.token {
                crate::redact::remember(t);
                req = req.set("Authorization", &format!("Bearer {}", t.expose()));
            }
            for (name, value) in self.header.iter().chain(self.extra_headers()) {
                crate::redact::remember(value);
                req = req.set(name, value.expose());
            }
            let resp = self.http.send(req, Some(body.as_bytes()))?;
            let challenge = Challenge::from_headers(&resp.all_headers("www-authenticate"));
            match resp.status {
                401 => {
                    let Some(auth) = self.auth.as_deref_mut() else {
                        self.needs_auth = true;
                        return Err(Error::failed(
                            format!("{} requires authorization", redact_url(&self.url)),
                            "register it with OAuth: crux mcp add <name> --url <url> --oauth, then crux mcp auth <name>",
                        ));
                    };
                    unauthorized += 1;
                    if unauthorized > 2 {
                        return Err(Error::failed(
                            format!(
                                "{} still rejects crux's token after signing in",
                                redact_url(&self.url)
                            ),
                            "check the scopes and the account you signed in with",
                        ));
                    }
                    self.token = Some(if self.token.is_some() {
                        auth.rejected(challenge.as_ref())?
                    } else {
                        auth.obtain(challenge.as_ref())?
                    });
                }
                403 if challenge.as_ref().and_then(|c| c.error.as_deref())
                    == Some("insufficient_scope") =>
                {
                    let Some(auth) = self.auth.as_deref_mut() else {
                        return Err(Error::failed(
                            format!("{} needs more scopes", redact_url(&self.url)),
                            "register it with OAuth: crux mcp add <name> --url <url> --oauth",
                        ));
                    };
                    step_ups += 1;
                    if step_ups > STEP_UP_LIMIT {
                        return Err(Error::failed(
                            format!(
                                "{} still answers insufficient_scope after {STEP_UP_LIMIT} step-ups",
                                redact_url(&self.url)
                            ),
                            "check which scopes your account may be granted",
                        ));
                    }
                    self.token = Some(auth.step_up(challenge.as_ref().expect("matched"))?);
                }
                _ => return Ok(resp),
            }
        }
    }
}

impl HttpTransport<'_> {
    /// POSTs one message and hands every message of the answer (a JSON body, a batch, or the
    /// events of an SSE stream, as they arrive) to `each`, which returns `true` to stop. A
    /// 4xx whose body is a JSON-RPC error is handed over as that error.
    pub fn send_message(
        &mut self,
        message: &Value,
        mut each: impl FnMut(Value) -> bool,
    ) -> Result<()> {
        self.rejected = None;
        let resp = self.post(message)?;
        if self.era == Era::Legacy {
            if let Some(sid) = resp.header("mcp-session-id") {
                self.session_id = Some(sid.to_string());
            }
        }
        let status = resp.status;
        if !resp.ok() {
            if (400..500).contains(&status) && resp.content_type().starts_with("application/json") {
                if let Ok(body) = resp.json("the server's answer") {
                    if body.get("error").is_some() {
                        each(body);
                        return Ok(());
                    }
                }
            }
            if (400..500).contains(&status) {
                self.rejected = Some(status);
            }
            return Err(Error::failed(
                format!("{} answered HTTP {status}", redact_url(&self.url)),
                "check the URL (is it the server's MCP endpoint?)",
            ));
        }
        if status == 202 || message.get("id").is_none() {
            return Ok(());
        }
        if resp.content_type().starts_with("text/event-stream") {
            return read_sse(resp.into_reader(), each);
        }
        match resp.json("the server's response")? {
            Value::Array(items) => {
                for item in items {
                    if each(item) {
                        break;
                    }
                }
            }
            other => {
                each(other);
            }
        }
        Ok(())
    }
}

impl Transport for HttpTransport<'_> {
    fn exchange(&mut self, message: &Value, id: Option<u64>) -> Result<Option<Value>> {
        let mut found = None;
        self.send_message(message, |m| {
            // An in-band error of a 4xx may carry a null id.
            let is_error_for_us =
                m.get("error").is_some() && m.get("id").is_none_or(Value::is_null);
            if id.is_some()
                && m.get("method").is_none()
                && (m.get("id") == Some(&json!(id)) || is_error_for_us)
            {
                found = Some(m);
                return true;
            }
            false
        })?;
        Ok(found)
    }

    fn initialized(&mut self, protocol_version: &str) {
        if !protocol_version.is_empty() {
            self.protocol_version = Some(protocol_version.to_string());
        }
    }

    fn set_era(&mut self, era: Era) {
        self.era = era;
    }

    fn rejected_status(&self) -> Option<u16> {
        self.rejected
    }

    fn tools_listed(&mut self, result: &mut Value) {
        for line in self.tools.absorb(result) {
            eprintln!("crux: {line}");
        }
    }

    fn end_session(&mut self) {
        if self.era != Era::Legacy {
            return;
        }
        let Some(sid) = self.session_id.take() else {
            return;
        };
        let mut req = self
            .http
            .request("DELETE", self.wire_url())
            .set("Mcp-Session-Id", &sid);
        if let Some(t) = &self.token {
            req = req.set("Authorization", &format!("Bearer {}", t.expose()));
        }
        for (name, value) in self.header.iter().chain(self.extra_headers()) {
            req = req.set(name, value.expose());
        }
        let _ = self.http.send(req, None);
    }
}

/// Reads server-sent events, handing each message to `each` until it returns `true` or the
/// stream ends.
pub(crate) fn read_sse(reader: impl Read, mut each: impl FnMut(Value) -> bool) -> Result<()> {
    crate::sse::read(&mut BufReader::new(reader), |item| match item {
        crate::sse::Item::Event { data, .. } => serde_json::from_str::<Value>(&data)
            .map(&mut each)
            .unwrap_or(false),
        crate::sse::Item::Retry(_) => false,
    })
    .map_err(|e| Error::io("cannot read the server's event stream", e))
}

/// The answer to request `id` when a stdio server's line is one (not a request or
/// notification of the server's, nor text that is not JSON).
pub(crate) fn stdio_answer(line: &str, id: u64) -> Option<Value> {
    let msg = serde_json::from_str::<Value>(line.trim()).ok()?;
    (msg.get("id") == Some(&json!(id)) && msg.get("method").is_none()).then_some(msg)
}

/// stdio: a child process speaking newline-delimited JSON-RPC. Its lines are read on a
/// thread, so an answer can be waited for with a timeout (a legacy server may never answer
/// the era probe).
pub struct StdioTransport {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
    timeout: Option<std::time::Duration>,
    /// No answer is waited for past this instant (`crux doctor --live`'s bound per server).
    deadline: Option<std::time::Instant>,
    /// The end of the server's stderr, when it is captured instead of shown.
    stderr: Option<std::sync::Arc<std::sync::Mutex<Vec<u8>>>>,
}

/// How much of a server's stderr [`StdioTransport::spawn_captured`] keeps.
const STDERR_TAIL: usize = 4096;

impl StdioTransport {
    pub fn spawn(command: std::process::Command) -> Result<Self> {
        Self::start(command, false)
    }

    /// Like [`StdioTransport::spawn`], with the server's stderr kept (its last few KiB) for
    /// [`StdioTransport::stderr_tail`] instead of passed through.
    pub fn spawn_captured(command: std::process::Command) -> Result<Self> {
        Self::start(command, true)
    }

    /// Waits for no answer past `at`.
    pub fn with_deadline(mut self, at: std::time::Instant) -> Self {
        self.deadline = Some(at);
        self
    }

    /// The last line the server wrote to stderr (when captured).
    pub fn stderr_tail(&self) -> Option<String> {
        let bytes = self.stderr.as_ref()?.lock().ok()?.clone();
        let text = String::from_utf8_lossy(&bytes);
        text.lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .map(str::to_string)
    }

    fn start(mut command: std::process::Command, capture: bool) -> Result<Self> {
        if capture {
            command.stderr(std::process::Stdio::piped());
        }
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("cannot start the server", e))?;
        let stderr = child.stderr.take().map(|mut pipe| {
            let tail = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let keep = tail.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    let Ok(mut t) = keep.lock() else { break };
                    t.extend_from_slice(&buf[..n]);
                    let excess = t.len().saturating_sub(STDERR_TAIL);
                    t.drain(..excess);
                }
            });
            tail
        });
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(StdioTransport {
            child,
            stdin,
            lines,
            timeout: None,
            deadline: None,
            stderr,
        })
    }

    /// The error for a server that went away mid-conversation, with its exit code.
    fn exited(&mut self) -> Error {
        let status = self.child.wait().ok().and_then(|s| s.code());
        Error::failed(
            format!(
                "the server exited before answering{}",
                status.map(|c| format!(" (exit {c})")).unwrap_or_default()
            ),
            "see its error output above",
        )
    }
}

impl Transport for StdioTransport {
    fn exchange(&mut self, message: &Value, id: Option<u64>) -> Result<Option<Value>> {
        let line = format!("{message}\n");
        if self.stdin.write_all(line.as_bytes()).is_err() {
            return Err(self.exited());
        }
        let Some(id) = id else {
            return Ok(None);
        };
        let deadline = match (
            self.timeout.map(|t| std::time::Instant::now() + t),
            self.deadline,
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        loop {
            let next = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    match self.lines.recv_timeout(left) {
                        Ok(l) => l,
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                            return Err(Error::failed(
                                "the server timed out answering",
                                "check that the command is an MCP server",
                            ))
                        }
                        Err(_) => return Err(self.exited()),
                    }
                }
                None => match self.lines.recv() {
                    Ok(l) => l,
                    Err(_) => return Err(self.exited()),
                },
            };
            if let Some(msg) = stdio_answer(&next, id) {
                return Ok(Some(msg));
            }
        }
    }

    fn probe_timeout(&mut self, timeout: Option<std::time::Duration>) {
        self.timeout = timeout;
    }
}

impl Drop for StdioTransport {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_finds_the_response_among_other_events() {
        let stream = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\n data: \"id\":3,\"result\":{}}\n\n";
        // A data field split over two lines joins with a newline, which JSON allows.
        let stream = stream.replace("\n data:", "\ndata:");
        let mut got = Vec::new();
        read_sse(stream.as_bytes(), |m| {
            got.push(m);
            false
        })
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1]["id"], 3);
    }
}
