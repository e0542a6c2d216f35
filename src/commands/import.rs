//! `crux import`: the plaintext credentials of existing host configs into the keystore, the
//! host files rewritten with crux's entries; or a crux-cli `CRUX_HOME` converted.

use crate::cli::{ImportArgs, ImportFrom};
use crate::error::{Error, Result};
use crate::home::CruxHome;

pub fn run(args: ImportArgs, home: &CruxHome) -> Result<()> {
    if args.from == Some(ImportFrom::CruxCli) {
        return crate::import::crux_cli::run(home, args.dry_run, args.yes, args.json);
    }
    Err(Error::failed(
        "importing host configs is not built yet",
        "wait for the next release",
    ))
}
