//! Errors of model loading and inference.

use std::path::PathBuf;

/// What went wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model file could not be read or parsed as ONNX.
    #[error("cannot load model {path}: {reason}. Re-run `models/zoo/fetch.sh` (or re-import the model) to rebuild it")]
    Load { path: PathBuf, reason: String },
    /// The manifest file is missing, unreadable or malformed.
    #[error("manifest {path}: {reason}")]
    Manifest { path: PathBuf, reason: String },
    /// tract failed while optimising or running the network.
    #[error("model {name}: {reason}")]
    Run { name: String, reason: String },
    /// An input buffer or shape does not match what the network expects.
    #[error("model {name}: input {index} {reason}")]
    Input {
        name: String,
        index: usize,
        reason: String,
    },
}
