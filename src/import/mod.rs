//! Bringing existing configurations into crux: the plaintext credentials of MCP host configs
//! ([`classify`] decides what is a credential, [`entry`] reads a host's entry as a server
//! definition), and a `CRUX_HOME` written by crux-cli, the Python tool ([`crux_cli`]).

pub mod classify;
pub mod crux_cli;
pub mod entry;
