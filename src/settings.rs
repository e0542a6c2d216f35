//! `CRUX_HOME/settings.json`: the user's saved choices (today: the backend).

use crate::backend::Backend;
use crate::error::Result;
use crate::home::CruxHome;
use crate::jsonfile;
use serde::{Deserialize, Serialize};

const VERSION: u64 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            version: VERSION,
            backend: None,
        }
    }
}

impl Settings {
    pub fn load(home: &CruxHome) -> Result<Settings> {
        Ok(jsonfile::load(&home.settings_path(), VERSION)?.unwrap_or_default())
    }

    /// Saves; the caller holds the CRUX_HOME lock.
    pub fn save(&self, home: &CruxHome) -> Result<()> {
        home.ensure()?;
        jsonfile::save(&home.settings_path(), self)
    }
}
