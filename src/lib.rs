//! siamedge: Siamese networks on small ARM boards. One encoder applied to two
//! inputs, and a distance between the two outputs: face unlock compares a live
//! face with enrolled ones; tracking compares a template with a search crop.

pub mod actuate;
pub mod bench;
pub mod capture;
pub mod config;
pub mod distance;
pub mod eval;
pub mod face;
pub mod image;
pub mod model;
pub mod onnx_writer;
pub mod store;
pub mod track;
pub mod unlock;
