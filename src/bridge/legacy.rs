//! The bridge's legacy side (MCP 2025-11-25 and earlier): the session the host's `initialize`
//! opens at the server, replayed when the server forgets it (404); SSE answers resumed with
//! `Last-Event-ID` after the server's `retry` delay; the optional GET stream of
//! server-initiated messages; the session DELETEd on exit.

use super::{error_text, Bridge, Headers, McpSession, Outcome, RESUME_LIMIT};
use crate::error::{Error, Result};
use crate::oauth::discovery::Challenge;
use crate::oauth::http::{redact_url, Response};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long the DELETE that ends a session may take.
const DELETE_TIMEOUT: Duration = Duration::from_secs(2);

impl Bridge {
    pub(super) fn legacy_post(&self, message: &Value, request_id: Option<&Value>) -> Result<()> {
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
            if self.auth_retry(&resp, &sent, &mut recovered)? {
                continue;
            }
            match resp.status {
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
                return Err(self.closed_early());
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
        let (req, _) = self.request_full("POST", Headers::NewSession)?;
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
    pub(super) fn start_get_stream(bridge: &Arc<Bridge>) {
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
                        if b.recover(challenge.as_ref(), sent.credential.as_ref(), &sent.filled)
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

    /// Ends the session at the server (DELETE), as the spec asks of a client that leaves;
    /// bounded, as the host is waiting for the bridge to exit.
    pub(super) fn delete_session(&self) {
        if !self.has_session() {
            return;
        }
        if let Ok(req) = self.request("DELETE") {
            let _ = self.http.send(req.timeout(DELETE_TIMEOUT), None);
        }
    }
}
