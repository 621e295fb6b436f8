//! Reductions (`REDUCE_MAX`, `SUM`), with axes remapped to the input's layout.

use crate::tflite::{Operator, Options};
use siamedge::onnx_writer::attr;

use super::super::context::{Importer, Result};
use super::super::value::{nchw_axis, Layout};
use super::{base_name, input, output};

/// A reduction over constant axes. `ReduceSum` takes its axes as an input
/// from opset 13 on, `ReduceMax` as an attribute.
pub fn reduce(imp: &mut Importer, op: &Operator, onnx_op: &str) -> Result<()> {
    let Options::Reducer { keep_dims } = op.options else {
        return Err(imp.unsupported("missing ReducerOptions"));
    };
    let axes = imp.require_const(input(imp, op, 1)?, "the axes")?;
    let axes = axes
        .ints()
        .ok_or_else(|| imp.unsupported("non-integer axes"))?;
    let x = imp.act(input(imp, op, 0)?)?;
    let rank = x.shape.len() as i64;
    let mut axes: Vec<usize> = axes
        .iter()
        .map(|&a| if a < 0 { a + rank } else { a })
        .map(|a| usize::try_from(a).ok().filter(|&a| (a as i64) < rank))
        .collect::<Option<_>>()
        .ok_or_else(|| imp.graph_error(format!("axes {axes:?} out of range for rank {rank}")))?;
    let x = match (&x.layout, keep_dims) {
        (Layout::Nchw, true) | (Layout::Plain, _) => x,
        _ => imp.convert(&x, &Layout::Plain)?,
    };
    if x.layout == Layout::Nchw {
        axes = axes.into_iter().map(nchw_axis).collect();
    }
    axes.sort_unstable();
    axes.dedup();
    let axes: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
    let out = output(imp, op)?;
    let base = base_name(imp, out);
    let keep = attr::int("keepdims", i64::from(keep_dims));
    let name = if onnx_op == "ReduceSum" {
        let axes = imp.emit_i64(&format!("{base}/axes"), &axes);
        imp.node(onnx_op, &[&x.name, &axes], &base, vec![keep])
    } else {
        imp.node(
            onnx_op,
            &[&x.name],
            &base,
            vec![attr::ints("axes", &axes), keep],
        )
    };
    imp.set_act(out, name, x.layout)
}
