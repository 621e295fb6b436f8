//! Evaluation: the LFW verification protocol, metrics and plots.

mod embed_set;
pub mod lfw;
pub mod metrics;
mod plot;
mod verification;

pub use embed_set::{embed_images, EmbedSetError, EmbeddedImage};
pub use plot::{draw_roc, PlotError};
pub use verification::{evaluate_lfw, EvalError, FarPoint, LfwReport, StageMillis};
