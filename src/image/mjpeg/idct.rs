//! Separable 8x8 inverse DCT in `f32`, using an even/odd butterfly (22 multiplies per 8 points).
//!
//! Blocks are stored transposed, `block[u][v]` (horizontal frequency first), so that the row
//! pass runs on whole vectors and only one transpose is needed before the column pass.

/// Half the cosines `0.5 * cos(k * pi / 16)` for k = 1..=7 (index 0 unused).
const C: [f32; 8] = [
    0.0,
    0.490_392_64,
    0.461_939_77,
    0.415_734_8,
    0.353_553_4,
    0.277_785_12,
    0.191_341_72,
    0.097_545_16,
];

/// Which coefficients of a block may be non-zero, so the transform can skip work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extent {
    /// Only the DC coefficient.
    Dc,
    /// Only frequencies below 4 in both directions.
    Low,
    /// Any coefficient.
    Full,
}

impl Extent {
    /// The extent of a block with a non-zero coefficient at (transposed) index `t`.
    #[inline(always)]
    pub(crate) fn of_index(t: usize) -> Extent {
        if t & 0b100_100 != 0 {
            Extent::Full
        } else {
            Extent::Low
        }
    }

    /// The smallest extent covering both.
    #[inline(always)]
    pub(crate) fn max(self, other: Extent) -> Extent {
        match (self, other) {
            (Extent::Full, _) | (_, Extent::Full) => Extent::Full,
            (Extent::Low, _) | (_, Extent::Low) => Extent::Low,
            _ => Extent::Dc,
        }
    }
}

/// Eight 1-D transforms side by side: `x[k]` holds coefficient `k` of all eight lanes.
/// With `LOW`, coefficients 4..8 are known to be zero and are not read.
#[inline(always)]
fn idct8_lanes<const LOW: bool>(x: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
    let mut y = [[0.0f32; 8]; 8];
    for l in 0..8 {
        let (x0, x1, x2, x3) = (x[0][l], x[1][l], x[2][l], x[3][l]);
        let (x4, x5, x6, x7) = if LOW {
            (0.0, 0.0, 0.0, 0.0)
        } else {
            (x[4][l], x[5][l], x[6][l], x[7][l])
        };
        let e0 = C[4] * (x0 + x4);
        let e1 = C[4] * (x0 - x4);
        let f0 = C[2] * x2 + C[6] * x6;
        let f1 = C[6] * x2 - C[2] * x6;
        let ev = [e0 + f0, e1 + f1, e1 - f1, e0 - f0];
        let od = [
            C[1] * x1 + C[3] * x3 + C[5] * x5 + C[7] * x7,
            C[3] * x1 - C[7] * x3 - C[1] * x5 - C[5] * x7,
            C[5] * x1 - C[1] * x3 + C[7] * x5 + C[3] * x7,
            C[7] * x1 - C[5] * x3 + C[3] * x5 - C[1] * x7,
        ];
        for n in 0..4 {
            y[n][l] = ev[n] + od[n];
            y[7 - n][l] = ev[n] - od[n];
        }
    }
    y
}

/// Transposes an 8x8 matrix.
#[inline(always)]
fn transpose(m: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
    let mut t = [[0.0f32; 8]; 8];
    for (r, row) in m.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            t[c][r] = v;
        }
    }
    t
}

/// Both passes; `LOW` when only the top-left 4x4 coefficients are non-zero.
#[inline(always)]
fn idct2d<const LOW: bool>(block: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
    // Row pass: vectors indexed by horizontal frequency, lanes are coefficient rows.
    let rows = idct8_lanes::<LOW>(block);
    // Column pass: vectors indexed by vertical frequency, lanes are pixel columns.
    idct8_lanes::<LOW>(&transpose(&rows))
}

/// Inverse-transforms dequantized coefficients stored transposed (`block[u][v]`) and writes
/// level-shifted, rounded and clamped samples to `out` (8 rows of 8, `stride` apart).
pub(crate) fn idct_block(block: &[[f32; 8]; 8], extent: Extent, out: &mut [u8], stride: usize) {
    let pixels = match extent {
        Extent::Dc => {
            let value = to_sample(block[0][0] * 0.125);
            for row in out.chunks_mut(stride).take(8) {
                row[..8].fill(value);
            }
            return;
        }
        Extent::Low => idct2d::<true>(block),
        Extent::Full => idct2d::<false>(block),
    };
    for (row, samples) in out.chunks_mut(stride).zip(pixels.iter()) {
        let bytes: [u8; 8] = samples.map(to_sample);
        row[..8].copy_from_slice(&bytes);
    }
}

/// Level shift by 128, clamp to 0..=255 and round to nearest.
///
/// Adding 2^23 leaves the rounded integer in the low mantissa bits, which keeps the
/// conversion in vector registers. Inputs are always finite: coefficients are at most
/// about 2^31 * 65535 in magnitude.
#[inline(always)]
fn to_sample(v: f32) -> u8 {
    ((v + 128.0).clamp(0.0, 255.0) + 8_388_608.0).to_bits() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct evaluation of the T.81 A.3.3 IDCT formula in f64 (input `block[u][v]`).
    #[allow(clippy::needless_range_loop)]
    fn reference(block: &[[f32; 8]; 8]) -> [[u8; 8]; 8] {
        let mut out = [[0u8; 8]; 8];
        let cu = |u: usize| {
            if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            }
        };
        for y in 0..8 {
            for x in 0..8 {
                let mut sum = 0.0;
                for v in 0..8 {
                    for u in 0..8 {
                        let cx = (((2 * x + 1) * u) as f64 * std::f64::consts::PI / 16.0).cos();
                        let cy = (((2 * y + 1) * v) as f64 * std::f64::consts::PI / 16.0).cos();
                        sum += cu(u) * cu(v) * f64::from(block[u][v]) * cx * cy;
                    }
                }
                out[y][x] = (sum / 4.0 + 128.0).round().clamp(0.0, 255.0) as u8;
            }
        }
        out
    }

    /// Random coefficients; with `low` only the top-left 4x4 are non-zero.
    fn random_block(seed: &mut u32, low: bool) -> [[f32; 8]; 8] {
        let mut block = [[0.0f32; 8]; 8];
        for (u, row) in block.iter_mut().enumerate() {
            for (v, c) in row.iter_mut().enumerate() {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 17;
                *seed ^= *seed << 5;
                let range = 1024 >> (u + v).min(6);
                if !low || (u < 4 && v < 4) {
                    *c = ((*seed % (2 * range + 1)) as i32 - range as i32) as f32;
                }
            }
        }
        block
    }

    #[test]
    fn matches_reference_formula() {
        let mut seed = 0x1234_5678u32;
        let mut max_diff = 0;
        for i in 0..400 {
            let low = i % 2 == 0;
            let block = random_block(&mut seed, low);
            let mut out = [0u8; 64];
            idct_block(
                &block,
                if low { Extent::Low } else { Extent::Full },
                &mut out,
                8,
            );
            let want = reference(&block);
            for (i, &got) in out.iter().enumerate() {
                max_diff = max_diff.max((i32::from(got) - i32::from(want[i / 8][i % 8])).abs());
            }
        }
        assert!(max_diff <= 1, "max diff {max_diff}");
    }

    #[test]
    fn dc_only_shortcut_agrees() {
        let mut block = [[0.0f32; 8]; 8];
        block[0][0] = -333.0;
        let (mut fast, mut full) = ([0u8; 64], [0u8; 64]);
        idct_block(&block, Extent::Dc, &mut fast, 8);
        idct_block(&block, Extent::Full, &mut full, 8);
        assert_eq!(fast, full);
    }

    #[test]
    fn extreme_coefficients_saturate() {
        let big = i32::MAX as f32 * 65535.0;
        let mut block = [[big; 8]; 8];
        let mut out = [0u8; 64];
        idct_block(&block, Extent::Full, &mut out, 8);
        assert_eq!(out[0], 255);
        block = [[-big; 8]; 8];
        idct_block(&block, Extent::Full, &mut out, 8);
        assert_eq!(out[0], 0);
        assert!(out.iter().all(|&p| p == 0 || p == 255));
    }
}
