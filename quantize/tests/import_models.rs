//! Imports the five packaged face models (fetched by `models/zoo/fetch.sh`),
//! loads each through the siamedge runtime, checks MobileFaceNet against
//! tract-tflite and its optimised graph for layout ops, and runs P-Net at
//! several sizes through one file with symbolic spatial dims.

use std::path::{Path, PathBuf};

use siamedge::model::{Dim, Network};
use siamedge_quantize::import::{import_file, ImportOptions};
use siamedge_quantize::parity::onnx_input_dims;
use tract_tflite::prelude::*;

/// Operators that move or regroup data without computing: a clean graph has none.
const LAYOUT_OPS: [&str; 6] = [
    "Transpose",
    "MoveAxis",
    "Reshape",
    "AddAxis",
    "RmAxis",
    "Gather",
];

fn tflite_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/build/tflite");
    assert!(
        dir.join("MobileFaceNet.tflite").is_file(),
        "{} has no models: run models/zoo/fetch.sh first (CI runs it before the tests)",
        dir.display()
    );
    dir
}

/// Imports `name.tflite` into `out`; returns the ONNX path.
fn import(name: &str, out: &Path) -> PathBuf {
    let symbolic_spatial = (name == "pnet").then(|| ["w".to_string(), "h".to_string()]);
    let onnx = out.join(format!("{name}.onnx"));
    import_file(
        &tflite_dir().join(format!("{name}.tflite")),
        &onnx,
        &ImportOptions { symbolic_spatial },
    )
    .unwrap_or_else(|e| panic!("import of {name}: {e}"));
    onnx
}

/// A 112x112 RGB picture with a face's coarse structure: skin-toned oval on a
/// darker background, eyes, brows, nose shadow and mouth, plus mild texture.
fn face_like(size: usize) -> Vec<f32> {
    let mut rgb = vec![0.0f32; size * size * 3];
    let s = size as f32;
    for y in 0..size {
        for x in 0..size {
            let (u, v) = ((x as f32 + 0.5) / s - 0.5, (y as f32 + 0.5) / s - 0.5);
            let mut colour = [60.0 + 40.0 * v, 70.0 + 30.0 * u, 90.0];
            if (u / 0.36).powi(2) + ((v + 0.02) / 0.46).powi(2) < 1.0 {
                let shade = 1.0 - 0.35 * (u * u + v * v);
                colour = [215.0 * shade, 170.0 * shade, 140.0 * shade];
            }
            let blob = |cx: f32, cy: f32, rx: f32, ry: f32| {
                ((u - cx) / rx).powi(2) + ((v - cy) / ry).powi(2) < 1.0
            };
            if blob(-0.15, -0.1, 0.07, 0.035) || blob(0.15, -0.1, 0.07, 0.035) {
                colour = [40.0, 30.0, 30.0];
            }
            if blob(-0.15, -0.18, 0.09, 0.015) || blob(0.15, -0.18, 0.09, 0.015) {
                colour = [70.0, 50.0, 40.0];
            }
            if blob(0.0, 0.05, 0.03, 0.09) {
                colour = colour.map(|c| c * 0.8);
            }
            if blob(0.0, 0.22, 0.12, 0.025) {
                colour = [150.0, 60.0, 60.0];
            }
            let texture = ((x * 31 + y * 17) % 13) as f32 - 6.0;
            for (c, value) in colour.iter().enumerate() {
                rgb[(y * size + x) * 3 + c] = ((value + texture).clamp(0.0, 255.0) - 127.5) / 128.0;
            }
        }
    }
    rgb
}

fn nhwc_to_nchw(data: &[f32], h: usize, w: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                out[(ch * h + y) * w + x] = data[(y * w + x) * c + ch];
            }
        }
    }
    out
}

fn fixed(dims: &[usize]) -> Vec<Dim> {
    dims.iter().map(|&d| Dim::Fixed(d)).collect()
}

#[test]
fn mobilefacenet_matches_tract_tflite_and_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = import("MobileFaceNet", dir.path());
    let mut net = Network::load(&onnx, &[fixed(&[1, 3, 112, 112])]).unwrap();

    let ops = net.op_names();
    let layout: Vec<&String> = ops
        .iter()
        .filter(|o| LAYOUT_OPS.contains(&o.as_str()))
        .collect();
    assert!(
        layout.is_empty(),
        "layout ops left after optimisation: {layout:?} in {ops:?}"
    );

    let face = face_like(112);
    let ours = net
        .run(&[(&[1, 3, 112, 112], &nhwc_to_nchw(&face, 112, 112, 3))])
        .unwrap();
    assert_eq!(ours.shape(0), [1, 192]);
    let ours = ours.values(0).to_vec();

    let reference = tract_tflite::tflite()
        .model_for_path(tflite_dir().join("MobileFaceNet.tflite"))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .unwrap();
    let batch: Vec<f32> = face.iter().chain(&face).copied().collect();
    let out = reference
        .run(tvec![Tensor::from_shape(&[2, 112, 112, 3], &batch)
            .unwrap()
            .into()])
        .unwrap();
    let expected = out[0]
        .try_as_plain_ram()
        .unwrap()
        .as_slice::<f32>()
        .unwrap()[..192]
        .to_vec();

    let err = ours
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    let scale = expected.iter().map(|v| v.abs()).fold(0.0, f32::max);
    assert!(scale > 0.0);
    assert!(
        err / scale <= 1e-4,
        "relative max error {} (abs {err}, scale {scale})",
        err / scale
    );
}

#[test]
fn pnet_runs_at_every_scale_from_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = import("pnet", dir.path());
    let dims = onnx_input_dims(&onnx).unwrap();
    assert_eq!(
        dims,
        vec![vec![
            Dim::Fixed(1),
            Dim::Fixed(3),
            Dim::Symbol("w".into()),
            Dim::Symbol("h".into())
        ]]
    );
    let mut net = Network::load(&onnx, &dims).unwrap();
    for (a, b, out_a, out_b) in [(12, 12, 1, 1), (250, 250, 120, 120), (100, 77, 45, 34)] {
        let input: Vec<f32> = (0..3 * a * b)
            .map(|i| ((i * 7919) % 255) as f32 / 128.0 - 1.0)
            .collect();
        let out = net.run(&[(&[1, 3, a, b], &input)]).unwrap();
        assert_eq!(out.shape(0), [1, 2, out_a, out_b], "prob at {a}x{b}");
        assert_eq!(out.shape(1), [1, 4, out_a, out_b], "regression at {a}x{b}");
        let plane = out_a * out_b;
        for p in 0..plane {
            let sum = out.values(0)[p] + out.values(0)[plane + p];
            assert!((sum - 1.0).abs() < 1e-5, "softmax sums to {sum} at {a}x{b}");
        }
    }
}

#[test]
fn all_five_models_import_and_load() {
    let dir = tempfile::tempdir().unwrap();
    for (name, outputs) in [
        ("rnet", vec![vec![1, 2], vec![1, 4]]),
        ("onet", vec![vec![1, 2], vec![1, 4], vec![1, 10]]),
        ("MobileFaceNet", vec![vec![1, 192]]),
        ("FaceAntiSpoofing", vec![vec![1, 8], vec![1, 8]]),
    ] {
        let onnx = import(name, dir.path());
        let dims = onnx_input_dims(&onnx).unwrap();
        let shape: Vec<usize> = dims[0]
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => *n,
                Dim::Symbol(s) => panic!("{name}: unexpected symbol {s}"),
            })
            .collect();
        assert_eq!(shape[..2], [1, 3], "{name}: NCHW, batch 1");
        let mut net = Network::load(&onnx, &dims).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|i| (i % 97) as f32 / 97.0)
            .collect();
        let out = net.run(&[(&shape, &input)]).unwrap();
        let shapes: Vec<Vec<usize>> = (0..out.len()).map(|i| out.shape(i).to_vec()).collect();
        assert_eq!(shapes, outputs, "{name}");
    }
    import("pnet", dir.path());
}

#[test]
fn import_is_byte_for_byte_reproducible() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for name in ["pnet", "FaceAntiSpoofing"] {
        let x = std::fs::read(import(name, a.path())).unwrap();
        let y = std::fs::read(import(name, b.path())).unwrap();
        assert!(x == y, "{name}: two imports differ");
    }
}
