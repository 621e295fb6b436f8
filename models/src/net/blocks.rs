//! Building blocks: convolution + batch norm (+ ReLU6), and the inverted
//! residual of MobileNetV2.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// ReLU6 written as `relu(x) - relu(x - 6)`: the ONNX exporter has no `Clip`
/// lowering for `clamp`, and this form exports as two `Relu` nodes.
pub fn relu6<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let r = relu(x);
    r.clone() - relu(r.sub_scalar(6.0))
}

/// Convolution without bias, batch norm, and optionally ReLU6.
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The convolution.
    pub conv: Conv2d,
    /// Its batch norm.
    pub bn: BatchNorm,
    /// Whether ReLU6 follows (false for linear bottlenecks).
    #[module(skip)]
    pub activate: bool,
}

impl ConvBn {
    /// A `kernel x kernel` convolution `in_ch -> out_ch` with `groups` groups,
    /// stride `stride`, padding `(kernel - 1) / 2` (or none when `valid`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_ch: usize,
        out_ch: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        activate: bool,
        valid: bool,
        device: &Device,
    ) -> ConvBn {
        let pad = if valid { 0 } else { (kernel - 1) / 2 };
        ConvBn {
            conv: Conv2dConfig::new([in_ch, out_ch], [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_groups(groups)
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(out_ch).init(device),
            activate,
        }
    }

    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.bn.forward(self.conv.forward(x));
        if self.activate {
            relu6(y)
        } else {
            y
        }
    }
}

/// MobileNetV2's inverted residual: 1x1 expansion (skipped for expansion 1),
/// 3x3 depthwise convolution, linear 1x1 projection, and a skip connection
/// when the shape is kept.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    /// 1x1 expansion, absent when the expansion factor is 1.
    pub expand: Option<ConvBn>,
    /// 3x3 depthwise convolution.
    pub depthwise: ConvBn,
    /// Linear 1x1 projection.
    pub project: ConvBn,
    /// Whether the input is added to the output.
    #[module(skip)]
    pub residual: bool,
}

impl InvertedResidual {
    /// A block `in_ch -> out_ch` with expansion factor `expansion` and stride `stride`.
    pub fn new(
        in_ch: usize,
        out_ch: usize,
        stride: usize,
        expansion: usize,
        device: &Device,
    ) -> InvertedResidual {
        let hidden = in_ch * expansion;
        InvertedResidual {
            expand: (expansion != 1)
                .then(|| ConvBn::new(in_ch, hidden, 1, 1, 1, true, false, device)),
            depthwise: ConvBn::new(hidden, hidden, 3, stride, hidden, true, false, device),
            project: ConvBn::new(hidden, out_ch, 1, 1, 1, false, false, device),
            residual: stride == 1 && in_ch == out_ch,
        }
    }

    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = match &self.expand {
            Some(e) => e.forward(x.clone()),
            None => x.clone(),
        };
        let y = self.project.forward(self.depthwise.forward(h));
        if self.residual {
            y + x
        } else {
            y
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu6_matches_clamp() {
        let dev = Device::flex();
        let x = Tensor::<1>::from_data(
            TensorData::new(vec![-3.0f32, 0.5, 5.9, 6.0, 9.0], [5]),
            &dev,
        );
        let y = relu6(x).to_data().try_to_vec::<f32>().unwrap();
        assert_eq!(y, vec![0.0, 0.5, 5.9, 6.0, 6.0]);
    }

    #[test]
    fn blocks_keep_or_reduce_the_shape() {
        let dev = Device::flex();
        let x = Tensor::<4>::zeros([2, 8, 10, 10], &dev);
        assert_eq!(
            InvertedResidual::new(8, 8, 1, 6, &dev)
                .forward(x.clone())
                .dims(),
            [2, 8, 10, 10]
        );
        assert_eq!(
            InvertedResidual::new(8, 16, 2, 1, &dev).forward(x).dims(),
            [2, 16, 5, 5]
        );
    }
}
