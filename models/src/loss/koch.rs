//! Koch-style verification head (Koch, Zemel and Salakhutdinov 2015): the
//! component-wise distance `|a - b|` goes through a learned linear layer and a
//! sigmoid that gives the probability that both inputs are of one class,
//! trained with binary cross-entropy.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::{floats, indices};
use crate::mine::Pair;

/// The learned distance head: `sigmoid(w . |a - b| + c)`.
#[derive(Module, Debug)]
pub struct KochHead {
    /// The weighting of the component-wise distance.
    pub fc: Linear,
}

impl KochHead {
    /// A head for embeddings of dimension `dim`.
    pub fn new(dim: usize, device: &Device) -> KochHead {
        KochHead {
            fc: LinearConfig::new(dim, 1).init(device),
        }
    }

    /// The logit (before the sigmoid) that `left[i]` and `right[j]` are of one class, per pair.
    pub fn logits(&self, left: &Tensor<2>, right: &Tensor<2>, pairs: &[Pair]) -> Tensor<1> {
        let a: Vec<usize> = pairs.iter().map(|p| p.a).collect();
        let b: Vec<usize> = pairs.iter().map(|p| p.b).collect();
        let x = left.clone().select(0, indices(&a, left));
        let y = right.clone().select(0, indices(&b, right));
        self.fc.forward((x - y).abs()).squeeze_dim::<1>(1)
    }

    /// Binary cross-entropy of the head's verdicts against the pairs' labels.
    pub fn loss(&self, left: &Tensor<2>, right: &Tensor<2>, pairs: &[Pair]) -> Tensor<1> {
        let target = floats(
            pairs.iter().map(|p| f32::from(u8::from(p.same))).collect(),
            left,
        );
        bce_with_logits(self.logits(left, right, pairs), target)
    }
}

/// Mean binary cross-entropy of `sigmoid(logits)` against `target` (0 or 1),
/// in the stable form `max(z, 0) - z t + log(1 + exp(-|z|))`.
pub fn bce_with_logits(logits: Tensor<1>, target: Tensor<1>) -> Tensor<1> {
    let z = logits;
    let soft = z.clone().abs().neg().exp().log1p();
    (z.clone().clamp_min(0.0) - z * target + soft).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_util::*;

    #[test]
    fn bce_hand_computed() {
        let dev = Device::flex();
        let z = Tensor::<1>::from_data(TensorData::new(vec![0.0f32, 2.0, -1.0], [3]), &dev);
        let t = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0], [3]), &dev);
        // -ln(0.5), -ln(1 - sigmoid(2)) = ln(1 + e^2), -ln(1 - sigmoid(-1)) = ln(1 + e^-1).
        let want = (2f32.ln() + (1.0 + 2f32.exp()).ln() + (1.0 + (-1f32).exp()).ln()) / 3.0;
        close(scalar(bce_with_logits(z, t)), want);
    }

    #[test]
    fn head_weights_the_absolute_difference() {
        let dev = Device::flex();
        let mut head = KochHead::new(2, &dev);
        head.fc.weight = burn::module::Param::from_tensor(Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, -2.0], [2, 1]),
            &dev,
        ));
        head.fc.bias = Some(burn::module::Param::from_tensor(Tensor::<1>::from_data(
            TensorData::new(vec![0.5f32], [1]),
            &dev,
        )));
        let e = matrix(&[1.0, 1.0, 0.0, 3.0], 2);
        let pairs = [Pair {
            a: 0,
            b: 1,
            same: false,
        }];
        // |a - b| = (1, 2): 1*1 - 2*2 + 0.5 = -2.5.
        close(head.logits(&e, &e, &pairs).into_scalar::<f32>(), -2.5);
        close(
            scalar(head.loss(&e, &e, &pairs)),
            (1.0 + (-2.5f32).exp()).ln(),
        );
    }
}
