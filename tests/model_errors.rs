//! Bad model files and manifests give clear errors that name the file.

mod common;

use std::fs;

use siamedge::model::{Manifest, Model};

fn copy_model(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let models = common::models();
    let onnx = dir.join(format!("{name}.onnx"));
    fs::copy(models.join(format!("{name}.onnx")), &onnx).unwrap();
    fs::copy(
        models.join(format!("{name}.toml")),
        dir.join(format!("{name}.toml")),
    )
    .unwrap();
    onnx
}

#[test]
fn a_truncated_model_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = copy_model(dir.path(), "rnet");
    let bytes = fs::read(&onnx).unwrap();
    fs::write(&onnx, &bytes[..bytes.len() / 2]).unwrap();
    let e = Model::load(&onnx).unwrap_err().to_string();
    assert!(e.contains("rnet.onnx") && e.contains("sha256"), "{e}");
}

#[test]
fn a_corrupt_model_with_a_matching_manifest_is_a_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = copy_model(dir.path(), "rnet");
    fs::write(&onnx, b"this is not protobuf at all").unwrap();
    let mut m = Manifest::load_for(&onnx).unwrap();
    m.sha256 = siamedge::model::sha256_hex(b"this is not protobuf at all");
    m.save(&Manifest::path_for(&onnx)).unwrap();
    let e = Model::load(&onnx).unwrap_err().to_string();
    assert!(
        e.contains("cannot load model") && e.contains("rnet.onnx"),
        "{e}"
    );
}

#[test]
fn a_manifest_typo_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = copy_model(dir.path(), "onet");
    let path = Manifest::path_for(&onnx);
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("layout =", "layuot =");
    fs::write(&path, text).unwrap();
    let e = Model::load(&onnx).unwrap_err().to_string();
    assert!(e.contains("onet.toml") && e.contains("layuot"), "{e}");
}

#[test]
fn a_missing_manifest_says_what_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = copy_model(dir.path(), "onet");
    fs::remove_file(Manifest::path_for(&onnx)).unwrap();
    let e = Model::load(&onnx).unwrap_err().to_string();
    assert!(e.contains("onet.toml") && e.contains("manifest"), "{e}");
}

#[test]
fn saving_a_manifest_keeps_a_backup_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = copy_model(dir.path(), "MobileFaceNet");
    let path = Manifest::path_for(&onnx);
    let before = fs::read_to_string(&path).unwrap();
    let mut m = Manifest::load(&path).unwrap();
    m.thresholds_calibrated_on = "a test".into();
    m.save(&path).unwrap();
    assert_eq!(
        fs::read_to_string(siamedge::store::backup_path(&path)).unwrap(),
        before
    );
    assert_eq!(Manifest::load(&path).unwrap(), m);
    Model::load(&onnx).unwrap();
}

#[test]
fn a_detector_file_loaded_as_the_embedder_is_refused_by_its_role() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = copy_model(dir.path(), "rnet");
    let e = siamedge::face::Embedder::load(&onnx)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("rnet.toml") && e.contains("not face-embed"),
        "{e}"
    );
}
