//! Anti-spoofing (liveness) score from the packaged deep-tree network: the sum
//! over its eight leaves of |class prediction| x leaf mask. Low means live.

use std::path::Path;

use crate::image::{crop_resize, ResizeScratch, RgbImage};
use crate::model::{Model, ModelError};

/// The liveness model's file name in a models folder.
pub const LIVENESS_FILE: &str = "FaceAntiSpoofing.onnx";

/// The anti-spoofing network with a reused input crop.
#[derive(Debug)]
pub struct Liveness {
    model: Model,
    spoof_above: f32,
    crop: RgbImage,
    patch: RgbImage,
    scratch: ResizeScratch,
    leaves: Vec<f32>,
}

impl Liveness {
    /// Loads the liveness model at `path` with its manifest.
    pub fn load(path: &Path) -> Result<Liveness, ModelError> {
        let model = Model::load(path)?;
        let spoof_above = model
            .manifest()
            .spoof_above
            .ok_or_else(|| ModelError::Manifest {
                path: crate::model::Manifest::path_for(path),
                reason: "a liveness model's manifest needs `spoof_above`".into(),
            })?;
        Ok(Liveness {
            model,
            spoof_above,
            crop: RgbImage::default(),
            patch: RgbImage::default(),
            scratch: ResizeScratch::default(),
            leaves: Vec::new(),
        })
    }

    /// The manifest's cut-off: a score above it is a spoof.
    pub fn spoof_above(&self) -> f32 {
        self.spoof_above
    }

    /// The crop the last [`Liveness::score`] fed the network.
    pub fn last_crop(&self) -> &RgbImage {
        &self.crop
    }

    /// The last run's per-leaf predictions followed by the leaf mask (8 + 8 values).
    pub fn last_leaves(&self) -> &[f32] {
        &self.leaves
    }

    /// Spoof score of the face in box `bbox` of `img` (0 = live; above
    /// [`Liveness::spoof_above`] = spoof).
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
        self.leaves.clear();
        self.leaves.extend_from_slice(pred);
        self.leaves.extend_from_slice(mask);
        Ok(pred.iter().zip(mask).map(|(p, m)| p.abs() * m).sum())
    }
}
