//! Latency of two models in the siamedge runtime, measured in one process
//! with their runs interleaved so that both see the same machine load.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use siamedge::model::{Dim, Network};

use crate::quant::QuantError;

/// Median and 90th percentile of single-threaded runs of each model.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyPair {
    /// Timed runs of each model.
    pub runs: usize,
    /// Engine that ran the reference (`tract` or `siamedge-int8`).
    pub reference_engine: String,
    /// Engine that ran the candidate.
    pub candidate_engine: String,
    /// Reference median, ms.
    pub reference_p50_ms: f64,
    /// Reference 90th percentile, ms.
    pub reference_p90_ms: f64,
    /// Candidate median, ms.
    pub candidate_p50_ms: f64,
    /// Candidate 90th percentile, ms.
    pub candidate_p90_ms: f64,
    /// Reference median / candidate median (above 1: the candidate is faster).
    pub speedup: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs each model `warmup` times, then `runs` times alternating, on `input`.
pub fn interleaved_latency(
    reference: &[u8],
    candidate: &[u8],
    input: &[f32],
    input_shape: &[usize],
    runs: usize,
    warmup: usize,
) -> Result<LatencyPair, QuantError> {
    let dims: Vec<Dim> = input_shape.iter().map(|&d| Dim::Fixed(d)).collect();
    let mut a = Network::from_bytes(
        Path::new("reference.onnx"),
        reference,
        std::slice::from_ref(&dims),
    )?;
    let mut b = Network::from_bytes(Path::new("candidate.onnx"), candidate, &[dims])?;
    for _ in 0..warmup {
        a.run(&[(input_shape, input)])?;
        b.run(&[(input_shape, input)])?;
    }
    let (mut ta, mut tb) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        a.run(&[(input_shape, input)])?;
        ta.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        b.run(&[(input_shape, input)])?;
        tb.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ta.sort_by(f64::total_cmp);
    tb.sort_by(f64::total_cmp);
    let (pa, pb) = (percentile(&ta, 0.5), percentile(&tb, 0.5));
    Ok(LatencyPair {
        runs: ta.len(),
        reference_engine: a.engine_name().into(),
        candidate_engine: b.engine_name().into(),
        reference_p50_ms: pa,
        reference_p90_ms: percentile(&ta, 0.9),
        candidate_p50_ms: pb,
        candidate_p90_ms: percentile(&tb, 0.9),
        speedup: pa / pb,
    })
}
