//! The encoder: MobileNetV2-style or MobileFaceNet layout of inverted
//! residuals, then a global pooling (average, or MobileFaceNet's global
//! depthwise convolution), a linear embedding and L2 normalisation.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::module::adaptive_avg_pool2d;
use serde::{Deserialize, Serialize};

use super::blocks::{ConvBn, InvertedResidual};
use crate::loss::l2_normalize;
use crate::TrainError;

/// Which stack of blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// MobileNetV2 (Sandler et al. 2018), shortened for small inputs, with global average pooling.
    MobileNetV2,
    /// MobileFaceNet (Chen et al. 2018): global depthwise convolution instead of average pooling.
    MobileFaceNet,
}

impl std::str::FromStr for Layout {
    type Err = String;

    fn from_str(s: &str) -> Result<Layout, String> {
        match s {
            "mobilenetv2" => Ok(Layout::MobileNetV2),
            "mobilefacenet" => Ok(Layout::MobileFaceNet),
            other => Err(format!(
                "architecture {other:?}: expected mobilenetv2 or mobilefacenet"
            )),
        }
    }
}

/// Everything needed to build an encoder (saved beside its weights).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    /// The block layout.
    pub layout: Layout,
    /// Width multiplier applied to every channel count.
    pub width: f32,
    /// Output embedding dimension.
    pub embedding_dim: usize,
    /// Square input side in pixels.
    pub input_size: usize,
    /// Input channels (1 for grey, 3 for colour).
    pub in_channels: usize,
    /// Stride of the first convolution (1 for inputs of about 32 pixels, 2 for larger ones).
    pub stem_stride: usize,
}

/// Expansion, output channels, repeats, first stride.
type Stage = (usize, usize, usize, usize);

const MOBILENETV2: [Stage; 5] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 2, 2),
    (6, 96, 1, 1),
];
const MOBILEFACENET: [Stage; 5] = [
    (2, 64, 5, 2),
    (4, 128, 1, 2),
    (2, 128, 6, 1),
    (4, 128, 1, 2),
    (2, 128, 2, 1),
];

impl EncoderConfig {
    fn scaled(&self, channels: usize) -> usize {
        let c = (channels as f32 * self.width / 8.0).round() as usize * 8;
        c.max(8)
    }

    fn stages(&self) -> &'static [Stage] {
        match self.layout {
            Layout::MobileNetV2 => &MOBILENETV2,
            Layout::MobileFaceNet => &MOBILEFACENET,
        }
    }

    fn stem_channels(&self) -> usize {
        self.scaled(match self.layout {
            Layout::MobileNetV2 => 32,
            Layout::MobileFaceNet => 64,
        })
    }

    fn last_channels(&self) -> usize {
        self.scaled(match self.layout {
            Layout::MobileNetV2 => 320,
            Layout::MobileFaceNet => 512,
        })
    }

    /// Spatial side of the last feature map.
    pub fn feature_size(&self) -> usize {
        let down = |s: usize, stride: usize| (s + 2 - 3) / stride + 1;
        let mut s = down(self.input_size, self.stem_stride);
        for &(_, _, _, stride) in self.stages() {
            s = down(s, stride);
        }
        s
    }

    /// Checks the numbers, then builds a freshly initialised encoder.
    pub fn init(&self, device: &Device) -> Result<Encoder, TrainError> {
        if !(self.width > 0.0 && self.width <= 4.0) || self.embedding_dim == 0 {
            return Err(TrainError::Config(format!(
                "width {} must lie in (0, 4] and the embedding dimension must be positive",
                self.width
            )));
        }
        if self.input_size < 8
            || ![1, 3].contains(&self.in_channels)
            || ![1, 2].contains(&self.stem_stride)
        {
            return Err(TrainError::Config(format!(
                "input {}x{} with {} channels and stem stride {} is not supported",
                self.input_size, self.input_size, self.in_channels, self.stem_stride
            )));
        }
        let stem_ch = self.stem_channels();
        let stem = ConvBn::new(
            self.in_channels,
            stem_ch,
            3,
            self.stem_stride,
            1,
            true,
            false,
            device,
        );
        let pre = match self.layout {
            Layout::MobileNetV2 => Vec::new(),
            Layout::MobileFaceNet => vec![ConvBn::new(
                stem_ch, stem_ch, 3, 1, stem_ch, true, false, device,
            )],
        };
        let mut blocks = Vec::new();
        let mut ch = stem_ch;
        for &(t, c, n, s) in self.stages() {
            let out = self.scaled(c);
            for i in 0..n {
                blocks.push(InvertedResidual::new(
                    ch,
                    out,
                    if i == 0 { s } else { 1 },
                    t,
                    device,
                ));
                ch = out;
            }
        }
        let last_ch = self.last_channels();
        let last = ConvBn::new(ch, last_ch, 1, 1, 1, true, false, device);
        let global = match self.layout {
            Layout::MobileNetV2 => None,
            Layout::MobileFaceNet => {
                let k = self.feature_size();
                Some(ConvBn::new(
                    last_ch, last_ch, k, 1, last_ch, false, true, device,
                ))
            }
        };
        Ok(Encoder {
            stem,
            pre,
            blocks,
            last,
            global,
            fc: LinearConfig::new(last_ch, self.embedding_dim).init(device),
        })
    }
}

/// The encoder network: image batch `[n, c, h, w]` -> unit-norm embeddings `[n, dim]`.
#[derive(Module, Debug)]
pub struct Encoder {
    /// First convolution.
    pub stem: ConvBn,
    /// MobileFaceNet's depthwise convolution after the stem (empty for MobileNetV2).
    pub pre: Vec<ConvBn>,
    /// Inverted residual blocks.
    pub blocks: Vec<InvertedResidual>,
    /// 1x1 convolution to the pooled width.
    pub last: ConvBn,
    /// MobileFaceNet's global depthwise convolution; `None` means average pooling.
    pub global: Option<ConvBn>,
    /// Linear embedding.
    pub fc: Linear,
}

impl Encoder {
    /// Unit-norm embeddings of an image batch.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = self.stem.forward(x);
        for p in &self.pre {
            h = p.forward(h);
        }
        for b in &self.blocks {
            h = b.forward(h);
        }
        h = self.last.forward(h);
        h = match &self.global {
            Some(g) => g.forward(h),
            None => adaptive_avg_pool2d(h, [1, 1]),
        };
        let [n, c, _, _] = h.dims();
        l2_normalize(self.fc.forward(h.reshape([n, c])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(layout: Layout, size: usize, stem_stride: usize) -> EncoderConfig {
        EncoderConfig {
            layout,
            width: 0.25,
            embedding_dim: 16,
            input_size: size,
            in_channels: 1,
            stem_stride,
        }
    }

    #[test]
    fn embeddings_have_unit_norm() {
        let dev = Device::flex();
        for c in [
            config(Layout::MobileNetV2, 28, 1),
            config(Layout::MobileFaceNet, 64, 1),
        ] {
            let enc = c.init(&dev).unwrap();
            let x = Tensor::<4>::random(
                [3, 1, c.input_size, c.input_size],
                burn::tensor::Distribution::Default,
                &dev,
            );
            let e = enc.forward(x);
            assert_eq!(e.dims(), [3, 16]);
            let v = e.to_data().try_to_vec::<f32>().unwrap();
            for row in v.chunks(16) {
                let n: f32 = row.iter().map(|x| x * x).sum();
                assert!((n - 1.0).abs() < 1e-4, "{c:?}: norm^2 {n}");
            }
        }
    }

    #[test]
    fn feature_size_follows_the_strides() {
        assert_eq!(config(Layout::MobileNetV2, 28, 1).feature_size(), 4);
        assert_eq!(config(Layout::MobileFaceNet, 112, 2).feature_size(), 7);
        assert!(EncoderConfig {
            width: 0.0,
            ..config(Layout::MobileNetV2, 28, 1)
        }
        .init(&Device::flex())
        .is_err());
    }
}
