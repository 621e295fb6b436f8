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
    det.prepare(img.width, img.height).unwrap();
    assert!(det.last_stats().scales >= 8, "{:?}", det.last_stats());
    let faces = det.detect(&img).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let stats = det.last_stats();
    assert!(
        stats.rnet_crops >= stats.onet_crops && stats.onet_crops >= 1,
        "{stats:?}"
    );
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

/// Face boxes of the demo photos as the detector finds them (rounded, so the
/// crops depend on the cropping code alone), and whether to feed them grey.
const LIVENESS_CASES: [(&str, &str, [f32; 4], bool); 4] = [
    (
        "obama-colour",
        "obama.jpg",
        [388.0, 91.0, 610.0, 413.0],
        false,
    ),
    (
        "biden-colour",
        "biden.jpg",
        [432.0, 169.0, 713.0, 564.0],
        false,
    ),
    ("obama-grey", "obama.jpg", [388.0, 91.0, 610.0, 413.0], true),
    (
        "obama2-grey",
        "obama2.jpg",
        [193.0, 223.0, 478.0, 637.0],
        true,
    ),
];

#[derive(serde::Deserialize)]
struct LivenessReference {
    cases: Vec<LivenessCase>,
}

#[derive(serde::Deserialize)]
struct LivenessCase {
    case: String,
    crop_fnv1a64: String,
    leaves: Vec<f32>,
    score: f32,
}

/// The liveness network on real crops matches the LiteRT interpreter on the
/// same crops (recorded in tests/reference/liveness-litert.json by
/// tests/reference/liveness_litert.py), and the manifest's cut-off calls the
/// colour faces live. Grey faces score as the reference scores them.
#[test]
fn liveness_matches_litert_on_real_crops_and_decides_at_the_manifest_cut_off() {
    let models = common::models();
    let mut live = Liveness::load(&models.join("FaceAntiSpoofing.onnx")).unwrap();
    let path = common::root().join("tests/reference/liveness-litert.json");
    let dump = std::env::var_os("SIAMEDGE_DUMP_LIVENESS_CROPS").map(std::path::PathBuf::from);
    let reference: LivenessReference = match dump {
        Some(_) => LivenessReference { cases: Vec::new() },
        None => serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap(),
    };
    let mut checked = 0;
    for (name, photo, bbox, grey) in LIVENESS_CASES {
        let mut img = image::load(&common::sample(photo)).unwrap();
        if grey {
            for px in img.data.chunks_exact_mut(3) {
                let y = (77 * px[0] as u32 + 150 * px[1] as u32 + 29 * px[2] as u32 + 128) >> 8;
                px.fill(y as u8);
            }
        }
        let score = live.score(&img, bbox).unwrap();
        let crop = live.last_crop();
        if let Some(dir) = &dump {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.rgb")), &crop.data).unwrap();
            continue;
        }
        let r = reference
            .cases
            .iter()
            .find(|c| c.case == name)
            .unwrap_or_else(|| panic!("{name} is not in {}: re-record it", path.display()));
        assert_eq!(
            format!("{:016x}", image::fnv1a64(&crop.data)),
            r.crop_fnv1a64,
            "{name}: the crop changed; re-record the reference (see {})",
            path.display()
        );
        let worst = live
            .last_leaves()
            .iter()
            .zip(&r.leaves)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert_eq!(live.last_leaves().len(), r.leaves.len(), "{name}");
        assert!(worst < 1e-4, "{name}: leaves differ from LiteRT by {worst}");
        assert!(
            (score - r.score).abs() < 1e-4,
            "{name}: {score} vs LiteRT {}",
            r.score
        );
        let spoof = score > live.spoof_above();
        assert_eq!(
            spoof,
            r.score > live.spoof_above(),
            "{name}: same decision as LiteRT"
        );
        if !grey {
            assert!(!spoof, "{name}: a real colour photo is live ({score})");
        }
        eprintln!("{name}: spoof score {score:.4} (LiteRT {:.4})", r.score);
        checked += 1;
    }
    assert!(dump.is_some() || checked == LIVENESS_CASES.len());
}
