//! A small MCP client: enough to initialize a server and list its tools, over Streamable HTTP
//! (with OAuth when the server asks for it) or over stdio. `crux mcp probe` uses it.

use crate::error::{sanitize, Error, Result};
use crate::oauth::discovery::Challenge;
use crate::oauth::http::{redact_url, Http, Response};
use crate::oauth::Session;
use crate::secret::Secret;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};

/// The protocol version crux offers; the server answers with the one it speaks.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// How many times one request may be retried after a step-up (403 insufficient_scope).
const STEP_UP_LIMIT: usize = 2;

pub trait Transport {
    /// Sends one message; for a request (`id` given) returns its response.
    fn exchange(&mut self, message: &Value, id: Option<u64>) -> Result<Option<Value>>;
    /// Called once `initialize` has answered.
    fn initialized(&mut self, _protocol_version: &str) {}
}

pub struct Client<T: Transport> {
    transport: T,
    next_id: u64,
}

/// What `initialize` and `tools/list` told.
#[derive(Debug, Clone)]
pub struct Probe {
    pub server_name: String,
    pub server_version: String,
    pub protocol_version: String,
    pub tools: usize,
}

impl<T: Transport> Client<T> {
    pub fn new(transport: T) -> Self {
        Client {
            transport,
            next_id: 1,
        }
    }

    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    pub fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = self
            .transport
            .exchange(&message, Some(id))?
            .ok_or_else(|| {
                Error::failed(
                    format!("the server sent no response to {method}"),
                    "check that the URL or command is an MCP server",
                )
            })?;
        if let Some(err) = response.get("error") {
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
        Ok(response.get("result").cloned().unwrap_or(Value::Null))
    }

    pub fn notify(&mut self, method: &str) -> Result<()> {
        let message = json!({"jsonrpc": "2.0", "method": method});
        self.transport.exchange(&message, None).map(|_| ())
    }

    /// initialize, notifications/initialized, then tools/list (every page).
    pub fn probe(&mut self) -> Result<Probe> {
        let init = self.request(
            "initialize",
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "crux", "version": env!("CARGO_PKG_VERSION")},
            }),
        )?;
        let protocol_version = init
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.transport.initialized(&protocol_version);
        self.notify("notifications/initialized")?;
        let info = init.get("serverInfo").cloned().unwrap_or(Value::Null);
        let mut tools = 0;
        if init.pointer("/capabilities/tools").is_some() {
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
        }
        Ok(Probe {
            server_name: info
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            server_version: info
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            protocol_version,
            tools,
        })
    }
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
    /// Set when the server demanded authorization but no session was given.
    pub needs_auth: bool,
}

impl<'a> HttpTransport<'a> {
    pub fn with_header(mut self, name: String, value: Secret) -> Self {
        self.header = Some((name, value));
        self
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
            needs_auth: false,
        }
    }

    /// POSTs a message, answering 401 with a refresh or sign-in and 403
    /// `insufficient_scope` with a step-up, each a bounded number of times.
    fn post(&mut self, message: &Value) -> Result<Response> {
        // Before each use: the stored token, refreshed if it expires within a minute.
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
                .request("POST", &self.url)
                .set("Accept", "application/json, text/event-stream")
                .set("Content-Type", "application/json");
            if let Some(sid) = &self.session_id {
                req = req.set("Mcp-Session-Id", sid);
            }
            if let Some(v) = &self.protocol_version {
                req = req.set("MCP-Protocol-Version", v);
            }
            if let Some(t) = &self.token {
                crate::redact::remember(t);
                req = req.set("Authorization", &format!("Bearer {}", t.expose()));
            }
            if let Some((name, value)) = &self.header {
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
    /// events of an SSE stream, as they arrive) to `each`, which returns `true` to stop.
    pub fn send_message(
        &mut self,
        message: &Value,
        mut each: impl FnMut(Value) -> bool,
    ) -> Result<()> {
        let resp = self.post(message)?;
        if let Some(sid) = resp.header("mcp-session-id") {
            self.session_id = Some(sid.to_string());
        }
        let status = resp.status;
        if !resp.ok() {
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
            if id.is_some() && m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
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
}

/// Reads server-sent events, handing each message to `each` until it returns `true` or the
/// stream ends.
fn read_sse(reader: impl Read, mut each: impl FnMut(Value) -> bool) -> Result<()> {
    crate::sse::read(&mut BufReader::new(reader), |item| match item {
        crate::sse::Item::Event { data, .. } => serde_json::from_str::<Value>(&data)
            .map(&mut each)
            .unwrap_or(false),
        crate::sse::Item::Retry(_) => false,
    })
    .map_err(|e| Error::io("cannot read the server's event stream", e))
}

/// stdio: a child process speaking newline-delimited JSON-RPC.
pub struct StdioTransport {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl StdioTransport {
    pub fn spawn(mut command: std::process::Command) -> Result<Self> {
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("cannot start the server", e))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(StdioTransport {
            child,
            stdin,
            stdout,
        })
    }
}

impl StdioTransport {
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
        let mut buf = String::new();
        loop {
            buf.clear();
            let n = self
                .stdout
                .read_line(&mut buf)
                .map_err(|e| Error::io("cannot read from the server", e))?;
            if n == 0 {
                return Err(self.exited());
            }
            let Ok(msg) = serde_json::from_str::<Value>(buf.trim()) else {
                continue;
            };
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return Ok(Some(msg));
            }
        }
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
