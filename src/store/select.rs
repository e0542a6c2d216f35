//! Which backend this process uses, and why (DESIGN.md: `CRUX_BACKEND`, else the saved setting,
//! else an automatic choice), and opening a backend by name.

use super::{age_file::AgeFileStore, Backend, SecretStore};
use crate::error::{Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::settings::Settings;

/// Why a backend is the active one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Env,
    Saved,
    Automatic(String),
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub backend: Backend,
    pub reason: Reason,
}

impl Choice {
    pub fn explain(&self) -> String {
        match &self.reason {
            Reason::Env => "set by CRUX_BACKEND for this process".into(),
            Reason::Saved => "saved in settings.json by `crux backend set` or `migrate`".into(),
            Reason::Automatic(why) => format!("automatic: {why}"),
        }
    }
}

/// The active backend. Only an automatic choice probes a keystore.
pub fn choose(home: &CruxHome) -> Result<Choice> {
    if let Some(name) = std::env::var_os("CRUX_BACKEND").filter(|v| !v.is_empty()) {
        let backend = name
            .to_str()
            .and_then(|n| n.parse::<Backend>().ok())
            .ok_or_else(|| {
                Error::usage(
                    format!(
                        "CRUX_BACKEND='{}' is not a backend",
                        crate::error::sanitize(&name.to_string_lossy())
                    ),
                    "set CRUX_BACKEND to keychain, secret-service or age, or unset it",
                )
            })?;
        return Ok(Choice {
            backend,
            reason: Reason::Env,
        });
    }
    if let Some(backend) = Settings::load(home)?.backend {
        return Ok(Choice {
            backend,
            reason: Reason::Saved,
        });
    }
    // Once credentials are stored, the automatic choice stays with their backend: a keyring
    // that is locked or unreachable today is an error to fix, not a reason to scatter new
    // credentials into another store.
    if let Some((backend, count)) = backend_in_use(&Index::load(home)?) {
        return Ok(Choice {
            backend,
            reason: Reason::Automatic(format!("{count} stored credential(s) are in {backend}")),
        });
    }
    Ok(automatic())
}

/// The backend holding most of the indexed credentials.
fn backend_in_use(index: &Index) -> Option<(Backend, usize)> {
    index
        .counts_by_backend()
        .into_iter()
        .max_by_key(|(_, n)| *n)
}

#[cfg(target_os = "macos")]
fn automatic() -> Choice {
    Choice {
        backend: Backend::Keychain,
        reason: Reason::Automatic("macOS has the Keychain".into()),
    }
}

#[cfg(target_os = "linux")]
fn automatic() -> Choice {
    match super::secret_service::probe() {
        Ok(why) => Choice {
            backend: Backend::SecretService,
            reason: Reason::Automatic(why),
        },
        Err(why) => Choice {
            backend: Backend::Age,
            reason: Reason::Automatic(format!("no usable Secret Service ({why})")),
        },
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn automatic() -> Choice {
    Choice {
        backend: Backend::Age,
        reason: Reason::Automatic("no OS keystore is supported on this platform".into()),
    }
}

/// Opens a backend. A backend this platform lacks is an error, never a silent substitute.
pub fn open(backend: Backend, home: &CruxHome) -> Result<Box<dyn SecretStore>> {
    match backend {
        Backend::Age => Ok(Box::new(AgeFileStore::new(home))),
        #[cfg(target_os = "linux")]
        Backend::SecretService => Ok(Box::new(
            super::secret_service::SecretServiceStore::connect()?,
        )),
        #[cfg(target_os = "macos")]
        Backend::Keychain => Ok(Box::new(super::keychain::KeychainStore)),
        #[allow(unreachable_patterns)]
        other => Err(Error::StoreUnavailable {
            backend: other,
            reason: format!("{other} is not available on this platform"),
        }),
    }
}

/// The stored values of `vars` of `mcp`, in one batch per backend — the backend the index
/// records for each — and only those bound to the registration `fingerprint` (a value stored
/// for another definition is not handed over until the user confirms this one). `unbound` and
/// `missing` (listed in the index, not in its backend, or empty) say what the caller's user
/// does about it.
pub fn read_bound(
    home: &CruxHome,
    index: &Index,
    mcp: &crate::names::ServerName,
    fingerprint: &str,
    vars: &[crate::names::VarName],
    unbound: impl Fn(&crate::names::VarName) -> Error,
    missing: impl Fn(&crate::names::VarName, Backend) -> Error,
) -> Result<std::collections::BTreeMap<crate::names::VarName, crate::secret::Secret>> {
    use crate::names::VarName;
    use std::collections::BTreeMap;
    let mut by_backend: BTreeMap<Backend, Vec<VarName>> = BTreeMap::new();
    for var in vars {
        let cred = index.get(mcp, var).ok_or_else(|| Error::NotStored {
            mcp: mcp.to_string(),
            var: var.to_string(),
        })?;
        if cred.bound_to.as_deref() != Some(fingerprint) {
            return Err(unbound(var));
        }
        by_backend
            .entry(cred.backend)
            .or_default()
            .push(var.clone());
    }
    let mut values = BTreeMap::new();
    for (backend, wanted) in &by_backend {
        let mut got = open(*backend, home)?.get_many(mcp, wanted)?;
        for var in wanted {
            match got.remove(var) {
                Some(secret) if !secret.is_empty() => {
                    values.insert(var.clone(), secret);
                }
                _ => return Err(missing(var, *backend)),
            }
        }
    }
    Ok(values)
}
