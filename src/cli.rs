//! The command line, as clap types and nothing else. Parsing never touches a keystore.

use crate::hosts::HostId;
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
    /// Declare a project's servers (crux.json) and generate its .mcp.json
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
    },
    /// Show the active keystore backend and why it was chosen, or change it
    Backend(BackendArgs),
    /// Start a server with its credentials in its environment (what the installed launcher runs)
    #[command(
        after_help = "Reads CRUX_MCP_NAME and CRUX_AUTH_ENV_VARS from the environment, fetches those credentials, and execs COMMAND with them.\nExit 78 when a credential is missing or COMMAND cannot start; otherwise the server's own exit code.\nBefore exiting 78 it answers the host's first JSON-RPC request on stdin with the error (waiting at most 5 s; not on a terminal)."
    )]
    Launch {
        /// The server's command line
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "COMMAND"
        )]
        command: Vec<std::ffi::OsString>,
    },
    /// Connect stdio to a remote server's Streamable HTTP endpoint with its OAuth token (what the bridge launcher runs)
    #[command(
        after_help = "Reads CRUX_MCP_NAME and CRUX_BRIDGE_URL from the environment. Refreshes the token if it expires within 60 seconds (half its lifetime if shorter).\nExit 78 when the server is not signed in or the refresh fails, after answering the host's first JSON-RPC request with the error.\nOn SIGINT, SIGTERM or SIGHUP it ends the remote session (DELETE), then exits 128 + the signal."
    )]
    Bridge,
    /// Print a remote server's auth headers as JSON, for hosts with a headers helper (prints the token: for programs, not terminals)
    #[command(
        after_help = "For Claude Code's headersHelper: crux project sync --headers-helper writes entries that run it.\nPrints only when the host names the URL it sends the headers to (CLAUDE_CODE_MCP_SERVER_URL) and that is the registered URL.\nRefreshes an OAuth token that expires within 60 seconds (half its lifetime if shorter) first."
    )]
    Headers {
        #[arg(value_name = "MCP")]
        name: String,
        /// For hosts that do not say where they send the headers: print them without that check (a project file could then send them elsewhere)
        #[arg(long)]
        no_url_check: bool,
    },
    /// Add crux's servers to a host configured per user (Claude Desktop, Windsurf, Cline, and the user scope of Claude Code, Codex, Gemini CLI), or see which hosts this machine has
    Host {
        #[command(subcommand)]
        command: HostCommand,
    },
    /// Move the plaintext credentials of existing host configs into the keystore, or bring a crux-cli ~/.crux over
    #[command(after_help = "Examples:
  crux import --dry-run                 what would be imported from every host (project and user files), changing nothing
  crux import claude-code --project     the servers of ./.mcp.json
  crux import --all --user --yes        every host's user-wide file, without asking
  crux import cursor --not-secret API_BASE --secret SESSION_ID
  crux import --from crux-cli           convert a ~/.crux written by crux-cli (the Python tool)")]
    Import(Box<ImportArgs>),
    /// Check everything a server needs to start, and say the fix for each problem
    #[command(
        after_help = "One line per check; exit 1 when anything fails.\nWithout --live nothing is unlocked or started: credentials are checked in the index."
    )]
    Doctor {
        /// Also read every credential, refresh OAuth tokens, and start each server through its generated entry (initialize + tools/list)
        #[arg(long)]
        live: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Write a crux.json in this directory
    Create {
        /// Project name (default: the directory's name)
        name: Option<String>,
    },
    /// Add registered servers to crux.json and sync; with none, register what crux.json declares (shown in full, after you confirm)
    Install {
        #[arg(value_name = "MCP")]
        mcps: Vec<String>,
        /// Register what crux.json declares without asking (for scripts; read it first)
        #[arg(long, short)]
        yes: bool,
    },
    /// Remove a server from crux.json and from .mcp.json
    Uninstall {
        #[arg(value_name = "MCP")]
        mcp: String,
    },
    /// Regenerate the project's host configs (.mcp.json and the others crux.json lists) from crux.json (names only, never values)
    Sync {
        /// Every tracked project on this machine
        #[arg(long)]
        all: bool,
        /// Also write this host's config, and add it to crux.json's "hosts" (repeatable)
        #[arg(long = "host", value_enum, value_name = "HOST")]
        hosts: Vec<HostId>,
        /// From now on, write remote servers with credentials as native `http` entries whose headers come from `crux headers` (Claude Code's headersHelper)
        #[arg(long, conflicts_with = "no_headers_helper")]
        headers_helper: bool,
        /// From now on, start remote servers with credentials through the bridge launcher (the default)
        #[arg(long)]
        no_headers_helper: bool,
    },
    /// Preflight: whether every server can start (credentials, commands, setup), and the fix for each gap
    Status {
        /// Every tracked project on this machine
        #[arg(long)]
        all: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// Add entries for registered servers to a host's user-wide config
    Add {
        #[arg(value_enum)]
        host: HostId,
        #[arg(value_name = "MCP", required = true)]
        mcps: Vec<String>,
    },
    /// Remove the entries crux wrote for these servers from a host's user-wide config
    Remove {
        #[arg(value_enum)]
        host: HostId,
        #[arg(value_name = "MCP", required = true)]
        mcps: Vec<String>,
    },
    /// The hosts crux finds on this machine, and which of their servers come from crux (current or stale)
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Register a server: where it comes from and which credentials it needs
    #[command(after_help = "Examples:
  crux mcp add github --npx @modelcontextprotocol/server-github --keychain GITHUB_TOKEN
  crux mcp add gh --npx @modelcontextprotocol/server-github --external-cli 'GITHUB_TOKEN=gh auth token'
  crux mcp add local --command node --args \"server.js --port 0\" --keychain API_KEY
  crux mcp add files --npx @modelcontextprotocol/server-filesystem -- /srv/data
  crux mcp add linear --url https://mcp.linear.app/mcp --oauth
  crux mcp add m2m --url https://api.example.com/mcp --oauth --grant client-credentials --client-id ID --client-secret-stdin")]
    Add(Box<AddArgs>),
    /// List registered servers
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one server's definition and credential status
    Show {
        #[arg(value_name = "MCP")]
        name: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Unregister a server and delete its stored credentials
    Remove {
        #[arg(value_name = "MCP")]
        name: String,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
        /// Keep its credentials in the keystore
        #[arg(long)]
        keep_secrets: bool,
    },
    /// Hand a server's credentials stored before its registration (or for another definition) to the current one, after showing it in full
    Bind {
        #[arg(value_name = "MCP")]
        name: String,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
    /// Re-pin installed servers to another version (default: the latest), or pin servers registered before crux pinned them
    #[command(after_help = "Examples:
  crux mcp upgrade github                    show the old and new version, ask, re-pin
  crux mcp upgrade everything --to 2026.8.31
  crux mcp upgrade --all --yes")]
    Upgrade {
        #[arg(value_name = "MCP", required_unless_present = "all")]
        names: Vec<String>,
        /// Every registered server
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// The version to pin (default: the latest)
        #[arg(long, value_name = "VERSION", conflicts_with = "all")]
        to: Option<String>,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
    /// Connect to a server as an MCP client: initialize, list tools, sign in if it asks
    #[command(after_help = "Examples:
  crux mcp probe github                  a registered server (local ones through the launcher)
  crux mcp probe https://mcp.example.com/mcp
  crux mcp probe notes --call search --arguments '{\"q\":\"x\"}'")]
    Probe(Box<ProbeArgs>),
    /// Store, list or delete a server's credentials
    #[command(after_help = "Examples:
  crux mcp auth github GITHUB_TOKEN                 prompt (hidden input) and store
  printf %s \"$T\" | crux mcp auth github GITHUB_TOKEN --stdin
  crux mcp auth wikijs --value URL=… --value KEY=…  several at once (visible in `ps`)
  crux mcp auth --list [github] [--json]            what is stored (values never shown)
  crux mcp auth --delete github GITHUB_TOKEN        remove from the keystore and the index
  crux mcp auth linear                              OAuth: sign in through the browser
  crux mcp auth linear --reregister                 OAuth: register a new client, then sign in
  crux mcp auth --status [linear] [--json]          expiry, scopes, refresh token
  crux mcp auth --refresh-all [--dry-run]           refresh every OAuth token now
  crux mcp auth --revoke linear                     revoke at the server, then delete here")]
    Auth(AuthArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["npx", "uvx", "command", "local", "url"])))]
pub struct AddArgs {
    #[arg(value_name = "MCP")]
    pub name: String,
    /// An npm package, PACKAGE[@VERSION] (default: the latest), installed at that exact version into CRUX_HOME/mcps/<MCP>
    #[arg(long, value_name = "PACKAGE")]
    pub npx: Option<String>,
    /// A PyPI package, PACKAGE[==VERSION] (default: the latest), installed into a virtual environment in CRUX_HOME/mcps/<MCP>
    #[arg(long, value_name = "PACKAGE")]
    pub uvx: Option<String>,
    /// Do not install: run the package through npx/uvx at every start, which fetches whatever the registry (or the project folder) serves then
    #[arg(long)]
    pub no_install: bool,
    /// Let the package's install scripts run (npm lifecycle scripts; PyPI packages built from source)
    #[arg(long, conflicts_with = "no_install")]
    pub allow_scripts: bool,
    /// The package's program to run, when it has several
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// A program (on PATH or a path)
    #[arg(long, value_name = "CMD")]
    pub command: Option<String>,
    /// A local server: a .js/.py file or an executable
    #[arg(long, value_name = "PATH")]
    pub local: Option<std::path::PathBuf>,
    /// A remote server's URL
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Arguments for the server, as one shell-quoted string; '{crux:VAR}' of a --keychain variable is filled in at launch (that variable goes in the arguments, not the environment)
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub args: Option<String>,
    /// More arguments for the server, after --
    #[arg(last = true, value_name = "ARG")]
    pub trailing: Vec<String>,
    /// Tags, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "TAG[,TAG…]")]
    pub tags: Vec<String>,
    /// Variables stored in the keystore; each is prompted for (hidden) unless given
    #[arg(long, value_delimiter = ',', value_name = "VAR[,VAR…]")]
    pub keychain: Vec<String>,
    /// A keychain variable's value, VAR=VALUE (visible in shell history and `ps`)
    #[arg(long = "value", value_name = "VAR=VALUE", value_parser = secret_arg)]
    pub values: Vec<Secret>,
    /// Read the value of the single keychain variable from standard input
    #[arg(long)]
    pub stdin: bool,
    /// VAR=COMMAND: the command runs at every launch; its trimmed output becomes VAR
    #[arg(long = "external-cli", value_name = "VAR=COMMAND")]
    pub external_cli: Vec<String>,
    /// A one-time interactive setup command, run by `crux mcp auth <MCP>`
    #[arg(long = "setup-cmd", value_name = "COMMAND")]
    pub setup_cmd: Option<String>,
    /// The remote server takes a static token in a header: VAR is stored in the keystore (prompted, hidden)
    #[arg(long, value_name = "VAR", requires = "url", conflicts_with = "oauth")]
    pub bearer: Option<String>,
    /// With --bearer: the header to send it in
    #[arg(
        long,
        value_name = "NAME",
        requires = "bearer",
        default_value = "Authorization"
    )]
    pub header_name: String,
    /// With --bearer: the word before the token ("" for none)
    #[arg(
        long,
        value_name = "PREFIX",
        requires = "bearer",
        default_value = "Bearer"
    )]
    pub header_prefix: String,
    /// The remote server uses OAuth (sign in with: crux mcp auth <MCP>)
    #[arg(long, requires = "url")]
    pub oauth: bool,
    #[command(flatten)]
    pub oauth_args: OAuthArgs,
    /// A non-secret setting for the server's environment, NAME=VALUE (may repeat)
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Let the host's value of a variable the launcher removes (it loads code: NODE_OPTIONS, LD_PRELOAD, …) reach the server
    #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME…]")]
    pub allow_env: Vec<String>,
    /// Replace an existing registration
    #[arg(long)]
    pub force: bool,
    /// Hand credentials stored for this name before (for another definition, or before it was registered) to this registration without asking
    #[arg(long, short)]
    pub yes: bool,
}

/// Where `crux import` reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFrom {
    /// A CRUX_HOME written by crux-cli, the Python tool (PyPI crux-cli 1.0.x)
    #[value(name = "crux-cli")]
    CruxCli,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Only this host's config files (default: every host)
    #[arg(value_enum, value_name = "HOST", conflicts_with_all = ["all", "from"])]
    pub host: Option<HostId>,
    /// Every host (the default when no host is named)
    #[arg(long)]
    pub all: bool,
    /// Only the project files in the current directory (.mcp.json, .cursor/mcp.json, …)
    #[arg(long, conflicts_with = "user")]
    pub project: bool,
    /// Only the user-wide files (~/.claude.json, ~/.codex/config.toml, …)
    #[arg(long)]
    pub user: bool,
    /// Treat this variable (or header, or flag) as a credential (repeatable; SERVER:NAME for one server)
    #[arg(long = "secret", value_name = "NAME")]
    pub secret: Vec<String>,
    /// Keep this variable (or header, or flag) as a plain setting (repeatable; SERVER:NAME for one server)
    #[arg(long = "not-secret", value_name = "NAME")]
    pub not_secret: Vec<String>,
    /// Show the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (for scripts)
    #[arg(long, short)]
    pub yes: bool,
    /// Print the plan and the result as JSON (values never included)
    #[arg(long)]
    pub json: bool,
    /// Convert another tool's CRUX_HOME instead of host configs
    #[arg(long, value_enum, value_name = "TOOL", conflicts_with_all = ["all", "project", "user", "secret", "not_secret"])]
    pub from: Option<ImportFrom>,
}

/// OAuth settings, for `mcp add --oauth` and `mcp probe`.
#[derive(Debug, Args, Default)]
pub struct OAuthArgs {
    /// A client id registered with the authorization server beforehand (else crux registers one)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Read the client secret of --client-id from standard input
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Scopes to ask for, space-separated (default: what the server's challenge or metadata names)
    #[arg(long, value_name = "\"A B\"")]
    pub scopes: Option<String>,
    /// Fixed port for the loopback redirect (default: any free port)
    #[arg(long, value_name = "PORT")]
    pub callback_port: Option<u16>,
    /// Do not send the RFC 8707 resource parameter (for servers that reject it)
    #[arg(long)]
    pub no_resource: bool,
    /// authorization-code (browser sign-in) or client-credentials (machine to machine)
    #[arg(long, value_enum, value_name = "GRANT")]
    pub grant: Option<crate::oauth::spec::Grant>,
    /// How the client authenticates to the token endpoint (private_key_jwt: crux generates an ES256 key)
    #[arg(long, value_enum, value_name = "METHOD")]
    pub auth_method: Option<crate::oauth::spec::AuthMethod>,
    /// HTTPS URL of a client ID metadata document, used as the client id where the server supports it
    #[arg(long, value_name = "URL")]
    pub client_metadata_url: Option<String>,
}

impl OAuthArgs {
    pub fn any(&self) -> bool {
        self.client_id.is_some()
            || self.client_secret_stdin
            || self.scopes.is_some()
            || self.callback_port.is_some()
            || self.no_resource
            || self.grant.is_some()
            || self.auth_method.is_some()
            || self.client_metadata_url.is_some()
    }

    pub fn to_spec(&self) -> crate::oauth::spec::OAuthSpec {
        crate::oauth::spec::OAuthSpec {
            grant: self.grant.unwrap_or_default(),
            client_id: self.client_id.clone().filter(|c| !c.is_empty()),
            auth_method: self.auth_method,
            scopes: self.scopes.clone().filter(|s| !s.trim().is_empty()),
            callback_port: self.callback_port,
            resource: !self.no_resource,
            client_metadata_url: self.client_metadata_url.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// A registered server's name, or a remote server's URL
    #[arg(value_name = "MCP|URL")]
    pub target: String,
    /// Also call this tool
    #[arg(long, value_name = "TOOL")]
    pub call: Option<String>,
    /// The tool's arguments, a JSON object
    #[arg(long, value_name = "JSON", requires = "call")]
    pub arguments: Option<String>,
    /// With a URL: read a PEM private key (ES256, PKCS#8) for private_key_jwt from standard input
    #[arg(long, conflicts_with = "client_secret_stdin")]
    pub private_key_stdin: bool,
    /// Speak only this protocol version (default: find the server's era, modern first)
    #[arg(long, value_name = "VERSION", value_parser = ["2025-11-25", "2026-07-28"])]
    pub protocol: Option<String>,
    #[command(flatten)]
    pub oauth: OAuthArgs,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
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

    /// With MCP alone: prompt again for credentials already stored, and rerun its setup command
    #[arg(long, conflicts_with_all = ["list", "delete", "var"])]
    pub refresh: bool,

    /// Every registered server that lacks a credential or its setup
    #[arg(long, conflicts_with_all = ["mcp", "list", "delete"])]
    pub all: bool,

    /// Per server: auth type, stored keys, OAuth expiry, scopes, refresh token, last refresh
    #[arg(long, conflicts_with_all = ["var", "list", "delete", "refresh", "all"])]
    pub status: bool,

    /// Refresh every OAuth token now
    #[arg(long, conflicts_with_all = ["mcp", "var", "list", "delete", "refresh", "all", "status"])]
    pub refresh_all: bool,

    /// With --refresh-all: show what would be refreshed
    #[arg(long, requires = "refresh_all")]
    pub dry_run: bool,

    /// Revoke MCP's OAuth tokens at the server (RFC 7009), then delete them here
    #[arg(long, requires = "mcp", conflicts_with_all = ["var", "list", "delete", "refresh", "all", "status"])]
    pub revoke: bool,

    /// With --revoke: only delete the tokens here, without telling the server
    #[arg(long, requires = "revoke")]
    pub local: bool,

    /// Sign in to MCP with a new dynamic client registration (when the server forgot crux's client)
    #[arg(long, requires = "mcp", conflicts_with_all = ["var", "list", "delete", "refresh", "all", "status", "revoke", "show_public_key", "client_secret_stdin"])]
    pub reregister: bool,

    /// Print the public key (JWK) to register for private_key_jwt, creating the key if needed
    #[arg(long, requires = "mcp", conflicts_with_all = ["var", "list", "delete", "refresh", "all", "status", "revoke"])]
    pub show_public_key: bool,

    /// Store MCP's OAuth client secret, read from standard input
    #[arg(long, requires = "mcp", conflicts_with_all = ["var", "stdin", "list", "delete", "refresh", "all", "status", "revoke", "show_public_key"])]
    pub client_secret_stdin: bool,

    /// With --list or --status: print JSON
    #[arg(long)]
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
        assert!(parse(&["--status", "--json"]).is_ok());
        assert!(parse(&["--revoke"]).is_err(), "--revoke needs a server");
        assert!(
            parse(&["--reregister"]).is_err(),
            "--reregister needs a server"
        );
        assert!(parse(&["linear", "--reregister"]).is_ok());
        assert!(parse(&["linear", "--reregister", "--revoke"]).is_err());
        assert!(parse(&["--refresh-all", "--dry-run"]).is_ok());
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
