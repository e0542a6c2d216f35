//! The loopback redirect (RFC 8252 §7.3): a `tiny_http` listener on 127.0.0.1, bound before
//! the client is registered so the exact URI is known, that waits for one redirect carrying the
//! expected `state`, checks its RFC 9207 `iss`, answers the browser with a page, and hands
//! back the code. It watches the browser command too: one that fails ends the wait at once.

use crate::error::{sanitize, Error, Result};
use crate::secret::Secret;
use std::io::{IsTerminal, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The issuer an authorization response must come from (RFC 9207, MCP 2026-07-28
/// "Authorization Response Validation").
#[derive(Debug, Clone, Copy, Default)]
pub struct IssExpectation<'a> {
    /// The `issuer` of the validated metadata; `None` only with the 2025-03-26 default
    /// endpoints, where there is nothing to compare with.
    pub issuer: Option<&'a str>,
    /// `authorization_response_iss_parameter_supported`: a response without `iss` is rejected.
    pub required: bool,
}

/// RFC 9207 §2.4 as MCP applies it: a present `iss` is compared with the recorded issuer by
/// simple string comparison (no case folding, no trailing-slash or port or percent-encoding
/// normalization) whether or not the server advertises it; an absent one is an error only
/// when the server advertises it. `Err` is the problem, to print.
pub fn check_iss(expected: IssExpectation, got: Option<&str>) -> std::result::Result<(), String> {
    match (got, expected.issuer) {
        (Some(got), Some(issuer)) if got == issuer => Ok(()),
        (Some(got), Some(issuer)) => Err(format!(
            "the authorization response names the issuer '{}', not '{}'",
            sanitize(got),
            sanitize(issuer)
        )),
        (Some(_), None) => Ok(()),
        (None, _) if expected.required => Err(
            "the authorization response has no 'iss' although the authorization server says it always sends one (RFC 9207)".into(),
        ),
        (None, _) => Ok(()),
    }
}

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

    /// Waits for the redirect: the code, or `None` when `timeout` passed without one.
    /// Requests to other paths, and redirects whose `state` does not match, are answered and
    /// ignored (a stray tab must not end the flow); an `error` redirect with the right state
    /// ends it, and so does one whose `iss` fails [`check_iss`] (its `error` is not shown:
    /// it may not come from the authorization server crux asked). A `browser` command that
    /// exits with a failure ends it at once, with what it printed.
    pub fn wait(
        &self,
        state: &str,
        iss: IssExpectation,
        timeout: Duration,
        spinner: bool,
        mut browser: Option<&mut Browser>,
    ) -> Result<Option<Secret>> {
        let deadline = Instant::now() + timeout;
        let mut spin = Spinner::new(spinner);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                spin.clear();
                return Ok(None);
            }
            let request = match self
                .server
                .recv_timeout(left.min(Duration::from_millis(120)))
            {
                Ok(Some(r)) => r,
                Ok(None) => {
                    if let Some(failure) = browser.as_deref_mut().and_then(Browser::failure) {
                        spin.clear();
                        return Err(failure);
                    }
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
            if let Err(problem) = check_iss(iss, get("iss").as_deref()) {
                respond(
                    request,
                    400,
                    "This sign-in response did not come from the expected authorization server. Close this tab.",
                );
                return Err(Error::failed(
                    format!("{problem}; crux did not use it"),
                    "the response may be forged or the server misconfigured; sign in again, and if it repeats, report it to the server's operator",
                ));
            }
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
                    return Ok(Some(Secret::new(code)));
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

/// A browser command that was started, watched while crux waits for the redirect.
pub struct Browser {
    child: std::process::Child,
    program: String,
    /// The last bytes of its stderr, read by a thread so a chatty browser never blocks.
    stderr: Arc<Mutex<Vec<u8>>>,
    done: bool,
}

/// How much of a failed browser command's stderr is shown.
const BROWSER_STDERR_TAIL: usize = 2048;

impl Browser {
    /// The error to report when the command has exited with a failure; `None` while it runs
    /// or after it succeeded (an opener such as `xdg-open` exits at once).
    fn failure(&mut self) -> Option<Error> {
        if self.done {
            return None;
        }
        let status = self.child.try_wait().ok()??;
        self.done = true;
        if status.success() {
            return None;
        }
        // Let the reader thread take the last of the output.
        std::thread::sleep(Duration::from_millis(100));
        let text =
            String::from_utf8_lossy(&self.stderr.lock().map(|b| b.clone()).unwrap_or_default())
                .trim()
                .to_string();
        let said = if text.is_empty() {
            String::new()
        } else {
            format!(": {}", sanitize(&text))
        };
        let how = match status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "was killed by a signal".into(),
        };
        Some(browser_error(&format!(
            "the browser command '{}' {how}{said}",
            sanitize(&self.program)
        )))
    }
}

fn browser_error(problem: &str) -> Error {
    Error::failed(
        problem.to_string(),
        "fix or unset CRUX_BROWSER (without a browser command crux waits for you to open the URL printed above by hand), then run the command again",
    )
}

/// Opens `url` in the browser: `CRUX_BROWSER` (a command; the URL is its last argument) when
/// set, else the platform's opener as the `open` crate orders them (Windows' own on WSL, then
/// `xdg-open`, `gio open`, `gnome-open`, `kde-open`; `open` on macOS), the first that starts.
/// No display and no opener is not an error: the URL is printed for the user and crux waits
/// (`None`). A `CRUX_BROWSER` command that cannot start is an error.
pub fn open_browser(url: &str) -> Result<Option<Browser>> {
    if let Some(cmd) = std::env::var("CRUX_BROWSER")
        .ok()
        .filter(|s| !s.trim().is_empty())
    {
        let Some(mut words) = shlex::split(&cmd).filter(|w| !w.is_empty()) else {
            return Err(browser_error(
                "CRUX_BROWSER is not a command line crux can split into words",
            ));
        };
        let program = words.remove(0);
        let mut command = std::process::Command::new(&program);
        command.args(words).arg(url);
        return spawn_browser(program, command).map(Some);
    }
    // Without a display a Linux opener would start a text browser in the terminal crux
    // needs, or fail; WSL opens the Windows browser without one.
    if cfg!(all(unix, not(target_os = "macos")))
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
        && !is_wsl::is_wsl()
    {
        return Ok(None);
    }
    for command in open::commands(url) {
        let program = command.get_program().to_string_lossy().into_owned();
        match spawn_browser(program, command) {
            Ok(browser) => return Ok(Some(browser)),
            // Not installed: the next opener.
            Err(_) => continue,
        }
    }
    Ok(None)
}

/// Starts `command` (whose last argument is the URL), its stderr kept for
/// [`Browser::failure`].
fn spawn_browser(program: String, mut command: std::process::Command) -> Result<Browser> {
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            browser_error(&format!(
                "cannot start the browser command '{}': {e}",
                sanitize(&program)
            ))
        })?;
    let stderr = Arc::new(Mutex::new(Vec::new()));
    if let Some(mut pipe) = child.stderr.take() {
        let tail = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let Ok(mut t) = tail.lock() else { break };
                t.extend_from_slice(&buf[..n]);
                let over = t.len().saturating_sub(BROWSER_STDERR_TAIL);
                t.drain(..over);
            }
        });
    }
    Ok(Browser {
        child,
        program,
        stderr,
        done: false,
    })
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
        let iss = IssExpectation::default();
        let code = listener
            .wait("s1", iss, Duration::from_secs(10), false, None)
            .unwrap()
            .unwrap();
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
        let iss = IssExpectation::default();
        let err = listener
            .wait("s2", iss, Duration::from_secs(10), false, None)
            .unwrap_err();
        assert!(err.to_string().contains("access_denied"), "{err}");
        client.join().unwrap();
        let timed_out = listener
            .wait("s3", iss, Duration::from_millis(300), false, None)
            .unwrap();
        assert!(timed_out.is_none());
    }

    /// RFC 9207 as MCP 2026-07-28 tabulates it, with the conformance suite's cases.
    #[test]
    fn iss_is_compared_as_a_plain_string() {
        let issuer = "http://localhost:3000";
        let advertised = IssExpectation {
            issuer: Some(issuer),
            required: true,
        };
        let silent = IssExpectation {
            issuer: Some(issuer),
            required: false,
        };
        assert!(check_iss(advertised, Some(issuer)).is_ok());
        assert!(check_iss(advertised, None).is_err(), "advertised, absent");
        assert!(check_iss(silent, Some(issuer)).is_ok());
        assert!(check_iss(silent, None).is_ok(), "not advertised, absent");
        for wrong in [
            "https://evil.example.com",
            "http://localhost:3000/",
            "HTTP://localhost:3000",
            "http://LOCALHOST:3000",
            "http://localhost:3000/%7E",
        ] {
            assert!(check_iss(advertised, Some(wrong)).is_err(), "{wrong}");
            assert!(
                check_iss(silent, Some(wrong)).is_err(),
                "unadvertised {wrong}"
            );
        }
        let default_port = IssExpectation {
            issuer: Some("https://as.example"),
            required: true,
        };
        assert!(check_iss(default_port, Some("https://as.example:443")).is_err());
    }

    /// A wrong `iss` ends the wait before the code or the error is used; a missing one
    /// where the server advertises it too, error responses included.
    #[test]
    fn a_wrong_or_missing_iss_ends_the_wait() {
        let iss = IssExpectation {
            issuer: Some("https://as.example"),
            required: true,
        };
        for (query, shown) in [
            (
                "code=c&state=s&iss=https%3A%2F%2Fevil.example",
                "evil.example",
            ),
            ("code=c&state=s", "has no 'iss'"),
            (
                "error=access_denied&error_description=forged&state=s",
                "has no 'iss'",
            ),
        ] {
            let listener = Listener::bind(0, "t").unwrap();
            let port = port_of(&listener);
            let path = format!("/callback?{query}");
            let client = std::thread::spawn(move || get(port, &path));
            let err = listener
                .wait("s", iss, Duration::from_secs(10), false, None)
                .unwrap_err()
                .to_string();
            assert!(err.contains(shown), "{err}");
            assert!(
                !err.contains("forged"),
                "an unchecked error is not shown: {err}"
            );
            assert!(client.join().unwrap().starts_with("HTTP/1.1 400"));
        }
        let listener = Listener::bind(0, "t").unwrap();
        let port = port_of(&listener);
        let client = std::thread::spawn(move || {
            get(
                port,
                "/callback?code=c&state=s&iss=https%3A%2F%2Fas.example",
            )
        });
        let code = listener
            .wait("s", iss, Duration::from_secs(10), false, None)
            .unwrap();
        assert_eq!(code.unwrap().expose(), "c");
        client.join().unwrap();
    }

    /// A browser command that fails is reported at once, with its stderr.
    #[test]
    fn a_failing_browser_command_ends_the_wait_at_once() {
        let script = "echo no display here >&2; exit 3";
        let mut command = std::process::Command::new("sh");
        command.args(["-c", script, "sh", "https://as.example/authorize"]);
        let mut browser = spawn_browser("sh".into(), command).unwrap();
        let listener = Listener::bind(0, "t").unwrap();
        let started = Instant::now();
        let err = listener
            .wait(
                "s",
                IssExpectation::default(),
                Duration::from_secs(30),
                false,
                Some(&mut browser),
            )
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(err.contains("exited with status 3"), "{err}");
        assert!(err.contains("no display here"), "{err}");

        let mut command = std::process::Command::new("/nonexistent/browser");
        command.arg("https://x.example");
        let err = spawn_browser("/nonexistent/browser".into(), command)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("cannot start the browser command"),
            "{err}"
        );
    }

    /// The platform's openers come from the `open` crate, the URL last and unchanged.
    #[test]
    fn the_openers_get_the_url_as_their_last_argument() {
        let url = "https://as.example/authorize?a=1&b=2";
        let commands = open::commands(url);
        assert!(!commands.is_empty());
        for command in &commands {
            assert_eq!(command.get_args().last(), Some(std::ffi::OsStr::new(url)));
        }
        if cfg!(target_os = "linux") && !is_wsl::is_wsl() {
            assert_eq!(commands[0].get_program(), "xdg-open");
        }
    }
}
