//! Unstructured magnitude pruning: the smallest weights of each convolution
//! set to zero, and how sparse each layer ends up.

use serde::Serialize;

use crate::quant::graph::OnnxModel;
use crate::quant::QuantError;

/// How sparse one convolution's weights are.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LayerSparsity {
    /// Weight initializer name.
    pub layer: String,
    /// Weights that are exactly zero.
    pub zeros: usize,
    /// All weights.
    pub weights: usize,
}

impl LayerSparsity {
    /// Fraction of zero weights.
    pub fn fraction(&self) -> f64 {
        self.zeros as f64 / self.weights.max(1) as f64
    }
}

/// Zeroes the `fraction` smallest-magnitude weights of every convolution
/// (each layer on its own, ties broken by position), then reports every
/// layer's sparsity. `fraction` 0 only reports.
pub fn magnitude_prune(
    model: &mut OnnxModel,
    fraction: f64,
) -> Result<Vec<LayerSparsity>, QuantError> {
    let mut report = Vec::new();
    for conv in model.convs() {
        let mut w = model.float(&conv.weight)?;
        let cut = (fraction.clamp(0.0, 1.0) * w.values.len() as f64).round() as usize;
        if cut > 0 {
            let mut order: Vec<usize> = (0..w.values.len()).collect();
            order.sort_by(|&a, &b| w.values[a].abs().total_cmp(&w.values[b].abs()));
            for &i in &order[..cut] {
                w.values[i] = 0.0;
            }
            model.set_float(&conv.weight, &w.values);
        }
        report.push(LayerSparsity {
            layer: conv.weight.clone(),
            zeros: w.values.iter().filter(|v| **v == 0.0).count(),
            weights: w.values.len(),
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_counts_zeros() {
        let s = LayerSparsity {
            layer: "w".into(),
            zeros: 3,
            weights: 12,
        };
        assert!((s.fraction() - 0.25).abs() < 1e-12);
    }
}
