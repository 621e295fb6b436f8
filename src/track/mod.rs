//! Siamese tracking: a template crop and a search crop through one shared
//! backbone, correlated by the head into a score map, decoded into a box;
//! with a confidence and a tracking / uncertain / lost state per frame.

mod crop;
mod decode;
mod face_recovery;
mod signals;
mod state;
mod tracker;

use std::path::PathBuf;

pub use crop::{mean_colour, Cropper};
pub use decode::{Decoder, Peak};
pub use face_recovery::{FaceRecovery, REDETECT_EVERY};
pub use signals::{peak_to_sidelobe, window_similarity, Signals};
pub use state::{StateMachine, StateRules, TrackState};
pub use tracker::{confidence, BBox, TrackResult, TrackTimes, Tracker, TrackerModels};

use crate::model::ModelError;

/// What went wrong loading or running the tracker.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// A model or its manifest could not be loaded or run.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A model file's manifest names another role.
    #[error("{path} is not a {expected} model (see the role in its manifest beside it)")]
    Role {
        /// The model file.
        path: PathBuf,
        /// The role it should have.
        expected: &'static str,
    },
    /// The first box is empty.
    #[error("the first box must be at least 1x1 pixels, is {w}x{h}")]
    EmptyBox {
        /// Its width.
        w: f64,
        /// Its height.
        h: f64,
    },
    /// The backbone made features of another shape than the head's manifest says.
    #[error(
        "the backbone's {what} features have shape {got:?}, the head's manifest says {want:?}"
    )]
    FeatureShape {
        /// Template or search.
        what: &'static str,
        /// The shape it made.
        got: Vec<usize>,
        /// The shape the manifest gives.
        want: Vec<usize>,
    },
    /// The head's outputs do not fit its score grid.
    #[error("the head's outputs should be 2 and 4 maps of {cells} cells, are {got:?}")]
    HeadShape {
        /// Cells of the score grid.
        cells: usize,
        /// The shapes it made.
        got: Vec<Vec<usize>>,
    },
}
