//! `crux host add | remove | list`: hosts configured per user.

use crate::cli::HostCommand;
use crate::error::{Error, Result};
use crate::home::CruxHome;

pub fn run(_command: HostCommand, _home: &CruxHome) -> Result<()> {
    Err(Error::failed("crux host is not built yet", "wait for it"))
}
