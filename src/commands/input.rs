//! Taking a value in: piped on standard input, typed at a hidden prompt, or given as
//! `--value VAR=VALUE` (with the warning that goes with it). Below the commands that take
//! values (`auth`, `mcp`, `oauth`), so that they share it without importing each other.

use crate::error::{Error, Result};
use crate::names::{ServerName, VarName};
use crate::secret::Secret;
use std::io::Read;

/// Splits a `--value VAR=VALUE` argument. Never echoes it: its right-hand side is a value.
pub fn parse_value_pair(pair: &Secret) -> Result<(VarName, Secret)> {
    let (var, value) = pair.expose().split_once('=').ok_or_else(|| {
        Error::usage(
            "--value takes VAR=VALUE, and one has no '='",
            "--value NAME=VALUE",
        )
    })?;
    Ok((VarName::parse(var)?, Secret::new(value)))
}

pub fn warn_visible() {
    eprintln!(
        "warning: a value given on the command line stays in your shell history and is visible to other processes (ps); prefer the hidden prompt or --stdin"
    );
}

/// A value piped on standard input, one trailing newline dropped.
pub fn read_stdin() -> Result<Secret> {
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read standard input", e))?;
    let mut text =
        zeroize::Zeroizing::new(String::from_utf8(std::mem::take(&mut *bytes)).map_err(|_| {
            Error::usage(
                "the value on standard input is not UTF-8 text",
                "pipe in the value as text",
            )
        })?);
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(Secret::from(text))
}

/// Hidden input on the terminal: nothing is echoed.
pub fn prompt(mcp: &ServerName, var: &VarName) -> Result<Secret> {
    let value = rpassword::prompt_password(format!("Enter {var} for '{mcp}': "))
        .map_err(|e| Error::io("cannot read from the terminal", e))?;
    Ok(Secret::from(zeroize::Zeroizing::new(value)))
}
