//! One module per command group; each turns parsed arguments into work and output.

pub mod auth;
pub mod backend;

use crate::cli::{Cli, Command, McpCommand};
use crate::error::Result;
use crate::home::CruxHome;

pub fn execute(cli: Cli) -> Result<()> {
    let home = CruxHome::from_env()?;
    match cli.command {
        Command::Mcp {
            command: McpCommand::Auth(args),
        } => auth::run(args, &home),
        Command::Backend(args) => backend::run(args, &home),
    }
}
