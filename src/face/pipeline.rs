//! The per-image face pipeline: detect, pick the subject, align, embed, with
//! per-stage timings and a centred-crop fallback when no face is found.

use std::path::Path;
use std::time::{Duration, Instant};

use super::align::{align_face, centre_crop_face};
use super::{DetectStats, Embedder, Face, Mtcnn, MtcnnConfig};
use crate::config::ModelVariant;
use crate::image::RgbImage;
use crate::model::ModelError;

/// Time spent in each stage of one image.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    /// MTCNN detection.
    pub detect: Duration,
    /// Similarity warp (or fallback crop).
    pub align: Duration,
    /// Embedding network.
    pub embed: Duration,
}

/// What the pipeline found in one image.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceResult {
    /// The face that was embedded, or `None` when the detector found none and
    /// the centred crop was used instead.
    pub face: Option<Face>,
    /// How many faces the detector found.
    pub faces_found: usize,
    /// Per-stage timings.
    pub times: StageTimes,
}

/// Detector + aligner + embedder, with reused buffers.
#[derive(Debug)]
pub struct FacePipeline {
    detector: Mtcnn,
    embedder: Embedder,
    aligned: RgbImage,
}

impl FacePipeline {
    /// Loads `pnet/rnet/onet.onnx` and the fp32 `MobileFaceNet.onnx` (with
    /// manifests) from `dir`.
    pub fn load(dir: &Path, config: MtcnnConfig) -> Result<FacePipeline, ModelError> {
        FacePipeline::load_variant(dir, ModelVariant::Fp32, config)
    }

    /// Loads the detector from `dir` and the embedding model of `variant`;
    /// an integer variant must run on the integer engine (an error says why not).
    pub fn load_variant(
        dir: &Path,
        variant: ModelVariant,
        config: MtcnnConfig,
    ) -> Result<FacePipeline, ModelError> {
        Ok(FacePipeline {
            detector: Mtcnn::load(dir, config)?,
            embedder: Embedder::load_with(&dir.join(variant.embedder_file()), variant.execution())?,
            aligned: RgbImage::default(),
        })
    }

    /// The embedder (its manifest holds thresholds and the distance).
    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// Time and runs per detector network of the last processed image.
    pub fn detect_stats(&self) -> &DetectStats {
        self.detector.last_stats()
    }

    /// The aligned crop of the last processed image.
    pub fn aligned(&self) -> &RgbImage {
        &self.aligned
    }

    /// Embeds the most prominent face of `img` into `embedding`.
    pub fn process(
        &mut self,
        img: &RgbImage,
        embedding: &mut Vec<f32>,
    ) -> Result<FaceResult, ModelError> {
        let t0 = Instant::now();
        let faces = self.detector.detect(img)?;
        let t1 = Instant::now();
        let face = Face::most_prominent(&faces, img.width, img.height).cloned();
        match &face {
            Some(f) => align_face(img, &f.landmarks, &mut self.aligned),
            None => centre_crop_face(img, &mut self.aligned),
        }
        let t2 = Instant::now();
        self.embedder.embed(&self.aligned, embedding)?;
        let t3 = Instant::now();
        Ok(FaceResult {
            face,
            faces_found: faces.len(),
            times: StageTimes {
                detect: t1 - t0,
                align: t2 - t1,
                embed: t3 - t2,
            },
        })
    }
}
