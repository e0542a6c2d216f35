use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = crux::cli::Cli::parse();
    match crux::commands::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.render());
            e.exit_code()
        }
    }
}
