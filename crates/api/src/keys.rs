//! The keyring's source: `ONBOARD_DATA_KEYS` etc. in the environment, else a key file, else
//! (development) a new key file written with mode 0600.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use storage::{Keyring, SecretKey};

/// The key file's shape (TOML). Keys are standard Base64 of 32 bytes.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    active_key: String,
    blind_index_key: String,
    data_keys: BTreeMap<String, String>,
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
pub fn load(key_file: &Path) -> Result<(Keyring, KeySource), KeyError> {
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
    match std::fs::read_to_string(key_file) {
        Ok(text) => {
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
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let data = SecretKey::generate()?;
            let blind = SecretKey::generate()?;
            let file = KeyFile {
                active_key: "k1".to_owned(),
                blind_index_key: blind.to_base64().to_string(),
                data_keys: BTreeMap::from([("k1".to_owned(), data.to_base64().to_string())]),
            };
            let text = toml::to_string(&file).map_err(|_| KeyError::Malformed(display.clone()))?;
            write_private(key_file, &text).map_err(|source| KeyError::Io {
                path: display,
                source,
            })?;
            let ring = Keyring::new([("k1".to_owned(), data)], "k1", blind)?;
            Ok((ring, KeySource::Created))
        }
        Err(source) => Err(KeyError::Io {
            path: display,
            source,
        }),
    }
}

/// Writes a new file readable by its owner only (0600), refusing to overwrite one.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
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
