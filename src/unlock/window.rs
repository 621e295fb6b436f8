//! The k-of-n rule over the last frames compared, in a fixed-capacity ring.

use heapless::Deque;

use super::MAX_WINDOW;

/// Whether each of the last `n` compared frames matched; accepts at `k` matches.
#[derive(Debug, Clone)]
pub struct MatchWindow {
    hits: Deque<bool, MAX_WINDOW>,
    k: usize,
    n: usize,
}

impl MatchWindow {
    /// A window of `n` frames needing `k` matches (`1 <= k <= n <= MAX_WINDOW`, clamped).
    pub fn new(k: usize, n: usize) -> MatchWindow {
        let n = n.clamp(1, MAX_WINDOW);
        MatchWindow {
            hits: Deque::new(),
            k: k.clamp(1, n),
            n,
        }
    }

    /// Records one compared frame; true once `k` of the last `n` matched.
    pub fn push(&mut self, matched: bool) -> bool {
        if self.hits.len() == self.n {
            self.hits.pop_front();
        }
        // Cannot fail: one slot was freed above when the window was full.
        let _ = self.hits.push_back(matched);
        self.hits.iter().filter(|&&h| h).count() >= self.k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_of_three() {
        let mut w = MatchWindow::new(2, 3);
        assert!(!w.push(true));
        assert!(!w.push(false));
        assert!(!w.push(false));
        assert!(!w.push(true), "the first match fell out of the window");
        assert!(w.push(true));
        let mut w = MatchWindow::new(1, 1);
        assert!(w.push(true));
    }
}
