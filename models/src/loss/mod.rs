//! Metric-learning losses on batches of embeddings.
//!
//! Every loss here compares rows of a `left` and a `right` embedding matrix
//! (`[n, dim]`): with shared weights (Siamese) both are the same matrix; with
//! unshared branches (pseudo-Siamese) the anchor side comes from `left` and
//! the compared side from `right`. Miners ([`crate::mine`]) choose the index
//! tuples; losses average over what they are given.

pub mod koch;
pub mod margin;
pub mod pair;
pub mod proto;
pub mod quadruplet;
pub mod triplet;

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};

/// Small constant inside square roots, so that the gradient stays finite at zero distance.
pub const SQRT_EPS: f32 = 1e-12;

/// An index tensor on the device of `like`.
pub fn indices(idx: &[usize], like: &Tensor<2>) -> Tensor<1, Int> {
    let v: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    Tensor::<1, Int>::from_data(TensorData::new(v, [idx.len()]), &like.device())
}

/// A float vector tensor on the device of `like`.
pub fn floats(values: Vec<f32>, like: &Tensor<2>) -> Tensor<1> {
    let n = values.len();
    Tensor::<1>::from_data(TensorData::new(values, [n]), &like.device())
}

/// A `[rows, cols]` float tensor of host values on the device of `like`.
pub fn float_matrix(values: Vec<f32>, rows: usize, cols: usize, like: &Tensor<2>) -> Tensor<2> {
    Tensor::<2>::from_data(TensorData::new(values, [rows, cols]), &like.device())
}

/// One row of `width` per entry of `columns`: zeros with a one at that column.
pub fn one_hot(columns: &[usize], width: usize, like: &Tensor<2>) -> Tensor<2> {
    let mut hot = vec![0.0f32; columns.len() * width];
    for (i, &c) in columns.iter().enumerate() {
        hot[i * width + c] = 1.0;
    }
    float_matrix(hot, columns.len(), width, like)
}

/// Mean over rows of the cross-entropy between `softmax(logits)` and one-hot `hot`.
pub fn cross_entropy(logits: Tensor<2>, hot: Tensor<2>) -> Tensor<1> {
    (log_softmax(logits, 1) * hot).sum_dim(1).neg().mean()
}

/// Squared Euclidean distances `||left[a_k] - right[b_k]||^2`, one per index pair.
pub fn squared_distances(
    left: &Tensor<2>,
    a: &[usize],
    right: &Tensor<2>,
    b: &[usize],
) -> Tensor<1> {
    let x = left.clone().select(0, indices(a, left));
    let y = right.clone().select(0, indices(b, right));
    (x - y).powi_scalar(2).sum_dim(1).squeeze_dim::<1>(1)
}

/// Euclidean distances `||left[a_k] - right[b_k]||`, one per index pair.
pub fn distances(left: &Tensor<2>, a: &[usize], right: &Tensor<2>, b: &[usize]) -> Tensor<1> {
    squared_distances(left, a, right, b)
        .add_scalar(SQRT_EPS)
        .sqrt()
}

/// Rows scaled to unit L2 norm.
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x
        .clone()
        .powi_scalar(2)
        .sum_dim(1)
        .add_scalar(SQRT_EPS)
        .sqrt();
    x / norm
}

/// The full `[n, m]` matrix of Euclidean distances between rows of `left` and of `right`,
/// copied to the host (for miners and monitoring; no gradient).
pub fn host_distance_matrix(left: &Tensor<2>, right: &Tensor<2>, squared: bool) -> Vec<f32> {
    let l = left.to_data().try_to_vec::<f32>().expect("f32 embeddings");
    let r = right.to_data().try_to_vec::<f32>().expect("f32 embeddings");
    let dim = left.dims()[1];
    let (n, m) = (l.len() / dim, r.len() / dim);
    let mut out = Vec::with_capacity(n * m);
    for i in 0..n {
        for j in 0..m {
            let d2: f32 = l[i * dim..][..dim]
                .iter()
                .zip(&r[j * dim..][..dim])
                .map(|(x, y)| (x - y) * (x - y))
                .sum();
            out.push(if squared { d2 } else { d2.sqrt() });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod test_util {
    use burn::tensor::{Device, Tensor, TensorData};

    /// A `[rows, cols]` tensor on the flex device.
    pub fn matrix(values: &[f32], cols: usize) -> Tensor<2> {
        let rows = values.len() / cols;
        Tensor::<2>::from_data(
            TensorData::new(values.to_vec(), [rows, cols]),
            &Device::flex(),
        )
    }

    /// The single value of a one-element tensor.
    pub fn scalar(t: Tensor<1>) -> f32 {
        t.into_scalar::<f32>()
    }

    /// Asserts `a` and `b` agree to 1e-5.
    pub fn close(a: f32, b: f32) {
        assert!((a - b).abs() < 1e-5, "{a} != {b}");
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

    #[test]
    fn distances_and_normalisation() {
        let e = matrix(&[0.0, 0.0, 3.0, 4.0, 1.0, 0.0], 2);
        let d = distances(&e, &[0, 0], &e, &[1, 2])
            .to_data()
            .try_to_vec::<f32>()
            .unwrap();
        close(d[0], 5.0);
        close(d[1], 1.0);
        let n = l2_normalize(matrix(&[3.0, 4.0], 2))
            .to_data()
            .try_to_vec::<f32>()
            .unwrap();
        close(n[0], 0.6);
        close(n[1], 0.8);
        let h = host_distance_matrix(&e, &e, false);
        close(h[1], 5.0);
        close(h[3], 5.0);
        close(h[5], 20f32.sqrt());
    }
}
