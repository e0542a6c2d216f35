//! The error type of crux. Every variant says what went wrong and, through [`Error::fix`], the
//! command or step that fixes it. Messages never contain a secret value: variants carry names,
//! paths and reasons, never a [`crate::secret::Secret`].

use crate::store::Backend;
use std::path::PathBuf;
use std::process::ExitCode;

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
                crate::names::VAR_PATTERN
            ),
            Error::EmptyValue { mcp, var } | Error::NulInValue { mcp, var } => {
                format!("store a real value: crux mcp auth {mcp} {var}")
            }
            Error::NotStored { mcp, .. } => format!("crux mcp auth {mcp}"),
            Error::Usage { fix, .. } | Error::Failed { fix, .. } => fix.clone(),
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

    /// One line for the user: the problem, then the fix.
    pub fn render(&self) -> String {
        match self.fix() {
            Some(fix) => format!("error: {self}; fix: {fix}"),
            None => format!("error: {self}"),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage { .. } => ExitCode::from(2),
            Error::Launch(_) => ExitCode::from(78),
            _ => ExitCode::from(1),
        }
    }
}

/// Makes untrusted text (a name from the command line or a file) safe to print on one line.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().take(80) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().count() > 80 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_one_line_with_a_fix() {
        let e = Error::InvalidName {
            kind: "server",
            name: "evil\nname\x1b[31m".into(),
            pattern: crate::names::SERVER_PATTERN,
        };
        let line = e.render();
        assert!(!line.contains('\n') && !line.contains('\x1b'), "{line}");
        assert!(line.contains("fix:"));
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
