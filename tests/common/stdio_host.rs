//! A legacy-era (2025-11-25) MCP host of our own: raw newline-delimited JSON-RPC on the stdio of
//! `crux bridge`, with a reader thread so a test can wait for a message with a deadline
//! (a notification, or the absence of an answer). Used by `tests/eras.rs` and `tests/oidc.rs`
//! as `#[path = "common/stdio_host.rs"] mod stdio_host;` next to `mod common;`.
#![allow(dead_code)]

use crate::common::Env;
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub const LEGACY_VERSION: &str = "2025-11-25";

pub struct StdioHost {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    /// Messages read while waiting for something else (notifications, server requests).
    pub seen: Vec<Value>,
    next: u64,
}

impl StdioHost {
    /// `crux bridge` for the registered server `name` at `url`, as the launcher would run it.
    pub fn bridge(env: &Env, name: &str, url: &str) -> StdioHost {
        StdioHost::bridge_with(env, name, url, &[])
    }

    /// The bridge with more variables in its environment (what an entry's `env` adds).
    pub fn bridge_with(env: &Env, name: &str, url: &str, extra: &[(&str, &str)]) -> StdioHost {
        let mut cmd = env.cmd(&["bridge"]);
        cmd.envs(extra.iter().copied());
        cmd.env("CRUX_MCP_NAME", name)
            .env("CRUX_BRIDGE_URL", url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(e) => panic!("the bridge wrote a line that is not JSON ({e}): {line:?}"),
                }
            }
        });
        StdioHost {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            next: 1,
        }
    }

    pub fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a request; its id.
    pub fn start_request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next;
        self.next += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// The next message matching `pred` within `timeout` (others are kept in `seen`), or None.
    pub fn wait(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(i) = self.seen.iter().position(&mut pred) {
            return Some(self.seen.remove(i));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(msg) if pred(&msg) => return Some(msg),
                Ok(msg) => self.seen.push(msg),
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// The answer to request `id` (30 s at most).
    pub fn answer(&mut self, id: u64) -> Value {
        let want = json!(id);
        self.wait(Duration::from_secs(30), |m| {
            m["id"] == want && m.get("method").is_none()
        })
        .unwrap_or_else(|| panic!("no answer to request {id}; seen: {:?}", self.seen))
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.start_request(method, params);
        self.answer(id)
    }

    /// initialize (2025-11-25, with the elicitation capability) + notifications/initialized.
    pub fn initialize(&mut self) -> Value {
        let init = self.request(
            "initialize",
            json!({"protocolVersion": LEGACY_VERSION, "capabilities": {"elicitation": {}},
                   "clientInfo": {"name": "crux-legacy-host", "version": "1"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        init
    }

    pub fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Closes stdin and waits for the bridge to exit.
    pub fn finish(mut self) -> std::process::ExitStatus {
        drop(self.stdin.take());
        self.child.wait().unwrap()
    }
}

impl Drop for StdioHost {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of a tools/call answer's first content block ("" when there is none).
pub fn text(answer: &Value) -> String {
    answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
