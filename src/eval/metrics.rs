//! Verification metrics over scored pairs: ROC, AUC, TAR at a FAR, and
//! k-fold accuracy with the threshold chosen on the other folds.

/// One scored pair: similarity score (higher = more alike), ground truth, fold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    /// Similarity score.
    pub score: f32,
    /// True when both images show the same identity.
    pub same: bool,
    /// Fold index (0-based).
    pub fold: usize,
}

/// A point of the ROC curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RocPoint {
    /// Accept when score >= threshold.
    pub threshold: f32,
    /// False-accept rate.
    pub far: f64,
    /// True-accept rate.
    pub tar: f64,
}

/// The ROC curve: one point per distinct score, from strictest to most lenient,
/// starting at (0, 0).
pub fn roc(pairs: &[ScoredPair]) -> Vec<RocPoint> {
    let mut sorted: Vec<&ScoredPair> = pairs.iter().collect();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let pos = pairs.iter().filter(|p| p.same).count().max(1) as f64;
    let neg = pairs.iter().filter(|p| !p.same).count().max(1) as f64;
    let mut points = vec![RocPoint {
        threshold: f32::INFINITY,
        far: 0.0,
        tar: 0.0,
    }];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].score;
        while i < sorted.len() && sorted[i].score == t {
            if sorted[i].same {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        points.push(RocPoint {
            threshold: t,
            far: fp as f64 / neg,
            tar: tp as f64 / pos,
        });
    }
    points
}

/// Area under the ROC curve (trapezoids; ties count half).
pub fn auc(curve: &[RocPoint]) -> f64 {
    curve
        .windows(2)
        .map(|w| (w[1].far - w[0].far) * (w[1].tar + w[0].tar) / 2.0)
        .sum()
}

/// The strictest-to-lenient point with the highest TAR whose FAR is at most `far`.
pub fn at_far(curve: &[RocPoint], far: f64) -> RocPoint {
    curve
        .iter()
        .filter(|p| p.far <= far + 1e-12)
        .max_by(|a, b| a.tar.total_cmp(&b.tar))
        .copied()
        .unwrap_or(curve[0])
}

/// Accuracy of `accept when score >= threshold` on `pairs`.
pub fn accuracy(pairs: &[&ScoredPair], threshold: f32) -> f64 {
    let right = pairs
        .iter()
        .filter(|p| (p.score >= threshold) == p.same)
        .count();
    right as f64 / pairs.len().max(1) as f64
}

/// The threshold with the best accuracy on `pairs` (midpoints between adjacent scores).
pub fn best_threshold(pairs: &[&ScoredPair]) -> f32 {
    let mut scores: Vec<f32> = pairs.iter().map(|p| p.score).collect();
    scores.sort_by(f32::total_cmp);
    scores.dedup();
    let mut best = (f64::MIN, 0.0f32);
    let candidates = scores
        .windows(2)
        .map(|w| (w[0] + w[1]) / 2.0)
        .chain(scores.first().map(|s| s - 1e-3))
        .chain(scores.last().map(|s| s + 1e-3));
    for t in candidates {
        let a = accuracy(pairs, t);
        if a > best.0 {
            best = (a, t);
        }
    }
    best.1
}

/// Per-fold result of k-fold verification accuracy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoldResult {
    /// Threshold chosen on the other folds.
    pub threshold: f32,
    /// Accuracy on this fold at that threshold.
    pub accuracy: f64,
}

/// For each fold, picks the threshold on the other folds and measures this fold.
pub fn kfold_accuracy(pairs: &[ScoredPair]) -> Vec<FoldResult> {
    let folds = pairs.iter().map(|p| p.fold + 1).max().unwrap_or(0);
    (0..folds)
        .map(|f| {
            let train: Vec<&ScoredPair> = pairs.iter().filter(|p| p.fold != f).collect();
            let test: Vec<&ScoredPair> = pairs.iter().filter(|p| p.fold == f).collect();
            let threshold = best_threshold(&train);
            FoldResult {
                threshold,
                accuracy: accuracy(&test, threshold),
            }
        })
        .collect()
}

/// Mean and population standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(score: f32, same: bool, fold: usize) -> ScoredPair {
        ScoredPair { score, same, fold }
    }

    #[test]
    fn perfect_separation_has_auc_one() {
        let pairs = [
            p(0.9, true, 0),
            p(0.8, true, 0),
            p(0.2, false, 0),
            p(0.1, false, 0),
        ];
        assert_eq!(auc(&roc(&pairs)), 1.0);
    }

    #[test]
    fn auc_counts_one_swapped_pair() {
        // genuine {0.9, 0.3}, impostor {0.5, 0.1}: 3 of 4 ordered pairs right.
        let pairs = [
            p(0.9, true, 0),
            p(0.3, true, 0),
            p(0.5, false, 0),
            p(0.1, false, 0),
        ];
        assert!((auc(&roc(&pairs)) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn tar_at_far_takes_the_strictest_admissible_point() {
        let pairs = [
            p(0.9, true, 0),
            p(0.3, true, 0),
            p(0.5, false, 0),
            p(0.1, false, 0),
        ];
        let c = roc(&pairs);
        let zero = at_far(&c, 0.0);
        assert_eq!((zero.tar, zero.far), (0.5, 0.0));
        let half = at_far(&c, 0.5);
        assert_eq!((half.tar, half.far), (1.0, 0.5));
    }

    #[test]
    fn kfold_picks_threshold_on_other_folds() {
        // Fold 0 alone would pick a threshold near 0.45; folds 1 and 2 say 0.65.
        let pairs = [
            p(0.5, true, 0),
            p(0.4, false, 0),
            p(0.7, true, 1),
            p(0.6, false, 1),
            p(0.7, true, 2),
            p(0.6, false, 2),
        ];
        let r = kfold_accuracy(&pairs);
        assert_eq!(r.len(), 3);
        assert!((r[0].threshold - 0.65).abs() < 1e-6);
        assert_eq!(r[0].accuracy, 0.5);
        let (m, s) = mean_std(&[1.0, 0.5]);
        assert_eq!((m, s), (0.75, 0.25));
    }
}
