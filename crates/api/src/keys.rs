//! The keyring's source: `ONBOARD_DATA_KEYS` etc. in the environment, else a key file, else
//! (development, and only for a database that holds nothing sealed yet) a new key file written
//! with mode 0600. `onboard keys init` writes a new key file on purpose.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use storage::{Keyring, SecretKey};
use zeroize::{Zeroize as _, Zeroizing};

/// The key file's shape (TOML). Keys are standard Base64 of 32 bytes; wiped on drop.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    active_key: String,
    blind_index_key: String,
    data_keys: BTreeMap<String, String>,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.blind_index_key.zeroize();
        for value in self.data_keys.values_mut() {
            value.zeroize();
        }
    }
}

/// What went wrong loading keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The key configuration (file or variables) is not of the expected shape.
    #[error("key configuration is malformed: {0}")]
    Malformed(String),
    /// The keys themselves are invalid.
    #[error(transparent)]
    Crypto(#[from] storage::CryptoError),
    /// No keys are configured, and the database already holds data sealed with some.
    #[error(
        "no encryption keys are configured ({path} does not exist, ONBOARD_DATA_KEYS is not \
         set) but the database already holds data sealed with keys: restore the key file that \
         wrote it (or configure ONBOARD_DATA_KEYS, ONBOARD_ACTIVE_KEY and \
         ONBOARD_BLIND_INDEX_KEY); new keys are created only for an empty database or by \
         `onboard keys init`"
    )]
    NotConfigured {
        /// The key file looked for.
        path: String,
    },
    /// `keys init` would overwrite a key file.
    #[error("{0} already exists: keys init never overwrites a key file")]
    Exists(String),
}

/// Where the keyring came from, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `ONBOARD_DATA_KEYS`, `ONBOARD_ACTIVE_KEY`, `ONBOARD_BLIND_INDEX_KEY`.
    Environment,
    /// An existing key file.
    File,
    /// A key file created just now.
    Created,
}

/// Loads the keyring. `ONBOARD_DATA_KEYS` is `id:base64,id:base64`.
/// Without configured keys a new key file is written only when `may_create` (the database
/// holds nothing sealed yet).
pub fn load(key_file: &Path, may_create: bool) -> Result<(Keyring, KeySource), KeyError> {
    let vars = [
        std::env::var("ONBOARD_DATA_KEYS").ok(),
        std::env::var("ONBOARD_ACTIVE_KEY").ok(),
        std::env::var("ONBOARD_BLIND_INDEX_KEY").ok(),
    ];
    if vars.iter().any(Option::is_some) && !vars.iter().all(Option::is_some) {
        // Half a configuration must never fall back to (or create) other keys: data sealed
        // under the configured ones would become unreadable and SSN uniqueness would break.
        return Err(KeyError::Malformed(
            "ONBOARD_DATA_KEYS, ONBOARD_ACTIVE_KEY and ONBOARD_BLIND_INDEX_KEY must be set together".into(),
        ));
    }
    if let [Some(keys), Some(active), Some(blind)] = vars {
        let mut parsed = Vec::new();
        for pair in keys.split(',').filter(|p| !p.trim().is_empty()) {
            let (id, b64) = pair
                .split_once(':')
                .ok_or_else(|| KeyError::Malformed("ONBOARD_DATA_KEYS".into()))?;
            parsed.push((id.trim().to_owned(), SecretKey::from_base64(b64)?));
        }
        let ring = Keyring::new(parsed, active.trim(), SecretKey::from_base64(&blind)?)?;
        return Ok((ring, KeySource::Environment));
    }
    let display = key_file.display().to_string();
    match std::fs::read_to_string(key_file).map(Zeroizing::new) {
        Ok(text) => {
            warn_if_readable_by_others(key_file);
            let file: KeyFile = toml::from_str(&text).map_err(|_| KeyError::Malformed(display))?;
            let keys = file
                .data_keys
                .iter()
                .map(|(id, b64)| Ok((id.clone(), SecretKey::from_base64(b64)?)))
                .collect::<Result<Vec<_>, storage::CryptoError>>()?;
            let ring = Keyring::new(
                keys,
                &file.active_key,
                SecretKey::from_base64(&file.blind_index_key)?,
            )?;
            Ok((ring, KeySource::File))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
            let ring = init(key_file)?;
            Ok((ring, KeySource::Created))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(KeyError::NotConfigured { path: display })
        }
        Err(source) => Err(KeyError::Io {
            path: display,
            source,
        }),
    }
}

/// Writes a new key file (mode 0600, its directory 0700) with a fresh data key under a random
/// key id and a fresh blind-index key; refuses to overwrite one.
pub fn init(key_file: &Path) -> Result<Keyring, KeyError> {
    let display = key_file.display().to_string();
    if key_file.exists() {
        return Err(KeyError::Exists(display));
    }
    let data = SecretKey::generate()?;
    let blind = SecretKey::generate()?;
    let mut id_bytes = [0u8; 4];
    getrandom::fill(&mut id_bytes).map_err(|_| storage::CryptoError::Rng)?;
    let key_id = format!("k{:08x}", u32::from_be_bytes(id_bytes));
    let file = KeyFile {
        active_key: key_id.clone(),
        blind_index_key: blind.to_base64().to_string(),
        data_keys: BTreeMap::from([(key_id.clone(), data.to_base64().to_string())]),
    };
    let text =
        Zeroizing::new(toml::to_string(&file).map_err(|_| KeyError::Malformed(display.clone()))?);
    write_private(key_file, &text).map_err(|source| KeyError::Io {
        path: display,
        source,
    })?;
    Ok(Keyring::new([(key_id.clone(), data)], &key_id, blind)?)
}

/// Logs a warning when the key file can be read by its group or by others.
fn warn_if_readable_by_others(key_file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(key_file) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    key_file = %key_file.display(),
                    mode = format!("{mode:o}"),
                    "the key file is readable by other users: chmod 600 it"
                );
            }
        }
    }
}

/// Creates `dir` and its missing parents with mode 0700 (owner only).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes a new file readable by its owner only (0600), refusing to overwrite one.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
