//! Static post-training int8 quantization of an fp32 ONNX encoder:
//! cross-layer equalisation, activation calibration through the runtime,
//! per-channel int8 weights with bias correction, per-layer sensitivity and
//! mixed precision, written as QDQ ONNX.

pub mod cle;
mod error;
pub mod faces;
pub mod graph;
pub mod images;
pub mod qdq;
pub mod range;
pub mod stats;
pub mod weights;

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;
use siamedge::distance::l2_normalize;
use siamedge::model::{Dim, Network};

pub use error::QuantError;
use graph::{ConvNode, OnnxModel};
use range::{choose_range, ActQuant, Method};
use stats::TensorStats;

/// How to quantize.
#[derive(Debug, Clone)]
pub struct QuantizeOptions {
    /// Calibration method for activation ranges.
    pub method: Method,
    /// Apply cross-layer equalisation first.
    pub equalise: bool,
    /// Correct biases for the mean error of the int8 weights.
    pub bias_correction: bool,
    /// Keep this many of the most sensitive convolutions in float.
    pub keep_float: usize,
    /// Calibration inputs used to measure each layer's sensitivity.
    pub sensitivity_inputs: usize,
}

/// One convolution's quantization sensitivity.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSensitivity {
    /// Weight name of the convolution.
    pub layer: String,
    /// Mean embedding cosine to the float model with only this layer (weights and input) in int8.
    pub cosine: f64,
    /// Kept in float in the output.
    pub kept_float: bool,
}

/// What quantization did.
#[derive(Debug, Clone, Serialize)]
pub struct QuantizeSummary {
    /// Calibration method.
    pub method: String,
    /// Convolution pairs equalised (0 when equalisation is off).
    pub equalised_pairs: usize,
    /// Convolutions with int8 weights.
    pub int8_convs: usize,
    /// Convolutions kept in float.
    pub float_convs: usize,
    /// Activations with a quantize/dequantize pair.
    pub int8_activations: usize,
    /// Calibration inputs.
    pub calibration_inputs: usize,
    /// Per-layer sensitivity, most sensitive first (empty unless measured).
    pub sensitivity: Vec<LayerSensitivity>,
}

/// Mean and smallest cosine between two sets of embeddings.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CosineStats {
    /// Mean cosine.
    pub mean: f64,
    /// Smallest cosine.
    pub min: f64,
    /// Number of inputs compared.
    pub count: usize,
}

/// The values quantized as activations: the graph input, every
/// convolution's input, the input of each squeeze-excitation block (a
/// global average pool whose input the gates then scale: the integer engine
/// runs such a block), and both operands and the result of each residual
/// addition (an `Add` of two computed values that is not part of a PReLU).
fn activation_points(model: &OnnxModel) -> Vec<String> {
    let nodes = model.nodes();
    let mut points: Vec<String> = model.input_name().map(str::to_string).into_iter().collect();
    let push = |v: &str, points: &mut Vec<String>| {
        if !points.iter().any(|p| p == v) && !model.is_output(v) {
            points.push(v.to_string());
        }
    };
    for c in model.convs() {
        push(&c.input, &mut points);
    }
    for n in nodes.iter().filter(|n| n.op_type == "GlobalAveragePool") {
        let gated = nodes
            .iter()
            .any(|m| m.op_type == "Mul" && m.input.contains(&n.input[0]));
        if gated {
            push(&n.input[0], &mut points);
        }
    }
    for n in nodes
        .iter()
        .filter(|n| n.op_type == "Add" && n.input.len() == 2)
    {
        let computed = n.input.iter().all(|i| model.initializer(i).is_none());
        let prelu = n.input.iter().any(|i| {
            model
                .producer(i)
                .is_some_and(|p| matches!(nodes[p].op_type.as_str(), "Relu" | "Mul"))
        });
        if computed && !prelu {
            for v in n.input.iter().chain(&n.output) {
                push(v, &mut points);
            }
        }
    }
    points
}

/// A copy of `model` with the weights of `convs` and the activations `acts` in int8.
fn build(
    model: &OnnxModel,
    stats: &HashMap<String, TensorStats>,
    convs: &[&ConvNode],
    acts: &[(String, ActQuant)],
    bias_correction: bool,
) -> Result<OnnxModel, QuantError> {
    let mut out = model.clone();
    for c in convs {
        let w = model.float(&c.weight)?;
        let q = weights::quantize_weight(&w);
        if let (true, Some(bias), Some(s)) = (bias_correction, &c.bias, stats.get(&c.input)) {
            let mut b = model.float(bias)?;
            weights::correct_bias(
                &w,
                &q.dequantized(),
                c.group,
                &s.channel_mean,
                &mut b.values,
            );
            out.set_float(bias, &b.values);
        }
        qdq::quantize_weight_in_place(&mut out, &c.weight, &q);
    }
    qdq::quantize_activations(&mut out, acts);
    Ok(out)
}

/// L2-normalised first outputs of the model in `bytes` for each input.
pub fn embed_all(
    bytes: &[u8],
    inputs: &[Vec<f32>],
    input_shape: &[usize],
) -> Result<Vec<Vec<f32>>, QuantError> {
    let dims: Vec<Dim> = input_shape.iter().map(|&d| Dim::Fixed(d)).collect();
    let mut net = Network::from_bytes(Path::new("candidate.onnx"), bytes, &[dims])?;
    inputs
        .iter()
        .map(|x| {
            let out = net.run(&[(input_shape, x)])?;
            let mut e = out.values(0).to_vec();
            l2_normalize(&mut e);
            Ok(e)
        })
        .collect()
}

/// Cosines between matching embeddings of `a` and `b` (both L2-normalised).
pub fn cosine_stats(a: &[Vec<f32>], b: &[Vec<f32>]) -> CosineStats {
    let cos: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p * q) as f64).sum())
        .collect();
    CosineStats {
        mean: cos.iter().sum::<f64>() / cos.len().max(1) as f64,
        min: cos.iter().copied().fold(f64::INFINITY, f64::min),
        count: cos.len(),
    }
}

/// Quantizes the fp32 model in `fp32` with `calibration` inputs (already
/// preprocessed, each of `input_shape`); returns the QDQ ONNX bytes.
pub fn quantize(
    fp32: &[u8],
    calibration: &[Vec<f32>],
    input_shape: &[usize],
    options: &QuantizeOptions,
    tick: &dyn Fn(),
) -> Result<(Vec<u8>, QuantizeSummary), QuantError> {
    let mut model = OnnxModel::decode(fp32)?;
    let equalised_pairs = if options.equalise {
        cle::equalise(&mut model, 4)?
    } else {
        0
    };
    let points = activation_points(&model);
    let collected = stats::collect(&model, &points, calibration, input_shape, tick)?;
    let stats: HashMap<String, TensorStats> = points.iter().cloned().zip(collected).collect();
    let ranges: HashMap<String, ActQuant> = points
        .iter()
        .map(|p| {
            let (lo, hi) = choose_range(&stats[p].histogram, options.method);
            (p.clone(), ActQuant::for_range(lo, hi))
        })
        .collect();
    let convs = model.convs();
    let mut sensitivity = Vec::new();
    if options.keep_float > 0 {
        let probe = &calibration[..options.sensitivity_inputs.clamp(1, calibration.len())];
        let reference = embed_all(&model.encode(), probe, input_shape)?;
        for c in &convs {
            let act = vec![(c.input.clone(), ranges[&c.input])];
            let single = build(&model, &stats, &[c], &act, options.bias_correction)?;
            let emb = embed_all(&single.encode(), probe, input_shape)?;
            sensitivity.push(LayerSensitivity {
                layer: c.weight.clone(),
                cosine: cosine_stats(&reference, &emb).mean,
                kept_float: false,
            });
            tick();
        }
        sensitivity.sort_by(|a, b| a.cosine.total_cmp(&b.cosine));
        for s in sensitivity.iter_mut().take(options.keep_float) {
            s.kept_float = true;
        }
    }
    let kept: Vec<&str> = sensitivity
        .iter()
        .filter(|s| s.kept_float)
        .map(|s| s.layer.as_str())
        .collect();
    let int8_convs: Vec<&ConvNode> = convs
        .iter()
        .filter(|c| !kept.contains(&c.weight.as_str()))
        .collect();
    let nodes = model.nodes();
    let acts: Vec<(String, ActQuant)> = points
        .iter()
        .filter(|p| {
            let users = model.consumers(p);
            users.is_empty()
                || users.iter().any(|&u| {
                    nodes[u].op_type != "Conv" || !kept.contains(&nodes[u].input[1].as_str())
                })
        })
        .map(|p| (p.clone(), ranges[p]))
        .collect();
    let out = build(&model, &stats, &int8_convs, &acts, options.bias_correction)?;
    let summary = QuantizeSummary {
        method: options.method.to_string(),
        equalised_pairs,
        int8_convs: int8_convs.len(),
        float_convs: convs.len() - int8_convs.len(),
        int8_activations: acts.len(),
        calibration_inputs: calibration.len(),
        sensitivity,
    };
    Ok((out.encode(), summary))
}
