//! Integer kernels on NHWC int8 activations: a dense convolution as dot
//! products over im2col rows (pointwise convolutions read the input rows
//! directly), a direct depthwise convolution vectorised over channels, and
//! float requantisation with a fused ReLU or PReLU. Each kernel has one
//! portable body; on x86_64 a copy compiled for AVX2 is chosen at run time,
//! on aarch64 a copy for the dot-product extension. Dense dot products have
//! hand-written inner loops: `vpmaddwd` on i16 lanes (AVX2) and `sdot` on
//! i8 lanes (aarch64 dot product).

/// The activation fused into a requantisation.
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    /// None (linear).
    Linear,
    /// max(x, 0).
    Relu,
    /// x for x > 0, slope[c] * x otherwise.
    Prelu(Vec<f32>),
    /// ONNX HardSwish: x * clamp(x / 6 + 1 / 2, 0, 1).
    HardSwish,
}

/// ONNX HardSwish.
#[inline(always)]
pub fn hard_swish(x: f32) -> f32 {
    x * hard_sigmoid(x, 1.0 / 6.0, 0.5)
}

/// ONNX HardSigmoid: clamp(alpha * x + beta, 0, 1).
#[inline(always)]
#[allow(clippy::manual_clamp)] // the same max-then-min order on every CPU
pub fn hard_sigmoid(x: f32, alpha: f32, beta: f32) -> f32 {
    (alpha * x + beta).max(0.0).min(1.0)
}

/// Requantisation of one convolution's int32 sums into int8 (or float).
#[derive(Debug, Clone)]
pub struct Requant {
    /// Per output channel: input scale x weight scale.
    pub multiplier: Vec<f32>,
    /// Per output channel: float bias.
    pub bias: Vec<f32>,
    /// Per output channel: input zero point x sum of the channel's weights.
    pub zero_correction: Vec<i32>,
    /// Fused activation.
    pub activation: Activation,
    /// 1 / output scale.
    pub inv_out_scale: f32,
    /// Output zero point.
    pub out_zero_point: i32,
}

impl Requant {
    /// The float value of output channel `c` for the int32 sum `acc`.
    #[inline(always)]
    pub fn real(&self, c: usize, acc: i32) -> f32 {
        let y =
            acc.wrapping_sub(self.zero_correction[c]) as f32 * self.multiplier[c] + self.bias[c];
        match &self.activation {
            Activation::Linear => y,
            Activation::Relu => y.max(0.0),
            Activation::Prelu(slope) => y.max(0.0) + y.min(0.0) * slope[c],
            Activation::HardSwish => hard_swish(y),
        }
    }
}

/// `round(x) + zero_point` saturated to int8, in operations that vectorise
/// (`as i8` on a float compiles to scalar code with NaN checks): the clamp
/// leaves a finite value in range, NaN included (`max` drops it).
#[inline(always)]
#[allow(clippy::manual_clamp)] // `clamp` would keep a NaN, which the cast below must not see
fn saturate_i8(x: f32, zero_point: f32) -> i8 {
    let v = (x.round_ties_even() + zero_point).max(-128.0).min(127.0);
    // SAFETY: v is finite and within [-128, 127], so it fits in an i32.
    unsafe { v.to_int_unchecked::<i32>() as i8 }
}

/// Requantises one pixel's sums (`acc`, one per output channel) into `out`,
/// in straight-line loops over channels that the compiler vectorises.
#[inline(always)]
fn requant_row(rq: &Requant, acc: &[i32], real: &mut [f32], out: &mut [i8]) {
    for (((r, &a), &z), (&m, &b)) in real
        .iter_mut()
        .zip(acc)
        .zip(&rq.zero_correction)
        .zip(rq.multiplier.iter().zip(&rq.bias))
    {
        *r = a.wrapping_sub(z) as f32 * m + b;
    }
    match &rq.activation {
        Activation::Linear => {}
        Activation::Relu => real.iter_mut().for_each(|r| *r = r.max(0.0)),
        Activation::Prelu(slope) => {
            for (r, &s) in real.iter_mut().zip(slope) {
                *r = r.max(0.0) + r.min(0.0) * s;
            }
        }
        Activation::HardSwish => real.iter_mut().for_each(|r| *r = hard_swish(*r)),
    }
    let (inv, zp) = (rq.inv_out_scale, rq.out_zero_point as f32);
    for (o, &r) in out.iter_mut().zip(real.iter()) {
        *o = saturate_i8(r * inv, zp);
    }
}

/// An element type of dense weight rows and of the input rows they
/// multiply: i16 where the kernel pairs products as `pmaddwd` / `smlal`
/// do, i8 where it uses `sdot` (aarch64 with the dot-product extension).
pub trait Lane: Copy + Default + From<i8> + Into<i32> {}
impl Lane for i16 {}
impl Lane for i8 {}

/// Dense convolution weights `[out][kh][kw][in]`, each output channel's row
/// zero-padded to whole vectors, in the element type this CPU's kernel
/// multiplies (chosen once, when the network is planned).
#[derive(Debug, Clone)]
pub enum DenseWeights {
    /// Widened to i16 (x86_64, and ARM without the dot-product extension).
    Wide(Vec<i16>),
    /// Kept as i8 (aarch64 with the dot-product extension).
    Narrow(Vec<i8>),
}

impl DenseWeights {
    /// Lays out `weights` (`per` values per output channel) for this CPU.
    pub fn new(weights: &[i8], per: usize) -> DenseWeights {
        fn rows<E: Lane>(weights: &[i8], per: usize) -> Vec<E> {
            let kp = padded(per);
            let mut out = vec![E::default(); weights.len() / per * kp];
            for (dst, src) in out.chunks_exact_mut(kp).zip(weights.chunks_exact(per)) {
                dst.iter_mut().zip(src).for_each(|(d, &v)| *d = E::from(v));
            }
            out
        }
        if has_sdot() {
            DenseWeights::Narrow(rows(weights, per))
        } else {
            DenseWeights::Wide(rows(weights, per))
        }
    }
}

/// The dense kernels this CPU runs: `sdot` (aarch64 with the dot-product
/// extension), `avx2` (x86_64 with AVX2) or `portable` (plain Rust the
/// compiler vectorises, e.g. NEON on a Cortex-A72 or A53).
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            return "avx2";
        }
    }
    if has_sdot() {
        "sdot"
    } else {
        "portable"
    }
}

/// Whether this CPU has `sdot` (the aarch64 dot-product extension).
fn has_sdot() -> bool {
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("dotprod")
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        false
    }
}

#[inline(always)]
fn dot4_portable<E: Lane>(x: &[E], w: &[E], k: usize) -> [i32; 4] {
    let (w0, rest) = w.split_at(k);
    let (w1, rest) = rest.split_at(k);
    let (w2, w3) = rest.split_at(k);
    let (mut s0, mut s1, mut s2, mut s3) = (0i32, 0i32, 0i32, 0i32);
    for i in 0..k {
        let v: i32 = x[i].into();
        s0 = s0.wrapping_add(v.wrapping_mul(w0[i].into()));
        s1 = s1.wrapping_add(v.wrapping_mul(w1[i].into()));
        s2 = s2.wrapping_add(v.wrapping_mul(w2[i].into()));
        s3 = s3.wrapping_add(v.wrapping_mul(w3[i].into()));
    }
    [s0, s1, s2, s3]
}

/// Sums are exact: the wrapping i32 products and adds never wrap for the
/// layer sizes of an encoder (they only spare the overflow checks of debug
/// builds).
#[inline(always)]
fn dot_body<E: Lane>(x: &[E], w: &[E]) -> i32 {
    x.iter().zip(w).fold(0i32, |s, (&a, &b)| {
        s.wrapping_add(a.into().wrapping_mul(b.into()))
    })
}

/// Length of the input rows and weight rows: `k` rounded up to whole
/// vectors (16 lanes), the padding zero.
pub fn padded(k: usize) -> usize {
    k.div_ceil(LANES) * LANES
}

/// Lanes of one vector: i16 in 256 bits, i8 in 128 bits.
const LANES: usize = 16;

#[inline(always)]
fn dot2x4_portable<E: Lane>(x0: &[E], x1: &[E], w: &[E], k: usize) -> [[i32; 4]; 2] {
    [dot4_portable(x0, w, k), dot4_portable(x1, w, k)]
}

/// Dot products of two rows `x0`, `x1` with four consecutive weight rows of
/// `w` (`k` values each, `k` a multiple of 16), with `vpmaddwd`: 16 products
/// per instruction, summed in pairs into i32 lanes; eight accumulators stay
/// in registers and each weight load serves both rows.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot2x4_avx2(x0: &[i16], x1: &[i16], w: &[i16], k: usize) -> [[i32; 4]; 2] {
    use std::arch::x86_64::*;
    assert!(k % LANES == 0 && x0.len() >= k && x1.len() >= k && w.len() >= 4 * k);
    let (p0, p1, pw) = (x0.as_ptr(), x1.as_ptr(), w.as_ptr());
    let z = _mm256_setzero_si256();
    let (mut a00, mut a01, mut a02, mut a03) = (z, z, z, z);
    let (mut a10, mut a11, mut a12, mut a13) = (z, z, z, z);
    let mut i = 0;
    while i < k {
        // SAFETY: i + 16 <= k (k is a multiple of 16); both rows and the four
        // weight rows hold k values, checked by the assert above.
        unsafe {
            let v0 = _mm256_loadu_si256(p0.add(i).cast());
            let v1 = _mm256_loadu_si256(p1.add(i).cast());
            let w0 = _mm256_loadu_si256(pw.add(i).cast());
            a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(v0, w0));
            a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(v1, w0));
            let w1 = _mm256_loadu_si256(pw.add(k + i).cast());
            a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(v0, w1));
            a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(v1, w1));
            let w2 = _mm256_loadu_si256(pw.add(2 * k + i).cast());
            a02 = _mm256_add_epi32(a02, _mm256_madd_epi16(v0, w2));
            a12 = _mm256_add_epi32(a12, _mm256_madd_epi16(v1, w2));
            let w3 = _mm256_loadu_si256(pw.add(3 * k + i).cast());
            a03 = _mm256_add_epi32(a03, _mm256_madd_epi16(v0, w3));
            a13 = _mm256_add_epi32(a13, _mm256_madd_epi16(v1, w3));
        }
        i += LANES;
    }
    let sum4 = |a: __m256i, b: __m256i, c: __m256i, d: __m256i| {
        let s = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
        let s = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s));
        let mut out = [0i32; 4];
        // SAFETY: out is 16 bytes, the size of one __m128i.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), s) };
        out
    };
    [sum4(a00, a01, a02, a03), sum4(a10, a11, a12, a13)]
}

/// The same dot products on i8 rows with `sdot` (16 products per
/// instruction, summed in fours into i32 lanes). `sdot` is written as
/// inline assembly because its Rust intrinsic is not stable yet.
///
/// # Safety
/// The CPU must support the dot-product extension.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon,dotprod")]
unsafe fn dot2x4_sdot(x0: &[i8], x1: &[i8], w: &[i8], k: usize) -> [[i32; 4]; 2] {
    use std::arch::aarch64::*;
    use std::arch::asm;
    assert!(k % LANES == 0 && x0.len() >= k && x1.len() >= k && w.len() >= 4 * k);
    let (p0, p1, pw) = (x0.as_ptr(), x1.as_ptr(), w.as_ptr());
    let z = vdupq_n_s32(0);
    let mut acc = [[z; 4]; 2];
    let mut i = 0;
    while i < k {
        // SAFETY: i + 16 <= k (k is a multiple of 16); both rows and the four
        // weight rows hold k values, checked by the assert above. `sdot`
        // only reads and writes the registers named.
        unsafe {
            let v = [vld1q_s8(p0.add(i)), vld1q_s8(p1.add(i))];
            for (c, a) in [0, 1, 2, 3].into_iter().zip(0..4) {
                let wc = vld1q_s8(pw.add(c * k + i));
                for r in 0..2 {
                    asm!(
                        "sdot {acc:v}.4s, {x:v}.16b, {w:v}.16b",
                        acc = inout(vreg) acc[r][a],
                        x = in(vreg) v[r],
                        w = in(vreg) wc,
                        options(pure, nomem, nostack),
                    );
                }
            }
        }
        i += LANES;
    }
    acc.map(|row| row.map(|a| vaddvq_s32(a)))
}

/// Rows of a dense convolution times its weights: the int32 dot product of
/// each row (`k` values, copied into the padded `row` scratch in the
/// weights' element type) with each output channel, requantised into `out`
/// (`[rows][out]`). Two rows and four channels at a time.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn dense_body<E: Lane>(
    rows: &[i8],
    weights: &[E],
    rq: &Requant,
    row: &mut [E],
    acc: &mut [i32],
    real: &mut [f32],
    out: &mut [i8],
    dot2x4: impl Fn(&[E], &[E], &[E], usize) -> [[i32; 4]; 2],
) {
    let channels = rq.bias.len();
    let k = rows.len() / (out.len() / channels);
    let kp = padded(k);
    let (acc, real) = (&mut acc[..2 * channels], &mut real[..channels]);
    let (r0, r1) = row[..2 * kp].split_at_mut(kp);
    r0[k..].fill(E::default());
    r1[k..].fill(E::default());
    let mut pairs = rows.chunks(2 * k).zip(out.chunks_mut(2 * channels));
    for (src, dst) in &mut pairs {
        let two = src.len() == 2 * k;
        r0.iter_mut()
            .zip(&src[..k])
            .for_each(|(r, &v)| *r = E::from(v));
        if two {
            r1.iter_mut()
                .zip(&src[k..])
                .for_each(|(r, &v)| *r = E::from(v));
        }
        let (acc0, acc1) = acc.split_at_mut(channels);
        let mut c = 0;
        while c + 4 <= channels {
            let [s0, s1] = dot2x4(r0, r1, &weights[c * kp..(c + 4) * kp], kp);
            acc0[c..c + 4].copy_from_slice(&s0);
            acc1[c..c + 4].copy_from_slice(&s1);
            c += 4;
        }
        while c < channels {
            let w = &weights[c * kp..(c + 1) * kp];
            acc0[c] = dot_body(r0, w);
            acc1[c] = dot_body(r1, w);
            c += 1;
        }
        requant_row(rq, acc0, real, &mut dst[..channels]);
        if two {
            requant_row(rq, acc1, real, &mut dst[channels..]);
        }
    }
}

/// Per-call working memory of the kernels, made once with the network.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    /// Two input rows widened to i16 and zero-padded to whole vectors.
    pub row: Vec<i16>,
    /// The same for kernels on i8 rows.
    pub row8: Vec<i8>,
    /// Two pixels' int32 sums.
    pub acc: Vec<i32>,
    /// One pixel's float values before rounding.
    pub real: Vec<f32>,
}

impl Scratch {
    /// Working memory for rows of up to `k` values and up to `channels` output channels.
    pub fn new(k: usize, channels: usize) -> Scratch {
        let row = 2 * padded(k);
        Scratch {
            row: vec![0; row],
            row8: vec![0; row],
            acc: vec![0; 2 * channels],
            real: vec![0.0; channels],
        }
    }
}

/// Like [`dense_body`] with float outputs (the last, linear layer), one row
/// and one channel at a time.
#[inline(always)]
fn dense_real_body<E: Lane>(
    rows: &[i8],
    weights: &[E],
    rq: &Requant,
    row: &mut [E],
    out: &mut [f32],
) {
    let channels = rq.bias.len();
    let k = rows.len() / (out.len() / channels);
    let kp = padded(k);
    let row = &mut row[..kp];
    row[k..].fill(E::default());
    for (src, dst) in rows.chunks_exact(k).zip(out.chunks_exact_mut(channels)) {
        row.iter_mut().zip(src).for_each(|(r, &v)| *r = E::from(v));
        for (c, d) in dst.iter_mut().enumerate() {
            *d = rq.real(c, dot_body(row, &weights[c * kp..(c + 1) * kp]));
        }
    }
}

/// Geometry of a convolution on an NHWC image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Input height, width, channels.
    pub input: [usize; 3],
    /// Output height, width, channels.
    pub output: [usize; 3],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Strides.
    pub stride: [usize; 2],
    /// Padding before (top, left).
    pub pad: [usize; 2],
}

/// Depthwise convolution (weights `[kh * kw][c]`), int32 sums per channel
/// in `acc`, then requantisation into `out`.
#[inline(always)]
fn depthwise_body(
    x: &[i8],
    g: &Geometry,
    zero_point: i32,
    weights: &[i8],
    rq: &Requant,
    scratch: &mut Scratch,
    out: &mut [i8],
) {
    let [ih, iw, c] = g.input;
    let (acc, real) = (&mut scratch.acc[..c], &mut scratch.real[..c]);
    let [oh, ow, _] = g.output;
    for oy in 0..oh {
        for ox in 0..ow {
            acc.iter_mut().for_each(|a| *a = 0);
            for ky in 0..g.kernel[0] {
                let iy = (oy * g.stride[0] + ky) as isize - g.pad[0] as isize;
                if iy < 0 || iy >= ih as isize {
                    continue;
                }
                for kx in 0..g.kernel[1] {
                    let ix = (ox * g.stride[1] + kx) as isize - g.pad[1] as isize;
                    if ix < 0 || ix >= iw as isize {
                        continue;
                    }
                    let at = (iy as usize * iw + ix as usize) * c;
                    let px = &x[at..at + c];
                    let w = &weights[(ky * g.kernel[1] + kx) * c..][..c];
                    // |v - zp| <= 255 and |w| <= 127: the product fits in i16.
                    let zp = zero_point as i16;
                    for ((a, &v), &wv) in acc.iter_mut().zip(px).zip(w) {
                        *a = a.wrapping_add(
                            (v as i16).wrapping_sub(zp).wrapping_mul(wv as i16) as i32
                        );
                    }
                }
            }
            requant_row(rq, acc, real, &mut out[(oy * ow + ox) * c..][..c]);
        }
    }
}

/// Copies the input patches of each output pixel into rows of
/// `kh * kw * c` values (`(ky, kx, c)` order); padding reads as `zero_point`.
pub fn im2col(x: &[i8], g: &Geometry, zero_point: i8, rows: &mut [i8]) {
    let [ih, iw, c] = g.input;
    let [oh, ow, _] = g.output;
    let k = g.kernel[0] * g.kernel[1] * c;
    for oy in 0..oh {
        for ox in 0..ow {
            let row = &mut rows[(oy * ow + ox) * k..][..k];
            for ky in 0..g.kernel[0] {
                for kx in 0..g.kernel[1] {
                    let dst = &mut row[(ky * g.kernel[1] + kx) * c..][..c];
                    let iy = (oy * g.stride[0] + ky) as isize - g.pad[0] as isize;
                    let ix = (ox * g.stride[1] + kx) as isize - g.pad[1] as isize;
                    if iy < 0 || ix < 0 || iy >= ih as isize || ix >= iw as isize {
                        dst.fill(zero_point);
                    } else {
                        let at = (iy as usize * iw + ix as usize) * c;
                        dst.copy_from_slice(&x[at..at + c]);
                    }
                }
            }
        }
    }
}

/// A quantized tensor's scale and zero point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QParams {
    /// Scale.
    pub scale: f32,
    /// Zero point.
    pub zero_point: i32,
}

/// A squeeze-excitation block: per-channel means of the input, two fully
/// connected layers (ReLU, then HardSigmoid) into one gate per channel, the
/// input scaled by its gates, an optional activation, quantized again. The
/// means come from exact integer sums and the small layers run in float in
/// a fixed order, so every CPU gives the same bytes.
#[derive(Debug, Clone)]
pub struct SqueezeExcite {
    /// Channels of the input.
    pub channels: usize,
    /// First layer, `[hidden][channels]`.
    pub fc1: Vec<f32>,
    /// Its bias, `[hidden]`.
    pub bias1: Vec<f32>,
    /// Second layer, `[channels][hidden]`.
    pub fc2: Vec<f32>,
    /// Its bias, `[channels]`.
    pub bias2: Vec<f32>,
    /// HardSigmoid's slope and offset.
    pub alpha: f32,
    /// HardSigmoid's offset.
    pub beta: f32,
    /// Activation applied after the gating (Linear or HardSwish).
    pub activation: Activation,
}

impl SqueezeExcite {
    /// Floats of scratch one block needs.
    pub fn scratch_len(&self) -> usize {
        2 * self.channels + self.bias1.len()
    }
}

/// Runs a squeeze-excitation block on the NHWC int8 `input` into `out`;
/// `sums` holds at least `channels` integers and `scratch` at least
/// [`SqueezeExcite::scratch_len`] floats.
pub fn squeeze_excite(
    input: &[i8],
    qi: QParams,
    se: &SqueezeExcite,
    qo: QParams,
    sums: &mut [i32],
    scratch: &mut [f32],
    out: &mut [i8],
) {
    let c = se.channels;
    let hidden = se.bias1.len();
    let (means, rest) = scratch.split_at_mut(c);
    let (gates, hid) = rest.split_at_mut(c);
    let pixels = input.len() / c.max(1);
    let sums = &mut sums[..c];
    sums.fill(0);
    for px in input.chunks_exact(c) {
        for (s, &v) in sums.iter_mut().zip(px) {
            *s += v as i32;
        }
    }
    for (m, &sum) in means.iter_mut().zip(sums.iter()) {
        let centred = sum as i64 - pixels as i64 * qi.zero_point as i64;
        *m = centred as f32 * qi.scale / pixels.max(1) as f32;
    }
    for (h, hv) in hid[..hidden].iter_mut().enumerate() {
        let mut acc = se.bias1[h];
        for (w, m) in se.fc1[h * c..(h + 1) * c].iter().zip(means.iter()) {
            acc += w * m;
        }
        *hv = acc.max(0.0);
    }
    for (ch, g) in gates.iter_mut().enumerate() {
        let mut acc = se.bias2[ch];
        for (w, hv) in se.fc2[ch * hidden..(ch + 1) * hidden]
            .iter()
            .zip(hid.iter())
        {
            acc += w * hv;
        }
        *g = hard_sigmoid(acc, se.alpha, se.beta);
    }
    for g in gates.iter_mut() {
        *g *= qi.scale;
    }
    let (inv, zp, zi) = (1.0 / qo.scale, qo.zero_point as f32, qi.zero_point as f32);
    let gated = input.chunks_exact(c).zip(out.chunks_exact_mut(c));
    if se.activation == Activation::HardSwish {
        for (px, o) in gated {
            for ((&v, o), &g) in px.iter().zip(o.iter_mut()).zip(gates.iter()) {
                *o = saturate_i8(hard_swish((v as f32 - zi) * g) * inv, zp);
            }
        }
    } else {
        for (px, o) in gated {
            for ((&v, o), &g) in px.iter().zip(o.iter_mut()).zip(gates.iter()) {
                *o = saturate_i8((v as f32 - zi) * g * inv, zp);
            }
        }
    }
}

/// `out = quantize(dequantize(a) + dequantize(b))`, element by element.
#[inline(always)]
fn add_body(a: &[i8], qa: QParams, b: &[i8], qb: QParams, qo: QParams, out: &mut [i8]) {
    let (inv, zp) = (1.0 / qo.scale, qo.zero_point as f32);
    let (za, zb) = (qa.zero_point as f32, qb.zero_point as f32);
    for ((o, &va), &vb) in out.iter_mut().zip(a).zip(b) {
        let real = (va as f32 - za) * qa.scale + (vb as f32 - zb) * qb.scale;
        *o = saturate_i8(real * inv, zp);
    }
}

/// Quantizes a float NCHW image (`channels` planes) into NHWC int8.
#[inline(always)]
fn quantize_nchw_body(input: &[f32], channels: usize, q: QParams, out: &mut [i8]) {
    let plane = input.len() / channels.max(1);
    let (inv, zp) = (1.0 / q.scale, q.zero_point as f32);
    for (c, src) in input.chunks_exact(plane).enumerate() {
        for (p, &x) in src.iter().enumerate() {
            out[p * channels + c] = saturate_i8(x * inv, zp);
        }
    }
}

macro_rules! dispatched {
    ($(#[$doc:meta])* $name:ident, $body:ident, ($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn wide($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { wide($($arg),*) };
                }
            }
            #[cfg(target_arch = "aarch64")]
            {
                #[target_feature(enable = "dotprod")]
                unsafe fn wide($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::arch::is_aarch64_feature_detected!("dotprod") {
                    // SAFETY: the CPU supports the dot-product extension, checked just above.
                    return unsafe { wide($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

/// Dense convolution rows into int8 outputs (see [`dense_body`]), on the
/// kernel the weights were laid out for.
pub fn dense(
    rows: &[i8],
    weights: &DenseWeights,
    rq: &Requant,
    scratch: &mut Scratch,
    out: &mut [i8],
) {
    let Scratch {
        row,
        row8,
        acc,
        real,
    } = scratch;
    match weights {
        DenseWeights::Wide(w) => dense_wide(rows, w, rq, row, acc, real, out),
        DenseWeights::Narrow(w) => dense_narrow(rows, w, rq, row8, acc, real, out),
    }
}

/// A [`dense_body`] for one lane type: compiled for `$feature` with the
/// hand-written `$kernel` where `$arch` has it (checked at run time), the
/// portable dot product elsewhere.
macro_rules! dense_on {
    ($(#[$doc:meta])* $name:ident, $lane:ty, $arch:tt, $feature:tt, $detected:expr, $kernel:ident) => {
        $(#[$doc])*
        fn $name(
            rows: &[i8],
            w: &[$lane],
            rq: &Requant,
            row: &mut [$lane],
            acc: &mut [i32],
            real: &mut [f32],
            out: &mut [i8],
        ) {
            #[cfg(target_arch = $arch)]
            {
                #[target_feature(enable = $feature)]
                fn fast(
                    rows: &[i8],
                    w: &[$lane],
                    rq: &Requant,
                    row: &mut [$lane],
                    acc: &mut [i32],
                    real: &mut [f32],
                    out: &mut [i8],
                ) {
                    dense_body(rows, w, rq, row, acc, real, out, |x0, x1, w, k| {
                        // SAFETY: `fast` runs only where the feature was detected.
                        unsafe { $kernel(x0, x1, w, k) }
                    })
                }
                if $detected {
                    // SAFETY: the CPU has the feature, checked just above.
                    return unsafe { fast(rows, w, rq, row, acc, real, out) };
                }
            }
            dense_body(rows, w, rq, row, acc, real, out, dot2x4_portable)
        }
    };
}

dense_on!(
    /// [`dense_body`] on i16 lanes: `vpmaddwd` where AVX2 is present.
    dense_wide,
    i16,
    "x86_64",
    "avx2",
    std::arch::is_x86_feature_detected!("avx2"),
    dot2x4_avx2
);
dense_on!(
    /// [`dense_body`] on i8 lanes: `sdot` (weights are laid out this way
    /// only where the CPU has it).
    dense_narrow,
    i8,
    "aarch64",
    "neon,dotprod",
    has_sdot(),
    dot2x4_sdot
);

/// Dense convolution rows into float outputs (the last layer; see [`dense_real_body`]).
pub fn dense_real(
    rows: &[i8],
    weights: &DenseWeights,
    rq: &Requant,
    scratch: &mut Scratch,
    out: &mut [f32],
) {
    match weights {
        DenseWeights::Wide(w) => dense_real_wide(rows, w, rq, &mut scratch.row, out),
        DenseWeights::Narrow(w) => dense_real_narrow(rows, w, rq, &mut scratch.row8, out),
    }
}

dispatched!(
    /// [`dense_real_body`] on i16 lanes.
    dense_real_wide,
    dense_real_body,
    (rows: &[i8], weights: &[i16], rq: &Requant, row: &mut [i16], out: &mut [f32])
);
dispatched!(
    /// [`dense_real_body`] on i8 lanes.
    dense_real_narrow,
    dense_real_body,
    (rows: &[i8], weights: &[i8], rq: &Requant, row: &mut [i8], out: &mut [f32])
);
dispatched!(
    /// Int8 residual addition with requantisation.
    add,
    add_body,
    (a: &[i8], qa: QParams, b: &[i8], qb: QParams, qo: QParams, out: &mut [i8])
);
dispatched!(
    /// Quantizes the float NCHW graph input into NHWC int8.
    quantize_nchw,
    quantize_nchw_body,
    (input: &[f32], channels: usize, q: QParams, out: &mut [i8])
);
dispatched!(
    /// Depthwise convolution into int8 outputs.
    depthwise,
    depthwise_body,
    (x: &[i8], g: &Geometry, zero_point: i32, weights: &[i8], rq: &Requant, scratch: &mut Scratch, out: &mut [i8])
);

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(channels: usize) -> Requant {
        Requant {
            multiplier: vec![1.0; channels],
            bias: vec![0.0; channels],
            zero_correction: vec![0; channels],
            activation: Activation::Linear,
            inv_out_scale: 1.0,
            out_zero_point: 0,
        }
    }

    #[test]
    fn dense_matches_a_plain_sum_for_every_channel_count_and_lane_type() {
        for channels in [1, 4, 5, 9] {
            let k = 7;
            let rows: Vec<i8> = (0..3 * k).map(|i| (i as i32 * 7 % 23 - 11) as i8).collect();
            let w: Vec<i8> = (0..channels * k)
                .map(|i| (i as i32 * 5 % 19 - 9) as i8)
                .collect();
            let kp = padded(k);
            let mut narrow = vec![0i8; channels * kp];
            for (dst, src) in narrow.chunks_exact_mut(kp).zip(w.chunks_exact(k)) {
                dst[..k].copy_from_slice(src);
            }
            let wide = narrow.iter().map(|&v| v as i16).collect();
            let layouts = [
                DenseWeights::new(&w, k),
                DenseWeights::Wide(wide),
                DenseWeights::Narrow(narrow),
            ];
            for weights in &layouts {
                let mut out = vec![0i8; 3 * channels];
                let mut scratch = Scratch::new(k, channels);
                dense(&rows, weights, &identity(channels), &mut scratch, &mut out);
                let mut real = vec![0f32; 3 * channels];
                dense_real(&rows, weights, &identity(channels), &mut scratch, &mut real);
                for r in 0..3 {
                    for c in 0..channels {
                        let s: i32 = (0..k)
                            .map(|i| rows[r * k + i] as i32 * w[c * k + i] as i32)
                            .sum();
                        assert_eq!(out[r * channels + c], s.clamp(-128, 127) as i8);
                        assert_eq!(real[r * channels + c], s as f32);
                    }
                }
            }
        }
    }

    #[test]
    fn requant_rounds_half_to_even_and_saturates() {
        let mut out = [0i8; 3];
        let q = QParams {
            scale: 1.0,
            zero_point: 3,
        };
        quantize_nchw(&[-0.5, 0.5, -1000.0], 1, q, &mut out);
        assert_eq!(
            out,
            [3, 3, -128],
            "half to even, then the zero point; saturated"
        );
        let rq = Requant {
            activation: Activation::Prelu(vec![0.5]),
            zero_correction: vec![10],
            ..identity(1)
        };
        assert_eq!(rq.real(0, 4), -3.0);
        assert_eq!(rq.real(0, 16), 6.0);
    }

    #[test]
    fn depthwise_skips_padding_and_im2col_fills_it_with_the_zero_point() {
        // 2x2 image, 1 channel, 3x3 kernel of ones, padding 1: each output sums the image.
        let g = Geometry {
            input: [2, 2, 1],
            output: [2, 2, 1],
            kernel: [3, 3],
            stride: [1, 1],
            pad: [1, 1],
        };
        let x = [1i8, 2, 3, 4];
        let mut out = [0i8; 4];
        let mut scratch = Scratch::new(0, 1);
        depthwise(&x, &g, 0, &[1; 9], &identity(1), &mut scratch, &mut out);
        assert_eq!(out, [10, 10, 10, 10]);
        let mut rows = [0i8; 36];
        im2col(&x, &g, -5, &mut rows);
        assert_eq!(&rows[..9], &[-5, -5, -5, -5, 1, 2, -5, 3, 4]);
    }
}
