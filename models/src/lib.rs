//! siamedge-models: trains Siamese encoders for the siamedge runtime.
//!
//! One encoder is applied to every input (the Siamese principle; a
//! pseudo-Siamese net keeps one encoder per branch), and the answer is a
//! distance between L2-normalised embeddings. The crate holds the losses and
//! the miners that pick what to compare inside a P x K batch, the
//! MobileNetV2 / MobileFaceNet encoders, the datasets (image folders,
//! Omniglot, IDX) fed through the runtime's one preprocessing path
//! (`siamedge::model::fill_input`), the training loop with its collapse
//! guard, one-shot evaluation and the ONNX + manifest export.

pub mod checkpoint;
pub mod data;
pub mod device;
pub mod distill;
pub mod error;
pub mod eval;
pub mod export;
pub mod loss;
pub mod mine;
pub mod net;
pub mod rng;
pub mod sampler;
pub mod train;

pub use error::TrainError;
