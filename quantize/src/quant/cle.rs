//! Cross-layer equalisation (Nagel et al. 2019): for two convolutions joined
//! through a positively homogeneous activation (none, ReLU, or the importer's
//! PReLU idiom `relu(x) + slope * min(x, 0)`), scale each channel so that the
//! first layer's output-channel range and the second layer's input-channel
//! range become equal. The function computed is unchanged; per-channel weight
//! ranges become even, which is what per-tensor activations and depthwise
//! layers need.

use super::graph::{ConvNode, OnnxModel};
use super::QuantError;

/// Two convolutions whose shared channels can be rescaled.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvPair {
    /// The convolution that writes the channels.
    pub first: ConvNode,
    /// The convolution that reads them.
    pub second: ConvNode,
}

/// The value the activation after `value` ends in, when that activation is
/// positively homogeneous and `value` feeds nothing else.
pub fn through_activation(model: &OnnxModel, value: &str) -> Option<String> {
    let nodes = model.nodes();
    let users = model.consumers(value);
    let op = |i: usize| nodes[i].op_type.as_str();
    match users.as_slice() {
        [u] if op(*u) == "Conv" => Some(value.to_string()),
        [u] if op(*u) == "Relu" => Some(nodes[*u].output[0].clone()),
        [a, b] => {
            let (relu, min) = match (op(*a), op(*b)) {
                ("Relu", "Min") => (*a, *b),
                ("Min", "Relu") => (*b, *a),
                _ => return None,
            };
            let zero = nodes[min].input.iter().find(|i| i.as_str() != value)?;
            let zero = model.float(zero).ok()?;
            if zero.values.iter().any(|&z| z != 0.0) {
                return None;
            }
            let [mul] = model.consumers(&nodes[min].output[0])[..] else {
                return None;
            };
            let slope = nodes[mul]
                .input
                .iter()
                .find(|i| **i != nodes[min].output[0])?;
            model.initializer(slope)?;
            let [add] = model.consumers(&nodes[mul].output[0])[..] else {
                return None;
            };
            let relu_out = &nodes[relu].output[0];
            (nodes[add].op_type == "Add"
                && nodes[add].input.contains(relu_out)
                && model.consumers(relu_out) == vec![add])
            .then(|| nodes[add].output[0].clone())
        }
        _ => None,
    }
}

/// Every pair of convolutions joined through a positively homogeneous activation.
pub fn conv_pairs(model: &OnnxModel) -> Vec<ConvPair> {
    conv_pairs_through(model, through_activation)
}

/// Every pair of convolutions joined through an activation `through`
/// recognises (it returns the value the activation ends in).
pub fn conv_pairs_through(
    model: &OnnxModel,
    through: impl Fn(&OnnxModel, &str) -> Option<String>,
) -> Vec<ConvPair> {
    let convs = model.convs();
    let mut pairs = Vec::new();
    for first in &convs {
        if model.is_output(&first.output) {
            continue;
        }
        let Some(joined) = through(model, &first.output) else {
            continue;
        };
        if model.is_output(&joined) {
            continue;
        }
        let [user] = model.consumers(&joined)[..] else {
            continue;
        };
        if let Some(second) = convs.iter().find(|c| c.node == user && c.input == joined) {
            pairs.push(ConvPair {
                first: first.clone(),
                second: second.clone(),
            });
        }
    }
    pairs
}

/// Equalises every pair, `rounds` times over; returns the number of pairs.
pub fn equalise(model: &mut OnnxModel, rounds: usize) -> Result<usize, QuantError> {
    let pairs = conv_pairs(model);
    for _ in 0..rounds {
        for pair in &pairs {
            equalise_pair(model, pair)?;
        }
    }
    Ok(pairs.len())
}

fn equalise_pair(model: &mut OnnxModel, pair: &ConvPair) -> Result<(), QuantError> {
    let mut w1 = model.float(&pair.first.weight)?;
    let mut w2 = model.float(&pair.second.weight)?;
    let channels = w1.dims[0];
    let depthwise = pair.second.group > 1;
    if (depthwise && (pair.second.group != channels || w2.dims[0] != channels))
        || (!depthwise && w2.dims[1] != channels)
    {
        return Ok(());
    }
    let per1 = w1.values.len() / channels;
    let range1: Vec<f32> = w1
        .values
        .chunks(per1)
        .map(|c| c.iter().fold(0.0f32, |m, v| m.max(v.abs())))
        .collect();
    let kernel2: usize = w2.dims[2..].iter().product();
    let mut range2 = vec![0.0f32; channels];
    for (k, v) in w2.values.iter().enumerate() {
        let c = if depthwise {
            k / (w2.dims[1] * kernel2)
        } else {
            (k / kernel2) % channels
        };
        range2[c] = range2[c].max(v.abs());
    }
    let scales: Vec<f32> = range1
        .iter()
        .zip(&range2)
        .map(|(&r1, &r2)| {
            if r1 > 0.0 && r2 > 0.0 {
                (r1 / r2).sqrt()
            } else {
                1.0
            }
        })
        .collect();
    for (c, chunk) in w1.values.chunks_mut(per1).enumerate() {
        chunk.iter_mut().for_each(|v| *v /= scales[c]);
    }
    for (k, v) in w2.values.iter_mut().enumerate() {
        let c = if depthwise {
            k / (w2.dims[1] * kernel2)
        } else {
            (k / kernel2) % channels
        };
        *v *= scales[c];
    }
    model.set_float(&pair.first.weight, &w1.values);
    model.set_float(&pair.second.weight, &w2.values);
    if let Some(bias) = &pair.first.bias {
        let mut b = model.float(bias)?;
        b.values.iter_mut().zip(&scales).for_each(|(v, s)| *v /= s);
        model.set_float(bias, &b.values);
    }
    Ok(())
}
