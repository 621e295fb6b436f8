//! Prototypical loss (Snell, Swersky and Zemel 2017) within a P x K batch:
//! each embedding is classified by a softmax over `-scale * d^2` to the mean
//! embedding (prototype) of every class in the batch, its own class's mean
//! taken without itself (leave-one-out), so every item is a query and the
//! rest of the batch its support set.

use burn::tensor::Tensor;

use super::{cross_entropy, float_matrix, one_hot};

/// Mean cross-entropy of the prototype softmax. Queries are rows of `left`,
/// prototypes are means of rows of `right` (the same matrix when the
/// branches are shared). Returns `None` unless the batch holds at least two
/// classes, each at least twice.
pub fn prototypical(
    left: &Tensor<2>,
    right: &Tensor<2>,
    labels: &[usize],
    scale: f32,
) -> Option<Tensor<1>> {
    let mut classes: Vec<usize> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let counts: Vec<usize> = classes
        .iter()
        .map(|c| labels.iter().filter(|&&l| l == *c).count())
        .collect();
    if classes.len() < 2 || counts.iter().any(|&n| n < 2) {
        return None;
    }
    let (n, p) = (labels.len(), classes.len());
    let columns: Vec<usize> = labels
        .iter()
        .map(|l| classes.binary_search(l).expect("label among classes"))
        .collect();
    let mut mean = vec![0.0f32; p * n];
    let mut loo = vec![1.0f32; n * p];
    for (i, &c) in columns.iter().enumerate() {
        let k = counts[c] as f32;
        mean[c * n + i] = 1.0 / k;
        // ||e - (k m - e) / (k - 1)|| = k / (k - 1) * ||e - m||.
        loo[i * p + c] = (k / (k - 1.0)).powi(2);
    }
    let prototypes = float_matrix(mean, p, n, left).matmul(right.clone());
    let q2 = left.clone().powi_scalar(2).sum_dim(1);
    let p2 = prototypes.clone().powi_scalar(2).sum_dim(1).transpose();
    let d2 = q2 + p2 - left.clone().matmul(prototypes.transpose()).mul_scalar(2.0);
    let d2 = d2.clamp_min(0.0) * float_matrix(loo, n, p, left);
    Some(cross_entropy(
        d2.mul_scalar(-scale),
        one_hot(&columns, p, left),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_util::*;

    #[test]
    fn hand_computed() {
        // Class 7: (0,0), (2,0); class 3: (0,1), (0,3). Prototypes: (1,0), (0,2).
        let e = matrix(&[0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0], 2);
        let labels = [7, 3, 7, 3];
        // Item 0: own (leave-one-out) prototype (2,0): d^2 4; other (0,2): d^2 4.
        // Item 1: own (0,3): d^2 4; other (1,0): d^2 2.
        // Item 2: own (0,0): d^2 4; other (0,2): d^2 8.
        // Item 3: own (0,1): d^2 4; other (1,0): d^2 10.
        let ce = |own: f32, other: f32, s: f32| {
            let (a, b) = (-s * own, -s * other);
            -(a - (a.exp() + b.exp()).ln())
        };
        let s = 0.5;
        let want = (ce(4.0, 4.0, s) + ce(4.0, 2.0, s) + ce(4.0, 8.0, s) + ce(4.0, 10.0, s)) / 4.0;
        let got = prototypical(&e, &e, &labels, s).expect("two classes of two");
        close(scalar(got), want);
    }

    #[test]
    fn needs_two_classes_of_two() {
        let e = matrix(&[0.0, 0.0, 0.0, 1.0, 2.0, 0.0], 2);
        assert!(prototypical(&e, &e, &[1, 2, 1], 1.0).is_none());
        assert!(prototypical(&e, &e, &[1, 1, 1], 1.0).is_none());
    }
}
