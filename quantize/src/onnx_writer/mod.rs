//! Writing ONNX: a graph builder over the protobuf types the runtime
//! re-exports (`siamedge::model::onnx_proto`) and attributes.

pub mod attr;
mod graph;

pub use graph::{ElemType, GraphBuilder, OnnxDim, IR_VERSION, OPSET};
