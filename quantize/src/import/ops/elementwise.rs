//! Elementwise operators: arithmetic, comparisons, activations, casts and PReLU.
//! They run in their inputs' layout; constants are re-laid-out to match.

use crate::tflite::{Activation, Operator, Options};
use siamedge::onnx_writer::attr;

use super::super::context::{const_in_layout, tensor_elem, Importer, Result};
use super::super::prelu::Prelu;
use super::{activation, base_name, input, linear_base, output};

/// A binary operator with numpy broadcasting (arithmetic or comparison).
pub fn binary(imp: &mut Importer, op: &Operator, onnx_op: &str) -> Result<()> {
    let act = match op.options {
        Options::Arithmetic { activation } => activation,
        _ => Activation::None,
    };
    let (a, b) = (input(imp, op, 0)?, input(imp, op, 1)?);
    let layout = imp.common_layout(&[a, b])?;
    let a = imp.operand(a, &layout)?;
    let b = imp.operand(b, &layout)?;
    let out = output(imp, op)?;
    let base = base_name(imp, out);
    let name = imp.node(onnx_op, &[&a, &b], &linear_base(&base, act), vec![]);
    let name = activation(imp, name, act, &base)?;
    imp.set_act(out, name, layout)
}

/// A unary operator that keeps its input's layout.
pub fn unary(
    imp: &mut Importer,
    op: &Operator,
    onnx_op: &str,
    attributes: Vec<siamedge::model::onnx_proto::AttributeProto>,
) -> Result<()> {
    let x = imp.act(input(imp, op, 0)?)?;
    let out = output(imp, op)?;
    let base = base_name(imp, out);
    let name = imp.node(onnx_op, &[&x.name], &base, attributes);
    imp.set_act(out, name, x.layout)
}

/// `LEAKY_RELU` with its `alpha`.
pub fn leaky_relu(imp: &mut Importer, op: &Operator) -> Result<()> {
    let Options::LeakyRelu { alpha } = op.options else {
        return Err(imp.unsupported("missing LeakyReluOptions"));
    };
    unary(imp, op, "LeakyRelu", vec![attr::float("alpha", alpha)])
}

/// `CAST` to the output tensor's type.
pub fn cast(imp: &mut Importer, op: &Operator) -> Result<()> {
    let out = output(imp, op)?;
    let dtype = imp.model.tensors[out].dtype;
    let to = tensor_elem(dtype).ok_or_else(|| imp.unsupported(format!("cast to {dtype:?}")))?;
    unary(imp, op, "Cast", vec![attr::int("to", i64::from(to.code()))])
}

/// A recognised PReLU idiom, rooted at `op`, as `relu(x) + slope * min(x, 0)`.
///
/// Exact in f32, like the idioms it replaces. Not ONNX `PRelu`: tract 0.23
/// expands that into a compare and a select that do not fuse, which made
/// MobileFaceNet about four times slower; these four nodes fuse into two
/// elementwise chains.
pub fn prelu(imp: &mut Importer, op: &Operator, prelu: &Prelu) -> Result<()> {
    let x = imp.act(prelu.x)?;
    let slope = const_in_layout(&prelu.slope, &x.layout)
        .ok_or_else(|| imp.graph_error("PReLU slope does not fit its input's layout"))?;
    let slope = imp.emit_const(&slope)?;
    let out = output(imp, op)?;
    let base = base_name(imp, out);
    let zero = imp.graph.f32_tensor("zero", &[], &[0.0]);
    let positive = imp.node("Relu", &[&x.name], &format!("{base}/positive"), vec![]);
    let negative = imp.node(
        "Min",
        &[&x.name, &zero],
        &format!("{base}/negative"),
        vec![],
    );
    let scaled = imp.node(
        "Mul",
        &[&negative, &slope],
        &format!("{base}/scaled"),
        vec![],
    );
    let name = imp.node("Add", &[&positive, &scaled], &base, vec![]);
    imp.set_act(out, name, x.layout)
}
