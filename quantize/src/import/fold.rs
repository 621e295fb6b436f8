//! Constant folding: operators whose inputs are all constants are computed
//! at import time. `DEQUANTIZE` of float16 weights is the common case.

use crate::tflite::{Activation, BuiltinOp, Operator, Options};

use super::value::{strided_offsets, strides, Const, ConstData};

/// The most elements a folded constant may have (16 MB of f32; broadcasting
/// also builds two index tables of 8 bytes per element): an output
/// shape claiming more is left unfolded (found by fuzzing: a mutated file
/// whose broadcast output took ~100 MB ran past 512 MB under the fuzzer's
/// sanitizer).
const MAX_FOLDED: usize = 4 << 20;

/// Computes `op` on constant inputs with output shape `out_shape`; `None`
/// when the operator is not one the folder handles, or its output would
/// exceed [`MAX_FOLDED`] elements.
pub fn fold(op: &Operator, inputs: &[&Const], out_shape: &[usize]) -> Option<Const> {
    let elements = out_shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))?;
    if elements > MAX_FOLDED {
        return None;
    }
    if matches!(op.options, Options::Arithmetic { activation } if activation != Activation::None) {
        return None;
    }
    let first = inputs.first()?;
    let data = match (op.op, inputs) {
        (BuiltinOp::DEQUANTIZE, [c]) => match &c.data {
            ConstData::F16(v) => ConstData::F32(v.iter().map(|&h| f16_to_f32(h)).collect()),
            _ => return None,
        },
        (BuiltinOp::RESHAPE, [c, ..]) => c.data.clone(),
        (BuiltinOp::NEG, [c]) => unary(c, |x| -x)?,
        (BuiltinOp::ABS, [c]) => unary(c, f32::abs)?,
        (BuiltinOp::RELU, [c]) => unary(c, |x| x.max(0.0))?,
        (BuiltinOp::EXP, [c]) => unary(c, f32::exp)?,
        (BuiltinOp::ADD, [a, b]) => binary(a, b, out_shape, |x, y| x + y)?,
        (BuiltinOp::SUB, [a, b]) => binary(a, b, out_shape, |x, y| x - y)?,
        (BuiltinOp::MUL, [a, b]) => binary(a, b, out_shape, |x, y| x * y)?,
        (BuiltinOp::DIV, [a, b]) => binary(a, b, out_shape, |x, y| x / y)?,
        _ => return None,
    };
    (data.len() == elements).then(|| Const {
        name: first.name.clone(),
        shape: out_shape.to_vec(),
        data,
    })
}

fn unary(c: &Const, f: impl Fn(f32) -> f32) -> Option<ConstData> {
    Some(ConstData::F32(c.floats()?.iter().map(|&x| f(x)).collect()))
}

/// Elementwise `f` with numpy broadcasting to `out_shape`.
fn binary(
    a: &Const,
    b: &Const,
    out_shape: &[usize],
    f: impl Fn(f32, f32) -> f32,
) -> Option<ConstData> {
    let (av, bv) = (a.floats()?, b.floats()?);
    let ai = broadcast_index(&a.shape, out_shape)?;
    let bi = broadcast_index(&b.shape, out_shape)?;
    Some(ConstData::F32(
        ai.iter().zip(&bi).map(|(&i, &j)| f(av[i], bv[j])).collect(),
    ))
}

/// For each element of `out_shape`, the offset of the element of `shape` it
/// reads under numpy broadcasting; `None` when the shapes do not broadcast.
fn broadcast_index(shape: &[usize], out_shape: &[usize]) -> Option<Vec<usize>> {
    if shape.len() > out_shape.len() {
        return None;
    }
    let pad = out_shape.len() - shape.len();
    let src_strides = strides(shape);
    let mut step = vec![0; out_shape.len()];
    for (i, (&d, &s)) in shape.iter().zip(&src_strides).enumerate() {
        let o = out_shape[pad + i];
        if d == o {
            step[pad + i] = s;
        } else if d != 1 {
            return None;
        }
    }
    Some(strided_offsets(out_shape, &step))
}

/// Widens IEEE 754 half-precision bits to f32 (exact, incl. subnormals, inf, NaN).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: value = frac * 2^-24, exactly representable in f32.
            let v = frac as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, _) => sign | 0x7fc0_0000 | (frac << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_widen_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(
            broadcast_index(&[3], &[2, 3]).unwrap(),
            vec![0, 1, 2, 0, 1, 2]
        );
        assert_eq!(
            broadcast_index(&[2, 1], &[2, 3]).unwrap(),
            vec![0, 0, 0, 1, 1, 1]
        );
        assert!(broadcast_index(&[2], &[2, 3]).is_none());
    }
}
