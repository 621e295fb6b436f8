//! Activation statistics over calibration inputs, gathered by running the
//! model in the siamedge runtime with the tensors of interest added as graph
//! outputs: range, per-channel mean and a histogram for each tensor.

use std::path::Path;

use siamedge::model::onnx_proto::ValueInfoProto;
use siamedge::model::{Dim, Network};

use super::graph::OnnxModel;
use super::QuantError;

/// Bins of each activation histogram.
pub const HISTOGRAM_BINS: usize = 2048;

/// A histogram of values over `[lo, hi]` in equal bins.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Lower edge of the first bin.
    pub lo: f32,
    /// Upper edge of the last bin.
    pub hi: f32,
    /// Count per bin.
    pub counts: Vec<u64>,
}

impl Histogram {
    /// An empty histogram over `[lo, hi]`.
    pub fn new(lo: f32, hi: f32, bins: usize) -> Histogram {
        Histogram {
            lo,
            hi: if hi > lo { hi } else { lo + 1e-6 },
            counts: vec![0; bins],
        }
    }

    /// Width of one bin.
    pub fn bin_width(&self) -> f32 {
        (self.hi - self.lo) / self.counts.len() as f32
    }

    /// Centre of bin `i`.
    pub fn centre(&self, i: usize) -> f32 {
        self.lo + (i as f32 + 0.5) * self.bin_width()
    }

    /// Adds `values`.
    pub fn add(&mut self, values: &[f32]) {
        let last = self.counts.len() - 1;
        let per = 1.0 / self.bin_width();
        for &v in values {
            let b = ((v - self.lo) * per).max(0.0) as usize;
            self.counts[b.min(last)] += 1;
        }
    }

    /// Total count.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// What calibration saw of one tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorStats {
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
    /// Mean of each channel (axis 1), over images and positions.
    pub channel_mean: Vec<f64>,
    /// Histogram over `[min, max]`.
    pub histogram: Histogram,
}

/// A model with `tensors` as its outputs, loaded in the runtime.
pub fn probe(
    model: &OnnxModel,
    tensors: &[String],
    input_shape: &[usize],
) -> Result<Network, QuantError> {
    let mut probe = model.clone();
    let g = probe.graph_mut();
    g.output = tensors
        .iter()
        .map(|t| ValueInfoProto {
            name: t.clone(),
            ..Default::default()
        })
        .collect();
    let dims: Vec<Dim> = input_shape.iter().map(|&d| Dim::Fixed(d)).collect();
    Ok(Network::from_bytes(
        Path::new("calibration-probe.onnx"),
        &probe.encode(),
        &[dims],
    )?)
}

/// Runs every input through `model` and returns the statistics of each of
/// `tensors` (two passes: ranges and means, then histograms).
pub fn collect(
    model: &OnnxModel,
    tensors: &[String],
    inputs: &[Vec<f32>],
    input_shape: &[usize],
    tick: &dyn Fn(),
) -> Result<Vec<TensorStats>, QuantError> {
    if inputs.is_empty() {
        return Err(QuantError::Data("no calibration inputs".into()));
    }
    let mut net = probe(model, tensors, input_shape)?;
    let mut stats: Vec<TensorStats> = Vec::with_capacity(tensors.len());
    let mut counts = vec![0u64; tensors.len()];
    for input in inputs {
        let out = net.run(&[(input_shape, input)])?;
        for t in 0..tensors.len() {
            let (shape, values) = (out.shape(t), out.values(t));
            let channels = shape.get(1).copied().unwrap_or(1).max(1);
            let plane = values.len() / (shape.first().copied().unwrap_or(1).max(1) * channels);
            if stats.len() <= t {
                stats.push(TensorStats {
                    min: f32::INFINITY,
                    max: f32::NEG_INFINITY,
                    channel_mean: vec![0.0; channels],
                    histogram: Histogram::new(0.0, 0.0, 1),
                });
            }
            let s = &mut stats[t];
            for (i, chunk) in values.chunks(plane.max(1)).enumerate() {
                let sum: f64 = chunk.iter().map(|&v| v as f64).sum();
                s.channel_mean[i % channels] += sum;
            }
            counts[t] += (values.len() / channels) as u64;
            for &v in values {
                s.min = s.min.min(v);
                s.max = s.max.max(v);
            }
        }
        tick();
    }
    for (s, &n) in stats.iter_mut().zip(&counts) {
        s.channel_mean
            .iter_mut()
            .for_each(|m| *m /= n.max(1) as f64);
        s.histogram = Histogram::new(s.min, s.max, HISTOGRAM_BINS);
    }
    for input in inputs {
        let out = net.run(&[(input_shape, input)])?;
        for (t, s) in stats.iter_mut().enumerate() {
            s.histogram.add(out.values(t));
        }
        tick();
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_puts_edges_in_the_end_bins() {
        let mut h = Histogram::new(-1.0, 1.0, 4);
        h.add(&[-1.0, -0.6, 0.0, 0.49, 0.5, 1.0, 7.0]);
        assert_eq!(h.counts, vec![2, 0, 2, 3]);
        assert_eq!(h.total(), 7);
        assert!((h.centre(0) + 0.75).abs() < 1e-6);
    }
}
