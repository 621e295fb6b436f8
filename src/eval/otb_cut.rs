//! Lost-target evaluation on cut sequences: a sequence's frames up to a cut,
//! then frames of another sequence (the target is gone), then the first
//! sequence's frames again. Measured: frames until the tracker says "lost"
//! after the cut, and frames until it tracks the target again after it comes back.

use std::path::PathBuf;

use super::otb::{each_frame, iou, OtbError, OtbSequence};
use crate::track::{BBox, FaceRecovery, TrackResult, TrackState, Tracker};

/// Frames of the target before the cut (at most; half the sequence if shorter).
pub const BEFORE_CUT: usize = 60;
/// Frames of the other sequence.
pub const FOREIGN: usize = 40;
/// Frames of the target after it comes back (at most).
pub const AFTER_RETURN: usize = 60;
/// IoU with the ground truth that counts as holding the target again.
pub const REACQUIRED_IOU: f64 = 0.3;

/// A cut sequence: frames, and the target's box where it is in view.
#[derive(Debug, Clone)]
pub struct CutSequence {
    /// `target+foreign`.
    pub name: String,
    /// Frame files in order.
    pub frames: Vec<PathBuf>,
    /// The target's ground truth, `None` on the foreign frames.
    pub truth: Vec<Option<BBox>>,
    /// Index of the first foreign frame.
    pub cut: usize,
    /// Index of the first frame after the target comes back.
    pub back: usize,
}

impl CutSequence {
    /// `target` up to its cut, [`FOREIGN`] frames of `foreign` from its
    /// middle, then `target` from the cut on.
    pub fn new(target: &OtbSequence, foreign: &OtbSequence) -> CutSequence {
        let cut = BEFORE_CUT.min(target.frames.len() / 2).max(1);
        let start = foreign.frames.len() / 2;
        let foreign_frames: Vec<PathBuf> = foreign
            .frames
            .iter()
            .skip(start)
            .take(FOREIGN)
            .cloned()
            .collect();
        let back = cut + foreign_frames.len();
        let end = (cut + AFTER_RETURN).min(target.frames.len());
        let mut frames: Vec<PathBuf> = target.frames[..cut].to_vec();
        let mut truth: Vec<Option<BBox>> = target.truth[..cut].iter().copied().map(Some).collect();
        truth.extend(std::iter::repeat_n(None, foreign_frames.len()));
        frames.extend(foreign_frames);
        frames.extend_from_slice(&target.frames[cut..end]);
        truth.extend(target.truth[cut..end].iter().copied().map(Some));
        CutSequence {
            name: format!("{}+{}", target.name, foreign.name),
            frames,
            truth,
            cut,
            back,
        }
    }
}

/// What the tracker did on one cut sequence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CutReport {
    /// `target+foreign`.
    pub name: String,
    /// Frames after the cut until the state was "lost" (`None`: never, within the foreign frames).
    pub frames_to_lost: Option<usize>,
    /// Frames after the target came back until the tracker held it again
    /// (state tracking, IoU above [`REACQUIRED_IOU`]); `None`: never.
    pub frames_to_reacquire: Option<usize>,
    /// Frames "lost" before the cut (false alarms).
    pub lost_before_cut: usize,
    /// Frames while the target was still gone that the tracker called
    /// "tracking" after it had said "lost" (it took something else for the
    /// target).
    pub regained_while_gone: usize,
    /// Times a face re-detection moved the tracker (0 without one).
    pub redetections: usize,
    /// The tracker's output per frame.
    #[serde(skip)]
    pub results: Vec<TrackResult>,
}

/// Tracks a cut sequence from its first box; with `faces`, a lost target is
/// looked for with the face detector (as `siamedge track --init face` does).
pub fn run_cut(
    tracker: &mut Tracker,
    seq: &CutSequence,
    mut faces: Option<&mut FaceRecovery>,
) -> Result<CutReport, OtbError> {
    let mut results = Vec::with_capacity(seq.frames.len());
    if let Some(f) = faces.as_deref_mut() {
        f.reset();
    }
    each_frame(&seq.frames, |i, frame| {
        if i == 0 {
            let first = seq.truth[0].expect("a cut sequence starts with the target");
            tracker.init(frame, first)?;
            results.push(TrackResult::initial(first));
        } else {
            let r = tracker.update(frame)?;
            if let Some(f) = faces.as_deref_mut() {
                f.after_update(tracker, frame, &r)?;
            }
            results.push(r);
        }
        Ok(())
    })?;
    let frames_to_lost = (seq.cut..seq.back)
        .find(|&i| results[i].state == TrackState::Lost)
        .map(|i| i - seq.cut + 1);
    let frames_to_reacquire = (seq.back..results.len())
        .find(|&i| {
            results[i].state == TrackState::Tracking
                && seq.truth[i].is_some_and(|t| iou(&results[i].bbox, &t) > REACQUIRED_IOU)
        })
        .map(|i| i - seq.back + 1);
    Ok(CutReport {
        name: seq.name.clone(),
        frames_to_lost,
        frames_to_reacquire,
        lost_before_cut: results[..seq.cut]
            .iter()
            .filter(|r| r.state == TrackState::Lost)
            .count(),
        regained_while_gone: frames_to_lost.map_or(0, |n| {
            results[seq.cut + n..seq.back]
                .iter()
                .filter(|r| r.state == TrackState::Tracking)
                .count()
        }),
        redetections: faces.map_or(0, |f| f.redetections()),
        results,
    })
}
