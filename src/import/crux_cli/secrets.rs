//! crux-cli's secrets: read from where crux-cli kept them (its age store encrypted to
//! `identity`, Secret Service items named by `account`, Keychain items named as crux names
//! them), then adopted into crux's naming and read back through crux's own store. Values stay
//! in [`Secret`]s; errors name the server, the variable and the item, never a value.

use super::files::COMMAND;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::names::{ServerName, VarName};
use crate::secret::Secret;
use crate::store::{select, Backend};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// One secret found in crux-cli's keystore.
pub struct Found {
    pub mcp: ServerName,
    pub var: VarName,
    pub secret: Secret,
    /// The Secret Service item holding it (its D-Bus path), when that is where it was.
    pub item: Option<String>,
    pub from: Backend,
}

/// A secret crux-cli's index lists but no keystore holds.
pub type Missing = (ServerName, VarName);

/// The contents of crux-cli's age store: `{"<mcp>": {"<KEY>": "value"}}`.
pub type AgeContents = BTreeMap<String, BTreeMap<String, Zeroizing<String>>>;

fn unreadable(what: String, fix: String) -> Error {
    Error::failed(format!("{what}; nothing was changed"), fix)
}

/// Decrypts crux-cli's `secrets.age` with its `identity` (age-keygen's format).
pub fn decrypt_age(identity: &Path, store: &Path) -> Result<AgeContents> {
    let fix_identity = format!(
        "restore crux-cli's identity {} from your backup, then run: {COMMAND}",
        identity.display()
    );
    fsutil::check_private(identity)?;
    let key_text = Zeroizing::new(fsutil::read_optional(identity)?.unwrap_or_default());
    let key = std::str::from_utf8(&key_text)
        .ok()
        .and_then(|t| {
            t.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .and_then(|l| l.parse::<age::x25519::Identity>().ok())
        })
        .ok_or_else(|| {
            unreadable(
                format!(
                    "crux-cli's age identity {} holds no AGE-SECRET-KEY-1… line",
                    identity.display()
                ),
                fix_identity.clone(),
            )
        })?;
    let bytes = fsutil::read_optional(store)?.unwrap_or_default();
    let cannot = |why: String| {
        unreadable(
            format!("crux-cli's age store {} cannot be read: {why}", store.display()),
            format!(
                "restore {} from your backup (it must decrypt with: age -d -i {} {0}), then run: {COMMAND}",
                store.display(),
                identity.display()
            ),
        )
    };
    let decryptor = age::Decryptor::new(age::armor::ArmoredReader::new(&bytes[..]))
        .map_err(|e| cannot(format!("it is not an age file ({e})")))?;
    let mut plain = Zeroizing::new(Vec::new());
    decryptor
        .decrypt(std::iter::once(&key as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                cannot(format!("it is not encrypted to {}", identity.display()))
            }
            e => cannot(format!("it does not decrypt ({e})")),
        })?
        .read_to_end(&mut plain)
        .map_err(|e| cannot(format!("it does not decrypt ({e})")))?;
    serde_json::from_slice::<AgeContents>(&plain).map_err(|e| {
        cannot(format!(
            "its content is not crux-cli's {{\"<mcp>\": {{\"<KEY>\": \"value\"}}}} ({})",
            crate::error::json_error(&e)
        ))
    })
}

/// Whether crux-cli's age store decrypts with its identity, i.e. is crux-cli's (and not a
/// store crux wrote under the same name).
pub fn is_cli_age(identity: &Path, store: &Path) -> bool {
    decrypt_age(identity, store).is_ok()
}

/// Reads every wanted secret from crux-cli's keystore `backend` (with crux-cli's own
/// fallback, its age store, for what is not there). Returns what was found and what crux-cli's
/// index lists but no keystore holds.
pub fn read_all(
    backend: Backend,
    age: Option<&AgeContents>,
    wanted: &[(ServerName, Vec<VarName>)],
    home: &crate::home::CruxHome,
) -> Result<(Vec<Found>, Vec<Missing>)> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (mcp, vars) in wanted {
        let names = || {
            vars.iter()
                .map(VarName::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut got: BTreeMap<VarName, (Secret, Option<String>, Backend)> = BTreeMap::new();
        match backend {
            #[cfg(target_os = "linux")]
            Backend::SecretService => {
                let store = connect_secret_service(age.is_some())?;
                if let Some(store) = store {
                    let items = store.get_many_by(mcp, vars, "account").map_err(|e| {
                        unreadable(
                            format!(
                                "crux-cli's secrets of '{mcp}' ({}: Secret Service items service=crux.{mcp} account=<KEY>) cannot be read: {}",
                                names(),
                                e
                            ),
                            format!(
                                "{}, then run: {COMMAND}",
                                e.fix().unwrap_or_else(|| "fix the keystore".into())
                            ),
                        )
                    })?;
                    for (var, item) in items {
                        got.insert(var, (item.secret, Some(item.path), Backend::SecretService));
                    }
                }
            }
            Backend::Age => {}
            other => {
                // The Keychain: crux-cli names items as crux does (service crux.<mcp>,
                // account <KEY>), so crux's own store reads them.
                let store = select::open(other, home)?;
                let items = store.get_many(mcp, vars).map_err(|e| {
                    unreadable(
                        format!(
                            "crux-cli's secrets of '{mcp}' ({}) in the {other} cannot be read: {e}",
                            names()
                        ),
                        format!(
                            "{}, then run: {COMMAND}",
                            e.fix().unwrap_or_else(|| "fix the keystore".into())
                        ),
                    )
                })?;
                for (var, secret) in items {
                    got.insert(var, (secret, None, other));
                }
            }
        }
        for var in vars {
            if got.contains_key(var) {
                continue;
            }
            let in_age = age
                .and_then(|a| a.get(mcp.as_str()))
                .and_then(|m| m.get(var.as_str()));
            match in_age {
                Some(value) => {
                    got.insert(
                        var.clone(),
                        (Secret::from(value.clone()), None, Backend::Age),
                    );
                }
                None => missing.push((mcp.clone(), var.clone())),
            }
        }
        for (var, (secret, item, from)) in got {
            if secret.is_empty() {
                missing.push((mcp.clone(), var));
                continue;
            }
            found.push(Found {
                mcp: mcp.clone(),
                var,
                secret,
                item,
                from,
            });
        }
    }
    Ok((found, missing))
}

/// The Secret Service, or `None` when it is unreachable and crux-cli fell back to its age
/// store (as crux-cli does).
#[cfg(target_os = "linux")]
fn connect_secret_service(
    age_fallback: bool,
) -> Result<Option<crate::store::secret_service::SecretServiceStore>> {
    match crate::store::secret_service::SecretServiceStore::connect() {
        Ok(s) => Ok(Some(s)),
        Err(Error::StoreUnavailable { .. }) if age_fallback => Ok(None),
        Err(e) => Err(unreadable(
            format!("crux-cli's secrets are in the Secret Service, which cannot be reached: {e}"),
            format!(
                "{}, then run: {COMMAND}",
                e.fix().unwrap_or_else(|| "start the Secret Service".into())
            ),
        )),
    }
}

/// Keystore changes made, to put back on failure: Secret Service items given `username`, and
/// copies crux made in an OS keystore where it held none (crux's age file is put back whole).
#[derive(Default)]
pub struct Adopted {
    #[cfg(target_os = "linux")]
    items: Vec<(String, std::collections::HashMap<String, String>)>,
    pub created: Vec<(Backend, ServerName, VarName)>,
}

impl Adopted {
    /// Puts every changed item back as it was (best effort; says what it could not).
    pub fn undo(self, home: &crate::home::CruxHome) {
        for (backend, mcp, var) in self.created.iter().rev() {
            if let Err(e) = select::open(*backend, home).and_then(|s| s.delete(mcp, var)) {
                eprintln!("warning: could not remove crux's copy of '{mcp}' {var} from the {backend}: {e}");
            }
        }
        #[cfg(target_os = "linux")]
        if !self.items.is_empty() {
            match crate::store::secret_service::SecretServiceStore::connect() {
                Ok(store) => {
                    for (item, attrs) in self.items.into_iter().rev() {
                        if let Err(e) = store.set_attributes(&item, &attrs) {
                            eprintln!("warning: could not take the username attribute off Secret Service item {item}: {e}");
                        }
                    }
                }
                Err(e) => eprintln!(
                    "warning: could not take the username attribute off {} Secret Service item(s): {e}",
                    self.items.len()
                ),
            }
        }
    }
}

/// Adds crux's `username=<KEY>` to each item crux-cli made in the Secret Service (its
/// `service` and `account` stay, so crux-cli still reads it): one item, read by both.
#[cfg(target_os = "linux")]
pub fn adopt_secret_service(found: &[Found], adopted: &mut Adopted) -> Result<()> {
    let items: Vec<&Found> = found.iter().filter(|f| f.item.is_some()).collect();
    if items.is_empty() {
        return Ok(());
    }
    let store = crate::store::secret_service::SecretServiceStore::connect()?;
    for f in items {
        let item = f.item.as_deref().expect("filtered");
        let what = |e: Error| {
            Error::failed(
                format!(
                    "the Secret Service item of '{}' {} ({item}) cannot be given crux's name: {e}",
                    f.mcp, f.var
                ),
                format!(
                    "{}, then run: {COMMAND}",
                    e.fix().unwrap_or_else(|| "check the keyring".into())
                ),
            )
        };
        let attrs = store.attributes(item).map_err(what)?;
        if attrs.get("username").map(String::as_str) == Some(f.var.as_str()) {
            continue;
        }
        let mut new = attrs.clone();
        new.insert("username".into(), f.var.to_string());
        store.set_attributes(item, &new).map_err(what)?;
        adopted.items.push((item.to_string(), attrs));
    }
    Ok(())
}

/// The found secrets, by server.
fn by_server(found: &[Found]) -> BTreeMap<&ServerName, Vec<&Found>> {
    let mut by_server: BTreeMap<&ServerName, Vec<&Found>> = BTreeMap::new();
    for f in found {
        by_server.entry(&f.mcp).or_default().push(f);
    }
    by_server
}

/// Reads every value back through crux's store for `backend` and compares.
pub fn verify(home: &crate::home::CruxHome, backend: Backend, found: &[Found]) -> Result<()> {
    let store = select::open(backend, home)?;
    for (mcp, items) in by_server(found) {
        let vars: Vec<VarName> = items.iter().map(|f| f.var.clone()).collect();
        let got = store.get_many(mcp, &vars)?;
        for f in items {
            if got.get(&f.var) != Some(&f.secret) {
                return Err(Error::failed(
                    format!(
                        "'{mcp}' {}: the copy in crux's {backend} store does not read back as crux-cli's value",
                        f.var
                    ),
                    format!(
                        "if crux already held another value for it, remove crux's (crux mcp auth --delete {mcp} {}), then run: {COMMAND}",
                        f.var
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The values crux already holds for the found secrets that differ from crux-cli's (a
/// conflict to settle before adopting).
pub fn conflicts(
    home: &crate::home::CruxHome,
    backend: Backend,
    found: &[Found],
) -> Result<Vec<(ServerName, VarName)>> {
    if backend == Backend::Age && !home.age_identity_path().exists() {
        return Ok(Vec::new());
    }
    if backend == Backend::Keychain {
        // The same items: nothing is copied.
        return Ok(Vec::new());
    }
    let store = select::open(backend, home)?;
    let mut out = Vec::new();
    for (mcp, items) in by_server(found) {
        let vars: Vec<VarName> = items.iter().map(|f| f.var.clone()).collect();
        let got = store.get_many(mcp, &vars)?;
        for f in items {
            if got.get(&f.var).is_some_and(|v| v != &f.secret) {
                out.push((mcp.clone(), f.var.clone()));
            }
        }
    }
    Ok(out)
}
