//! The age-encrypted file backend: `CRUX_HOME/secrets.age`, encrypted to the X25519 identity in
//! `CRUX_HOME/age-identity.key`.
//!
//! The store decrypts with the `age` CLI (`age -d -i age-identity.key secrets.age`) to
//! `{"version": 1, "secrets": {"<mcp>": {"<VAR>": "<value>"}}}`, and crux also reads the bare
//! `{"<mcp>": {"<VAR>": "<value>"}}` form a user may write with the CLI, binary or armored.
//!
//! Writers take `secrets.age.lock`, read, change and re-encrypt the whole store, and replace it
//! atomically, so concurrent crux processes never lose each other's writes and a killed writer
//! leaves the old or the new store. It never creates an identity while `secrets.age` exists:
//! that would make every stored secret unreadable.

use super::{Backend, SecretStore};
use crate::error::{Error, Result};
use crate::fsutil::{self, Lock};
use crate::home::CruxHome;
use crate::names::{ServerName, VarName};
use crate::secret::Secret;
use age::secrecy::ExposeSecret;
use age::x25519;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use zeroize::Zeroizing;

const FORMAT_VERSION: u64 = 1;

pub(crate) type Contents = BTreeMap<String, BTreeMap<String, Zeroizing<String>>>;

pub struct AgeFileStore {
    home: CruxHome,
    store: PathBuf,
    identity: PathBuf,
}

impl AgeFileStore {
    pub fn new(home: &CruxHome) -> AgeFileStore {
        AgeFileStore {
            home: home.clone(),
            store: home.age_store_path(),
            identity: home.age_identity_path(),
        }
    }

    /// Whether `secrets.age` exists; a failed check is an error, never "no store" (which
    /// would allow a new identity).
    fn store_exists(&self) -> Result<bool> {
        self.store
            .try_exists()
            .map_err(|e| Error::io(format!("cannot check {}", self.store.display()), e))
    }

    fn lock(&self) -> Result<Lock> {
        self.home.ensure()?;
        Lock::acquire(&self.home.root().join("secrets.age.lock"))
    }

    fn load_identity(&self) -> Result<Option<x25519::Identity>> {
        // A key that others can read is not a secret any more, and one they can write may not
        // be the user's: refused, as ssh refuses such a key.
        fsutil::check_private(&self.identity)?;
        let Some(bytes) = fsutil::read_optional(&self.identity)? else {
            return Ok(None);
        };
        let bytes = Zeroizing::new(bytes);
        let corrupt = |reason: &str| Error::Corrupt {
            path: self.identity.clone(),
            reason: reason.into(),
            fix: format!(
                "restore {} from your backup (it must hold one AGE-SECRET-KEY-1… line)",
                self.identity.display()
            ),
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| corrupt("it is not text"))?;
        let key = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| corrupt("it holds no identity"))?;
        key.parse::<x25519::Identity>()
            .map(Some)
            .map_err(|_| corrupt("its identity is not an age X25519 secret key"))
    }

    /// The identity is missing: crux-cli's store (its identity is `identity`), or a lost one.
    fn missing_identity(&self) -> Error {
        if self.home.root().join("identity").is_file() {
            return crate::legacy_files::written_by_crux_cli(&self.store);
        }
        Error::MissingIdentity {
            store: self.store.clone(),
            identity: self.identity.clone(),
        }
    }

    /// The identity for a write, created on first use. Called with the store lock held.
    fn identity_for_write(&self) -> Result<x25519::Identity> {
        if let Some(identity) = self.load_identity()? {
            return Ok(identity);
        }
        if self.store_exists()? {
            return Err(self.missing_identity());
        }
        let identity = x25519::Identity::generate();
        let created = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let text = Zeroizing::new(format!(
            "# created: {created}\n# public key: {}\n# crux age identity: secrets.age cannot be decrypted without it. Back it up.\n{}\n",
            identity.to_public(),
            identity.to_string().expose_secret()
        ));
        if !fsutil::create_new_atomic(&self.identity, text.as_bytes())? {
            // Another process won the race between our read and our create: use its identity.
            return self.load_identity()?.ok_or_else(|| Error::MissingIdentity {
                store: self.store.clone(),
                identity: self.identity.clone(),
            });
        }
        eprintln!(
            "crux: created the age identity {}; back it up now (e.g. in a password manager): without it {} cannot be decrypted",
            self.identity.display(),
            self.store.display()
        );
        Ok(identity)
    }

    /// Decrypts the store; an absent store is empty.
    fn read(&self, identity: Option<&x25519::Identity>) -> Result<Contents> {
        let Some(bytes) = fsutil::read_optional(&self.store)? else {
            return Ok(Contents::new());
        };
        let owned;
        let identity = match identity {
            Some(identity) => identity,
            None => {
                owned = self
                    .load_identity()?
                    .ok_or_else(|| self.missing_identity())?;
                &owned
            }
        };
        let corrupt = |reason: String| Error::Corrupt {
            path: self.store.clone(),
            reason,
            fix: format!("restore {} from a backup", self.store.display()),
        };
        let reader = age::armor::ArmoredReader::new(&bytes[..]);
        let decryptor = age::Decryptor::new(reader)
            .map_err(|e| corrupt(format!("it is not an age file ({e})")))?;
        let mut plain = Zeroizing::new(Vec::new());
        decryptor
            .decrypt(std::iter::once(identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => Error::WrongIdentity {
                    store: self.store.clone(),
                    identity: self.identity.clone(),
                },
                e => corrupt(format!("it does not decrypt ({e})")),
            })?
            .read_to_end(&mut plain)
            .map_err(|e| corrupt(format!("it does not decrypt ({e})")))?;
        parse_contents(&plain)
            .map_err(|reason| corrupt(format!("its content is not a crux store: {reason}")))
    }

    fn write(&self, identity: &x25519::Identity, contents: &Contents) -> Result<()> {
        let plain = Zeroizing::new(serialize_contents(contents));
        let recipient = identity.to_public();
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| Error::StoreFailed {
                    backend: Backend::Age,
                    reason: e.to_string(),
                })?;
        let mut out = Vec::with_capacity(plain.len() + 256);
        let io_err = |e| Error::io("cannot encrypt the age store", e);
        let mut writer = encryptor.wrap_output(&mut out).map_err(io_err)?;
        writer.write_all(&plain).map_err(io_err)?;
        writer.finish().map_err(io_err)?;
        fsutil::write_atomic(&self.store, &out)
    }

    /// Read, change, write back under the lock. `change` returns whether anything changed.
    fn update(&self, change: impl FnOnce(&mut Contents) -> bool) -> Result<bool> {
        let _lock = self.lock()?;
        let identity = self.identity_for_write()?;
        let mut contents = self.read(Some(&identity))?;
        let changed = change(&mut contents);
        if changed {
            self.write(&identity, &contents)?;
        }
        Ok(changed)
    }
}

pub(crate) fn parse_contents(plain: &[u8]) -> std::result::Result<Contents, String> {
    let mut value: serde_json::Value = serde_json::from_slice(plain)
        .map_err(|e| format!("invalid JSON ({})", crate::error::json_error(&e)))?;
    let top = value.as_object_mut().ok_or("not a JSON object")?;
    // `{"version": N, "secrets": {...}}`; a server named "version" holds an object, not a number.
    let servers = match top.get("version") {
        Some(serde_json::Value::Number(n)) => {
            let version = n.as_u64().ok_or("bad version")?;
            if version > FORMAT_VERSION {
                return Err(format!("format version {version} is newer than this crux knows ({FORMAT_VERSION}); upgrade crux"));
            }
            match top.get_mut("secrets") {
                Some(serde_json::Value::Object(map)) => std::mem::take(map),
                None => serde_json::Map::new(),
                Some(_) => return Err("\"secrets\" is not an object".into()),
            }
        }
        _ => std::mem::take(top),
    };
    let mut contents = Contents::new();
    for (mcp, vars) in servers {
        let serde_json::Value::Object(vars) = vars else {
            return Err(format!(
                "server '{}' is not an object",
                crate::error::sanitize(&mcp)
            ));
        };
        let entry = contents.entry(mcp).or_default();
        for (var, value) in vars {
            let serde_json::Value::String(mut value) = value else {
                return Err(format!(
                    "a value of '{}' is not a string",
                    crate::error::sanitize(&var)
                ));
            };
            entry.insert(var, Zeroizing::new(std::mem::take(&mut value)));
        }
    }
    Ok(contents)
}

pub(crate) fn serialize_contents(contents: &Contents) -> Vec<u8> {
    let secrets: BTreeMap<&str, BTreeMap<&str, &str>> = contents
        .iter()
        .map(|(mcp, vars)| {
            (
                mcp.as_str(),
                vars.iter().map(|(v, s)| (v.as_str(), s.as_str())).collect(),
            )
        })
        .collect();
    let doc = serde_json::json!({ "version": FORMAT_VERSION, "secrets": secrets });
    // Sized up front so the buffer is not reallocated, which would leave unzeroed copies.
    let estimate: usize = contents
        .iter()
        .map(|(m, vars)| {
            m.len()
                + 8
                + vars
                    .iter()
                    .map(|(v, s)| v.len() + 2 * s.len() + 8)
                    .sum::<usize>()
        })
        .sum();
    let mut out = Vec::with_capacity(estimate * 2 + 64);
    serde_json::to_writer(&mut out, &doc).expect("a map of strings serializes");
    out.push(b'\n');
    // `doc` holds copies of the values: clear them before it is dropped.
    if let serde_json::Value::Object(mut top) = doc {
        if let Some(serde_json::Value::Object(servers)) = top.get_mut("secrets") {
            for vars in servers.values_mut() {
                if let serde_json::Value::Object(vars) = vars {
                    for value in vars.values_mut() {
                        if let serde_json::Value::String(s) = value {
                            zeroize::Zeroize::zeroize(s);
                        }
                    }
                }
            }
        }
    }
    out
}

impl SecretStore for AgeFileStore {
    fn backend(&self) -> Backend {
        Backend::Age
    }

    fn get_many(&self, mcp: &ServerName, vars: &[VarName]) -> Result<BTreeMap<VarName, Secret>> {
        let mut contents = self.read(None)?;
        let Some(mut stored) = contents.remove(mcp.as_str()) else {
            return Ok(BTreeMap::new());
        };
        Ok(vars
            .iter()
            .filter_map(|v| {
                stored
                    .remove(v.as_str())
                    .map(|s| (v.clone(), Secret::from(s)))
            })
            .collect())
    }

    fn set_many(&self, mcp: &ServerName, values: &[(VarName, Secret)]) -> Result<()> {
        self.update(|contents| {
            let entry = contents.entry(mcp.to_string()).or_default();
            for (var, secret) in values {
                entry.insert(var.to_string(), Zeroizing::new(secret.expose().to_owned()));
            }
            true
        })?;
        Ok(())
    }

    fn delete(&self, mcp: &ServerName, var: &VarName) -> Result<bool> {
        if !self.store_exists()? {
            return Ok(false);
        }
        self.update(|contents| {
            let Some(vars) = contents.get_mut(mcp.as_str()) else {
                return false;
            };
            let removed = vars.remove(var.as_str()).is_some();
            if vars.is_empty() {
                contents.remove(mcp.as_str());
            }
            removed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_layouts() {
        let bare = parse_contents(br#"{"gh":{"TOKEN":"a"},"version":{"V":"b"}}"#).unwrap();
        assert_eq!(bare["gh"]["TOKEN"].as_str(), "a");
        assert_eq!(bare["version"]["V"].as_str(), "b");
        let wrapped = parse_contents(br#"{"version":1,"secrets":{"gh":{"TOKEN":"a"}}}"#).unwrap();
        assert_eq!(wrapped["gh"]["TOKEN"].as_str(), "a");
        assert!(parse_contents(br#"{"version":99,"secrets":{}}"#)
            .unwrap_err()
            .contains("newer"));
        assert!(parse_contents(br#"{"gh":{"TOKEN":1}}"#).is_err());
        assert!(parse_contents(b"[]").is_err());
    }

    #[test]
    fn serialized_contents_round_trip() {
        let mut c = Contents::new();
        c.entry("gh".into())
            .or_default()
            .insert("T".into(), Zeroizing::new("v\"\n✓".into()));
        let bytes = serialize_contents(&c);
        assert_eq!(
            parse_contents(&bytes).unwrap()["gh"]["T"].as_str(),
            "v\"\n✓"
        );
    }
}
