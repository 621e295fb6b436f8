//! The head's outputs to one box: softmax scores, boxes decoded on the score
//! grid, the scale and aspect-ratio change penalty, the cosine window, and the
//! best cell. Arrays are made once per tracker.

use crate::model::TrackerSpec;

/// The chosen cell of one frame, in search-crop pixels relative to the crop's centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Index of the cell in the row-major score grid.
    pub cell: usize,
    /// Target probability of that cell.
    pub score: f64,
    /// Its change penalty.
    pub penalty: f64,
    /// Box centre x offset from the crop centre.
    pub dx: f64,
    /// Box centre y offset from the crop centre.
    pub dy: f64,
    /// Box width.
    pub width: f64,
    /// Box height.
    pub height: f64,
}

/// Decodes the head's class logits and box distances.
#[derive(Debug)]
pub struct Decoder {
    cells: usize,
    window_influence: f64,
    penalty_k: f64,
    window: Vec<f64>,
    grid: Vec<(f64, f64)>,
    scores: Vec<f64>,
}

impl Decoder {
    /// A decoder for the score grid and constants of `spec`.
    pub fn new(spec: &TrackerSpec) -> Decoder {
        let n = spec.score_size;
        let hann: Vec<f64> = (0..n)
            .map(|i| {
                if n == 1 {
                    1.0
                } else {
                    0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos()
                }
            })
            .collect();
        let mut window = Vec::with_capacity(n * n);
        let mut grid = Vec::with_capacity(n * n);
        let half = (n / 2) as f64;
        for i in 0..n {
            for j in 0..n {
                window.push(hann[i] * hann[j]);
                grid.push((
                    (j as f64 - half) * spec.stride as f64,
                    (i as f64 - half) * spec.stride as f64,
                ));
            }
        }
        Decoder {
            cells: n * n,
            window_influence: spec.window_influence as f64,
            penalty_k: spec.penalty_k as f64,
            window,
            grid,
            scores: vec![0.0; n * n],
        }
    }

    /// Number of cells in the score grid.
    pub fn cells(&self) -> usize {
        self.cells
    }

    /// The target probability of every cell of the last decoded frame.
    pub fn scores(&self) -> &[f64] {
        &self.scores
    }

    /// Decodes `logits` (`[2, cells]`: background, target) and `distances`
    /// (`[4, cells]`: left, top, right, bottom) for a target of
    /// `target_w x target_h` search-crop pixels; `window_influence` replaces
    /// the manifest's weight of the cosine window when given.
    pub fn decode(
        &mut self,
        logits: &[f32],
        distances: &[f32],
        target_w: f64,
        target_h: f64,
        window_influence: Option<f64>,
    ) -> Peak {
        let n = self.cells;
        let wi = window_influence.unwrap_or(self.window_influence);
        let target_size = change_size(target_w, target_h);
        let target_ratio = target_w / target_h;
        let mut best = (f64::NEG_INFINITY, 0usize, 0.0);
        for k in 0..n {
            let score = 1.0 / (1.0 + (logits[k] as f64 - logits[n + k] as f64).exp());
            self.scores[k] = score;
            let (w, h) = cell_box_size(distances, n, k);
            let s_c = change(change_size(w, h) / target_size);
            let r_c = change(target_ratio / (w / h));
            let penalty = (-(r_c * s_c - 1.0) * self.penalty_k).exp();
            let pscore = penalty * score * (1.0 - wi) + self.window[k] * wi;
            if pscore > best.0 {
                best = (pscore, k, penalty);
            }
        }
        let (_, k, penalty) = best;
        let (px, py) = self.grid[k];
        let l = distances[k] as f64;
        let t = distances[n + k] as f64;
        let r = distances[2 * n + k] as f64;
        let b = distances[3 * n + k] as f64;
        let (x1, y1, x2, y2) = (px - l, py - t, px + r, py + b);
        Peak {
            cell: k,
            score: self.scores[k],
            penalty,
            dx: (x1 + x2) / 2.0,
            dy: (y1 + y2) / 2.0,
            width: x2 - x1,
            height: y2 - y1,
        }
    }
}

fn cell_box_size(distances: &[f32], n: usize, k: usize) -> (f64, f64) {
    let l = distances[k] as f64;
    let t = distances[n + k] as f64;
    let r = distances[2 * n + k] as f64;
    let b = distances[3 * n + k] as f64;
    (r + l, b + t)
}

/// The padded size `sqrt((w + p)(h + p))`, `p = (w + h) / 2`.
pub(super) fn change_size(w: f64, h: f64) -> f64 {
    let p = (w + h) / 2.0;
    ((w + p) * (h + p)).sqrt()
}

fn change(r: f64) -> f64 {
    r.max(1.0 / r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TrackerSpec {
        TrackerSpec {
            exemplar_size: 127,
            instance_size: 255,
            score_size: 15,
            stride: 16,
            context_amount: 0.5,
            window_influence: 0.455,
            penalty_k: 0.138,
            lr: 0.348,
            template_features: vec![1, 96, 8, 8],
            search_features: vec![1, 96, 16, 16],
        }
    }

    #[test]
    fn a_confident_off_centre_cell_beats_the_window() {
        let mut d = Decoder::new(&spec());
        let n = d.cells();
        let mut logits = vec![0.0f32; 2 * n];
        let mut dist = vec![20.0f32; 4 * n];
        let k = 7 * 15 + 9; // row 7, column 9: 32 px right of the centre
        logits[n + k] = 8.0;
        dist[2 * n + k] = 30.0; // right edge further out
        let p = d.decode(&logits, &dist, 40.0, 40.0, None);
        assert_eq!(p.cell, k);
        assert!((p.score - 1.0 / (1.0 + (-8.0f64).exp())).abs() < 1e-12);
        assert_eq!((p.dx, p.dy, p.width, p.height), (37.0, 0.0, 50.0, 40.0));
        assert!(p.penalty < 1.0);
    }

    #[test]
    fn with_flat_scores_the_centre_wins() {
        let mut d = Decoder::new(&spec());
        let n = d.cells();
        let p = d.decode(&vec![0.0; 2 * n], &vec![20.0; 4 * n], 40.0, 40.0, None);
        assert_eq!(p.cell, 7 * 15 + 7);
        assert_eq!((p.dx, p.dy), (0.0, 0.0));
        assert!((p.penalty - 1.0).abs() < 1e-12);
    }
}
