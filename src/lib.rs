//! crux: credentials for MCP servers, kept in an OS keystore and never in config files.

pub mod cli;
pub mod commands;
pub mod error;
pub mod fsutil;
pub mod home;
pub mod index;
pub mod jsonfile;
pub mod names;
pub mod secret;
pub mod settings;
pub mod store;
