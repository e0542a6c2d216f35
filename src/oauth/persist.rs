//! Persistence of a session: the non-secret half mirrored into the index
//! (`secrets.json`), the secret half into the keystore. Every write takes the CRUX_HOME lock;
//! values never reach the index.

use super::*;

impl Session {
    /// Re-reads the index and the keystore (another crux process may have refreshed).
    pub(super) fn reload(&mut self) -> Result<()> {
        let (Some(home), Some(name)) = (&self.home, &self.name) else {
            return Ok(());
        };
        let index = Index::load(home)?;
        self.state = index
            .servers
            .get(name.as_str())
            .and_then(|e| e.oauth.clone())
            .unwrap_or_default();
        let stored: Vec<(VarName, Backend)> = ACCOUNTS
            .iter()
            .map(|a| account(a))
            .filter_map(|a| index.get(name, &a).map(|c| (a, c.backend)))
            .collect();
        self.backend = stored.first().map(|(_, b)| *b);
        self.access = None;
        self.refresh = None;
        self.client_secret = None;
        self.private_key = None;
        self.registration_token = None;
        if let Some(backend) = self.backend {
            let store = select::open(backend, home)?;
            let wanted: Vec<VarName> = stored.iter().map(|(a, _)| a.clone()).collect();
            let mut got = store.get_many(name, &wanted)?;
            self.access = got.remove(&account(ACCESS_TOKEN));
            self.refresh = got.remove(&account(REFRESH_TOKEN));
            self.client_secret = got.remove(&account(CLIENT_SECRET));
            self.private_key = got.remove(&account(PRIVATE_KEY));
            self.registration_token = got.remove(&account(REGISTRATION_TOKEN));
        }
        // Tokens obtained for another URL (the server was registered again with a new one)
        // are never sent to this one.
        if let Some(resource) = &self.state.resource {
            let here = discovery::canonical_resource(&self.server_url)?;
            if !discovery::resource_matches(resource, &here) {
                self.access = None;
                self.refresh = None;
                self.state.expires_at = None;
                self.state.lifetime = None;
                self.state.has_refresh_token = false;
                if self.state.client_source == Some(ClientSource::Dynamic) {
                    self.drop_client();
                }
            }
        }
        Ok(())
    }

    /// Writes changed secrets (`None` deletes) and the state, under the CRUX_HOME lock. The
    /// refresh token is written in the same keystore operation as the access token and
    /// before it in order, so a rotated refresh token is never lost.
    pub(super) fn persist(&mut self, changes: &[(&str, Option<&Secret>)]) -> Result<()> {
        let (Some(home), Some(name)) = (self.home.clone(), self.name.clone()) else {
            return Ok(());
        };
        let backend = match self.backend {
            Some(b) => b,
            None => select::choose(&home)?.backend,
        };
        let store = select::open(backend, &home)?;
        let _lock = home.lock()?;
        let mut index = Index::load(&home)?;
        let mut sets: Vec<(VarName, Secret)> = Vec::new();
        for (acct, value) in changes {
            if let Some(v) = value {
                sets.push((account(acct), (*v).clone()));
            }
        }
        sets.sort_by_key(|(a, _)| a.as_str() != REFRESH_TOKEN);
        if !sets.is_empty() {
            store.set_many(&name, &sets)?;
        }
        for (acct, value) in changes {
            let var = account(acct);
            match value {
                // OAuth tokens are bound to their resource (the registered URL) instead.
                Some(_) => index.record(&name, &var, backend, AuthType::Oauth, None),
                None => {
                    if index.get(&name, &var).is_some() {
                        store.delete(&name, &var)?;
                        index.remove(&name, &var);
                    }
                }
            }
        }
        index.set_oauth(&name, Some(self.state.clone()));
        index.save(&home)?;
        self.backend = Some(backend);
        Ok(())
    }

    /// Deletes the tokens here (the client registration stays).
    pub fn forget_tokens(&mut self) -> Result<()> {
        self.access = None;
        self.refresh = None;
        self.state.expires_at = None;
        self.state.lifetime = None;
        self.state.has_refresh_token = false;
        self.state.obtained_at = None;
        self.state.last_refresh = None;
        self.persist(&[(ACCESS_TOKEN, None), (REFRESH_TOKEN, None)])
    }
}

/// Deletes a server's OAuth tokens and session state (its client secret and private key, which
/// the user provided or registered, stay). For a registration that changed URL or OAuth
/// settings: tokens obtained for the old one must not be used with the new one.
pub fn forget_session(home: &CruxHome, name: &ServerName) -> Result<bool> {
    let _lock = home.lock()?;
    let mut index = Index::load(home)?;
    let mut changed = index.oauth(name).is_some();
    // The registration token is of no use without the registration state it goes with.
    changed |= delete_accounts(
        home,
        &mut index,
        name,
        &[ACCESS_TOKEN, REFRESH_TOKEN, REGISTRATION_TOKEN],
    )?;
    index.set_oauth(name, None);
    if changed {
        index.save(home)?;
    }
    Ok(changed)
}

/// Forgets the client registration crux made for a server (dynamic, or a client ID metadata
/// document) and the tokens issued to it, so that the next sign-in registers again (`mcp
/// auth --reregister`, `mcp add --force`). A pre-registered client id stays: the user gave
/// it. Returns whether there was such a registration.
pub fn forget_registration(home: &CruxHome, name: &ServerName) -> Result<bool> {
    let _lock = home.lock()?;
    let mut index = Index::load(home)?;
    let Some(mut state) = index.oauth(name).cloned() else {
        return Ok(false);
    };
    let accounts: &[&str] = match state.client_source {
        // Its secret came with the registration.
        Some(ClientSource::Dynamic) => &[
            ACCESS_TOKEN,
            REFRESH_TOKEN,
            CLIENT_SECRET,
            REGISTRATION_TOKEN,
        ],
        Some(ClientSource::MetadataDocument) => &[ACCESS_TOKEN, REFRESH_TOKEN],
        _ => return Ok(false),
    };
    delete_accounts(home, &mut index, name, accounts)?;
    state.forget_client();
    state.expires_at = None;
    state.lifetime = None;
    state.has_refresh_token = false;
    state.obtained_at = None;
    state.last_refresh = None;
    index.set_oauth(name, Some(state));
    index.save(home)?;
    Ok(true)
}

/// Deletes the given accounts of a server from their keystores and the index (the caller
/// holds the lock and saves the index). Returns whether any was stored.
fn delete_accounts(
    home: &CruxHome,
    index: &mut Index,
    name: &ServerName,
    accounts: &[&str],
) -> Result<bool> {
    let mut any = false;
    for acct in accounts {
        let var = account(acct);
        if let Some(cred) = index.get(name, &var).cloned() {
            select::open(cred.backend, home)?.delete(name, &var)?;
            index.remove(name, &var);
            any = true;
        }
    }
    Ok(any)
}
