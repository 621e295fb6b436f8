//! OTB one-pass evaluation of the tracker: initialise on the first
//! ground-truth box, never reset; success (IoU above 21 thresholds, its mean
//! is the AUC), precision (centre error within 20 px) and frames per second.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::capture::{CaptureError, FrameSource, ImageReplay};
use crate::image::{ConvertError, FrameConverter, RgbImage};
use crate::track::{BBox, TrackError, TrackResult, TrackTimes, Tracker};

/// The ground-truth file of an OTB sequence folder.
pub const GROUND_TRUTH: &str = "groundtruth_rect.txt";

/// Why an OTB evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum OtbError {
    /// A file could not be read.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The ground truth is malformed.
    #[error("{path} line {line}: {reason}")]
    Truth {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// No sequence was found.
    #[error("{0} holds no OTB sequence (a folder with img/*.jpg and groundtruth_rect.txt, or folders of them)")]
    NoSequence(PathBuf),
    /// A frame could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// A frame could not be decoded.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// The tracker failed.
    #[error(transparent)]
    Track(#[from] TrackError),
}

/// One sequence: its frames and a ground-truth box per frame.
#[derive(Debug, Clone)]
pub struct OtbSequence {
    /// The folder's name.
    pub name: String,
    /// Frame files, in order (as many as there are boxes).
    pub frames: Vec<PathBuf>,
    /// Ground truth, `x, y, w, h` per frame.
    pub truth: Vec<BBox>,
}

impl OtbSequence {
    /// Reads the sequence in `dir`: `img/*` in name order and `groundtruth_rect.txt`.
    pub fn load(dir: &Path) -> Result<OtbSequence, OtbError> {
        let truth = read_boxes(&dir.join(GROUND_TRUTH))?;
        let replay = ImageReplay::open(&[dir.join("img")], false, None)?;
        let mut frames = replay.files().to_vec();
        frames.truncate(truth.len());
        let mut truth = truth;
        truth.truncate(frames.len());
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(OtbSequence {
            name,
            frames,
            truth,
        })
    }

    /// `dir` itself when it is a sequence, else its sub-folders that are, by name.
    pub fn find(dir: &Path) -> Result<Vec<PathBuf>, OtbError> {
        if dir.join(GROUND_TRUTH).is_file() {
            return Ok(vec![dir.to_path_buf()]);
        }
        let entries = std::fs::read_dir(dir).map_err(|error| OtbError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
        let mut seqs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join(GROUND_TRUTH).is_file())
            .collect();
        seqs.sort();
        if seqs.is_empty() {
            return Err(OtbError::NoSequence(dir.to_path_buf()));
        }
        Ok(seqs)
    }
}

/// Parses a box file (a ground truth, or a tracker's boxes): one box per
/// line, numbers separated by commas, tabs or spaces.
pub fn read_boxes(path: &Path) -> Result<Vec<BBox>, OtbError> {
    let text = std::fs::read_to_string(path).map_err(|error| OtbError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let mut boxes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        if fields.is_empty() {
            continue;
        }
        let err = |reason: String| OtbError::Truth {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        if fields.len() < 4 {
            return Err(err(format!("expected x,y,w,h, got {line:?}")));
        }
        let mut v = [0.0f64; 4];
        for (slot, f) in v.iter_mut().zip(&fields) {
            *slot = f
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| err(format!("{f:?} is not a number")))?;
        }
        boxes.push(BBox {
            x: v[0],
            y: v[1],
            w: v[2],
            h: v[3],
        });
    }
    Ok(boxes)
}

/// Intersection over union of two boxes (0 when either is empty).
pub fn iou(a: &BBox, b: &BBox) -> f64 {
    let iw = ((a.x + a.w).min(b.x + b.w) - a.x.max(b.x)).max(0.0);
    let ih = ((a.y + a.h).min(b.y + b.h) - a.y.max(b.y)).max(0.0);
    let inter = iw * ih;
    let union = a.w * a.h + b.w * b.h - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Distance between the centres `x + (w - 1) / 2` of two boxes.
pub fn centre_error(a: &BBox, b: &BBox) -> f64 {
    let c = |r: &BBox| (r.x + (r.w - 1.0) / 2.0, r.y + (r.h - 1.0) / 2.0);
    let ((ax, ay), (bx, by)) = (c(a), c(b));
    ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt()
}

/// IoU thresholds of the success curve: 0, 0.05, ..., 1.
pub const SUCCESS_THRESHOLDS: usize = 21;
/// Centre-error thresholds of the precision curve: 0..=50 px.
pub const PRECISION_THRESHOLDS: usize = 51;

/// One sequence's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SequenceReport {
    /// Sequence name.
    pub name: String,
    /// Frames in the sequence (the first is the initialisation).
    pub frames: usize,
    /// Success AUC: mean of the success curve.
    pub auc: f64,
    /// Share of frames with centre error <= 20 px.
    pub precision20: f64,
    /// Tracker frames per second (the update calls only, decoding excluded).
    pub fps: f64,
    /// Share of frames with IoU above each of the 21 thresholds.
    pub success: Vec<f64>,
    /// Share of frames with centre error within 0..=50 px.
    pub precision: Vec<f64>,
    /// Frames the tracker called lost.
    pub lost_frames: usize,
    /// Mean time per update in each stage, milliseconds.
    pub stage_ms: TrackTimes,
    /// The tracker's output per frame (the first is the ground truth).
    #[serde(skip)]
    pub results: Vec<TrackResult>,
}

/// Decodes `frames` in order through the camera path (replay, frame
/// conversion) and hands each to `f` with its index.
pub(crate) fn each_frame(
    frames: &[PathBuf],
    mut f: impl FnMut(usize, &RgbImage) -> Result<(), OtbError>,
) -> Result<(), OtbError> {
    let mut replay = ImageReplay::open(frames, false, None)?;
    let mut converter = FrameConverter::new();
    let mut bytes = Vec::new();
    let mut frame = RgbImage::new(0, 0);
    for i in 0..frames.len() {
        let info = replay.next_frame(&mut bytes)?;
        converter.to_rgb(&bytes, &info, &mut frame)?;
        f(i, &frame)?;
    }
    Ok(())
}

/// Tracks one sequence from its first ground-truth box; `on_frame` is called after each frame.
pub fn run_sequence(
    tracker: &mut Tracker,
    seq: &OtbSequence,
    on_frame: &dyn Fn(),
) -> Result<SequenceReport, OtbError> {
    let mut results = Vec::with_capacity(seq.frames.len());
    let mut seconds = 0.0;
    let mut stages = TrackTimes::default();
    each_frame(&seq.frames, |i, frame| {
        if i == 0 {
            tracker.init(frame, seq.truth[0])?;
            results.push(TrackResult::initial(seq.truth[0]));
        } else {
            let t = Instant::now();
            let r = tracker.update(frame)?;
            seconds += t.elapsed().as_secs_f64();
            stages.add(&tracker.last_times());
            results.push(r);
        }
        on_frame();
        Ok(())
    })?;
    let updates = results.len().saturating_sub(1).max(1) as f64;
    let mut report = score_sequence(seq, results, seconds);
    report.stage_ms = stages.per(updates);
    Ok(report)
}

/// Scores a sequence's boxes against its ground truth (frames whose truth is
/// empty count as failures).
pub fn score_sequence(
    seq: &OtbSequence,
    results: Vec<TrackResult>,
    seconds: f64,
) -> SequenceReport {
    let valid: Vec<(&BBox, &BBox)> = seq
        .truth
        .iter()
        .zip(&results)
        .filter(|(t, _)| t.w > 0.0 && t.h > 0.0)
        .map(|(t, r)| (t, &r.bbox))
        .collect();
    let n = valid.len().max(1) as f64;
    let ious: Vec<f64> = valid.iter().map(|(t, p)| iou(p, t)).collect();
    let errors: Vec<f64> = valid.iter().map(|(t, p)| centre_error(p, t)).collect();
    let success: Vec<f64> = (0..SUCCESS_THRESHOLDS)
        .map(|k| {
            let t = k as f64 / (SUCCESS_THRESHOLDS - 1) as f64;
            ious.iter().filter(|&&v| v > t).count() as f64 / n
        })
        .collect();
    let precision: Vec<f64> = (0..PRECISION_THRESHOLDS)
        .map(|px| errors.iter().filter(|&&e| e <= px as f64).count() as f64 / n)
        .collect();
    SequenceReport {
        name: seq.name.clone(),
        frames: results.len(),
        auc: success.iter().sum::<f64>() / SUCCESS_THRESHOLDS as f64,
        precision20: precision[20],
        fps: if seconds > 0.0 {
            (results.len().saturating_sub(1)) as f64 / seconds
        } else {
            0.0
        },
        success,
        precision,
        lost_frames: results
            .iter()
            .filter(|r| r.state == crate::track::TrackState::Lost)
            .count(),
        stage_ms: TrackTimes::default(),
        results,
    }
}

/// How closely the tracker follows a reference tracker's boxes on one sequence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParityReport {
    /// Sequence name.
    pub name: String,
    /// Frames compared (the first, the initialisation, is not).
    pub frames: usize,
    /// Share of frames whose box is within 1 px of the reference's (every
    /// coordinate) when both track on their own.
    pub closed_loop_within_1px: f64,
    /// Share of frames within 1 px when each step starts from the
    /// reference's previous box: the implementation's agreement, free of the
    /// drift that any numeric difference starts in a closed loop.
    pub step_within_1px: f64,
    /// Largest coordinate difference of a step, in pixels.
    pub step_max_px: f64,
}

/// Compares the tracker with `reference` boxes (one per frame, the first
/// the ground truth): its own closed-loop `results`, and one step from each
/// of the reference's boxes (with the lost-target recovery off, as the
/// reference has none).
pub fn parity_sequence(
    tracker: &mut Tracker,
    seq: &OtbSequence,
    results: &[TrackResult],
    reference: &[BBox],
) -> Result<ParityReport, OtbError> {
    let frames = seq.frames.len().min(reference.len()).min(results.len());
    let within = |a: &BBox, b: &BBox| {
        let d = max_coordinate_difference(a, b);
        (d <= 1.0, d)
    };
    let closed = (1..frames)
        .filter(|&i| within(&results[i].bbox, &reference[i]).0)
        .count();
    let recovery = tracker.recovery();
    tracker.set_recovery(false);
    let (mut steps, mut worst) = (0usize, 0.0f64);
    each_frame(&seq.frames[..frames], |i, frame| {
        if i == 0 {
            tracker.init(frame, seq.truth[0])?;
            return Ok(());
        }
        if i > 1 {
            tracker.relocate(reference[i - 1]);
        }
        let r = tracker.update(frame)?;
        let (ok, d) = within(&r.bbox, &reference[i]);
        steps += ok as usize;
        worst = worst.max(d);
        Ok(())
    })?;
    tracker.set_recovery(recovery);
    let n = frames.saturating_sub(1).max(1) as f64;
    Ok(ParityReport {
        name: seq.name.clone(),
        frames: frames.saturating_sub(1),
        closed_loop_within_1px: closed as f64 / n,
        step_within_1px: steps as f64 / n,
        step_max_px: worst,
    })
}

fn max_coordinate_difference(a: &BBox, b: &BBox) -> f64 {
    [a.x - b.x, a.y - b.y, a.w - b.w, a.h - b.h]
        .iter()
        .fold(0.0, |m, d| m.max(d.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f64, y: f64, w: f64, h: f64) -> BBox {
        BBox { x, y, w, h }
    }

    #[test]
    fn iou_and_centre_error() {
        assert_eq!(
            iou(&b(0.0, 0.0, 10.0, 10.0), &b(5.0, 0.0, 10.0, 10.0)),
            50.0 / 150.0
        );
        assert_eq!(
            iou(&b(0.0, 0.0, 10.0, 10.0), &b(20.0, 0.0, 10.0, 10.0)),
            0.0
        );
        assert_eq!(
            centre_error(&b(0.0, 0.0, 10.0, 10.0), &b(3.0, 4.0, 10.0, 10.0)),
            5.0
        );
    }

    #[test]
    fn ground_truth_takes_any_separator_and_names_a_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(GROUND_TRUTH);
        std::fs::write(&p, "1,2,3,4\n5\t6\t7\t8\n9 10 11 12\n\n").unwrap();
        let boxes = read_boxes(&p).unwrap();
        assert_eq!(boxes.len(), 3);
        assert_eq!(boxes[1], b(5.0, 6.0, 7.0, 8.0));
        std::fs::write(&p, "1,2,3,4\n1,2,x,4\n").unwrap();
        let e = read_boxes(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("\"x\""), "{e}");
    }
}
