//! Additive-margin softmax heads: CosFace (Wang et al. 2018), `s (cos θ - m)`
//! for the true class, and ArcFace (Deng et al. 2019), `s cos(θ + m)`. Both
//! compare the normalised embedding with a learned, normalised centre per
//! training class; only the encoder is kept after training.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;

use super::{cross_entropy, l2_normalize, one_hot};

/// Which margin and how large.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarginKind {
    /// `s (cos θ - m)` for the true class.
    CosFace {
        /// Logit scale `s`.
        scale: f32,
        /// Cosine margin `m`.
        margin: f32,
    },
    /// `s cos(θ + m)` for the true class.
    ArcFace {
        /// Logit scale `s`.
        scale: f32,
        /// Angular margin `m` in radians.
        margin: f32,
    },
}

/// Learned class centres `[classes, dim]`.
#[derive(Module, Debug)]
pub struct MarginHead {
    /// One centre per training class (normalised when used).
    pub centres: Param<Tensor<2>>,
}

impl MarginHead {
    /// Random centres for `classes` classes of `dim`-dimensional embeddings.
    pub fn new(classes: usize, dim: usize, device: &Device) -> MarginHead {
        MarginHead {
            centres: Param::from_tensor(Tensor::random(
                [classes, dim],
                Distribution::Normal(0.0, 1.0),
                device,
            )),
        }
    }

    /// Mean cross-entropy of the margin logits; `labels[i]` indexes the centres.
    pub fn loss(&self, emb: &Tensor<2>, labels: &[usize], kind: MarginKind) -> Tensor<1> {
        let classes = self.centres.val().dims()[0];
        let cos = l2_normalize(emb.clone()).matmul(l2_normalize(self.centres.val()).transpose());
        let hot = one_hot(labels, classes, emb);
        let logits = match kind {
            MarginKind::CosFace { scale, margin } => {
                (cos - hot.clone().mul_scalar(margin)).mul_scalar(scale)
            }
            MarginKind::ArcFace { scale, margin } => {
                let sin = cos
                    .clone()
                    .powi_scalar(2)
                    .neg()
                    .add_scalar(1.0)
                    .clamp(1e-7, 1.0)
                    .sqrt();
                let shifted = cos.clone().mul_scalar(margin.cos()) - sin.mul_scalar(margin.sin());
                (cos.clone() + hot.clone() * (shifted - cos)).mul_scalar(scale)
            }
        };
        cross_entropy(logits, hot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_util::*;

    fn head() -> MarginHead {
        // Centres e1 and e2: the cosines are the embedding's coordinates.
        MarginHead {
            centres: Param::from_tensor(matrix(&[1.0, 0.0, 0.0, 1.0], 2)),
        }
    }

    #[test]
    fn cosface_hand_computed() {
        let e = matrix(&[1.0, 0.0], 2);
        // logits s*(1 - 0.5), s*0 with s = 2: CE = ln(1 + e^-1).
        let l = head().loss(
            &e,
            &[0],
            MarginKind::CosFace {
                scale: 2.0,
                margin: 0.5,
            },
        );
        close(scalar(l), (1.0 + (-1f32).exp()).ln());
    }

    #[test]
    fn arcface_hand_computed() {
        // Embedding at 60 degrees from centre 0 (cos 0.5), 30 from centre 1.
        let e = matrix(&[0.5, 3f32.sqrt() / 2.0], 2);
        let m = 0.2f32;
        let target = (60f32.to_radians() + m).cos();
        let other = 3f32.sqrt() / 2.0;
        let want = -(target - (target.exp() + other.exp()).ln());
        let l = head().loss(
            &e,
            &[0],
            MarginKind::ArcFace {
                scale: 1.0,
                margin: m,
            },
        );
        close(scalar(l), want);
    }
}
