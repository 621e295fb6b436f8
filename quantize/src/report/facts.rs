//! Static and shape facts of a model: parameters, convolution MACs, size on
//! disk and weight sparsity.

use serde::Serialize;
use siamedge::model::int8_values;
use siamedge::model::onnx_proto::tensor_proto::DataType;

use crate::quant::graph::OnnxModel;
use crate::quant::stats::probe;
use crate::quant::QuantError;

/// What a model costs.
#[derive(Debug, Clone, Serialize)]
pub struct ModelFacts {
    /// Bytes on disk.
    pub bytes: usize,
    /// Weight parameters: float and int8 initializers with more than one
    /// element, not counting quantization scales and zero points.
    pub params: usize,
    /// Multiply-accumulates of the convolutions for one input.
    pub conv_macs: u64,
    /// Fraction of convolution weights that are exactly zero.
    pub sparsity: f64,
    /// Convolutions whose weights are int8.
    pub int8_convs: usize,
    /// Convolutions in all.
    pub convs: usize,
}

fn elements(t: &siamedge::model::onnx_proto::TensorProto) -> usize {
    t.dims.iter().map(|&d| d.max(0) as usize).product()
}

/// The weight of each convolution as floats, whether stored in float or as
/// int8 behind a `DequantizeLinear`; and whether it was int8.
fn conv_weights(model: &OnnxModel) -> Vec<(String, Vec<usize>, Vec<f32>, bool)> {
    let mut out = Vec::new();
    for n in model.nodes().iter().filter(|n| n.op_type == "Conv") {
        let name = &n.input[1];
        if let Ok(w) = model.float(name) {
            out.push((n.output[0].clone(), w.dims, w.values, false));
            continue;
        }
        let Some(dq) = model.producer(name).map(|i| &model.nodes()[i]) else {
            continue;
        };
        let Some(q) = model.initializer(&dq.input[0]) else {
            continue;
        };
        let Some(codes) = int8_values(q) else {
            continue;
        };
        let dims: Vec<usize> = q.dims.iter().map(|&d| d as usize).collect();
        let values = codes.iter().map(|&v| v as f32).collect();
        out.push((n.output[0].clone(), dims, values, true));
    }
    out
}

/// Facts of the model in `bytes`, whose input has `input_shape`.
pub fn model_facts(bytes: &[u8], input_shape: &[usize]) -> Result<ModelFacts, QuantError> {
    let model = OnnxModel::decode(bytes)?;
    let qparams: Vec<&str> = model
        .nodes()
        .iter()
        .filter(|n| matches!(n.op_type.as_str(), "QuantizeLinear" | "DequantizeLinear"))
        .flat_map(|n| n.input.iter().skip(1).map(String::as_str))
        .collect();
    let params = model
        .graph()
        .initializer
        .iter()
        .filter(|t| {
            (t.data_type == DataType::Float as i32 || t.data_type == DataType::Int8 as i32)
                && !qparams.contains(&t.name.as_str())
        })
        .map(elements)
        .filter(|&n| n > 1)
        .sum();
    let weights = conv_weights(&model);
    let outputs: Vec<String> = weights.iter().map(|w| w.0.clone()).collect();
    let mut net = probe(&model, &outputs, input_shape)?;
    let zeros = vec![0.0f32; input_shape.iter().product()];
    let out = net.run(&[(input_shape, &zeros)])?;
    let mut conv_macs = 0u64;
    let (mut zero, mut total) = (0usize, 0usize);
    for (i, (_, dims, values, _)) in weights.iter().enumerate() {
        let per_output: usize = dims[1..].iter().product();
        conv_macs += (out.values(i).len() * per_output) as u64;
        zero += values.iter().filter(|&&v| v == 0.0).count();
        total += values.len();
    }
    Ok(ModelFacts {
        bytes: bytes.len(),
        params,
        conv_macs,
        sparsity: zero as f64 / total.max(1) as f64,
        int8_convs: weights.iter().filter(|w| w.3).count(),
        convs: weights.len(),
    })
}
