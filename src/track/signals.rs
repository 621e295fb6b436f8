//! What a frame says about whether the tracker still holds its target,
//! beyond the raw peak score (which stays near 0.9 after the target is gone):
//! how the peak stands out of the score map, and how much the features at the
//! new box still look like the first template's.

/// The per-frame evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Signals {
    /// Target probability at the chosen cell.
    pub score: f64,
    /// Peak-to-sidelobe ratio of the score map: (peak - mean) / std of the
    /// cells outside the 5x5 neighbourhood of the peak.
    pub psr: f64,
    /// Cosine similarity of the mean-centred template features and the
    /// search features under the new box.
    pub similarity: f64,
}

/// Peak-to-sidelobe ratio of a square `side x side` map around cell `peak`.
pub fn peak_to_sidelobe(map: &[f64], side: usize, peak: usize) -> f64 {
    let (pi, pj) = ((peak / side) as i64, (peak % side) as i64);
    let (mut n, mut sum, mut sq) = (0.0, 0.0, 0.0);
    for (k, &v) in map.iter().enumerate() {
        let (i, j) = ((k / side) as i64, (k % side) as i64);
        if (i - pi).abs() <= 2 && (j - pj).abs() <= 2 {
            continue;
        }
        n += 1.0;
        sum += v;
        sq += v * v;
    }
    if n < 2.0 {
        return 0.0;
    }
    let mean = sum / n;
    let std = (sq / n - mean * mean).max(0.0).sqrt();
    (map[peak] - mean) / std.max(1e-6)
}

/// Cosine similarity of the mean-centred `template` features `[c, t, t]` and
/// the `t x t` window of the `search` features `[c, s, s]` whose top-left
/// cell is `(row, col)`.
pub fn window_similarity(
    template: &[f32],
    search: &[f32],
    channels: usize,
    t: usize,
    s: usize,
    row: usize,
    col: usize,
) -> f64 {
    let n = (channels * t * t) as f64;
    let at = |c: usize, i: usize, j: usize| search[c * s * s + (row + i) * s + col + j] as f64;
    let (mut tm, mut sm) = (0.0, 0.0);
    for c in 0..channels {
        for i in 0..t {
            for j in 0..t {
                tm += template[c * t * t + i * t + j] as f64;
                sm += at(c, i, j);
            }
        }
    }
    tm /= n;
    sm /= n;
    let (mut dot, mut tt, mut ss) = (0.0, 0.0, 0.0);
    for c in 0..channels {
        for i in 0..t {
            for j in 0..t {
                let a = template[c * t * t + i * t + j] as f64 - tm;
                let b = at(c, i, j) - sm;
                dot += a * b;
                tt += a * a;
                ss += b * b;
            }
        }
    }
    dot / (tt.sqrt() * ss.sqrt()).max(1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_peak_stands_out_and_a_flat_map_does_not() {
        let mut map = vec![0.1; 225];
        map[112] = 0.9;
        map[3] = 0.12;
        assert!(peak_to_sidelobe(&map, 15, 112) > 50.0);
        let flat: Vec<f64> = (0..225).map(|k| 0.8 + 0.01 * (k % 3) as f64).collect();
        assert!(peak_to_sidelobe(&flat, 15, 112) < 3.0);
    }

    #[test]
    fn the_template_matches_itself_inside_the_search_features() {
        let (c, t, s) = (2, 2, 4);
        let template = [1.0, 2.0, 3.0, 4.0, 0.0, 1.0, 0.0, 2.0];
        let mut search = vec![0.5f32; c * s * s];
        for ch in 0..c {
            for i in 0..t {
                for j in 0..t {
                    search[ch * s * s + (1 + i) * s + 2 + j] = template[ch * t * t + i * t + j];
                }
            }
        }
        assert!((window_similarity(&template, &search, c, t, s, 1, 2) - 1.0).abs() < 1e-9);
        assert!(window_similarity(&template, &search, c, t, s, 0, 0) < 0.9);
    }
}
