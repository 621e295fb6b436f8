//! Import tests on hand-built models: errors, folding, determinism, and
//! agreement with tract-tflite through the siamedge runtime.

use std::path::Path;

use prost::Message;
use siamedge::model::{Dim as RtDim, Network};
use tract_tflite::prelude::*;

use super::{import, ImportError, ImportOptions};
use crate::parity::case::{to_nchw, Array};
use crate::tflite::testing::{
    arith_options, conv_options, fc_options, Field, OptionsSpec, TinyModel,
};

const ADD: i32 = 0;
const CONV_2D: i32 = 3;
const FULLY_CONNECTED: i32 = 9;
const MUL: i32 = 18;
const RELU: i32 = 19;
const RESHAPE: i32 = 22;
const SUB: i32 = 41;
const ABS: i32 = 101;

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2000) as f32 / 1000.0 - 1.0)
        .collect()
}

/// in [1,6,5,3] -> CONV_2D (4 filters 3x3, SAME, stride 2, RELU) -> [1,3,3,4]
/// -> PReLU as relu(x) + c*(x - |x|) -> RESHAPE [1,36] -> SUB const [1,36]
/// -> FULLY_CONNECTED [5,36] -> out [1,5]; the PReLU output is a second output.
fn layout_model() -> TinyModel {
    let mut m = TinyModel::new();
    let x = m.tensor("in", &[1, 6, 5, 3]);
    let w = m.constant("w", &[4, 3, 3, 3], &values(108, 1));
    let b = m.constant("b", &[4], &[0.1, -0.2, 0.3, 0.0]);
    let c = m.tensor("conv", &[1, 3, 3, 4]);
    m.op(CONV_2D, &[x, w, b], &[c], Some(conv_options(true, 2, 0)));
    let relu = m.tensor("relu", &[1, 3, 3, 4]);
    let abs = m.tensor("abs", &[1, 3, 3, 4]);
    let sub = m.tensor("sub", &[1, 3, 3, 4]);
    let alpha = m.constant("alpha_half", &[4], &[0.125, -0.25, 0.5, 1.5]);
    let mul = m.tensor("mul", &[1, 3, 3, 4]);
    let prelu = m.tensor("prelu", &[1, 3, 3, 4]);
    m.op(RELU, &[c], &[relu], None);
    m.op(ABS, &[c], &[abs], None);
    m.op(SUB, &[c, abs], &[sub], Some(arith_options(28)));
    m.op(MUL, &[alpha, sub], &[mul], Some(arith_options(21)));
    m.op(ADD, &[relu, mul], &[prelu], Some(arith_options(11)));
    let shape = m.int_constant("shape", &[2], &[1, 36]);
    let flat = m.tensor("flat", &[1, 36]);
    m.op(RESHAPE, &[prelu, shape], &[flat], None);
    let mean = m.constant("mean", &[1, 36], &values(36, 2));
    let centred = m.tensor("centred", &[1, 36]);
    m.op(SUB, &[flat, mean], &[centred], Some(arith_options(28)));
    let fw = m.constant("fc_w", &[5, 36], &values(180, 3));
    let fb = m.constant("fc_b", &[5], &[0.5, 0.25, 0.0, -0.25, -0.5]);
    let out = m.tensor("out", &[1, 5]);
    m.op(
        FULLY_CONNECTED,
        &[centred, fw, fb],
        &[out],
        Some(fc_options(0)),
    );
    m.io(&[x], &[out, prelu]);
    m
}

/// Runs a TFLite model in tract-tflite; returns each output's values.
fn tract_tflite_run(bytes: &[u8], shape: &[usize], input: &[f32]) -> Vec<Vec<f32>> {
    let model = tract_tflite::tflite()
        .model_for_read(&mut &bytes[..])
        .unwrap();
    let plan = model.into_optimized().unwrap().into_runnable().unwrap();
    let outputs = plan
        .run(tvec![Tensor::from_shape(shape, input).unwrap().into()])
        .unwrap();
    outputs
        .iter()
        .map(|t| {
            t.try_as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec()
        })
        .collect()
}

/// Imports `bytes`, loads the ONNX file in the runtime and runs one NHWC input.
fn import_and_run(bytes: &[u8], nhwc: &[usize], input: &[f32]) -> (Vec<String>, Vec<Array>) {
    let (model, _) = import(Path::new("tiny.tflite"), bytes, &ImportOptions::default()).unwrap();
    let ops = model
        .graph
        .as_ref()
        .unwrap()
        .node
        .iter()
        .map(|n| n.op_type.clone())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.onnx");
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    let (shape, data) = to_nchw(nhwc.to_vec(), input.to_vec());
    let dims: Vec<RtDim> = shape.iter().map(|&d| RtDim::Fixed(d)).collect();
    let mut net = Network::load(&path, &[dims]).unwrap();
    let out = net.run(&[(&shape, &data)]).unwrap();
    (
        ops,
        (0..out.len())
            .map(|i| (out.shape(i).to_vec(), out.values(i).to_vec()))
            .collect(),
    )
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn layout_tracking_matches_tract_tflite() {
    let bytes = layout_model().build();
    let input = values(90, 4);
    let expected = tract_tflite_run(&bytes, &[1, 6, 5, 3], &input);
    let (ops, ours) = import_and_run(&bytes, &[1, 6, 5, 3], &input);
    assert!(
        !ops.iter().any(|o| o == "Transpose" || o == "Gather"),
        "{ops:?}"
    );
    assert_eq!(ours[0].0, vec![1, 5]);
    assert!(
        max_diff(&ours[0].1, &expected[0]) < 1e-5,
        "{:?} vs {:?}",
        ours[0].1,
        expected[0]
    );
    assert_eq!(ours[1].0, vec![1, 4, 3, 3]);
    let (_, expected_nchw) = to_nchw(vec![1, 3, 3, 4], expected[1].clone());
    assert!(max_diff(&ours[1].1, &expected_nchw) < 1e-5);
}

#[test]
fn prelu_idiom_is_fused_and_names_are_kept() {
    let (model, report) = import(
        Path::new("tiny.tflite"),
        &layout_model().build(),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(report.prelus, 1);
    assert_eq!(report.tflite_ops["ABS"], 1);
    assert!(!report.onnx_ops.contains_key("Abs"));
    let graph = model.graph.unwrap();
    assert_eq!(
        graph
            .input
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["in"]
    );
    assert_eq!(
        graph
            .output
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        ["out", "prelu"]
    );
}

#[test]
fn import_is_deterministic() {
    let bytes = layout_model().build();
    let a = import(Path::new("a.tflite"), &bytes, &ImportOptions::default())
        .unwrap()
        .0
        .encode_to_vec();
    let b = import(Path::new("a.tflite"), &bytes, &ImportOptions::default())
        .unwrap()
        .0
        .encode_to_vec();
    assert_eq!(a, b);
}

#[test]
fn unsupported_operator_is_named_with_its_index_and_file() {
    let mut m = TinyModel::new();
    let x = m.tensor("in", &[1, 4, 4, 3]);
    let r = m.tensor("r", &[1, 4, 4, 3]);
    let y = m.tensor("out", &[1, 2, 2, 12]);
    m.op(RELU, &[x], &[r], None);
    m.op(26, &[r], &[y], None);
    m.io(&[x], &[y]);
    let err = import(
        Path::new("models/odd.tflite"),
        &m.build(),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::Unsupported { index: 1, .. }));
    assert_eq!(
        err.to_string(),
        "models/odd.tflite: operator #1 (SPACE_TO_DEPTH) is not supported: no ONNX mapping for this operator"
    );
}

#[test]
fn float16_constants_are_widened_and_constant_ops_folded() {
    let mut m = TinyModel::new();
    let x = m.tensor("in", &[1, 4]);
    let half: Vec<u8> = [0x3c00u16, 0xc000, 0x3800, 0x0000]
        .iter()
        .flat_map(|h| h.to_le_bytes())
        .collect();
    let h = m.push("h", &[4], 1, Some(half));
    let d = m.tensor("h_dequantized", &[4]);
    m.op(6, &[h], &[d], None);
    let two = m.constant("two", &[], &[2.0]);
    let scaled = m.tensor("scaled", &[4]);
    m.op(MUL, &[d, two], &[scaled], Some(arith_options(21)));
    let y = m.tensor("out", &[1, 4]);
    m.op(ADD, &[x, scaled], &[y], Some(arith_options(11)));
    m.io(&[x], &[y]);
    let (model, report) = import(
        Path::new("fp16.tflite"),
        &m.build(),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(report.folded, 2);
    let graph = model.graph.unwrap();
    assert_eq!(graph.node.len(), 1);
    let init = &graph.initializer[0];
    let values: Vec<f32> = init
        .raw_data
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(values, [2.0, -4.0, 1.0, 0.0]);
}

#[test]
fn symbolic_spatial_dims_are_named_on_the_input() {
    let mut m = TinyModel::new();
    let x = m.tensor("in", &[1, 8, 8, 3]);
    let w = m.constant("w", &[2, 1, 1, 3], &values(6, 5));
    let y = m.tensor("out", &[1, 8, 8, 2]);
    m.op(CONV_2D, &[x, w], &[y], Some(conv_options(false, 1, 0)));
    m.io(&[x], &[y]);
    let options = ImportOptions {
        symbolic_spatial: Some(["h".into(), "w".into()]),
    };
    let (model, _) = import(Path::new("sym.tflite"), &m.build(), &options).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sym.onnx");
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    let dims = crate::parity::onnx_input_dims(&path).unwrap();
    assert_eq!(
        dims,
        vec![vec![
            RtDim::Fixed(1),
            RtDim::Fixed(3),
            RtDim::Symbol("h".into()),
            RtDim::Symbol("w".into())
        ]]
    );
    let mut net = Network::load(&path, &dims).unwrap();
    for (h, w) in [(5, 7), (12, 3)] {
        let out = net.run(&[(&[1, 3, h, w], &values(3 * h * w, 6))]).unwrap();
        assert_eq!(out.shape(0), [1, 2, h, w]);
    }
}

#[test]
fn unused_option_fields_are_ignored() {
    let mut m = TinyModel::new();
    let x = m.tensor("in", &[1, 4]);
    let y = m.tensor("out", &[1, 4]);
    let leaky = OptionsSpec {
        tag: 75,
        fields: vec![(4, Field::Float(0.25))],
    };
    m.op(98, &[x], &[y], Some(leaky));
    m.io(&[x], &[y]);
    let (model, _) = import(
        Path::new("leaky.tflite"),
        &m.build(),
        &ImportOptions::default(),
    )
    .unwrap();
    let node = &model.graph.unwrap().node[0];
    assert_eq!(node.op_type, "LeakyRelu");
    assert_eq!(node.attribute[0].f, 0.25);
}
