//! Writing ONNX: a graph builder over the protobuf types the runtime
//! re-exports (`siamedge::model::onnx_proto`) and attributes. The importer,
//! the quantizer and the tests of the runtime and the trainer all build
//! graphs with it.

pub mod attr;
mod graph;

pub use graph::{ElemType, GraphBuilder, OnnxDim, IR_VERSION, OPSET};
