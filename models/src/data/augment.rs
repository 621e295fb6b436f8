//! Augmentation: random affine jitter (rotation, scale, shear, translation),
//! brightness and contrast, and horizontal flips where the domain allows.

use siamedge::image::{warp_affine, Affine, RgbImage};

use crate::rng::Rng;

/// Ranges of the random transforms; zero turns one off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    /// Maximum rotation in degrees (either way).
    pub rotate_deg: f32,
    /// Maximum relative scale change (0.1: 0.9..1.1).
    pub scale: f32,
    /// Maximum shear (x += shear * y).
    pub shear: f32,
    /// Maximum translation as a fraction of the side.
    pub translate: f32,
    /// Maximum brightness shift in 0..255 units.
    pub brightness: f32,
    /// Maximum relative contrast change around mid-grey.
    pub contrast: f32,
    /// Flip left-right with probability 1/2 (faces, not characters).
    pub flip: bool,
    /// The background is light: warp in the inverted image so that borders stay background.
    pub light_background: bool,
}

impl Augment {
    /// No augmentation.
    pub const NONE: Augment = Augment {
        rotate_deg: 0.0,
        scale: 0.0,
        shear: 0.0,
        translate: 0.0,
        brightness: 0.0,
        contrast: 0.0,
        flip: false,
        light_background: false,
    };

    /// Whether any geometric transform is on.
    fn geometric(&self) -> bool {
        self.rotate_deg > 0.0
            || self.scale > 0.0
            || self.shear > 0.0
            || self.translate > 0.0
            || self.flip
    }

    /// A randomly transformed copy of `img` (same size).
    pub fn apply(&self, img: &RgbImage, rng: &mut Rng) -> RgbImage {
        let mut out = img.clone();
        if self.geometric() {
            let (w, h) = (img.width as f32, img.height as f32);
            let angle = rng.range(-self.rotate_deg, self.rotate_deg).to_radians();
            let s = 1.0 + rng.range(-self.scale, self.scale);
            let sh = rng.range(-self.shear, self.shear);
            let (tx, ty) = (
                rng.range(-self.translate, self.translate) * w,
                rng.range(-self.translate, self.translate) * h,
            );
            let flip = if self.flip && rng.unit() < 0.5 {
                -1.0
            } else {
                1.0
            };
            // Output -> source: about the centre, undo translation, then rotation/scale/shear.
            let (c, si) = (angle.cos() / s, angle.sin() / s);
            let (a, b, d, e) = (c * flip, -si + sh * c, si * flip, c + sh * si);
            let (cx, cy) = ((w - 1.0) / 2.0, (h - 1.0) / 2.0);
            let (ox, oy) = (cx + tx, cy + ty);
            let to_src = Affine([a, b, cx - a * ox - b * oy, d, e, cy - d * ox - e * oy]);
            let src = if self.light_background {
                inverted(img)
            } else {
                img.clone()
            };
            warp_affine(&src, &to_src, img.width, img.height, &mut out);
            if self.light_background {
                out = inverted(&out);
            }
        }
        if self.brightness > 0.0 || self.contrast > 0.0 {
            let shift = rng.range(-self.brightness, self.brightness);
            let gain = 1.0 + rng.range(-self.contrast, self.contrast);
            for p in &mut out.data {
                *p = ((*p as f32 - 127.5) * gain + 127.5 + shift)
                    .round()
                    .clamp(0.0, 255.0) as u8;
            }
        }
        out
    }
}

fn inverted(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    for p in &mut out.data {
        *p = 255 - *p;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_identity_and_jitter_keeps_light_borders() {
        let mut img = RgbImage::from_grey(8, 8, &[255; 64]);
        img.data[(3 * 8 + 3) * 3] = 0;
        let mut rng = Rng::new(5);
        assert_eq!(Augment::NONE.apply(&img, &mut rng), img);
        let jitter = Augment {
            rotate_deg: 20.0,
            translate: 0.2,
            light_background: true,
            ..Augment::NONE
        };
        let out = jitter.apply(&img, &mut rng);
        assert_eq!((out.width, out.height), (8, 8));
        assert_eq!(out.pixel(0, 0)[0], 255, "corners stay background");
        let bright = Augment {
            brightness: 50.0,
            ..Augment::NONE
        };
        assert_ne!(bright.apply(&img, &mut rng), img);
    }
}
