//! Model loading and inference. This is the only module that calls tract:
//! everything else sees a [`Network`] with plain `f32` inputs and outputs, and
//! a [`Manifest`] that says how to feed it.

mod error;
mod graph_check;
mod int8;
mod manifest;
mod network;
mod plan_choice;
mod preprocess;
mod profile;
mod runner;
mod tensor_data;

pub use error::ModelError;
pub use graph_check::MAX_TENSOR_ELEMENTS;
pub use int8::kernel_name as int8_kernel;
pub use manifest::{
    AttemptThreshold, ColorOrder, Distance, InputLayout, InputSpec, Manifest, OutputSpec,
    Provenance, Role, Threshold, TrackerSpec, Transform,
};
pub use network::{Dim, Execution, Network, NetworkOutputs};
pub use preprocess::fill_input;
pub use profile::NodeTime;
pub use runner::{load_verified, sha256_hex, Model};
pub use tensor_data::{float_values, int8_values};

/// ONNX protobuf message types (from tract-onnx), for host tools that read or
/// write ONNX files. Encode them with `prost::Message::encode_to_vec`.
pub use tract_onnx::pb as onnx_proto;
