//! Finds the PReLU idioms TFLite converters leave behind, so that each is
//! emitted as one fused PReLU (see `ops::elementwise::prelu`):
//!
//! - `relu(x) + c * (x - |x|)`, as in MobileFaceNet: slope `2c`;
//! - `relu(x) + c * -relu(-x)`, as in MTCNN: slope `c`.
//!
//! Both are exact rewrites in f32 (`x - |x| = 2x` for negative `x`, and the
//! factor 2 is exact). A match needs a constant `c` of one value per channel
//! (or a single value) and intermediate tensors used by nothing else.

use std::collections::BTreeMap;

use crate::tflite::{Activation, BuiltinOp, Model, Operator, Options, TensorType};

use super::value::{Const, ConstData};

/// One recognised PReLU: computed at the root (the final `ADD`).
#[derive(Debug, Clone)]
pub struct Prelu {
    /// The input tensor.
    pub x: usize,
    /// The per-channel slope (shape `[C]` or `[1]`).
    pub slope: Const,
}

/// The PReLUs of a graph and the operators they absorb.
#[derive(Debug, Default)]
pub struct PreluPlan {
    /// Root operator index -> PReLU computed there.
    pub roots: BTreeMap<usize, Prelu>,
    /// For each operator, true when it is part of a PReLU and emits nothing itself.
    pub absorbed: Vec<bool>,
}

/// Scans `model` for PReLU idioms.
pub fn find(model: &Model) -> PreluPlan {
    let graph = Graph::new(model);
    let mut plan = PreluPlan {
        roots: BTreeMap::new(),
        absorbed: vec![false; model.operators.len()],
    };
    for (k, op) in model.operators.iter().enumerate() {
        if op.op != BuiltinOp::ADD || !no_activation(op) || op.inputs.len() != 2 {
            continue;
        }
        let (Some(a), Some(b)) = (op.inputs[0], op.inputs[1]) else {
            continue;
        };
        let found = graph.match_at(a, b).or_else(|| graph.match_at(b, a));
        if let Some((prelu, ops)) = found {
            for o in ops {
                plan.absorbed[o] = true;
            }
            plan.roots.insert(k, prelu);
        }
    }
    plan
}

/// Producers and use counts of the tensors of a graph.
struct Graph<'m, 'a> {
    model: &'m Model<'a>,
    producer: Vec<Option<usize>>,
    uses: Vec<usize>,
}

impl<'m, 'a> Graph<'m, 'a> {
    fn new(model: &'m Model<'a>) -> Self {
        let mut producer = vec![None; model.tensors.len()];
        let mut uses = vec![0; model.tensors.len()];
        for (k, op) in model.operators.iter().enumerate() {
            for &o in &op.outputs {
                producer[o] = Some(k);
            }
            for &i in op.inputs.iter().flatten() {
                uses[i] += 1;
            }
        }
        for &o in &model.outputs {
            uses[o] += 1;
        }
        Graph {
            model,
            producer,
            uses,
        }
    }

    /// The operator producing `t` if it is `op` with no fused activation and
    /// `t` is used only once; returns (operator index, its inputs).
    fn single_use(&self, t: usize, op: BuiltinOp) -> Option<(usize, Vec<usize>)> {
        let k = self.producer[t]?;
        let o = &self.model.operators[k];
        if o.op != op || self.uses[t] != 1 || !no_activation(o) {
            return None;
        }
        Some((k, o.inputs.iter().copied().collect::<Option<Vec<_>>>()?))
    }

    /// Matches `relu(x) + c * tail(x)` with `r` the relu output and `m` the product.
    fn match_at(&self, r: usize, m: usize) -> Option<(Prelu, Vec<usize>)> {
        let (relu, relu_in) = self.single_use(r, BuiltinOp::RELU)?;
        let x = *relu_in.first()?;
        let (mul, mul_in) = self.single_use(m, BuiltinOp::MUL)?;
        let [p, q] = <[usize; 2]>::try_from(mul_in).ok()?;
        let (c, tail) = if self.float_const(p).is_some() {
            (p, q)
        } else {
            (q, p)
        };
        let values = self.float_const(c)?;
        let channels = *self.model.tensors[x].shape.last()?;
        if values.len() != 1 && self.model.tensors[c].shape != [channels] {
            return None;
        }
        let (scale, ops) = self
            .mobilefacenet_tail(tail, x)
            .or_else(|| self.mtcnn_tail(tail, x))?;
        let slope = Const {
            name: self.model.tensors[c].name.clone(),
            shape: vec![values.len()],
            data: ConstData::F32(values.iter().map(|v| v * scale).collect()),
        };
        Some((
            Prelu { x, slope },
            [relu, mul].into_iter().chain(ops).collect(),
        ))
    }

    /// `x - |x|`: returns the slope scale 2 and the operators.
    fn mobilefacenet_tail(&self, t: usize, x: usize) -> Option<(f32, Vec<usize>)> {
        let (sub, sub_in) = self.single_use(t, BuiltinOp::SUB)?;
        if sub_in.len() != 2 || sub_in[0] != x {
            return None;
        }
        let (abs, abs_in) = self.single_use(sub_in[1], BuiltinOp::ABS)?;
        (abs_in == [x]).then(|| (2.0, vec![sub, abs]))
    }

    /// `-relu(-x)`: returns the slope scale 1 and the operators.
    fn mtcnn_tail(&self, t: usize, x: usize) -> Option<(f32, Vec<usize>)> {
        let (neg_out, neg_out_in) = self.single_use(t, BuiltinOp::NEG)?;
        let (relu, relu_in) = self.single_use(*neg_out_in.first()?, BuiltinOp::RELU)?;
        let (neg_in, neg_in_in) = self.single_use(*relu_in.first()?, BuiltinOp::NEG)?;
        (neg_in_in == [x]).then(|| (1.0, vec![neg_out, relu, neg_in]))
    }

    /// The values of a float32 constant tensor.
    fn float_const(&self, t: usize) -> Option<Vec<f32>> {
        let tensor = &self.model.tensors[t];
        if tensor.dtype != TensorType::Float32 {
            return None;
        }
        let data = tensor.data?;
        Some(
            data.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )
    }
}

/// True when the operator has no fused activation.
fn no_activation(op: &Operator) -> bool {
    !matches!(op.options, Options::Arithmetic { activation } if activation != Activation::None)
}
