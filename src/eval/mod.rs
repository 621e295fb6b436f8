//! Evaluation: the LFW verification protocol, metrics and plots.

mod calibrate;
mod embed_set;
pub mod lfw;
pub mod liveness;
pub mod metrics;
pub mod otb;
pub mod otb_cut;
mod plot;
pub mod unlock;
mod verification;

pub use calibrate::{
    calibrate_lfw, threshold_at_far, thresholds_for, unpaired_images, CalibrationReport,
    ScoredThresholds,
};
pub use embed_set::{
    embed_images, face_crops, spread, EmbedSetError, EmbeddedImage, FaceCrop, FaceModels,
};
pub use plot::{draw_panels, draw_roc, Panel, PlotError};
pub use verification::{evaluate_lfw, EvalError, FarPoint, LfwReport, StageMillis};
