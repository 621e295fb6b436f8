//! The LFW protocol end to end on a small LFW-layout fixture made from the demo
//! photos (the real LFW in ../shared/data is used by `siamedge eval lfw`).

mod common;

use std::fs;

use siamedge::config::ModelVariant;
use siamedge::eval::{draw_roc, evaluate_lfw, FaceModels};
use siamedge::face::MtcnnConfig;

#[test]
fn a_tiny_lfw_layout_is_evaluated_end_to_end() {
    let data = tempfile::tempdir().unwrap();
    let images = data.path().join("images");
    for (person, files) in [
        (
            "Obama",
            ["obama.jpg", "obama2.jpg", "obama3.jpg"].as_slice(),
        ),
        ("Biden", ["biden.jpg"].as_slice()),
    ] {
        fs::create_dir_all(images.join(person)).unwrap();
        for (i, f) in files.iter().enumerate() {
            fs::copy(
                common::sample(f),
                images
                    .join(person)
                    .join(format!("{person}_{:04}.jpg", i + 1)),
            )
            .unwrap();
        }
    }
    fs::write(
        data.path().join("pairs.txt"),
        "2 1\nObama 1 2\nObama 1 Biden 1\nObama 2 3\nObama 3 Biden 1\n",
    )
    .unwrap();
    let (report, curve) = evaluate_lfw(
        FaceModels {
            dir: &common::models(),
            variant: ModelVariant::Fp32,
            detector: MtcnnConfig::default(),
        },
        data.path(),
        2,
        &|n| assert_eq!(n, 4),
        &|| {},
    )
    .unwrap();
    assert_eq!(
        (report.pairs, report.images, report.detector_misses),
        (4, 4, 0)
    );
    assert_eq!(report.fold_accuracy, vec![1.0, 1.0]);
    assert_eq!(report.roc_auc, 1.0);
    assert!(report.tar_at_far.iter().all(|p| p.tar == 1.0));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["pairs"], 4);

    let png = data.path().join("roc.png");
    draw_roc(&png, "test ROC", &[("fixture".into(), curve)]).unwrap();
    assert_eq!(&fs::read(&png).unwrap()[..4], b"\x89PNG");
}

#[test]
fn a_missing_pairs_file_names_the_path_and_the_fix() {
    let data = tempfile::tempdir().unwrap();
    let e = evaluate_lfw(
        FaceModels {
            dir: &common::models(),
            variant: ModelVariant::Fp32,
            detector: MtcnnConfig::default(),
        },
        data.path(),
        1,
        &|_| {},
        &|| {},
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("pairs.txt") && text.contains("--data"),
        "{text}"
    );
}
