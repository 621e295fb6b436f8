//! Anti-spoofing (liveness) score from the packaged deep-tree network: the sum
//! over its eight leaves of |class prediction| x leaf mask. Low means live.

use std::path::Path;

use crate::image::{crop_resize, RgbImage};
use crate::model::{Model, ModelError};

/// The anti-spoofing network with a reused input crop.
#[derive(Debug)]
pub struct Liveness {
    model: Model,
    crop: RgbImage,
    patch: RgbImage,
    scratch: Vec<f32>,
}

impl Liveness {
    /// Loads the liveness model at `path` with its manifest.
    pub fn load(path: &Path) -> Result<Liveness, ModelError> {
        Ok(Liveness {
            model: Model::load(path)?,
            crop: RgbImage::default(),
            patch: RgbImage::default(),
            scratch: Vec::new(),
        })
    }

    /// Spoof score of the face in box `bbox` of `img` (0 = live; the packaged
    /// app treats scores above 0.2 as a spoof).
    pub fn score(&mut self, img: &RgbImage, bbox: [f32; 4]) -> Result<f32, ModelError> {
        let (w, h) = self.model.image_size().unwrap_or((256, 256));
        debug_assert_eq!(w, h);
        crop_resize(
            img,
            bbox,
            w,
            &mut self.crop,
            &mut self.patch,
            &mut self.scratch,
        );
        let out = self.model.run_image(&self.crop)?;
        let (pred, mask) = (out.values(0), out.values(1));
        Ok(pred.iter().zip(mask).map(|(p, m)| p.abs() * m).sum())
    }
}
