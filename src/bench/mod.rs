//! Benchmarking: warm-up, repeated timed runs and their percentiles, CPU
//! instruction counts, peak memory, and the report `siamedge bench` writes.

mod frames;
mod instructions;
mod memory;
mod report;
mod tracker;

pub use frames::{frame_costs, synthetic_frame, FrameCost, FRAME_SIZES};
pub use instructions::{per_run, InstructionCounter};
pub use memory::{peak_rss_mib, reset_peak_rss};
pub use report::{
    compare, BenchReport, Comparison, DetectorRuns, HostInfo, StageLatency, VariantBench,
    DEBUG_BUILD_WARNING,
};
pub use tracker::{bench_tracker, TrackerBench};

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::face::ALIGNED_SIZE;
use crate::image::RgbImage;

/// A synthetic aligned face: a fixed pixel pattern of the embedder's input
/// size, the same on every machine (benchmarks and cross-architecture checks).
pub fn synthetic_face() -> RgbImage {
    let mut img = RgbImage::new(ALIGNED_SIZE, ALIGNED_SIZE);
    for (i, v) in img.data.iter_mut().enumerate() {
        *v = (i * 31 % 251) as u8;
    }
    img
}

/// Latency percentiles of repeated runs, in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    /// Timed runs.
    pub runs: usize,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Fastest run.
    pub min_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Latency {
    /// Summarises durations (any order).
    pub fn from_samples(samples: &mut [Duration]) -> Latency {
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let n = samples.len();
        let pick = |q: f64| ms(samples[((n as f64 * q).ceil() as usize).clamp(1, n) - 1]);
        Latency {
            runs: n,
            p50_ms: pick(0.5),
            p90_ms: pick(0.9),
            p99_ms: pick(0.99),
            min_ms: ms(samples[0]),
            mean_ms: samples.iter().map(|d| ms(*d)).sum::<f64>() / n as f64,
        }
    }
}

/// Runs `f` `warmup` times untimed, then `runs` times timed.
pub fn measure<E>(
    warmup: usize,
    runs: usize,
    mut f: impl FnMut() -> Result<(), E>,
) -> Result<Latency, E> {
    for _ in 0..warmup {
        f()?;
    }
    let mut samples = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed());
    }
    Ok(Latency::from_samples(&mut samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_samples() {
        let mut s: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let l = Latency::from_samples(&mut s);
        assert_eq!(
            (l.p50_ms, l.p90_ms, l.p99_ms, l.min_ms),
            (50.0, 90.0, 99.0, 1.0)
        );
        assert!((l.mean_ms - 50.5).abs() < 1e-9);
    }

    #[test]
    fn measure_counts_runs_and_propagates_errors() {
        let mut calls = 0;
        let l = measure::<()>(2, 5, || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((l.runs, calls), (5, 7));
        assert!(measure(0, 3, || Err::<(), _>("boom")).is_err());
    }
}
