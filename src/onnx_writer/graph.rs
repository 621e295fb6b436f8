//! An ONNX graph under construction: nodes, deduplicated initializers,
//! inputs and outputs, with unique value names.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use crate::model::onnx_proto::tensor_proto::DataType;
use crate::model::onnx_proto::tensor_shape_proto::{dimension, Dimension};
use crate::model::onnx_proto::type_proto::{self, Value};
use crate::model::onnx_proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

/// The ONNX opset the importer writes.
pub const OPSET: i64 = 13;
/// The IR version matching [`OPSET`].
pub const IR_VERSION: i64 = 7;

/// One dimension of a graph input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnnxDim {
    /// A fixed size.
    Value(i64),
    /// A named symbolic size (`dim_param`).
    Param(String),
    /// A size the file does not state.
    Unknown,
}

/// Element types of the values and initializers a graph holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemType {
    /// 32-bit float.
    Float,
    /// 64-bit signed integer.
    Int64,
    /// 32-bit signed integer.
    Int32,
    /// Boolean.
    Bool,
    /// 8-bit signed integer (quantized weights and zero points).
    Int8,
}

impl ElemType {
    /// The ONNX `TensorProto.DataType` code.
    pub fn code(self) -> i32 {
        (match self {
            ElemType::Float => DataType::Float,
            ElemType::Int64 => DataType::Int64,
            ElemType::Int32 => DataType::Int32,
            ElemType::Bool => DataType::Bool,
            ElemType::Int8 => DataType::Int8,
        }) as i32
    }
}

/// Builds one ONNX graph. Output is deterministic: the same calls in the same
/// order give the same bytes.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    names: HashSet<String>,
    by_content: HashMap<u64, Vec<usize>>,
    params: usize,
}

impl GraphBuilder {
    /// An empty graph.
    pub fn new() -> GraphBuilder {
        GraphBuilder::default()
    }

    /// Reserves a value name: `base` itself if unused, else `base.1`, `base.2`, ...
    pub fn unique_name(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 0;
        while self.names.contains(&name) {
            k += 1;
            name = format!("{base}.{k}");
        }
        self.names.insert(name.clone());
        name
    }

    /// Declares a graph input; returns its (unique) name.
    pub fn input(&mut self, name: &str, elem: ElemType, dims: &[OnnxDim]) -> String {
        let name = self.unique_name(name);
        self.inputs.push(value_info(&name, elem, dims));
        name
    }

    /// Declares an existing value as a graph output.
    pub fn output(&mut self, name: &str, elem: ElemType, dims: &[OnnxDim]) {
        self.outputs.push(value_info(name, elem, dims));
    }

    /// Adds a node with one output named after `output_base`; returns the output name.
    pub fn node(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        output_base: &str,
        attributes: Vec<AttributeProto>,
    ) -> String {
        let output = self.unique_name(output_base);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.clone()],
            name: output.clone(),
            op_type: op_type.to_string(),
            attribute: attributes,
            ..Default::default()
        });
        output
    }

    /// Adds a float initializer (or reuses an identical one); returns its name.
    pub fn f32_tensor(&mut self, base: &str, dims: &[usize], values: &[f32]) -> String {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(base, ElemType::Float, dims, raw)
    }

    /// Adds an int64 initializer (or reuses an identical one); returns its name.
    pub fn i64_tensor(&mut self, base: &str, dims: &[usize], values: &[i64]) -> String {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(base, ElemType::Int64, dims, raw)
    }

    /// Adds an initializer from little-endian element bytes (or reuses an
    /// identical one); returns its name.
    pub fn initializer(
        &mut self,
        base: &str,
        elem: ElemType,
        dims: &[usize],
        raw: Vec<u8>,
    ) -> String {
        let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
        let mut hasher = DefaultHasher::new();
        (elem.code(), &dims, &raw).hash(&mut hasher);
        let key = hasher.finish();
        let same = self.by_content.get(&key).and_then(|candidates| {
            candidates
                .iter()
                .map(|&i| &self.initializers[i])
                .find(|t| t.data_type == elem.code() && t.dims == dims && t.raw_data == raw)
        });
        if let Some(existing) = same {
            return existing.name.clone();
        }
        if elem == ElemType::Float {
            self.params += raw.len() / 4;
        }
        let name = self.unique_name(base);
        self.by_content
            .entry(key)
            .or_default()
            .push(self.initializers.len());
        self.initializers.push(TensorProto {
            dims,
            data_type: elem.code(),
            name: name.clone(),
            raw_data: raw,
            ..Default::default()
        });
        name
    }

    /// True when `name` already names a value of the graph.
    pub fn is_taken(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Renames a value produced by a node, in its producer and all its uses.
    /// Returns false (and changes nothing) when no node produces `old` or
    /// `new` is taken.
    pub fn rename(&mut self, old: &str, new: &str) -> bool {
        let produced = self.nodes.iter().any(|n| n.output.iter().any(|o| o == old));
        if !produced || self.names.contains(new) {
            return false;
        }
        for node in &mut self.nodes {
            for name in node.input.iter_mut().chain(node.output.iter_mut()) {
                if name == old {
                    *name = new.to_string();
                }
            }
            if node.name == old {
                node.name = new.to_string();
            }
        }
        for output in &mut self.outputs {
            if output.name == old {
                output.name = new.to_string();
            }
        }
        self.names.remove(old);
        self.names.insert(new.to_string());
        true
    }

    /// Number of nodes so far.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of float parameters stored.
    pub fn param_count(&self) -> usize {
        self.params
    }

    /// Op types of the nodes so far, in order.
    pub fn op_types(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|n| n.op_type.as_str())
    }

    /// Wraps the graph in a model with the importer's opset and IR version. No
    /// version or date goes in, so the bytes change only when the graph does.
    pub fn finish(self, graph_name: &str, doc: &str) -> ModelProto {
        ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: "siamedge-quantize".into(),
            doc_string: doc.to_string(),
            graph: Some(GraphProto {
                node: self.nodes,
                name: graph_name.to_string(),
                initializer: self.initializers,
                input: self.inputs,
                output: self.outputs,
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

fn value_info(name: &str, elem: ElemType, dims: &[OnnxDim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: match d {
                OnnxDim::Value(v) => Some(dimension::Value::DimValue(*v)),
                OnnxDim::Param(p) => Some(dimension::Value::DimParam(p.clone())),
                OnnxDim::Unknown => None,
            },
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(Value::TensorType(type_proto::Tensor {
                elem_type: elem.code(),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
