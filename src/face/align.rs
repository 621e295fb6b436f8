//! Five-point face alignment: the least-squares similarity transform that maps
//! detected landmarks onto the ArcFace 112x112 template, then a bilinear warp.

use crate::image::{warp_affine, Affine, RgbImage};

/// Side of the aligned face crop.
pub const ALIGNED_SIZE: usize = 112;

/// The standard ArcFace landmark template for a 112x112 crop: left eye, right
/// eye, nose tip, left and right mouth corners.
pub const ARCFACE_TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// The similarity transform (rotation, uniform scale, translation; no
/// reflection) that best maps `src` onto `dst` in the least-squares sense.
pub fn similarity_transform(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Affine {
    let n = src.len() as f64;
    let mean = |p: &[[f32; 2]]| {
        let (sx, sy) = p
            .iter()
            .fold((0.0, 0.0), |(x, y), q| (x + q[0] as f64, y + q[1] as f64));
        (sx / n, sy / n)
    };
    let (mx, my) = mean(src);
    let (ux, uy) = mean(dst);
    let (mut num_a, mut num_b, mut den) = (0.0, 0.0, 0.0);
    for (s, d) in src.iter().zip(dst) {
        let (x, y) = (s[0] as f64 - mx, s[1] as f64 - my);
        let (u, v) = (d[0] as f64 - ux, d[1] as f64 - uy);
        num_a += x * u + y * v;
        num_b += x * v - y * u;
        den += x * x + y * y;
    }
    let (a, b) = if den > 0.0 {
        (num_a / den, num_b / den)
    } else {
        (1.0, 0.0)
    };
    let tx = ux - (a * mx - b * my);
    let ty = uy - (b * mx + a * my);
    Affine([
        a as f32, -b as f32, tx as f32, b as f32, a as f32, ty as f32,
    ])
}

/// Warps the face with these landmarks to an aligned 112x112 crop in `out`.
pub fn align_face(img: &RgbImage, landmarks: &[[f32; 2]; 5], out: &mut RgbImage) {
    let to_template = similarity_transform(landmarks, &ARCFACE_TEMPLATE);
    let to_src = to_template
        .inverse()
        .unwrap_or(Affine([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]));
    warp_affine(img, &to_src, ALIGNED_SIZE, ALIGNED_SIZE, out);
}

/// The detector-free fallback: a square crop of side 0.55 x the short side,
/// centred 2.8% of the height above the image centre (where a face sits in a
/// face-centred photo such as LFW's), resized to 112x112.
pub fn centre_crop_face(img: &RgbImage, out: &mut RgbImage) {
    let side = 0.55 * img.width.min(img.height) as f32;
    let cx = img.width as f32 / 2.0;
    let cy = img.height as f32 / 2.0 - 0.028 * img.height as f32;
    let s = side / ALIGNED_SIZE as f32;
    let (x0, y0) = (cx - side / 2.0, cy - side / 2.0);
    let to_src = Affine([s, 0.0, x0 + 0.5 * s - 0.5, 0.0, s, y0 + 0.5 * s - 0.5]);
    warp_affine(img, &to_src, ALIGNED_SIZE, ALIGNED_SIZE, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_similarity() {
        let truth = Affine([0.9, -0.2, 5.0, 0.2, 0.9, -3.0]);
        let src = ARCFACE_TEMPLATE;
        let dst: Vec<[f32; 2]> = src
            .iter()
            .map(|p| {
                let (x, y) = truth.apply(p[0], p[1]);
                [x, y]
            })
            .collect();
        let est = similarity_transform(&src, &dst);
        for (e, t) in est.0.iter().zip(truth.0) {
            assert!((e - t).abs() < 1e-3, "{est:?} vs {truth:?}");
        }
    }

    #[test]
    fn template_landmarks_align_to_identity() {
        let m = similarity_transform(&ARCFACE_TEMPLATE, &ARCFACE_TEMPLATE);
        let (x, y) = m.apply(10.0, 20.0);
        assert!((x - 10.0).abs() < 1e-3 && (y - 20.0).abs() < 1e-3);
    }
}
