//! Online miners: which pairs, triplets or quadruplets of a P x K batch to
//! train on, chosen from the batch's current distance matrix.
//!
//! `dist` is the row-major `n x n` matrix of distances between the batch's
//! anchor-side and compared-side embeddings; `labels[i]` is the class of item `i`.

use crate::rng::Rng;

/// Two batch items and whether they share a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// Anchor-side item.
    pub a: usize,
    /// Compared-side item.
    pub b: usize,
    /// Whether both are of one class.
    pub same: bool,
}

/// Anchor, positive (same class) and negative (other class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Triplet {
    /// Anchor.
    pub a: usize,
    /// Positive: the anchor's class.
    pub p: usize,
    /// Negative: another class.
    pub n: usize,
}

/// A triplet plus a second negative `n2` whose class differs from both the anchor's and `n1`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quadruplet {
    /// Anchor.
    pub a: usize,
    /// Positive.
    pub p: usize,
    /// First negative.
    pub n1: usize,
    /// Second negative, of a third class.
    pub n2: usize,
}

/// The triplet miners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miner {
    /// Every valid triplet that still violates the margin.
    BatchAll,
    /// Per anchor, the farthest positive and the nearest negative (Hermans et al. 2017).
    BatchHard,
    /// Per anchor-positive pair, the nearest negative that is farther than the
    /// positive but inside the margin (FaceNet).
    SemiHard,
}

impl std::str::FromStr for Miner {
    type Err = String;

    fn from_str(s: &str) -> Result<Miner, String> {
        match s {
            "batch-all" => Ok(Miner::BatchAll),
            "batch-hard" => Ok(Miner::BatchHard),
            "semi-hard" => Ok(Miner::SemiHard),
            other => Err(format!(
                "miner {other:?}: expected batch-all, batch-hard or semi-hard"
            )),
        }
    }
}

impl Miner {
    /// The triplets this miner picks.
    pub fn triplets(self, dist: &[f32], labels: &[usize], margin: f32) -> Vec<Triplet> {
        match self {
            Miner::BatchAll => batch_all(dist, labels, margin),
            Miner::BatchHard => batch_hard(dist, labels),
            Miner::SemiHard => semi_hard(dist, labels, margin),
        }
    }
}

/// All `(a, p, n)` with `d(a,p) - d(a,n) + margin > 0`.
pub fn batch_all(dist: &[f32], labels: &[usize], margin: f32) -> Vec<Triplet> {
    let n = labels.len();
    let mut out = Vec::new();
    for a in 0..n {
        for p in (0..n).filter(|&p| p != a && labels[p] == labels[a]) {
            for neg in (0..n).filter(|&x| labels[x] != labels[a]) {
                if dist[a * n + p] - dist[a * n + neg] + margin > 0.0 {
                    out.push(Triplet { a, p, n: neg });
                }
            }
        }
    }
    out
}

/// Per anchor with a positive and a negative: the farthest positive and the nearest negative.
pub fn batch_hard(dist: &[f32], labels: &[usize]) -> Vec<Triplet> {
    let n = labels.len();
    (0..n)
        .filter_map(|a| {
            let row = &dist[a * n..][..n];
            let p = argbest(row, |x| x != a && labels[x] == labels[a], |u, v| u > v)?;
            let neg = argbest(row, |x| labels[x] != labels[a], |u, v| u < v)?;
            Some(Triplet { a, p, n: neg })
        })
        .collect()
}

/// Per anchor-positive pair: the nearest negative with `d(a,p) < d(a,n) < d(a,p) + margin`;
/// pairs without such a negative are left out.
pub fn semi_hard(dist: &[f32], labels: &[usize], margin: f32) -> Vec<Triplet> {
    let n = labels.len();
    let mut out = Vec::new();
    for a in 0..n {
        let row = &dist[a * n..][..n];
        for p in (0..n).filter(|&p| p != a && labels[p] == labels[a]) {
            let dap = row[p];
            let semi = |x: usize| labels[x] != labels[a] && row[x] > dap && row[x] < dap + margin;
            if let Some(neg) = argbest(row, semi, |u, v| u < v) {
                out.push(Triplet { a, p, n: neg });
            }
        }
    }
    out
}

/// Batch-hard triplets extended with the negative `n2` nearest to `n1` among
/// classes other than the anchor's and `n1`'s.
pub fn hard_quadruplets(dist: &[f32], labels: &[usize]) -> Vec<Quadruplet> {
    let n = labels.len();
    batch_hard(dist, labels)
        .into_iter()
        .filter_map(|t| {
            let row = &dist[t.n * n..][..n];
            let third = |x: usize| labels[x] != labels[t.a] && labels[x] != labels[t.n];
            let n2 = argbest(row, third, |u, v| u < v)?;
            Some(Quadruplet {
                a: t.a,
                p: t.p,
                n1: t.n,
                n2,
            })
        })
        .collect()
}

/// Every positive pair `(a, b)`, `a != b`, plus as many negative pairs drawn at random.
pub fn balanced_pairs(labels: &[usize], rng: &mut Rng) -> Vec<Pair> {
    let n = labels.len();
    let mut out = Vec::new();
    for a in 0..n {
        for b in (0..n).filter(|&b| b != a && labels[b] == labels[a]) {
            out.push(Pair { a, b, same: true });
        }
    }
    let positives = out.len();
    if labels.iter().any(|&l| l != labels[0]) {
        while out.len() < 2 * positives {
            let (a, b) = (rng.below(n), rng.below(n));
            if labels[a] != labels[b] {
                out.push(Pair { a, b, same: false });
            }
        }
    }
    out
}

fn argbest(
    row: &[f32],
    keep: impl Fn(usize) -> bool,
    better: impl Fn(f32, f32) -> bool,
) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &d) in row.iter().enumerate() {
        if keep(i) && best.is_none_or(|b| better(d, row[b])) {
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    // Four points on a line at 0, 1, 3, 3.5 with classes A, A, B, B.
    const X: [f32; 4] = [0.0, 1.0, 3.0, 3.5];
    const L: [usize; 4] = [0, 0, 1, 1];

    fn dist() -> Vec<f32> {
        let mut d = Vec::new();
        for a in X {
            for b in X {
                d.push((a - b).abs());
            }
        }
        d
    }

    fn t(a: usize, p: usize, n: usize) -> Triplet {
        Triplet { a, p, n }
    }

    #[test]
    fn batch_all_keeps_margin_violators() {
        // margin 2.5, loss d(a,p) - d(a,n) + 2.5:
        // (0,1,2): 1-3+2.5 = 0.5 in; (0,1,3): 1-3.5+2.5 = 0 out;
        // (1,0,2): 1-2+2.5 = 1.5 in; (1,0,3): 1-2.5+2.5 = 1 in;
        // (2,3,1): 0.5-2+2.5 = 1 in; (2,3,0): 0.5-3+2.5 = 0 out;
        // (3,2,1): 0.5-2.5+2.5 = 0.5 in; (3,2,0): 0.5-3.5+2.5 < 0 out.
        let got = batch_all(&dist(), &L, 2.5);
        assert_eq!(
            got,
            vec![t(0, 1, 2), t(1, 0, 2), t(1, 0, 3), t(2, 3, 1), t(3, 2, 1)]
        );
    }

    #[test]
    fn batch_hard_picks_farthest_positive_nearest_negative() {
        let got = batch_hard(&dist(), &L);
        assert_eq!(got, vec![t(0, 1, 2), t(1, 0, 2), t(2, 3, 1), t(3, 2, 1)]);
    }

    #[test]
    fn semi_hard_needs_a_negative_inside_the_margin() {
        // margin 1.2: anchor 1 (d_ap = 1): negatives at 2 and 2.5 are not < 2.2... 2 < 2.2 yes -> (1,0,2).
        // anchor 0 (d_ap = 1): negatives at 3, 3.5: none < 2.2. anchor 2 (d_ap = 0.5): negatives at
        // 2 and 3, none in (0.5, 1.7). anchor 3 (d_ap 0.5): negatives at 2.5, 3.5: none.
        assert_eq!(semi_hard(&dist(), &L, 1.2), vec![t(1, 0, 2)]);
        // margin 2.1: anchor 0: 3 in (1, 3.1) -> n=2; anchor 1: 2 -> n=2; anchor 2: (0.5, 2.6): 2 -> n=1;
        // anchor 3: (0.5, 2.6): 2.5 -> n=1.
        assert_eq!(
            semi_hard(&dist(), &L, 2.1),
            vec![t(0, 1, 2), t(1, 0, 2), t(2, 3, 1), t(3, 2, 1)]
        );
    }

    #[test]
    fn quadruplets_use_a_third_class() {
        // Classes A A B B C at 0, 1, 3, 3.5, 10.
        let x = [0.0f32, 1.0, 3.0, 3.5, 10.0];
        let l = [0, 0, 1, 1, 2];
        let d: Vec<f32> = x
            .iter()
            .flat_map(|a| x.iter().map(move |b| (a - b).abs()))
            .collect();
        let q = hard_quadruplets(&d, &l);
        // Anchor 0: p=1, n1=2 (class B), n2 nearest to 2 among class C = 4.
        assert_eq!(
            q[0],
            Quadruplet {
                a: 0,
                p: 1,
                n1: 2,
                n2: 4
            }
        );
        // Anchor 2: p=3, n1=1 (class A), n2 among class C = 4.
        assert_eq!(
            q[2],
            Quadruplet {
                a: 2,
                p: 3,
                n1: 1,
                n2: 4
            }
        );
        assert_eq!(q.len(), 4, "item 4 has no positive");
    }

    #[test]
    fn balanced_pairs_are_half_positive() {
        let pairs = balanced_pairs(&L, &mut Rng::new(1));
        assert_eq!(pairs.len(), 8);
        for p in &pairs {
            assert_eq!(p.same, L[p.a] == L[p.b]);
            assert_ne!(p.a, p.b);
        }
        assert_eq!(pairs.iter().filter(|p| p.same).count(), 4);
    }
}
