//! Face-unlock figures per attempt, not per pair: galleries of `G` enrolled
//! faces, attempts compared with the best of them, every frame through the
//! daemon's quality gate (detected faces only, no centre-crop fallback).
//!
//! The frames of one attempt are modelled as identical (a person holding
//! still before the camera), on both sides: an attempt is one image, and the
//! k-of-n rule (which can only lower the false-accept rate) is left out of
//! the figures. Galleries for calibration come from the LFW people in no
//! View-2 pair, most of whom have one image: a calibration gallery is `G`
//! images of `G` different people, whose best match to an impostor is higher
//! than that of one person's `G` images, so the threshold errs strict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::calibrate::unpaired_images;
use super::metrics::{RocPoint, ScoredPair};
use super::EvalError;
use crate::config::{LivenessMode, ModelVariant};
use crate::distance::cosine;
use crate::image;
use crate::unlock::{FrameGate, FrameVerdict, Recogniser};

/// One image through the gate: its embedding, or why it was left out.
#[derive(Debug, Clone)]
pub struct GatedImage {
    /// The person (index into the people list).
    pub person: usize,
    /// The embedding, when the image passed the gate.
    pub embedding: Option<Vec<f32>>,
    /// The gate's verdict, e.g. `NoFace`.
    pub verdict: String,
}

/// How images go through the daemon's gate in an evaluation.
pub(crate) struct GateRun<'a> {
    /// The models folder.
    pub models: &'a Path,
    /// The embedder variant.
    pub variant: ModelVariant,
    /// Whether each worker loads the liveness net (it is never part of the gate here).
    pub liveness: LivenessMode,
    /// The gate.
    pub gate: FrameGate,
    /// Workers, each with its own models.
    pub threads: usize,
}

/// Runs every image of `paths` through the gate of `run` and maps each
/// with `then(models, image, verdict, index)`.
pub(crate) fn through_gate<T: Send>(
    run: GateRun<'_>,
    paths: &[&Path],
    tick: &(dyn Fn() + Sync),
    then: impl Fn(&mut Recogniser, &image::RgbImage, FrameVerdict, usize) -> Result<T, EvalError> + Sync,
) -> Result<Vec<T>, EvalError> {
    let gate = FrameGate {
        liveness: LivenessMode::Off,
        ..run.gate
    };
    super::embed_set::parallel_map(
        paths.len(),
        run.threads,
        || {
            Recogniser::load(run.models, run.variant, run.liveness, gate.min_face)
                .map_err(EvalError::from)
        },
        |rec, i| {
            let img = image::load(paths[i]).map_err(crate::eval::EmbedSetError::from)?;
            let verdict = rec.examine(&img, &gate)?;
            then(rec, &img, verdict, i)
        },
        tick,
    )
}

/// Embeds `images` (person, path) through the daemon's gate with `threads` workers.
pub fn gated_embeddings(
    models: &Path,
    variant: ModelVariant,
    gate: FrameGate,
    images: &[(usize, PathBuf)],
    threads: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<GatedImage>, EvalError> {
    let paths: Vec<&Path> = images.iter().map(|(_, p)| p.as_path()).collect();
    let run = GateRun {
        models,
        variant,
        liveness: LivenessMode::Off,
        gate,
        threads,
    };
    through_gate(run, &paths, tick, |rec, _, verdict, i| {
        let embedding =
            matches!(verdict, FrameVerdict::Embedded { .. }).then(|| rec.embedding().to_vec());
        Ok(GatedImage {
            person: images[i].0,
            embedding,
            verdict: verdict.name().to_string(),
        })
    })
}

/// Images with the index of the person they show.
pub type PersonImages = Vec<(usize, PathBuf)>;

/// The people of a folder with one sub-folder of images per person, in
/// name order; other files are skipped. With `exclude`, those people are left out.
pub fn people_images(
    dir: &Path,
    exclude: &[PathBuf],
) -> Result<(Vec<String>, PersonImages), EvalError> {
    let list = |p: &Path| -> Result<Vec<PathBuf>, EvalError> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|error| EvalError::List {
                path: p.to_path_buf(),
                error,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        Ok(v)
    };
    let (mut names, mut images) = (Vec::new(), Vec::new());
    for person in list(dir)?
        .into_iter()
        .filter(|p| p.is_dir() && !exclude.contains(p))
    {
        let files: Vec<PathBuf> = list(&person)?
            .into_iter()
            .filter(|f| image::is_image_file(f))
            .collect();
        if files.is_empty() {
            continue;
        }
        let id = names.len();
        names.push(
            person
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
        images.extend(files.into_iter().map(|f| (id, f)));
    }
    Ok((names, images))
}

/// Genuine and impostor attempt scores (best similarity to the gallery).
#[derive(Debug, Clone, Default)]
pub struct AttemptScores {
    /// Galleries formed.
    pub galleries: usize,
    /// Scores of attempts by the gallery's own person.
    pub genuine: Vec<f32>,
    /// Scores of attempts by everyone else.
    pub impostor: Vec<f32>,
}

/// Attempt scores on `images`: each person with more than `gallery` usable
/// images enrols the first `gallery` and attempts with each of the rest;
/// every usable image of every other person attempts against each gallery.
pub fn attempt_scores(images: &[GatedImage], gallery: usize) -> AttemptScores {
    let mut by_person: BTreeMap<usize, Vec<&[f32]>> = BTreeMap::new();
    for g in images {
        if let Some(e) = &g.embedding {
            by_person.entry(g.person).or_default().push(e);
        }
    }
    let usable: Vec<(usize, &[f32])> = images
        .iter()
        .filter_map(|g| g.embedding.as_deref().map(|e| (g.person, e)))
        .collect();
    let mut s = AttemptScores::default();
    for (&person, embs) in &by_person {
        if embs.len() <= gallery {
            continue;
        }
        let enrolled = &embs[..gallery];
        let best = |probe: &[f32]| {
            enrolled
                .iter()
                .map(|g| cosine(g, probe))
                .fold(f32::MIN, f32::max)
        };
        s.galleries += 1;
        s.genuine.extend(embs[gallery..].iter().map(|p| best(p)));
        s.impostor.extend(
            usable
                .iter()
                .filter(|(p, _)| *p != person)
                .map(|(_, e)| best(e)),
        );
    }
    s
}

/// Impostor attempt scores for calibration: galleries of `gallery` images
/// of `gallery` different people (a sliding window over the images in
/// order), against every image of people not in the gallery.
pub fn calibration_impostor_scores(images: &[GatedImage], gallery: usize) -> (usize, Vec<f32>) {
    let usable: Vec<(usize, &[f32])> = images
        .iter()
        .filter_map(|g| g.embedding.as_deref().map(|e| (g.person, e)))
        .collect();
    let mut scores = Vec::new();
    let mut galleries = 0;
    for start in 0..usable.len() {
        let mut members: Vec<(usize, &[f32])> = Vec::with_capacity(gallery);
        for &(p, e) in usable[start..].iter() {
            if members.len() == gallery {
                break;
            }
            if members.iter().all(|(q, _)| *q != p) {
                members.push((p, e));
            }
        }
        if members.len() < gallery {
            break;
        }
        galleries += 1;
        for &(p, e) in &usable {
            if members.iter().all(|(q, _)| *q != p) {
                scores.push(
                    members
                        .iter()
                        .map(|(_, g)| cosine(g, e))
                        .fold(f32::MIN, f32::max),
                );
            }
        }
    }
    (galleries, scores)
}

/// The threshold whose false-accept rate is at most `far` with 95 %
/// confidence: it admits the largest number `k` of the calibration impostor
/// attempts whose one-sided 95 % Poisson upper bound, `(sqrt(k + 1) + z/2)^2`
/// with z = 1.645, stays within `far` of them. The plain quantile would be
/// right only on average, and a rate of 1e-5 rests on a few dozen events.
pub fn attempt_threshold(impostor: &[f32], far: f64) -> f32 {
    let mut sorted = impostor.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let allowed = far * sorted.len() as f64;
    let upper = |k: usize| ((k as f64 + 1.0).sqrt() + 1.645 / 2.0).powi(2);
    let k = (0..sorted.len())
        .take_while(|&k| upper(k) <= allowed)
        .last();
    match k {
        Some(k) if k > 0 => (sorted[k - 1] + sorted[k]) / 2.0,
        _ => sorted.first().map_or(1.0, |s| s + 1e-6),
    }
}

/// The LFW people in no View-2 pair, with their images (the calibration set).
pub fn calibration_people(lfw: &Path) -> Result<Vec<(usize, PathBuf)>, EvalError> {
    unpaired_images(lfw)
}

/// What `eval unlock` measured.
#[derive(Debug, Clone, Serialize)]
pub struct UnlockReport {
    /// The data.
    pub data: String,
    /// People and images read.
    pub people: usize,
    /// Images read.
    pub images: usize,
    /// Images left out by the gate, by reason.
    pub gated_out: BTreeMap<String, usize>,
    /// Enrolled faces per gallery.
    pub gallery: usize,
    /// Galleries formed (people with more usable images than that).
    pub galleries: usize,
    /// Genuine attempts.
    pub genuine_attempts: usize,
    /// Impostor attempts.
    pub impostor_attempts: usize,
    /// The threshold the policy uses.
    pub threshold: f32,
    /// Where it comes from.
    pub threshold_source: String,
    /// False accepts per impostor attempt at that threshold.
    pub far: f64,
    /// False accepts counted.
    pub false_accepts: usize,
    /// False rejects per genuine attempt.
    pub frr: f64,
    /// False rejects counted.
    pub false_rejects: usize,
}

/// Counts and rates at `threshold`.
pub fn rates(scores: &AttemptScores, threshold: f32) -> (usize, f64, usize, f64) {
    let fa = scores.impostor.iter().filter(|&&s| s >= threshold).count();
    let fr = scores.genuine.iter().filter(|&&s| s < threshold).count();
    (
        fa,
        fa as f64 / scores.impostor.len().max(1) as f64,
        fr,
        fr as f64 / scores.genuine.len().max(1) as f64,
    )
}

/// The ROC of the attempts, for the FAR/FRR plot.
pub fn attempt_roc(scores: &AttemptScores) -> Vec<RocPoint> {
    let pairs: Vec<ScoredPair> = scores
        .genuine
        .iter()
        .map(|&s| ScoredPair {
            score: s,
            same: true,
            fold: 0,
        })
        .chain(scores.impostor.iter().map(|&s| ScoredPair {
            score: s,
            same: false,
            fold: 0,
        }))
        .collect();
    super::metrics::roc(&pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(person: usize, v: [f32; 2]) -> GatedImage {
        let n = (v[0] * v[0] + v[1] * v[1]).sqrt();
        GatedImage {
            person,
            embedding: Some(vec![v[0] / n, v[1] / n]),
            verdict: "Embedded".into(),
        }
    }

    #[test]
    fn galleries_genuine_and_impostor_attempts_are_counted() {
        let images = vec![
            img(0, [1.0, 0.0]),
            img(0, [1.0, 0.1]),
            img(0, [1.0, 0.2]),
            img(1, [0.0, 1.0]),
            img(1, [0.1, 1.0]),
            GatedImage {
                person: 1,
                embedding: None,
                verdict: "NoFace".into(),
            },
        ];
        let s = attempt_scores(&images, 2);
        assert_eq!(
            s.galleries, 1,
            "only person 0 has more than 2 usable images"
        );
        assert_eq!(s.genuine.len(), 1);
        assert_eq!(s.impostor.len(), 2);
        assert!(s.genuine[0] > 0.98 && s.impostor.iter().all(|&x| x < 0.3));
        let (fa, far, fr, frr) = rates(&s, 0.5);
        assert_eq!((fa, fr), (0, 0));
        assert_eq!((far, frr), (0.0, 0.0));
        let (galleries, cal) = calibration_impostor_scores(&images, 2);
        assert_eq!(galleries, 3, "windows with two different people");
        assert!(
            cal.is_empty(),
            "with two people, nobody is outside a two-person gallery"
        );
    }

    #[test]
    fn the_threshold_keeps_the_far_under_its_upper_bound() {
        let impostor: Vec<f32> = (0..100_000).map(|i| i as f32 / 100_000.0).collect();
        let t = attempt_threshold(&impostor, 1e-3);
        let admitted = impostor.iter().filter(|&&s| s >= t).count();
        assert!(
            admitted < 100,
            "fewer than the plain quantile's 100: {admitted}"
        );
        assert!(
            admitted >= 80,
            "(sqrt(k+1)+0.82)^2 <= 100 holds up to k = 83: {admitted}"
        );
        assert!(
            attempt_threshold(&impostor[..10], 1e-3) > 0.00009,
            "too few attempts: stricter than any seen"
        );
    }
}
