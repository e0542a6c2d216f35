//! The error type of crux. Every variant says what went wrong and, through [`Error::fix`], the
//! command or step that fixes it. Messages never contain a secret value: variants carry names,
//! paths and reasons, never a [`crate::secret::Secret`].

use crate::backend::Backend;
use std::path::PathBuf;
use std::process::ExitCode;

/// What a server name must match ([`crate::names::ServerName`]). Here rather than in `names`,
/// because the errors quote it and `names` builds on the errors.
pub const SERVER_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";
/// What a variable name must match ([`crate::names::VarName`]).
pub const VAR_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]{0,127}$";

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid {kind} name '{}' (must match {pattern})", sanitize(name))]
    InvalidName {
        kind: &'static str,
        name: String,
        pattern: &'static str,
    },

    /// A variable name that is invalid or looks like a credential: the text is not repeated,
    /// because it may be a value typed in the wrong place.
    #[error("the variable name given {why}; it is not shown, in case it is a value")]
    InvalidVarName { why: &'static str },

    #[error("{mcp}: the value for {var} is empty")]
    EmptyValue { mcp: String, var: String },

    #[error(
        "{mcp}: the value for {var} contains a NUL byte, which an environment variable cannot hold"
    )]
    NulInValue { mcp: String, var: String },

    #[error("{mcp}: {var} is not stored")]
    NotStored { mcp: String, var: String },

    /// An expected failure with its fix (exit 1).
    #[error("{problem}")]
    Failed { problem: String, fix: String },

    /// Wrong use of the command line; the message carries its own fix.
    #[error("{problem}")]
    Usage { problem: String, fix: String },

    #[error("the {backend} backend is unavailable: {reason}")]
    StoreUnavailable { backend: Backend, reason: String },

    #[error("the {backend} keystore is locked{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    StoreLocked {
        backend: Backend,
        detail: Option<String>,
    },

    #[error("the {backend} backend failed: {reason}")]
    StoreFailed { backend: Backend, reason: String },

    /// A keystore's problem told with the store named (KeePassXC, KDE Wallet, GNOME Keyring
    /// behind the Secret Service) and that store's own fix.
    #[error("{problem}")]
    Keystore {
        backend: Backend,
        problem: String,
        fix: String,
    },

    #[error("{} cannot be read: {reason}; crux left it unchanged", path.display())]
    Corrupt {
        path: PathBuf,
        reason: String,
        fix: String,
    },

    #[error("{} was written by a newer crux (format version {found}, this crux knows {known})", path.display())]
    NewerFormat {
        path: PathBuf,
        found: u64,
        known: u64,
    },

    #[error("{} exists but its age identity {} is missing", store.display(), identity.display())]
    MissingIdentity { store: PathBuf, identity: PathBuf },

    #[error("{} is not encrypted to the identity in {}", store.display(), identity.display())]
    WrongIdentity { store: PathBuf, identity: PathBuf },

    /// A launch that cannot go ahead: the inner error, with exit code 78 (EX_CONFIG).
    #[error("{0}")]
    Launch(Box<Error>),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn failed(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Failed {
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub fn usage(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Usage {
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// The reason alone, without the backend's name (for explanations that name it already).
    pub fn reason(&self) -> String {
        match self {
            Error::StoreUnavailable { reason, .. } | Error::StoreFailed { reason, .. } => {
                reason.clone()
            }
            Error::Keystore { problem, .. } => problem.clone(),
            other => other.to_string(),
        }
    }

    /// The command or step that fixes this error.
    pub fn fix(&self) -> Option<String> {
        Some(match self {
            Error::InvalidName { .. } => {
                "use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters".into()
            }
            Error::InvalidVarName { .. } => format!(
                "name the environment variable the server reads (like GITHUB_TOKEN: {}), and give the value at the prompt or with --stdin",
                VAR_PATTERN
            ),
            Error::EmptyValue { mcp, var } | Error::NulInValue { mcp, var } => {
                format!("store a real value: crux mcp auth {mcp} {var}")
            }
            Error::NotStored { mcp, .. } => format!("crux mcp auth {mcp}"),
            Error::Usage { fix, .. } | Error::Failed { fix, .. } | Error::Keystore { fix, .. } => {
                fix.clone()
            }
            Error::Launch(inner) => return inner.fix(),
            Error::StoreUnavailable { backend: Backend::SecretService, .. } => {
                "start a Secret Service (e.g. gnome-keyring) in this session, or use the encrypted file: crux backend set age".into()
            }
            Error::StoreUnavailable { backend: Backend::Keychain, .. } => {
                "on Linux use secret-service or age: crux backend set age".into()
            }
            Error::StoreUnavailable { .. } => "check the permissions of CRUX_HOME".into(),
            Error::StoreLocked { backend: Backend::Keychain, .. } => {
                "unlock the login keychain (security unlock-keychain) and allow crux access, then retry".into()
            }
            Error::StoreLocked { .. } => {
                "unlock the keyring (log in to the desktop session, or unlock it in Seahorse), then retry".into()
            }
            Error::StoreFailed { .. } => "retry; if it persists, check the keystore daemon's log".into(),
            Error::Corrupt { fix, .. } => fix.clone(),
            Error::NewerFormat { .. } => "upgrade crux: cargo install --locked --path <crux checkout>".into(),
            Error::MissingIdentity { identity, .. } => format!(
                "restore {} from your backup; crux will not create a new identity, which would make every stored secret unreadable",
                identity.display()
            ),
            Error::WrongIdentity { identity, .. } => format!(
                "restore the identity this store was encrypted to (from your backup) at {}",
                identity.display()
            ),
            Error::Io { .. } => "check that the path exists, is yours and is writable, and that the disk has space".into(),
        })
    }

    /// One line for the user: `error: `, the problem, then the fix (what stderr shows).
    pub fn render(&self) -> String {
        format!("error: {}", self.line())
    }

    /// The problem and its fix on one line, as an MCP host shows it in a JSON-RPC error.
    /// Whatever a library or a server put into the message, it stays on one line, and no
    /// credential this process handled shows.
    pub fn line(&self) -> String {
        let line = match self.fix() {
            Some(fix) => format!("{self}; fix: {fix}"),
            None => self.to_string(),
        };
        crate::redact::mask(&one_line(&line)).into_owned()
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage { .. } => ExitCode::from(2),
            Error::Launch(_) => ExitCode::from(78),
            _ => ExitCode::from(1),
        }
    }
}

/// Joins the lines of a message with spaces (a library's multi-line message, a server's body).
pub fn one_line(text: &str) -> String {
    if !text.contains(['\n', '\r']) {
        return text.to_owned();
    }
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Characters that change how the text around them is displayed without being visible:
/// bidirectional controls (a right-to-left override makes `evil.sh` look like `hs.live`),
/// zero-width characters and the BOM.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{061C}'
        | '\u{115F}'..='\u{1160}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}'
        | '\u{3164}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{E0000}'..='\u{E007F}')
}

/// Escapes control and invisible characters, so text shows exactly what it holds.
fn escape_char(c: char, out: &mut String) {
    if c.is_control() || is_invisible(c) {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

/// Makes untrusted text (a name from the command line or a file) safe to print on one line,
/// shortened to 80 characters with a visible `…`.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().take(80) {
        escape_char(c, &mut out);
    }
    if text.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// Untrusted text shown whole, for what a user must judge (a command a project file would
/// register): nothing cut off, control and invisible characters escaped.
pub fn escape_all(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        escape_char(c, &mut out);
    }
    out
}

/// A command line as the user would type it, each word shell-quoted and shown whole.
pub fn show_command(argv: &[String]) -> String {
    let words: Vec<String> = argv
        .iter()
        .map(|w| {
            shlex::try_quote(w)
                .map(|q| q.into_owned())
                .unwrap_or_else(|_| w.replace('\0', "\\0"))
        })
        .collect();
    escape_all(&words.join(" "))
}

/// A JSON library's error, without the input it may quote (a value from a file): the kind of
/// problem and where it is.
pub fn json_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    // serde quotes offending strings in double quotes ("invalid type: string \"…\""); the
    // quoted text can be a value, so it is dropped. Field names come in backticks and stay.
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match c {
            '"' if !quoted => {
                quoted = true;
                out.push_str("\"…");
            }
            '"' => {
                quoted = false;
                out.push('"');
            }
            _ if quoted => {}
            _ => out.push(c),
        }
    }
    sanitize_long(&one_line(&out))
}

fn sanitize_long(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().take(300) {
        escape_char(c, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_shown_and_commands_are_whole() {
        let rlo = "gh auth token\u{202E}hs.live";
        assert!(sanitize(rlo).contains("\\u{202e}"), "{}", sanitize(rlo));
        let long = format!("gh auth token{}; touch PWNED", " ".repeat(100));
        let shown = show_command(&["sh".into(), "-c".into(), long.clone()]);
        assert!(shown.contains("; touch PWNED"), "{shown}");
        assert!(!escape_all(&long).contains('…'));
    }

    #[test]
    fn json_errors_do_not_quote_input() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            n: u64,
        }
        let e = serde_json::from_str::<T>(r#"{"n": "hunter2-secret"}"#).unwrap_err();
        let text = json_error(&e);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("line 1"), "{text}");
    }

    #[test]
    fn every_message_is_one_line_with_a_fix() {
        let e = Error::InvalidName {
            kind: "server",
            name: "evil\nname\x1b[31m".into(),
            pattern: SERVER_PATTERN,
        };
        let line = e.render();
        assert!(!line.contains('\n') && !line.contains('\x1b'), "{line}");
        assert!(line.contains("fix:"));
        let e = Error::failed("first line\nsecond line", "run: x");
        assert_eq!(e.render(), "error: first line second line; fix: run: x");
        let e = Error::NotStored {
            mcp: "github".into(),
            var: "GITHUB_TOKEN".into(),
        };
        assert_eq!(
            e.render(),
            "error: github: GITHUB_TOKEN is not stored; fix: crux mcp auth github"
        );
    }
}
