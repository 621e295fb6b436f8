//! Embedding spread: the mean pairwise distance and the numerical rank of a
//! batch's embedding matrix, to catch a collapse (every input mapped to one
//! point, or onto a line) before hours are spent on it.

/// Spread of one batch of embeddings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Mean Euclidean distance over all pairs of rows.
    pub mean_distance: f32,
    /// Number of singular values above `RANK_TOL` times the largest.
    pub rank: usize,
}

/// Relative tolerance for the numerical rank.
pub const RANK_TOL: f64 = 1e-3;

/// The spread of `n` rows of dimension `dim` (row-major `emb`).
pub fn spread(emb: &[f32], dim: usize) -> Spread {
    let n = emb.len() / dim;
    let row = |i: usize| &emb[i * dim..][..dim];
    let mut total = 0.0f64;
    let mut count = 0usize;
    for i in 0..n {
        for j in i + 1..n {
            let d2: f32 = row(i)
                .iter()
                .zip(row(j))
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            total += d2.sqrt() as f64;
            count += 1;
        }
    }
    // Singular values squared are the eigenvalues of the n x n Gram matrix.
    let mut gram = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..n {
            gram[i * n + j] = row(i)
                .iter()
                .zip(row(j))
                .map(|(a, b)| (*a as f64) * (*b as f64))
                .sum();
        }
    }
    let eig = symmetric_eigenvalues(gram, n);
    let top = eig.iter().cloned().fold(0.0f64, f64::max);
    let rank = if top <= 0.0 {
        0
    } else {
        eig.iter()
            .filter(|&&l| l.max(0.0).sqrt() > RANK_TOL * top.sqrt())
            .count()
    };
    Spread {
        mean_distance: if count == 0 {
            0.0
        } else {
            (total / count as f64) as f32
        },
        rank,
    }
}

/// Eigenvalues of a symmetric `n x n` matrix by cyclic Jacobi rotations.
pub fn symmetric_eigenvalues(mut a: Vec<f64>, n: usize) -> Vec<f64> {
    for _sweep in 0..60 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        let diag: f64 = (0..n).map(|i| a[i * n + i].powi(2)).sum();
        if off <= 1e-24 * diag.max(1e-300) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let sign = if theta >= 0.0 { 1.0 } else { -1.0 };
                let t = sign / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i * n + i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvalues_of_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let mut e = symmetric_eigenvalues(vec![2.0, 1.0, 1.0, 2.0], 2);
        e.sort_by(f64::total_cmp);
        assert!(
            (e[0] - 1.0).abs() < 1e-9 && (e[1] - 3.0).abs() < 1e-9,
            "{e:?}"
        );
    }

    #[test]
    fn collapsed_and_spread_batches() {
        let same = [0.6f32, 0.8, 0.6, 0.8, 0.6, 0.8];
        let s = spread(&same, 2);
        assert_eq!(s.rank, 1);
        assert!(s.mean_distance < 1e-6);
        let spread_out = [1.0f32, 0.0, 0.0, 1.0, -1.0, 0.0];
        let s = spread(&spread_out, 2);
        assert_eq!(s.rank, 2);
        // Distances sqrt2, 2, sqrt2.
        assert!((s.mean_distance - (2.0 * 2f32.sqrt() + 2.0) / 3.0).abs() < 1e-5);
    }
}
