//! The Siamese tracker with the NanoTrack v3 files shipped in models/zoo:
//! on synthetic frames (always), and against the reference tracker's boxes
//! on the OTB sequences of ../shared/data (skipped when it is absent).

use std::path::{Path, PathBuf};

use siamedge::eval::otb::{iou, parity_sequence, read_boxes, run_sequence, OtbSequence};
use siamedge::eval::otb_cut::{run_cut, CutSequence};
use siamedge::face::{Mtcnn, MtcnnConfig};
use siamedge::image::RgbImage;
use siamedge::model::Execution;
use siamedge::track::{BBox, FaceRecovery, TrackState, Tracker, TrackerModels};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tracker() -> Tracker {
    let files = TrackerModels::nanotrack(
        &root().join("models/zoo/nanotrack"),
        "nanotrack_v3_backbone.onnx",
    );
    Tracker::load(&files, Execution::Auto).expect("the shipped NanoTrack files load")
}

/// A pseudo-random texture value (fixed seed), 0..255.
fn noise(x: usize, y: usize, seed: usize) -> u8 {
    let mut h =
        (x as u64).wrapping_mul(0x9E37_79B9) ^ (y as u64).wrapping_mul(0x85EB_CA6B) ^ seed as u64;
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    (h >> 24) as u8
}

/// A frame of smooth background with, when `target` is given, a 28x28
/// coloured checkerboard at that top-left corner.
fn frame(target: Option<(usize, usize)>, seed: usize) -> RgbImage {
    let (w, h) = (200, 150);
    let mut img = RgbImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) * 3;
            let v = noise(x / 8, y / 8, seed) / 3 + 60;
            img.data[i..i + 3].copy_from_slice(&[v, v, v / 2 + 40]);
        }
    }
    if let Some((tx, ty)) = target {
        for y in 0..28 {
            for x in 0..28 {
                let i = ((ty + y) * w + tx + x) * 3;
                let c = if (x / 7 + y / 7) % 2 == 0 {
                    [230, 30, 30]
                } else {
                    [20, 40, 230]
                };
                img.data[i..i + 3].copy_from_slice(&c);
            }
        }
    }
    img
}

#[test]
fn follows_a_moving_target_and_says_lost_when_it_is_gone() {
    let mut t = tracker();
    let start = (40, 50);
    t.init(
        &frame(Some(start), 1),
        BBox {
            x: 40.0,
            y: 50.0,
            w: 28.0,
            h: 28.0,
        },
    )
    .unwrap();
    let mut last = None;
    for k in 1..=30 {
        let pos = (40 + 3 * k, 50 + k);
        let r = t.update(&frame(Some(pos), 1)).unwrap();
        let truth = BBox {
            x: pos.0 as f64,
            y: pos.1 as f64,
            w: 28.0,
            h: 28.0,
        };
        assert!(
            iou(&r.bbox, &truth) > 0.6,
            "frame {k}: {:?} vs {truth:?}",
            r.bbox
        );
        assert_ne!(r.state, TrackState::Lost, "frame {k}: {r:?}");
        last = Some(r);
    }
    let held = last.unwrap();
    assert!(held.confidence > 0.5, "{held:?}");
    // The target leaves: a background of another texture.
    let lost_at = (1..=20).find(|_| t.update(&frame(None, 2)).unwrap().state == TrackState::Lost);
    let lost_at = lost_at.expect("the tracker never said lost on 20 frames without its target");
    assert!(lost_at <= 12, "lost only after {lost_at} frames");
}

fn otb() -> Option<PathBuf> {
    let dir = root().join("../shared/data/otb");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} is absent (the dev OTB sequences)",
            dir.display()
        );
        None
    }
}

/// Every step from the reference's previous box lands within 1 px of the
/// reference's next box on >= 99 % of the dev OTB frames (the boxes in
/// tests/reference/nanotrack were written by ../shared/reference/nanotrack_ref.py --boxes).
#[test]
fn matches_the_reference_tracker_step_by_step_on_otb() {
    let Some(data) = otb() else { return };
    let mut t = tracker();
    t.set_recovery(false);
    let (mut good, mut all) = (0.0, 0.0);
    for dir in OtbSequence::find(&data).unwrap() {
        let seq = OtbSequence::load(&dir).unwrap();
        let reference =
            read_boxes(&root().join(format!("tests/reference/nanotrack/{}.txt", seq.name)))
                .unwrap();
        assert_eq!(reference.len(), seq.frames.len(), "{}", seq.name);
        let own = run_sequence(&mut t, &seq, &|| {}).unwrap();
        let p = parity_sequence(&mut t, &seq, &own.results, &reference).unwrap();
        eprintln!(
            "{}: step {:.2} % within 1 px (max {:.2} px), closed loop {:.2} %, AUC {:.3}",
            p.name,
            p.step_within_1px * 100.0,
            p.step_max_px,
            p.closed_loop_within_1px * 100.0,
            own.auc
        );
        good += p.step_within_1px * p.frames as f64;
        all += p.frames as f64;
    }
    assert!(
        good / all >= 0.99,
        "only {:.2} % of steps within 1 px",
        100.0 * good / all
    );
}

/// On cut sequences the tracker says "lost" while the target is gone, and
/// rarely on the uncut ones.
#[test]
fn says_lost_on_cut_otb_sequences() {
    let Some(data) = otb() else { return };
    let mut t = tracker();
    let seqs: Vec<OtbSequence> = OtbSequence::find(&data)
        .unwrap()
        .iter()
        .map(|d| OtbSequence::load(Path::new(d)).unwrap())
        .collect();
    let (mut lost, mut frames) = (0, 0);
    for s in &seqs {
        let r = run_sequence(&mut t, s, &|| {}).unwrap();
        lost += r.lost_frames;
        frames += r.frames;
    }
    assert!(
        (lost as f64) < 0.02 * frames as f64,
        "{lost} of {frames} uncut frames called lost"
    );
    let mut caught = 0;
    for (i, s) in seqs.iter().enumerate() {
        let c = CutSequence::new(s, &seqs[(i + 1) % seqs.len()]);
        let r = run_cut(&mut t, &c, None).unwrap();
        eprintln!(
            "{}: lost after {:?}, reacquired after {:?}",
            r.name, r.frames_to_lost, r.frames_to_reacquire
        );
        assert_eq!(r.lost_before_cut, 0, "{}", r.name);
        caught += r.frames_to_lost.is_some_and(|n| n <= 25) as usize;
    }
    assert_eq!(
        caught,
        seqs.len(),
        "the target's absence was not caught within 25 frames everywhere"
    );
}

/// While a face target is lost, the face detector finds it again: on
/// Freeman1 cut by MotorRolling (no faces), a re-detection moves the tracker
/// and the face is held again soon after it comes back.
#[test]
fn face_redetection_moves_a_lost_face_target_back() {
    let Some(data) = otb() else { return };
    let models = root().join("models/build/onnx");
    if !models.join("pnet.onnx").is_file() {
        eprintln!(
            "skipped: no face detector in {} (run models/zoo/fetch.sh)",
            models.display()
        );
        return;
    }
    let mtcnn = Mtcnn::load(&models, MtcnnConfig::default()).unwrap();
    let mut faces = FaceRecovery::new(mtcnn);
    let target = OtbSequence::load(&data.join("Freeman1")).unwrap();
    let foreign = OtbSequence::load(&data.join("MotorRolling")).unwrap();
    let cut = CutSequence::new(&target, &foreign);
    let mut t = tracker();
    let r = run_cut(&mut t, &cut, Some(&mut faces)).unwrap();
    eprintln!(
        "{}: lost after {:?}, reacquired after {:?}, {} re-detections",
        r.name, r.frames_to_lost, r.frames_to_reacquire, r.redetections
    );
    assert!(r.frames_to_lost.is_some(), "never lost");
    assert!(r.redetections >= 1, "no re-detection moved the tracker");
    assert!(
        r.frames_to_reacquire.is_some_and(|n| n <= 10),
        "the face was not held again within 10 frames: {:?}",
        r.frames_to_reacquire
    );
}
