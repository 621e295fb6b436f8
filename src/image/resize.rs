//! Bilinear resizing and crop-and-resize, into caller-owned buffers.

use super::RgbImage;

/// What a sample outside the image reads.
#[derive(Clone, Copy)]
pub(super) enum Border {
    /// The nearest edge pixel.
    Clamp,
    /// Black.
    Zero,
}

/// Bilinear sample at continuous pixel coordinates (pixel centres at integers).
pub(super) fn sample(src: &RgbImage, x: f32, y: f32, border: Border) -> [f32; 3] {
    let x0 = x.floor();
    let y0 = y.floor();
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let mut acc = [0f32; 3];
    for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
        for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
            let w = wx * wy;
            if w == 0.0 {
                continue;
            }
            let (mut px, mut py) = (x0 + dx, y0 + dy);
            let inside = px >= 0 && py >= 0 && px < src.width as i64 && py < src.height as i64;
            if !inside {
                match border {
                    Border::Zero => continue,
                    Border::Clamp => {
                        px = px.clamp(0, src.width as i64 - 1);
                        py = py.clamp(0, src.height as i64 - 1);
                    }
                }
            }
            let i = (py as usize * src.width + px as usize) * 3;
            for (a, &v) in acc.iter_mut().zip(&src.data[i..i + 3]) {
                *a += w * v as f32;
            }
        }
    }
    acc
}

fn store(out: &mut [u8], v: [f32; 3]) {
    for c in 0..3 {
        out[c] = (v[c] + 0.5).clamp(0.0, 255.0) as u8;
    }
}

/// Reused buffers of [`resize`]: the horizontally averaged rows, an output
/// row being accumulated, and the table of source pixels (with their
/// coverage) that each output column or row averages.
#[derive(Debug, Clone, Default)]
pub struct ResizeScratch {
    rows: Vec<f32>,
    acc: Vec<f32>,
    taps: Vec<(usize, f32)>,
    starts: Vec<usize>,
}

impl ResizeScratch {
    /// Fills the tap table for `n` outputs over `len` inputs at `scale`
    /// inputs per output: output `i` reads `taps[starts[i]..starts[i + 1]]`.
    fn plan(&mut self, n: usize, scale: f32, len: usize) {
        self.taps.clear();
        self.starts.clear();
        for i in 0..n {
            self.starts.push(self.taps.len());
            for_covered(i, scale, len, |k, w| self.taps.push((k, w)));
        }
        self.starts.push(self.taps.len());
    }

    fn taps(&self, i: usize) -> &[(usize, f32)] {
        &self.taps[self.starts[i]..self.starts[i + 1]]
    }
}

/// Resizes `src` to `width x height` into `out`: area averaging when
/// shrinking (each output pixel is the mean of the source area it covers, so
/// large reductions do not alias), half-pixel-centre bilinear when enlarging.
/// `scratch` holds reused intermediate buffers.
pub fn resize(
    src: &RgbImage,
    width: usize,
    height: usize,
    out: &mut RgbImage,
    scratch: &mut ResizeScratch,
) {
    out.reshape(width, height);
    let sx = src.width as f32 / width as f32;
    let sy = src.height as f32 / height as f32;
    if sx <= 1.0 || sy <= 1.0 {
        for v in 0..height {
            let y = (v as f32 + 0.5) * sy - 0.5;
            for u in 0..width {
                let x = (u as f32 + 0.5) * sx - 0.5;
                store(
                    &mut out.data[(v * width + u) * 3..][..3],
                    sample(src, x, y, Border::Clamp),
                );
            }
        }
        return;
    }
    // Horizontal pass: src.height rows of `width` averaged pixels, each a
    // sum over its covered source pixels in order.
    scratch.plan(width, sx, src.width);
    let mut rows = std::mem::take(&mut scratch.rows);
    rows.resize(width * src.height * 3, 0.0);
    for (y, averaged) in rows.chunks_exact_mut(width * 3).enumerate() {
        let row = &src.data[y * src.width * 3..][..src.width * 3];
        for (u, px) in averaged.chunks_exact_mut(3).enumerate() {
            let mut sum = [0f32; 3];
            for &(x, w) in scratch.taps(u) {
                let p = &row[x * 3..x * 3 + 3];
                sum[0] += w * p[0] as f32;
                sum[1] += w * p[1] as f32;
                sum[2] += w * p[2] as f32;
            }
            px.copy_from_slice(&sum);
        }
    }
    // Vertical pass: each output row sums its covered averaged rows in order.
    scratch.plan(height, sy, src.height);
    let norm = 1.0 / (sx * sy);
    let mut acc = std::mem::take(&mut scratch.acc);
    for v in 0..height {
        acc.clear();
        acc.resize(width * 3, 0.0);
        for &(y, w) in scratch.taps(v) {
            for (a, &p) in acc.iter_mut().zip(&rows[y * width * 3..][..width * 3]) {
                *a += w * p;
            }
        }
        for (u, px) in acc.chunks_exact(3).enumerate() {
            store(
                &mut out.data[(v * width + u) * 3..][..3],
                [px[0] * norm, px[1] * norm, px[2] * norm],
            );
        }
    }
    scratch.rows = rows;
    scratch.acc = acc;
}

/// Calls `f(source index, coverage)` for each source pixel that output pixel
/// `i` covers when `scale` source pixels make one output pixel.
fn for_covered(i: usize, scale: f32, len: usize, mut f: impl FnMut(usize, f32)) {
    let start = i as f32 * scale;
    let end = (start + scale).min(len as f32);
    let mut k = start.floor() as usize;
    while (k as f32) < end && k < len {
        let w = (end.min(k as f32 + 1.0) - start.max(k as f32)).max(0.0);
        f(k, w);
        k += 1;
    }
}

/// Cuts the box `[x1, y1, x2, y2]` (inclusive pixel corners, rounded to whole
/// pixels; parts outside the image read black) into `patch`, then resizes it
/// to `size x size` into `out` with [`resize`]. `patch` and `scratch` are
/// reused buffers.
pub fn crop_resize(
    src: &RgbImage,
    b: [f32; 4],
    size: usize,
    out: &mut RgbImage,
    patch: &mut RgbImage,
    scratch: &mut ResizeScratch,
) {
    let (x1, y1) = (b[0].round() as i64, b[1].round() as i64);
    let w = (b[2].round() as i64 - x1 + 1).max(1) as usize;
    let h = (b[3].round() as i64 - y1 + 1).max(1) as usize;
    patch.reshape(w, h);
    patch.data.fill(0);
    let xs = x1.max(0)..(x1 + w as i64).min(src.width as i64);
    for y in y1.max(0)..(y1 + h as i64).min(src.height as i64) {
        if xs.is_empty() {
            break;
        }
        let from = (y as usize * src.width + xs.start as usize) * 3;
        let to = ((y - y1) as usize * w + (xs.start - x1) as usize) * 3;
        let n = (xs.end - xs.start) as usize * 3;
        patch.data[to..to + n].copy_from_slice(&src.data[from..from + n]);
    }
    resize(patch, size, size, out, scratch);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> RgbImage {
        let mut img = RgbImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 3;
                img.data[i] = (x * 10) as u8;
                img.data[i + 1] = (y * 10) as u8;
            }
        }
        img
    }

    #[test]
    fn identity_resize_keeps_pixels() {
        let src = gradient(8, 6);
        let mut out = RgbImage::default();
        resize(&src, 8, 6, &mut out, &mut ResizeScratch::default());
        assert_eq!(out, src);
    }

    #[test]
    fn downscale_averages_the_covered_area() {
        let src = gradient(8, 8);
        let mut out = RgbImage::default();
        let mut scratch = ResizeScratch::default();
        resize(&src, 4, 4, &mut out, &mut scratch);
        // output pixel 1 covers source columns 2 and 3: red 20 and 30.
        assert_eq!(out.pixel(1, 0)[0], 25);
        // 8 -> 3: output pixel 1 covers columns 2.67..5.33: (1/3*20 + 30 + 40 + 1/3*50) / (8/3).
        resize(&src, 3, 3, &mut out, &mut scratch);
        assert_eq!(out.pixel(1, 0)[0], 35);
        assert_eq!(out.pixel(0, 2)[1], 61);
    }

    /// The area average written out pixel by pixel, as [`resize`] computed
    /// it before its coverage tables: the tables must not change a value.
    fn area_average_per_pixel(src: &RgbImage, width: usize, height: usize) -> RgbImage {
        let (sx, sy) = (
            src.width as f32 / width as f32,
            src.height as f32 / height as f32,
        );
        let mut rows = vec![0f32; width * src.height * 3];
        for y in 0..src.height {
            for u in 0..width {
                for_covered(u, sx, src.width, |x, w| {
                    for c in 0..3 {
                        rows[(y * width + u) * 3 + c] +=
                            w * src.data[(y * src.width + x) * 3 + c] as f32;
                    }
                });
            }
        }
        let mut out = RgbImage::new(width, height);
        for v in 0..height {
            for u in 0..width {
                let mut acc = [0f32; 3];
                for_covered(v, sy, src.height, |y, w| {
                    for c in 0..3 {
                        acc[c] += w * rows[(y * width + u) * 3 + c];
                    }
                });
                store(
                    &mut out.data[(v * width + u) * 3..][..3],
                    acc.map(|a| a * (1.0 / (sx * sy))),
                );
            }
        }
        out
    }

    #[test]
    fn coverage_tables_give_the_per_pixel_average_exactly() {
        let mut scratch = ResizeScratch::default();
        let mut out = RgbImage::default();
        for (sw, sh, w, h) in [
            (640, 480, 192, 144),
            (640, 480, 137, 103),
            (640, 480, 13, 10),
            (250, 250, 24, 24),
            (97, 53, 40, 17),
            (1280, 720, 20, 12),
        ] {
            let mut src = RgbImage::new(sw, sh);
            let mut state = 0x2545_f491_u32;
            for v in &mut src.data {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *v = (state >> 24) as u8;
            }
            resize(&src, w, h, &mut out, &mut scratch);
            assert_eq!(
                out,
                area_average_per_pixel(&src, w, h),
                "{sw}x{sh} -> {w}x{h}"
            );
        }
    }

    #[test]
    fn enlarging_interpolates() {
        let src = gradient(2, 1);
        let mut out = RgbImage::default();
        resize(&src, 4, 1, &mut out, &mut ResizeScratch::default());
        assert_eq!(
            out.data.iter().step_by(3).copied().collect::<Vec<_>>(),
            vec![0, 3, 8, 10]
        );
    }

    #[test]
    fn crop_outside_reads_black() {
        let src = gradient(4, 4);
        let (mut out, mut patch, mut scratch) = (
            RgbImage::default(),
            RgbImage::default(),
            ResizeScratch::default(),
        );
        crop_resize(
            &src,
            [-4.0, -4.0, -1.0, -1.0],
            4,
            &mut out,
            &mut patch,
            &mut scratch,
        );
        assert!(out.data.iter().all(|&v| v == 0));
        crop_resize(
            &src,
            [0.0, 0.0, 3.0, 3.0],
            4,
            &mut out,
            &mut patch,
            &mut scratch,
        );
        assert_eq!(out, src);
        crop_resize(
            &src,
            [2.0, 1.0, 5.0, 4.0],
            4,
            &mut out,
            &mut patch,
            &mut scratch,
        );
        assert_eq!(out.pixel(0, 0), src.pixel(2, 1));
        assert_eq!(out.pixel(1, 2), src.pixel(3, 3));
        assert_eq!(out.pixel(2, 0), [0, 0, 0]);
    }
}
