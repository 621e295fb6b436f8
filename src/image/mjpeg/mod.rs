//! Allocation-free (after warm-up) baseline JPEG decoder for webcam MJPEG frames.
//!
//! Supports baseline and extended sequential Huffman DCT (SOF0/SOF1), 8-bit, grey or
//! YCbCr with 4:4:4, 4:2:2, 4:2:0 and 4:4:0 sampling, restart intervals, and frames
//! without DHT (the Annex K tables are used, as UVC cameras expect).
//!
//! Reconstruction: a separable `f32` IDCT, libjpeg-style "fancy" (triangle) chroma
//! upsampling, and JFIF full-range BT.601 YCbCr to RGB with rounding and clamping.
//! Progressive, arithmetic-coded, lossless, hierarchical and 12-bit files are rejected
//! with [`JpegError::Unsupported`].

mod bitreader;
mod color;
mod decoder;
mod error;
mod frame;
mod huffman;
mod idct;
mod markers;
mod scan;
mod std_tables;
mod tables;

pub(crate) use decoder::sampling_factors;
pub use decoder::{JpegInfo, MjpegDecoder};
pub use error::JpegError;
