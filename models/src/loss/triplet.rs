//! Triplet loss (Schroff, Kalenichenko and Philbin 2015).

use burn::tensor::activation::relu;
use burn::tensor::Tensor;

use super::{distances, squared_distances};
use crate::mine::Triplet;

/// Triplet loss `max(0, d(a, p) - d(a, n) + margin)` averaged over the
/// triplets; with `squared` the distances are squared Euclidean (FaceNet's
/// form), otherwise plain Euclidean.
pub fn triplet(
    left: &Tensor<2>,
    right: &Tensor<2>,
    triplets: &[Triplet],
    margin: f32,
    squared: bool,
) -> Tensor<1> {
    let a: Vec<usize> = triplets.iter().map(|t| t.a).collect();
    let p: Vec<usize> = triplets.iter().map(|t| t.p).collect();
    let n: Vec<usize> = triplets.iter().map(|t| t.n).collect();
    let (dap, dan) = if squared {
        (
            squared_distances(left, &a, right, &p),
            squared_distances(left, &a, right, &n),
        )
    } else {
        (
            distances(left, &a, right, &p),
            distances(left, &a, right, &n),
        )
    };
    relu((dap - dan).add_scalar(margin)).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_util::*;

    #[test]
    fn hand_computed() {
        // a=(0,0), p=(0,1) (d=1), n1=(0,1.5) (d=1.5), n2=(3,4) (d=5).
        let e = matrix(&[0.0, 0.0, 0.0, 1.0, 0.0, 1.5, 3.0, 4.0], 2);
        let t = [Triplet { a: 0, p: 1, n: 2 }, Triplet { a: 0, p: 1, n: 3 }];
        // plain: max(0, 1 - 1.5 + 1) = 0.5 and max(0, 1 - 5 + 1) = 0.
        close(scalar(triplet(&e, &e, &t, 1.0, false)), 0.25);
        // squared: max(0, 1 - 2.25 + 1.5) = 0.25 and max(0, 1 - 25 + 1.5) = 0.
        close(scalar(triplet(&e, &e, &t, 1.5, true)), 0.125);
    }
}
