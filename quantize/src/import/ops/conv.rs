//! Convolutions and pools: NCHW in, NCHW out, weights re-laid-out for ONNX.

use crate::tflite::{Operator, Options, Window};
use siamedge::onnx_writer::attr;

use super::super::context::{to_i64, Importer, Result};
use super::super::value::{Const, Layout};
use super::{activation, auto_pad, base_name, input, linear_base, output};

/// `CONV_2D`: weights `[O, KH, KW, I]` become `[O, I, KH, KW]`.
pub fn conv(imp: &mut Importer, op: &Operator) -> Result<()> {
    let Options::Conv2D {
        window,
        activation: act,
    } = op.options
    else {
        return Err(imp.unsupported("missing Conv2DOptions"));
    };
    let weights = imp.require_const(input(imp, op, 1)?, "the filter")?;
    let [_, _, _, i] = dims4(imp, &weights)?;
    let channels = in_channels(imp, op)?;
    if i == 0 || channels % i != 0 {
        return Err(imp.graph_error(format!("input has {channels} channels, filter takes {i}")));
    }
    emit_conv(
        imp,
        op,
        weights.transpose(&[0, 3, 1, 2]),
        window,
        channels / i,
        act,
    )
}

/// `DEPTHWISE_CONV_2D`: weights `[1, KH, KW, C*M]` become `[C*M, 1, KH, KW]`, group C.
pub fn depthwise(imp: &mut Importer, op: &Operator) -> Result<()> {
    let Options::DepthwiseConv2D {
        window,
        activation: act,
        ..
    } = op.options
    else {
        return Err(imp.unsupported("missing DepthwiseConv2DOptions"));
    };
    let weights = imp.require_const(input(imp, op, 1)?, "the filter")?;
    let [one, _, _, cm] = dims4(imp, &weights)?;
    let channels = in_channels(imp, op)?;
    if one != 1 || channels == 0 || cm % channels != 0 {
        return Err(imp.graph_error(format!(
            "depthwise filter {:?} for {channels} channels",
            weights.shape
        )));
    }
    emit_conv(
        imp,
        op,
        weights.transpose(&[3, 0, 1, 2]),
        window,
        channels,
        act,
    )
}

fn emit_conv(
    imp: &mut Importer,
    op: &Operator,
    weights: Const,
    window: Window,
    group: usize,
    act: crate::tflite::Activation,
) -> Result<()> {
    let x = imp.operand(input(imp, op, 0)?, &Layout::Nchw)?;
    let w = imp.emit_const(&weights)?;
    let mut inputs = vec![x, w];
    if let Some(Some(b)) = op.inputs.get(2) {
        let bias = imp.require_const(*b, "the bias")?;
        inputs.push(imp.emit_const(&bias)?);
    }
    let out = output(imp, op)?;
    let base = base_name(imp, out);
    let attributes = vec![
        auto_pad(window.padding),
        attr::ints("dilations", &to_i64(&window.dilation)),
        attr::int("group", group as i64),
        attr::ints("kernel_shape", &to_i64(&weights.shape[2..])),
        attr::ints("strides", &to_i64(&window.stride)),
    ];
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let name = imp.node("Conv", &refs, &linear_base(&base, act), attributes);
    let name = activation(imp, name, act, &base)?;
    imp.set_act(out, name, Layout::Nchw)
}

/// `MAX_POOL_2D` / `AVERAGE_POOL_2D`; padded cells are left out of averages, as in TFLite.
pub fn pool(imp: &mut Importer, op: &Operator, onnx_op: &str) -> Result<()> {
    let Options::Pool2D {
        window,
        filter,
        activation: act,
    } = op.options
    else {
        return Err(imp.unsupported("missing Pool2DOptions"));
    };
    let x = imp.operand(input(imp, op, 0)?, &Layout::Nchw)?;
    let out = output(imp, op)?;
    let base = base_name(imp, out);
    let mut attributes = vec![
        auto_pad(window.padding),
        attr::ints("kernel_shape", &to_i64(&filter)),
        attr::ints("strides", &to_i64(&window.stride)),
    ];
    if onnx_op == "AveragePool" {
        attributes.push(attr::int("count_include_pad", 0));
    }
    let name = imp.node(onnx_op, &[&x], &linear_base(&base, act), attributes);
    let name = activation(imp, name, act, &base)?;
    imp.set_act(out, name, Layout::Nchw)
}

fn dims4(imp: &Importer, c: &Const) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(c.shape.as_slice()).map_err(|_| {
        imp.graph_error(format!(
            "filter '{}' has shape {:?}, expected rank 4",
            c.name, c.shape
        ))
    })
}

/// Channels of the operator's (NHWC) input.
fn in_channels(imp: &Importer, op: &Operator) -> Result<usize> {
    let x = input(imp, op, 0)?;
    match imp.model.tensors[x].shape.as_slice() {
        [_, _, _, c] => Ok(*c),
        other => Err(imp.unsupported(format!("input of shape {other:?}: only rank-4 NHWC inputs"))),
    }
}
