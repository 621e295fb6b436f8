//! 2-D affine transforms and bilinear affine warping.

use super::resize::{sample, Border};
use super::RgbImage;

/// A 2x3 affine map `[a b c; d e f]`: `(x, y) -> (a x + b y + c, d x + e y + f)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine(pub [f32; 6]);

impl Affine {
    /// Applies the map to a point.
    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let m = &self.0;
        (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5])
    }

    /// The inverse map, or `None` when the map is singular.
    pub fn inverse(&self) -> Option<Affine> {
        let [a, b, c, d, e, f] = self.0;
        let det = a * e - b * d;
        if det.abs() < 1e-12 {
            return None;
        }
        let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
        Some(Affine([
            ia,
            ib,
            -(ia * c + ib * f),
            id,
            ie,
            -(id * c + ie * f),
        ]))
    }
}

/// Warps `src` into `out` (`width x height`): each output pixel `p` reads
/// `src` at `to_src(p)` bilinearly; outside the source reads black.
pub fn warp_affine(
    src: &RgbImage,
    to_src: &Affine,
    width: usize,
    height: usize,
    out: &mut RgbImage,
) {
    out.reshape(width, height);
    for v in 0..height {
        for u in 0..width {
            let (x, y) = to_src.apply(u as f32, v as f32);
            let p = sample(src, x, y, Border::Zero);
            let o = &mut out.data[(v * width + u) * 3..][..3];
            for c in 0..3 {
                o[c] = (p[c] + 0.5).clamp(0.0, 255.0) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_round_trips() {
        let m = Affine([0.8, -0.3, 12.0, 0.3, 0.8, -4.0]);
        let inv = m.inverse().unwrap();
        let (x, y) = m.apply(5.0, 7.0);
        let (bx, by) = inv.apply(x, y);
        assert!((bx - 5.0).abs() < 1e-4 && (by - 7.0).abs() < 1e-4);
    }

    #[test]
    fn translation_shifts_pixels() {
        let mut src = RgbImage::new(4, 4);
        src.data[(4 + 2) * 3] = 200; // pixel (2, 1) of a 4-wide image
        let mut out = RgbImage::default();
        warp_affine(
            &src,
            &Affine([1.0, 0.0, 1.0, 0.0, 1.0, 0.0]),
            4,
            4,
            &mut out,
        );
        assert_eq!(out.pixel(1, 1)[0], 200);
    }
}
