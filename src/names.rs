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

// The patterns are defined with the errors that quote them, which sit below the names.
pub use crate::error::{SERVER_PATTERN, VAR_PATTERN};

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

/// Prefixes of well-known token formats, as they appear in text (URLs, arguments).
const TEXT_TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xapp-",
    "hf_",
    "AKIA",
    "ASIA",
    "AIza",
    "ya29.",
    "npm_",
    "pypi-",
];

/// Whether a word of text (an argument, a URL parameter, a setting) is shaped like a token:
/// a known token prefix with a long tail, a JWT, or a long run of letters and digits mixing
/// cases, which neither words nor paths nor ids do.
pub fn looks_like_token(word: &str) -> bool {
    let tail_ok = |t: &str| {
        t.len() >= 16
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    };
    let known = TEXT_TOKEN_PREFIXES
        .iter()
        .any(|p| word.strip_prefix(p).is_some_and(tail_ok));
    let parts: Vec<&str> = word.split('.').collect();
    let jwt = word.starts_with("eyJ")
        && parts.len() == 3
        && parts.iter().take(2).all(|p| {
            p.len() >= 10
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        });
    let mixed = word.len() >= 24
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '='))
        && word.chars().any(|c| c.is_ascii_lowercase())
        && word.chars().any(|c| c.is_ascii_uppercase())
        && word.chars().filter(|c| c.is_ascii_digit()).count() >= 3
        && word.split(['_', '-']).any(|part| part.len() >= 16);
    // A long run of lowercase hex, as many services issue (not a UUID: those have dashes).
    let hex = (32..=128).contains(&word.len())
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        && word.chars().any(|c| c.is_ascii_digit())
        && word.chars().any(|c| c.is_ascii_alphabetic());
    known || jwt || mixed || hex
}

/// Whether a would-be variable name is more likely a credential pasted in the wrong place:
/// a known token prefix with a long tail, or a long run that mixes lower case, upper case and
/// digits, which environment variable names (`UPPER_SNAKE`) never do.
fn looks_like_credential(name: &str) -> bool {
    // The text prefixes as a variable name would spell them (`glpat-` → `glpat_`).
    let known = TEXT_TOKEN_PREFIXES.iter().any(|p| {
        let p = p.replace(['-', '.'], "_");
        name.starts_with(&p) && name.len() >= p.len() + 16
    });
    let mixed = name.len() >= 20
        && name.chars().any(|c| c.is_ascii_lowercase())
        && name.chars().any(|c| c.is_ascii_uppercase())
        && name.chars().filter(|c| c.is_ascii_digit()).count() >= 3
        && name.split('_').any(|part| part.len() >= 16);
    known || mixed
}

impl VarName {
    /// Never repeats a rejected name: it may be a value typed where the name belongs.
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
        if !valid {
            return Err(Error::InvalidVarName {
                why: "is not a valid environment variable name",
            });
        }
        if looks_like_credential(name) {
            return Err(Error::InvalidVarName {
                why: "looks like a credential, not a variable name",
            });
        }
        Ok(VarName(name.to_owned()))
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

    #[test]
    fn credentials_are_not_taken_for_names_and_never_echoed() {
        // Shapes of real tokens, assembled here so no token-like literal is committed.
        for token in [
            format!("ghp_{}", "aB3".repeat(12)),
            format!("github_pat_{}_{}", "1X9".repeat(7), "q".repeat(30)),
            format!("AKIA{}", "Z7".repeat(8)),
            "aB3dE5gH7jK9mN1pQ3sT5vW7".to_owned(),
            "sk-ant-api03-not-a-name".to_owned(),
        ] {
            let err = VarName::parse(&token).unwrap_err();
            assert!(!err.render().contains(&token), "{}", err.render());
        }
        for name in [
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "OPENAI_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "MY_SERVICE_V2_TOKEN_2024",
            "ghp_",
            "hf_TOKEN",
        ] {
            assert!(VarName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn tokens_in_text() {
        for token in [
            format!("ghp_{}", "aB3".repeat(12)),
            format!("sk-ant-api03-{}", "x9Y".repeat(10)),
            format!("xoxb-{}", "1234-".repeat(5)),
            format!(
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.{}",
                "s".repeat(20)
            ),
            "aB3dE5gH7jK9mN1pQ3sT5vW7".to_owned(),
            "0123456789abcdef".repeat(2),
        ] {
            assert!(looks_like_token(&token), "{token}");
        }
        for word in [
            "/srv/data",
            "--read-only",
            "123e4567-e89b-12d3-a456-426614174000",
            "@modelcontextprotocol/server-everything",
            "server-everything",
            "2026.8.31",
            "https://example.com/a/b",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "sk-",
        ] {
            assert!(!looks_like_token(word), "{word}");
        }
    }
}
