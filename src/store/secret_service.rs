//! The Secret Service backend (GNOME Keyring, KWallet, KeePassXC…), spoken directly over D-Bus
//! with the pure-Rust `zbus`.
//!
//! Items carry the attributes `service=crux.<mcp>` and `username=<VAR>`, so `secret-tool lookup
//! service crux.<mcp> username <VAR>` reads what crux stores and crux reads what `secret-tool
//! store` wrote. Secrets travel encrypted (`dh-ietf1024-sha256-aes128-cbc-pkcs7`, as libsecret
//! does), falling back to `plain` only when a service offers nothing else.
//!
//! A fetch of several variables is one batched operation on one connection: one session, the
//! searches for all variables in flight together, then a single `GetSecrets` for every item.

use super::{Backend, SecretStore};
use crate::error::{Error, Result};
use crate::names::{ServerName, VarName};
use crate::secret::Secret;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;
use zbus::blocking::Connection;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};
use zeroize::Zeroizing;

const DEST: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE_IFACE: &str = "org.freedesktop.Secret.Service";
const COLLECTION_IFACE: &str = "org.freedesktop.Secret.Collection";
const ITEM_IFACE: &str = "org.freedesktop.Secret.Item";
const PROMPT_IFACE: &str = "org.freedesktop.Secret.Prompt";
const SESSION_COLLECTION: &str = "/org/freedesktop/secrets/collection/session/";
const DH_ALGORITHM: &str = "dh-ietf1024-sha256-aes128-cbc-pkcs7";
/// How long a user has to answer an unlock prompt on their desktop.
const PROMPT_TIMEOUT: Duration = Duration::from_secs(120);

/// `(session, parameters, value, content_type)`, the Secret Service's `Secret` struct.
type WireSecret = (OwnedObjectPath, Vec<u8>, Vec<u8>, String);

pub struct SecretServiceStore {
    conn: Connection,
    session: OwnedObjectPath,
    key: Option<Zeroizing<[u8; 16]>>,
}

/// Where the session bus is: `DBUS_SESSION_BUS_ADDRESS`, else the standard sockets
/// `$XDG_RUNTIME_DIR/bus` and `/run/user/<uid>/bus` (MCP hosts often strip the variable).
///
/// Only a local socket of this user's is used: a D-Bus address can also start a program
/// (`unixexec:`) or reach another machine (`tcp:`), and the variable may come from a hostile
/// `.mcp.json` entry. Any other address is ignored, with a note.
pub fn session_bus_address() -> Option<String> {
    if let Some(addr) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").filter(|a| !a.is_empty()) {
        let addr = addr.to_string_lossy().into_owned();
        if local_bus(&addr) {
            return Some(addr);
        }
        let scheme = addr.split(':').next().unwrap_or_default();
        eprintln!(
            "crux: DBUS_SESSION_BUS_ADDRESS is not a local socket of yours ({}:…), so crux does not use it and looks for the standard session bus",
            crate::error::sanitize(scheme)
        );
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        candidates.push(PathBuf::from(dir).join("bus"));
    }
    candidates.push(PathBuf::from(format!("/run/user/{uid}/bus")));
    candidates
        .into_iter()
        .find(|p| p.exists())
        .map(|p| format!("unix:path={}", p.display()))
}

/// Whether every address in a D-Bus address list is a Unix socket: a path that is a socket
/// this user owns (or nothing yet), or an abstract one.
fn local_bus(addr: &str) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    addr.split(';').filter(|a| !a.is_empty()).all(|one| {
        let Some(params) = one.strip_prefix("unix:") else {
            return false;
        };
        params.split(',').any(|kv| match kv.split_once('=') {
            Some(("abstract", _)) => true,
            // A socket that is not there fails to connect, with the usual error.
            Some(("path", path)) => match std::fs::symlink_metadata(path) {
                Ok(m) => m.file_type().is_socket() && m.uid() == me,
                Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            },
            _ => false,
        })
    })
}

fn unavailable(reason: impl Into<String>) -> Error {
    Error::StoreUnavailable {
        backend: Backend::SecretService,
        reason: reason.into(),
    }
}

fn locked(detail: impl Into<String>) -> Error {
    Error::StoreLocked {
        backend: Backend::SecretService,
        detail: Some(detail.into()),
    }
}

fn failed(reason: impl Into<String>) -> Error {
    Error::StoreFailed {
        backend: Backend::SecretService,
        reason: reason.into(),
    }
}

/// Maps a D-Bus error to what it means for the user.
fn dbus_error(e: zbus::Error) -> Error {
    if let zbus::Error::MethodError(name, detail, _) = &e {
        let detail = detail.clone().unwrap_or_default();
        return match name.as_str() {
            "org.freedesktop.DBus.Error.ServiceUnknown"
            | "org.freedesktop.DBus.Error.NameHasNoOwner" => unavailable(
                "no Secret Service is running on the session bus (org.freedesktop.secrets)",
            ),
            "org.freedesktop.DBus.Error.NoReply" | "org.freedesktop.DBus.Error.Timeout" => {
                unavailable("the Secret Service did not answer")
            }
            "org.freedesktop.Secret.Error.IsLocked" => locked(detail),
            other => failed(format!("{other}: {detail}")),
        };
    }
    failed(e.to_string())
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()))
}

impl SecretServiceStore {
    /// Connects to the session bus and opens an encrypted session with the Secret Service.
    pub fn connect() -> Result<SecretServiceStore> {
        let address = session_bus_address().ok_or_else(|| {
            unavailable("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and no bus socket is in $XDG_RUNTIME_DIR or /run/user)")
        })?;
        Self::connect_to(&address)
    }

    /// Connects to the Secret Service on the bus at `address` (a D-Bus address string).
    pub fn connect_to(address: &str) -> Result<SecretServiceStore> {
        let conn = zbus::blocking::connection::Builder::address(address)
            .and_then(|b| b.method_timeout(Duration::from_secs(25)).build())
            .map_err(|e| {
                unavailable(format!(
                    "cannot connect to the D-Bus session bus {address}: {e}"
                ))
            })?;
        let (session, key) = open_session(&conn)?;
        Ok(SecretServiceStore { conn, session, key })
    }

    fn call<B>(
        &self,
        path: &str,
        iface: &str,
        method: &str,
        body: &B,
    ) -> Result<zbus::message::Message>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.conn
            .call_method(Some(DEST), path, Some(iface), method, body)
            .map_err(dbus_error)
    }

    /// Searches items with `service=crux.<mcp>, username=<VAR>` for every variable at once,
    /// all requests in flight together on the one connection.
    fn search_all(
        &self,
        mcp: &ServerName,
        vars: &[VarName],
    ) -> Result<Vec<(Vec<OwnedObjectPath>, Vec<OwnedObjectPath>)>> {
        self.search_all_by(mcp, vars, "username")
    }

    /// [`Self::search_all`] with `<attr>=<VAR>` in place of `username` (another tool's naming).
    fn search_all_by(
        &self,
        mcp: &ServerName,
        vars: &[VarName],
        attr: &str,
    ) -> Result<Vec<(Vec<OwnedObjectPath>, Vec<OwnedObjectPath>)>> {
        let service = mcp.service();
        let conn = self.conn.inner();
        let searches = vars.iter().map(|var| {
            let attributes: HashMap<&str, &str> =
                HashMap::from([("service", service.as_str()), (attr, var.as_str())]);
            async move {
                let reply = conn
                    .call_method(
                        Some(DEST),
                        SERVICE_PATH,
                        Some(SERVICE_IFACE),
                        "SearchItems",
                        &(attributes,),
                    )
                    .await
                    .map_err(dbus_error)?;
                let (unlocked, locked) = reply
                    .body()
                    .deserialize::<(Vec<OwnedObjectPath>, Vec<OwnedObjectPath>)>()
                    .map_err(|e| failed(format!("unexpected SearchItems reply: {e}")))?;
                // Items of the non-persistent session collection vanish at logout: not ours.
                let persistent = |p: &OwnedObjectPath| !p.as_str().starts_with(SESSION_COLLECTION);
                Ok((
                    unlocked.into_iter().filter(persistent).collect(),
                    locked.into_iter().filter(persistent).collect(),
                ))
            }
        });
        async_io::block_on(futures_util::future::join_all(searches))
            .into_iter()
            .collect()
    }

    /// Unlocks `objects`, prompting on the desktop when the service asks for it.
    fn unlock(&self, objects: &[OwnedObjectPath]) -> Result<()> {
        if objects.is_empty() {
            return Ok(());
        }
        let reply = self.call(SERVICE_PATH, SERVICE_IFACE, "Unlock", &(objects,))?;
        let (_, prompt): (Vec<OwnedObjectPath>, OwnedObjectPath) = reply
            .body()
            .deserialize()
            .map_err(|e| failed(format!("unexpected Unlock reply: {e}")))?;
        self.complete_prompt(&prompt, "unlocking needs your keyring password")
    }

    /// Runs a prompt the service returned (`/` means none). Without a display nobody can
    /// answer one, so that is reported at once instead of waiting.
    fn complete_prompt(&self, prompt: &ObjectPath<'_>, why: &str) -> Result<()> {
        if prompt.as_str() == "/" {
            return Ok(());
        }
        if !has_display() {
            return Err(locked(format!(
                "{why}, and no desktop session can show the prompt"
            )));
        }
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(PROMPT_IFACE)
            .and_then(|b| b.member("Completed"))
            .and_then(|b| b.path(prompt.clone()))
            .map_err(dbus_error)?
            .build();
        let mut signals =
            zbus::blocking::MessageIterator::for_match_rule(rule, &self.conn, Some(4))
                .map_err(dbus_error)?;
        self.call(prompt.as_str(), PROMPT_IFACE, "Prompt", &("",))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if let Some(Ok(msg)) = signals.next() {
                let _ = tx.send(
                    msg.body()
                        .deserialize::<(bool, OwnedValue)>()
                        .map(|(d, _)| d),
                );
            }
        });
        match rx.recv_timeout(PROMPT_TIMEOUT) {
            Ok(Ok(false)) => Ok(()),
            Ok(Ok(true)) => Err(locked("the unlock prompt was dismissed")),
            Ok(Err(e)) => Err(failed(format!("unexpected prompt reply: {e}"))),
            Err(_) => Err(locked("the unlock prompt was not answered in time")),
        }
    }

    fn default_collection(&self) -> Result<OwnedObjectPath> {
        let reply = self.call(SERVICE_PATH, SERVICE_IFACE, "ReadAlias", &("default",))?;
        let path: OwnedObjectPath = reply
            .body()
            .deserialize()
            .map_err(|e| failed(format!("unexpected ReadAlias reply: {e}")))?;
        if path.as_str() == "/" {
            return Err(unavailable(
                "the Secret Service has no default keyring (create one, e.g. with Seahorse)",
            ));
        }
        Ok(path)
    }

    fn is_locked(&self, path: &str, iface: &str) -> Result<bool> {
        let reply = self.call(
            path,
            "org.freedesktop.DBus.Properties",
            "Get",
            &(iface, "Locked"),
        )?;
        let value: OwnedValue = reply
            .body()
            .deserialize()
            .map_err(|e| failed(format!("unexpected Locked property: {e}")))?;
        bool::try_from(value).map_err(|e| failed(format!("unexpected Locked property: {e}")))
    }

    fn encode(&self, secret: &Secret) -> WireSecret {
        let plain = secret.expose().as_bytes();
        match &self.key {
            Some(key) => {
                let iv: [u8; 16] = rand::random();
                (
                    self.session.clone(),
                    iv.to_vec(),
                    dh::encrypt(key, &iv, plain),
                    "text/plain".into(),
                )
            }
            None => (
                self.session.clone(),
                Vec::new(),
                plain.to_vec(),
                "text/plain".into(),
            ),
        }
    }

    fn decode(&self, var: &VarName, wire: WireSecret) -> Result<Secret> {
        let (_, params, value, _) = wire;
        let value = Zeroizing::new(value);
        let plain = match &self.key {
            Some(key) => dh::decrypt(key, &params, &value)
                .ok_or_else(|| failed(format!("the value of {var} did not decrypt")))?,
            None => value,
        };
        let text = String::from_utf8(plain.to_vec())
            .map_err(|_| failed(format!("the value of {var} is not UTF-8 text")))?;
        Ok(Secret::new(text))
    }
}

fn open_session(conn: &Connection) -> Result<(OwnedObjectPath, Option<Zeroizing<[u8; 16]>>)> {
    let keys = dh::KeyPair::generate();
    let public = Value::from(keys.public_bytes());
    match conn.call_method(
        Some(DEST),
        SERVICE_PATH,
        Some(SERVICE_IFACE),
        "OpenSession",
        &(DH_ALGORITHM, public),
    ) {
        Ok(reply) => {
            let (output, session): (OwnedValue, OwnedObjectPath) = reply
                .body()
                .deserialize()
                .map_err(|e| failed(format!("unexpected OpenSession reply: {e}")))?;
            let server_public = <Vec<u8>>::try_from(output)
                .map_err(|e| failed(format!("unexpected OpenSession key: {e}")))?;
            let key = keys
                .derive_key(&server_public)
                .ok_or_else(|| failed("the Secret Service sent an invalid session key"))?;
            Ok((session, Some(key)))
        }
        Err(zbus::Error::MethodError(name, _, _))
            if name.as_str() == "org.freedesktop.DBus.Error.NotSupported" =>
        {
            let reply = conn
                .call_method(
                    Some(DEST),
                    SERVICE_PATH,
                    Some(SERVICE_IFACE),
                    "OpenSession",
                    &("plain", Value::from("")),
                )
                .map_err(dbus_error)?;
            let (_, session): (OwnedValue, OwnedObjectPath) = reply
                .body()
                .deserialize()
                .map_err(|e| failed(format!("unexpected OpenSession reply: {e}")))?;
            Ok((session, None))
        }
        Err(e) => Err(dbus_error(e)),
    }
}

/// An item found under another attribute than crux's `username` (crux-cli's `account`).
pub struct FoundItem {
    /// Its D-Bus object path.
    pub path: String,
    pub secret: Secret,
}

impl SecretServiceStore {
    /// The items `service=crux.<mcp>, <attr>=<VAR>` for each variable, with their values
    /// (another tool's naming: crux-cli names the variable `account`). Locked items are
    /// unlocked as for [`SecretStore::get_many`].
    pub fn get_many_by(
        &self,
        mcp: &ServerName,
        vars: &[VarName],
        attr: &str,
    ) -> Result<BTreeMap<VarName, FoundItem>> {
        if vars.is_empty() {
            return Ok(BTreeMap::new());
        }
        let found = self.search_all_by(mcp, vars, attr)?;
        let still_locked: Vec<OwnedObjectPath> = found
            .iter()
            .filter(|(unlocked, _)| unlocked.is_empty())
            .flat_map(|(_, locked)| locked.iter().cloned())
            .collect();
        let found = if still_locked.is_empty() {
            found
        } else {
            self.unlock(&still_locked)?;
            self.search_all_by(mcp, vars, attr)?
        };
        let mut wanted: Vec<(&VarName, OwnedObjectPath)> = Vec::new();
        for (var, (unlocked, _)) in vars.iter().zip(found) {
            if let Some(item) = unlocked.into_iter().next() {
                wanted.push((var, item));
            }
        }
        if wanted.is_empty() {
            return Ok(BTreeMap::new());
        }
        let items: Vec<&OwnedObjectPath> = wanted.iter().map(|(_, p)| p).collect();
        let reply = self.call(
            SERVICE_PATH,
            SERVICE_IFACE,
            "GetSecrets",
            &(items, &self.session),
        )?;
        let mut secrets: HashMap<OwnedObjectPath, WireSecret> = reply
            .body()
            .deserialize()
            .map_err(|e| failed(format!("unexpected GetSecrets reply: {e}")))?;
        let mut out = BTreeMap::new();
        for (var, path) in &wanted {
            if let Some(wire) = secrets.remove(path) {
                out.insert(
                    (*var).clone(),
                    FoundItem {
                        path: path.to_string(),
                        secret: self.decode(var, wire)?,
                    },
                );
            }
        }
        Ok(out)
    }

    /// An item's attributes.
    pub fn attributes(&self, item: &str) -> Result<HashMap<String, String>> {
        let reply = self.call(
            item,
            "org.freedesktop.DBus.Properties",
            "Get",
            &(ITEM_IFACE, "Attributes"),
        )?;
        let value: OwnedValue = reply
            .body()
            .deserialize()
            .map_err(|e| failed(format!("unexpected Attributes property: {e}")))?;
        HashMap::<String, String>::try_from(value)
            .map_err(|e| failed(format!("unexpected Attributes property: {e}")))
    }

    /// Replaces an item's attributes (its value stays as it is).
    pub fn set_attributes(&self, item: &str, attributes: &HashMap<String, String>) -> Result<()> {
        let value = Value::from(attributes.clone());
        self.call(
            item,
            "org.freedesktop.DBus.Properties",
            "Set",
            &(ITEM_IFACE, "Attributes", value),
        )?;
        Ok(())
    }
}

impl SecretStore for SecretServiceStore {
    fn backend(&self) -> Backend {
        Backend::SecretService
    }

    fn get_many(&self, mcp: &ServerName, vars: &[VarName]) -> Result<BTreeMap<VarName, Secret>> {
        Ok(self
            .get_many_by(mcp, vars, "username")?
            .into_iter()
            .map(|(var, item)| (var, item.secret))
            .collect())
    }

    fn set_many(&self, mcp: &ServerName, values: &[(VarName, Secret)]) -> Result<()> {
        let vars: Vec<VarName> = values.iter().map(|(v, _)| v.clone()).collect();
        let found = self.search_all(mcp, &vars)?;
        // One unlock for every locked item we are about to update or delete.
        let locked: Vec<OwnedObjectPath> =
            found.iter().flat_map(|(_, l)| l.iter().cloned()).collect();
        self.unlock(&locked)?;
        let mut collection: Option<OwnedObjectPath> = None;
        for ((var, secret), (unlocked, locked)) in values.iter().zip(found) {
            let existing: Vec<OwnedObjectPath> = unlocked.into_iter().chain(locked).collect();
            if let Some((first, duplicates)) = existing.split_first() {
                // Update in place (the item may have been made by secret-tool with extra
                // attributes), and drop duplicates so every reader sees the same value.
                self.call(
                    first.as_str(),
                    ITEM_IFACE,
                    "SetSecret",
                    &(self.encode(secret),),
                )?;
                for dup in duplicates {
                    self.delete_item(dup)?;
                }
                continue;
            }
            let target = match &collection {
                Some(c) => c.clone(),
                None => {
                    let c = self.default_collection()?;
                    if self.is_locked(c.as_str(), COLLECTION_IFACE)? {
                        self.unlock(std::slice::from_ref(&c))?;
                    }
                    collection = Some(c.clone());
                    c
                }
            };
            let attributes: HashMap<String, String> = HashMap::from([
                ("service".to_owned(), mcp.service()),
                ("username".to_owned(), var.to_string()),
            ]);
            let properties: HashMap<&str, Value> = HashMap::from([
                (
                    "org.freedesktop.Secret.Item.Label",
                    Value::from(format!("crux: {mcp} {var}")),
                ),
                (
                    "org.freedesktop.Secret.Item.Attributes",
                    Value::from(attributes),
                ),
            ]);
            let reply = self.call(
                target.as_str(),
                COLLECTION_IFACE,
                "CreateItem",
                &(properties, self.encode(secret), true),
            )?;
            let (_, prompt): (OwnedObjectPath, OwnedObjectPath) = reply
                .body()
                .deserialize()
                .map_err(|e| failed(format!("unexpected CreateItem reply: {e}")))?;
            self.complete_prompt(&prompt, "storing needs your keyring password")?;
        }
        Ok(())
    }

    fn delete(&self, mcp: &ServerName, var: &VarName) -> Result<bool> {
        let found = self.search_all(mcp, std::slice::from_ref(var))?;
        let (unlocked, locked) = found.into_iter().next().unwrap_or_default();
        if !locked.is_empty() {
            self.unlock(&locked)?;
        }
        let any = !(unlocked.is_empty() && locked.is_empty());
        for item in unlocked.iter().chain(&locked) {
            self.delete_item(item)?;
        }
        Ok(any)
    }
}

impl SecretServiceStore {
    fn delete_item(&self, item: &OwnedObjectPath) -> Result<()> {
        let reply = self.call(item.as_str(), ITEM_IFACE, "Delete", &())?;
        let prompt: OwnedObjectPath = reply
            .body()
            .deserialize()
            .map_err(|e| failed(format!("unexpected Delete reply: {e}")))?;
        self.complete_prompt(&prompt, "deleting needs your keyring password")
    }
}

/// Whether a Secret Service is usable here without asking anyone: reachable, with a default
/// keyring that is unlocked or can be unlocked by a prompt on a desktop. `Err` says why not.
pub fn probe() -> std::result::Result<String, String> {
    let store = SecretServiceStore::connect().map_err(|e| e.reason())?;
    let collection = store.default_collection().map_err(|e| e.reason())?;
    let is_locked = store
        .is_locked(collection.as_str(), COLLECTION_IFACE)
        .map_err(|e| e.reason())?;
    if is_locked && !has_display() {
        return Err(
            "the Secret Service's default keyring is locked and no desktop session can unlock it"
                .into(),
        );
    }
    Ok(if is_locked {
        "a Secret Service answered on the session bus (its keyring will ask to be unlocked)".into()
    } else {
        "a Secret Service answered on the session bus with an unlocked default keyring".into()
    })
}

/// The `dh-ietf1024-sha256-aes128-cbc-pkcs7` session algorithm of the Secret Service spec:
/// Diffie-Hellman over the RFC 2409 1024-bit MODP group, HKDF-SHA256 to an AES-128 key, and
/// AES-128-CBC with PKCS#7 padding for each secret.
mod dh {
    use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
    use num_bigint::{BigUint, RandBigInt};
    use zeroize::Zeroizing;

    const PRIME_HEX: &[u8] = b"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";
    const BYTES: usize = 128;
    const PRIVATE_BITS: u64 = 256;

    fn prime() -> BigUint {
        BigUint::parse_bytes(PRIME_HEX, 16).expect("the group prime is valid hex")
    }

    fn padded(n: &BigUint) -> Zeroizing<Vec<u8>> {
        let bytes = n.to_bytes_be();
        let mut out = Zeroizing::new(vec![0u8; BYTES.saturating_sub(bytes.len())]);
        out.extend_from_slice(&bytes);
        out
    }

    pub struct KeyPair {
        private: BigUint,
        public: BigUint,
    }

    impl KeyPair {
        pub fn generate() -> KeyPair {
            let p = prime();
            // A 256-bit private exponent, with its top bit set: twice the group's ~80-bit
            // strength and more, as RFC 7919 §5.2 and NIST SP 800-56A allow, at a quarter of
            // the cost of a full-size one. The exchange runs at every launch.
            let mut private = rand::thread_rng().gen_biguint(PRIVATE_BITS);
            private.set_bit(PRIVATE_BITS - 1, true);
            let public = BigUint::from(2u8).modpow(&private, &p);
            KeyPair { private, public }
        }

        pub fn public_bytes(&self) -> Vec<u8> {
            padded(&self.public).to_vec()
        }

        pub fn derive_key(&self, server_public: &[u8]) -> Option<Zeroizing<[u8; 16]>> {
            let p = prime();
            let theirs = BigUint::from_bytes_be(server_public);
            if theirs <= BigUint::from(1u8) || theirs >= &p - 1u8 {
                return None;
            }
            let shared = padded(&theirs.modpow(&self.private, &p));
            let mut key = Zeroizing::new([0u8; 16]);
            hkdf::Hkdf::<sha2::Sha256>::new(None, &shared)
                .expand(&[], key.as_mut())
                .ok()?;
            Some(key)
        }
    }

    pub fn encrypt(key: &[u8; 16], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        cbc::Encryptor::<aes::Aes128>::new(key.into(), iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plain)
    }

    pub fn decrypt(key: &[u8; 16], iv: &[u8], value: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let iv: &[u8; 16] = iv.try_into().ok()?;
        cbc::Decryptor::<aes::Aes128>::new(key.into(), iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(value)
            .ok()
            .map(Zeroizing::new)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn group_and_agreement() {
            assert_eq!(prime().bits(), 1024);
            let (a, b) = (KeyPair::generate(), KeyPair::generate());
            let ka = a.derive_key(&b.public_bytes()).unwrap();
            let kb = b.derive_key(&a.public_bytes()).unwrap();
            assert_eq!(*ka, *kb);
            assert!(a.derive_key(&[1]).is_none());
            let iv = [7u8; 16];
            let ct = encrypt(&ka, &iv, b"secret value");
            assert_ne!(&ct[..], b"secret value");
            assert_eq!(&decrypt(&kb, &iv, &ct).unwrap()[..], b"secret value");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_sockets_are_buses() {
        assert!(!local_bus(
            "unixexec:path=/bin/sh,argv1=-c,argv2=touch%20/tmp/x"
        ));
        assert!(!local_bus("tcp:host=attacker.example,port=1234"));
        assert!(
            local_bus("unix:path=/nonexistent/bus"),
            "fails to connect later"
        );
        assert!(!local_bus("unix:path=/etc/passwd"));
        assert!(local_bus("unix:abstract=/tmp/dbus-XYZ,guid=1234"));
        assert!(!local_bus("unix:abstract=/tmp/x;unixexec:path=/bin/sh"));
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert!(local_bus(&format!(
            "unix:path={},guid=abc",
            socket.display()
        )));
    }
}
