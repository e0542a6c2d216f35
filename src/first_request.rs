//! What a launcher that cannot start its server (`crux launch`, `crux bridge`) tells the MCP
//! host. Hosts hide a server's stderr and show only "connection closed", so before exiting
//! the launcher waits, briefly, for the host's first JSON-RPC request on stdin (`initialize`,
//! or `server/discover` in the 2026-07-28 era) and answers it with a JSON-RPC error whose
//! message is the same one line stderr gets: the problem and the fix. A host that probes with
//! `server/discover` and falls back to `initialize` on the same stdio (Claude Code 2.1.328
//! does, and shows the `initialize` error) gets both answered.
//!
//! The wait is bounded in time ([`WAIT`]) and in bytes ([`READ_LIMIT`]), ends at EOF, and is
//! skipped when stdin is a terminal (someone running the launcher by hand). Nothing but that
//! one answer is ever written; input that is not a request is read past, never echoed. The
//! message carries no value: errors hold names and reasons only, and [`Error::line`] masks
//! any credential this process handled; control and invisible characters are escaped.

use crate::error::{escape_all, Error};
use serde_json::{json, Value};
use std::io::Write;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// How long the host gets to send its first request.
pub const WAIT: Duration = Duration::from_secs(5);
/// After an answer to a request other than `initialize` (a host probing with
/// `server/discover`), how long the host gets to fall back to `initialize` on the same stdio:
/// Claude Code does, and shows the error of the `initialize`.
pub const FOLLOW_UP: Duration = Duration::from_secs(2);
/// The most requests answered.
const MAX_ANSWERS: usize = 4;
/// How much of stdin is read looking for it.
pub const READ_LIMIT: usize = 1 << 20;
/// JSON-RPC "internal error": the server could not start.
pub const CODE: i64 = -32603;

/// How the wait for the host's first request ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The request with this id was answered.
    Answered(Value),
    /// stdin ended (or could not be read) before a request came.
    Closed,
    /// No request within the time bound.
    TimedOut,
    /// No request within the byte bound.
    TooMuch,
    /// stdin is a terminal: nobody to answer.
    Terminal,
}

/// Answers the host's first request on stdin with `error`, as a JSON-RPC error on stdout.
pub fn answer(error: &Error) -> Outcome {
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(libc::STDIN_FILENO) } == 1 {
        return Outcome::Terminal;
    }
    // A host that has closed our stdout must not turn the answer into a SIGPIPE death: the
    // exit code still says what happened.
    // SAFETY: setting a signal disposition; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    answer_from(
        libc::STDIN_FILENO,
        &mut std::io::stdout(),
        &message(error),
        Instant::now() + WAIT,
    )
}

/// The message a host shows: the problem and the fix, on one line, with nothing in it that
/// a terminal would interpret.
pub fn message(error: &Error) -> String {
    format!("{}{HINT}", escape_all(&error.line()))
}

/// Ends the message a host shows. Claude Code masks, in the errors it shows, every string of 4
/// characters or more that the entry's `env` values or `args` hold — the server's name and
/// variables among them — so the fix can arrive as `crux mcp auth [redacted]`; this one
/// names nothing of the entry and leads to every check and its fix.
pub const HINT: &str = " (every check and its fix: crux doctor)";

/// Reads `input` until the first request (a message with a `method` and an `id`), EOF, the
/// deadline or [`READ_LIMIT`], and answers that request on `out` with `message`. When that
/// request is not `initialize`, it keeps reading for [`FOLLOW_UP`] and answers the host's
/// next requests too, until an `initialize` is answered.
pub fn answer_from(
    input: RawFd,
    out: &mut dyn Write,
    message: &str,
    mut deadline: Instant,
) -> Outcome {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0usize;
    let mut answered: Vec<Value> = Vec::new();
    let done = |answered: &[Value], otherwise: Outcome| match answered.first() {
        Some(id) => Outcome::Answered(id.clone()),
        None => otherwise,
    };
    // Answers one request; whether the wait is over.
    let mut answer = |out: &mut dyn Write, id: Value, method: String, deadline: &mut Instant| {
        reply(out, id.clone(), message);
        answered.push(id);
        *deadline = (*deadline).min(Instant::now() + FOLLOW_UP);
        method == "initialize" || answered.len() >= MAX_ANSWERS
    };
    loop {
        if total >= READ_LIMIT {
            return done(&answered, Outcome::TooMuch);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return done(&answered, Outcome::TimedOut);
        }
        let mut fds = libc::pollfd {
            fd: input,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut fds, 1, ms) };
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return done(&answered, Outcome::Closed);
        }
        if ready == 0 {
            continue;
        }
        let want = buf.len().min(READ_LIMIT - total);
        // SAFETY: `buf` holds at least `want` writable bytes.
        let n = unsafe { libc::read(input, buf.as_mut_ptr().cast(), want) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return done(&answered, Outcome::Closed);
        }
        if n == 0 {
            // A last line without its newline still counts.
            if let Some((id, method)) = first_request(&pending) {
                answer(out, id, method, &mut deadline);
            }
            return done(&answered, Outcome::Closed);
        }
        let n = n as usize;
        total += n;
        pending.extend_from_slice(&buf[..n]);
        while let Some(at) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=at).collect();
            if let Some((id, method)) = first_request(&line) {
                if answer(out, id, method, &mut deadline) {
                    return done(&answered, Outcome::Closed);
                }
            }
        }
    }
}

/// The id and method of the request on this line, if it holds one.
fn first_request(line: &[u8]) -> Option<(Value, String)> {
    let text = std::str::from_utf8(line).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    let message: Value = serde_json::from_str(text).ok()?;
    let id = message.get("id")?;
    let method = message.get("method")?.as_str()?;
    (id.is_string() || id.is_number()).then(|| (id.clone(), method.to_owned()))
}

fn reply(out: &mut dyn Write, id: Value, message: &str) {
    let answer = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": CODE, "message": message},
    });
    let _ = writeln!(out, "{answer}").and_then(|()| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    fn pipe() -> (OwnedFd, std::fs::File) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors are new and owned here alone.
        unsafe {
            (
                OwnedFd::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        }
    }

    fn run(input: &[u8], close: bool, wait: Duration) -> (Outcome, String) {
        let (read, mut write) = pipe();
        write.write_all(input).unwrap();
        if close {
            drop(write);
        } else {
            std::mem::forget(write);
        }
        let mut out = Vec::new();
        let outcome = answer_from(
            read.as_raw_fd(),
            &mut out,
            "m: x; fix: y",
            Instant::now() + wait,
        );
        (outcome, String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_first_request_is_answered_and_an_initialize_after_a_probe() {
        let error = |id: &str| {
            format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{{\"code\":-32603,\"message\":\"m: x; fix: y\"}}}}\n")
        };
        // Claude Code probes with server/discover, then falls back to initialize on the same
        // stdio: both get the line; nothing after the initialize does.
        let input = b"not json\n{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}\n[1,2]\n{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"server/discover\"}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\"}\n{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n";
        let (outcome, out) = run(input, true, Duration::from_secs(5));
        assert_eq!(outcome, Outcome::Answered(json!("a")));
        assert_eq!(out, format!("{}{}", error("\"a\""), error("2")));
        // An initialize first: only it.
        let (outcome, out) = run(
            b"{\"id\":1,\"method\":\"initialize\"}\n{\"id\":2,\"method\":\"initialize\"}\n",
            false,
            WAIT,
        );
        assert_eq!((outcome, out), (Outcome::Answered(json!(1)), error("1")));
        // A probe with no fallback: the wait after it is short.
        let start = Instant::now();
        let (outcome, out) = run(b"{\"id\":5,\"method\":\"server/discover\"}\n", false, WAIT);
        assert_eq!((outcome, out), (Outcome::Answered(json!(5)), error("5")));
        let waited = start.elapsed();
        assert!(waited >= FOLLOW_UP && waited < WAIT, "{waited:?}");
        // A flood of probes: at most MAX_ANSWERS answers.
        let (_, out) = run(&b"{\"id\":9,\"method\":\"x\"}\n".repeat(10), true, WAIT);
        assert_eq!(out.lines().count(), MAX_ANSWERS);
        // A last line without a newline, at EOF.
        let (outcome, _) = run(b"{\"id\":7,\"method\":\"initialize\"}", true, WAIT);
        assert_eq!(outcome, Outcome::Answered(json!(7)));
    }

    #[test]
    fn the_wait_ends_at_eof_the_deadline_or_the_byte_bound() {
        assert_eq!(run(b"", true, WAIT), (Outcome::Closed, String::new()));
        let start = Instant::now();
        let (outcome, out) = run(b"{\"partial\":", false, Duration::from_millis(200));
        assert_eq!((outcome, out.as_str()), (Outcome::TimedOut, ""));
        assert!(start.elapsed() < Duration::from_secs(2));
        // An answer (no method) or a request with a null id is not the host's request.
        let (outcome, _) = run(
            b"{\"id\":null,\"method\":\"initialize\"}\n{\"id\":1,\"result\":{}}\n",
            true,
            WAIT,
        );
        assert_eq!(outcome, Outcome::Closed);
    }

    #[test]
    fn a_flood_stops_at_the_byte_bound() {
        let (read, mut write) = pipe();
        let writer = std::thread::spawn(move || {
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..40 {
                if write.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let mut out = Vec::new();
        let outcome = answer_from(read.as_raw_fd(), &mut out, "m", Instant::now() + WAIT);
        assert_eq!(outcome, Outcome::TooMuch);
        assert!(out.is_empty());
        drop(read);
        writer.join().unwrap();
    }

    #[test]
    fn the_message_is_the_error_line_escaped() {
        let e = Error::Launch(Box::new(Error::NotStored {
            mcp: "evx".into(),
            var: "EV_TOKEN".into(),
        }));
        assert_eq!(
            message(&e),
            "evx: EV_TOKEN is not stored; fix: crux mcp auth evx (every check and its fix: crux doctor)"
        );
        let e = Error::failed("bad \u{1b}[31mred\u{202e}", "fix it");
        let m = message(&e);
        assert!(!m.contains('\u{1b}') && !m.contains('\u{202e}'), "{m}");
        assert!(m.contains("\\u{1b}[31mred"), "{m}");
    }
}
