//! Channels tied by residual additions: every value of a residual stream
//! (the outputs of the projections added together, and the sums) carries
//! the same channels, so a channel is pruned from all of them at once: its
//! filter and bias go from every convolution that writes into the stream,
//! and its input from every convolution that reads the stream.

use std::collections::{HashMap, HashSet};

use super::{l1_per_channel, relative_to_mean};
use crate::quant::graph::{ConvNode, OnnxModel};
use crate::quant::QuantError;

/// One residual stream whose channels can be pruned together.
#[derive(Debug, Clone)]
pub struct ResidualGroup {
    /// Dense convolutions whose outputs are values of the stream.
    pub producers: Vec<ConvNode>,
    /// Dense convolutions that read a value of the stream.
    pub consumers: Vec<ConvNode>,
    /// Channel count of the stream.
    pub channels: usize,
}

/// Finds the residual streams: values joined by additions of two
/// non-constant inputs, each written by a dense convolution or by such an
/// addition. A stream qualifies only when nothing but those additions and
/// dense convolutions reads it and it is not a graph output.
pub fn residual_groups(model: &OnnxModel) -> Vec<ResidualGroup> {
    let nodes = model.nodes();
    let convs = model.convs();
    let conv_by_output: HashMap<&str, &ConvNode> =
        convs.iter().map(|c| (c.output.as_str(), c)).collect();
    let mut residual_adds: HashSet<usize> = HashSet::new();
    let mut stream_of: HashMap<String, usize> = HashMap::new();
    let mut streams: Vec<Vec<String>> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if n.op_type != "Add" || n.input.len() != 2 {
            continue;
        }
        let written_by_stream_op = |v: &str| {
            conv_by_output.contains_key(v)
                || model
                    .producer(v)
                    .is_some_and(|p| residual_adds.contains(&p))
        };
        if !n.input.iter().all(|v| written_by_stream_op(v)) {
            continue;
        }
        residual_adds.insert(i);
        let mut members: Vec<String> = n.input.clone();
        members.push(n.output[0].clone());
        let joined: Vec<usize> = members
            .iter()
            .filter_map(|v| stream_of.get(v).copied())
            .collect();
        let target = joined.first().copied().unwrap_or_else(|| {
            streams.push(Vec::new());
            streams.len() - 1
        });
        for &other in joined.iter().skip(1) {
            if other != target {
                let moved = std::mem::take(&mut streams[other]);
                for v in &moved {
                    stream_of.insert(v.clone(), target);
                }
                streams[target].extend(moved);
            }
        }
        for v in members {
            if stream_of.insert(v.clone(), target).is_none() {
                streams[target].push(v);
            }
        }
    }
    streams
        .into_iter()
        .filter(|values| !values.is_empty())
        .filter_map(|values| group_of(model, &convs, &values, &residual_adds))
        .collect()
}

/// The producers and consumers of one stream, if it qualifies.
fn group_of(
    model: &OnnxModel,
    convs: &[ConvNode],
    values: &[String],
    residual_adds: &HashSet<usize>,
) -> Option<ResidualGroup> {
    let mut producers = Vec::new();
    let mut consumers = Vec::new();
    for v in values {
        if model.is_output(v) {
            return None;
        }
        if let Some(c) = convs.iter().find(|c| &c.output == v) {
            producers.push(c.clone());
        }
        for user in model.consumers(v) {
            if residual_adds.contains(&user) {
                continue;
            }
            let c = convs.iter().find(|c| c.node == user && &c.input == v)?;
            consumers.push(c.clone());
        }
    }
    if producers.iter().chain(&consumers).any(|c| c.group != 1) {
        return None;
    }
    let channels = model.float(&producers.first()?.weight).ok()?.dims[0];
    let same = producers
        .iter()
        .all(|p| model.float(&p.weight).is_ok_and(|w| w.dims[0] == channels));
    same.then_some(ResidualGroup {
        producers,
        consumers,
        channels,
    })
}

/// Channel scores of a stream: the sum over its producers of each channel's
/// filter L1 norm relative to that producer's mean, so every producer
/// counts alike.
pub fn group_scores(model: &OnnxModel, group: &ResidualGroup) -> Result<Vec<f64>, QuantError> {
    let mut scores = vec![0.0; group.channels];
    for p in &group.producers {
        for (s, v) in scores
            .iter_mut()
            .zip(relative_to_mean(&l1_per_channel(model, p)?))
        {
            *s += v;
        }
    }
    Ok(scores)
}
