//! Reading a model with its manifest, and writing a derived model with the
//! manifest that describes it: shared by the commands that read or make models.

use std::path::Path;

use anyhow::{Context, Result};

use siamedge::model::{Manifest, Threshold};
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

/// The manifest of a model made from one described by `from`, with this
/// command line as the tool.
pub fn derived_manifest(
    from: &Manifest,
    bytes: &[u8],
    thresholds: Vec<Threshold>,
    calibrated_on: String,
) -> Manifest {
    from.derived(
        bytes,
        thresholds,
        calibrated_on,
        std::env::args().collect::<Vec<_>>().join(" "),
    )
}

/// Writes `bytes` to `path` atomically (old file kept as `.bak`) and `manifest` beside it.
pub fn write_model(path: &Path, bytes: &[u8], manifest: &Manifest) -> Result<()> {
    write_atomic(path, bytes)?;
    manifest.save(&Manifest::path_for(path))?;
    Ok(())
}
