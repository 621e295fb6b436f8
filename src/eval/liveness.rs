//! Bona fide rejection of the liveness net: real faces through the daemon's
//! gate, then the anti-spoofing net on each face that passed, as an attempt
//! runs it. The share called "spoof" is how many genuine users a `require`
//! policy would turn away.

use std::path::{Path, PathBuf};

use super::EvalError;
use crate::config::{LivenessMode, ModelVariant};
use crate::image;
use crate::unlock::{FrameGate, FrameVerdict, Recogniser};

/// One image's outcome: its gate verdict and, when it passed, the spoof score.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LivenessScore {
    /// The image.
    pub path: PathBuf,
    /// The gate's verdict (`Embedded` when the face was usable).
    pub verdict: String,
    /// The spoof score (0 live; above the manifest's cut-off a spoof).
    pub score: Option<f32>,
    /// Whether the net called it a spoof.
    pub spoof: bool,
}

/// Scores `images` with `threads` workers.
pub fn liveness_scores(
    models: &Path,
    gate: FrameGate,
    images: &[PathBuf],
    threads: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<LivenessScore>, EvalError> {
    let gate = FrameGate {
        liveness: LivenessMode::Off,
        ..gate
    };
    super::embed_set::parallel_map(
        images.len(),
        threads,
        || {
            Recogniser::load(
                models,
                ModelVariant::Fp32,
                LivenessMode::Warn,
                gate.min_face,
            )
            .map_err(EvalError::from)
        },
        |rec, i| {
            let path = &images[i];
            let img = image::load(path).map_err(crate::eval::EmbedSetError::from)?;
            let verdict = rec.examine(&img, &gate)?;
            let live = match verdict {
                FrameVerdict::Embedded { .. } => rec.liveness(&img)?,
                _ => None,
            };
            Ok(LivenessScore {
                path: path.clone(),
                verdict: verdict.name().to_string(),
                score: live.map(|l| l.0),
                spoof: live.is_some_and(|l| l.1),
            })
        },
        tick,
    )
}
