//! The bridge's MCP 2026-07-28 side: finding the server's era, forwarding a modern host's
//! requests with the headers the transport page asks for, and translating for a legacy host
//! that reaches a modern-only server.
//!
//! - **Era detection.** The first request of the host decides when the era is still unknown:
//!   a modern host's own `server/discover`, or, for a legacy host's `initialize`, a
//!   `server/discover` the bridge builds from it. A result or a modern error code means
//!   modern; any other rejection (a 4xx without a modern JSON-RPC error, a non-modern error
//!   code) means legacy. 401 and 403 are handled as credentials, never as era evidence. The
//!   answer holds for the process.
//! - **Modern host, modern server.** Each request is its own POST with `MCP-Protocol-Version`
//!   (the `_meta` version), `Mcp-Method`, `Mcp-Name` and the `Mcp-Param-*` headers of the
//!   tool's cached schema; no session id, GET or DELETE. The request's SSE stream (a
//!   `subscriptions/listen` stream included) is relayed until its answer; the host's
//!   `notifications/cancelled` closes it. 4xx bodies that are JSON-RPC errors go to the host
//!   in-band; a 404 is an answer, not a lost session.
//! - **Modern host, legacy server.** The host's `server/discover` gets a method-not-found error
//!   at once (not a modern code, nothing on stderr), so the host falls back to `initialize`.
//! - **Legacy host, modern server.** The bridge answers `initialize` from `server/discover`,
//!   adds `_meta` and headers to every request, keeps a `subscriptions/listen` stream open for
//!   the list-changed notifications the server offers (and the resources the host subscribes
//!   to), takes `logging/setLevel` into each request's `_meta`, and turns an `input_required`
//!   result into the legacy requests the host declared (elicitation, sampling, roots), then
//!   retries with the answers.

use super::{Bridge, Headers};
use crate::error::{sanitize, Error, Result};
use crate::oauth::discovery::Challenge;
use crate::oauth::http::{redact_url, Response};
use crate::protocol::{self, ClientMeta, Era};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::io::BufReader;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// How many `input_required` rounds one request may take.
const INPUT_ROUNDS: usize = 8;
/// How long the host has to answer a request the bridge sent it on the server's behalf.
const HOST_ANSWER: Duration = Duration::from_secs(600);

/// A legacy host's session with a modern server, kept by the bridge.
#[derive(Default)]
pub(super) struct Translation {
    /// From the host's `initialize`: what goes in every request's `_meta`.
    pub meta: Option<ClientMeta>,
    /// The server's capabilities, from `server/discover`.
    pub capabilities: Value,
    /// Resources the host subscribed to.
    pub subscribed: HashSet<String>,
}

/// What one modern POST came back with.
pub(super) enum Exchange {
    /// The answer to the request (a result or an error, from a 2xx or a 4xx body).
    Answer(Value),
    /// A 4xx that is not a JSON-RPC error: a legacy server refusing a modern request.
    Rejected(u16),
    /// No answer: a 202, or a stream that ended (or was cancelled) first.
    None,
}

/// Closes the socket of a response stream that another thread is blocked reading: the
/// Streamable HTTP way of cancelling a request. The socket is found by its addresses.
pub(super) struct Closer {
    local: SocketAddr,
    remote: SocketAddr,
}

impl Closer {
    pub(super) fn close(&self) {
        // The bridge holds a handful of descriptors: a linear scan is cheap, and portable.
        for fd in 0..4096 {
            if sock_addr(fd, false) == Some(self.local) && sock_addr(fd, true) == Some(self.remote)
            {
                // SAFETY: shutting down a socket this process owns; the reading thread then
                // sees the end of its stream and drops the connection.
                unsafe {
                    libc::shutdown(fd, libc::SHUT_RDWR);
                }
                return;
            }
        }
    }
}

/// The local (`peer == false`) or remote address of a socket descriptor.
fn sock_addr(fd: libc::c_int, peer: bool) -> Option<SocketAddr> {
    // SAFETY: the storage is large enough for any address; the length says how much is set.
    unsafe {
        let mut storage: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let p = &mut storage as *mut _ as *mut libc::sockaddr;
        let rc = if peer {
            libc::getpeername(fd, p, &mut len)
        } else {
            libc::getsockname(fd, p, &mut len)
        };
        if rc != 0 {
            return None;
        }
        match storage.ss_family as libc::c_int {
            libc::AF_INET => {
                let a = &*(p as *const libc::sockaddr_in);
                let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
            }
            libc::AF_INET6 => {
                let a = &*(p as *const libc::sockaddr_in6);
                let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
                Some(SocketAddr::from((ip, u16::from_be(a.sin6_port))))
            }
            _ => None,
        }
    }
}

/// A request's thread while it waits for the response headers, by the host's request id.
struct Waiting<'a> {
    bridge: &'a Bridge,
    key: String,
}

impl<'a> Waiting<'a> {
    fn register(bridge: &'a Bridge, key: &str) -> Waiting<'a> {
        bridge
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), current_thread());
        Waiting {
            bridge,
            key: key.to_string(),
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.bridge
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

#[cfg(target_os = "linux")]
fn current_thread() -> i64 {
    // SAFETY: gettid has no preconditions.
    i64::from(unsafe { libc::gettid() })
}

#[cfg(not(target_os = "linux"))]
fn current_thread() -> i64 {
    0
}

/// Shuts down the socket a thread of this process is blocked reading (a request waiting for
/// its response headers): Linux names the descriptor of a blocked system call in
/// `/proc/self/task/<tid>/syscall`. The descriptor must be a socket connected to the server's
/// port. Elsewhere the request ends when its answer comes (and is not passed on).
#[cfg(target_os = "linux")]
fn close_blocked_read(tid: i64, port: u16) {
    for _ in 0..50 {
        let text =
            std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).unwrap_or_default();
        let mut fields = text.split_whitespace();
        let _nr = fields.next();
        let fd = fields
            .next()
            .and_then(|a| i64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
            .and_then(|fd| libc::c_int::try_from(fd).ok());
        if let Some(fd) = fd {
            if sock_addr(fd, true).is_some_and(|a| a.port() == port) {
                // SAFETY: shutting down a socket this process owns.
                unsafe {
                    libc::shutdown(fd, libc::SHUT_RDWR);
                }
                return;
            }
        }
        // Not (yet) blocked in the read: try again shortly.
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(not(target_os = "linux"))]
fn close_blocked_read(_tid: i64, _port: u16) {}

fn key(id: &Value) -> String {
    id.to_string()
}

/// The JSON-RPC error a method-not-found answer to a modern host carries when the server is
/// legacy: any non-modern error makes a dual-era host fall back to `initialize`.
fn legacy_server_answer(id: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {
        "code": protocol::METHOD_NOT_FOUND,
        "message": "Method not found: the server speaks MCP 2025-11-25 (use initialize)",
    }})
}

impl Bridge {
    /// The era detected so far.
    pub(super) fn server_era(&self) -> Option<Era> {
        *self.era.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_era(&self, era: Era) {
        *self.era.lock().unwrap_or_else(|p| p.into_inner()) = Some(era);
    }

    /// One modern POST: the request headers of the message, the credential (renewed once on a
    /// 401), and its answer read from a JSON body or an SSE stream. Notifications and
    /// requests on the stream go to the host when `relay` is set. While a stream is open, the
    /// host's `notifications/cancelled` for `cancel_key` closes it.
    pub(super) fn modern_exchange(
        &self,
        message: &Value,
        relay: bool,
        cancel_key: Option<&str>,
    ) -> Result<Exchange> {
        let body = message.to_string();
        let mut headers = protocol::standard_headers(message);
        headers.extend(
            self.tools
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .for_call(message),
        );
        let mut recovered = false;
        let resp = loop {
            let (req, sent) = self.request_full("POST", Headers::Modern(&headers))?;
            let req = req
                .set("Accept", "application/json, text/event-stream")
                .set("Content-Type", "application/json");
            let _waiting = cancel_key.map(|k| Waiting::register(self, k));
            let resp = self.http.send(req, Some(body.as_bytes()))?;
            if !self.auth_retry(&resp, &sent, &mut recovered)? {
                break resp;
            }
        };
        let id = message.get("id").cloned();
        if !resp.ok() {
            let status = resp.status;
            if (400..500).contains(&status) && resp.content_type().starts_with("application/json") {
                if let Ok(mut body) = resp.json("the server's answer") {
                    if body.get("error").is_some() {
                        // An error without an id (an intermediary's) still answers this request.
                        if body.get("id").is_none_or(Value::is_null) {
                            if let Some(id) = &id {
                                body["id"] = id.clone();
                            }
                        }
                        return Ok(Exchange::Answer(body));
                    }
                }
                return Ok(Exchange::Rejected(status));
            }
            if (400..500).contains(&status) {
                let _ = resp.bytes();
                return Ok(Exchange::Rejected(status));
            }
            let detail = super::error_text(resp);
            return Err(Error::failed(
                format!("{} answered HTTP {status}{detail}", redact_url(&self.url)),
                format!("check the server (crux mcp probe {})", self.mcp),
            ));
        }
        let Some(id) = id else {
            return Ok(Exchange::None);
        };
        if resp.status == 202 || resp.status == 204 {
            return Ok(Exchange::None);
        }
        if !resp.content_type().starts_with("text/event-stream") {
            let answer = resp.json("the server's answer")?;
            return Ok(match answer {
                Value::Array(items) => items
                    .into_iter()
                    .find(|m| m.get("id") == Some(&id) && m.get("method").is_none())
                    .map_or(Exchange::None, Exchange::Answer),
                m => Exchange::Answer(m),
            });
        }
        let registered = cancel_key.map(|k| {
            let (local, remote) = resp.addrs();
            self.inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(k.to_string(), Closer { local, remote });
            k.to_string()
        });
        let mut answer = None;
        let mut reader = BufReader::new(resp.into_reader());
        let _ = crate::sse::read(&mut reader, |item| {
            let crate::sse::Item::Event { data, .. } = item else {
                return false;
            };
            let Ok(m) = serde_json::from_str::<Value>(&data) else {
                return false;
            };
            if m.get("method").is_none() && m.get("id") == Some(&id) {
                answer = Some(m);
                return true;
            }
            if relay {
                self.write(&m);
            }
            false
        });
        if let Some(k) = &registered {
            self.inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(k);
        }
        if answer.is_some() {
            // The rest of the stream (normally nothing): read in the background so the
            // connection can go back to the pool.
            std::thread::spawn(move || {
                let _ = crate::sse::read(&mut reader, |_| false);
            });
        }
        Ok(answer.map_or(Exchange::None, Exchange::Answer))
    }

    pub(super) fn forbidden(&self, resp: &Response) -> Error {
        let challenge = Challenge::from_headers(&resp.all_headers("www-authenticate"));
        let scope = challenge
            .and_then(|c| c.scope)
            .map(|s| format!(" (it asks for: {})", sanitize(&s)))
            .unwrap_or_default();
        Error::failed(
            format!(
                "{} refused the request: forbidden{scope}",
                redact_url(&self.url)
            ),
            format!("sign in with the needed scopes: crux mcp auth {}", self.mcp),
        )
    }

    /// Sends a modern request and classifies the answer as era evidence.
    fn detect_with(&self, message: &Value, cancel_key: Option<&str>) -> Result<(Era, Exchange)> {
        let exchange = self.modern_exchange(message, true, cancel_key)?;
        let era = match &exchange {
            Exchange::Answer(m) => match protocol::error_code(m) {
                // A discover result lists the versions; a legacy server that answers any
                // method with an empty result does not.
                None if message.get("method").and_then(Value::as_str)
                    == Some("server/discover") =>
                {
                    match m.get("result").and_then(protocol::discover_versions) {
                        Some(_) => Era::Modern,
                        None => Era::Legacy,
                    }
                }
                None => Era::Modern,
                Some(code) if protocol::is_modern_code(code) => Era::Modern,
                Some(_) => Era::Legacy,
            },
            Exchange::Rejected(_) | Exchange::None => Era::Legacy,
        };
        Ok((era, exchange))
    }

    /// A modern host's request while the server's era is unknown or modern.
    pub(super) fn modern_forward(&self, message: Value) {
        let id = message.get("id").cloned();
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let Some(id) = id else {
            // Client notifications have no modern meaning over HTTP (cancellation is
            // handled before this): nothing to send.
            return;
        };
        let k = key(&id);
        let result = (|| -> Result<Option<Value>> {
            if self.server_era().is_none() {
                let _one = self.detecting.lock().unwrap_or_else(|p| p.into_inner());
                if self.server_era().is_none() {
                    let (era, exchange) = self.detect_with(&message, Some(&k))?;
                    self.set_era(era);
                    return Ok(match (era, exchange) {
                        (Era::Legacy, _) => Some(legacy_server_answer(&id)),
                        (Era::Modern, Exchange::Answer(m)) => Some(m),
                        (Era::Modern, _) => None,
                    });
                }
            }
            if self.server_era() == Some(Era::Legacy) {
                return Ok(Some(legacy_server_answer(&id)));
            }
            let mut refreshed = false;
            loop {
                match self.modern_exchange(&message, true, Some(&k))? {
                    Exchange::Answer(m)
                        if method == "tools/call"
                            && !refreshed
                            && protocol::error_code(&m) == Some(protocol::HEADER_MISMATCH) =>
                    {
                        // The tool's schema changed: list the tools again, then retry once.
                        refreshed = true;
                        self.refresh_tools(&message)?;
                    }
                    Exchange::Answer(m) => return Ok(Some(m)),
                    Exchange::Rejected(status) => {
                        return Err(Error::failed(
                            format!("{} answered HTTP {status}", redact_url(&self.url)),
                            format!("check the server (crux mcp probe {})", self.mcp),
                        ))
                    }
                    Exchange::None => return Ok(None),
                }
            }
        })();
        let cancelled = self.was_cancelled(&k);
        match result {
            Ok(Some(mut m)) if !cancelled => {
                if method == "tools/list" {
                    self.absorb_tools(&mut m);
                }
                self.write(&m);
            }
            Ok(Some(_)) | Ok(None) if cancelled => {}
            Ok(None) => self.answer_error(&id, true, &self.closed_early()),
            Ok(Some(_)) => {}
            Err(_) if cancelled => {}
            Err(e) => self.answer_error(&id, true, &e),
        }
    }

    /// Removes the tools whose `x-mcp-header` annotations are invalid from a `tools/list`
    /// answer, and caches the others' annotations.
    fn absorb_tools(&self, message: &mut Value) {
        let Some(result) = message.get_mut("result") else {
            return;
        };
        let removed = self
            .tools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .absorb(result);
        for line in removed {
            self.note(&line);
        }
    }

    /// Lists every page of tools (with the `_meta` of `like`) to renew the cached schemas.
    fn refresh_tools(&self, like: &Value) -> Result<()> {
        let meta = like.pointer("/params/_meta").cloned().unwrap_or(json!({}));
        let mut cursor: Option<String> = None;
        for n in 0..100 {
            let mut params = json!({"_meta": meta});
            if let Some(c) = &cursor {
                params["cursor"] = json!(c);
            }
            let request = json!({"jsonrpc": "2.0", "id": format!("crux-bridge-tools-{n}"),
                "method": "tools/list", "params": params});
            let Exchange::Answer(mut m) = self.modern_exchange(&request, false, None)? else {
                return Ok(());
            };
            self.absorb_tools(&mut m);
            cursor = m
                .pointer("/result/nextCursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            if cursor.is_none() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The host's `notifications/cancelled`: closes that request's stream. Returns whether it
    /// named a request in flight here.
    pub(super) fn cancel(&self, message: &Value) -> bool {
        let Some(id) = message.pointer("/params/requestId") else {
            return false;
        };
        if self.server_era() != Some(Era::Modern) {
            return false;
        }
        let k = key(id);
        self.cancelled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(k.clone());
        let closer = self
            .inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&k);
        if let Some(c) = closer {
            c.close();
            return true;
        }
        // Still waiting for the answer's headers (a server that answers in JSON): end the
        // connection the request's thread is blocked reading.
        let thread = self
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&k)
            .copied();
        match thread {
            Some(tid) => {
                close_blocked_read(tid, self.port);
                true
            }
            None => false,
        }
    }

    fn was_cancelled(&self, k: &str) -> bool {
        self.cancelled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(k)
    }

    /// A legacy host's `initialize`, answered from the server's `server/discover` when the
    /// server is modern. Returns `false` when the server is legacy (the caller forwards the
    /// `initialize`).
    pub(super) fn translate_initialize(&self, message: &Value) -> Result<bool> {
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        let params = message.get("params").cloned().unwrap_or(json!({}));
        let mut meta = ClientMeta::crux();
        if let Some(caps) = params.get("capabilities").filter(|c| c.is_object()) {
            meta.capabilities = caps.clone();
        }
        if let Some(info) = params.get("clientInfo").filter(|c| c.is_object()) {
            meta.info = info.clone();
        }
        let mut result = None;
        for _attempt in 0..2 {
            let mut discover = json!({"jsonrpc": "2.0", "id": "crux-bridge-discover",
                "method": "server/discover", "params": {}});
            meta.apply(&mut discover);
            let (era, exchange) = {
                let _one = self.detecting.lock().unwrap_or_else(|p| p.into_inner());
                match self.server_era() {
                    Some(Era::Legacy) => return Ok(false),
                    _ => self.detect_with(&discover, None)?,
                }
            };
            self.set_era(era);
            if era == Era::Legacy {
                return Ok(false);
            }
            let Exchange::Answer(m) = exchange else {
                break;
            };
            if protocol::error_code(&m) == Some(protocol::UNSUPPORTED_VERSION) {
                match protocol::supported_from_error(&m).first() {
                    Some(v) => {
                        meta.version = v.to_string();
                        continue;
                    }
                    None => {
                        return Err(Error::failed(
                            "the server speaks none of the protocol versions crux knows",
                            "update crux",
                        ))
                    }
                }
            }
            if let Some(err) = m.get("error") {
                return Err(Error::failed(
                    format!(
                        "the server refused server/discover: {}",
                        sanitize(err.get("message").and_then(Value::as_str).unwrap_or(""))
                    ),
                    format!("check the server (crux mcp probe {})", self.mcp),
                ));
            }
            result = m.get("result").cloned();
            break;
        }
        let Some(discovered) = result else {
            return Err(Error::failed(
                "the server did not answer server/discover",
                format!("check the server (crux mcp probe {})", self.mcp),
            ));
        };
        if let Some(v) = protocol::discover_versions(&discovered)
            .as_deref()
            .and_then(protocol::pick_modern)
        {
            meta.version = v.to_string();
        }
        let asked = params
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let version = if protocol::LEGACY_VERSIONS.contains(&asked) {
            asked
        } else {
            protocol::LEGACY_VERSION
        };
        let capabilities = discovered.get("capabilities").cloned().unwrap_or(json!({}));
        let mut answer = json!({
            "protocolVersion": version,
            "capabilities": capabilities,
            "serverInfo": protocol::discover_server_info(&discovered),
        });
        if let Some(i) = discovered.get("instructions") {
            answer["instructions"] = i.clone();
        }
        {
            let mut t = self.translation.lock().unwrap_or_else(|p| p.into_inner());
            t.meta = Some(meta);
            t.capabilities = capabilities;
        }
        self.write(&json!({"jsonrpc": "2.0", "id": id, "result": answer}));
        Ok(true)
    }

    /// A legacy host's request to a modern server.
    pub(super) fn translate_request(&self, message: Value) {
        let Some(id) = message.get("id").cloned() else {
            return;
        };
        let k = key(&id);
        let result = self.translated(message);
        let cancelled = self.was_cancelled(&k);
        match result {
            _ if cancelled => {}
            Ok(m) => self.write(&m),
            Err(e) => self.answer_error(&id, false, &e),
        }
    }

    fn translated(&self, mut message: Value) -> Result<Value> {
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let ok = |result: Value| json!({"jsonrpc": "2.0", "id": id, "result": result});
        match method.as_str() {
            "ping" => return Ok(ok(json!({}))),
            "logging/setLevel" => {
                let level = message
                    .pointer("/params/level")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let mut t = self.translation.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(meta) = t.meta.as_mut() {
                    meta.log_level = level;
                }
                return Ok(ok(json!({})));
            }
            "resources/subscribe" | "resources/unsubscribe" => {
                let uri = message
                    .pointer("/params/uri")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                {
                    let mut t = self.translation.lock().unwrap_or_else(|p| p.into_inner());
                    if method == "resources/subscribe" {
                        t.subscribed.insert(uri);
                    } else {
                        t.subscribed.remove(&uri);
                    }
                }
                self.restart_listen();
                return Ok(ok(json!({})));
            }
            _ => {}
        }
        let meta = self
            .translation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .meta
            .clone()
            .unwrap_or_else(ClientMeta::crux);
        // The host's own `_meta` (a progress token) stays; crux's per-request fields join it.
        meta.apply(&mut message);
        let k = key(&id);
        let mut refreshed = false;
        let mut rounds = 0;
        loop {
            let answer = match self.modern_exchange(&message, true, Some(&k))? {
                Exchange::Answer(m) => m,
                Exchange::Rejected(status) => {
                    return Err(Error::failed(
                        format!("{} answered HTTP {status}", redact_url(&self.url)),
                        format!("check the server (crux mcp probe {})", self.mcp),
                    ))
                }
                Exchange::None => return Err(self.closed_early()),
            };
            match protocol::error_code(&answer) {
                Some(protocol::HEADER_MISMATCH) if method == "tools/call" && !refreshed => {
                    refreshed = true;
                    self.refresh_tools(&message)?;
                    continue;
                }
                Some(protocol::UNSUPPORTED_VERSION) if !refreshed => {
                    refreshed = true;
                    if let Some(v) = protocol::supported_from_error(&answer).first() {
                        let mut t = self.translation.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(m) = t.meta.as_mut() {
                            m.version = v.to_string();
                        }
                        let mut again = meta.clone();
                        again.version = v.to_string();
                        again.apply(&mut message);
                        continue;
                    }
                    let mut answer = answer;
                    answer["id"] = id.clone();
                    return Ok(answer);
                }
                Some(_) => {
                    let mut answer = answer;
                    answer["id"] = id.clone();
                    return Ok(answer);
                }
                None => {}
            }
            let mut answer = answer;
            answer["id"] = id.clone();
            if method == "tools/list" {
                self.absorb_tools(&mut answer);
            }
            let result = answer.get("result").cloned().unwrap_or(Value::Null);
            if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
                return Ok(answer);
            }
            rounds += 1;
            if rounds > INPUT_ROUNDS {
                return Err(Error::failed(
                    format!("the server still asks for input after {INPUT_ROUNDS} rounds"),
                    "check the server's logs",
                ));
            }
            let responses = self.ask_host(&result, &meta)?;
            // A retry is a new request: its own id.
            let n = self.next_id.fetch_add(1, Ordering::SeqCst);
            message["id"] = json!(format!("crux-bridge-retry-{n}"));
            let params = message
                .get_mut("params")
                .and_then(Value::as_object_mut)
                .expect("params set by apply");
            params.insert("inputResponses".into(), Value::Object(responses));
            match result.get("requestState") {
                Some(state) => {
                    params.insert("requestState".into(), state.clone());
                }
                None => {
                    params.remove("requestState");
                }
            }
        }
    }

    /// Sends each of an `input_required` result's requests to the host (as the legacy
    /// server-to-client requests it declared it serves) and collects the answers.
    fn ask_host(&self, result: &Value, meta: &ClientMeta) -> Result<Map<String, Value>> {
        let mut responses = Map::new();
        let Some(requests) = result.get("inputRequests").and_then(Value::as_object) else {
            return Ok(responses);
        };
        for (name, request) in requests {
            let method = request.get("method").and_then(Value::as_str).unwrap_or("");
            let capability = match method {
                "elicitation/create" => "elicitation",
                "sampling/createMessage" => "sampling",
                "roots/list" => "roots",
                other => {
                    return Err(Error::failed(
                        format!(
                            "the server asks the host for '{}', which crux cannot pass on",
                            sanitize(other)
                        ),
                        "check the server's logs",
                    ))
                }
            };
            if meta.capabilities.get(capability).is_none() {
                return Err(Error::failed(
                    format!(
                        "the server needs {method} from the host, and this host did not declare the '{capability}' capability"
                    ),
                    "use a host that supports it, or call the tool another way",
                ));
            }
            let n = self.next_id.fetch_add(1, Ordering::SeqCst);
            let host_id = format!("crux-bridge-{n}");
            let (tx, rx) = mpsc::channel();
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(host_id.clone(), tx);
            let mut ask = json!({"jsonrpc": "2.0", "id": host_id, "method": method});
            if let Some(p) = request.get("params") {
                ask["params"] = p.clone();
            }
            self.write(&ask);
            let reply = rx.recv_timeout(HOST_ANSWER);
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&host_id);
            let reply = reply.map_err(|_| {
                Error::failed(
                    format!("the host did not answer {method}"),
                    "answer the host's prompt, then try again",
                )
            })?;
            if let Some(err) = reply.get("error") {
                return Err(Error::failed(
                    format!(
                        "the host refused {method}: {}",
                        sanitize(err.get("message").and_then(Value::as_str).unwrap_or(""))
                    ),
                    "try again",
                ));
            }
            responses.insert(
                name.clone(),
                reply.get("result").cloned().unwrap_or(json!({})),
            );
        }
        Ok(responses)
    }

    /// An answer from the host to a request the bridge sent it; `false` when it is not one.
    pub(super) fn host_answered(&self, message: &Value) -> bool {
        let Some(id) = message.get("id").and_then(Value::as_str) else {
            return false;
        };
        let tx = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        match tx {
            Some(tx) => {
                let _ = tx.send(message.clone());
                true
            }
            None => false,
        }
    }

    /// After a legacy host's `notifications/initialized`: a `subscriptions/listen` stream for
    /// the list changes the server offers, reopened when it drops and when the host's resource
    /// subscriptions change. Its notifications go to the host.
    pub(super) fn start_listen(bridge: &Arc<Bridge>) {
        if bridge.listening.swap(true, Ordering::SeqCst) {
            return;
        }
        let b = Arc::clone(bridge);
        std::thread::spawn(move || {
            let mut failures = 0u32;
            loop {
                let (meta, caps, subscribed) = {
                    let t = b.translation.lock().unwrap_or_else(|p| p.into_inner());
                    (
                        t.meta.clone().unwrap_or_else(ClientMeta::crux),
                        t.capabilities.clone(),
                        t.subscribed.iter().cloned().collect::<Vec<_>>(),
                    )
                };
                let mut filter = Map::new();
                for (cap, field) in [
                    ("tools", "toolsListChanged"),
                    ("prompts", "promptsListChanged"),
                    ("resources", "resourcesListChanged"),
                ] {
                    if caps.get(cap).is_some() {
                        filter.insert(field.into(), json!(true));
                    }
                }
                if !subscribed.is_empty() {
                    filter.insert("resourceSubscriptions".into(), json!(subscribed));
                }
                if filter.is_empty() {
                    return;
                }
                let n = b.next_id.fetch_add(1, Ordering::SeqCst);
                let mut listen = json!({"jsonrpc": "2.0", "id": format!("crux-bridge-listen-{n}"),
                    "method": "subscriptions/listen", "params": {"notifications": filter}});
                meta.apply(&mut listen);
                let generation = b.listen_generation.load(Ordering::SeqCst);
                let started = std::time::Instant::now();
                let outcome = b.listen_once(&listen);
                if b.listen_generation.load(Ordering::SeqCst) != generation {
                    failures = 0;
                    continue;
                }
                match outcome {
                    // A server without subscriptions: nothing more to do.
                    Ok(false) => return,
                    Ok(true) if started.elapsed() > Duration::from_secs(30) => failures = 0,
                    _ => failures += 1,
                }
                let base = b.retry_ms.load(Ordering::Relaxed);
                let backoff = base.saturating_mul(1 << failures.min(5)).min(30_000);
                std::thread::sleep(Duration::from_millis(backoff));
            }
        });
    }

    /// One listen stream, relayed until it ends. `Ok(false)`: the server refused it for good.
    fn listen_once(&self, listen: &Value) -> Result<bool> {
        let headers = protocol::standard_headers(listen);
        let (req, sent) = self.request_full("POST", Headers::Modern(&headers))?;
        let req = req
            .set("Accept", "application/json, text/event-stream")
            .set("Content-Type", "application/json");
        let resp = self.http.send(req, Some(listen.to_string().as_bytes()))?;
        if resp.status == 401 {
            let challenge = Challenge::from_headers(&resp.all_headers("www-authenticate"));
            self.recover(challenge.as_ref(), None, &sent.filled)?;
            return Ok(true);
        }
        if !resp.ok() || !resp.content_type().starts_with("text/event-stream") {
            // A JSON answer (an error: method not found) or a refusal.
            return Ok(resp.status >= 500);
        }
        {
            let (local, remote) = resp.addrs();
            *self.listen_closer.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Closer { local, remote });
        }
        let id = listen.get("id").cloned();
        let mut reader = BufReader::new(resp.into_reader());
        let _ = crate::sse::read(&mut reader, |item| {
            let crate::sse::Item::Event { data, .. } = item else {
                return false;
            };
            let Ok(mut m) = serde_json::from_str::<Value>(&data) else {
                return false;
            };
            if m.get("method").is_none() && m.get("id") == id.as_ref() {
                // The server ended the subscription.
                return true;
            }
            let method = m.get("method").and_then(Value::as_str).unwrap_or("");
            if method == "notifications/subscriptions/acknowledged" {
                return false;
            }
            // The subscription id means nothing to a legacy host.
            if let Some(meta) = m
                .pointer_mut("/params/_meta")
                .and_then(Value::as_object_mut)
            {
                meta.remove(protocol::META_SUBSCRIPTION);
                if meta.is_empty() {
                    if let Some(p) = m.get_mut("params").and_then(Value::as_object_mut) {
                        p.remove("_meta");
                    }
                }
            }
            self.write(&m);
            false
        });
        *self.listen_closer.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(true)
    }

    fn restart_listen(&self) {
        self.listen_generation.fetch_add(1, Ordering::SeqCst);
        if let Some(c) = self
            .listen_closer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            c.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closer_finds_its_socket_and_ends_the_read() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let closer = Closer {
            local: client.local_addr().unwrap(),
            remote: addr,
        };
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8];
            std::io::Read::read(&mut &client, &mut buf).unwrap_or(0)
        });
        std::thread::sleep(Duration::from_millis(50));
        closer.close();
        assert_eq!(reader.join().unwrap(), 0, "the blocked read ended");
    }

    #[test]
    fn the_answer_to_a_modern_host_about_a_legacy_server_is_not_a_modern_error() {
        let m = legacy_server_answer(&json!(7));
        assert_eq!(m["id"], 7);
        assert!(!protocol::is_modern_code(protocol::error_code(&m).unwrap()));
    }
}
