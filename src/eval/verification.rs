//! Face verification on the LFW pair protocol, end to end: decode, detect,
//! align, embed every image once, score every pair, and summarise.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::embed_set::{embed_images, EmbedSetError, FaceModels};
use super::lfw::{read_pairs, LfwError};
use super::metrics::{at_far, auc, kfold_accuracy, mean_std, roc, RocPoint, ScoredPair};
use crate::distance::similarity;
use crate::model::Manifest;

/// TAR at a fixed FAR, with the threshold that gives it.
#[derive(Debug, Clone, Serialize)]
pub struct FarPoint {
    /// Target false-accept rate.
    pub far: f64,
    /// True-accept rate at that FAR.
    pub tar: f64,
    /// Score threshold (accept when score >= threshold).
    pub threshold: f32,
}

/// The LFW verification report (`--json` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct LfwReport {
    /// Embedding model file.
    pub model: String,
    /// sha256 of the embedding model file (checked against the file when the models loaded).
    pub model_sha256: String,
    /// Number of pairs scored.
    pub pairs: usize,
    /// Number of distinct images embedded.
    pub images: usize,
    /// Accuracy of each fold, threshold picked on the other folds.
    pub fold_accuracy: Vec<f64>,
    /// Thresholds picked for each fold.
    pub fold_threshold: Vec<f32>,
    /// Mean fold accuracy.
    pub accuracy_mean: f64,
    /// Population standard deviation of fold accuracies.
    pub accuracy_std: f64,
    /// Area under the ROC curve over all pairs.
    pub roc_auc: f64,
    /// TAR at FAR = 1e-2 and 1e-3 over all pairs.
    pub tar_at_far: Vec<FarPoint>,
    /// Images in which MTCNN found no face (the centred crop was used).
    pub detector_misses: usize,
    /// Which images those were.
    pub missed_images: Vec<String>,
    /// Images with more than one detected face (the most prominent was used).
    pub multiple_faces: usize,
    /// Median per-image times in milliseconds: decode, detect, align, embed.
    pub median_ms: StageMillis,
    /// Worker threads used.
    pub threads: usize,
    /// Wall time of the whole evaluation in seconds.
    pub seconds: f64,
}

/// Median stage times in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct StageMillis {
    /// Read and decode.
    pub decode: f64,
    /// MTCNN.
    pub detect: f64,
    /// Similarity warp.
    pub align: f64,
    /// Embedding network.
    pub embed: f64,
}

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The pair list could not be read.
    #[error(transparent)]
    Lfw(#[from] LfwError),
    /// Embedding failed.
    #[error(transparent)]
    Embed(#[from] EmbedSetError),
    /// The model or its manifest could not be read.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// A data folder could not be listed.
    #[error("cannot list {path}: {error}. Pass --data pointing at an LFW folder holding pairs.txt and images/")]
    List {
        /// The folder.
        path: std::path::PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
}

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Runs the LFW protocol in `data` with `models`; returns the report and the ROC curve.
pub fn evaluate_lfw(
    models: FaceModels<'_>,
    data: &Path,
    threads: usize,
    on_start: &dyn Fn(usize),
    tick: &(dyn Fn() + Sync),
) -> Result<(LfwReport, Vec<RocPoint>), EvalError> {
    let started = Instant::now();
    let pairs = read_pairs(data)?;
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    let mut paths = Vec::new();
    for p in &pairs {
        for path in [&p.a, &p.b] {
            index.entry(path.clone()).or_insert_with(|| {
                paths.push(path.clone());
                paths.len() - 1
            });
        }
    }
    on_start(paths.len());
    let model_path = models.embedder_path();
    let manifest = Manifest::load_for(&model_path)?;
    let distance = manifest.distance.unwrap_or(crate::model::Distance::Cosine);
    let embedded = embed_images(models, &paths, threads, tick)?;
    let scored: Vec<ScoredPair> = pairs
        .iter()
        .map(|p| {
            let a = &embedded[index[&p.a]].embedding;
            let b = &embedded[index[&p.b]].embedding;
            ScoredPair {
                score: similarity(distance, a, b),
                same: p.same,
                fold: p.fold,
            }
        })
        .collect();
    let folds = kfold_accuracy(&scored);
    let fold_accuracy: Vec<f64> = folds.iter().map(|f| f.accuracy).collect();
    let (accuracy_mean, accuracy_std) = mean_std(&fold_accuracy);
    let curve = roc(&scored);
    let tar_at_far = [1e-2, 1e-3]
        .iter()
        .map(|&far| {
            let p = at_far(&curve, far);
            FarPoint {
                far,
                tar: p.tar,
                threshold: p.threshold,
            }
        })
        .collect();
    let missed_images: Vec<String> = paths
        .iter()
        .zip(&embedded)
        .filter(|(_, e)| e.result.face.is_none())
        .map(|(p, _)| p.display().to_string())
        .collect();
    let report = LfwReport {
        model: model_path.display().to_string(),
        model_sha256: manifest.sha256.clone(),
        pairs: scored.len(),
        images: paths.len(),
        fold_threshold: folds.iter().map(|f| f.threshold).collect(),
        fold_accuracy,
        accuracy_mean,
        accuracy_std,
        roc_auc: auc(&curve),
        tar_at_far,
        detector_misses: missed_images.len(),
        missed_images,
        multiple_faces: embedded.iter().filter(|e| e.result.faces_found > 1).count(),
        median_ms: StageMillis {
            decode: median_ms(embedded.iter().map(|e| e.decode).collect()),
            detect: median_ms(embedded.iter().map(|e| e.result.times.detect).collect()),
            align: median_ms(embedded.iter().map(|e| e.result.times.align).collect()),
            embed: median_ms(embedded.iter().map(|e| e.result.times.embed).collect()),
        },
        threads,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((report, curve))
}
