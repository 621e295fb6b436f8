//! Chroma upsampling (triangle filter) and JFIF YCbCr to RGB conversion.

/// 1.402 (Cr to R).
const CR_R: f32 = 1.402;
/// 0.344136 (Cb to G).
const CB_G: f32 = 0.344_136;
/// 0.714136 (Cr to G).
const CR_G: f32 = 0.714_136;
/// 1.772 (Cb to B).
const CB_B: f32 = 1.772;
/// Pixels converted per step (a width the compiler can vectorize).
const LANES: usize = 8;

/// A decoded chroma plane at its own (possibly halved) resolution.
pub(crate) struct ChromaPlane<'a> {
    /// Samples, `stride` bytes per row.
    pub data: &'a [u8],
    /// Bytes between rows.
    pub stride: usize,
    /// Real samples per row (excluding block padding).
    pub width: usize,
    /// Real rows (excluding block padding).
    pub height: usize,
    /// Horizontal upsampling factor, 1 or 2.
    pub ratio_h: usize,
    /// Vertical upsampling factor, 1 or 2.
    pub ratio_v: usize,
}

impl ChromaPlane<'_> {
    /// Row `y` of the plane, limited to its real width.
    fn row(&self, y: usize) -> &[u8] {
        &self.data[y * self.stride..y * self.stride + self.width]
    }

    /// Produces full-resolution output row `y` (`out.len()` samples).
    ///
    /// Upsampling is libjpeg-style "fancy" (triangle) filtering: each output sample weighs
    /// its nearest chroma sample 3/4 and the next nearest 1/4 per upsampled axis, with edge
    /// samples replicated; `sums` is scratch of at least `width` entries.
    pub(crate) fn upsample_row<'o>(
        &'o self,
        y: usize,
        sums: &mut [u16],
        out: &'o mut [u8],
    ) -> &'o [u8] {
        let near_y = y / self.ratio_v;
        if self.ratio_h == 1 && self.ratio_v == 1 {
            return &self.row(near_y)[..out.len()];
        }
        let near = self.row(near_y);
        if self.ratio_v == 1 {
            widen::<4, _>(near, out);
            return out;
        }
        let sums = &mut sums[..self.width];
        let far_y = if y % 2 == 0 {
            near_y.saturating_sub(1)
        } else {
            (near_y + 1).min(self.height - 1)
        };
        for ((s, &n), &f) in sums.iter_mut().zip(near).zip(self.row(far_y)) {
            *s = 3 * u16::from(n) + u16::from(f);
        }
        if self.ratio_h == 2 {
            widen::<1, _>(sums, out);
        } else {
            let bias = 1 + (y as u16 & 1);
            for (o, &s) in out.iter_mut().zip(sums.iter()) {
                *o = ((s + bias) >> 2) as u8;
            }
        }
        out
    }
}

/// Doubles a row horizontally with the triangle filter. `src` holds samples multiplied by
/// `4 / SCALE` (column sums of vertical filtering have `SCALE` 1, plain samples `SCALE` 4).
#[inline]
fn widen<const SCALE: u32, T: Copy + Into<u32>>(src: &[T], out: &mut [u8]) {
    let at = |i: usize| SCALE * src[i].into();
    let interior = 2.min(out.len());
    for (pair, w) in out[interior..].chunks_exact_mut(2).zip(src.windows(3)) {
        let centre = 3 * SCALE * w[1].into();
        pair[0] = ((centre + SCALE * w[0].into() + 8) >> 4) as u8;
        pair[1] = ((centre + SCALE * w[2].into() + 7) >> 4) as u8;
    }
    let last = src.len() - 1;
    for i in [0, last] {
        let centre = 3 * at(i);
        if let Some(first) = out.get_mut(2 * i) {
            *first = ((centre + at(i.saturating_sub(1)) + 8) >> 4) as u8;
        }
        if let Some(second) = out.get_mut(2 * i + 1) {
            *second = ((centre + at((i + 1).min(last)) + 7) >> 4) as u8;
        }
    }
}

/// Converts one row of full-range BT.601 YCbCr samples to interleaved RGB, rounding to
/// nearest and clamping.
pub(crate) fn ycbcr_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    let n = out.len() / 3;
    let (y, cb, cr) = (&y[..n], &cb[..n], &cr[..n]);
    let whole = n - n % LANES;
    let groups = out[..whole * 3].chunks_exact_mut(3 * LANES);
    for (i, px) in groups.enumerate() {
        let at =
            |s: &[u8]| -> [u8; LANES] { s[i * LANES..][..LANES].try_into().unwrap_or([0; LANES]) };
        let (yy, bb, rr) = (at(y), at(cb), at(cr));
        let mut rgb = [[0u8; 3]; LANES];
        for l in 0..LANES {
            rgb[l] = convert(yy[l], bb[l], rr[l]);
        }
        px.copy_from_slice(rgb.as_flattened());
    }
    for (j, px) in out[whole * 3..].chunks_exact_mut(3).enumerate() {
        let k = whole + j;
        px.copy_from_slice(&convert(y[k], cb[k], cr[k]));
    }
}

/// Converts one pixel.
#[inline(always)]
fn convert(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
    [
        to_u8(y + CR_R * cr),
        to_u8(y - CB_G * cb - CR_G * cr),
        to_u8(y + CB_B * cb),
    ]
}

/// Clamps to 0..=255 and rounds to nearest; adding 2^23 leaves the integer in the low
/// mantissa bits, which keeps the conversion in vector registers.
#[inline(always)]
fn to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 255.0) + 8_388_608.0).to_bits() as u8
}

/// Replicates grey samples into RGB triples.
pub(crate) fn grey_to_rgb(y: &[u8], out: &mut [u8]) {
    for (px, &y) in out.chunks_exact_mut(3).zip(y) {
        px.fill(y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_primaries() {
        let mut out = [0u8; 9];
        ycbcr_to_rgb(&[76, 150, 29], &[85, 44, 255], &[255, 21, 107], &mut out);
        assert_eq!(out, [254, 0, 0, 0, 255, 1, 0, 0, 254]);
        // The vectorized groups and the scalar tail agree.
        let y: Vec<u8> = (0..19).map(|i| i * 13).collect();
        let c: Vec<u8> = (0..19).map(|i| 255 - i * 11).collect();
        let mut long = vec![0u8; 19 * 3];
        ycbcr_to_rgb(&y, &c, &y, &mut long);
        for (i, px) in long.chunks_exact(3).enumerate() {
            assert_eq!(px, convert(y[i], c[i], y[i]));
        }
    }

    #[test]
    fn widens_with_triangle_filter() {
        let sums = [0u16, 400, 800];
        let mut out = [0u8; 5];
        widen::<1, _>(&sums, &mut out);
        assert_eq!(out, [0, 25, 75, 125, 175]);
        let samples = [0u8, 100, 200, 40];
        let mut out = [0u8; 8];
        widen::<4, _>(&samples, &mut out);
        assert_eq!(out, [0, 25, 75, 125, 175, 160, 80, 40]);
        let mut one = [0u8; 1];
        widen::<4, _>(&[9u8], &mut one);
        assert_eq!(one, [9]);
    }
}
