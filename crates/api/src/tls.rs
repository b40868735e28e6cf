//! HTTPS in process (`tls_cert_file`, `tls_key_file`): rustls with the ring provider, and a
//! certificate read again when either file changes, so a renewed certificate is served
//! without a restart (checked every [`RELOAD_EVERY`]; a file that does not parse, or a key that
//! does not match its certificate, is logged and the served certificate stays).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// How often the files are checked for a change.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// Why a certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no PEM of the expected kind.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// The key and the certificate do not belong together, or the key is of no supported type.
    #[error("tls_key_file does not fit tls_cert_file: {0}")]
    Mismatch(String),
    /// Only one of `tls_cert_file` and `tls_key_file` is set.
    #[error("tls_cert_file and tls_key_file go together: set both or neither")]
    Half,
}

/// The certificate being served, and where it comes from.
#[derive(Debug)]
pub struct Tls {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<(Arc<CertifiedKey>, Stamp)>,
}

/// What the files looked like when last read: modification times and lengths.
type Stamp = Option<[(SystemTime, u64); 2]>;

fn stamp(cert: &Path, key: &Path) -> Stamp {
    let one = |p: &Path| {
        let m = std::fs::metadata(p).ok()?;
        Some((m.modified().ok()?, m.len()))
    };
    Some([one(cert)?, one(key)?])
}

/// Reads a certificate chain and its key, and checks they belong together.
pub fn load(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, TlsError> {
    let file_error = |path: &Path, problem: String| TlsError::File {
        path: path.to_owned(),
        problem,
    };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| file_error(cert_file, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(cert_file, e.to_string()))?;
    if chain.is_empty() {
        return Err(file_error(cert_file, "no CERTIFICATE in the file".into()));
    }
    let key =
        PrivateKeyDer::from_pem_file(key_file).map_err(|e| file_error(key_file, e.to_string()))?;
    let signing = any_supported_type(&key).map_err(|e| TlsError::Mismatch(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    Ok(certified)
}

impl Tls {
    /// The certificate of `cert_file` and `key_file`, both set or neither (`Ok(None)`).
    pub fn from_files(
        cert_file: Option<&Path>,
        key_file: Option<&Path>,
    ) -> Result<Option<Arc<Self>>, TlsError> {
        let (cert_file, key_file) = match (cert_file, key_file) {
            (None, None) => return Ok(None),
            (Some(c), Some(k)) => (c, k),
            _ => return Err(TlsError::Half),
        };
        let stamped = stamp(cert_file, key_file);
        let certified = load(cert_file, key_file)?;
        Ok(Some(Arc::new(Self {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            current: RwLock::new((Arc::new(certified), stamped)),
        })))
    }

    /// A rustls server configuration that serves the current certificate.
    pub fn server_config(self: &Arc<Self>) -> Result<rustls::ServerConfig, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// Reads the files again if they changed since last read. `Ok(true)`: a new certificate
    /// is served from now on.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = stamp(&self.cert_file, &self.key_file);
        let unchanged = self.current.read().is_ok_and(|c| c.1 == now);
        if unchanged {
            return Ok(false);
        }
        let certified = load(&self.cert_file, &self.key_file)?;
        if let Ok(mut current) = self.current.write() {
            *current = (Arc::new(certified), now);
        }
        Ok(true)
    }

    /// Checks the files every [`RELOAD_EVERY`] in the background.
    pub fn spawn_reloader(self: &Arc<Self>) {
        let tls = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RELOAD_EVERY);
            loop {
                tick.tick().await;
                match tls.reload_if_changed() {
                    Ok(true) => tracing::info!(
                        cert_file = %tls.cert_file.display(),
                        "a new TLS certificate is served"
                    ),
                    Ok(false) => {}
                    // Half-written files during a renewal parse on the next tick.
                    Err(e) => tracing::warn!(
                        error = %e,
                        "the TLS files changed but cannot be used; the previous certificate is still served"
                    ),
                }
            }
        });
    }
}

impl ResolvesServerCert for Tls {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.0.clone())
    }
}
