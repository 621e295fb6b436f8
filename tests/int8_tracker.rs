//! The int8 NanoTrack backbone shipped in models/zoo/nanotrack runs entirely
//! on the integer engine (HardSwish fused into its convolutions, the
//! squeeze-excitation blocks as integer steps), agrees with tract's fake
//! quantization of the same file, and gives the same bits on every
//! architecture: this test runs natively on x86_64 and under qemu-aarch64 /
//! qemu-arm, against `tests/reference/nanotrack-int8-x86_64.json`
//! (re-record on x86_64 with `SIAMEDGE_RECORD_REFERENCE=1 cargo test --test int8_tracker`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use siamedge::model::{Dim, Execution, Network};

const SHAPE: [usize; 4] = [1, 3, 127, 127];

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/zoo/nanotrack/nanotrack_v3_backbone.int8.onnx")
}

/// A fixed 0..255 pattern, the same on every machine.
fn input() -> Vec<f32> {
    (0..SHAPE.iter().product::<usize>())
        .map(|i| ((i * 37 + i / 127 * 11) % 256) as f32)
        .collect()
}

fn run(execution: Execution) -> (Network, Vec<f32>) {
    let dims: Vec<Dim> = SHAPE.iter().map(|&d| Dim::Fixed(d)).collect();
    let bytes = std::fs::read(model()).unwrap();
    let mut net = Network::from_bytes_with(&model(), &bytes, &[dims], execution).unwrap();
    let out = net.run(&[(&SHAPE, &input())]).unwrap().values(0).to_vec();
    (net, out)
}

#[test]
fn the_backbone_plans_into_integer_steps_and_matches_fake_quantization() {
    let (net, ours) = run(Execution::Int8);
    assert_eq!(net.engine_name(), "siamedge-int8");
    let ops = net.op_names();
    // The backbone has seven squeeze-excitation blocks (seven GlobalAveragePool nodes).
    assert_eq!(
        ops.iter().filter(|o| *o == "Int8SqueezeExcite").count(),
        7,
        "{ops:?}"
    );
    assert_eq!(ours.len(), 96 * 8 * 8);
    let (_, theirs) = run(Execution::Tract);
    let dot: f64 = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (*a as f64) * (*b as f64))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let cosine = dot / (norm(&ours) * norm(&theirs));
    assert!(
        cosine > 0.995,
        "cosine to tract's fake quantization {cosine}"
    );
}

#[derive(Debug, Serialize, Deserialize)]
struct Reference {
    arch: String,
    /// fnv1a64 of the output's f32 bits, little-endian.
    checksum: u64,
    /// The first values, for a readable difference.
    head: Vec<f32>,
}

#[test]
fn the_backbone_gives_the_bits_recorded_on_x86_64() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/nanotrack-int8-x86_64.json");
    let (_, out) = run(Execution::Int8);
    let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
    let here = Reference {
        arch: std::env::consts::ARCH.into(),
        checksum: siamedge::image::fnv1a64(&bytes),
        head: out[..16].to_vec(),
    };
    if std::env::var_os("SIAMEDGE_RECORD_REFERENCE").is_some() {
        assert_eq!(here.arch, "x86_64", "record the reference on x86_64 only");
        std::fs::write(&path, serde_json::to_string_pretty(&here).unwrap()).unwrap();
    }
    let reference: Reference =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        (here.checksum, &here.head),
        (reference.checksum, &reference.head),
        "{} vs x86_64",
        here.arch
    );
}
