//! What the importer knows about each TFLite tensor: a constant it holds, or
//! an ONNX value with its layout relative to the TFLite tensor.

use std::rc::Rc;

use siamedge::onnx_writer::ElemType;

/// One dimension of an activation, in TFLite axis order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// A static size.
    Known(usize),
    /// A symbolic size (P-Net's spatial dims).
    Sym,
}

impl Dim {
    /// The size, if static.
    pub fn known(self) -> Option<usize> {
        match self {
            Dim::Known(n) => Some(n),
            Dim::Sym => None,
        }
    }
}

/// How an ONNX value's memory order relates to the TFLite tensor it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Same shape and order as in TFLite.
    Plain,
    /// A rank-4 TFLite NHWC tensor, held as NCHW.
    Nchw,
    /// A rank-2 TFLite `[N, H*W*C]` tensor (an NHWC flatten), held as the NCHW
    /// flatten `[N, C*H*W]`: ONNX column `j` holds TFLite column `perm[j]`.
    Flat(Rc<Vec<usize>>),
}

/// An ONNX value standing for a TFLite activation tensor.
#[derive(Debug, Clone)]
pub struct Act {
    /// The ONNX value name.
    pub name: String,
    /// The TFLite shape (batch already set to 1).
    pub shape: Vec<Dim>,
    /// How the ONNX value is laid out.
    pub layout: Layout,
    /// Element type.
    pub elem: ElemType,
}

/// Data of a constant tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstData {
    /// 32-bit floats.
    F32(Vec<f32>),
    /// Half floats, as raw bits (widened by `DEQUANTIZE`).
    F16(Vec<u16>),
    /// 32-bit integers.
    I32(Vec<i32>),
    /// 64-bit integers.
    I64(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
}

impl ConstData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ConstData::F32(v) => v.len(),
            ConstData::F16(v) => v.len(),
            ConstData::I32(v) => v.len(),
            ConstData::I64(v) => v.len(),
            ConstData::Bool(v) => v.len(),
        }
    }

    /// Reorders elements: element `i` of the result is element `index[i]` of `self`.
    pub fn gather(&self, index: &[usize]) -> ConstData {
        fn pick<T: Copy>(v: &[T], index: &[usize]) -> Vec<T> {
            index.iter().map(|&i| v[i]).collect()
        }
        match self {
            ConstData::F32(v) => ConstData::F32(pick(v, index)),
            ConstData::F16(v) => ConstData::F16(pick(v, index)),
            ConstData::I32(v) => ConstData::I32(pick(v, index)),
            ConstData::I64(v) => ConstData::I64(pick(v, index)),
            ConstData::Bool(v) => ConstData::Bool(pick(v, index)),
        }
    }
}

/// A constant tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    /// Name to give its ONNX initializer.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: ConstData,
}

impl Const {
    /// Integer values (of an int32 or int64 constant), for shapes and axes.
    pub fn ints(&self) -> Option<Vec<i64>> {
        match &self.data {
            ConstData::I32(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            ConstData::I64(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// Float values, `None` unless the constant is 32-bit float.
    pub fn floats(&self) -> Option<&[f32]> {
        match &self.data {
            ConstData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// Permutes the axes: axis `i` of the result is axis `perm[i]` of `self`.
    pub fn transpose(&self, perm: &[usize]) -> Const {
        let shape: Vec<usize> = perm.iter().map(|&p| self.shape[p]).collect();
        let index = transpose_index(&self.shape, perm);
        Const {
            name: self.name.clone(),
            shape,
            data: self.data.gather(&index),
        }
    }
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// For a transpose of `shape` by `perm`, the source offset of each destination element.
pub fn transpose_index(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    let src_strides = strides(shape);
    let dst_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let step: Vec<usize> = perm.iter().map(|&p| src_strides[p]).collect();
    strided_offsets(&dst_shape, &step)
}

/// Walks `dims` in row-major order; for each position, the offset
/// `sum(index[d] * step[d])`.
pub fn strided_offsets(dims: &[usize], step: &[usize]) -> Vec<usize> {
    let total: usize = dims.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; dims.len()];
    for _ in 0..total {
        out.push(idx.iter().zip(step).map(|(i, s)| i * s).sum());
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < dims[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// What the importer holds for one TFLite tensor.
#[derive(Debug, Clone)]
pub enum Value {
    /// A constant, emitted as an initializer when an ONNX node needs it.
    Const(Const),
    /// An ONNX value computed by the graph.
    Act(Act),
}

/// NHWC axis `a` of a rank-4 tensor, as an NCHW axis.
pub fn nchw_axis(a: usize) -> usize {
    [0, 2, 3, 1][a]
}

/// Permutation taking NHWC to NCHW (`transpose` argument).
pub const TO_NCHW: [usize; 4] = [0, 3, 1, 2];
/// Permutation taking NCHW to NHWC.
pub const TO_NHWC: [usize; 4] = [0, 2, 3, 1];

/// The inverse of a permutation.
pub fn invert(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (j, &p) in perm.iter().enumerate() {
        inv[p] = j;
    }
    inv
}

/// True when `perm` maps every position to itself.
pub fn is_identity(perm: &[usize]) -> bool {
    perm.iter().enumerate().all(|(i, &p)| i == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_nhwc_to_nchw() {
        let c = Const {
            name: "c".into(),
            shape: vec![1, 2, 2, 3],
            data: ConstData::F32((0..12).map(|v| v as f32).collect()),
        };
        let t = c.transpose(&TO_NCHW);
        assert_eq!(t.shape, vec![1, 3, 2, 2]);
        assert_eq!(
            t.floats().unwrap(),
            &[0., 3., 6., 9., 1., 4., 7., 10., 2., 5., 8., 11.]
        );
    }

    #[test]
    fn flatten_perm_matches_transpose() {
        let (h, w, c) = (2, 3, 4);
        let perm = transpose_index(&[1, h, w, c], &TO_NCHW);
        assert_eq!(perm[..4], [0, 4, 8, 12]);
        assert!(is_identity(&transpose_index(&[1, 1, 1, 5], &TO_NCHW)));
        assert_eq!(invert(&invert(&perm)), perm);
    }
}
