//! The tracker's crop: a square window around a centre, the part outside the
//! frame filled with one colour, resized with OpenCV's bilinear sampling
//! (half-pixel centres, edge taps clamped, 11-bit fixed-point weights) into a
//! planar BGR float tensor, 0..255, as NanoTrack was trained on.

use crate::image::RgbImage;

/// Fixed-point bits of a bilinear weight (OpenCV's `INTER_RESIZE_COEF_BITS`).
const COEF_BITS: u32 = 11;
const COEF_ONE: i32 = 1 << COEF_BITS;

/// One output row's or column's two source taps, in frame coordinates (which
/// may lie outside the frame), and their fixed-point weights.
#[derive(Debug, Clone, Copy, Default)]
struct Tap {
    first: i64,
    second: i64,
    weights: (i32, i32),
}

/// Crops and resizes into a reused `3 x side x side` buffer.
#[derive(Debug)]
pub struct Cropper {
    side: usize,
    columns: Vec<Tap>,
    rows: Vec<Tap>,
    horizontal: [Vec<i32>; 2],
    tensor: Vec<f32>,
}

impl Cropper {
    /// A cropper whose output is `side x side` pixels.
    pub fn new(side: usize) -> Cropper {
        Cropper {
            side,
            columns: vec![Tap::default(); side],
            rows: vec![Tap::default(); side],
            horizontal: [vec![0; 3 * side], vec![0; 3 * side]],
            tensor: vec![0.0; 3 * side * side],
        }
    }

    /// Crops the `window x window` square centred on `(cx, cy)` from `frame`
    /// (pixels outside it read `fill`, in RGB) and resizes it to the output
    /// side. Returns the planar BGR tensor `[3, side, side]`.
    pub fn crop(
        &mut self,
        frame: &RgbImage,
        cx: f64,
        cy: f64,
        window: usize,
        fill: [u8; 3],
    ) -> &[f32] {
        let window = window.max(1);
        let half = (window as f64 + 1.0) / 2.0;
        let x0 = (cx - half + 0.5).floor() as i64;
        let y0 = (cy - half + 0.5).floor() as i64;
        plan_taps(&mut self.columns, x0, window, Axis::Columns);
        plan_taps(&mut self.rows, y0, window, Axis::Rows);
        let plane = self.side * self.side;
        let mut cached: [Option<i64>; 2] = [None, None];
        for (oy, row) in self.rows.iter().enumerate() {
            let (wy0, wy1) = row.weights;
            for (slot, y) in [row.first, row.second].into_iter().enumerate() {
                if cached[slot] == Some(y) {
                    continue;
                }
                let other = 1 - slot;
                if cached[other] == Some(y) {
                    let (a, b) = self.horizontal.split_at_mut(1);
                    if slot == 0 {
                        a[0].copy_from_slice(&b[0]);
                    } else {
                        b[0].copy_from_slice(&a[0]);
                    }
                } else {
                    horizontal(frame, y, &self.columns, fill, &mut self.horizontal[slot]);
                }
                cached[slot] = Some(y);
            }
            let (top, bottom) = (&self.horizontal[0], &self.horizontal[1]);
            for ox in 0..self.side {
                let at = oy * self.side + ox;
                for ch in 0..3 {
                    let v = vertical(top[ox * 3 + ch], bottom[ox * 3 + ch], wy0, wy1);
                    self.tensor[(2 - ch) * plane + at] = v as f32;
                }
            }
        }
        &self.tensor
    }
}

/// The horizontal pass over frame row `y` (all `fill` outside the frame):
/// each output column's two taps blended with their fixed-point weights, per channel.
fn horizontal(frame: &RgbImage, y: i64, columns: &[Tap], fill: [u8; 3], out: &mut [i32]) {
    let inside_row = y >= 0 && y < frame.height as i64;
    let row = if inside_row {
        let start = y as usize * frame.width * 3;
        &frame.data[start..start + frame.width * 3]
    } else {
        &[][..]
    };
    let width = frame.width as i64;
    let at = |x: i64, ch: usize| -> i32 {
        if inside_row && x >= 0 && x < width {
            row[x as usize * 3 + ch] as i32
        } else {
            fill[ch] as i32
        }
    };
    for (o, t) in out.chunks_exact_mut(3).zip(columns) {
        let (w0, w1) = t.weights;
        for (ch, v) in o.iter_mut().enumerate() {
            *v = w0 * at(t.first, ch) + w1 * at(t.second, ch);
        }
    }
}

/// The vertical blend of two horizontally blended values, rounded as
/// OpenCV's vectorised 8-bit path does (16-bit high products, then a 2-bit
/// rounding shift), so crops match the reference's to the last bit.
fn vertical(top: i32, bottom: i32, wy0: i32, wy1: i32) -> u8 {
    let v = ((wy0 * (top >> 4)) >> 16) + ((wy1 * (bottom >> 4)) >> 16);
    ((v + 2) >> 2).clamp(0, 255) as u8
}

/// Which axis taps are planned for: OpenCV clamps the fraction at the
/// edges of columns, but only the row indices of rows.
#[derive(Clone, Copy, PartialEq)]
enum Axis {
    Columns,
    Rows,
}

/// The taps of each output position along one axis for a window of `window`
/// source pixels starting at frame coordinate `start`.
fn plan_taps(taps: &mut [Tap], start: i64, window: usize, axis: Axis) {
    let out = taps.len();
    if window == out {
        for (i, t) in taps.iter_mut().enumerate() {
            *t = Tap {
                first: start + i as i64,
                second: start + i as i64,
                weights: (COEF_ONE, 0),
            };
        }
        return;
    }
    let scale = 1.0 / (out as f64 / window as f64);
    let last = window as i64 - 1;
    for (i, t) in taps.iter_mut().enumerate() {
        let f = ((i as f64 + 0.5) * scale - 0.5) as f32;
        let mut s = f.floor() as i64;
        let mut frac = f - s as f32;
        if axis == Axis::Columns {
            if s < 0 {
                s = 0;
                frac = 0.0;
            }
            if s >= last {
                s = last;
                frac = 0.0;
            }
        }
        let weight = |w: f32| (w * COEF_ONE as f32).round_ties_even() as i32;
        *t = Tap {
            first: start + s.clamp(0, last),
            second: start + (s + 1).clamp(0, last),
            weights: (weight(1.0 - frac), weight(frac)),
        };
    }
}

/// The per-channel mean of a frame, truncated to whole values (the fill
/// colour of every crop of a sequence, taken from its first frame).
pub fn mean_colour(frame: &RgbImage) -> [u8; 3] {
    let mut sum = [0u64; 3];
    for p in frame.data.chunks_exact(3) {
        for c in 0..3 {
            sum[c] += p[c] as u64;
        }
    }
    let n = (frame.width * frame.height).max(1) as u64;
    sum.map(|s| (s / n) as u8)
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
                img.data[i + 2] = 200;
            }
        }
        img
    }

    #[test]
    fn an_unscaled_crop_copies_pixels_in_bgr_and_fills_outside() {
        let img = gradient(8, 6);
        let mut c = Cropper::new(4);
        // window 4 centred on (1.5, 1.5): half = 2.5, x0 = floor(1.5 - 2.5 + 0.5) = -1.
        let t = c.crop(&img, 1.5, 1.5, 4, [1, 2, 3]).to_vec();
        let plane = 16;
        // Output (0, 0) is frame (-1, -1): the fill, in BGR planes.
        assert_eq!([t[0], t[plane], t[2 * plane]], [3.0, 2.0, 1.0]);
        // Output (1, 2) is frame (0, 1): R = 0, G = 10, B = 200.
        let at = 2 * 4 + 1;
        assert_eq!(
            [t[at], t[plane + at], t[2 * plane + at]],
            [200.0, 10.0, 0.0]
        );
    }

    #[test]
    fn halving_averages_pixel_pairs_like_opencv() {
        let img = gradient(8, 8);
        let mut c = Cropper::new(4);
        // Window 8 centred on 4.0: half = 4.5, x0 = floor(4.0 - 4.5 + 0.5) = 0.
        let t = c.crop(&img, 4.0, 4.0, 8, [0, 0, 0]).to_vec();
        // OpenCV INTER_LINEAR 8 -> 4: output x samples source x = 2i + 0.5, the mean of 2i and 2i + 1.
        let red = &t[2 * 16..2 * 16 + 4];
        assert_eq!(red, &[5.0, 25.0, 45.0, 65.0]);
    }

    #[test]
    fn the_mean_colour_truncates() {
        let mut img = RgbImage::new(2, 1);
        img.data.copy_from_slice(&[1, 2, 3, 2, 3, 5]);
        assert_eq!(mean_colour(&img), [1, 2, 4]);
    }
}
