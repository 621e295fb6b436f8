//! Aligned face crops for calibration and evaluation, cut by the runtime's
//! own detector and alignment, and turned into model inputs by the runtime's
//! own preprocessing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use siamedge::face::{FacePipeline, MtcnnConfig};
use siamedge::image::{self, RgbImage};
use siamedge::model::{fill_input, InputSpec};

use super::QuantError;

/// `n` items spread evenly over `items` (all of them when there are fewer).
pub fn spread<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    if n >= items.len() {
        return items.to_vec();
    }
    (0..n).map(|i| items[i * items.len() / n].clone()).collect()
}

/// A face crop as the runtime cuts it.
#[derive(Debug, Clone)]
pub struct Crop {
    /// The 112x112 crop.
    pub image: RgbImage,
    /// True when the detector found a face (aligned crop); false for the
    /// runtime's centred fallback crop.
    pub detected: bool,
}

/// The crop the runtime embeds for each image (the aligned most prominent
/// face, or its centred fallback), in input order, cut with `threads` workers.
pub fn face_crops(
    models: &Path,
    paths: &[PathBuf],
    threads: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Crop>, QuantError> {
    let next = AtomicUsize::new(0);
    let crops: Mutex<Vec<Option<Crop>>> = Mutex::new(vec![None; paths.len()]);
    let worker = || -> Result<(), QuantError> {
        let mut pipeline = FacePipeline::load(models, MtcnnConfig::default())?;
        let mut embedding = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= paths.len() {
                return Ok(());
            }
            let img = image::load(&paths[i])?;
            let detected = pipeline.process(&img, &mut embedding)?.face.is_some();
            crops.lock().expect("no worker panics holding the lock")[i] = Some(Crop {
                image: pipeline.aligned().clone(),
                detected,
            });
            tick();
        }
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1)).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("face worker panicked"))
    })?;
    Ok(crops
        .into_inner()
        .expect("workers finished")
        .into_iter()
        .map(|c| c.expect("every index was processed"))
        .collect())
}

/// Each crop as a model input under `spec`.
pub fn to_inputs<'a>(
    spec: &InputSpec,
    crops: impl IntoIterator<Item = &'a RgbImage>,
) -> Vec<Vec<f32>> {
    let len: usize = spec.shape.iter().product();
    crops
        .into_iter()
        .map(|c| {
            let mut x = vec![0.0; len];
            fill_input(spec, &c.data, c.width, c.height, &mut x);
            x
        })
        .collect()
}
