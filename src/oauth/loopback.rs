//! The loopback redirect (RFC 8252 §7.3): a `tiny_http` listener on 127.0.0.1, bound before
//! the client is registered so the exact URI is known, that waits for one redirect carrying the
//! expected `state`, answers the browser with a page, and hands back the code.

use crate::error::{sanitize, Error, Result};
use crate::secret::Secret;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Listener {
    server: tiny_http::Server,
    pub redirect_uri: String,
}

impl Listener {
    /// Binds 127.0.0.1 on `port` (0: any free port). A busy fixed port is an error that says so.
    pub fn bind(port: u16, mcp: &str) -> Result<Listener> {
        let server = tiny_http::Server::http(("127.0.0.1", port)).map_err(|e| {
            if port != 0 {
                Error::failed(
                    format!("cannot listen for the OAuth redirect on 127.0.0.1:{port}: {e}"),
                    format!("free that port, or register another: crux mcp add {mcp} --force … --callback-port N"),
                )
            } else {
                Error::failed(
                    format!("cannot listen for the OAuth redirect on 127.0.0.1: {e}"),
                    "check that loopback networking works on this machine",
                )
            }
        })?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .unwrap_or(port);
        Ok(Listener {
            server,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        })
    }

    /// Waits for the redirect. Requests to other paths, and redirects whose `state` does not
    /// match, are answered and ignored (a stray tab must not end the flow); an `error`
    /// redirect with the right state ends it.
    pub fn wait(&self, state: &str, timeout: Duration, spinner: bool) -> Result<Secret> {
        let deadline = Instant::now() + timeout;
        let mut spin = Spinner::new(spinner);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                spin.clear();
                return Err(Error::failed(
                    format!(
                        "no answer from the browser within {} seconds",
                        timeout.as_secs()
                    ),
                    "run the command again and finish signing in in the browser (CRUX_OAUTH_TIMEOUT=<seconds> waits longer)",
                ));
            }
            let request = match self
                .server
                .recv_timeout(left.min(Duration::from_millis(120)))
            {
                Ok(Some(r)) => r,
                Ok(None) => {
                    spin.tick();
                    continue;
                }
                Err(e) => return Err(Error::io("the OAuth redirect listener failed", e)),
            };
            let full = format!("http://127.0.0.1{}", request.url());
            let Ok(url) = url::Url::parse(&full) else {
                respond(request, 400, "Bad request.");
                continue;
            };
            if url.path() != "/callback" {
                respond(request, 404, "Not found.");
                continue;
            }
            let get = |k: &str| {
                url.query_pairs()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.into_owned())
            };
            if get("state").as_deref() != Some(state) {
                respond(
                    request,
                    400,
                    "This sign-in link does not belong to the running crux command. Close this tab.",
                );
                continue;
            }
            spin.clear();
            if let Some(error) = get("error") {
                respond(request, 200, "Sign-in was refused. You can close this tab.");
                let detail = get("error_description")
                    .map(|d| format!(" ({})", sanitize(&d)))
                    .unwrap_or_default();
                return Err(Error::failed(
                    format!(
                        "the authorization server refused: {}{detail}",
                        sanitize(&error)
                    ),
                    "check the account and scopes you signed in with, then run the command again",
                ));
            }
            match get("code") {
                Some(code) if !code.is_empty() => {
                    respond(
                        request,
                        200,
                        "Signed in. You can close this tab and return to the terminal.",
                    );
                    return Ok(Secret::new(code));
                }
                _ => {
                    respond(request, 400, "The redirect carried no code.");
                    return Err(Error::failed(
                        "the authorization server redirected without a code",
                        "run the command again; if it repeats, report it to the server's operator",
                    ));
                }
            }
        }
    }
}

fn respond(request: tiny_http::Request, status: u16, text: &str) {
    let page = format!(
        "<!doctype html><meta charset=utf-8><title>crux</title><p style=\"font:16px system-ui;margin:3em\">{text}</p>"
    );
    let header =
        tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"text/html; charset=utf-8"[..])
            .expect("static header");
    let _ = request.respond(
        tiny_http::Response::from_string(page)
            .with_status_code(status)
            .with_header(header),
    );
}

/// Opens `url` in the browser: `CRUX_BROWSER` (a command; the URL is its last argument) when
/// set, else the platform's opener. Failure to open is not an error: the URL is printed too.
pub fn open_browser(url: &str) -> bool {
    let (program, mut args) = match std::env::var("CRUX_BROWSER")
        .ok()
        .filter(|s| !s.trim().is_empty())
    {
        Some(cmd) => match shlex::split(&cmd) {
            Some(mut words) if !words.is_empty() => {
                let program = words.remove(0);
                (program, words)
            }
            _ => return false,
        },
        None if cfg!(target_os = "macos") => ("open".to_string(), Vec::new()),
        None => {
            if std::env::var_os("DISPLAY").is_none()
                && std::env::var_os("WAYLAND_DISPLAY").is_none()
            {
                return false;
            }
            ("xdg-open".to_string(), Vec::new())
        }
    };
    args.push(url.to_string());
    std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

/// A one-line spinner on stderr, shown only on a terminal.
struct Spinner {
    on: bool,
    frame: usize,
    shown: bool,
}

impl Spinner {
    fn new(wanted: bool) -> Spinner {
        Spinner {
            on: wanted && std::io::stderr().is_terminal(),
            frame: 0,
            shown: false,
        }
    }

    fn tick(&mut self) {
        if !self.on {
            return;
        }
        const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
        self.frame = (self.frame + 1) % FRAMES.len();
        let _ = write!(
            std::io::stderr(),
            "\r{} waiting for the browser (Ctrl-C to cancel)",
            FRAMES[self.frame]
        );
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.shown = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn port_of(listener: &Listener) -> u16 {
        url::Url::parse(&listener.redirect_uri)
            .unwrap()
            .port()
            .unwrap()
    }

    fn get(port: u16, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn only_the_redirect_with_our_state_ends_the_wait() {
        let listener = Listener::bind(0, "t").unwrap();
        let port = port_of(&listener);
        let client = std::thread::spawn(move || {
            let stray = get(port, "/favicon.ico");
            let forged = get(port, "/callback?code=evil&state=other");
            let real = get(port, "/callback?code=good&state=s1");
            (stray, forged, real)
        });
        let code = listener.wait("s1", Duration::from_secs(10), false).unwrap();
        assert_eq!(code.expose(), "good");
        let (stray, forged, real) = client.join().unwrap();
        assert!(stray.starts_with("HTTP/1.1 404"));
        assert!(forged.starts_with("HTTP/1.1 400"));
        assert!(real.starts_with("HTTP/1.1 200"));
    }

    #[test]
    fn a_refusal_and_a_timeout_are_errors() {
        let listener = Listener::bind(0, "t").unwrap();
        let port = port_of(&listener);
        let client =
            std::thread::spawn(move || get(port, "/callback?error=access_denied&state=s2"));
        let err = listener
            .wait("s2", Duration::from_secs(10), false)
            .unwrap_err();
        assert!(err.to_string().contains("access_denied"), "{err}");
        client.join().unwrap();
        let err = listener
            .wait("s3", Duration::from_millis(300), false)
            .unwrap_err();
        assert!(
            err.to_string().contains("no answer from the browser"),
            "{err}"
        );
    }
}
