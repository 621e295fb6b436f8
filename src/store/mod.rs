//! Durable writes of user data: write a temporary file, fsync it, keep the old
//! file as `NAME.bak`, then rename into place and fsync the folder.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a file could not be written safely.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {error}")]
pub struct WriteError {
    /// The file being written.
    pub path: PathBuf,
    /// The underlying error.
    pub error: std::io::Error,
}

/// The backup path kept for `path`: `NAME.bak` beside it.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

/// Atomically replaces `path` with `bytes`; an existing file is kept as `NAME.bak`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_mode(path, bytes, 0o644)
}

/// Like [`write_atomic`] for private data (biometric templates, lockout
/// state): the file and its backup are readable by the owner only (0600)
/// from the moment they exist.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_mode(path, bytes, 0o600)
}

fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let err = |error| WriteError {
        path: path.to_path_buf(),
        error,
    };
    let tmp = temporary_path(path);
    let written = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    if path.exists() {
        if let Err(e) = keep_backup(path) {
            let _ = fs::remove_file(&tmp);
            return Err(err(e));
        }
    }
    fs::rename(&tmp, path).map_err(err)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir).and_then(|d| d.sync_all()).map_err(err)
}

/// Where `path` is written before it is renamed into place: `NAME.tmpPID` beside it.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// Makes `NAME.bak` the current `path`, replacing the previous backup only
/// once the new one is complete: a hard link where the file system has them
/// (no data is copied, so a full disk cannot stop it), a copy otherwise.
fn keep_backup(path: &Path) -> std::io::Result<()> {
    let backup = backup_path(path);
    let staged = temporary_path(&backup);
    let _ = fs::remove_file(&staged);
    let made = fs::hard_link(path, &staged).or_else(|_| fs::copy(path, &staged).map(|_| ()));
    match made.and_then(|()| fs::rename(&staged, &backup)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&staged);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gallery.bin");
        write_atomic(&p, b"one").unwrap();
        assert!(!backup_path(&p).exists());
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read(backup_path(&p)).unwrap(), b"one");
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 2, "no temporary file is left behind");
    }

    #[test]
    fn private_files_and_their_backups_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("alice.json");
        write_private(&p, b"one").unwrap();
        write_private(&p, b"two").unwrap();
        for f in [p.clone(), backup_path(&p)] {
            let mode = fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }

    #[test]
    fn a_missing_folder_is_a_clear_error() {
        let e = write_atomic(Path::new("/nonexistent-dir/x.toml"), b"x").unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir/x.toml"));
    }
}
