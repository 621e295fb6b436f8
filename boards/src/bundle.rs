//! Bundles: the runtime binary, the models with their manifests, the device
//! configuration, the systemd unit and the udev rule of one board, in one
//! `.tar.gz` with a `bundle.toml` listing each file's install path and sha256.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use siamedge::model::{sha256_hex, Manifest};

use crate::board::{Arch, Board};
use crate::{layout, BoardError};

/// The most bytes a bundle may unpack to (its binaries and models are
/// tens of MB; the limit stops a compressed bomb before it fills the memory).
pub const MAX_UNPACKED: u64 = 128 << 20;

/// The models every bundle carries besides the variant's embedding model:
/// the MTCNN stages, the anti-spoofing net and the NanoTrack tracker
/// (`models/zoo/fetch.sh` copies it from models/zoo/nanotrack).
pub const SUPPORT_MODELS: [&str; 7] = [
    "pnet.onnx",
    "rnet.onnx",
    "onet.onnx",
    "FaceAntiSpoofing.onnx",
    "nanotrack/nanotrack_v3_backbone.onnx",
    "nanotrack/nanotrack_v3_backbone.int8.onnx",
    "nanotrack/nanotrack_v3_head.onnx",
];

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleFile {
    /// Absolute install path on the board.
    pub path: String,
    /// sha256 of the contents.
    pub sha256: String,
    /// Unix permission bits.
    pub mode: u32,
}

/// `bundle.toml`: what a bundle is for and what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleManifest {
    /// Board name.
    pub board: String,
    /// Rust target triple of the binary.
    pub target: String,
    /// `-C target-cpu` of the binary.
    pub target_cpu: String,
    /// siamedge version.
    pub version: String,
    /// The embedding-model variant.
    pub variant: String,
    /// Every file, in install order.
    pub files: Vec<BundleFile>,
}

/// A bundle in memory: its manifest and each file's bytes by install path.
#[derive(Debug)]
pub struct Bundle {
    /// The manifest.
    pub manifest: BundleManifest,
    /// Contents by install path.
    pub contents: BTreeMap<String, Vec<u8>>,
}

fn read(path: &Path) -> Result<Vec<u8>, BoardError> {
    std::fs::read(path).map_err(|error| BoardError::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// Checks that `onnx`'s bytes are the file its manifest `toml` describes.
pub fn check_model(name: &Path, onnx: &[u8], toml: &[u8]) -> Result<(), BoardError> {
    let manifest_path = Manifest::path_for(name);
    let text = std::str::from_utf8(toml).map_err(|e| BoardError::ModelManifest {
        path: manifest_path.clone(),
        reason: e.to_string(),
    })?;
    let manifest = Manifest::parse(text).map_err(|reason| BoardError::ModelManifest {
        path: manifest_path,
        reason,
    })?;
    let actual = sha256_hex(onnx);
    if actual != manifest.sha256 {
        return Err(BoardError::ModelMismatch {
            model: name.to_path_buf(),
            expected: manifest.sha256,
            actual,
        });
    }
    Ok(())
}

impl Bundle {
    /// Assembles the bundle of `board` for `arch` from a built binary, the
    /// built PAM module (with its `pam-auth-update` profile) when given, and
    /// a models folder, refusing any model whose sha256 differs from its manifest.
    pub fn assemble(
        board: &Board,
        arch: Arch,
        binary: &Path,
        pam_module: Option<&Path>,
        models: &Path,
    ) -> Result<Bundle, BoardError> {
        let target = board.target(arch)?;
        let mut bundle = Bundle {
            manifest: BundleManifest {
                board: board.name.clone(),
                target: target.target.clone(),
                target_cpu: target.target_cpu.clone(),
                version: siamedge_version().into(),
                variant: board.device.variant.name().into(),
                files: Vec::new(),
            },
            contents: BTreeMap::new(),
        };
        bundle.add(layout::BINARY, read(binary)?, 0o755);
        if let Some(module) = pam_module {
            bundle.add(layout::pam_module(arch), read(module)?, 0o644);
            bundle.add(
                layout::PAM_CONFIG,
                layout::PAM_CONFIG_TEXT.as_bytes().to_vec(),
                0o644,
            );
        }
        let embedder = board.device.variant.embedder_file();
        for name in SUPPORT_MODELS.into_iter().chain([embedder]) {
            let onnx_path = models.join(name);
            let toml_path = Manifest::path_for(&onnx_path);
            if !onnx_path.is_file() {
                return Err(BoardError::MissingModel {
                    model: onnx_path,
                    variant: board.device.variant.name().into(),
                });
            }
            let (onnx, toml) = (read(&onnx_path)?, read(&toml_path)?);
            check_model(&onnx_path, &onnx, &toml)?;
            let installed = format!("{}/{name}", layout::MODELS);
            bundle.add(&installed, onnx, 0o644);
            bundle.add(
                &Manifest::path_for(Path::new(&installed))
                    .display()
                    .to_string(),
                toml,
                0o644,
            );
        }
        bundle.add(
            layout::CONFIG,
            layout::device_config(board).into_bytes(),
            0o644,
        );
        bundle.add(
            layout::UNIT,
            layout::systemd_unit(board).into_bytes(),
            0o644,
        );
        bundle.add(
            layout::UDEV_RULE,
            layout::udev_rule(board).into_bytes(),
            0o644,
        );
        Ok(bundle)
    }

    fn add(&mut self, path: &str, bytes: Vec<u8>, mode: u32) {
        self.manifest.files.push(BundleFile {
            path: path.into(),
            sha256: sha256_hex(&bytes),
            mode,
        });
        self.contents.insert(path.into(), bytes);
    }

    /// The bundle's file name: `siamedge-<board>-<arch>.tar.gz`.
    pub fn file_name(&self) -> String {
        let arch = self.manifest.target.split('-').next().unwrap_or("unknown");
        format!("siamedge-{}-{arch}.tar.gz", self.manifest.board)
    }

    /// The bundle as `.tar.gz` bytes: `bundle.toml`, then `files/<install path>`.
    pub fn to_tar_gz(&self) -> Vec<u8> {
        let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::best()));
        let manifest = toml::to_string(&self.manifest).expect("a bundle manifest serialises");
        let mut put = |name: &str, bytes: &[u8], mode: u32| {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(mode);
            header.set_mtime(0);
            header.set_cksum();
            tar.append_data(&mut header, name, bytes)
                .expect("writing a tar entry to memory cannot fail");
        };
        put("bundle.toml", manifest.as_bytes(), 0o644);
        for f in &self.manifest.files {
            put(&format!("files{}", f.path), &self.contents[&f.path], f.mode);
        }
        tar.into_inner()
            .and_then(|gz| gz.finish())
            .expect("compressing to memory cannot fail")
    }

    /// Reads and verifies a bundle file: every listed file present with its
    /// sha256, nothing unlisted, install paths absolute and without `..`, and
    /// every model matching its manifest.
    pub fn open(path: &Path) -> Result<Bundle, BoardError> {
        Bundle::from_bytes(path, &read(path)?)
    }

    /// Like [`Bundle::open`], on the bytes of the bundle file `path` (named in errors).
    /// The archive may unpack to at most [`MAX_UNPACKED`] bytes: a
    /// compressed bomb is refused before it fills the memory.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Bundle, BoardError> {
        let corrupt = |reason: String| BoardError::CorruptBundle {
            path: path.to_path_buf(),
            reason,
        };
        let mut archive = tar::Archive::new(GzDecoder::new(bytes));
        let mut entries = BTreeMap::new();
        let mut unpacked = 0u64;
        for entry in archive.entries().map_err(|e| corrupt(e.to_string()))? {
            let entry = entry.map_err(|e| corrupt(e.to_string()))?;
            let name = entry
                .path()
                .map_err(|e| corrupt(e.to_string()))?
                .display()
                .to_string();
            let mut data = Vec::new();
            let left = MAX_UNPACKED - unpacked;
            entry
                .take(left + 1)
                .read_to_end(&mut data)
                .map_err(|e| corrupt(format!("{name}: {e}")))?;
            unpacked += data.len() as u64;
            if unpacked > MAX_UNPACKED {
                return Err(corrupt(format!(
                    "it unpacks to more than {MAX_UNPACKED} bytes (at {name}); a bundle is a few MB"
                )));
            }
            entries.insert(name, data);
        }
        let manifest_text = entries
            .remove("bundle.toml")
            .ok_or_else(|| corrupt("no bundle.toml".into()))?;
        let manifest: BundleManifest = std::str::from_utf8(&manifest_text)
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str(t).map_err(|e| e.to_string()))
            .map_err(|e| corrupt(format!("bundle.toml: {e}")))?;
        let mut contents = BTreeMap::new();
        for f in &manifest.files {
            if !f.path.starts_with('/') || f.path.split('/').any(|c| c == "..") {
                return Err(corrupt(format!("unsafe install path {}", f.path)));
            }
            let data = entries
                .remove(&format!("files{}", f.path))
                .ok_or_else(|| corrupt(format!("{} is listed but missing", f.path)))?;
            if sha256_hex(&data) != f.sha256 {
                return Err(corrupt(format!("{} does not match its sha256", f.path)));
            }
            contents.insert(f.path.clone(), data);
        }
        if let Some(extra) = entries.keys().next() {
            return Err(corrupt(format!("{extra} is not listed in bundle.toml")));
        }
        for (p, onnx) in contents.iter().filter(|(p, _)| p.ends_with(".onnx")) {
            let toml_path = Manifest::path_for(Path::new(p)).display().to_string();
            let toml = contents
                .get(&toml_path)
                .ok_or_else(|| corrupt(format!("{p} has no manifest {toml_path}")))?;
            check_model(Path::new(p), onnx, toml)?;
        }
        Ok(Bundle { manifest, contents })
    }

    /// Writes the bundle into `dir` (atomically); returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, BoardError> {
        std::fs::create_dir_all(dir).map_err(|error| BoardError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
        let path = dir.join(self.file_name());
        siamedge::store::write_atomic(&path, &self.to_tar_gz())?;
        Ok(path)
    }
}

/// The version of the runtime this tool bundles.
pub fn siamedge_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzip'd tar holding one entry of `size` zero bytes (a compressed bomb).
    fn bomb(size: u64) -> Vec<u8> {
        let gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(
            &mut header,
            "files/usr/bin/siamedge",
            std::io::repeat(0).take(size),
        )
        .unwrap();
        tar.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn a_compressed_bomb_is_refused_at_the_limit() {
        let bytes = bomb(MAX_UNPACKED + 1);
        assert!(bytes.len() < 4 << 20, "the bomb is small: {}", bytes.len());
        let e = Bundle::from_bytes(Path::new("bomb.tar.gz"), &bytes).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("bomb.tar.gz") && text.contains(&MAX_UNPACKED.to_string()),
            "{text}"
        );
    }
}
