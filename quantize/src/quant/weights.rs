//! Weights: per-output-channel symmetric int8 quantization of convolution
//! weights, and bias correction of the error it leaves (Nagel et al. 2019):
//! the expected change of each output, `sum(dW * E[x])`, is taken out of the bias.

use super::graph::FloatTensor;

/// A weight tensor quantized per output channel: `w = q * scale[out]`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantWeight {
    /// Dimensions `[out, in / group, kh, kw]`.
    pub dims: Vec<usize>,
    /// Int8 values, row-major.
    pub q: Vec<i8>,
    /// One scale per output channel.
    pub scales: Vec<f32>,
}

impl QuantWeight {
    /// The weights as floats again.
    pub fn dequantized(&self) -> Vec<f32> {
        let per = self.q.len() / self.scales.len();
        self.q
            .iter()
            .enumerate()
            .map(|(i, &v)| v as f32 * self.scales[i / per])
            .collect()
    }
}

/// Quantizes `w` per output channel (axis 0), symmetric, to -127..127.
pub fn quantize_weight(w: &FloatTensor) -> QuantWeight {
    let out = w.dims[0].max(1);
    let per = w.values.len() / out;
    let mut q = Vec::with_capacity(w.values.len());
    let mut scales = Vec::with_capacity(out);
    for chunk in w.values.chunks(per.max(1)) {
        let max = chunk.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        scales.push(scale);
        q.extend(
            chunk
                .iter()
                .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8),
        );
    }
    QuantWeight {
        dims: w.dims.clone(),
        q,
        scales,
    }
}

/// Subtracts from `bias` the mean output shift that replacing `w` by
/// `quantized` causes for inputs whose channel means are `input_mean`.
/// Padding is ignored, as in the paper.
pub fn correct_bias(
    w: &FloatTensor,
    quantized: &[f32],
    group: usize,
    input_mean: &[f64],
    bias: &mut [f32],
) {
    let (out, in_per_group) = (w.dims[0], w.dims[1]);
    let kernel: usize = w.dims[2..].iter().product();
    let out_per_group = out / group.max(1);
    for (o, b) in bias.iter_mut().enumerate().take(out) {
        let g = o / out_per_group.max(1);
        let mut shift = 0.0f64;
        for i in 0..in_per_group {
            let mean = input_mean.get(g * in_per_group + i).copied().unwrap_or(0.0);
            let at = (o * in_per_group + i) * kernel;
            let dw: f64 = (at..at + kernel)
                .map(|k| (quantized[k] - w.values[k]) as f64)
                .sum();
            shift += dw * mean;
        }
        *b -= shift as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_scales_follow_each_channels_largest_weight() {
        let w = FloatTensor {
            dims: vec![2, 1, 1, 2],
            values: vec![1.27, -0.5, 0.0, 0.0],
        };
        let q = quantize_weight(&w);
        assert_eq!(q.scales, vec![0.01, 1.0]);
        assert_eq!(q.q, vec![127, -50, 0, 0]);
        assert_eq!(q.dequantized()[1], -0.5);
    }

    #[test]
    fn bias_correction_cancels_the_mean_shift() {
        // One output, two input channels, 1x1 kernel; input means 2 and -1.
        let w = FloatTensor {
            dims: vec![1, 2, 1, 1],
            values: vec![0.5, 0.25],
        };
        let quantized = [0.51, 0.24];
        let mut bias = [1.0f32];
        correct_bias(&w, &quantized, 1, &[2.0, -1.0], &mut bias);
        // Shift = 0.01 * 2 + (-0.01) * (-1) = 0.03.
        assert!((bias[0] - 0.97).abs() < 1e-6, "{bias:?}");
    }

    #[test]
    fn depthwise_bias_correction_uses_each_channels_own_mean() {
        let w = FloatTensor {
            dims: vec![2, 1, 1, 2],
            values: vec![1.0, 1.0, 2.0, 2.0],
        };
        let quantized = [1.1, 1.0, 2.0, 1.8];
        let mut bias = [0.0f32, 0.0];
        correct_bias(&w, &quantized, 2, &[10.0, 3.0], &mut bias);
        assert!((bias[0] + 1.0).abs() < 1e-5, "{bias:?}");
        assert!((bias[1] - 0.6).abs() < 1e-5, "{bias:?}");
    }
}
