//! The library's error type.

use std::path::PathBuf;

/// Why training, evaluation, loading or export failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An image could not be decoded.
    #[error(transparent)]
    Image(#[from] siamedge::image::ImageError),
    /// A data set is malformed or too small for what was asked.
    #[error("data set {what}: {reason}")]
    Data {
        /// The data set or file.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The embeddings collapsed during training.
    #[error(
        "embeddings collapsed at step {step}: mean pairwise distance {mean_distance:.2e}, \
         numerical rank {rank} of the batch embedding matrix; training stopped. Lower the \
         learning rate, raise the margin, or use a miner that keeps easy triplets (semi-hard)"
    )]
    Collapsed {
        /// The training step.
        step: usize,
        /// Mean pairwise distance of the batch embeddings.
        mean_distance: f32,
        /// Numerical rank of the batch embedding matrix.
        rank: usize,
    },
    /// The loss became NaN or infinite.
    #[error("loss is {value} at step {step}; lower the learning rate")]
    NonFinite {
        /// The training step.
        step: usize,
        /// The loss value.
        value: f32,
    },
    /// The requested compute device is not usable.
    #[error("device {name}: {reason}")]
    Device {
        /// The device asked for.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A checkpoint could not be saved or loaded.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// ONNX export failed.
    #[error("ONNX export: {0}")]
    Export(String),
    /// The runtime refused the exported model.
    #[error(transparent)]
    Runtime(#[from] siamedge::model::ModelError),
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl TrainError {
    /// An [`TrainError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> TrainError {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }
}
