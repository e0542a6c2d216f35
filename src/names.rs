//! Validated server and variable names.
//!
//! A name becomes a keystore service (`crux.<mcp>`), a JSON key, an environment variable and,
//! later, part of a path or a shell command. Constructing one of these types is the only way to
//! get a name into those places, so nothing unchecked can reach them.

use crate::error::Error;
use std::fmt;

/// An MCP server name: `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerName(String);

/// An environment variable name: `^[A-Za-z_][A-Za-z0-9_]{0,127}$`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VarName(String);

pub const SERVER_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";
pub const VAR_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]{0,127}$";

impl ServerName {
    pub fn parse(name: &str) -> Result<Self, Error> {
        let mut chars = name.chars();
        let valid = match chars.next() {
            Some(first) => {
                first.is_ascii_alphanumeric()
                    && name.len() <= 64
                    && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            }
            None => false,
        };
        if valid {
            Ok(ServerName(name.to_owned()))
        } else {
            Err(Error::InvalidName {
                kind: "server",
                name: name.to_owned(),
                pattern: SERVER_PATTERN,
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The keystore service name: `crux.<mcp>`.
    pub fn service(&self) -> String {
        format!("crux.{}", self.0)
    }
}

impl VarName {
    pub fn parse(name: &str) -> Result<Self, Error> {
        let mut chars = name.chars();
        let valid = match chars.next() {
            Some(first) => {
                (first.is_ascii_alphabetic() || first == '_')
                    && name.len() <= 128
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            }
            None => false,
        };
        if valid {
            Ok(VarName(name.to_owned()))
        } else {
            Err(Error::InvalidName {
                kind: "variable",
                name: name.to_owned(),
                pattern: VAR_PATTERN,
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for VarName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        for ok in [
            "github",
            "a",
            "my-server.v2",
            "A_b-c.d",
            "0day",
            &"x".repeat(64),
        ] {
            assert!(ServerName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-leading",
            ".hidden",
            "_under",
            "has space",
            "semi;colon",
            "slash/name",
            "foobar/../../../usr/bin/echo",
            "..",
            "naïve",
            "$(rm -rf ~)",
            "new\nline",
            &"x".repeat(65),
        ] {
            assert!(ServerName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn var_names() {
        for ok in ["GITHUB_TOKEN", "_x", "a1", &"V".repeat(128)] {
            assert!(VarName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1ABC",
            "A-B",
            "A.B",
            "A B",
            "A=B",
            "ÄPFEL",
            &"V".repeat(129),
        ] {
            assert!(VarName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
