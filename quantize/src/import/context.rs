//! The importer's state while it walks the TFLite graph: the value held for
//! each tensor, the ONNX graph being built, and layout conversions.

use std::rc::Rc;

use crate::tflite::{Model, TensorType};
use siamedge::onnx_writer::{attr, ElemType, GraphBuilder};

use super::value::{
    invert, is_identity, transpose_index, Act, Const, ConstData, Dim, Layout, Value, TO_NCHW,
    TO_NHWC,
};
use super::ImportError;

/// Result type of the importer.
pub type Result<T> = std::result::Result<T, ImportError>;

/// Walks one TFLite graph and builds its ONNX counterpart.
pub struct Importer<'m, 'a> {
    /// The TFLite model.
    pub model: &'m Model<'a>,
    /// The ONNX graph being built.
    pub graph: GraphBuilder,
    values: Vec<Option<Value>>,
    batch: Option<usize>,
    symbolic: bool,
    current: usize,
}

impl<'m, 'a> Importer<'m, 'a> {
    /// Starts an import: constants are loaded, activations are unknown. The
    /// batch of the first graph input becomes 1; with `symbolic`, H and W of
    /// every rank-4 activation are symbolic.
    pub fn new(model: &'m Model<'a>, symbolic: bool) -> Result<Importer<'m, 'a>> {
        let mut values = Vec::with_capacity(model.tensors.len());
        for (i, t) in model.tensors.iter().enumerate() {
            let value = match t.data {
                Some(bytes) => Some(Value::Const(Const {
                    name: t.name.clone(),
                    shape: t.shape.clone(),
                    data: decode(t.dtype, bytes).ok_or_else(|| ImportError::Graph {
                        path: model.path.clone(),
                        reason: format!(
                            "constant tensor {i} ('{}') has unsupported type {:?}",
                            t.name, t.dtype
                        ),
                    })?,
                })),
                None => None,
            };
            values.push(value);
        }
        let batch = model
            .inputs
            .first()
            .and_then(|&i| model.tensors[i].shape.first().copied())
            .filter(|&b| b > 1);
        Ok(Importer {
            model,
            graph: GraphBuilder::new(),
            values,
            batch,
            symbolic,
            current: 0,
        })
    }

    /// Sets the operator index used in error messages.
    pub fn set_current(&mut self, index: usize) {
        self.current = index;
    }

    /// An "unsupported" error for the current operator.
    pub fn unsupported(&self, reason: impl Into<String>) -> ImportError {
        let op = self
            .model
            .operators
            .get(self.current)
            .map(|o| o.op.name())
            .unwrap_or_default();
        ImportError::Unsupported {
            path: self.model.path.clone(),
            index: self.current,
            op,
            reason: reason.into(),
        }
    }

    /// A graph-consistency error for the current operator.
    pub fn graph_error(&self, reason: impl Into<String>) -> ImportError {
        ImportError::Graph {
            path: self.model.path.clone(),
            reason: format!("operator #{}: {}", self.current, reason.into()),
        }
    }

    /// The value held for tensor `t`.
    pub fn value(&self, t: usize) -> Result<&Value> {
        self.values[t].as_ref().ok_or_else(|| {
            self.graph_error(format!(
                "tensor {t} ('{}') is used before it is computed",
                self.model.tensors[t].name
            ))
        })
    }

    /// The constant held for tensor `t`, if it is one.
    pub fn constant(&self, t: usize) -> Option<&Const> {
        match self.values[t].as_ref() {
            Some(Value::Const(c)) => Some(c),
            _ => None,
        }
    }

    /// The constant held for tensor `t`, or an "unsupported" error naming `what`.
    pub fn require_const(&self, t: usize, what: &str) -> Result<Const> {
        self.constant(t)
            .cloned()
            .ok_or_else(|| self.unsupported(format!("{what} must be a constant")))
    }

    /// The activation held for tensor `t` (a constant becomes an initializer).
    pub fn act(&mut self, t: usize) -> Result<Act> {
        match self.value(t)?.clone() {
            Value::Act(a) => Ok(a),
            Value::Const(c) => {
                let name = self.emit_const(&c)?;
                Ok(Act {
                    name,
                    shape: c.shape.iter().map(|&d| Dim::Known(d)).collect(),
                    layout: Layout::Plain,
                    elem: const_elem(&c.data),
                })
            }
        }
    }

    /// TFLite shape of tensor `t` as the ONNX graph sees it: batch 1, and
    /// symbolic H and W for rank-4 tensors when importing with symbolic dims.
    pub fn shape(&self, t: usize) -> Vec<Dim> {
        let shape = &self.model.tensors[t].shape;
        shape
            .iter()
            .enumerate()
            .map(|(i, &d)| match i {
                0 if shape.len() >= 2 && Some(d) == self.batch => Dim::Known(1),
                1 | 2 if self.symbolic && shape.len() == 4 => Dim::Sym,
                _ => Dim::Known(d),
            })
            .collect()
    }

    /// Records that tensor `t` is the ONNX value `name` in `layout`.
    pub fn set_act(&mut self, t: usize, name: String, layout: Layout) -> Result<()> {
        let elem = tensor_elem(self.model.tensors[t].dtype).ok_or_else(|| {
            self.unsupported(format!("output type {:?}", self.model.tensors[t].dtype))
        })?;
        let layout = normalise(layout);
        self.values[t] = Some(Value::Act(Act {
            name,
            shape: self.shape(t),
            layout,
            elem,
        }));
        Ok(())
    }

    /// Records that tensor `t` is `act` itself (an operator that changes nothing).
    pub fn alias(&mut self, t: usize, act: Act) {
        self.values[t] = Some(Value::Act(act));
    }

    /// Records that tensor `t` is the constant `c` (a folded operator).
    pub fn set_const(&mut self, t: usize, mut c: Const) {
        c.name = self.model.tensors[t].name.clone();
        self.values[t] = Some(Value::Const(c));
    }

    /// Renames an ONNX value produced by a node, in the graph and in every
    /// activation that refers to it; false when the graph refuses (see
    /// [`GraphBuilder::rename`]).
    pub fn rename(&mut self, old: &str, new: &str) -> bool {
        if !self.graph.rename(old, new) {
            return false;
        }
        for value in self.values.iter_mut().flatten() {
            if let Value::Act(a) = value {
                if a.name == old {
                    a.name = new.to_string();
                }
            }
        }
        true
    }

    /// Emits a constant as an initializer; returns its name.
    pub fn emit_const(&mut self, c: &Const) -> Result<String> {
        let raw: Vec<u8> = match &c.data {
            ConstData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ConstData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ConstData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ConstData::Bool(v) => v.iter().map(|&x| u8::from(x)).collect(),
            ConstData::F16(_) => {
                return Err(self.unsupported(format!(
                    "float16 constant '{}' used without DEQUANTIZE",
                    c.name
                )))
            }
        };
        Ok(self
            .graph
            .initializer(&c.name, const_elem(&c.data), &c.shape, raw))
    }

    /// Emits an int64 initializer.
    pub fn emit_i64(&mut self, base: &str, values: &[i64]) -> String {
        self.graph.i64_tensor(base, &[values.len()], values)
    }

    /// Adds a node with one output; returns the output name.
    pub fn node(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        output_base: &str,
        attributes: Vec<siamedge::model::onnx_proto::AttributeProto>,
    ) -> String {
        self.graph.node(op_type, inputs, output_base, attributes)
    }

    /// The ONNX name of tensor `t` in `layout`, converting activations and
    /// constants as needed.
    pub fn operand(&mut self, t: usize, layout: &Layout) -> Result<String> {
        match self.value(t)?.clone() {
            Value::Act(a) => Ok(self.convert(&a, layout)?.name),
            Value::Const(c) => {
                let c = const_in_layout(&c, layout).ok_or_else(|| {
                    self.graph_error(format!(
                        "constant '{}' cannot be laid out as {layout:?}",
                        c.name
                    ))
                })?;
                self.emit_const(&c)
            }
        }
    }

    /// The layout in which an elementwise operator on `inputs` can run without
    /// moving data: the inputs' common layout if every constant can follow it,
    /// else [`Layout::Plain`].
    pub fn common_layout(&self, inputs: &[usize]) -> Result<Layout> {
        let mut layout: Option<(Layout, usize)> = None;
        for &t in inputs {
            if let Value::Act(a) = self.value(t)? {
                match &layout {
                    None => layout = Some((a.layout.clone(), a.shape.len())),
                    Some((l, rank)) if *l == a.layout && *rank == a.shape.len() => {}
                    Some(_) => return Ok(Layout::Plain),
                }
            }
        }
        let Some((layout, _)) = layout else {
            return Ok(Layout::Plain);
        };
        for &t in inputs {
            if let Some(c) = self.constant(t) {
                if const_in_layout(c, &layout).is_none() {
                    return Ok(Layout::Plain);
                }
            }
        }
        Ok(layout)
    }

    /// Converts an activation to `layout`, adding the nodes that takes.
    pub fn convert(&mut self, a: &Act, layout: &Layout) -> Result<Act> {
        if a.layout == *layout {
            return Ok(a.clone());
        }
        let rank = a.shape.len();
        let mut out = a.clone();
        match (&a.layout, layout) {
            (Layout::Nchw, Layout::Plain) => {
                out.name = self.node(
                    "Transpose",
                    &[&a.name],
                    &format!("{}/nhwc", a.name),
                    vec![attr::ints("perm", &to_i64(&TO_NHWC))],
                );
            }
            (Layout::Plain, Layout::Nchw) if rank == 4 => {
                out.name = self.node(
                    "Transpose",
                    &[&a.name],
                    &format!("{}/nchw", a.name),
                    vec![attr::ints("perm", &to_i64(&TO_NCHW))],
                );
            }
            (Layout::Flat(perm), Layout::Plain) => {
                let index: Vec<i64> = invert(perm).iter().map(|&i| i as i64).collect();
                let index = self.emit_i64(&format!("{}/nhwc_order", a.name), &index);
                out.name = self.node(
                    "Gather",
                    &[&a.name, &index],
                    &format!("{}/nhwc", a.name),
                    vec![attr::int("axis", 1)],
                );
            }
            (Layout::Plain, Layout::Flat(perm)) if rank == 2 => {
                let index: Vec<i64> = perm.iter().map(|&i| i as i64).collect();
                let index = self.emit_i64(&format!("{}/nchw_order", a.name), &index);
                out.name = self.node(
                    "Gather",
                    &[&a.name, &index],
                    &format!("{}/nchw", a.name),
                    vec![attr::int("axis", 1)],
                );
            }
            (Layout::Nchw, Layout::Flat(_)) | (Layout::Flat(_), Layout::Nchw) => {
                let plain = self.convert(a, &Layout::Plain)?;
                return self.convert(&plain, layout);
            }
            _ => {
                return Err(self.graph_error(format!(
                    "cannot convert rank-{rank} '{}' from {:?} to {layout:?}",
                    a.name, a.layout
                )))
            }
        }
        out.layout = layout.clone();
        Ok(out)
    }

    /// Flattens a rank-4 activation to `[N, H*W*C]` in TFLite terms without
    /// moving data: an NCHW value is flattened as is and tagged with the
    /// column permutation (none when H = W = 1). The result is named after `base`.
    pub fn flatten(&mut self, a: &Act, base: &str) -> Result<Act> {
        let dims: Option<Vec<usize>> = a.shape.iter().map(|d| d.known()).collect();
        let Some([n, h, w, c]) = dims.as_deref().and_then(|d| <[usize; 4]>::try_from(d).ok())
        else {
            return Err(self.unsupported(format!(
                "flattening '{}' needs a static rank-4 shape",
                a.name
            )));
        };
        let a = match a.layout {
            Layout::Flat(_) => self.convert(a, &Layout::Plain)?,
            _ => a.clone(),
        };
        let name = self.node("Flatten", &[&a.name], base, vec![attr::int("axis", 1)]);
        let layout = match a.layout {
            Layout::Nchw => normalise(Layout::Flat(Rc::new(transpose_index(
                &[1, h, w, c],
                &TO_NCHW,
            )))),
            _ => Layout::Plain,
        };
        Ok(Act {
            name,
            shape: vec![Dim::Known(n), Dim::Known(h * w * c)],
            layout,
            elem: a.elem,
        })
    }

    /// ONNX dims of an activation in its layout, for graph inputs and outputs.
    pub fn onnx_dims(a: &Act) -> Vec<Dim> {
        match a.layout {
            Layout::Nchw => TO_NCHW.iter().map(|&p| a.shape[p]).collect(),
            _ => a.shape.clone(),
        }
    }
}

/// A `Flat` layout whose permutation is the identity is plain.
fn normalise(layout: Layout) -> Layout {
    match layout {
        Layout::Flat(perm) if is_identity(&perm) => Layout::Plain,
        other => other,
    }
}

/// A constant re-laid-out to broadcast against values in `layout`, or `None`
/// when it cannot be.
pub fn const_in_layout(c: &Const, layout: &Layout) -> Option<Const> {
    match layout {
        Layout::Plain => Some(c.clone()),
        Layout::Nchw => {
            if c.shape.is_empty() {
                return Some(c.clone());
            }
            if c.shape.len() > 4 {
                return None;
            }
            let mut padded = c.clone();
            padded.shape = std::iter::repeat_n(1, 4 - c.shape.len())
                .chain(c.shape.iter().copied())
                .collect();
            let mut t = padded.transpose(&TO_NCHW);
            while t.shape.len() > 1 && t.shape[0] == 1 {
                t.shape.remove(0);
            }
            Some(t)
        }
        Layout::Flat(perm) => {
            if c.data.len() == 1 && c.shape.len() <= 2 {
                return Some(c.clone());
            }
            let (last, rest) = c.shape.split_last()?;
            if *last != perm.len() || rest.iter().any(|&d| d != 1) || rest.len() > 1 {
                return None;
            }
            Some(Const {
                name: c.name.clone(),
                shape: c.shape.clone(),
                data: c.data.gather(perm),
            })
        }
    }
}

/// Decodes little-endian constant bytes.
fn decode(dtype: TensorType, bytes: &[u8]) -> Option<ConstData> {
    Some(match dtype {
        TensorType::Float32 => ConstData::F32(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        TensorType::Float16 => ConstData::F16(
            bytes
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect(),
        ),
        TensorType::Int32 => ConstData::I32(
            bytes
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        TensorType::Int64 => ConstData::I64(
            bytes
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect(),
        ),
        TensorType::Bool => ConstData::Bool(bytes.iter().map(|&b| b != 0).collect()),
        TensorType::Other(_) => return None,
    })
}

/// The ONNX element type of a TFLite tensor type, if the importer handles it.
pub fn tensor_elem(dtype: TensorType) -> Option<ElemType> {
    match dtype {
        TensorType::Float32 => Some(ElemType::Float),
        TensorType::Int32 => Some(ElemType::Int32),
        TensorType::Int64 => Some(ElemType::Int64),
        TensorType::Bool => Some(ElemType::Bool),
        TensorType::Float16 | TensorType::Other(_) => None,
    }
}

fn const_elem(data: &ConstData) -> ElemType {
    match data {
        ConstData::F32(_) | ConstData::F16(_) => ElemType::Float,
        ConstData::I32(_) => ElemType::Int32,
        ConstData::I64(_) => ElemType::Int64,
        ConstData::Bool(_) => ElemType::Bool,
    }
}

/// `usize` axes or permutations as ONNX int64s.
pub fn to_i64(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&x| x as i64).collect()
}
