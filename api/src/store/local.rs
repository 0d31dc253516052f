//! Local-directory backend.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{ObjectKey, StoreError, StoredObject, sha256_hex};

/// Evidence in a directory tree under one root, one file per object at `<root>/<key>`.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

/// Distinguishes temp files of concurrent puts of the same object within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl LocalStore {
    /// Opens (creating if needed) the store rooted at `root`.
    pub async fn open(root: &Path) -> Result<Self, StoreError> {
        let root = root.to_path_buf();
        blocking(move || {
            fs::create_dir_all(&root)?;
            // Canonical, so the containment check below compares like with like.
            Ok(Self {
                root: root.canonicalize()?,
            })
        })
        .await
    }

    /// The directory this store writes under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(super) async fn put(&self, bytes: &[u8]) -> Result<StoredObject, StoreError> {
        let sha256 = sha256_hex(bytes);
        let key = ObjectKey::for_sha256(&sha256)?;
        let path = self.path_of(&key)?;
        let bytes = bytes.to_vec();
        let size = bytes.len() as u64;
        let expected = sha256.clone();
        blocking(move || write_once(&path, &bytes, &expected)).await?;
        Ok(StoredObject { key, sha256, size })
    }

    pub(super) async fn get(&self, key: &ObjectKey) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(key)?;
        let name = key.to_string();
        blocking(move || match fs::read(&path) {
            Err(e) if e.kind() == ErrorKind::NotFound => Err(StoreError::NotFound(name)),
            other => Ok(other?),
        })
        .await
    }

    pub(super) async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        let path = self.path_of(key)?;
        blocking(move || Ok(path.try_exists()?)).await
    }

    pub(super) async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        blocking(move || match fs::remove_file(&path) {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            other => Ok(other?),
        })
        .await
    }

    pub(super) async fn health(&self) -> Result<(), StoreError> {
        let root = self.root.clone();
        blocking(move || {
            // Writability, not mere existence: a read-only mount must fail readiness.
            // Unique per call: concurrent probes must not remove each other's file.
            let probe = root.join(format!(
                ".health-{}-{}",
                std::process::id(),
                TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            fs::write(&probe, b"ok")
                .and_then(|()| fs::remove_file(&probe))
                .map_err(|e| StoreError::Unavailable(format!("{}: {e}", root.display())))
        })
        .await
    }

    /// Path of `key` under the root. Keys are already validated; checking the components again
    /// keeps the guarantee local to this function should the key format ever change.
    fn path_of(&self, key: &ObjectKey) -> Result<PathBuf, StoreError> {
        let rel = Path::new(key.as_str());
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(StoreError::Invalid(format!("key escapes the store: {key}")));
        }
        Ok(self.root.join(rel))
    }
}

/// Writes `bytes` to `path` atomically unless an intact copy is already there.
///
/// Readers must never see a half-written photo and a crash must never leave one under a valid key:
/// the bytes go to a temp file in the same directory, are fsynced, then renamed over the final name
/// (atomic on POSIX within one file system), and the directory is fsynced so the rename survives a
/// power cut.
fn write_once(path: &Path, bytes: &[u8], sha256: &str) -> Result<(), StoreError> {
    match fs::read(path) {
        // The key names the content, so an existing file that hashes right is this object.
        Ok(existing) if sha256_hex(&existing) == sha256 => return Ok(()),
        // A file under this key with other bytes is damage (disk error, tampering): replacing it
        // with the bytes the key names is a repair, never an overwrite of other evidence.
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::Invalid(format!("no parent directory: {}", path.display())))?;
    fs::create_dir_all(dir)?;
    let temp = dir.join(format!(
        ".tmp-{}-{}-{}",
        &sha256[..16],
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    Ok(written?)
}

/// Runs file-system work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
}
