//! Encoders and the Siamese wrapper.

pub mod blocks;
pub mod encoder;
pub mod siamese;

pub use encoder::{Encoder, EncoderConfig, Layout};
pub use siamese::SiameseNet;
