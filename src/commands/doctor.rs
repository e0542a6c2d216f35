//! `crux doctor`: every check a server's start depends on, one line each, with the fix.

use crate::error::{Error, Result};
use crate::home::CruxHome;

pub fn run(_home: &CruxHome, _live: bool, _json: bool) -> Result<()> {
    Err(Error::failed("crux doctor is not built yet", "wait for it"))
}
