//! Snapshots of failed attempts (off by default): the attempt's last frame
//! as a JPEG, readable by root only, so an owner can see who tried.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::image::{encode_jpeg, RgbImage};

/// Why a snapshot was not written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The folder could not be made private.
    #[error("snapshot folder {path}: {error}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The frame could not be encoded.
    #[error("encoding the snapshot: {0}")]
    Encode(String),
    /// The file could not be written.
    #[error(transparent)]
    Write(#[from] crate::store::WriteError),
}

/// Writes `frame` as `dir/<time_ms>-<user>.jpg` (folder 0700, file 0600,
/// atomically). `user` must already be a valid user name.
pub fn write_snapshot(
    dir: &Path,
    user: &str,
    time_ms: u64,
    frame: &RgbImage,
) -> Result<PathBuf, SnapshotError> {
    if frame.width == 0 || frame.height == 0 {
        return Err(SnapshotError::Encode(format!(
            "no frame to keep ({}x{})",
            frame.width, frame.height
        )));
    }
    let folder = |error| SnapshotError::Folder {
        path: dir.to_path_buf(),
        error,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(folder)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(folder)?;
    let mut jpeg = Vec::new();
    encode_jpeg(frame, 85, &mut jpeg).map_err(SnapshotError::Encode)?;
    let path = dir.join(format!("{time_ms}-{user}.jpg"));
    crate::store::write_private(&path, &jpeg)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_snapshot_is_private_and_an_empty_frame_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let snaps = dir.path().join("snaps");
        let mut frame = RgbImage::new(8, 8);
        frame.data.fill(90);
        let p = write_snapshot(&snaps, "alice", 42, &frame).unwrap();
        assert_eq!(p.file_name().unwrap(), "42-alice.jpg");
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&snaps).unwrap().mode() & 0o777, 0o700);
        assert_eq!(&std::fs::read(&p).unwrap()[..2], &[0xFF, 0xD8]);
        assert!(write_snapshot(&snaps, "alice", 43, &RgbImage::new(0, 0)).is_err());
    }
}
