//! Errors of the quantizer.

use std::path::PathBuf;

/// Why a model could not be quantized or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    /// The ONNX file is not what the quantizer can work on.
    #[error("ONNX: {0}")]
    Onnx(String),
    /// A model failed to load or run in the runtime.
    #[error(transparent)]
    Model(#[from] siamedge::model::ModelError),
    /// An image could not be read.
    #[error(transparent)]
    Image(#[from] siamedge::image::ImageError),
    /// A folder of images could not be listed.
    #[error("cannot list {path}: {error}")]
    List {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// Too few usable calibration or evaluation images.
    #[error("{0}")]
    Data(String),
}
