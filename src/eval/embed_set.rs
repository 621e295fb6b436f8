//! Runs the face pipeline over a list of images on several threads, each
//! worker owning its own pipeline: embeddings for evaluation, aligned crops
//! for calibration and distillation.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::config::ModelVariant;
use crate::face::{FacePipeline, FaceResult, MtcnnConfig};
use crate::image::{self, RgbImage};

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

/// The crop the runtime embeds for one image.
#[derive(Debug, Clone)]
pub struct FaceCrop {
    /// The aligned crop (the embedder's input size).
    pub image: RgbImage,
    /// True when the detector found a face (aligned crop); false for the
    /// runtime's centred fallback crop.
    pub detected: bool,
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

/// `n` items spread evenly over `items` (all of them when there are fewer):
/// how calibration, distillation and evaluation subsets are picked.
pub fn spread<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    if n >= items.len() {
        return items.to_vec();
    }
    (0..n).map(|i| items[i * items.len() / n].clone()).collect()
}

/// Embeds every image in `paths` with `threads` workers, calling `tick` after each.
pub fn embed_images(
    models: FaceModels<'_>,
    paths: &[PathBuf],
    threads: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<EmbeddedImage>, EmbedSetError> {
    per_image(models, paths, threads, tick, |pipeline, path| {
        let t = std::time::Instant::now();
        let img = image::load(path)?;
        let decode = t.elapsed();
        let mut embedding = Vec::new();
        let result = pipeline.process(&img, &mut embedding)?;
        Ok(EmbeddedImage {
            embedding,
            result,
            decode,
        })
    })
}

/// The crop the runtime embeds for each image in `paths` (the aligned most
/// prominent face, or its centred fallback), cut with `threads` workers.
pub fn face_crops(
    models: FaceModels<'_>,
    paths: &[PathBuf],
    threads: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<FaceCrop>, EmbedSetError> {
    per_image(models, paths, threads, tick, |pipeline, path| {
        let img = image::load(path)?;
        let mut embedding = Vec::new();
        let detected = pipeline.process(&img, &mut embedding)?.face.is_some();
        Ok(FaceCrop {
            image: pipeline.aligned().clone(),
            detected,
        })
    })
}

/// `job` applied to every path in input order by `threads` workers, each
/// with a pipeline of its own; `tick` is called after each path.
fn per_image<T: Send>(
    models: FaceModels<'_>,
    paths: &[PathBuf],
    threads: usize,
    tick: &(dyn Fn() + Sync),
    job: impl Fn(&mut FacePipeline, &Path) -> Result<T, EmbedSetError> + Sync,
) -> Result<Vec<T>, EmbedSetError> {
    parallel_map(
        paths.len(),
        threads,
        || {
            FacePipeline::load_variant(models.dir, models.variant, models.detector)
                .map_err(EmbedSetError::from)
        },
        |pipeline, i| job(pipeline, &paths[i]),
        tick,
    )
}

/// `job(state, i)` for every `i` in `0..len`, results in index order, by
/// `threads` workers that each make their own state (models) with `init`;
/// `tick` is called after each item.
pub(crate) fn parallel_map<S, T: Send, E: Send>(
    len: usize,
    threads: usize,
    init: impl Fn() -> Result<S, E> + Sync,
    job: impl Fn(&mut S, usize) -> Result<T, E> + Sync,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<T>, E> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..len).map(|_| None).collect());
    let worker = || -> Result<(), E> {
        let mut state = init()?;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= len {
                return Ok(());
            }
            let out = job(&mut state, i)?;
            results.lock().expect("no worker panics holding the lock")[i] = Some(out);
            tick();
        }
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1)).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("a worker panicked"))
    })?;
    Ok(results
        .into_inner()
        .expect("workers finished")
        .into_iter()
        .map(|r| r.expect("every index was processed"))
        .collect())
}
