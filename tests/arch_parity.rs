//! The same models give the same embeddings on every architecture: this test
//! runs natively on x86_64 and under qemu-aarch64 / qemu-arm in CI, and
//! compares with embeddings recorded on x86_64 in
//! `tests/reference/embeddings-x86_64.json`. Re-record them (on x86_64 only)
//! with `SIAMEDGE_RECORD_REFERENCE=1 cargo test --test arch_parity`.

mod common;

use serde::{Deserialize, Serialize};
use siamedge::bench::synthetic_face;
use siamedge::distance::cosine;
use siamedge::face::{Embedder, FacePipeline, MtcnnConfig};
use siamedge::image;

#[derive(Debug, Serialize, Deserialize)]
struct Reference {
    /// Where the figures were recorded.
    arch: String,
    /// sha256 of the MobileFaceNet file they came from.
    model_sha256: String,
    /// The embedding model alone on `synthetic_face()`.
    synthetic: Vec<f32>,
    /// The whole pipeline (MTCNN, alignment, embedding) on obama.jpg.
    obama: Vec<f32>,
}

fn measure() -> Reference {
    let models = common::models();
    let mut embedder = Embedder::load(&models.join("MobileFaceNet.onnx")).unwrap();
    let mut synthetic = Vec::new();
    embedder.embed(&synthetic_face(), &mut synthetic).unwrap();
    let mut pipeline = FacePipeline::load(&models, MtcnnConfig::default()).unwrap();
    let photo = image::decode(&std::fs::read(common::sample("obama.jpg")).unwrap()).unwrap();
    let mut obama = Vec::new();
    let found = pipeline.process(&photo, &mut obama).unwrap();
    assert_eq!(found.faces_found, 1);
    Reference {
        arch: std::env::consts::ARCH.into(),
        model_sha256: embedder.model().manifest().sha256.clone(),
        synthetic,
        obama,
    }
}

#[test]
fn embeddings_match_those_recorded_on_x86_64() {
    let path = common::root().join("tests/reference/embeddings-x86_64.json");
    let here = measure();
    if std::env::var_os("SIAMEDGE_RECORD_REFERENCE").is_some() {
        assert_eq!(here.arch, "x86_64", "record the reference on x86_64 only");
        std::fs::write(&path, serde_json::to_string_pretty(&here).unwrap()).unwrap();
    }
    let reference: Reference =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(here.model_sha256, reference.model_sha256);
    let worst = here
        .synthetic
        .iter()
        .zip(&reference.synthetic)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!(
        "{}: synthetic worst |diff| {worst:.2e}; obama cosine {:.7}",
        here.arch,
        cosine(&here.obama, &reference.obama)
    );
    assert_eq!(here.synthetic.len(), reference.synthetic.len());
    assert!(
        worst < 1e-4,
        "synthetic face: worst component differs by {worst}"
    );
    assert!(cosine(&here.obama, &reference.obama) > 0.9999);
}
