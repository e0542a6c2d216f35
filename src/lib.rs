//! crux: credentials for MCP servers, kept in an OS keystore and never in config files.

pub mod backend;
pub mod bridge;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod error;
pub mod first_request;
pub mod fsutil;
#[doc(hidden)]
pub mod fuzz;
pub mod gaps;
pub mod home;
pub mod hosts;
pub mod import;
pub mod index;
pub mod install;
pub mod jsonfile;
pub mod launch;
pub mod legacy_files;
pub mod mcp_client;
pub mod misplaced;
pub mod names;
pub mod oauth;
pub mod oauth_meta;
pub mod project;
pub mod protocol;
pub mod redact;
pub mod registration;
pub mod registry;
pub mod secret;
pub mod settings;
pub mod sse;
pub mod store;
pub mod sync;
pub mod template;
