//! Quadruplet loss (Chen et al. 2017): the triplet term plus a second term
//! that pushes apart two negatives of different classes, so that the
//! inter-class gap holds for pairs that share no anchor.

use burn::tensor::activation::relu;
use burn::tensor::Tensor;

use super::distances;
use crate::mine::Quadruplet;

/// `max(0, d(a,p) - d(a,n1) + margin1) + max(0, d(a,p) - d(n1,n2) + margin2)`,
/// averaged over the quadruplets (Euclidean distances).
pub fn quadruplet(
    left: &Tensor<2>,
    right: &Tensor<2>,
    quads: &[Quadruplet],
    margin1: f32,
    margin2: f32,
) -> Tensor<1> {
    let pick = |f: fn(&Quadruplet) -> usize| quads.iter().map(f).collect::<Vec<_>>();
    let (a, p, n1, n2) = (pick(|q| q.a), pick(|q| q.p), pick(|q| q.n1), pick(|q| q.n2));
    let dap = distances(left, &a, right, &p);
    let dan = distances(left, &a, right, &n1);
    let dnn = distances(left, &n1, right, &n2);
    (relu((dap.clone() - dan).add_scalar(margin1)) + relu((dap - dnn).add_scalar(margin2))).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_util::*;

    #[test]
    fn hand_computed() {
        // a=(0,0), p=(1,0) (d=1), n1=(0,1) (d(a,n1)=1), n2=(0,1.5) (d(n1,n2)=0.5).
        let e = matrix(&[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.5], 2);
        let q = [Quadruplet {
            a: 0,
            p: 1,
            n1: 2,
            n2: 3,
        }];
        // (1 - 1 + 0.5) + (1 - 0.5 + 0.25) = 0.5 + 0.75.
        close(scalar(quadruplet(&e, &e, &q, 0.5, 0.25)), 1.25);
    }
}
