//! Reductions (`REDUCE_MAX`, `SUM`), with axes remapped to the input's layout.
//!
//! A maximum over one short axis (MTCNN's softmax over its two classes) is
//! emitted as an element-wise `Max` of slices instead of `ReduceMax`: the
//! same values, and tract runs `ReduceMax` over a non-innermost axis one
//! output element at a time (a fifth of P-Net's time at 640x480).

use crate::tflite::{Operator, Options};
use siamedge::onnx_writer::attr;

use super::super::context::{Importer, Result};
use super::super::value::{nchw_axis, Act, Dim, Layout};
use super::{base_name, input, output};

/// The longest axis a maximum is emitted as a `Max` of slices over.
const MAX_OF_SLICES: usize = 4;

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
    let short_axis = match axes.as_slice() {
        [a] if keep_dims && onnx_op == "ReduceMax" => match x.shape[*a] {
            Dim::Known(n) if (2..=MAX_OF_SLICES).contains(&n) => Some(n),
            _ => None,
        },
        _ => None,
    };
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
    if let (Some(n), [axis]) = (short_axis, axes.as_slice()) {
        let name = max_of_slices(imp, &x, *axis, n, &base);
        return imp.set_act(out, name, x.layout);
    }
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

/// `Max(x[.., 0:1, ..], .., x[.., n-1:n, ..])` along `axis`: ReduceMax with
/// `keepdims` over an axis of `n` elements.
fn max_of_slices(imp: &mut Importer, x: &Act, axis: i64, n: usize, base: &str) -> String {
    let axes = imp.emit_i64(&format!("{base}/axes"), &[axis]);
    let slices: Vec<String> = (0..n as i64)
        .map(|i| {
            let starts = imp.emit_i64(&format!("{base}/start{i}"), &[i]);
            let ends = imp.emit_i64(&format!("{base}/end{i}"), &[i + 1]);
            imp.node(
                "Slice",
                &[&x.name, &starts, &ends, &axes],
                &format!("{base}/slice{i}"),
                vec![],
            )
        })
        .collect();
    let inputs: Vec<&str> = slices.iter().map(String::as_str).collect();
    imp.node("Max", &inputs, base, vec![])
}
