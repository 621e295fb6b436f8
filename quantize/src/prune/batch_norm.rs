//! Folding batch normalisation into the convolution before it, so that
//! graphs with unfolded batch norms (the trainer's exports) have plain
//! conv -> activation -> conv chains to prune, and recording each folded
//! layer's |gamma| for pruning by batch-norm scale (network slimming).

use std::collections::{HashMap, HashSet};

use siamedge::model::onnx_proto::tensor_proto::DataType;
use siamedge::model::onnx_proto::TensorProto;

use crate::quant::graph::OnnxModel;
use crate::quant::QuantError;

/// |gamma| of the batch norm folded into each convolution, by the
/// convolution's weight name.
pub type BatchNormScales = HashMap<String, Vec<f32>>;

/// ONNX's default `epsilon` of BatchNormalization.
const DEFAULT_EPSILON: f32 = 1e-5;

/// Folds every BatchNormalization that is the only reader of a convolution's
/// output (and whose parameters are constants) into that convolution:
/// `w' = w * s`, `b' = (b - mean) * s + beta` with `s = gamma / sqrt(var + eps)`
/// per output channel; the convolution then writes the batch norm's output.
/// Returns the |gamma| of each folded layer.
pub fn fold_batch_norms(model: &mut OnnxModel) -> Result<BatchNormScales, QuantError> {
    let mut scales = BatchNormScales::new();
    let mut folded = Vec::new();
    let mut params = HashSet::new();
    for conv in model.convs() {
        let [bn] = model.consumers(&conv.output)[..] else {
            continue;
        };
        let node = model.nodes()[bn].clone();
        let weight_users = model.consumers(&conv.weight).len();
        if node.op_type != "BatchNormalization"
            || node.input.len() < 5
            || node.output.iter().skip(1).any(|o| !o.is_empty())
            || model.is_output(&conv.output)
            || weight_users != 1
        {
            continue;
        }
        let constants: Vec<_> = node.input[1..5]
            .iter()
            .map(|name| model.initializer(name).and_then(|_| model.float(name).ok()))
            .collect();
        let [Some(gamma), Some(beta), Some(mean), Some(var)] = &constants[..] else {
            continue;
        };
        let w = model.float(&conv.weight)?;
        let channels = w.dims[0];
        if [gamma, beta, mean, var]
            .iter()
            .any(|t| t.values.len() != channels)
        {
            return Err(QuantError::Onnx(format!(
                "BatchNormalization {} has parameters of a size other than the {channels} channels of {}",
                node.name, conv.output
            )));
        }
        let epsilon = node
            .attribute
            .iter()
            .find(|a| a.name == "epsilon")
            .map_or(DEFAULT_EPSILON, |a| a.f);
        let s: Vec<f32> = (0..channels)
            .map(|c| gamma.values[c] / (var.values[c] + epsilon).sqrt())
            .collect();
        let per = w.values.len() / channels;
        let weights: Vec<f32> = w
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| v * s[i / per])
            .collect();
        model.set_float(&conv.weight, &weights);
        let old_bias = match &conv.bias {
            Some(b) => model.float(b)?.values,
            None => vec![0.0; channels],
        };
        let bias: Vec<f32> = (0..channels)
            .map(|c| (old_bias[c] - mean.values[c]) * s[c] + beta.values[c])
            .collect();
        match &conv.bias {
            Some(b) => model.set_float(b, &bias),
            None => {
                let name = format!("{}/folded_bias", node.output[0]);
                model.graph_mut().initializer.push(TensorProto {
                    name: name.clone(),
                    dims: vec![channels as i64],
                    data_type: DataType::Float as i32,
                    raw_data: bias.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    ..Default::default()
                });
                let inputs = &mut model.graph_mut().node[conv.node].input;
                inputs.truncate(2);
                inputs.push(name);
            }
        }
        model.graph_mut().node[conv.node].output[0] = node.output[0].clone();
        scales.insert(
            conv.weight.clone(),
            gamma.values.iter().map(|g| g.abs()).collect(),
        );
        params.extend(node.input[1..5].iter().cloned());
        folded.push(bn);
    }
    folded.sort_unstable();
    for &bn in folded.iter().rev() {
        model.graph_mut().node.remove(bn);
    }
    let used: HashSet<String> = model
        .nodes()
        .iter()
        .flat_map(|n| n.input.iter().cloned())
        .collect();
    let dropped = |name: &String| params.contains(name) && !used.contains(name);
    let graph = model.graph_mut();
    graph.initializer.retain(|t| !dropped(&t.name));
    graph.input.retain(|i| !dropped(&i.name));
    Ok(scales)
}
