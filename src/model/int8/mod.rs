//! Integer execution of QDQ-quantized convolutional encoders: the graph is
//! planned into int8 convolutions (dense through dot products, depthwise
//! direct) with fused bias, activation and requantisation, int8 residual
//! additions and squeeze-excitation blocks, so activations stay int8 from
//! the input to the last layer. All buffers are made when the model is loaded.

mod kernels;
mod plan;

pub use kernels::kernel_name;
use kernels::{add, dense, dense_real, depthwise, im2col, quantize_nchw, squeeze_excite, Scratch};
use plan::{ConvKind, ConvStep, ConvWeights, Destination, Plan, Step};
use tract_onnx::pb::GraphProto;

/// A planned int8 network with its buffers.
#[derive(Debug)]
pub struct Int8Net {
    plan: Plan,
    buffers: Vec<Vec<i8>>,
    rows: Vec<i8>,
    scratch: Scratch,
    nhwc: Vec<f32>,
    output: Vec<f32>,
    excite: Vec<f32>,
    excite_sums: Vec<i32>,
}

impl Int8Net {
    /// Plans `graph` for its input of `input_shape`; the error says why the
    /// graph cannot run in integers (it then runs in tract).
    pub fn plan(graph: &GraphProto, input_shape: &[usize]) -> Result<Int8Net, String> {
        let plan = plan::plan(graph, input_shape)?;
        let (mut rows, mut k, mut acc) = (0, 0, 0);
        for s in &plan.steps {
            if let Step::Conv(c) = s {
                let g = &c.geometry;
                if c.kind == ConvKind::Im2col {
                    rows = rows
                        .max(g.output[0] * g.output[1] * g.kernel[0] * g.kernel[1] * g.input[2]);
                }
                acc = acc.max(g.output[2]);
                k = k.max(g.kernel[0] * g.kernel[1] * g.input[2]);
            }
        }
        let excite = plan
            .steps
            .iter()
            .map(|s| match s {
                Step::SqueezeExcite { block, .. } => block.scratch_len(),
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        let [h, w, c] = plan.output_nhwc;
        Ok(Int8Net {
            excite: vec![0.0; excite],
            excite_sums: vec![0; excite],
            buffers: plan.buffers.iter().map(|&n| vec![0; n]).collect(),
            rows: vec![0; rows],
            scratch: Scratch::new(k, acc),
            nhwc: vec![0.0; h * w * c],
            output: vec![0.0; h * w * c],
            plan,
        })
    }

    /// Number of steps.
    pub fn step_count(&self) -> usize {
        self.plan.steps.len()
    }

    /// A name for each step, in order.
    pub fn step_names(&self) -> Vec<String> {
        self.plan
            .steps
            .iter()
            .map(|s| match s {
                Step::QuantizeInput { .. } => "QuantizeInput".to_string(),
                Step::Add { .. } => "Int8Add".to_string(),
                Step::SqueezeExcite { .. } => "Int8SqueezeExcite".to_string(),
                Step::Conv(c) => format!("Int8Conv{:?}", c.kind),
            })
            .collect()
    }

    /// Shape of the output (as the graph states it).
    pub fn output_shape(&self) -> &[usize] {
        &self.plan.output_shape
    }

    /// Runs the network on a float NCHW input; returns the float output (NCHW order).
    pub fn run(&mut self, input: &[f32]) -> &[f32] {
        let steps = std::mem::take(&mut self.plan.steps);
        for step in &steps {
            match step {
                Step::QuantizeInput { output } => {
                    let channels = self.plan.input_shape[1];
                    quantize_nchw(
                        input,
                        channels,
                        output.qparams(),
                        &mut self.buffers[output.buffer],
                    );
                }
                Step::Add { a, b, output } => {
                    let mut out = std::mem::take(&mut self.buffers[output.buffer]);
                    let (xa, xb) = (&self.buffers[a.buffer], &self.buffers[b.buffer]);
                    add(xa, a.qparams(), xb, b.qparams(), output.qparams(), &mut out);
                    self.buffers[output.buffer] = out;
                }
                Step::Conv(conv) => self.conv(conv),
                Step::SqueezeExcite {
                    input,
                    output,
                    block,
                } => {
                    let mut out = std::mem::take(&mut self.buffers[output.buffer]);
                    squeeze_excite(
                        &self.buffers[input.buffer],
                        input.qparams(),
                        block,
                        output.qparams(),
                        &mut self.excite_sums,
                        &mut self.excite,
                        &mut out,
                    );
                    self.buffers[output.buffer] = out;
                }
            }
        }
        self.plan.steps = steps;
        let [h, w, c] = self.plan.output_nhwc;
        for p in 0..h * w {
            for ch in 0..c {
                self.output[ch * h * w + p] = self.nhwc[p * c + ch];
            }
        }
        &self.output
    }

    fn conv(&mut self, conv: &ConvStep) {
        let g = &conv.geometry;
        let input = std::mem::take(&mut self.buffers[conv.input.buffer]);
        let k = g.kernel[0] * g.kernel[1] * g.input[2];
        let rows: &[i8] = match conv.kind {
            ConvKind::Pointwise | ConvKind::Depthwise => &input,
            ConvKind::Im2col => {
                let n = g.output[0] * g.output[1] * k;
                im2col(&input, g, conv.input.zero_point as i8, &mut self.rows[..n]);
                &self.rows[..n]
            }
        };
        match (&conv.output, &conv.weights) {
            (Destination::Int8(out), ConvWeights::Depthwise(weights)) => {
                let mut dst = std::mem::take(&mut self.buffers[out.buffer]);
                depthwise(
                    rows,
                    g,
                    conv.input.zero_point,
                    weights,
                    &conv.requant,
                    &mut self.scratch,
                    &mut dst,
                );
                self.buffers[out.buffer] = dst;
            }
            (Destination::Int8(out), ConvWeights::Dense(weights)) => {
                let mut dst = std::mem::take(&mut self.buffers[out.buffer]);
                dense(rows, weights, &conv.requant, &mut self.scratch, &mut dst);
                self.buffers[out.buffer] = dst;
            }
            (Destination::Float, ConvWeights::Depthwise(_)) => {
                unreachable!("the planner gives a float output only to dense convolutions")
            }
            (Destination::Float, ConvWeights::Dense(weights)) => {
                dense_real(
                    rows,
                    weights,
                    &conv.requant,
                    &mut self.scratch,
                    &mut self.nhwc,
                );
            }
        }
        self.buffers[conv.input.buffer] = input;
    }
}
