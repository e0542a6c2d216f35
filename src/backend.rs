//! The keystores crux can use, by name. A plain type with no dependency in the crate: errors,
//! settings and the index name a backend without depending on the stores
//! ([`crate::store`] parses one, since a bad name is an [`crate::error::Error`]).

use std::fmt;

/// The keystores crux can use. Names are the ones `CRUX_BACKEND` and `crux backend set` take.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// macOS Keychain (generic passwords)
    Keychain,
    /// freedesktop.org Secret Service (GNOME Keyring, KWallet) over D-Bus
    SecretService,
    /// age-encrypted file in CRUX_HOME
    Age,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Keychain, Backend::SecretService, Backend::Age];

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Keychain => "keychain",
            Backend::SecretService => "secret-service",
            Backend::Age => "age",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
