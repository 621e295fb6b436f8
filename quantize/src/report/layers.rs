//! Per-layer error of a candidate model against its reference: each
//! convolution's output compared on the same inputs, after a least-squares
//! scale per channel (cross-layer equalisation rescales channels on purpose,
//! which is not an error).

use serde::Serialize;

use crate::quant::graph::OnnxModel;
use crate::quant::stats::probe;
use crate::quant::QuantError;

/// One convolution's output error.
#[derive(Debug, Clone, Serialize)]
pub struct LayerError {
    /// Output value of the convolution (same name in both models).
    pub output: String,
    /// `||a - s*b||^2 / ||a||^2` summed over channels, `s` fitted per channel.
    pub relative_error: f64,
    /// The same as signal-to-quantization-noise ratio in dB.
    pub sqnr_db: f64,
}

/// Errors of every convolution output present in both models.
pub fn layer_errors(
    reference: &[u8],
    candidate: &[u8],
    inputs: &[Vec<f32>],
    input_shape: &[usize],
) -> Result<Vec<LayerError>, QuantError> {
    let a = OnnxModel::decode(reference)?;
    let b = OnnxModel::decode(candidate)?;
    let shared: Vec<String> = a
        .nodes()
        .iter()
        .filter(|n| n.op_type == "Conv")
        .map(|n| n.output[0].clone())
        .filter(|o| {
            b.producer(o)
                .is_some_and(|i| b.nodes()[i].op_type == "Conv")
        })
        .collect();
    let mut na = probe(&a, &shared, input_shape)?;
    let mut nb = probe(&b, &shared, input_shape)?;
    let mut sums: Vec<Vec<[f64; 3]>> = vec![Vec::new(); shared.len()];
    for x in inputs {
        let oa = na.run(&[(input_shape, x)])?;
        let (shapes, va): (Vec<Vec<usize>>, Vec<Vec<f32>>) = (0..shared.len())
            .map(|i| (oa.shape(i).to_vec(), oa.values(i).to_vec()))
            .unzip();
        let ob = nb.run(&[(input_shape, x)])?;
        for (i, s) in sums.iter_mut().enumerate() {
            let channels = shapes[i].get(1).copied().unwrap_or(1).max(1);
            let plane = va[i].len() / channels;
            s.resize(channels, [0.0; 3]);
            for (k, (p, q)) in va[i].iter().zip(ob.values(i)).enumerate() {
                let c = (k / plane.max(1)) % channels;
                s[c][0] += (*p as f64) * (*p as f64);
                s[c][1] += (*p as f64) * (*q as f64);
                s[c][2] += (*q as f64) * (*q as f64);
            }
        }
    }
    Ok(shared
        .into_iter()
        .zip(sums)
        .map(|(output, s)| {
            let (mut noise, mut signal) = (0.0, 0.0);
            for [aa, ab, bb] in s {
                // min over k of ||a - k b||^2 = aa - ab^2 / bb.
                noise += if bb > 0.0 {
                    (aa - ab * ab / bb).max(0.0)
                } else {
                    aa
                };
                signal += aa;
            }
            let relative_error = noise / signal.max(1e-30);
            LayerError {
                output,
                relative_error,
                sqnr_db: -10.0 * relative_error.max(1e-30).log10(),
            }
        })
        .collect())
}
