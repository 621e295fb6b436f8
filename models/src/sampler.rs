//! The P x K batch sampler: P classes, K items of each, so that every batch
//! holds positives and negatives for every anchor.

use crate::rng::Rng;
use crate::TrainError;

/// Draws P x K batches from items grouped by class.
#[derive(Debug, Clone)]
pub struct PkSampler {
    by_class: Vec<Vec<usize>>,
    p: usize,
    k: usize,
    order: Vec<usize>,
    next: usize,
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
        Ok(PkSampler {
            by_class,
            p,
            k,
            order,
            next: usize::MAX,
        })
    }

    /// The next batch: `p * k` item indices, class by class. Classes are
    /// visited in a reshuffled order each pass; a class with fewer than `k`
    /// items repeats some of them.
    pub fn batch(&mut self, rng: &mut Rng) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.p * self.k);
        for _ in 0..self.p {
            if self.next >= self.order.len() {
                rng.shuffle(&mut self.order);
                self.next = 0;
            }
            let items = &mut self.by_class[self.order[self.next]];
            self.next += 1;
            rng.shuffle(items);
            out.extend((0..self.k).map(|j| items[j % items.len()]));
        }
        out
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
}
