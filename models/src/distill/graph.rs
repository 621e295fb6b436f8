//! An ONNX encoder as a trainable burn module: every float initialiser that
//! is a weight becomes a parameter, the nodes are replayed with burn tensor
//! operations (so autodiff sees them), and the trained values are written
//! back into the same ONNX graph. This is how a pruned or imported encoder
//! (which no burn architecture describes) becomes a distillation student.

use std::collections::HashMap;

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::TensorData;
use prost::Message;
use siamedge::model::{float_values, onnx_proto};

use crate::TrainError;

/// An ONNX graph whose weights are burn parameters.
#[derive(Module, Debug)]
pub struct GraphNet {
    /// The trainable initialisers, flattened, in [`Plan::weights`] order.
    pub weights: Vec<Param<Tensor<1>>>,
    /// The nodes and fixed tensors to replay.
    #[module(skip)]
    plan: Plan,
}

/// What a graph computes, in an order that can be replayed.
#[derive(Debug, Clone)]
struct Plan {
    /// Slot of the graph input.
    input: usize,
    /// Slot of the graph output.
    output: usize,
    /// Number of value slots.
    slots: usize,
    /// The nodes, in graph order.
    steps: Vec<Step>,
    /// Name and shape of each trainable initialiser.
    weights: Vec<(String, Vec<usize>)>,
    /// Fixed float tensors (scalars, batch-norm statistics).
    constants: Vec<(Vec<f32>, Vec<usize>)>,
    /// Fixed integer tensors (shapes, axes).
    integers: Vec<Vec<i64>>,
}

/// Where an operand comes from.
#[derive(Debug, Clone, Copy)]
enum Operand {
    /// A value computed by an earlier node (or the graph input).
    Slot(usize),
    /// A trainable initialiser.
    Weight(usize),
    /// A fixed float initialiser.
    Constant(usize),
    /// A fixed integer initialiser.
    Integer(usize),
}

/// One node.
#[derive(Debug, Clone)]
struct Step {
    op: Op,
    inputs: Vec<Operand>,
    output: usize,
}

/// The operations a student graph may use.
#[derive(Debug, Clone)]
enum Op {
    Conv {
        stride: [usize; 2],
        dilation: [usize; 2],
        group: usize,
        pads: Pads,
    },
    BatchNorm {
        epsilon: f32,
    },
    Binary(Binary),
    Relu,
    Sqrt,
    Identity,
    Flatten,
    GlobalAveragePool,
    Reshape,
    MatMul,
    ReduceSum {
        keepdims: bool,
        axes: Vec<i64>,
    },
}

/// Element-wise binary operations (with ONNX broadcasting).
#[derive(Debug, Clone, Copy)]
enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
}

/// Convolution padding.
#[derive(Debug, Clone, Copy)]
enum Pads {
    /// Explicit `[top, left, bottom, right]`.
    Explicit([usize; 4]),
    /// SAME_UPPER (extra padding at the end) or SAME_LOWER (at the start).
    Same { upper: bool },
}

/// A tensor during replay: always stored with four dimensions, plus the
/// shape ONNX sees (rank 2 `[n, d]` is stored as `[n, d, 1, 1]`).
#[derive(Clone)]
struct Value {
    tensor: Tensor<4>,
    shape: Vec<usize>,
    /// Whether the first dimension is the batch (the value depends on the input).
    batched: bool,
}

impl Value {
    fn new(tensor: Tensor<4>, shape: Vec<usize>, batched: bool) -> Value {
        Value {
            tensor,
            shape,
            batched,
        }
    }

    /// A weight or constant with ONNX shape `shape`.
    fn from_flat(flat: Tensor<1>, shape: &[usize]) -> Value {
        let stored = stored_shape(shape);
        Value::new(flat.reshape(stored), shape.to_vec(), false)
    }

    /// `tensor` of `shape`, batched like `self`.
    fn derived(&self, tensor: Tensor<4>, shape: Vec<usize>) -> Value {
        Value::new(tensor, shape, self.batched)
    }
}

/// The four stored dimensions of an ONNX shape.
fn stored_shape(shape: &[usize]) -> [usize; 4] {
    match *shape {
        [] => [1, 1, 1, 1],
        [a] => [a, 1, 1, 1],
        [a, b] => [a, b, 1, 1],
        [a, b, c] => [1, a, b, c],
        [a, b, c, d] => [a, b, c, d],
        _ => unreachable!("ranks above 4 are refused when the plan is built"),
    }
}

/// Right-aligns `shape` to `rank` dimensions (ONNX broadcasting).
fn aligned(shape: &[usize], rank: usize) -> Vec<usize> {
    let mut out = vec![1; rank.saturating_sub(shape.len())];
    out.extend_from_slice(shape);
    out
}

fn onnx_error(msg: impl Into<String>) -> TrainError {
    TrainError::Data {
        what: "student ONNX".into(),
        reason: msg.into(),
    }
}

fn attr<'a>(node: &'a onnx_proto::NodeProto, name: &str) -> Option<&'a onnx_proto::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn attr_ints(node: &onnx_proto::NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

fn pair(values: Option<Vec<i64>>, default: usize) -> [usize; 2] {
    match values.as_deref() {
        Some([a, b]) => [*a as usize, *b as usize],
        _ => [default, default],
    }
}

fn integer_values(t: &onnx_proto::TensorProto) -> Vec<i64> {
    if !t.int64_data.is_empty() {
        return t.int64_data.clone();
    }
    t.raw_data
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

impl GraphNet {
    /// Reads an ONNX encoder (one input, one output) onto `device`.
    pub fn from_onnx(bytes: &[u8], device: &Device) -> Result<GraphNet, TrainError> {
        let model = onnx_proto::ModelProto::decode(bytes)
            .map_err(|e| onnx_error(format!("not an ONNX model: {e}")))?;
        let graph = model.graph.ok_or_else(|| onnx_error("no graph"))?;
        let batch_norm_stats: Vec<&str> = graph
            .node
            .iter()
            .filter(|n| n.op_type == "BatchNormalization")
            .flat_map(|n| n.input.iter().skip(3).map(String::as_str))
            .collect();
        let mut operands: HashMap<String, Operand> = HashMap::new();
        let mut weights = Vec::new();
        let mut weight_values = Vec::new();
        let mut constants = Vec::new();
        let mut integers = Vec::new();
        for t in &graph.initializer {
            let dims: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
            if dims.len() > 4 {
                return Err(onnx_error(format!(
                    "{}: rank {} above 4",
                    t.name,
                    dims.len()
                )));
            }
            let operand = if let Some(v) = float_values(t) {
                if v.len() > 1 && !batch_norm_stats.contains(&t.name.as_str()) {
                    weights.push((t.name.clone(), dims));
                    weight_values.push(v);
                    Operand::Weight(weights.len() - 1)
                } else {
                    constants.push((v, dims));
                    Operand::Constant(constants.len() - 1)
                }
            } else {
                integers.push(integer_values(t));
                Operand::Integer(integers.len() - 1)
            };
            operands.insert(t.name.clone(), operand);
        }
        let input_name = graph
            .input
            .iter()
            .find(|i| !operands.contains_key(&i.name))
            .ok_or_else(|| onnx_error("no graph input"))?
            .name
            .clone();
        let mut slots = 0;
        let mut slot = |operands: &mut HashMap<String, Operand>, name: &str| {
            operands.insert(name.to_string(), Operand::Slot(slots));
            slots += 1;
            slots - 1
        };
        let input = slot(&mut operands, &input_name);
        let mut steps = Vec::with_capacity(graph.node.len());
        for node in &graph.node {
            let op = node_op(node, &operands, &integers)?;
            let inputs = node
                .input
                .iter()
                .filter(|name| !name.is_empty())
                .map(|name| {
                    operands.get(name).copied().ok_or_else(|| {
                        onnx_error(format!("node {}: unknown input {name}", node.name))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out_name = node
                .output
                .first()
                .ok_or_else(|| onnx_error(format!("node {} has no output", node.name)))?;
            let output = slot(&mut operands, out_name);
            steps.push(Step { op, inputs, output });
        }
        let output_name = &graph
            .output
            .first()
            .ok_or_else(|| onnx_error("no graph output"))?
            .name;
        let Some(Operand::Slot(output)) = operands.get(output_name).copied() else {
            return Err(onnx_error(format!("output {output_name} is not computed")));
        };
        let weights_params = weight_values
            .into_iter()
            .map(|v| {
                let n = v.len();
                Param::from_tensor(Tensor::<1>::from_data(TensorData::new(v, [n]), device))
            })
            .collect();
        Ok(GraphNet {
            weights: weights_params,
            plan: Plan {
                input,
                output,
                slots,
                steps,
                weights,
                constants,
                integers,
            },
        })
    }

    /// Number of trainable values.
    pub fn parameter_count(&self) -> usize {
        self.plan
            .weights
            .iter()
            .map(|(_, d)| d.iter().product::<usize>())
            .sum()
    }

    /// The graph's output for a batch `x` (`[n, c, h, w]`), as `[n, d]`.
    pub fn forward(&self, x: Tensor<4>) -> Result<Tensor<2>, TrainError> {
        let device = x.device();
        let mut values: Vec<Option<Value>> = vec![None; self.plan.slots];
        let shape = x.dims().to_vec();
        values[self.plan.input] = Some(Value::new(x, shape, true));
        for step in &self.plan.steps {
            let inputs = step
                .inputs
                .iter()
                .map(|&o| self.operand(o, &values, &device))
                .collect::<Result<Vec<_>, _>>()?;
            values[step.output] = Some(apply(&step.op, inputs)?);
        }
        let out = values[self.plan.output]
            .take()
            .expect("the output slot is computed");
        let n = out.shape.first().copied().unwrap_or(1);
        let d = out.shape.iter().skip(1).product::<usize>();
        Ok(out.tensor.reshape([n, d]))
    }

    fn operand(
        &self,
        operand: Operand,
        values: &[Option<Value>],
        device: &Device,
    ) -> Result<Resolved, TrainError> {
        Ok(match operand {
            Operand::Slot(i) => Resolved::Value(Box::new(
                values[i]
                    .clone()
                    .ok_or_else(|| onnx_error("a node reads a value computed after it"))?,
            )),
            Operand::Weight(i) => Resolved::Value(Box::new(Value::from_flat(
                self.weights[i].val(),
                &self.plan.weights[i].1,
            ))),
            Operand::Constant(i) => {
                let (v, dims) = &self.plan.constants[i];
                let flat = Tensor::<1>::from_data(TensorData::new(v.clone(), [v.len()]), device);
                Resolved::Value(Box::new(Value::from_flat(flat, dims)))
            }
            Operand::Integer(i) => Resolved::Integers(self.plan.integers[i].clone()),
        })
    }

    /// The ONNX model `bytes` with every trainable initialiser replaced by
    /// this net's current value (stored as raw little-endian data).
    pub fn write_into(&self, bytes: &[u8]) -> Result<Vec<u8>, TrainError> {
        let mut model = onnx_proto::ModelProto::decode(bytes)
            .map_err(|e| onnx_error(format!("not an ONNX model: {e}")))?;
        let graph = model.graph.as_mut().ok_or_else(|| onnx_error("no graph"))?;
        for ((name, dims), param) in self.plan.weights.iter().zip(&self.weights) {
            let values: Vec<f32> = param
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| onnx_error(format!("{name}: {e:?}")))?;
            let t = graph
                .initializer
                .iter_mut()
                .find(|t| &t.name == name)
                .ok_or_else(|| onnx_error(format!("initialiser {name} is gone")))?;
            if t.dims.iter().map(|&d| d as usize).ne(dims.iter().copied()) {
                return Err(onnx_error(format!("initialiser {name} changed shape")));
            }
            t.float_data.clear();
            t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        }
        Ok(model.encode_to_vec())
    }
}

/// An operand during replay, its tensor made.
enum Resolved {
    Value(Box<Value>),
    Integers(Vec<i64>),
}

impl Resolved {
    fn value(self) -> Result<Value, TrainError> {
        match self {
            Resolved::Value(v) => Ok(*v),
            Resolved::Integers(_) => Err(onnx_error("an integer tensor where a float one belongs")),
        }
    }
}

fn node_op(
    node: &onnx_proto::NodeProto,
    operands: &HashMap<String, Operand>,
    integers: &[Vec<i64>],
) -> Result<Op, TrainError> {
    Ok(match node.op_type.as_str() {
        "Conv" => {
            let auto_pad = attr(node, "auto_pad")
                .map(|a| String::from_utf8_lossy(&a.s).into_owned())
                .unwrap_or_default();
            let pads = match auto_pad.as_str() {
                "SAME_UPPER" => Pads::Same { upper: true },
                "SAME_LOWER" => Pads::Same { upper: false },
                "VALID" => Pads::Explicit([0; 4]),
                _ => match attr_ints(node, "pads").as_deref() {
                    Some([t, l, b, r]) => {
                        Pads::Explicit([*t as usize, *l as usize, *b as usize, *r as usize])
                    }
                    _ => Pads::Explicit([0; 4]),
                },
            };
            Op::Conv {
                stride: pair(attr_ints(node, "strides"), 1),
                dilation: pair(attr_ints(node, "dilations"), 1),
                group: attr(node, "group").map_or(1, |a| a.i as usize),
                pads,
            }
        }
        "BatchNormalization" => Op::BatchNorm {
            epsilon: attr(node, "epsilon").map_or(1e-5, |a| a.f),
        },
        "Add" => Op::Binary(Binary::Add),
        "Sub" => Op::Binary(Binary::Sub),
        "Mul" => Op::Binary(Binary::Mul),
        "Div" => Op::Binary(Binary::Div),
        "Min" => Op::Binary(Binary::Min),
        "Max" => Op::Binary(Binary::Max),
        "Relu" => Op::Relu,
        "Sqrt" => Op::Sqrt,
        "Identity" => Op::Identity,
        "Flatten" => {
            if attr(node, "axis").is_some_and(|a| a.i != 1) {
                return Err(onnx_error(format!("{}: Flatten only on axis 1", node.name)));
            }
            Op::Flatten
        }
        "GlobalAveragePool" => Op::GlobalAveragePool,
        "Reshape" => Op::Reshape,
        "MatMul" => Op::MatMul,
        "ReduceSum" => {
            let axes = match node.input.get(1).and_then(|n| operands.get(n)) {
                Some(Operand::Integer(i)) => integers[*i].clone(),
                _ => attr_ints(node, "axes").unwrap_or_default(),
            };
            Op::ReduceSum {
                keepdims: attr(node, "keepdims").is_none_or(|a| a.i != 0),
                axes,
            }
        }
        other => {
            return Err(onnx_error(format!(
                "node {} is a {other}, which the distillation student cannot replay \
                 (it knows Conv, BatchNormalization, Add, Sub, Mul, Div, Min, Max, Relu, Sqrt, \
                 Identity, Flatten, GlobalAveragePool, Reshape, MatMul, ReduceSum)",
                node.name
            )))
        }
    })
}

fn apply(op: &Op, inputs: Vec<Resolved>) -> Result<Value, TrainError> {
    let mut it = inputs.into_iter();
    let mut next = || it.next().ok_or_else(|| onnx_error("a node lacks an input"));
    Ok(match op {
        Op::Conv {
            stride,
            dilation,
            group,
            pads,
        } => {
            let x = next()?.value()?;
            let w = next()?.value()?;
            let b = next().ok().map(|b| b.value()).transpose()?;
            conv(x, w, b, *stride, *dilation, *group, *pads)?
        }
        Op::BatchNorm { epsilon } => {
            let x = next()?.value()?;
            let mut channel = || -> Result<Tensor<4>, TrainError> {
                let v = next()?.value()?;
                let c = v.shape.iter().product::<usize>();
                Ok(v.tensor.reshape([1, c, 1, 1]))
            };
            let (gamma, beta, mean, var) = (channel()?, channel()?, channel()?, channel()?);
            let y = (x.tensor.clone() - mean) / var.add_scalar(*epsilon).sqrt() * gamma + beta;
            x.derived(y, x.shape.clone())
        }
        Op::Binary(kind) => {
            let a = next()?.value()?;
            let b = next()?.value()?;
            binary(*kind, a, b)
        }
        Op::Relu => {
            let x = next()?.value()?;
            x.derived(relu(x.tensor.clone()), x.shape.clone())
        }
        Op::Sqrt => {
            let x = next()?.value()?;
            x.derived(x.tensor.clone().sqrt(), x.shape.clone())
        }
        Op::Identity => next()?.value()?,
        Op::Flatten => {
            let x = next()?.value()?;
            let n = x.shape[0];
            let d = x.shape[1..].iter().product();
            x.derived(x.tensor.clone().reshape([n, d, 1, 1]), vec![n, d])
        }
        Op::GlobalAveragePool => {
            let x = next()?.value()?;
            let [n, c, _, _] = x.tensor.dims();
            x.derived(x.tensor.clone().mean_dims(&[2, 3]), vec![n, c, 1, 1])
        }
        Op::Reshape => {
            let x = next()?.value()?;
            let Resolved::Integers(mut spec) = next()? else {
                return Err(onnx_error("Reshape needs a constant shape"));
            };
            // The exporter writes the batch of 1 it traced with: keep the real one.
            if x.batched && spec.first().is_some_and(|&d| d > 0) {
                spec[0] = x.shape[0] as i64;
            }
            let shape = reshaped(&x.shape, &spec)?;
            x.derived(x.tensor.clone().reshape(stored_shape(&shape)), shape)
        }
        Op::MatMul => {
            let a = next()?.value()?;
            let b = next()?.value()?;
            let (&[n, k], &[k2, m]) = (&a.shape[..], &b.shape[..]) else {
                return Err(onnx_error("MatMul only of two matrices"));
            };
            if k != k2 {
                return Err(onnx_error(format!("MatMul of [{n}, {k}] by [{k2}, {m}]")));
            }
            let batched = a.batched || b.batched;
            let y = a.tensor.reshape([n, k]).matmul(b.tensor.reshape([k, m]));
            Value::new(y.reshape([n, m, 1, 1]), vec![n, m], batched)
        }
        Op::ReduceSum { keepdims, axes } => {
            let x = next()?.value()?;
            let rank = x.shape.len();
            if !*keepdims || rank == 3 || axes.is_empty() {
                return Err(onnx_error(
                    "ReduceSum only with keepdims over given axes of a rank 2 or 4 tensor",
                ));
            }
            let mut t = x.tensor.clone();
            let mut shape = x.shape.clone();
            for &a in axes {
                let a = if a < 0 { a + rank as i64 } else { a } as usize;
                t = t.sum_dim(a);
                shape[a] = 1;
            }
            x.derived(t, shape)
        }
    })
}

fn conv(
    x: Value,
    w: Value,
    b: Option<Value>,
    stride: [usize; 2],
    dilation: [usize; 2],
    group: usize,
    pads: Pads,
) -> Result<Value, TrainError> {
    let &[n, _, h, wd] = &x.shape[..] else {
        return Err(onnx_error("Conv input is not 4-D"));
    };
    let &[m, _, kh, kw] = &w.shape[..] else {
        return Err(onnx_error("Conv weight is not 4-D"));
    };
    let [top, left, bottom, right] = match pads {
        Pads::Explicit(p) => p,
        Pads::Same { upper } => {
            let total = |size: usize, k: usize, s: usize, d: usize| {
                let out = size.div_ceil(s);
                ((out - 1) * s + (k - 1) * d + 1).saturating_sub(size)
            };
            let (th, tw) = (
                total(h, kh, stride[0], dilation[0]),
                total(wd, kw, stride[1], dilation[1]),
            );
            let (small_h, small_w) = (th / 2, tw / 2);
            if upper {
                [small_h, small_w, th - small_h, tw - small_w]
            } else {
                [th - small_h, tw - small_w, small_h, small_w]
            }
        }
    };
    let options =
        ConvOptions::new_with_padding(stride, [(top, bottom), (left, right)], dilation, group);
    let bias = b.map(|b| b.tensor.reshape([m]));
    let y = conv2d(x.tensor.clone(), w.tensor, bias, options);
    let [_, _, oh, ow] = y.dims();
    Ok(x.derived(y, vec![n, m, oh, ow]))
}

fn binary(kind: Binary, a: Value, b: Value) -> Value {
    let batched = a.batched || b.batched;
    let rank = a.shape.len().max(b.shape.len());
    let (sa, sb) = (aligned(&a.shape, rank), aligned(&b.shape, rank));
    let shape: Vec<usize> = sa.iter().zip(&sb).map(|(x, y)| (*x).max(*y)).collect();
    let ta = a.tensor.reshape(stored_shape(&sa));
    let tb = b.tensor.reshape(stored_shape(&sb));
    let out = stored_shape(&shape);
    let y = match kind {
        Binary::Add => ta + tb,
        Binary::Sub => ta - tb,
        Binary::Mul => ta * tb,
        Binary::Div => ta / tb,
        Binary::Min => ta.expand(out).min_pair(tb.expand(out)),
        Binary::Max => ta.expand(out).max_pair(tb.expand(out)),
    };
    Value::new(y, shape, batched)
}

/// The ONNX shape of a Reshape of `input` to `spec` (0 copies, -1 infers).
fn reshaped(input: &[usize], spec: &[i64]) -> Result<Vec<usize>, TrainError> {
    let total: usize = input.iter().product();
    let mut out: Vec<usize> = spec
        .iter()
        .enumerate()
        .map(|(i, &s)| match s {
            0 => input.get(i).copied().unwrap_or(1),
            -1 => 0,
            s => s as usize,
        })
        .collect();
    if let Some(pos) = spec.iter().position(|&s| s == -1) {
        let known: usize = out.iter().filter(|&&d| d != 0).product();
        out[pos] = total / known.max(1);
    }
    if out.iter().product::<usize>() != total || out.len() > 4 {
        return Err(onnx_error(format!("cannot reshape {input:?} to {spec:?}")));
    }
    Ok(out)
}
