//! A decoded ONNX model with the lookups the quantizer needs: float
//! initializers as arrays, the producer and consumers of each value, and the
//! convolutions with their operands.

use prost::Message;
use siamedge::model::float_values;
use siamedge::model::onnx_proto::{GraphProto, ModelProto, NodeProto, TensorProto};

use super::QuantError;

/// A float tensor: dimensions and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatTensor {
    /// Dimensions.
    pub dims: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

/// One convolution node and the names of its operands.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvNode {
    /// Index of the node in the graph.
    pub node: usize,
    /// Activation input.
    pub input: String,
    /// Weight initializer `[out, in / group, kh, kw]`.
    pub weight: String,
    /// Bias initializer, if any.
    pub bias: Option<String>,
    /// Output value.
    pub output: String,
    /// Number of groups (the channel count for a depthwise convolution).
    pub group: usize,
}

/// An ONNX model held as its protobuf message.
#[derive(Debug, Clone)]
pub struct OnnxModel {
    proto: ModelProto,
}

impl OnnxModel {
    /// Decodes ONNX bytes; the model must have a graph.
    pub fn decode(bytes: &[u8]) -> Result<OnnxModel, QuantError> {
        let proto = ModelProto::decode(bytes).map_err(|e| QuantError::Onnx(e.to_string()))?;
        if proto.graph.is_none() {
            return Err(QuantError::Onnx("the model has no graph".into()));
        }
        Ok(OnnxModel { proto })
    }

    /// The model as ONNX bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.proto.encode_to_vec()
    }

    /// The graph.
    pub fn graph(&self) -> &GraphProto {
        self.proto.graph.as_ref().expect("checked when decoded")
    }

    /// The graph, mutable.
    pub fn graph_mut(&mut self) -> &mut GraphProto {
        self.proto.graph.as_mut().expect("checked when decoded")
    }

    /// The nodes in graph order.
    pub fn nodes(&self) -> &[NodeProto] {
        &self.graph().node
    }

    /// Name of the first graph input that is not an initializer.
    pub fn input_name(&self) -> Option<&str> {
        let g = self.graph();
        g.input
            .iter()
            .map(|i| i.name.as_str())
            .find(|n| !g.initializer.iter().any(|t| t.name == *n))
    }

    /// True when `name` is a graph output.
    pub fn is_output(&self, name: &str) -> bool {
        self.graph().output.iter().any(|o| o.name == name)
    }

    /// The initializer called `name`.
    pub fn initializer(&self, name: &str) -> Option<&TensorProto> {
        self.graph().initializer.iter().find(|t| t.name == name)
    }

    /// The float initializer called `name`, decoded.
    pub fn float(&self, name: &str) -> Result<FloatTensor, QuantError> {
        let t = self
            .initializer(name)
            .ok_or_else(|| QuantError::Onnx(format!("no initializer {name:?}")))?;
        let values = float_values(t).ok_or_else(|| {
            QuantError::Onnx(format!(
                "initializer {name:?} is not float (data type {})",
                t.data_type
            ))
        })?;
        let dims: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
        if values.len() != dims.iter().product::<usize>() {
            return Err(QuantError::Onnx(format!(
                "initializer {name:?}: {} values for dims {dims:?}",
                values.len()
            )));
        }
        Ok(FloatTensor { dims, values })
    }

    /// Replaces the values of the float initializer called `name`.
    pub fn set_float(&mut self, name: &str, values: &[f32]) {
        let t = self
            .graph_mut()
            .initializer
            .iter_mut()
            .find(|t| t.name == name)
            .expect("set_float on an existing initializer");
        t.float_data.clear();
        t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    }

    /// Indices of the nodes that read `value`.
    pub fn consumers(&self, value: &str) -> Vec<usize> {
        self.nodes()
            .iter()
            .enumerate()
            .filter(|(_, n)| n.input.iter().any(|i| i == value))
            .map(|(i, _)| i)
            .collect()
    }

    /// Index of the node that writes `value`.
    pub fn producer(&self, value: &str) -> Option<usize> {
        self.nodes()
            .iter()
            .position(|n| n.output.iter().any(|o| o == value))
    }

    /// Every convolution whose weight (and bias) are float initializers.
    pub fn convs(&self) -> Vec<ConvNode> {
        self.nodes()
            .iter()
            .enumerate()
            .filter(|(_, n)| n.op_type == "Conv" && n.input.len() >= 2)
            .filter(|(_, n)| self.initializer(&n.input[1]).is_some())
            .map(|(i, n)| ConvNode {
                node: i,
                input: n.input[0].clone(),
                weight: n.input[1].clone(),
                bias: n.input.get(2).filter(|b| !b.is_empty()).cloned(),
                output: n.output[0].clone(),
                group: n
                    .attribute
                    .iter()
                    .find(|a| a.name == "group")
                    .map_or(1, |a| a.i.max(1) as usize),
            })
            .collect()
    }
}

impl OnnxModel {
    /// Replaces the float initializer `name` with new dimensions and values.
    pub fn set_float_tensor(&mut self, name: &str, dims: &[usize], values: &[f32]) {
        self.set_float(name, values);
        let t = self
            .graph_mut()
            .initializer
            .iter_mut()
            .find(|t| t.name == name)
            .expect("set_float_tensor on an existing initializer");
        t.dims = dims.iter().map(|&d| d as i64).collect();
    }

    /// Sets integer attribute `name` of node `node`.
    pub fn set_int_attribute(&mut self, node: usize, name: &str, value: i64) {
        let n = &mut self.graph_mut().node[node];
        if let Some(a) = n.attribute.iter_mut().find(|a| a.name == name) {
            a.i = value;
        }
    }

    /// The per-channel slope initializer of the PReLU idiom
    /// (`relu(x) + slope * min(x, 0)`) that reads `value`, if any.
    pub fn prelu_slope(&self, value: &str) -> Option<String> {
        let nodes = self.nodes();
        let min = self
            .consumers(value)
            .into_iter()
            .find(|&i| nodes[i].op_type == "Min")?;
        let [mul] = self.consumers(&nodes[min].output[0])[..] else {
            return None;
        };
        nodes[mul]
            .input
            .iter()
            .find(|i| **i != nodes[min].output[0] && self.initializer(i).is_some())
            .cloned()
    }
}
