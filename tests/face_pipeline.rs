//! The face pipeline end to end on real photos with the real packaged models.

mod common;

use siamedge::distance::similarity;
use siamedge::face::{FacePipeline, Liveness, Mtcnn, MtcnnConfig};
use siamedge::image;

fn embed(p: &mut FacePipeline, name: &str) -> Vec<f32> {
    let img = image::load(&common::sample(name)).unwrap();
    let mut e = Vec::new();
    let r = p.process(&img, &mut e).unwrap();
    assert!(r.face.is_some(), "no face found in {name}");
    e
}

#[test]
fn same_person_scores_above_the_calibrated_threshold_and_others_below() {
    let mut p = FacePipeline::load(&common::models(), MtcnnConfig::default()).unwrap();
    let manifest = p.embedder().model().manifest().clone();
    let t = manifest
        .threshold_at(1e-3)
        .expect("MobileFaceNet manifest has a FAR 1e-3 threshold")
        .value;
    let d = p.embedder().distance();
    let obama = embed(&mut p, "obama.jpg");
    let obama2 = embed(&mut p, "obama2.jpg");
    let obama3 = embed(&mut p, "obama3.jpg");
    let biden = embed(&mut p, "biden.jpg");
    assert_eq!(obama.len(), 192);
    let norm: f32 = obama.iter().map(|x| x * x).sum();
    assert!((norm - 1.0).abs() < 1e-4);
    for (other, name) in [(&obama2, "obama2"), (&obama3, "obama3")] {
        let s = similarity(d, &obama, other);
        assert!(s >= t, "obama vs {name}: {s} < threshold {t}");
    }
    for other in [&obama, &obama2, &obama3] {
        let s = similarity(d, &biden, other);
        assert!(s < t, "biden vs obama: {s} >= threshold {t}");
    }
}

#[test]
fn detector_finds_one_face_with_plausible_landmarks() {
    let mut det = Mtcnn::load(&common::models(), MtcnnConfig::default()).unwrap();
    let img = image::load(&common::sample("obama.jpg")).unwrap();
    let faces = det.detect(&img).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let f = &faces[0];
    assert!(f.score > 0.9);
    let [x1, y1, x2, y2] = f.bbox;
    for [x, y] in f.landmarks {
        assert!(
            x > x1 && x < x2 && y > y1 && y < y2,
            "landmark ({x}, {y}) outside {:?}",
            f.bbox
        );
    }
    let [le, re, nose, lm, rm] = f.landmarks;
    assert!(
        le[0] < re[0] && lm[0] < rm[0],
        "left/right swapped: {:?}",
        f.landmarks
    );
    assert!(
        le[1] < nose[1] && nose[1] < lm[1],
        "eyes, nose, mouth out of order: {:?}",
        f.landmarks
    );
}

#[test]
fn a_blank_image_has_no_face() {
    let mut det = Mtcnn::load(&common::models(), MtcnnConfig::default()).unwrap();
    let img = image::RgbImage::new(320, 240);
    assert!(det.detect(&img).unwrap().is_empty());
}

#[test]
fn liveness_scores_a_real_photo() {
    let models = common::models();
    let mut live = Liveness::load(&models.join("FaceAntiSpoofing.onnx")).unwrap();
    let mut det = Mtcnn::load(&models, MtcnnConfig::default()).unwrap();
    let img = image::load(&common::sample("obama.jpg")).unwrap();
    let face = det.detect(&img).unwrap().remove(0);
    let score = live.score(&img, face.bbox).unwrap();
    assert!(score.is_finite() && score >= 0.0, "spoof score {score}");
}
