//! The face embedder: an aligned 112x112 face in, an L2-normalised embedding out.

use std::path::Path;

use crate::distance::l2_normalize;
use crate::image::RgbImage;
use crate::model::{Distance, Execution, Model, ModelError, Role};

/// A face-embedding model (MobileFaceNet or a model with the same manifest role).
#[derive(Debug)]
pub struct Embedder {
    model: Model,
    distance: Distance,
}

impl Embedder {
    /// Loads the embedding model at `path` with its manifest.
    pub fn load(path: &Path) -> Result<Embedder, ModelError> {
        Embedder::load_with(path, Execution::Auto)
    }

    /// Like [`Embedder::load`], on the engine `execution` asks for.
    pub fn load_with(path: &Path, execution: Execution) -> Result<Embedder, ModelError> {
        let model = Model::load_with(path, execution)?;
        let manifest = model.manifest();
        if manifest.role != Role::FaceEmbed {
            return Err(ModelError::Manifest {
                path: crate::model::Manifest::path_for(path),
                reason: format!(
                    "its role is {:?}, not face-embed: this file is not a face-embedding model \
                     (pick MobileFaceNet*.onnx, or fix the manifest's role)",
                    manifest.role
                ),
            });
        }
        let distance = manifest.distance.ok_or_else(|| ModelError::Manifest {
            path: crate::model::Manifest::path_for(path),
            reason: "an embedding model's manifest needs `distance`".into(),
        })?;
        Ok(Embedder { model, distance })
    }

    /// How embeddings of this model are compared.
    pub fn distance(&self) -> Distance {
        self.distance
    }

    /// The underlying model and its manifest (thresholds live there).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Embeds an aligned face into `out` (resized to the embedding dimension), L2-normalised.
    pub fn embed(&mut self, aligned: &RgbImage, out: &mut Vec<f32>) -> Result<(), ModelError> {
        let result = self.model.run_image(aligned)?;
        out.clear();
        out.extend_from_slice(result.values(0));
        l2_normalize(out);
        Ok(())
    }
}
