//! `FULLY_CONNECTED` as ONNX `Gemm`, keeping TFLite's NHWC flatten order by
//! permuting weight columns rather than moving activations.

use crate::tflite::{Operator, Options};
use siamedge::onnx_writer::attr;

use super::super::context::{Importer, Result};
use super::super::value::{Act, ConstData, Dim, Layout};
use super::{activation, base_name, input, linear_base, output};

/// `FULLY_CONNECTED`: `y = x W^T + b` with `W` of shape `[N, K]`.
pub fn fully_connected(imp: &mut Importer, op: &Operator) -> Result<()> {
    let Options::FullyConnected {
        activation: act,
        weights_format,
        keep_num_dims,
    } = op.options
    else {
        return Err(imp.unsupported("missing FullyConnectedOptions"));
    };
    if weights_format != 0 {
        return Err(imp.unsupported(format!("shuffled weights format {weights_format}")));
    }
    let mut weights = imp.require_const(input(imp, op, 1)?, "the weights")?;
    let [n, k] = <[usize; 2]>::try_from(weights.shape.as_slice())
        .map_err(|_| imp.graph_error(format!("weights of shape {:?}", weights.shape)))?;
    let x = imp.act(input(imp, op, 0)?)?;
    if keep_num_dims && x.shape.len() != 2 {
        return Err(imp.unsupported("keep_num_dims on an input of rank other than 2"));
    }
    let x = rows(imp, x, k)?;
    if let Layout::Flat(perm) = &x.layout {
        let index: Vec<usize> = (0..n)
            .flat_map(|row| perm.iter().map(move |&col| row * k + col))
            .collect();
        weights.data = weights.data.gather(&index);
    }
    let w = imp.emit_const(&weights)?;
    let mut inputs = vec![x.name.clone(), w];
    if let Some(Some(b)) = op.inputs.get(2) {
        let bias = imp.require_const(*b, "the bias")?;
        if !matches!(bias.data, ConstData::F32(_)) {
            return Err(imp.unsupported("non-float bias"));
        }
        inputs.push(imp.emit_const(&bias)?);
    }
    let out = output(imp, op)?;
    let base = base_name(imp, out);
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let name = imp.node(
        "Gemm",
        &refs,
        &linear_base(&base, act),
        vec![attr::int("transB", 1)],
    );
    let name = activation(imp, name, act, &base)?;
    imp.set_act(out, name, Layout::Plain)
}

/// The input as a `[rows, K]` matrix: a rank-4 input is flattened (NCHW
/// order, tagged with its permutation), a plain one reshaped.
fn rows(imp: &mut Importer, x: Act, k: usize) -> Result<Act> {
    let volume: Option<usize> = x.shape.iter().map(|d| d.known()).product();
    if volume.map(|v| v % k != 0).unwrap_or(false) {
        return Err(imp.graph_error(format!(
            "input of shape {:?} does not split into rows of {k}",
            x.shape
        )));
    }
    match (x.shape.len(), &x.layout) {
        (2, _) if x.shape[1] == Dim::Known(k) => Ok(x),
        (4, Layout::Nchw) if volume.map(|v| v / k == 1).unwrap_or(false) => {
            imp.flatten(&x, &format!("{}/flat", x.name))
        }
        (4, Layout::Nchw) => {
            Err(imp.unsupported("a rank-4 input that flattens to more than one row"))
        }
        _ => {
            let x = imp.convert(&x, &Layout::Plain)?;
            let shape = imp.emit_i64(&format!("{}/rows_shape", x.name), &[-1, k as i64]);
            let name = imp.node(
                "Reshape",
                &[&x.name, &shape],
                &format!("{}/rows", x.name),
                vec![],
            );
            let rows = volume.map(|v| Dim::Known(v / k)).unwrap_or(Dim::Sym);
            Ok(Act {
                name,
                shape: vec![rows, Dim::Known(k)],
                layout: Layout::Plain,
                elem: x.elem,
            })
        }
    }
}
