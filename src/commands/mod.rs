//! One module per command group; each turns parsed arguments into work and output.

pub mod auth;
pub mod backend;
pub mod doctor;
pub mod host;
pub mod import;
pub mod input;
pub mod mcp;
pub mod oauth;
pub mod project;

use crate::cli::{Cli, Command, McpCommand};
use crate::error::Result;
use crate::home::CruxHome;

pub fn execute(cli: Cli) -> Result<()> {
    if let Command::Doctor { live, json } = cli.command {
        // Doctor reports a CRUX_HOME others can read instead of refusing it, and writes nothing.
        return doctor::run(&CruxHome::locate()?, live, json);
    }
    if let Command::Import(args) = cli.command {
        // crux-cli creates `~/.crux` readable by others (0755), which crux refuses; the command
        // that converts it takes it as it is, and makes it private once confirmed.
        let located = CruxHome::locate()?;
        let home = if args.from == Some(crate::cli::ImportFrom::CruxCli)
            && crate::import::crux_cli::only_readable(located.root())
        {
            located
        } else {
            CruxHome::from_env()?
        };
        crate::index::Index::persist_migration(&home)?;
        return import::run(*args, &home);
    }
    let home = CruxHome::from_env()?;
    if !matches!(
        cli.command,
        Command::Launch { .. }
            | Command::Bridge
            | Command::Headers { .. }
            | Command::Completions { .. }
    ) {
        // The launchers only read; every other command may change a registration.
        crate::index::Index::persist_migration(&home)?;
    }
    match cli.command {
        Command::Mcp { command } => match command {
            McpCommand::Add(args) => mcp::add(*args, &home),
            McpCommand::List { json } => mcp::list(&home, json),
            McpCommand::Show { name, json } => mcp::show(&home, &name, json),
            McpCommand::Remove {
                name,
                yes,
                keep_secrets,
            } => mcp::remove(&home, &name, yes, keep_secrets),
            McpCommand::Bind { name, yes } => mcp::bind(&home, &name, yes),
            McpCommand::Upgrade {
                names,
                all,
                to,
                yes,
            } => mcp::upgrade(&home, &names, all, to.as_deref(), yes),
            McpCommand::Auth(args) => auth::run(args, &home),
            McpCommand::Probe(args) => oauth::probe(*args, &home),
        },
        Command::Project { command } => project::run(command, &home),
        Command::Backend(args) => backend::run(args, &home),
        Command::Launch { command } => Err(crate::launch::run(&command, &home)),
        Command::Bridge => crate::bridge::run(&home),
        Command::Headers { name, no_url_check } => oauth::headers(&home, &name, no_url_check),
        Command::Host { command } => host::run(command, &home),
        Command::Import(_) => unreachable!("handled above"),
        Command::Doctor { .. } => unreachable!("handled above"),
        Command::Completions { shell } => {
            print!("{}", completion_script(shell));
            Ok(())
        }
    }
}

/// The completion script for `shell`, generated from the CLI definition.
pub fn completion_script(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(
        shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "crux",
        &mut out,
    );
    String::from_utf8(out).expect("completion scripts are UTF-8")
}

/// Prints rows under a header, columns padded to their widest cell.
pub fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
