//! The macOS Keychain backend: generic passwords with service `crux.<mcp>` and account `<VAR>`,
//! readable by `security find-generic-password -s crux.<mcp> -a <VAR> -w`.
//!
//! Built on `security-framework`'s password API. It cannot be built or tested on the Linux CI;
//! it is kept to the three calls that API documents.

use super::{Backend, SecretStore};
use crate::error::{Error, Result};
use crate::names::{ServerName, VarName};
use crate::secret::Secret;
use security_framework::passwords;
use std::collections::BTreeMap;

/// `errSecItemNotFound`.
const NOT_FOUND: i32 = -25300;
/// `errSecInteractionNotAllowed` (locked, no UI), `errSecUserCanceled` (access denied at the
/// prompt), `errSecAuthFailed` (wrong keychain password).
const LOCKED: [i32; 3] = [-25308, -128, -25293];

pub struct KeychainStore;

fn keychain_error(e: security_framework::base::Error) -> Error {
    if LOCKED.contains(&e.code()) {
        Error::StoreLocked {
            backend: Backend::Keychain,
            detail: Some(e.to_string()),
        }
    } else {
        Error::StoreFailed {
            backend: Backend::Keychain,
            reason: e.to_string(),
        }
    }
}

impl SecretStore for KeychainStore {
    fn backend(&self) -> Backend {
        Backend::Keychain
    }

    fn get_many(&self, mcp: &ServerName, vars: &[VarName]) -> Result<BTreeMap<VarName, Secret>> {
        let service = mcp.service();
        let mut out = BTreeMap::new();
        for var in vars {
            match passwords::get_generic_password(&service, var.as_str()) {
                Ok(bytes) => {
                    let text = String::from_utf8(bytes).map_err(|_| Error::StoreFailed {
                        backend: Backend::Keychain,
                        reason: format!("the value of {var} is not UTF-8 text"),
                    })?;
                    out.insert(var.clone(), Secret::new(text));
                }
                Err(e) if e.code() == NOT_FOUND => {}
                Err(e) => return Err(keychain_error(e)),
            }
        }
        Ok(out)
    }

    fn set_many(&self, mcp: &ServerName, values: &[(VarName, Secret)]) -> Result<()> {
        let service = mcp.service();
        for (var, secret) in values {
            passwords::set_generic_password(&service, var.as_str(), secret.expose().as_bytes())
                .map_err(keychain_error)?;
        }
        Ok(())
    }

    fn delete(&self, mcp: &ServerName, var: &VarName) -> Result<bool> {
        match passwords::delete_generic_password(&mcp.service(), var.as_str()) {
            Ok(()) => Ok(true),
            Err(e) if e.code() == NOT_FOUND => Ok(false),
            Err(e) => Err(keychain_error(e)),
        }
    }
}
