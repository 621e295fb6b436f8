//! Turning a QDQ ONNX graph into a list of integer steps. The planner
//! accepts the graphs `siamedge-quantize quantize` writes: a quantized graph
//! input, convolutions with per-channel int8 weights whose input is a
//! quantized value and whose output (after an optional ReLU, HardSwish or
//! the PReLU idiom) is quantized again, residual additions of quantized
//! values, squeeze-excitation blocks (global average pool, two fully
//! connected layers, HardSigmoid gates, optionally HardSwish) between
//! quantized values, and a
//! last linear convolution with a float output (optionally flattened). Any
//! other graph is declined and runs in tract.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};

use super::kernels::{Activation, DenseWeights, Geometry, QParams, Requant, SqueezeExcite};
use crate::model::{float_values, int8_values};

/// An int8 tensor in one of the plan's buffers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantized {
    /// Buffer index.
    pub buffer: usize,
    /// Height, width, channels (NHWC).
    pub shape: [usize; 3],
    /// Scale.
    pub scale: f32,
    /// Zero point.
    pub zero_point: i32,
}

impl Quantized {
    /// Scale and zero point.
    pub fn qparams(&self) -> QParams {
        QParams {
            scale: self.scale,
            zero_point: self.zero_point,
        }
    }
}

/// Where a convolution writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// An int8 buffer.
    Int8(Quantized),
    /// The float output.
    Float,
}

/// How a convolution runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvKind {
    /// One filter per channel; weights `[kh * kw][c]`.
    Depthwise,
    /// 1x1, stride 1, no padding: input rows are the im2col rows.
    Pointwise,
    /// Any other dense convolution, through im2col; weights `[out][kh][kw][in]`.
    Im2col,
}

/// A convolution's int8 weights.
#[derive(Debug, Clone)]
pub enum ConvWeights {
    /// Depthwise, `[kh * kw][c]`.
    Depthwise(Vec<i8>),
    /// Dense, `[out][kh][kw][in]` laid out for this CPU's kernel.
    Dense(DenseWeights),
}

/// One integer convolution with its fused requantisation.
#[derive(Debug, Clone)]
pub struct ConvStep {
    /// Input tensor.
    pub input: Quantized,
    /// Output.
    pub output: Destination,
    /// Shapes, kernel, strides and padding.
    pub geometry: Geometry,
    /// Execution scheme.
    pub kind: ConvKind,
    /// Weights.
    pub weights: ConvWeights,
    /// Requantisation.
    pub requant: Requant,
}

/// One step of the plan.
#[derive(Debug, Clone)]
pub enum Step {
    /// Quantize the float NCHW graph input.
    QuantizeInput {
        /// Destination.
        output: Quantized,
    },
    /// A convolution.
    Conv(Box<ConvStep>),
    /// Sum of two quantized tensors, requantised.
    Add {
        /// First operand.
        a: Quantized,
        /// Second operand.
        b: Quantized,
        /// Result.
        output: Quantized,
    },
    /// A squeeze-excitation block (gated channels), requantised.
    SqueezeExcite {
        /// Its input.
        input: Quantized,
        /// Destination.
        output: Quantized,
        /// Layers and activation.
        block: Box<SqueezeExcite>,
    },
}

/// The planned graph.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Graph input name.
    pub input_name: String,
    /// Graph input shape (NCHW).
    pub input_shape: [usize; 4],
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Length of each int8 buffer.
    pub buffers: Vec<usize>,
    /// Shape of the float output as the graph states it.
    pub output_shape: Vec<usize>,
    /// NHWC shape of the float output before flattening.
    pub output_nhwc: [usize; 3],
}

type Declined = String;

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a tract_onnx::pb::AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

fn floats(t: &TensorProto) -> Result<Vec<f32>, Declined> {
    float_values(t).ok_or_else(|| format!("{} is not float", t.name))
}

fn int8s(t: &TensorProto) -> Result<Vec<i8>, Declined> {
    int8_values(t).ok_or_else(|| format!("{} is not int8", t.name))
}

/// Int8 weights behind a DequantizeLinear.
#[derive(Debug, Clone)]
struct Int8Weights {
    values: Vec<i8>,
    dims: Vec<usize>,
    scales: Vec<f32>,
}

struct Planner<'a> {
    graph: &'a GraphProto,
    inits: HashMap<&'a str, &'a TensorProto>,
    consumers: HashMap<&'a str, Vec<usize>>,
    /// Quantized values by the name of their QuantizeLinear output and of their DequantizeLinear output.
    quantized: HashMap<String, Quantized>,
    /// Int8 weights by the name of their DequantizeLinear output.
    weights: HashMap<String, Int8Weights>,
    fused: HashSet<usize>,
    plan: Plan,
}

impl<'a> Planner<'a> {
    fn init(&self, name: &str) -> Result<&'a TensorProto, Declined> {
        self.inits
            .get(name)
            .copied()
            .ok_or_else(|| format!("{name} is not a constant"))
    }

    fn scalar_qparams(&self, n: &NodeProto) -> Result<(f32, i32), Declined> {
        let scale = *floats(self.init(&n.input[1])?)?
            .first()
            .ok_or("empty scale")?;
        let zp = match n.input.get(2) {
            Some(z) if !z.is_empty() => {
                *int8s(self.init(z)?)?.first().ok_or("empty zero point")? as i32
            }
            _ => return Err("uint8 or missing zero point".into()),
        };
        Ok((scale, zp))
    }

    fn users(&self, value: &str) -> Vec<usize> {
        self.consumers.get(value).cloned().unwrap_or_default()
    }

    fn only_user(&self, value: &str) -> Option<usize> {
        match self.users(value).as_slice() {
            [u] => Some(*u),
            _ => None,
        }
    }

    fn buffer(&mut self, shape: [usize; 3], scale: f32, zero_point: i32) -> Quantized {
        self.plan.buffers.push(shape.iter().product());
        Quantized {
            buffer: self.plan.buffers.len() - 1,
            shape,
            scale,
            zero_point,
        }
    }

    /// The QuantizeLinear node reading `value`, when it is `value`'s only reader.
    fn quantize_after(&self, value: &str) -> Option<usize> {
        self.only_user(value)
            .filter(|&u| self.graph.node[u].op_type == "QuantizeLinear")
    }

    /// The activation after a convolution output and the value it ends in.
    fn activation(&mut self, out: &str) -> Result<(Activation, String), Declined> {
        let graph = self.graph;
        let nodes = &graph.node;
        let users = self.users(out);
        let op = |i: usize| nodes[i].op_type.as_str();
        match users.as_slice() {
            [u] if op(*u) == "Relu" => {
                self.fused.insert(*u);
                Ok((Activation::Relu, nodes[*u].output[0].clone()))
            }
            [u] if op(*u) == "HardSwish" => {
                self.fused.insert(*u);
                Ok((Activation::HardSwish, nodes[*u].output[0].clone()))
            }
            [a, b] if matches!((op(*a), op(*b)), ("Relu", "Min") | ("Min", "Relu")) => {
                let (relu, min) = if op(*a) == "Relu" { (*a, *b) } else { (*b, *a) };
                let zero = nodes[min]
                    .input
                    .iter()
                    .find(|i| *i != out)
                    .ok_or("Min without a constant")?;
                if floats(self.init(zero)?)?.iter().any(|&z| z != 0.0) {
                    return Err("Min with a non-zero constant".into());
                }
                let mul = self
                    .only_user(&nodes[min].output[0])
                    .ok_or("PReLU: Min has several readers")?;
                let slope_name = nodes[mul]
                    .input
                    .iter()
                    .find(|i| **i != nodes[min].output[0])
                    .ok_or("PReLU: Mul without a slope")?;
                let slope = floats(self.init(slope_name)?)?;
                let add = self
                    .only_user(&nodes[mul].output[0])
                    .ok_or("PReLU: Mul has several readers")?;
                if nodes[add].op_type != "Add" || !nodes[add].input.contains(&nodes[relu].output[0])
                {
                    return Err("PReLU idiom not closed by Add".into());
                }
                self.fused.extend([relu, min, mul, add]);
                Ok((Activation::Prelu(slope), nodes[add].output[0].clone()))
            }
            _ => Ok((Activation::Linear, out.to_string())),
        }
    }

    fn conv(&mut self, i: usize) -> Result<(), Declined> {
        let graph = self.graph;
        let n = &graph.node[i];
        let input = *self
            .quantized
            .get(&n.input[0])
            .ok_or("a convolution reads a float value")?;
        let Int8Weights {
            values: w,
            dims,
            scales: w_scales,
        } = self
            .weights
            .get(&n.input[1])
            .cloned()
            .ok_or("a convolution has float weights")?;
        let out_c = dims[0];
        let bias = match n.input.get(2).filter(|b| !b.is_empty()) {
            Some(b) => floats(self.init(b)?)?,
            None => vec![0.0; out_c],
        };
        let group = attr(n, "group").map_or(1, |a| a.i.max(1) as usize);
        let kernel = [dims[2], dims[3]];
        let stride =
            attr(n, "strides").map_or([1, 1], |a| [a.ints[0] as usize, a.ints[1] as usize]);
        if attr(n, "dilations").is_some_and(|a| a.ints.iter().any(|&d| d != 1)) {
            return Err("dilated convolution".into());
        }
        let [ih, iw, ic] = input.shape;
        let auto_pad = attr(n, "auto_pad").map(|a| String::from_utf8_lossy(&a.s).into_owned());
        let (out_hw, pad) = match auto_pad.as_deref() {
            Some("SAME_UPPER") => {
                let o = [ih.div_ceil(stride[0]), iw.div_ceil(stride[1])];
                let total =
                    |o: usize, s: usize, k: usize, i: usize| ((o - 1) * s + k).saturating_sub(i);
                (
                    o,
                    [
                        total(o[0], stride[0], kernel[0], ih) / 2,
                        total(o[1], stride[1], kernel[1], iw) / 2,
                    ],
                )
            }
            Some("VALID") => (
                [
                    (ih - kernel[0]) / stride[0] + 1,
                    (iw - kernel[1]) / stride[1] + 1,
                ],
                [0, 0],
            ),
            None | Some("NOTSET") => {
                let p = attr(n, "pads")
                    .map_or(vec![0; 4], |a| a.ints.iter().map(|&v| v as usize).collect());
                (
                    [
                        (ih + p[0] + p[2] - kernel[0]) / stride[0] + 1,
                        (iw + p[1] + p[3] - kernel[1]) / stride[1] + 1,
                    ],
                    [p[0], p[1]],
                )
            }
            Some(other) => return Err(format!("auto_pad {other}")),
        };
        let geometry = Geometry {
            input: input.shape,
            output: [out_hw[0], out_hw[1], out_c],
            kernel,
            stride,
            pad,
        };
        let per = w.len() / out_c;
        let depthwise = group > 1;
        let (kind, weights, zero_correction) = if depthwise {
            if group != ic || group != out_c || dims[1] != 1 {
                return Err("grouped convolution that is not depthwise".into());
            }
            let taps = kernel[0] * kernel[1];
            let mut t = vec![0i8; w.len()];
            for c in 0..out_c {
                for k in 0..taps {
                    t[k * out_c + c] = w[c * taps + k];
                }
            }
            (
                ConvKind::Depthwise,
                ConvWeights::Depthwise(t),
                vec![0; out_c],
            )
        } else {
            if dims[1] != ic {
                return Err("input channels do not match the weights".into());
            }
            let mut t = vec![0i8; w.len()];
            for o in 0..out_c {
                for ci in 0..ic {
                    for ky in 0..kernel[0] {
                        for kx in 0..kernel[1] {
                            t[o * per + (ky * kernel[1] + kx) * ic + ci] =
                                w[o * per + (ci * kernel[0] + ky) * kernel[1] + kx];
                        }
                    }
                }
            }
            let sums: Vec<i32> = t
                .chunks_exact(per)
                .map(|c| input.zero_point * c.iter().map(|&v| v as i32).sum::<i32>())
                .collect();
            let pointwise = kernel == [1, 1] && stride == [1, 1] && pad == [0, 0];
            (
                if pointwise {
                    ConvKind::Pointwise
                } else {
                    ConvKind::Im2col
                },
                ConvWeights::Dense(DenseWeights::new(&t, per)),
                sums,
            )
        };
        let (activation, end) = self.activation(&n.output[0])?;
        let (output, inv_out_scale, out_zero_point) = match self.quantize_after(&end) {
            Some(q) => {
                let qn = &graph.node[q];
                let (scale, zp) = self.scalar_qparams(qn)?;
                let dest = self.buffer(geometry.output, scale, zp);
                self.quantized.insert(qn.output[0].clone(), dest);
                self.fused.insert(q);
                (Destination::Int8(dest), 1.0 / scale, zp)
            }
            None if depthwise => return Err("a depthwise convolution with a float output".into()),
            None => {
                let graph_output = self.graph.output.iter().any(|o| o.name == end);
                let flatten = self
                    .only_user(&end)
                    .filter(|&u| self.graph.node[u].op_type == "Flatten");
                match (graph_output, flatten) {
                    (true, None) => self.plan.output_shape = vec![1, out_c, out_hw[0], out_hw[1]],
                    (false, Some(f))
                        if self
                            .graph
                            .output
                            .iter()
                            .any(|o| o.name == self.graph.node[f].output[0]) =>
                    {
                        self.fused.insert(f);
                        self.plan.output_shape = vec![1, out_c * out_hw[0] * out_hw[1]];
                    }
                    _ => {
                        return Err(
                            "a convolution output is neither quantized nor the graph output".into(),
                        )
                    }
                }
                self.plan.output_nhwc = geometry.output;
                (Destination::Float, 1.0, 0)
            }
        };
        let multiplier = w_scales.iter().map(|&s| s * input.scale).collect();
        self.plan.steps.push(Step::Conv(Box::new(ConvStep {
            input,
            output,
            geometry,
            kind,
            weights,
            requant: Requant {
                multiplier,
                bias,
                zero_correction,
                activation,
                inv_out_scale,
                out_zero_point,
            },
        })));
        Ok(())
    }

    fn node(&mut self, i: usize) -> Result<(), Declined> {
        if self.fused.contains(&i) {
            return Ok(());
        }
        let graph = self.graph;
        let n = &graph.node[i];
        match n.op_type.as_str() {
            "DequantizeLinear" => {
                if let Some(t) = self.inits.get(n.input[0].as_str()) {
                    let values = int8s(t)?;
                    let dims: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
                    let scales = floats(self.init(&n.input[1])?)?;
                    if let Some(z) = n.input.get(2).filter(|z| !z.is_empty()) {
                        if int8s(self.init(z)?)?.iter().any(|&v| v != 0) {
                            return Err("weights with a non-zero zero point".into());
                        }
                    }
                    let axis = attr(n, "axis").map_or(1, |a| a.i);
                    if dims.len() != 4
                        || (scales.len() != 1 && (scales.len() != dims[0] || axis != 0))
                    {
                        return Err("weights not quantized per output channel".into());
                    }
                    let scales = if scales.len() == 1 {
                        vec![scales[0]; dims[0]]
                    } else {
                        scales
                    };
                    self.weights.insert(
                        n.output[0].clone(),
                        Int8Weights {
                            values,
                            dims,
                            scales,
                        },
                    );
                } else {
                    let q = *self
                        .quantized
                        .get(&n.input[0])
                        .ok_or("DequantizeLinear of an unknown value")?;
                    let (scale, zp) = self.scalar_qparams(n)?;
                    if scale != q.scale || zp != q.zero_point {
                        return Err("requantisation between Q and DQ".into());
                    }
                    self.quantized.insert(n.output[0].clone(), q);
                }
                Ok(())
            }
            "QuantizeLinear" if n.input[0] == self.plan.input_name => {
                let (scale, zp) = self.scalar_qparams(n)?;
                let [_, c, h, w] = self.plan.input_shape;
                let q = self.buffer([h, w, c], scale, zp);
                self.quantized.insert(n.output[0].clone(), q);
                self.plan.steps.push(Step::QuantizeInput { output: q });
                Ok(())
            }
            "Conv" => self.conv(i),
            "Add" => {
                let (a, b) = match (
                    self.quantized.get(&n.input[0]),
                    self.quantized.get(&n.input[1]),
                ) {
                    (Some(a), Some(b)) if a.shape == b.shape => (*a, *b),
                    _ => return Err("an addition of float values".into()),
                };
                let q = self
                    .quantize_after(&n.output[0])
                    .ok_or("an addition whose sum is not quantized")?;
                let (scale, zp) = self.scalar_qparams(&graph.node[q])?;
                let output = self.buffer(a.shape, scale, zp);
                self.quantized
                    .insert(graph.node[q].output[0].clone(), output);
                self.fused.insert(q);
                self.plan.steps.push(Step::Add { a, b, output });
                Ok(())
            }
            "GlobalAveragePool" => self.squeeze_excite(i),
            other => Err(format!("operator {other}")),
        }
    }

    /// The node reading `value` alone, when it is an `op`.
    fn next(&self, value: &str, op: &str) -> Result<usize, Declined> {
        self.only_user(value)
            .filter(|&u| self.graph.node[u].op_type == op)
            .ok_or_else(|| format!("squeeze-excitation: {value} is not read by one {op} alone"))
    }

    /// A fully connected layer `Gemm(x, W, b)` with `W` constant, as
    /// `([out][in] weights, bias)`.
    fn gemm(&self, n: &NodeProto, inputs: usize) -> Result<(Vec<f32>, Vec<f32>), Declined> {
        let w_t = self.init(&n.input[1])?;
        let w = floats(w_t)?;
        let dims: Vec<usize> = w_t.dims.iter().map(|&d| d as usize).collect();
        let alpha = attr(n, "alpha").map_or(1.0, |a| a.f);
        let beta = attr(n, "beta").map_or(1.0, |a| a.f);
        let trans_a = attr(n, "transA").is_some_and(|a| a.i != 0);
        let trans_b = attr(n, "transB").is_some_and(|a| a.i != 0);
        if trans_a || alpha != 1.0 || beta != 1.0 || dims.len() != 2 {
            return Err("squeeze-excitation: a Gemm other than x * W + b".into());
        }
        let (rows, cols) = if trans_b {
            (dims[0], dims[1])
        } else {
            (dims[1], dims[0])
        };
        if cols != inputs {
            return Err("squeeze-excitation: Gemm weights do not fit".into());
        }
        let weights = if trans_b {
            w
        } else {
            (0..rows)
                .flat_map(|r| (0..cols).map(move |c| (r, c)))
                .map(|(r, c)| w[c * rows + r])
                .collect()
        };
        let bias = match n.input.get(2).filter(|b| !b.is_empty()) {
            Some(b) => floats(self.init(b)?)?,
            None => vec![0.0; rows],
        };
        if bias.len() != rows {
            return Err("squeeze-excitation: Gemm bias does not fit".into());
        }
        Ok((weights, bias))
    }

    /// `GlobalAveragePool -> Reshape -> Gemm -> Relu -> Gemm -> HardSigmoid
    /// -> Reshape -> Mul` with the pool's input, then an optional HardSwish,
    /// then QuantizeLinear: one integer step.
    fn squeeze_excite(&mut self, pool: usize) -> Result<(), Declined> {
        let graph = self.graph;
        let nodes = &graph.node;
        let source = nodes[pool].input[0].clone();
        let input = *self
            .quantized
            .get(&source)
            .ok_or("a global average pool of a float value")?;
        let channels = input.shape[2];
        let flat = self.next(&nodes[pool].output[0], "Reshape")?;
        let fc1 = self.next(&nodes[flat].output[0], "Gemm")?;
        let relu = self.next(&nodes[fc1].output[0], "Relu")?;
        let fc2 = self.next(&nodes[relu].output[0], "Gemm")?;
        let sigmoid = self.next(&nodes[fc2].output[0], "HardSigmoid")?;
        let shape = self.next(&nodes[sigmoid].output[0], "Reshape")?;
        let mul = self.next(&nodes[shape].output[0], "Mul")?;
        if !nodes[mul].input.contains(&source) {
            return Err("squeeze-excitation: the gate scales another value".into());
        }
        let (w1, b1) = self.gemm(&nodes[fc1], channels)?;
        let (w2, b2) = self.gemm(&nodes[fc2], b1.len())?;
        if b2.len() != channels {
            return Err("squeeze-excitation: the gates do not match the channels".into());
        }
        let alpha = attr(&nodes[sigmoid], "alpha").map_or(0.2, |a| a.f);
        let beta = attr(&nodes[sigmoid], "beta").map_or(0.5, |a| a.f);
        let mut end = nodes[mul].output[0].clone();
        let mut activation = Activation::Linear;
        let mut fused = vec![pool, flat, fc1, relu, fc2, sigmoid, shape, mul];
        if let Ok(hs) = self.next(&end, "HardSwish") {
            activation = Activation::HardSwish;
            end = nodes[hs].output[0].clone();
            fused.push(hs);
        }
        let q = self
            .quantize_after(&end)
            .ok_or("a squeeze-excitation block whose output is not quantized")?;
        let (scale, zp) = self.scalar_qparams(&nodes[q])?;
        let output = self.buffer(input.shape, scale, zp);
        self.quantized.insert(nodes[q].output[0].clone(), output);
        fused.push(q);
        self.fused.extend(fused);
        self.plan.steps.push(Step::SqueezeExcite {
            input,
            output,
            block: Box::new(SqueezeExcite {
                channels,
                fc1: w1,
                bias1: b1,
                fc2: w2,
                bias2: b2,
                alpha,
                beta,
                activation,
            }),
        });
        Ok(())
    }
}

/// Plans `graph` for integer execution with its input of `input_shape`
/// (NCHW), or says why it cannot.
pub fn plan(graph: &GraphProto, input_shape: &[usize]) -> Result<Plan, String> {
    let inits: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let inputs: Vec<&str> = graph
        .input
        .iter()
        .map(|i| i.name.as_str())
        .filter(|n| !inits.contains_key(n))
        .collect();
    let (&[input_name], &[n, c, h, w], 1) = (inputs.as_slice(), input_shape, graph.output.len())
    else {
        return Err("not one NCHW batch-1 input and one output".into());
    };
    if n != 1 {
        return Err("batch other than 1".into());
    }
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        for v in &node.input {
            consumers.entry(v.as_str()).or_default().push(i);
        }
    }
    let mut p = Planner {
        graph,
        inits,
        consumers,
        quantized: HashMap::new(),
        weights: HashMap::new(),
        fused: HashSet::new(),
        plan: Plan {
            input_name: input_name.to_string(),
            input_shape: [n, c, h, w],
            steps: Vec::new(),
            buffers: Vec::new(),
            output_shape: Vec::new(),
            output_nhwc: [0; 3],
        },
    };
    for i in 0..graph.node.len() {
        p.node(i)?;
    }
    if p.plan.output_shape.is_empty() {
        return Err("no float output".into());
    }
    if !p.plan.steps.iter().any(|s| matches!(s, Step::Conv(_))) {
        return Err("no quantized convolution".into());
    }
    Ok(p.plan)
}
