//! The mapping of each TFLite operator to ONNX nodes.

mod conv;
mod dense;
mod elementwise;
mod reduce;
mod shape;

use crate::tflite::{Activation, BuiltinOp, Operator};
use siamedge::onnx_writer::attr;

use super::context::{Importer, Result};

pub use elementwise::prelu;

/// Emits the ONNX nodes for one TFLite operator.
pub fn map(imp: &mut Importer, op: &Operator) -> Result<()> {
    match op.op {
        BuiltinOp::CONV_2D => conv::conv(imp, op),
        BuiltinOp::DEPTHWISE_CONV_2D => conv::depthwise(imp, op),
        BuiltinOp::MAX_POOL_2D => conv::pool(imp, op, "MaxPool"),
        BuiltinOp::AVERAGE_POOL_2D => conv::pool(imp, op, "AveragePool"),
        BuiltinOp::FULLY_CONNECTED => dense::fully_connected(imp, op),
        BuiltinOp::ADD => elementwise::binary(imp, op, "Add"),
        BuiltinOp::SUB => elementwise::binary(imp, op, "Sub"),
        BuiltinOp::MUL => elementwise::binary(imp, op, "Mul"),
        BuiltinOp::DIV => elementwise::binary(imp, op, "Div"),
        BuiltinOp::GREATER_EQUAL => elementwise::binary(imp, op, "GreaterOrEqual"),
        BuiltinOp::LESS => elementwise::binary(imp, op, "Less"),
        BuiltinOp::RELU => elementwise::unary(imp, op, "Relu", vec![]),
        BuiltinOp::NEG => elementwise::unary(imp, op, "Neg", vec![]),
        BuiltinOp::EXP => elementwise::unary(imp, op, "Exp", vec![]),
        BuiltinOp::ABS => elementwise::unary(imp, op, "Abs", vec![]),
        BuiltinOp::LEAKY_RELU => elementwise::leaky_relu(imp, op),
        BuiltinOp::CAST => elementwise::cast(imp, op),
        BuiltinOp::RESHAPE => shape::reshape(imp, op),
        BuiltinOp::CONCATENATION => shape::concatenation(imp, op),
        BuiltinOp::STRIDED_SLICE => shape::strided_slice(imp, op),
        BuiltinOp::REDUCE_MAX => reduce::reduce(imp, op, "ReduceMax"),
        BuiltinOp::SUM => reduce::reduce(imp, op, "ReduceSum"),
        BuiltinOp::DEQUANTIZE => Err(
            imp.unsupported("only DEQUANTIZE of float16 constants is supported (folded at import)")
        ),
        _ => Err(imp.unsupported("no ONNX mapping for this operator")),
    }
}

/// Input `i` of `op`, which must be present.
fn input(imp: &Importer, op: &Operator, i: usize) -> Result<usize> {
    op.inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| imp.graph_error(format!("missing input {i}")))
}

/// The single output of `op`.
fn output(imp: &Importer, op: &Operator) -> Result<usize> {
    match op.outputs.as_slice() {
        [o] => Ok(*o),
        other => Err(imp.graph_error(format!("expected one output, found {}", other.len()))),
    }
}

/// Appends a fused activation after the value `name`; returns the final name.
fn activation(imp: &mut Importer, name: String, act: Activation, base: &str) -> Result<String> {
    let clip = |imp: &mut Importer, lo: f32, hi: f32| {
        let lo = imp.graph.f32_tensor(&format!("{base}/min"), &[], &[lo]);
        let hi = imp.graph.f32_tensor(&format!("{base}/max"), &[], &[hi]);
        imp.node("Clip", &[&name, &lo, &hi], base, vec![])
    };
    Ok(match act {
        Activation::None => name,
        Activation::Relu => imp.node("Relu", &[&name], base, vec![]),
        Activation::Relu6 => clip(imp, 0.0, 6.0),
        Activation::ReluN1To1 => clip(imp, -1.0, 1.0),
        Activation::Tanh => imp.node("Tanh", &[&name], base, vec![]),
        Activation::Other(code) => {
            return Err(imp.unsupported(format!("fused activation code {code}")))
        }
    })
}

/// The ONNX node-name base for `op`'s output: its TFLite name.
fn base_name(imp: &Importer, t: usize) -> String {
    imp.model.tensors[t].name.clone()
}

/// `auto_pad` attribute for a TFLite padding.
fn auto_pad(padding: crate::tflite::Padding) -> siamedge::model::onnx_proto::AttributeProto {
    attr::string(
        "auto_pad",
        match padding {
            crate::tflite::Padding::Same => "SAME_UPPER",
            crate::tflite::Padding::Valid => "VALID",
        },
    )
}

/// Node-name base for an operator's own node: its output name, or
/// `name/linear` when a fused activation follows and takes the name.
fn linear_base(base: &str, act: Activation) -> String {
    match act {
        Activation::None => base.to_string(),
        _ => format!("{base}/linear"),
    }
}
