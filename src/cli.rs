//! The command line, as clap types and nothing else. Parsing never touches a keystore.

use crate::secret::Secret;
use crate::store::Backend;
use clap::{Args, Parser, Subcommand};

/// Arguments that may hold a value become a [`Secret`] at once, so `Debug` of the parsed
/// command line redacts them and they are zeroized when dropped.
fn secret_arg(text: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(text))
}

#[derive(Debug, Parser)]
#[command(
    name = "crux",
    version,
    about = "Credentials for MCP servers, kept in your OS keystore and never in config files",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage MCP servers and their credentials
    Mcp {
        #[command(subcommand)]
        command: McpCommand,
    },
    /// Show the active keystore backend and why it was chosen, or change it
    Backend(BackendArgs),
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Store, list or delete a server's credentials
    #[command(after_help = "Examples:
  crux mcp auth github GITHUB_TOKEN                 prompt (hidden input) and store
  printf %s \"$T\" | crux mcp auth github GITHUB_TOKEN --stdin
  crux mcp auth wikijs --value URL=… --value KEY=…  several at once (visible in `ps`)
  crux mcp auth --list [github] [--json]            what is stored (values never shown)
  crux mcp auth --delete github GITHUB_TOKEN        remove from the keystore and the index")]
    Auth(AuthArgs),
}

#[derive(Debug, Args)]
pub struct AuthArgs {
    /// Server name (with --list: only this server)
    #[arg(value_name = "MCP")]
    pub mcp: Option<String>,

    /// Environment variable the server reads the credential from
    #[arg(value_name = "VAR")]
    pub var: Option<String>,

    /// The value itself; it stays visible in shell history and `ps`, so prefer the prompt or --stdin
    #[arg(value_name = "VALUE", allow_hyphen_values = true, value_parser = secret_arg)]
    pub value: Option<Secret>,

    /// Words after VALUE: an unquoted value with spaces. Caught here so that the parser's
    /// own error, which quotes the word, never prints part of a value.
    #[arg(hide = true, num_args = 0.., allow_hyphen_values = true, value_parser = secret_arg)]
    pub extra: Vec<Secret>,

    /// Read the value of VAR from standard input (one trailing newline is dropped)
    #[arg(long, conflicts_with_all = ["value", "values", "list", "delete"])]
    pub stdin: bool,

    /// Store VAR=VALUE; may repeat (values are visible in shell history and `ps`)
    #[arg(long = "value", value_name = "VAR=VALUE", conflicts_with_all = ["var", "list", "delete"], value_parser = secret_arg)]
    pub values: Vec<Secret>,

    /// List stored credentials (values are never shown)
    #[arg(long, conflicts_with = "delete")]
    pub list: bool,

    /// Delete MCP's VAR from the keystore and the index
    #[arg(long)]
    pub delete: bool,

    /// With --list: print JSON
    #[arg(long, requires = "list")]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackendArgs {
    #[command(subcommand)]
    pub command: Option<BackendCommand>,

    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum BackendCommand {
    /// Save the backend crux uses from now on (CRUX_BACKEND still overrides it)
    Set {
        #[arg(value_enum)]
        backend: Backend,
    },
    /// Move every stored credential to another backend, then delete the old copies
    Migrate {
        #[arg(value_enum)]
        to: Backend,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn tricky_auth_forms() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["crux", "mcp", "auth"], args].concat());
        assert!(parse(&["gh", "TOKEN"]).is_ok());
        assert!(parse(&["gh", "TOKEN", "--stdin"]).is_ok());
        assert!(parse(&["gh", "--value", "A=1", "--value", "B=2"]).is_ok());
        assert!(parse(&["--list"]).is_ok());
        assert!(parse(&["--list", "gh", "--json"]).is_ok());
        assert!(parse(&["--delete", "gh", "TOKEN"]).is_ok());
        assert!(
            parse(&["gh", "TOKEN", "v", "--stdin"]).is_err(),
            "a value and --stdin"
        );
        assert!(parse(&["gh", "--json"]).is_err(), "--json needs --list");
        assert!(parse(&["--list", "--delete"]).is_err());
        let cli = parse(&["gh", "TOKEN", "-starts-with-dash", "and", "more"]).unwrap();
        let debug = format!("{cli:?}");
        assert!(
            !debug.contains("dash") && !debug.contains("more"),
            "{debug}"
        );
        let parse = |args: &[&str]| Cli::try_parse_from([&["crux", "backend"], args].concat());
        assert!(parse(&[]).is_ok());
        assert!(parse(&["set", "age"]).is_ok());
        assert!(parse(&["set", "vault"]).is_err());
        assert!(parse(&["migrate", "secret-service"]).is_ok());
    }
}
