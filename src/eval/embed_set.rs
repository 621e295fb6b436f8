//! Embeds a list of images with the face pipeline on several threads, each
//! worker owning its own pipeline.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::config::ModelVariant;
use crate::face::{FacePipeline, FaceResult, MtcnnConfig};
use crate::image;

/// The embedding of one image and what the pipeline saw.
#[derive(Debug, Clone)]
pub struct EmbeddedImage {
    /// The L2-normalised embedding.
    pub embedding: Vec<f32>,
    /// Detection outcome and stage timings.
    pub result: FaceResult,
    /// Time to read and decode the file.
    pub decode: std::time::Duration,
}

/// Why a set of images could not be embedded.
#[derive(Debug, thiserror::Error)]
pub enum EmbedSetError {
    /// A model failed to load or run.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// An image could not be read.
    #[error(transparent)]
    Image(#[from] image::ImageError),
}

/// The face models an evaluation runs: their folder, the embedder variant
/// and the detector settings.
#[derive(Debug, Clone, Copy)]
pub struct FaceModels<'a> {
    /// Folder holding pnet/rnet/onet and the embedder files with manifests.
    pub dir: &'a Path,
    /// Which embedder file.
    pub variant: ModelVariant,
    /// Detector settings.
    pub detector: MtcnnConfig,
}

impl FaceModels<'_> {
    /// Path of the embedder file.
    pub fn embedder_path(&self) -> PathBuf {
        self.dir.join(self.variant.embedder_file())
    }
}

/// Embeds every image in `paths` with `threads` workers, calling `tick` after each.
pub fn embed_images(
    models: FaceModels<'_>,
    paths: &[PathBuf],
    threads: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<EmbeddedImage>, EmbedSetError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<EmbeddedImage>>> = Mutex::new(vec![None; paths.len()]);
    let worker = || -> Result<(), EmbedSetError> {
        let mut pipeline = FacePipeline::load_variant(models.dir, models.variant, models.detector)?;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= paths.len() {
                return Ok(());
            }
            let t = std::time::Instant::now();
            let img = image::load(&paths[i])?;
            let decode = t.elapsed();
            let mut embedding = Vec::new();
            let result = pipeline.process(&img, &mut embedding)?;
            results.lock().expect("no worker panics holding the lock")[i] = Some(EmbeddedImage {
                embedding,
                result,
                decode,
            });
            tick();
        }
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1)).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("embedding worker panicked"))
    })?;
    Ok(results
        .into_inner()
        .expect("workers finished")
        .into_iter()
        .map(|r| r.expect("every index was processed"))
        .collect())
}
