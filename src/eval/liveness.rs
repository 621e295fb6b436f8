//! Bona fide rejection of the liveness net: real faces through the daemon's
//! gate, then the anti-spoofing net on each face that passed, as an attempt
//! runs it. The share called "spoof" is how many genuine users a `require`
//! policy would turn away.

use std::path::{Path, PathBuf};

use super::unlock::{through_gate, GateRun};
use super::EvalError;
use crate::config::{LivenessMode, ModelVariant};
use crate::unlock::{FrameGate, FrameVerdict};

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
    let paths: Vec<&Path> = images.iter().map(PathBuf::as_path).collect();
    let run = GateRun {
        models,
        variant: ModelVariant::Fp32,
        liveness: LivenessMode::Warn,
        gate,
        threads,
    };
    through_gate(run, &paths, tick, |rec, img, verdict, i| {
        let live = match verdict {
            FrameVerdict::Embedded { .. } => rec.liveness(img)?,
            _ => None,
        };
        Ok(LivenessScore {
            path: images[i].clone(),
            verdict: verdict.name().to_string(),
            score: live.map(|l| l.0),
            spoof: live.is_some_and(|l| l.1),
        })
    })
}
