//! Host key (persisted, generated once, mode 0600) and the authorized_keys
//! file with a role per key.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use russh::keys::ssh_key::{self, HashAlg, LineEnding, PrivateKey, PublicKey};

use crate::actions::Role;

/// Load the host key, or generate an Ed25519 key there (mode 0600) if the
/// file does not exist.
pub fn host_key(path: &Path) -> Result<PrivateKey, String> {
    if path.exists() {
        return russh::keys::load_secret_key(path, None)
            .map_err(|e| format!("cannot load host key {}: {e}", path.display()));
    }
    let mut seed = [0u8; 32];
    let mut f = std::fs::File::open("/dev/urandom").map_err(|e| format!("no randomness: {e}"))?;
    std::io::Read::read_exact(&mut f, &mut seed).map_err(|e| format!("no randomness: {e}"))?;
    let pair = ssh_key::private::Ed25519Keypair::from_seed(&seed);
    let key = PrivateKey::from(pair);
    let text = key.to_openssh(LineEnding::LF).map_err(|e| format!("cannot encode host key: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write host key {}: {e}", path.display()))?;
    out.write_all(text.as_bytes()).map_err(|e| format!("cannot write host key {}: {e}", path.display()))?;
    Ok(key)
}

/// One allowed key and the role it grants.
#[derive(Debug, Clone)]
pub struct AllowedKey {
    pub key: PublicKey,
    pub role: Role,
    pub comment: String,
}

/// Read an OpenSSH authorized_keys file. A key is a viewer unless its
/// options include `environment="WARROOM_ROLE=operator"`.
pub fn authorized_keys(path: &Path) -> Result<Vec<AllowedKey>, String> {
    let entries = ssh_key::AuthorizedKeys::read_file(path)
        .map_err(|e| format!("cannot read authorized keys {}: {e}", path.display()))?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let operator = e.config_opts().iter().any(|o| {
                let o = o.replace('"', "");
                o == "environment=WARROOM_ROLE=operator"
            });
            AllowedKey {
                comment: e.public_key().comment().to_string(),
                key: e.public_key().clone(),
                role: if operator { Role::Operator } else { Role::Viewer },
            }
        })
        .collect())
}

/// The entry for an offered key (comments are ignored when comparing).
pub fn find<'a>(keys: &'a [AllowedKey], offered: &PublicKey) -> Option<&'a AllowedKey> {
    keys.iter().find(|k| k.key.key_data() == offered.key_data())
}

pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}
