//! Tests of the flatbuffer reader on hand-built models.

use std::path::Path;

use super::testing::{conv_options, TinyModel};
use super::*;

/// input [1,4,4,3] -> CONV_2D(2 filters 3x3, VALID, RELU) -> [1,2,2,2]
fn conv_model() -> TinyModel {
    let mut m = TinyModel::new();
    let x = m.tensor("in", &[1, 4, 4, 3]);
    let w = m.constant("w", &[2, 3, 3, 3], &[0.5; 54]);
    let b = m.constant("b", &[2], &[1.0, -1.0]);
    let y = m.tensor("out", &[1, 2, 2, 2]);
    m.op(3, &[x, w, b], &[y], Some(conv_options(false, 1, 1)));
    m.io(&[x], &[y]);
    m
}

#[test]
fn reads_a_hand_built_model() {
    let bytes = conv_model().build();
    let model = Model::parse(Path::new("tiny.tflite"), &bytes).unwrap();
    assert_eq!(model.tensors.len(), 4);
    assert_eq!(model.inputs, vec![0]);
    assert_eq!(model.outputs, vec![3]);
    assert_eq!(model.tensors[0].name, "in");
    assert_eq!(model.tensors[0].shape, vec![1, 4, 4, 3]);
    assert_eq!(model.tensors[0].dtype, TensorType::Float32);
    assert!(model.tensors[0].data.is_none());
    assert_eq!(
        model.tensors[2].data.unwrap(),
        [1.0f32, -1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<_>>()
    );
    let op = &model.operators[0];
    assert_eq!(op.op, BuiltinOp::CONV_2D);
    assert_eq!(op.inputs, vec![Some(0), Some(1), Some(2)]);
    assert_eq!(
        op.options,
        Options::Conv2D {
            window: Window {
                padding: Padding::Valid,
                stride: [1, 1],
                dilation: [1, 1]
            },
            activation: Activation::Relu,
        }
    );
}

#[test]
fn operator_code_is_the_larger_of_both_fields() {
    let mut m = conv_model();
    let old_style = m.opcode(3, 0);
    let new_style = m.opcode(127, 150);
    m.op_with_opcode(old_style, &[0, 1, 2], &[3], None);
    m.op_with_opcode(new_style, &[3], &[3], None);
    let bytes = m.build();
    let model = Model::parse(Path::new("tiny.tflite"), &bytes).unwrap();
    assert_eq!(model.operators[1].op, BuiltinOp::CONV_2D);
    assert_eq!(model.operators[1].options, Options::None);
    assert_eq!(model.operators[2].op, BuiltinOp(150));
    assert_eq!(model.operators[2].op.name(), "GELU");
}

#[test]
fn truncated_files_give_errors_naming_the_file() {
    let bytes = conv_model().build();
    for len in 0..bytes.len() {
        let err = Model::parse(Path::new("cut.tflite"), &bytes[..len]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cut.tflite: invalid TFLite model"),
            "{err}"
        );
    }
}

#[test]
fn corrupt_files_never_panic() {
    let bytes = conv_model().build();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut rejected = 0;
    for _ in 0..3000 {
        let mut corrupt = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % corrupt.len() as u64) as usize;
            corrupt[at] = next() as u8;
        }
        if let Err(e) = Model::parse(Path::new("bad.tflite"), &corrupt) {
            assert!(e.to_string().contains("bad.tflite"));
            rejected += 1;
        }
    }
    assert!(rejected > 100, "only {rejected} corruptions detected");
}

#[test]
fn out_of_range_indices_are_reported() {
    let mut m = conv_model();
    m.io(&[0], &[9]);
    let err = Model::parse(Path::new("idx.tflite"), &m.build()).unwrap_err();
    assert!(
        err.to_string()
            .contains("a graph output refers to tensor 9, but there are 4"),
        "{err}"
    );

    let mut m = conv_model();
    m.op_with_opcode(7, &[0], &[3], None);
    let err = Model::parse(Path::new("idx.tflite"), &m.build()).unwrap_err();
    assert!(
        err.to_string().contains("operator #1 uses opcode index 7"),
        "{err}"
    );
}

#[test]
fn constant_size_must_match_its_shape() {
    let mut m = conv_model();
    m.constant("short", &[4], &[1.0, 2.0]);
    let err = Model::parse(Path::new("size.tflite"), &m.build()).unwrap_err();
    assert!(
        err.to_string()
            .contains("holds 8 bytes, its shape [4] needs 16"),
        "{err}"
    );
}

#[test]
fn other_files_are_not_tflite() {
    let err = Model::parse(Path::new("x.onnx"), b"\x08\x07\x12\x04test and more").unwrap_err();
    assert!(err.to_string().contains("not a TFLite model"), "{err}");
}

#[test]
fn absurd_shapes_are_rejected() {
    let mut m = conv_model();
    m.tensor("huge", &[1 << 30, 1 << 30, 1 << 30]);
    let err = Model::parse(Path::new("huge.tflite"), &m.build()).unwrap_err();
    assert!(err.to_string().contains("absurd shape"), "{err}");
}
