//! Keystores. One small trait, [`SecretStore`], with a backend per keystore; every backend
//! passes the same conformance suite (`tests/backends.rs`).
//!
//! A store holds values and nothing else: which credentials exist is the index's business
//! (`crate::index`), so listing never unlocks a keystore.

use crate::error::{Error, Result};
use crate::names::{ServerName, VarName};
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::str::FromStr;

pub mod age_file;
#[cfg(target_os = "macos")]
pub mod keychain;
#[cfg(target_os = "linux")]
pub mod secret_service;
pub mod select;

// The enum lives below the errors that name a backend; parsing one stays here, because a bad
// name is an `Error`.
pub use crate::backend::Backend;

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Backend::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| {
                Error::usage(
                    format!("unknown backend '{}'", crate::error::sanitize(s)),
                    "choose keychain, secret-service or age",
                )
            })
    }
}

/// A keystore holding credentials as one item per (server, variable).
pub trait SecretStore {
    fn backend(&self) -> Backend;

    /// Fetches the given variables of one server in one batched operation. Variables that are
    /// not stored are absent from the result.
    fn get_many(&self, mcp: &ServerName, vars: &[VarName]) -> Result<BTreeMap<VarName, Secret>>;

    /// Stores several variables of one server, replacing existing values.
    fn set_many(&self, mcp: &ServerName, values: &[(VarName, Secret)]) -> Result<()>;

    /// Removes one variable; `Ok(false)` when it was not there.
    fn delete(&self, mcp: &ServerName, var: &VarName) -> Result<bool>;

    fn get(&self, mcp: &ServerName, var: &VarName) -> Result<Option<Secret>> {
        Ok(self.get_many(mcp, std::slice::from_ref(var))?.remove(var))
    }

    fn set(&self, mcp: &ServerName, var: &VarName, value: &Secret) -> Result<()> {
        self.set_many(mcp, &[(var.clone(), value.clone())])
    }
}

/// An in-memory store for unit tests of logic that sits above the keystores. It is never
/// selectable as a backend: it does not persist.
#[cfg(test)]
#[derive(Default)]
pub struct MemoryStore {
    items: std::cell::RefCell<BTreeMap<(String, String), Secret>>,
}

#[cfg(test)]
impl SecretStore for MemoryStore {
    fn backend(&self) -> Backend {
        Backend::Age
    }
    fn get_many(&self, mcp: &ServerName, vars: &[VarName]) -> Result<BTreeMap<VarName, Secret>> {
        let items = self.items.borrow();
        Ok(vars
            .iter()
            .filter_map(|v| {
                items
                    .get(&(mcp.to_string(), v.to_string()))
                    .map(|s| (v.clone(), s.clone()))
            })
            .collect())
    }
    fn set_many(&self, mcp: &ServerName, values: &[(VarName, Secret)]) -> Result<()> {
        let mut items = self.items.borrow_mut();
        for (v, s) in values {
            items.insert((mcp.to_string(), v.to_string()), s.clone());
        }
        Ok(())
    }
    fn delete(&self, mcp: &ServerName, var: &VarName) -> Result<bool> {
        Ok(self
            .items
            .borrow_mut()
            .remove(&(mcp.to_string(), var.to_string()))
            .is_some())
    }
}
