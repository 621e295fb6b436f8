//! One unlock attempt: frames until the deadline, each through the gate and
//! the models, compared with the user's enrolled faces; accepted when k of
//! the last n compared frames beat the threshold.

use std::time::{Duration, Instant};

use siamedge_protocol::{FrameCounts, Outcome};

use super::recogniser::{FrameGate, FrameVerdict, Recogniser};
use super::window::MatchWindow;
use crate::capture::{CaptureError, FrameSource};
use crate::config::LivenessMode;
use crate::distance::cosine;
use crate::image::{FrameConverter, RgbImage};
use crate::model::ModelError;

/// The decision rule of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// What a frame must pass.
    pub gate: FrameGate,
    /// Matches needed...
    pub k: usize,
    /// ...among the last `n` compared frames.
    pub n: usize,
    /// Cosine similarity a frame must reach against the best enrolled face.
    pub threshold: f32,
    /// Longest attempt, from the request.
    pub timeout: Duration,
}

/// How an attempt ended and what it saw.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptReport {
    /// Accepted, rejected or unavailable.
    pub outcome: Outcome,
    /// Why, for a person.
    pub message: String,
    /// Best similarity of a compared frame.
    pub score: Option<f32>,
    /// The threshold applied.
    pub threshold: f32,
    /// Frames by what happened to them.
    pub frames: FrameCounts,
    /// Highest liveness (spoof) score seen, when the net ran.
    pub spoof_max: Option<f32>,
    /// Time from the request to the decision.
    pub elapsed: Duration,
}

/// Reused buffers of the attempt loop.
#[derive(Debug, Default)]
pub struct AttemptBuffers {
    raw: Vec<u8>,
    rgb: RgbImage,
    converter: FrameConverter,
}

impl AttemptBuffers {
    /// The last frame the attempt converted (empty before the first).
    pub fn last_frame(&self) -> &RgbImage {
        &self.rgb
    }

    /// Forgets the last frame (keeping the allocation), before a new attempt.
    pub fn forget_frame(&mut self) {
        self.rgb.reshape(0, 0);
    }
}

/// Runs one attempt on frames of `source` against `enrolled` (unit
/// embeddings), until acceptance or `started + policy.timeout`.
pub fn run_attempt(
    source: &mut dyn FrameSource,
    recogniser: &mut Recogniser,
    enrolled: &[Vec<f32>],
    policy: &Policy,
    started: Instant,
    buffers: &mut AttemptBuffers,
) -> Result<AttemptReport, ModelError> {
    let deadline = started + policy.timeout;
    let mut window = MatchWindow::new(policy.k, policy.n);
    let mut frames = FrameCounts::default();
    let (mut best, mut spoof_max) = (None::<f32>, None::<f32>);
    let mut camera_error = None;
    let mut accepted = false;
    // A frame is started only when the last one's cost still fits before the
    // deadline, so that the answer comes on time on a slow board too.
    let mut frame_cost = Duration::ZERO;
    while Instant::now() + frame_cost < deadline && !accepted {
        let frame_started = Instant::now();
        let info = match source.next_frame(&mut buffers.raw) {
            Ok(info) => info,
            Err(CaptureError::Exhausted(_)) => break,
            Err(e) => {
                camera_error = Some(e.to_string());
                break;
            }
        };
        if buffers
            .converter
            .to_rgb(&buffers.raw, &info, &mut buffers.rgb)
            .is_err()
        {
            continue;
        }
        let verdict = recogniser.examine(&buffers.rgb, &policy.gate)?;
        frame_cost = frame_started.elapsed();
        match verdict {
            FrameVerdict::Dark => frames.skipped_dark += 1,
            FrameVerdict::Bright => frames.skipped_bright += 1,
            FrameVerdict::NoFace => frames.skipped_no_face += 1,
            FrameVerdict::SeveralFaces => frames.skipped_several_faces += 1,
            FrameVerdict::SmallFace(_) => frames.skipped_small_face += 1,
            FrameVerdict::Blurred(_) => frames.skipped_blurred += 1,
            FrameVerdict::Embedded { .. } => {
                let e = recogniser.embedding();
                let score = enrolled
                    .iter()
                    .map(|g| cosine(g, e))
                    .fold(f32::MIN, f32::max);
                let matched = score >= policy.threshold;
                if matched && policy.gate.liveness != LivenessMode::Off {
                    if let Some((s, spoof)) = recogniser.liveness(&buffers.rgb)? {
                        spoof_max = Some(spoof_max.map_or(s, |m| m.max(s)));
                        frames.spoof += spoof as u32;
                        if spoof && policy.gate.liveness == LivenessMode::Require {
                            continue;
                        }
                    }
                }
                frames.used += 1;
                best = Some(best.map_or(score, |b| b.max(score)));
                accepted = window.push(matched);
            }
        }
    }
    let (outcome, message) = if accepted {
        (Outcome::Accepted, "recognised".to_string())
    } else if frames.used > 0 {
        (
            Outcome::Rejected,
            format!(
                "not recognised: best score {:.3} of {} compared frames, {} of {} needed above {:.3}",
                best.unwrap_or(0.0),
                frames.used,
                policy.k,
                policy.n,
                policy.threshold
            ),
        )
    } else if frames.spoof > 0 {
        (
            Outcome::Rejected,
            "the face looked like a photo or a screen (liveness)".to_string(),
        )
    } else {
        (
            Outcome::Unavailable,
            unavailable_reason(&frames, camera_error),
        )
    };
    Ok(AttemptReport {
        outcome,
        message,
        score: best,
        threshold: policy.threshold,
        frames,
        spoof_max,
        elapsed: started.elapsed(),
    })
}

/// Why no frame could be compared.
fn unavailable_reason(f: &FrameCounts, camera_error: Option<String>) -> String {
    let seen = f.skipped_dark
        + f.skipped_bright
        + f.skipped_no_face
        + f.skipped_several_faces
        + f.skipped_small_face
        + f.skipped_blurred;
    if let Some(e) = camera_error {
        if seen == 0 {
            return format!("no frame from the camera: {e}");
        }
    }
    if seen == 0 {
        return "no frame arrived before the timeout".into();
    }
    let most = [
        (f.skipped_dark, "too dark: turn on a light"),
        (f.skipped_bright, "over-exposed: move out of direct light"),
        (f.skipped_no_face, "no face seen"),
        (f.skipped_several_faces, "more than one face in view"),
        (f.skipped_small_face, "the face is too far from the camera"),
        (f.skipped_blurred, "the image is blurred: hold still"),
    ]
    .into_iter()
    .max_by_key(|(n, _)| *n)
    .map(|(_, why)| why)
    .unwrap_or("no usable frame");
    format!("no usable frame in {seen}: {most}")
}
