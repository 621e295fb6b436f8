//! The gallery of enrolled faces: one file per user, `<dir>/<user>.json`,
//! holding that user's embeddings with label, time and source, and the
//! sha256 of the embedding model that made them. Embeddings of two models are
//! not comparable, so a gallery made by another model file is refused. The
//! folder is 0700, the files 0600, written atomically with a backup; a
//! damaged file is an error that names its backup, never silently dropped.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::{backup_path, write_private};

/// The gallery file format's version.
pub const GALLERY_VERSION: u32 = 1;

/// A gallery file larger than this is refused unread (a user has a few faces).
const MAX_FILE: u64 = 4 << 20;

/// Faces one user may enrol.
pub const MAX_FACES: usize = 64;

/// Why the gallery could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GalleryError {
    /// A user name that cannot name a file safely.
    #[error(
        "{0:?} is not a valid user name (1-64 of A-Z a-z 0-9 . _ -, not starting with . or -)"
    )]
    BadUser(String),
    /// A file or folder operation failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The file exists but cannot be read as a gallery.
    #[error("{path} is damaged ({reason}); {}", backup_text(.backup))]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The previous version, if one exists.
        backup: Option<PathBuf>,
    },
    /// The gallery was made by another embedding model.
    #[error("{user}'s faces were enrolled with {their_variant} model sha256 {their_sha}, but this device runs {our_variant} model sha256 {our_sha}: embeddings of two models are not comparable, re-enrol with `siamedge enrol {user}`")]
    ModelMismatch {
        /// The user.
        user: String,
        /// Model that made the gallery.
        their_sha: String,
        /// Its variant.
        their_variant: String,
        /// Model in use.
        our_sha: String,
        /// Its variant.
        our_variant: String,
    },
    /// Too many faces for one user.
    #[error(
        "{user} already has {MAX_FACES} faces: remove some first (`siamedge remove {user} LABEL`)"
    )]
    Full {
        /// The user.
        user: String,
    },
}

fn backup_text(backup: &Option<PathBuf>) -> String {
    match backup {
        Some(b) => format!(
            "the previous version is {}: inspect it and copy it over the damaged file to restore it",
            b.display()
        ),
        None => "there is no backup: re-enrol the user".into(),
    }
}

/// One enrolled embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolledFace {
    /// The user's name for it, e.g. `glasses`.
    pub label: String,
    /// When it was enrolled, in seconds since the Unix epoch.
    pub time: u64,
    /// Where the frame came from (camera or file).
    pub source: String,
    /// The L2-normalised embedding.
    pub embedding: Vec<f32>,
}

/// Every enrolled face of one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserGallery {
    /// File format version ([`GALLERY_VERSION`]).
    pub version: u32,
    /// The user.
    pub user: String,
    /// sha256 of the embedding model file that made the embeddings.
    pub model_sha256: String,
    /// That model's variant (`fp32`, `int8`, `pruned-int8`).
    pub variant: String,
    /// The faces.
    pub faces: Vec<EnrolledFace>,
}

impl UserGallery {
    /// An empty gallery for `user` with the model in use.
    pub fn new(user: &str, model_sha256: &str, variant: &str) -> UserGallery {
        UserGallery {
            version: GALLERY_VERSION,
            user: user.to_string(),
            model_sha256: model_sha256.to_string(),
            variant: variant.to_string(),
            faces: Vec::new(),
        }
    }

    /// Reads a gallery file's bytes and checks them: format version, owner
    /// `expected_user`, face count, and unit embeddings of one length. The
    /// error says what is wrong.
    pub fn parse(bytes: &[u8], expected_user: &str) -> Result<UserGallery, String> {
        if bytes.len() as u64 > MAX_FILE {
            return Err(format!("{} bytes, more than a gallery holds", bytes.len()));
        }
        let g: UserGallery = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        g.validate(expected_user)?;
        Ok(g)
    }

    fn validate(&self, expected_user: &str) -> Result<(), String> {
        if self.version != GALLERY_VERSION {
            return Err(format!(
                "format version {} (this siamedge reads {GALLERY_VERSION})",
                self.version
            ));
        }
        if self.user != expected_user {
            return Err(format!("it belongs to {:?}", self.user));
        }
        if self.faces.len() > MAX_FACES {
            return Err(format!("{} faces (at most {MAX_FACES})", self.faces.len()));
        }
        let dim = self.faces.first().map_or(0, |f| f.embedding.len());
        for f in &self.faces {
            if f.embedding.is_empty() || f.embedding.len() != dim || f.embedding.len() > 4096 {
                return Err(format!(
                    "face {:?} has a {}-value embedding, others {dim}",
                    f.label,
                    f.embedding.len()
                ));
            }
            let norm: f32 = f.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
            if !norm.is_finite() || (norm - 1.0).abs() > 1e-3 {
                return Err(format!(
                    "face {:?} is not a unit embedding (norm {norm})",
                    f.label
                ));
            }
        }
        Ok(())
    }
}

/// The gallery folder.
#[derive(Debug, Clone)]
pub struct Gallery {
    dir: PathBuf,
}

impl Gallery {
    /// Opens (and creates, mode 0700) the gallery folder; an existing folder
    /// open to others is made private.
    pub fn open(dir: &Path) -> Result<Gallery, GalleryError> {
        let io = |error| GalleryError::Io {
            path: dir.to_path_buf(),
            error,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let mode = fs::metadata(dir).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        Ok(Gallery {
            dir: dir.to_path_buf(),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `user`.
    pub fn path_for(&self, user: &str) -> Result<PathBuf, GalleryError> {
        if !siamedge_protocol::valid_user(user) {
            return Err(GalleryError::BadUser(user.to_string()));
        }
        Ok(self.dir.join(format!("{user}.json")))
    }

    /// `user`'s gallery, or `None` when the user has enrolled nothing.
    pub fn load(&self, user: &str) -> Result<Option<UserGallery>, GalleryError> {
        let path = self.path_for(user)?;
        let corrupt = |reason: String| GalleryError::Corrupt {
            backup: Some(backup_path(&path)).filter(|b| b.is_file()),
            path: path.clone(),
            reason,
        };
        let size = match fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(GalleryError::Io { path, error }),
        };
        if size > MAX_FILE {
            return Err(corrupt(format!("{size} bytes, more than a gallery holds")));
        }
        let bytes = fs::read(&path).map_err(|error| GalleryError::Io {
            path: path.clone(),
            error,
        })?;
        UserGallery::parse(&bytes, user).map(Some).map_err(corrupt)
    }

    /// `user`'s gallery, checked against the embedding model in use.
    pub fn load_for_model(
        &self,
        user: &str,
        model_sha256: &str,
        variant: &str,
    ) -> Result<Option<UserGallery>, GalleryError> {
        match self.load(user)? {
            Some(g) if g.model_sha256 != model_sha256 => Err(GalleryError::ModelMismatch {
                user: user.to_string(),
                their_sha: g.model_sha256,
                their_variant: g.variant,
                our_sha: model_sha256.to_string(),
                our_variant: variant.to_string(),
            }),
            other => Ok(other),
        }
    }

    /// Writes `g` atomically (0600, previous version kept as `.bak`).
    pub fn save(&self, g: &UserGallery) -> Result<(), GalleryError> {
        let path = self.path_for(&g.user)?;
        if g.faces.len() > MAX_FACES {
            return Err(GalleryError::Full {
                user: g.user.clone(),
            });
        }
        let text = serde_json::to_vec_pretty(g).expect("a gallery always serialises");
        write_private(&path, &text).map_err(|e| GalleryError::Io {
            path: e.path,
            error: e.error,
        })
    }

    /// Users with a gallery file, by name.
    pub fn users(&self) -> Result<Vec<String>, GalleryError> {
        let entries = fs::read_dir(&self.dir).map_err(|error| GalleryError::Io {
            path: self.dir.clone(),
            error,
        })?;
        let mut users: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let user = name.strip_suffix(".json")?;
                siamedge_protocol::valid_user(user).then(|| user.to_string())
            })
            .collect();
        users.sort();
        Ok(users)
    }

    /// Removes `user`'s faces labelled `label`, or all of them; returns how
    /// many were removed. The last version stays as the backup.
    pub fn remove(&self, user: &str, label: Option<&str>) -> Result<usize, GalleryError> {
        let Some(mut g) = self.load(user)? else {
            return Ok(0);
        };
        let before = g.faces.len();
        match label {
            Some(l) => g.faces.retain(|f| f.label != l),
            None => g.faces.clear(),
        }
        let removed = before - g.faces.len();
        if removed > 0 {
            self.save(&g)?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(label: &str, v: [f32; 2]) -> EnrolledFace {
        EnrolledFace {
            label: label.into(),
            time: 1_700_000_000,
            source: "test".into(),
            embedding: v.to_vec(),
        }
    }

    #[test]
    fn round_trip_private_files_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let g = Gallery::open(&dir.path().join("faces")).unwrap();
        assert_eq!(
            fs::metadata(g.dir()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(g.load("alice").unwrap(), None);
        let mut alice = UserGallery::new("alice", "abc", "fp32");
        alice.faces = vec![face("a", [1.0, 0.0]), face("b", [0.0, 1.0])];
        g.save(&alice).unwrap();
        let path = g.path_for("alice").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(g.load("alice").unwrap(), Some(alice));
        assert_eq!(g.users().unwrap(), ["alice"]);
        assert_eq!(g.remove("alice", Some("a")).unwrap(), 1);
        assert_eq!(g.load("alice").unwrap().unwrap().faces.len(), 1);
        assert_eq!(g.remove("alice", None).unwrap(), 1);
        assert!(g.load("alice").unwrap().unwrap().faces.is_empty());
    }

    #[test]
    fn damaged_files_name_their_backup_and_other_models_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let g = Gallery::open(dir.path()).unwrap();
        let mut bob = UserGallery::new("bob", "abc", "fp32");
        bob.faces = vec![face("a", [1.0, 0.0])];
        g.save(&bob).unwrap();
        g.save(&bob).unwrap();
        let path = g.path_for("bob").unwrap();
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let e = g.load("bob").unwrap_err().to_string();
        assert!(e.contains("damaged") && e.contains("bob.json.bak"), "{e}");
        fs::write(&path, &bytes).unwrap();
        let e = g
            .load_for_model("bob", "def", "int8")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("re-enrol") && e.contains("siamedge enrol bob"),
            "{e}"
        );
        bob.faces[0].embedding = vec![3.0, 0.0];
        fs::write(&path, serde_json::to_vec(&bob).unwrap()).unwrap();
        assert!(g
            .load("bob")
            .unwrap_err()
            .to_string()
            .contains("not a unit embedding"));
        assert!(matches!(
            g.load("../etc/passwd"),
            Err(GalleryError::BadUser(_))
        ));
    }
}
