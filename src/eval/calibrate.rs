//! Threshold calibration on LFW people who appear in no View-2 pair: every
//! pair of their images is scored; the threshold for a false-accept rate is
//! the impostor-score quantile that admits at most that fraction of impostors.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::embed_set::{embed_images, FaceModels};
use super::lfw::read_pairs;
use super::verification::EvalError;
use crate::distance::similarity;
use crate::model::{Distance, Manifest, Threshold};

/// What a calibration measured.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationReport {
    /// People used (in no pair of `pairs.txt`).
    pub people: usize,
    /// Their images.
    pub images: usize,
    /// Same-person pairs scored.
    pub genuine_pairs: usize,
    /// Different-person pairs scored.
    pub impostor_pairs: usize,
    /// Images where the detector found no face.
    pub detector_misses: usize,
    /// The calibrated thresholds.
    pub thresholds: Vec<Threshold>,
}

impl CalibrationReport {
    /// A one-line description for the manifest's `thresholds_calibrated_on`.
    pub fn describe(&self) -> String {
        format!(
            "LFW people in no View-2 pair: {} people, {} images, {} impostor and {} genuine pairs \
             (siamedge calibrate lfw)",
            self.people, self.images, self.impostor_pairs, self.genuine_pairs
        )
    }
}

/// Lists `data/images/<person>/*` for people not named in `data/pairs.txt`.
pub fn unpaired_images(data: &Path) -> Result<Vec<(usize, PathBuf)>, EvalError> {
    let in_pairs: HashSet<PathBuf> = read_pairs(data)?
        .into_iter()
        .flat_map(|p| [p.a, p.b])
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    let io = |path: &Path, error: std::io::Error| EvalError::List {
        path: path.to_path_buf(),
        error,
    };
    let root = data.join("images");
    let mut people: Vec<PathBuf> = std::fs::read_dir(&root)
        .map_err(|e| io(&root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && !in_pairs.contains(p))
        .collect();
    people.sort();
    let mut images = Vec::new();
    for (id, person) in people.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(person)
            .map_err(|e| io(person, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        images.extend(files.into_iter().map(|f| (id, f)));
    }
    Ok(images)
}

/// The threshold admitting at most `far` of `impostors` (sorted descending).
pub fn threshold_at_far(impostors_desc: &[f32], far: f64) -> f32 {
    let k = ((far * impostors_desc.len() as f64).floor() as usize).min(impostors_desc.len() - 1);
    if k == 0 {
        impostors_desc[0] + 1e-6
    } else {
        (impostors_desc[k - 1] + impostors_desc[k]) / 2.0
    }
}

/// Calibrates thresholds at each of `fars` for the embedder of `models`.
pub fn calibrate_lfw(
    models: FaceModels<'_>,
    data: &Path,
    fars: &[f64],
    threads: usize,
    on_start: &dyn Fn(usize),
    tick: &(dyn Fn() + Sync),
) -> Result<CalibrationReport, EvalError> {
    let labelled = unpaired_images(data)?;
    on_start(labelled.len());
    let manifest = Manifest::load_for(&models.embedder_path())?;
    let distance = manifest.distance.unwrap_or(Distance::Cosine);
    let paths: Vec<PathBuf> = labelled.iter().map(|(_, p)| p.clone()).collect();
    let embedded = embed_images(models, &paths, threads, tick)?;
    let labels: Vec<usize> = labelled.iter().map(|(l, _)| *l).collect();
    let embeddings: Vec<&[f32]> = embedded.iter().map(|e| e.embedding.as_slice()).collect();
    let scored = thresholds_for(&labels, &embeddings, distance, fars);
    Ok(CalibrationReport {
        people: labelled.last().map_or(0, |l| l.0 + 1),
        images: labelled.len(),
        genuine_pairs: scored.genuine_pairs,
        impostor_pairs: scored.impostor_pairs,
        detector_misses: embedded.iter().filter(|e| e.result.face.is_none()).count(),
        thresholds: scored.thresholds,
    })
}

/// Thresholds from every pair of a labelled set of embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredThresholds {
    /// One threshold per requested false-accept rate.
    pub thresholds: Vec<Threshold>,
    /// Pairs of the same person.
    pub genuine_pairs: usize,
    /// Pairs of different people.
    pub impostor_pairs: usize,
}

/// Scores every pair of `embeddings` (same label: genuine, else impostor)
/// and picks the threshold for each of `fars`.
pub fn thresholds_for(
    labels: &[usize],
    embeddings: &[&[f32]],
    distance: Distance,
    fars: &[f64],
) -> ScoredThresholds {
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for i in 0..embeddings.len() {
        for j in i + 1..embeddings.len() {
            let s = similarity(distance, embeddings[i], embeddings[j]);
            if labels[i] == labels[j] {
                genuine.push(s);
            } else {
                impostor.push(s);
            }
        }
    }
    impostor.sort_by(|a, b| b.total_cmp(a));
    let thresholds = fars
        .iter()
        .map(|&far| {
            let value = threshold_at_far(&impostor, far);
            let tar = genuine.iter().filter(|&&s| s >= value).count() as f64
                / genuine.len().max(1) as f64;
            Threshold { far, value, tar }
        })
        .collect();
    ScoredThresholds {
        thresholds,
        genuine_pairs: genuine.len(),
        impostor_pairs: impostor.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_admits_at_most_the_target_fraction() {
        let imp: Vec<f32> = (0..1000).rev().map(|i| i as f32 / 1000.0).collect();
        let t = threshold_at_far(&imp, 1e-2);
        let admitted = imp.iter().filter(|&&s| s >= t).count();
        assert_eq!(admitted, 10);
        let t0 = threshold_at_far(&imp, 1e-4);
        assert_eq!(imp.iter().filter(|&&s| s >= t0).count(), 0);
    }
}
