//! Contrastive loss on pairs (Hadsell, Chopra and LeCun 2006).

use burn::tensor::activation::relu;
use burn::tensor::Tensor;

use super::{distances, floats};
use crate::mine::Pair;

/// Contrastive loss: `same * d^2 + (1 - same) * max(0, margin - d)^2`,
/// averaged over the pairs, with `d = ||left[i] - right[j]||`.
pub fn contrastive(left: &Tensor<2>, right: &Tensor<2>, pairs: &[Pair], margin: f32) -> Tensor<1> {
    let a: Vec<usize> = pairs.iter().map(|p| p.a).collect();
    let b: Vec<usize> = pairs.iter().map(|p| p.b).collect();
    let same = floats(
        pairs.iter().map(|p| f32::from(u8::from(p.same))).collect(),
        left,
    );
    let d = distances(left, &a, right, &b);
    let pull = same.clone() * d.clone().powi_scalar(2);
    let push = same.neg().add_scalar(1.0) * relu(d.neg().add_scalar(margin)).powi_scalar(2);
    (pull + push).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_util::*;

    #[test]
    fn hand_computed() {
        // Points 0=(0,0), 1=(0.3,0.4) (d01 = 0.5), 2=(1.2,1.6) (d02 = 2).
        let e = matrix(&[0.0, 0.0, 0.3, 0.4, 1.2, 1.6], 2);
        let pairs = [
            Pair {
                a: 0,
                b: 1,
                same: true,
            }, // 0.5^2 = 0.25
            Pair {
                a: 0,
                b: 1,
                same: false,
            }, // (1 - 0.5)^2 = 0.25
            Pair {
                a: 0,
                b: 2,
                same: false,
            }, // beyond the margin: 0
            Pair {
                a: 0,
                b: 2,
                same: true,
            }, // 2^2 = 4
        ];
        close(
            scalar(contrastive(&e, &e, &pairs, 1.0)),
            (0.25 + 0.25 + 0.0 + 4.0) / 4.0,
        );
    }
}
