//! `CRUX_HOME`: where every file crux keeps lives (DESIGN.md, "Locations").

use crate::error::{Error, Result};
use crate::fsutil::{self, Lock};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct CruxHome {
    root: PathBuf,
}

impl CruxHome {
    /// `CRUX_HOME` when set, else `~/.crux`.
    pub fn from_env() -> Result<CruxHome> {
        let home = CruxHome::locate()?;
        // Another user's CRUX_HOME, or one that others can read or write, is not ours to use.
        fsutil::check_private(&home.root).map_err(|e| {
            // crux-cli creates ~/.crux with the umask's mode (0755): say what it is.
            if crate::legacy_files::present(&home.root) {
                Error::failed(
                    format!("{e}; it holds crux-cli's files (the Python tool)"),
                    format!(
                        "{}, then convert them: crux import --from crux-cli",
                        e.fix().unwrap_or_default()
                    ),
                )
            } else {
                e
            }
        })?;
        Ok(home)
    }

    /// Where `CRUX_HOME` is, without checking its owner and mode: for `crux doctor`, which
    /// reports them.
    pub fn locate() -> Result<CruxHome> {
        let root = match std::env::var_os("CRUX_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => dirs::home_dir()
                .ok_or_else(|| {
                    Error::usage(
                        "cannot find your home directory",
                        "set HOME, or CRUX_HOME to where crux keeps its files",
                    )
                })?
                .join(".crux"),
        };
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map_err(|e| Error::io("cannot resolve CRUX_HOME", e))?
                .join(root)
        };
        Ok(CruxHome { root })
    }

    pub fn at(root: impl Into<PathBuf>) -> CruxHome {
        CruxHome { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the directory (0700) if needed.
    pub fn ensure(&self) -> Result<()> {
        fsutil::ensure_private_dir(&self.root)
    }

    /// Takes the writers' lock (creating `CRUX_HOME` first).
    pub fn lock(&self) -> Result<Lock> {
        self.ensure()?;
        Lock::acquire(&self.root.join("crux.lock"))
    }

    pub fn index_path(&self) -> PathBuf {
        self.root.join("secrets.json")
    }
    pub fn registry_path(&self) -> PathBuf {
        self.root.join("registry.json")
    }
    pub fn projects_path(&self) -> PathBuf {
        self.root.join("projects.json")
    }
    pub fn launchers_dir(&self) -> PathBuf {
        self.root.join("launchers")
    }
    /// Where servers from npm and PyPI are installed, one folder each.
    pub fn mcps_dir(&self) -> PathBuf {
        self.root.join("mcps")
    }
    pub fn settings_path(&self) -> PathBuf {
        self.root.join("settings.json")
    }
    pub fn age_store_path(&self) -> PathBuf {
        self.root.join("secrets.age")
    }
    pub fn age_identity_path(&self) -> PathBuf {
        self.root.join("age-identity.key")
    }
}
