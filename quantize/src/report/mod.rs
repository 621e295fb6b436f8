//! `siamedge-quantize report`: two encoders side by side (a reference and a
//! quantized or pruned candidate) — parameters, MACs, size, sparsity,
//! per-layer error, embedding cosine, LFW verification, and latency in the
//! siamedge runtime measured interleaved in one process.

pub mod facts;
pub mod latency;
pub mod layers;

use serde::Serialize;

pub use facts::{model_facts, ModelFacts};
pub use latency::{interleaved_latency, LatencyPair};
pub use layers::{layer_errors, LayerError};

/// LFW verification of one model on the View-2 pairs.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Mean accuracy over the folds (threshold chosen on the other folds).
    pub accuracy: f64,
    /// Accuracy of each fold.
    pub fold_accuracy: Vec<f64>,
    /// True-accept rate at each false-accept rate.
    pub tar_at_far: Vec<(f64, f64)>,
    /// Area under the ROC curve.
    pub roc_auc: f64,
}

use std::collections::HashMap;
use std::path::PathBuf;

use siamedge::distance::similarity;
use siamedge::eval::lfw::LfwPair;
use siamedge::eval::metrics::{at_far, auc, kfold_accuracy, mean_std, roc, ScoredPair};
use siamedge::model::Distance;

/// False-accept rates the report gives TAR at.
pub const REPORT_FARS: [f64; 2] = [1e-2, 1e-3];

/// LFW verification from the embeddings of the pair images (`index` maps
/// each image path to its row in `embeddings`).
pub fn verification(
    pairs: &[LfwPair],
    index: &HashMap<PathBuf, usize>,
    embeddings: &[Vec<f32>],
) -> Verification {
    let scored: Vec<ScoredPair> = pairs
        .iter()
        .map(|p| ScoredPair {
            score: similarity(
                Distance::Cosine,
                &embeddings[index[&p.a]],
                &embeddings[index[&p.b]],
            ),
            same: p.same,
            fold: p.fold,
        })
        .collect();
    let folds: Vec<f64> = kfold_accuracy(&scored).iter().map(|f| f.accuracy).collect();
    let curve = roc(&scored);
    Verification {
        accuracy: mean_std(&folds).0,
        fold_accuracy: folds,
        tar_at_far: REPORT_FARS
            .iter()
            .map(|&far| (far, at_far(&curve, far).tar))
            .collect(),
        roc_auc: auc(&curve),
    }
}
