//! One reference case on disk, and the input shapes an ONNX file declares.

use std::path::Path;

use prost::Message;
use siamedge::model::onnx_proto::tensor_shape_proto::dimension::Value as DimValue;
use siamedge::model::onnx_proto::type_proto::Value as TypeValue;
use siamedge::model::onnx_proto::ModelProto;
use siamedge::model::Dim;

use crate::npy;

/// A shape and its row-major values.
pub type Array = (Vec<usize>, Vec<f32>);

/// A reference case: inputs and expected outputs as (shape, values), rank-4
/// arrays already converted from the reference's NHWC to the model's NCHW.
#[derive(Debug, Clone)]
pub struct Case {
    /// Model inputs, in order.
    pub inputs: Vec<Array>,
    /// Expected outputs, in order.
    pub outputs: Vec<Array>,
}

impl Case {
    /// Reads `input0.npy`, `input1.npy`, ... and `output0.npy`, ... from `dir`.
    pub fn load(dir: &Path) -> Result<Case, String> {
        let series = |prefix: &str| -> Result<Vec<Array>, String> {
            let mut out = Vec::new();
            loop {
                let path = dir.join(format!("{prefix}{}.npy", out.len()));
                if !path.exists() {
                    break;
                }
                let a = npy::read(&path).map_err(|e| e.to_string())?;
                out.push(to_nchw(a.shape, a.data));
            }
            if out.is_empty() {
                return Err(format!("{}: no {prefix}0.npy", dir.display()));
            }
            Ok(out)
        };
        Ok(Case {
            inputs: series("input")?,
            outputs: series("output")?,
        })
    }
}

/// Converts a rank-4 NHWC array to NCHW; other ranks are returned as they are.
pub fn to_nchw(shape: Vec<usize>, data: Vec<f32>) -> Array {
    let [n, h, w, c] = match <[usize; 4]>::try_from(shape.as_slice()) {
        Ok(dims) => dims,
        Err(_) => return (shape, data),
    };
    let mut out = vec![0.0; data.len()];
    for b in 0..n {
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    out[((b * c + ch) * h + y) * w + x] = data[((b * h + y) * w + x) * c + ch];
                }
            }
        }
    }
    (vec![n, c, h, w], out)
}

/// The input shapes an ONNX file declares, with `dim_param` dims as symbols,
/// ready for [`siamedge::model::Network::load`].
pub fn onnx_input_dims(path: &Path) -> Result<Vec<Vec<Dim>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let model = ModelProto::decode(bytes.as_slice())
        .map_err(|e| format!("{}: not ONNX: {e}", path.display()))?;
    let graph = model.graph.unwrap_or_default();
    let initializers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let mut inputs = Vec::new();
    for input in graph
        .input
        .iter()
        .filter(|i| !initializers.contains(&i.name.as_str()))
    {
        let shape = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(TypeValue::TensorType(t)) => t.shape.clone().unwrap_or_default(),
            None => {
                return Err(format!(
                    "{}: input '{}' has no tensor type",
                    path.display(),
                    input.name
                ))
            }
        };
        let dims = shape
            .dim
            .iter()
            .map(|d| match &d.value {
                Some(DimValue::DimValue(v)) => usize::try_from(*v)
                    .map(Dim::Fixed)
                    .map_err(|e| e.to_string()),
                Some(DimValue::DimParam(p)) => Ok(Dim::Symbol(p.clone())),
                None => Err(format!(
                    "input '{}' has a dimension with no size or name",
                    input.name
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        inputs.push(dims);
    }
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhwc_to_nchw() {
        let (shape, data) = to_nchw(vec![1, 1, 2, 3], vec![0., 1., 2., 3., 4., 5.]);
        assert_eq!(shape, vec![1, 3, 1, 2]);
        assert_eq!(data, vec![0., 3., 1., 4., 2., 5.]);
        assert_eq!(to_nchw(vec![2, 3], vec![0.; 6]).0, vec![2, 3]);
    }
}
