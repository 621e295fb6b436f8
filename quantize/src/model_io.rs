//! Reading a model with its manifest, and writing a derived model with the
//! manifest that describes it: shared by the commands that read or make models.

use std::path::Path;

use anyhow::{Context, Result};

use siamedge::model::{sha256_hex, Manifest, Threshold};
use siamedge::store::write_atomic;

/// The bytes of the ONNX file at `path` and its manifest.
pub fn read_model(path: &Path) -> Result<(Vec<u8>, Manifest)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let manifest = Manifest::load_for(path).with_context(|| {
        format!(
            "{} needs its manifest {}",
            path.display(),
            Manifest::path_for(path).display()
        )
    })?;
    Ok((bytes, manifest))
}

/// The manifest of a model made from one described by `from`: the new
/// file's sha256 and thresholds, and this command line as the tool.
pub fn derived_manifest(
    from: &Manifest,
    bytes: &[u8],
    thresholds: Vec<Threshold>,
    calibrated_on: String,
) -> Manifest {
    let mut m = from.clone();
    m.sha256 = sha256_hex(bytes);
    m.thresholds = thresholds;
    m.thresholds_calibrated_on = calibrated_on;
    m.transform.tool = std::env::args().collect::<Vec<_>>().join(" ");
    m
}

/// Writes `bytes` to `path` atomically (old file kept as `.bak`) and `manifest` beside it.
pub fn write_model(path: &Path, bytes: &[u8], manifest: &Manifest) -> Result<()> {
    write_atomic(path, bytes)?;
    manifest.save(&Manifest::path_for(path))?;
    Ok(())
}
