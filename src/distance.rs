//! Embedding normalisation and comparison: the one place distances are computed.

use crate::model::Distance;

/// Scales `v` to unit L2 norm in place (a zero vector stays zero).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two vectors (not assumed normalised).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Similarity score of two L2-normalised embeddings under `distance`; higher
/// always means more alike (L2 is returned negated), so one threshold rule
/// `accept when score >= threshold` serves both.
pub fn similarity(distance: Distance, a: &[f32], b: &[f32]) -> f32 {
    match distance {
        Distance::Cosine => a.iter().zip(b).map(|(x, y)| x * y).sum(),
        Distance::L2 => -a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f32>()
            .sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_vectors_have_unit_norm() {
        let mut v = [3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
    }

    #[test]
    fn similarity_orders_pairs_the_same_way_for_both_distances() {
        let a = [1.0, 0.0];
        let near = [0.8, 0.6];
        let far = [0.0, 1.0];
        for d in [Distance::Cosine, Distance::L2] {
            assert!(similarity(d, &a, &near) > similarity(d, &a, &far));
        }
        assert!((cosine(&[2.0, 0.0], &[5.0, 0.0]) - 1.0).abs() < 1e-6);
    }
}
