//! The P x K batch sampler: P classes, K items of each, so that every batch
//! holds positives and negatives for every anchor. Optionally a share of the
//! batches draws all P classes from one group of look-alike classes (an
//! Omniglot alphabet), as the one-shot test runs do.

use crate::rng::Rng;
use crate::TrainError;

/// Draws P x K batches from items grouped by class.
#[derive(Debug, Clone)]
pub struct PkSampler {
    by_class: Vec<Vec<usize>>,
    class_ids: Vec<usize>,
    p: usize,
    k: usize,
    order: Vec<usize>,
    next: usize,
    groups: Vec<Vec<usize>>,
    group_of: Vec<usize>,
    group_share: f32,
}

impl PkSampler {
    /// A sampler over `labels[i]` (the class of item `i`, `0..classes`) giving
    /// batches of `p` classes x `k` items. Only classes with at least two items take part.
    pub fn new(labels: &[usize], p: usize, k: usize) -> Result<PkSampler, TrainError> {
        if p < 2 || k < 2 {
            return Err(TrainError::Config(format!(
                "a P x K batch needs P >= 2 and K >= 2, got {p} x {k}"
            )));
        }
        let classes = labels.iter().max().map_or(0, |&m| m + 1);
        let mut by_class = vec![Vec::new(); classes];
        for (i, &l) in labels.iter().enumerate() {
            by_class[l].push(i);
        }
        let class_ids: Vec<usize> = (0..classes).filter(|&c| by_class[c].len() >= 2).collect();
        by_class.retain(|items| items.len() >= 2);
        if by_class.len() < p {
            return Err(TrainError::Data {
                what: "training set".into(),
                reason: format!(
                    "{} classes with two or more items, fewer than P = {p}",
                    by_class.len()
                ),
            });
        }
        let order = (0..by_class.len()).collect();
        let n = by_class.len();
        Ok(PkSampler {
            by_class,
            class_ids,
            p,
            k,
            order,
            next: usize::MAX,
            groups: vec![(0..n).collect()],
            group_of: vec![0; n],
            group_share: 0.0,
        })
    }

    /// Makes a `share` (0 to 1) of the batches take all P classes from one
    /// group, `group_of[c]` being the group of class `c` of the labels. The
    /// group is that of a random class (so groups are drawn in proportion to
    /// their size); one with fewer than P classes is topped up with random others.
    pub fn with_group_batches(
        mut self,
        group_of: &[usize],
        share: f32,
    ) -> Result<PkSampler, TrainError> {
        if !(0.0..=1.0).contains(&share) {
            return Err(TrainError::Config(format!(
                "the share of one-group batches must lie in [0, 1], got {share}"
            )));
        }
        if self.class_ids.iter().any(|&c| c >= group_of.len()) {
            return Err(TrainError::Config(format!(
                "{} class groups given for {} classes",
                group_of.len(),
                self.class_ids.last().map_or(0, |&c| c + 1)
            )));
        }
        let ids: Vec<usize> = self.class_ids.iter().map(|&c| group_of[c]).collect();
        let mut names = ids.clone();
        names.sort_unstable();
        names.dedup();
        self.group_of = ids
            .iter()
            .map(|g| names.binary_search(g).unwrap_or(0))
            .collect();
        self.groups = vec![Vec::new(); names.len()];
        for (c, &g) in self.group_of.iter().enumerate() {
            self.groups[g].push(c);
        }
        self.group_share = share;
        Ok(self)
    }

    /// The next batch: `p * k` item indices, class by class. Classes are
    /// visited in a reshuffled order each pass (or, for a one-group batch,
    /// drawn from one group); a class with fewer than `k` items repeats some of them.
    pub fn batch(&mut self, rng: &mut Rng) -> Vec<usize> {
        let classes = if self.group_share > 0.0 && rng.unit() < self.group_share {
            self.one_group_classes(rng)
        } else {
            self.next_classes(rng)
        };
        let mut out = Vec::with_capacity(self.p * self.k);
        for c in classes {
            let items = &mut self.by_class[c];
            rng.shuffle(items);
            out.extend((0..self.k).map(|j| items[j % items.len()]));
        }
        out
    }

    fn next_classes(&mut self, rng: &mut Rng) -> Vec<usize> {
        (0..self.p)
            .map(|_| {
                if self.next >= self.order.len() {
                    rng.shuffle(&mut self.order);
                    self.next = 0;
                }
                self.next += 1;
                self.order[self.next - 1]
            })
            .collect()
    }

    fn one_group_classes(&self, rng: &mut Rng) -> Vec<usize> {
        let group = self.group_of[rng.below(self.by_class.len())];
        let mut classes = self.groups[group].clone();
        rng.shuffle(&mut classes);
        classes.truncate(self.p);
        while classes.len() < self.p {
            let c = rng.below(self.by_class.len());
            if !classes.contains(&c) {
                classes.push(c);
            }
        }
        classes
    }

    /// Number of classes taking part.
    pub fn classes(&self) -> usize {
        self.by_class.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_have_p_classes_of_k() {
        let labels: Vec<usize> = (0..40).map(|i| i / 5).collect(); // 8 classes x 5
        let mut s = PkSampler::new(&labels, 3, 4).unwrap();
        let mut rng = Rng::new(3);
        for _ in 0..10 {
            let b = s.batch(&mut rng);
            assert_eq!(b.len(), 12);
            for chunk in b.chunks(4) {
                assert!(chunk.iter().all(|&i| labels[i] == labels[chunk[0]]));
                let mut c = chunk.to_vec();
                c.sort_unstable();
                c.dedup();
                assert_eq!(c.len(), 4, "k distinct items when the class has enough");
            }
        }
        assert!(PkSampler::new(&labels, 9, 2).is_err());
        assert!(PkSampler::new(&labels, 2, 1).is_err());
    }

    #[test]
    fn one_group_batches_keep_to_a_group_and_top_up_small_ones() {
        // 8 classes x 5 items; groups {0..5} and {5, 6, 7}; class 3 has one item only.
        let mut labels: Vec<usize> = (0..40).map(|i| i / 5).collect();
        labels.retain(|&l| l != 3);
        labels.push(3);
        let group_of = [0, 0, 0, 0, 0, 1, 1, 1];
        let mut s = PkSampler::new(&labels, 4, 2)
            .unwrap()
            .with_group_batches(&group_of, 1.0)
            .unwrap();
        let mut rng = Rng::new(5);
        let (mut pure, mut topped) = (0, 0);
        for _ in 0..200 {
            let b = s.batch(&mut rng);
            let classes: Vec<usize> = b.chunks(2).map(|c| labels[c[0]]).collect();
            let mut distinct = classes.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), 4, "P distinct classes: {classes:?}");
            assert!(!classes.contains(&3), "a one-item class takes no part");
            let groups: Vec<usize> = classes.iter().map(|&c| group_of[c]).collect();
            if groups.iter().all(|&g| g == 0) {
                pure += 1;
            } else {
                // Group 1 has three classes: they come first, then one other.
                assert_eq!(groups[..3], [1, 1, 1], "{classes:?}");
                topped += 1;
            }
        }
        // Group 0 has four usable classes and group 1 three: draws go 4 : 3.
        assert!(pure > 80 && topped > 60, "{pure} / {topped}");
        assert!(PkSampler::new(&labels, 4, 2)
            .unwrap()
            .with_group_batches(&group_of, 1.5)
            .is_err());
        assert!(PkSampler::new(&labels, 4, 2)
            .unwrap()
            .with_group_batches(&group_of[..7], 1.0)
            .is_err());
    }
}
