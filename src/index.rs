//! The values-free index, `CRUX_HOME/secrets.json`: which credentials exist for which server,
//! in which backend, of which auth type, stored when. It never holds a value nor anything
//! derived from one (no hash, no length). Listing and preflight read it, so they never unlock
//! a keystore; the launcher reads it to know which backend holds each credential, and which
//! registration each credential is bound to (a fingerprint of what the registration runs,
//! never of a value).

use crate::backend::Backend;
use crate::error::Result;
use crate::home::CruxHome;
use crate::jsonfile;
use crate::names::{ServerName, VarName};
// Its old home: many callers still find it here.
pub use crate::clock::now_rfc3339;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// 2: credentials carry the registration they are bound to.
pub(crate) const VERSION: u64 = 2;

/// How a credential reaches its server (the reference guide's auth types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthType {
    Keychain,
    Bearer,
    ExternalCli,
    SetupCmd,
    Oauth,
}

impl AuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Keychain => "keychain",
            AuthType::Bearer => "bearer",
            AuthType::ExternalCli => "external-cli",
            AuthType::SetupCmd => "setup-cmd",
            AuthType::Oauth => "oauth",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credential {
    pub backend: Backend,
    pub auth_type: AuthType,
    /// RFC 3339, UTC.
    pub stored_at: String,
    /// The fingerprint of the registration this credential was stored for or confirmed for
    /// ([`crate::registry::Registered::fingerprint`]); `None`: stored before its server was
    /// registered. The launcher hands a credential only to the registration it is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_to: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerEntry {
    #[serde(default)]
    pub credentials: BTreeMap<String, Credential>,
    /// OAuth metadata (endpoints, client id, expiry, scopes); the tokens are in the keystore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<crate::oauth_meta::OAuthState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    pub version: u64,
    #[serde(default)]
    pub servers: BTreeMap<String, ServerEntry>,
    /// Loaded from an older format and brought up to date in memory, not on disk yet.
    #[serde(skip)]
    migrated: bool,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            version: VERSION,
            servers: BTreeMap::new(),
            migrated: false,
        }
    }
}

impl Index {
    pub fn load(home: &CruxHome) -> Result<Index> {
        let mut index: Index = jsonfile::load(&home.index_path(), VERSION)?.unwrap_or_default();
        if index.version < 2 {
            // Credentials stored before bindings existed belong to the registrations the user
            // made then: bind them to those, once (the next save keeps it).
            let registry = crate::registry::Registry::load_unchecked(home)?;
            for (name, entry) in index.servers.iter_mut() {
                if let Some(registered) = registry.servers.get(name) {
                    let fingerprint = registered.fingerprint();
                    for cred in entry.credentials.values_mut() {
                        cred.bound_to.get_or_insert_with(|| fingerprint.clone());
                    }
                }
            }
            index.version = VERSION;
            index.migrated = true;
        }
        Ok(index)
    }

    /// Writes an index loaded from an older format back in the current one, before a
    /// command changes any registration: credentials from before bindings existed stay bound
    /// to the registrations they were stored for, whatever the command changes next. Quietly
    /// does nothing when the index cannot be read (the command itself says so if it needs it).
    pub fn persist_migration(home: &CruxHome) -> Result<()> {
        if !Index::load(home).is_ok_and(|i| i.migrated) {
            return Ok(());
        }
        let _lock = home.lock()?;
        match Index::load(home) {
            Ok(index) if index.migrated => index.save(home),
            _ => Ok(()),
        }
    }

    /// Saves; the caller holds the CRUX_HOME lock.
    pub fn save(&self, home: &CruxHome) -> Result<()> {
        home.ensure()?;
        jsonfile::save(&home.index_path(), self)
    }

    pub fn get(&self, mcp: &ServerName, var: &VarName) -> Option<&Credential> {
        self.servers
            .get(mcp.as_str())?
            .credentials
            .get(var.as_str())
    }

    /// Records a credential just stored, bound to `bound_to` (the fingerprint of the server's
    /// registration, `None` when it is not registered).
    pub fn record(
        &mut self,
        mcp: &ServerName,
        var: &VarName,
        backend: Backend,
        auth_type: AuthType,
        bound_to: Option<String>,
    ) {
        self.servers
            .entry(mcp.to_string())
            .or_default()
            .credentials
            .insert(
                var.to_string(),
                Credential {
                    backend,
                    auth_type,
                    stored_at: now_rfc3339(),
                    bound_to,
                },
            );
    }

    /// The server's stored credentials that are not bound to `fingerprint`.
    pub fn unbound(&self, mcp: &str, fingerprint: &str) -> Vec<String> {
        self.servers
            .get(mcp)
            .map(|e| {
                e.credentials
                    .iter()
                    .filter(|(_, c)| c.bound_to.as_deref() != Some(fingerprint))
                    .map(|(v, _)| v.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Moves the credentials bound to registration `from` to `to` (the user approved the
    /// change from one to the other, as in an upgrade).
    pub fn rebind(&mut self, mcp: &str, from: &str, to: &str) {
        if let Some(entry) = self.servers.get_mut(mcp) {
            for cred in entry.credentials.values_mut() {
                if cred.bound_to.as_deref() == Some(from) {
                    cred.bound_to = Some(to.to_string());
                }
            }
        }
    }

    /// Binds every stored credential of a server to `fingerprint` (the user confirmed it).
    pub fn bind_all(&mut self, mcp: &str, fingerprint: &str) {
        if let Some(entry) = self.servers.get_mut(mcp) {
            for cred in entry.credentials.values_mut() {
                cred.bound_to = Some(fingerprint.to_string());
            }
        }
    }

    pub fn remove(&mut self, mcp: &ServerName, var: &VarName) -> Option<Credential> {
        let entry = self.servers.get_mut(mcp.as_str())?;
        let removed = entry.credentials.remove(var.as_str());
        if entry.credentials.is_empty() && entry.oauth.is_none() {
            self.servers.remove(mcp.as_str());
        }
        removed
    }

    pub fn oauth(&self, mcp: &ServerName) -> Option<&crate::oauth_meta::OAuthState> {
        self.servers.get(mcp.as_str())?.oauth.as_ref()
    }

    /// Sets or clears a server's OAuth metadata.
    pub fn set_oauth(&mut self, mcp: &ServerName, state: Option<crate::oauth_meta::OAuthState>) {
        match state {
            Some(state) => self.servers.entry(mcp.to_string()).or_default().oauth = Some(state),
            None => {
                if let Some(entry) = self.servers.get_mut(mcp.as_str()) {
                    entry.oauth = None;
                    if entry.credentials.is_empty() {
                        self.servers.remove(mcp.as_str());
                    }
                }
            }
        }
    }

    /// How many credentials each backend holds.
    pub fn counts_by_backend(&self) -> BTreeMap<Backend, usize> {
        let mut counts = BTreeMap::new();
        for (_, _, cred) in self.iter() {
            *counts.entry(cred.backend).or_insert(0) += 1;
        }
        counts
    }

    /// Every credential, as (server, variable, metadata), sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Credential)> {
        self.servers.iter().flat_map(|(mcp, entry)| {
            entry
                .credentials
                .iter()
                .map(move |(var, cred)| (mcp.as_str(), var.as_str(), cred))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_remove() {
        let mut idx = Index::default();
        let (gh, tok) = (
            ServerName::parse("gh").unwrap(),
            VarName::parse("TOKEN").unwrap(),
        );
        idx.record(&gh, &tok, Backend::Age, AuthType::Keychain, None);
        assert_eq!(idx.get(&gh, &tok).unwrap().backend, Backend::Age);
        let json = serde_json::to_string(&idx).unwrap();
        assert!(
            json.contains(r#""backend":"age""#) && json.contains(r#""auth_type":"keychain""#),
            "{json}"
        );
        assert!(idx.remove(&gh, &tok).is_some());
        assert!(idx.servers.is_empty(), "an empty server is dropped");
    }
}
