//! Solving the normal equations of a least-squares refit.

/// Solves `A X = B` for symmetric positive-definite `A` (`n x n`) and `B`
/// (`n x m`), both row-major, by Cholesky factorisation; `None` when `A` is
/// not positive definite.
pub fn cholesky_solve(a: &[f64], n: usize, b: &[f64], m: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut x = b.to_vec();
    for col in 0..m {
        for i in 0..n {
            let mut s = x[i * m + col];
            for k in 0..i {
                s -= l[i * n + k] * x[k * m + col];
            }
            x[i * m + col] = s / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = x[i * m + col];
            for k in i + 1..n {
                s -= l[k * n + i] * x[k * m + col];
            }
            x[i * m + col] = s / l[i * n + i];
        }
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_system_and_refuses_an_indefinite_one() {
        // [[4, 2], [2, 3]] x = [[2], [5]] -> x = [-0.5, 2].
        let x = cholesky_solve(&[4.0, 2.0, 2.0, 3.0], 2, &[2.0, 5.0], 1).unwrap();
        assert!(
            (x[0] + 0.5).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12,
            "{x:?}"
        );
        assert!(cholesky_solve(&[1.0, 2.0, 2.0, 1.0], 2, &[1.0, 1.0], 1).is_none());
    }
}
