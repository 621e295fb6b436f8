//! Reading TFLite flatbuffers: hand-written accessors for the schema subset the
//! importer needs, verified before use, and a validated view of the main graph.

mod model;
mod ops;
mod schema;

use std::path::{Path, PathBuf};

pub use model::{Model, Operator, Tensor};
pub use ops::{Activation, BuiltinOp, Options, Padding, TensorType, Window};

/// Errors reading a TFLite file.
#[derive(Debug, thiserror::Error)]
pub enum TfliteError {
    /// The file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is not a valid TFLite model.
    #[error("{}: invalid TFLite model: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Reads a whole file, for [`Model::parse`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, TfliteError> {
    std::fs::read(path).map_err(|error| TfliteError::Io {
        path: path.to_path_buf(),
        error,
    })
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
