//! Shape operators: `RESHAPE`, `CONCATENATION`, `STRIDED_SLICE`.

use crate::tflite::{Operator, Options};
use siamedge::onnx_writer::attr;

use super::super::context::{to_i64, Importer, Result};
use super::super::value::{nchw_axis, Dim, Layout};
use super::{activation, base_name, input, linear_base, output};

/// `RESHAPE` to the output tensor's static shape (batch 1), which must agree
/// with the declared target. Flattening an NCHW tensor to `[N, H*W*C]` moves
/// no data: the result is tagged with its column order and consumers adapt.
pub fn reshape(imp: &mut Importer, op: &Operator) -> Result<()> {
    let out = output(imp, op)?;
    let declared = declared_target(imp, op)?;
    let static_shape = &imp.model.tensors[out].shape;
    if declared.as_ref().is_some_and(|d| d != static_shape) {
        return Err(imp.graph_error(format!(
            "reshape target {declared:?} disagrees with the output shape {static_shape:?}"
        )));
    }
    let target: Option<Vec<usize>> = imp.shape(out).iter().map(|d| d.known()).collect();
    let Some(target) = target else {
        return Err(imp.unsupported("reshape to a symbolic shape"));
    };
    let x = imp.act(input(imp, op, 0)?)?;
    if x.layout == Layout::Nchw
        && target.len() == 2
        && x.shape.first() == Some(&Dim::Known(target[0]))
    {
        let flat = imp.flatten(&x, &base_name(imp, out))?;
        return imp.set_act(out, flat.name, flat.layout);
    }
    let x = imp.convert(&x, &Layout::Plain)?;
    let shape: Vec<i64> = to_i64(&target);
    let base = base_name(imp, out);
    let shape = imp.emit_i64(&format!("{base}/shape"), &shape);
    let name = imp.node("Reshape", &[&x.name, &shape], &base, vec![]);
    imp.set_act(out, name, Layout::Plain)
}

/// The target a `RESHAPE` declares (shape input, else `new_shape` option),
/// with a -1 resolved against the input's static volume; `None` when it
/// declares none.
fn declared_target(imp: &Importer, op: &Operator) -> Result<Option<Vec<usize>>> {
    let declared = match (op.inputs.get(1).copied().flatten(), &op.options) {
        (Some(t), _) => imp
            .require_const(t, "the target shape")?
            .ints()
            .ok_or_else(|| imp.unsupported("non-integer target shape"))?,
        (None, Options::Reshape { new_shape: Some(s) }) => {
            s.iter().map(|&d| i64::from(d)).collect()
        }
        _ => return Ok(None),
    };
    let volume: usize = imp.model.tensors[input(imp, op, 0)?].shape.iter().product();
    let known: i64 = declared.iter().filter(|&&d| d >= 0).product();
    declared
        .iter()
        .map(|&d| match d {
            -1 if known > 0 => Ok(volume / known as usize),
            d => usize::try_from(d)
                .map_err(|_| imp.graph_error(format!("reshape target {declared:?}"))),
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// `CONCATENATION` along one axis.
pub fn concatenation(imp: &mut Importer, op: &Operator) -> Result<()> {
    let Options::Concatenation {
        axis,
        activation: act,
    } = op.options
    else {
        return Err(imp.unsupported("missing ConcatenationOptions"));
    };
    let out = output(imp, op)?;
    let rank = imp.model.tensors[out].shape.len() as i32;
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Err(imp.graph_error(format!("axis {axis} out of range for rank {rank}")));
    }
    let inputs: Vec<usize> = op
        .inputs
        .iter()
        .copied()
        .collect::<Option<_>>()
        .ok_or_else(|| imp.graph_error("missing input"))?;
    let layout = match imp.common_layout(&inputs)? {
        Layout::Nchw => Layout::Nchw,
        _ => Layout::Plain,
    };
    let onnx_axis = match layout {
        Layout::Nchw => nchw_axis(axis as usize),
        _ => axis as usize,
    };
    let mut names = Vec::with_capacity(inputs.len());
    for &t in &inputs {
        names.push(imp.operand(t, &layout)?);
    }
    let base = base_name(imp, out);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let name = imp.node(
        "Concat",
        &refs,
        &linear_base(&base, act),
        vec![attr::int("axis", onnx_axis as i64)],
    );
    let name = activation(imp, name, act, &base)?;
    imp.set_act(out, name, layout)
}

/// `STRIDED_SLICE` with begin/end masks; a slice that keeps everything is
/// dropped, others become ONNX `Slice`.
pub fn strided_slice(imp: &mut Importer, op: &Operator) -> Result<()> {
    let Options::StridedSlice {
        begin_mask,
        end_mask,
        ellipsis_mask,
        new_axis_mask,
        shrink_axis_mask,
        offset,
    } = op.options
    else {
        return Err(imp.unsupported("missing StridedSliceOptions"));
    };
    if ellipsis_mask != 0 || new_axis_mask != 0 || shrink_axis_mask != 0 || offset {
        return Err(imp.unsupported("ellipsis, new-axis or shrink-axis masks, or offset"));
    }
    let ints = |imp: &Importer, i: usize, what: &str| -> Result<Vec<i64>> {
        let c = imp.require_const(input(imp, op, i)?, what)?;
        c.ints()
            .ok_or_else(|| imp.unsupported(format!("non-integer {what}")))
    };
    let begin = ints(imp, 1, "begin")?;
    let end = ints(imp, 2, "end")?;
    let strides = match op.inputs.get(3) {
        Some(Some(_)) => ints(imp, 3, "strides")?,
        _ => vec![1; begin.len()],
    };
    let x = imp.act(input(imp, op, 0)?)?;
    let rank = x.shape.len();
    if begin.len() != rank || end.len() != rank || strides.len() != rank || strides.contains(&0) {
        return Err(imp
            .graph_error("begin, end and strides must give one value per axis, strides non-zero"));
    }
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    let mut keeps_all = true;
    for a in 0..rank {
        let forward = strides[a] > 0;
        let start = if begin_mask >> a & 1 == 1 {
            if forward {
                0
            } else {
                i64::MAX
            }
        } else {
            begin[a]
        };
        let stop = if end_mask >> a & 1 == 1 {
            if forward {
                i64::MAX
            } else {
                i64::MIN
            }
        } else {
            end[a]
        };
        let whole = forward
            && strides[a] == 1
            && start == 0
            && match x.shape[a] {
                Dim::Known(d) => stop >= d as i64,
                Dim::Sym => stop == i64::MAX,
            };
        keeps_all &= whole;
        starts.push(start);
        ends.push(stop);
    }
    let out = output(imp, op)?;
    if keeps_all {
        imp.alias(out, x);
        return Ok(());
    }
    let x = match x.layout {
        Layout::Flat(_) => imp.convert(&x, &Layout::Plain)?,
        _ => x,
    };
    let axes: Vec<i64> = (0..rank)
        .map(|a| {
            if x.layout == Layout::Nchw {
                nchw_axis(a) as i64
            } else {
                a as i64
            }
        })
        .collect();
    let base = base_name(imp, out);
    let starts = imp.emit_i64(&format!("{base}/starts"), &starts);
    let ends = imp.emit_i64(&format!("{base}/ends"), &ends);
    let axes = imp.emit_i64(&format!("{base}/axes"), &axes);
    let steps = imp.emit_i64(&format!("{base}/steps"), &strides);
    let name = imp.node(
        "Slice",
        &[&x.name, &starts, &ends, &axes, &steps],
        &base,
        vec![],
    );
    imp.set_act(out, name, x.layout)
}
