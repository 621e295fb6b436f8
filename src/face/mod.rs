//! The face pipeline: MTCNN detection, 5-point alignment, liveness, embedding.

mod align;
mod embedder;
pub mod gallery;
mod liveness;
mod mtcnn;
mod pipeline;

pub use align::{
    align_face, centre_crop_face, similarity_transform, ALIGNED_SIZE, ARCFACE_TEMPLATE,
};
pub use embedder::Embedder;
pub use liveness::{Liveness, LIVENESS_FILE};
pub use mtcnn::{DetectStats, Face, Mtcnn, MtcnnConfig};
pub use pipeline::{FacePipeline, FaceResult, StageTimes};
