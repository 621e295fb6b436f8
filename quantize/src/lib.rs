//! Host tools for siamedge: import TFLite models to clean NCHW ONNX graphs and
//! check their parity with a reference interpreter.

pub mod import;
pub mod npy;
pub mod parity;
pub mod prune;
pub mod quant;
pub mod report;
pub mod tflite;
