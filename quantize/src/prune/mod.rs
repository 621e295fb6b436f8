//! Structured channel pruning of depthwise-separable and inverted-residual
//! blocks (dense conv -> activation -> depthwise conv -> activation -> dense
//! conv). A pruned channel takes with it the first convolution's filter and
//! bias, the activation slopes, the depthwise filter and bias, and the
//! matching input of the last convolution. Batch norms after convolutions
//! are folded first. Channels are ranked by the L1 norm of their
//! first-layer filter or by the |gamma| of the batch norm that followed it,
//! per block or globally. Channels of residual streams (`residual`) can be
//! pruned too, from every convolution that writes or reads the stream. Recovery refits
//! each block's last convolution by least squares so that it reproduces the
//! unpruned network's output on calibration inputs (the pruned network's own
//! inputs, so upstream error is compensated block by block). Unstructured
//! magnitude pruning (`magnitude`) can follow, with a per-layer sparsity report.

mod batch_norm;
mod magnitude;
mod residual;
mod solve;

use std::collections::HashMap;

use serde::Serialize;

use crate::quant::cle::{conv_pairs_through, through_activation};
use crate::quant::graph::{ConvNode, OnnxModel};
use crate::quant::stats::probe;
use crate::quant::QuantError;
pub use batch_norm::{fold_batch_norms, BatchNormScales};
pub use magnitude::{magnitude_prune, LayerSparsity};
pub use residual::{group_scores, residual_groups, ResidualGroup};

/// One prunable block.
#[derive(Debug, Clone)]
pub struct Block {
    /// Dense convolution that writes the channels.
    pub first: ConvNode,
    /// Depthwise convolution over them.
    pub depthwise: ConvNode,
    /// Dense convolution that reads them.
    pub last: ConvNode,
    /// Channel count.
    pub channels: usize,
}

/// The value the trainer's ReLU6 idiom `relu(x) - relu(relu(x) - 6)` after
/// `value` ends in, when `value` feeds nothing else (the clip is a scalar
/// constant, so pruning channels leaves it as it is; equalisation cannot
/// cross it, pruning can).
fn through_relu6(model: &OnnxModel, value: &str) -> Option<String> {
    let nodes = model.nodes();
    let [relu] = model.consumers(value)[..] else {
        return None;
    };
    let r = &nodes[relu].output[0];
    let (clip, out) = match model.consumers(r)[..] {
        [a, b] if nodes[a].op_type == "Sub" && nodes[b].op_type == "Sub" => {
            if nodes[a].input[0] == *r && model.initializer(&nodes[a].input[1]).is_some() {
                (a, b)
            } else {
                (b, a)
            }
        }
        _ => return None,
    };
    let six = model.float(&nodes[clip].input[1]).ok()?;
    let [inner] = model.consumers(&nodes[clip].output[0])[..] else {
        return None;
    };
    let t = &nodes[inner].output[0];
    (nodes[relu].op_type == "Relu"
        && six.values.len() == 1
        && nodes[inner].op_type == "Relu"
        && model.consumers(t) == vec![out]
        && nodes[out].input == [r.clone(), t.clone()])
    .then(|| nodes[out].output[0].clone())
}

/// Every dense -> depthwise -> dense chain whose middle channels are free
/// to prune (joined through ReLU, the PReLU idiom or the ReLU6 idiom; the
/// ReLU6 idiom is tried first, as its first ReLU alone would match ReLU).
pub fn blocks(model: &OnnxModel) -> Vec<Block> {
    let pairs = conv_pairs_through(model, |m, v| {
        through_relu6(m, v).or_else(|| through_activation(m, v))
    });
    let mut out = Vec::new();
    for a in &pairs {
        if a.first.group != 1 || a.second.group <= 1 {
            continue;
        }
        let Some(b) = pairs.iter().find(|b| b.first.node == a.second.node) else {
            continue;
        };
        if b.second.group != 1 {
            continue;
        }
        out.push(Block {
            first: a.first.clone(),
            depthwise: a.second.clone(),
            last: b.second.clone(),
            channels: a.second.group,
        });
    }
    out
}

/// How a channel's importance is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Importance {
    /// L1 norm of the channel's filter in the block's first convolution.
    L1,
    /// |gamma| of the batch norm after the block's first convolution
    /// (graphs whose batch norms are not folded, e.g. the trainer's exports).
    BnScale,
}

/// How many channels to remove and how to choose them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PruneOptions {
    /// Fraction of the prunable channels to remove.
    pub ratio: f64,
    /// What ranks the channels.
    pub importance: Importance,
    /// Fraction of each residual stream's channels to remove (0: none).
    pub residual_ratio: f64,
    /// Rank channels across all blocks (by L1 relative to their block's mean) instead of per block.
    pub global: bool,
    /// Fewest channels a block keeps.
    pub min_channels: usize,
    /// Fraction of each convolution's weights to zero by magnitude after the
    /// structured step (0: none).
    pub magnitude: f64,
}

/// A pruned model and what was removed.
#[derive(Debug, Clone)]
pub struct Pruned {
    /// The pruned ONNX bytes.
    pub bytes: Vec<u8>,
    /// What each block kept.
    pub blocks: Vec<BlockReport>,
    /// Every convolution's weight sparsity after pruning.
    pub sparsity: Vec<LayerSparsity>,
}

/// What pruning removed from one block.
#[derive(Debug, Clone, Serialize)]
pub struct BlockReport {
    /// Weight name of the block's first convolution.
    pub block: String,
    /// Channels before.
    pub channels: usize,
    /// Channels kept.
    pub kept: usize,
}

/// L1 norm of each output channel's filter of `conv`.
fn l1_per_channel(model: &OnnxModel, conv: &ConvNode) -> Result<Vec<f64>, QuantError> {
    let w = model.float(&conv.weight)?;
    let per = w.values.len() / w.dims[0];
    Ok(w.values
        .chunks(per)
        .map(|c| c.iter().map(|v| v.abs() as f64).sum())
        .collect())
}

/// Each block's channel scores under `importance`; `scales` are the |gamma|
/// recorded when batch norms were folded.
fn scores(
    model: &OnnxModel,
    blocks: &[Block],
    importance: Importance,
    scales: &BatchNormScales,
) -> Result<Vec<Vec<f64>>, QuantError> {
    blocks
        .iter()
        .map(|b| match importance {
            Importance::L1 => l1_per_channel(model, &b.first),
            Importance::BnScale => scales
                .get(&b.first.weight)
                .map(|g| g.iter().map(|&v| v as f64).collect())
                .ok_or_else(|| {
                    QuantError::Onnx(format!(
                        "--importance bn-scale: no BatchNormalization follows the convolution \
                         writing {} (this graph's batch norms are already folded into its \
                         convolutions); rank by --importance l1 instead",
                        b.first.output
                    ))
                }),
        })
        .collect()
}

/// The channels each block keeps (sorted), under `options`; `scales` are
/// the |gamma| recorded by [`fold_batch_norms`].
pub fn choose(
    model: &OnnxModel,
    blocks: &[Block],
    options: &PruneOptions,
    scales: &BatchNormScales,
) -> Result<Vec<Vec<usize>>, QuantError> {
    let scores = scores(model, blocks, options.importance, scales)?;
    if !options.global {
        return Ok(scores
            .iter()
            .map(|s| keep_highest(s, options.ratio, options.min_channels))
            .collect());
    }
    let mut all: Vec<(f64, usize, usize)> = Vec::new();
    for (b, s) in scores.iter().enumerate() {
        all.extend(
            relative_to_mean(s)
                .into_iter()
                .enumerate()
                .map(|(c, v)| (v, b, c)),
        );
    }
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let target = (options.ratio * all.len() as f64).round() as usize;
    let mut remove: Vec<Vec<bool>> = scores.iter().map(|s| vec![false; s.len()]).collect();
    let mut left: Vec<usize> = scores.iter().map(Vec::len).collect();
    let mut removed = 0;
    for &(_, b, c) in &all {
        if removed == target {
            break;
        }
        if left[b] > options.min_channels {
            remove[b][c] = true;
            left[b] -= 1;
            removed += 1;
        }
    }
    Ok(remove
        .iter()
        .map(|r| (0..r.len()).filter(|&c| !r[c]).collect())
        .collect())
}

/// Each score divided by the mean of `scores`, so that layers of different
/// scales compare.
fn relative_to_mean(scores: &[f64]) -> Vec<f64> {
    let mean = scores.iter().sum::<f64>() / scores.len().max(1) as f64;
    scores.iter().map(|v| v / mean.max(1e-12)).collect()
}

/// The channels (sorted) left after removing the `ratio` lowest-scoring
/// ones, keeping at least `min_channels`.
fn keep_highest(scores: &[f64], ratio: f64, min_channels: usize) -> Vec<usize> {
    let n = ((ratio * scores.len() as f64).round() as usize)
        .min(scores.len().saturating_sub(min_channels));
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&x, &y| scores[x].total_cmp(&scores[y]));
    let mut keep = order[n..].to_vec();
    keep.sort_unstable();
    keep
}

/// Removes every channel of a residual stream not in `keep`: the filters and
/// biases of its producers and the inputs of its consumers.
pub fn prune_group(
    model: &mut OnnxModel,
    group: &ResidualGroup,
    keep: &[usize],
) -> Result<(), QuantError> {
    for p in &group.producers {
        keep_rows(model, &p.weight, 0, keep)?;
        if let Some(b) = &p.bias {
            keep_rows(model, b, 0, keep)?;
        }
    }
    for c in &group.consumers {
        keep_rows(model, &c.weight, 1, keep)?;
    }
    Ok(())
}

fn keep_rows(
    model: &mut OnnxModel,
    name: &str,
    axis: usize,
    keep: &[usize],
) -> Result<(), QuantError> {
    let t = model.float(name)?;
    let mut dims = t.dims.clone();
    if dims.is_empty() {
        return Ok(());
    }
    let outer: usize = dims[..axis].iter().product();
    let inner: usize = dims[axis + 1..].iter().product();
    let n = dims[axis];
    let mut values = Vec::with_capacity(outer * keep.len() * inner);
    for o in 0..outer {
        for &k in keep {
            let at = (o * n + k) * inner;
            values.extend_from_slice(&t.values[at..at + inner]);
        }
    }
    dims[axis] = keep.len();
    model.set_float_tensor(name, &dims, &values);
    Ok(())
}

/// Removes every channel of `block` not in `keep`.
pub fn prune_block(model: &mut OnnxModel, block: &Block, keep: &[usize]) -> Result<(), QuantError> {
    keep_rows(model, &block.first.weight, 0, keep)?;
    for conv in [&block.first, &block.depthwise] {
        if let Some(b) = &conv.bias {
            keep_rows(model, b, 0, keep)?;
        }
        if let Some(slope) = model.prelu_slope(&conv.output) {
            let dims = model.float(&slope)?.dims;
            if dims.iter().product::<usize>() == block.channels {
                let axis = dims.iter().position(|&d| d == block.channels).unwrap_or(0);
                keep_rows(model, &slope, axis, keep)?;
            }
        }
    }
    keep_rows(model, &block.depthwise.weight, 0, keep)?;
    model.set_int_attribute(block.depthwise.node, "group", keep.len() as i64);
    keep_rows(model, &block.last.weight, 1, keep)
}

/// Refits `block.last` of `pruned` so that its output approaches that of the
/// same convolution in `reference`, over `inputs` (least squares with a small
/// ridge; at most `max_positions` spatial positions). `outputs` maps the
/// pruned convolution's output channels to the reference's when a residual
/// stream lost channels.
pub fn refit_last(
    reference: &OnnxModel,
    pruned: &mut OnnxModel,
    block: &Block,
    outputs: Option<&[usize]>,
    inputs: &[Vec<f32>],
    input_shape: &[usize],
    max_positions: usize,
) -> Result<(), QuantError> {
    let mut want = probe(
        reference,
        std::slice::from_ref(&block.last.output),
        input_shape,
    )?;
    let mut have = probe(pruned, std::slice::from_ref(&block.last.input), input_shape)?;
    let w = pruned.float(&block.last.weight)?;
    let (out, kept) = (w.dims[0], w.dims[1]);
    if w.dims[2..].iter().product::<usize>() != 1 {
        return Ok(());
    }
    let n = kept + 1;
    let mut gram = vec![0.0f64; n * n];
    let mut cross = vec![0.0f64; n * out];
    let mut x = vec![0.0f64; n];
    for input in inputs {
        let y = want.run(&[(input_shape, input)])?.values(0).to_vec();
        let xs = have.run(&[(input_shape, input)])?.values(0);
        let positions = xs.len() / kept;
        let step = (positions * inputs.len()).div_ceil(max_positions).max(1);
        for p in (0..positions).step_by(step) {
            for c in 0..kept {
                x[c] = xs[c * positions + p] as f64;
            }
            x[kept] = 1.0;
            for i in 0..n {
                let xi = x[i];
                for j in 0..n {
                    gram[i * n + j] += xi * x[j];
                }
                for o in 0..out {
                    let oc = outputs.map_or(o, |m| m[o]);
                    cross[i * out + o] += xi * y[oc * positions + p] as f64;
                }
            }
        }
    }
    let ridge = 1e-4 * (0..n).map(|i| gram[i * n + i]).sum::<f64>() / n as f64;
    for i in 0..n {
        gram[i * n + i] += ridge;
    }
    let Some(solution) = solve::cholesky_solve(&gram, n, &cross, out) else {
        return Ok(());
    };
    let mut weights = vec![0.0f32; out * kept];
    let mut bias = vec![0.0f32; out];
    for o in 0..out {
        for c in 0..kept {
            weights[o * kept + c] = solution[c * out + o] as f32;
        }
        bias[o] = solution[kept * out + o] as f32;
    }
    pruned.set_float_tensor(&block.last.weight, &w.dims, &weights);
    if let Some(b) = &block.last.bias {
        pruned.set_float(b, &bias);
    }
    Ok(())
}

/// Prunes `model` (ONNX bytes) under `options`, after folding its batch
/// norms; with calibration `inputs`, refits each block's last convolution
/// before the magnitude step.
pub fn prune(
    fp32: &[u8],
    options: &PruneOptions,
    inputs: &[Vec<f32>],
    input_shape: &[usize],
    tick: &dyn Fn(),
) -> Result<Pruned, QuantError> {
    let mut reference = OnnxModel::decode(fp32)?;
    let scales = fold_batch_norms(&mut reference)?;
    let found = blocks(&reference);
    let keep = choose(&reference, &found, options, &scales)?;
    let mut pruned = reference.clone();
    let mut report = Vec::new();
    let mut stream_outputs: HashMap<String, Vec<usize>> = HashMap::new();
    if options.residual_ratio > 0.0 {
        for group in residual_groups(&reference) {
            let scores = group_scores(&reference, &group)?;
            let keep = keep_highest(&scores, options.residual_ratio, options.min_channels);
            prune_group(&mut pruned, &group, &keep)?;
            report.push(BlockReport {
                block: format!("residual stream of {}", group.producers[0].weight),
                channels: group.channels,
                kept: keep.len(),
            });
            for p in &group.producers {
                stream_outputs.insert(p.weight.clone(), keep.clone());
            }
        }
    }
    for (block, keep) in found.iter().zip(&keep) {
        let outputs = stream_outputs.get(&block.last.weight).map(Vec::as_slice);
        if keep.len() < block.channels {
            prune_block(&mut pruned, block, keep)?;
        }
        if (keep.len() < block.channels || outputs.is_some())
            && !inputs.is_empty()
            && block.last.bias.is_some()
        {
            refit_last(
                &reference,
                &mut pruned,
                block,
                outputs,
                inputs,
                input_shape,
                16_384,
            )?;
        }
        report.push(BlockReport {
            block: block.first.weight.clone(),
            channels: block.channels,
            kept: keep.len(),
        });
        tick();
    }
    let sparsity = magnitude_prune(&mut pruned, options.magnitude)?;
    Ok(Pruned {
        bytes: pruned.encode(),
        blocks: report,
        sparsity,
    })
}
