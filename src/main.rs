use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`crux mcp auth --list | head -1`), like other Unix tools,
    // instead of panicking in println!.
    // SAFETY: called first thing, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = crux::cli::Cli::parse();
    match crux::commands::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.render());
            if matches!(e, crux::error::Error::Launch(_)) {
                // A launcher's failure: hosts hide stderr, so their first request gets it too.
                crux::first_request::answer(&e);
            }
            e.exit_code()
        }
    }
}
