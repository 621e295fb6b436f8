//! One frame through the face models for an attempt or an enrolment:
//! exposure, detection (exactly one face, large enough, no centre-crop
//! fallback), alignment, sharpness, liveness, embedding.

use std::path::Path;

use super::quality::{exposure, sharpness, Exposure};
use crate::config::{LivenessMode, ModelVariant};
use crate::face::{align_face, Embedder, Liveness, Mtcnn, MtcnnConfig, LIVENESS_FILE};
use crate::image::RgbImage;
use crate::model::ModelError;

/// What became of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FrameVerdict {
    /// Too dark to use.
    Dark,
    /// Over-exposed.
    Bright,
    /// No face detected.
    NoFace,
    /// More than one face.
    SeveralFaces,
    /// The face is smaller than the minimum (shorter box side, pixels).
    SmallFace(f32),
    /// The aligned face is blurred (its sharpness).
    Blurred(f32),
    /// Embedded: [`Recogniser::embedding`] holds it.
    Embedded {
        /// Sharpness of the aligned face.
        sharpness: f32,
    },
}

impl FrameVerdict {
    /// The verdict's name, e.g. `NoFace` (counts in reports).
    pub fn name(&self) -> &'static str {
        match self {
            FrameVerdict::Dark => "Dark",
            FrameVerdict::Bright => "Bright",
            FrameVerdict::NoFace => "NoFace",
            FrameVerdict::SeveralFaces => "SeveralFaces",
            FrameVerdict::SmallFace(_) => "SmallFace",
            FrameVerdict::Blurred(_) => "Blurred",
            FrameVerdict::Embedded { .. } => "Embedded",
        }
    }
}

/// The face models, loaded once, with buffers reused from frame to frame.
#[derive(Debug)]
pub struct Recogniser {
    detector: Mtcnn,
    embedder: Embedder,
    liveness: Option<Liveness>,
    variant: ModelVariant,
    aligned: RgbImage,
    embedding: Vec<f32>,
    bbox: [f32; 4],
}

/// The gate a frame must pass (from the device configuration).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameGate {
    /// Smallest face accepted (shorter box side, pixels).
    pub min_face: f32,
    /// Smallest sharpness of the aligned face.
    pub min_sharpness: f32,
    /// What the liveness verdict does.
    pub liveness: LivenessMode,
}

impl FrameGate {
    /// The gate of a device configuration's `[unlock]` policy.
    pub fn from_config(u: &crate::config::UnlockConfig) -> FrameGate {
        FrameGate {
            min_face: u.min_face,
            min_sharpness: u.min_sharpness,
            liveness: u.liveness,
        }
    }
}

impl Recogniser {
    /// Loads the detector (its pyramid starting at the smallest face the
    /// gate accepts, less a margin: smaller faces would be refused anyway),
    /// the embedder of `variant` from `models`, and the liveness net unless
    /// `liveness` is off.
    pub fn load(
        models: &Path,
        variant: ModelVariant,
        liveness: LivenessMode,
        min_face: f32,
    ) -> Result<Recogniser, ModelError> {
        let detector = MtcnnConfig {
            min_face: (min_face * 0.75).max(MtcnnConfig::default().min_face),
            ..MtcnnConfig::default()
        };
        Ok(Recogniser {
            detector: Mtcnn::load(models, detector)?,
            embedder: Embedder::load_with(
                &models.join(variant.embedder_file()),
                variant.execution(),
            )?,
            liveness: match liveness {
                LivenessMode::Off => None,
                _ => Some(Liveness::load(&models.join(LIVENESS_FILE))?),
            },
            variant,
            aligned: RgbImage::default(),
            embedding: Vec::new(),
            bbox: [0.0; 4],
        })
    }

    /// Readies the detector for frames of `width x height` (see [`Mtcnn::prepare`]).
    pub fn prepare(&mut self, width: usize, height: usize) -> Result<(), ModelError> {
        self.detector.prepare(width, height)
    }

    /// The embedding model (its manifest holds the thresholds and sha256).
    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// The embedding model's variant.
    pub fn variant(&self) -> ModelVariant {
        self.variant
    }

    /// The embedding of the last frame judged [`FrameVerdict::Embedded`].
    pub fn embedding(&self) -> &[f32] {
        &self.embedding
    }

    /// The shorter side, in pixels, of the last embedded frame's face box.
    pub fn face_side(&self) -> f32 {
        (self.bbox[2] - self.bbox[0]).min(self.bbox[3] - self.bbox[1])
    }

    /// Runs `frame` through the gate and the models.
    pub fn examine(
        &mut self,
        frame: &RgbImage,
        gate: &FrameGate,
    ) -> Result<FrameVerdict, ModelError> {
        match exposure(frame) {
            Exposure::Dark => return Ok(FrameVerdict::Dark),
            Exposure::Bright => return Ok(FrameVerdict::Bright),
            Exposure::Ok => {}
        }
        let faces = self.detector.detect(frame)?;
        let face = match faces.as_slice() {
            [] => return Ok(FrameVerdict::NoFace),
            [one] => one,
            _ => return Ok(FrameVerdict::SeveralFaces),
        };
        let side = (face.bbox[2] - face.bbox[0]).min(face.bbox[3] - face.bbox[1]);
        if side < gate.min_face {
            return Ok(FrameVerdict::SmallFace(side));
        }
        align_face(frame, &face.landmarks, &mut self.aligned);
        let sharp = sharpness(&self.aligned);
        if sharp < gate.min_sharpness {
            return Ok(FrameVerdict::Blurred(sharp));
        }
        self.bbox = face.bbox;
        self.embedder.embed(&self.aligned, &mut self.embedding)?;
        Ok(FrameVerdict::Embedded { sharpness: sharp })
    }

    /// The liveness net on the face of the last embedded `frame` (run only
    /// on frames that would count, since it is the slowest model): its spoof
    /// score and whether that is above the manifest's cut-off. `None` when
    /// liveness is off.
    pub fn liveness(&mut self, frame: &RgbImage) -> Result<Option<(f32, bool)>, ModelError> {
        let Some(net) = self.liveness.as_mut() else {
            return Ok(None);
        };
        let score = net.score(frame, self.bbox)?;
        Ok(Some((score, score > net.spoof_above())))
    }
}
