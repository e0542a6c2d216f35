//! crux-cli (PyPI `crux-cli` 1.0.x, the Python tool the reference guide describes) keeps a
//! `~/.crux` of its own shape: detected so it is never reported as corrupt, and converted into
//! crux's files and keystore naming by `crux import --from crux-cli`.

use crate::error::{Error, Result};
use crate::home::CruxHome;

/// `crux import --from crux-cli`.
pub fn run(_home: &CruxHome, _dry_run: bool, _yes: bool, _json: bool) -> Result<()> {
    Err(Error::failed(
        "importing from crux-cli is not built yet",
        "wait for the next release",
    ))
}
