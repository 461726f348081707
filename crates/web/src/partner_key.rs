//! The return-signing key's file and the randomness of a new key: the I/O
//! around [`zaitaku_proto::partner::ReturnSigner`], which signs the return to
//! an online-care partner.

use std::io::Write;
use std::path::Path;

use zaitaku_proto::partner::{KeyError, ReturnSigner};

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("署名鍵ファイル {path} を読めません: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("署名鍵ファイル {path} を書けません: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// A new random key.
pub fn generate() -> Result<ReturnSigner, SigningKeyError> {
    let mut seed = [0u8; 32];
    aws_lc_rs::rand::fill(&mut seed).map_err(|_| KeyError::Generate)?;
    Ok(ReturnSigner::from_seed(&seed)?)
}

/// Reads the key at `path`, or creates it there (readable by the owner
/// only) when the file does not exist yet.
pub fn load_or_create(path: &Path) -> Result<ReturnSigner, SigningKeyError> {
    match std::fs::read_to_string(path) {
        Ok(pem) => Ok(ReturnSigner::from_pem(&pem)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let signer = generate()?;
            let pem = signer.private_pem().ok_or(KeyError::Generate)?;
            write_private(path, pem.as_bytes()).map_err(|source| SigningKeyError::Write {
                path: path.display().to_string(),
                source,
            })?;
            Ok(signer)
        }
        Err(source) => Err(SigningKeyError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_once_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("return-key.pem");
        let first = load_or_create(&path).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.kid(), again.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join("bad.pem"), "not a key").unwrap();
        assert!(matches!(
            load_or_create(&dir.path().join("bad.pem")),
            Err(SigningKeyError::Key(KeyError::NotPem))
        ));
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(generate().unwrap().kid(), generate().unwrap().kid());
    }
}
