//! Errors of the TFLite -> ONNX importer.

use std::path::PathBuf;

use crate::tflite::TfliteError;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The TFLite file could not be read or is invalid.
    #[error(transparent)]
    Tflite(#[from] TfliteError),
    /// An operator (or one of its settings) has no ONNX mapping.
    #[error("{}: operator #{index} ({op}) is not supported: {reason}", path.display())]
    Unsupported {
        /// The TFLite file.
        path: PathBuf,
        /// Operator index in the main subgraph.
        index: usize,
        /// Operator name, e.g. `SPACE_TO_DEPTH`.
        op: String,
        /// What is missing.
        reason: String,
    },
    /// The graph is inconsistent (a tensor used before it is computed, bad shapes, ...).
    #[error("{}: {reason}", path.display())]
    Graph {
        /// The TFLite file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The ONNX file could not be written.
    #[error("{}: cannot write: {error}", path.display())]
    Write {
        /// The ONNX file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
}
