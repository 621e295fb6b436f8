//! Which of tract's convolution lowerings a plan uses, chosen by measurement.
//!
//! tract lowers a group-1 f32 convolution of up to 576 inputs per output
//! point over rows of 128 points or more to its direct spatial kernel instead
//! of im2col and a matrix product. Measured on this project's models (x86_64
//! AVX2, one thread), the direct kernel wins for few inputs per point (P-Net's
//! first layer, 27) and takes 2.5x im2col's time at 288 (FaceAntiSpoofing's
//! 3x3 convolutions over 32 channels, 92 % of that net's time). The crossover
//! depends on the host's kernels, so a plan that holds a direct spatial
//! convolution is built a second time without it, both are timed here on a
//! zero input, and im2col replaces the default only when it is clearly faster.

use std::time::{Duration, Instant};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::knobs::KnobScope;
use tract_onnx::tract_core::plan::SimpleState;

/// How much faster im2col must be to replace tract's default plan: a close
/// call keeps the default, so that the same host makes the same choice from
/// run to run (the two round differently in the last bits).
const SWITCH_MARGIN: f64 = 1.25;

/// tract's name for the direct spatial convolution.
const DIRECT_SPATIAL: &str = "DirectSpatialConv";

/// Timed runs of each candidate plan, after one untimed run (the choice matters
/// where the two differ by a factor, which one run shows; loading stays quick).
const TIMED_RUNS: usize = 1;

/// The optimised, runnable state for `model`, and a line saying how the
/// convolution lowering was chosen when there was a choice to make.
/// `shapes` are the concrete input shapes to time with (`None` for a model
/// with symbolic sizes, which keeps tract's default plan).
pub(super) fn optimised_state(
    model: TypedModel,
    shapes: Option<&[Vec<usize>]>,
) -> TractResult<(TypedSimpleState, Option<String>)> {
    let default = state_of(model.clone().into_optimized()?)?;
    let Some(shapes) = shapes else {
        return Ok((default, None));
    };
    if !default
        .model()
        .nodes()
        .iter()
        .any(|n| n.op().name() == DIRECT_SPATIAL)
    {
        return Ok((default, None));
    }
    let without = KnobScope::new([("TRACT_DISABLE_DIRECT_SPATIAL", "true")])?
        .enter(|| model.into_optimized())?;
    let mut without = state_of(without)?;
    let mut default = default;
    let inputs: TVec<TValue> = shapes
        .iter()
        .map(|s| Tensor::zero::<f32>(s).map(|t| t.into_tvalue()))
        .collect::<TractResult<_>>()?;
    let (mut t_default, mut t_without) = (Duration::MAX, Duration::MAX);
    for run in 0..=TIMED_RUNS {
        let a = time_run(&mut default, &inputs)?;
        let b = time_run(&mut without, &inputs)?;
        if run > 0 {
            t_default = t_default.min(a);
            t_without = t_without.min(b);
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(
        if t_without.as_secs_f64() * SWITCH_MARGIN < t_default.as_secs_f64() {
            (
                without,
                Some(format!(
                    "im2col instead of direct spatial convolution: {:.1} ms against {:.1} ms",
                    ms(t_without),
                    ms(t_default)
                )),
            )
        } else {
            (
                default,
                Some(format!(
                    "direct spatial convolution kept: {:.1} ms against {:.1} ms with im2col",
                    ms(t_default),
                    ms(t_without)
                )),
            )
        },
    )
}

fn state_of(model: TypedModel) -> TractResult<TypedSimpleState> {
    SimpleState::new(&model.into_runnable()?)
}

fn time_run(state: &mut TypedSimpleState, inputs: &TVec<TValue>) -> TractResult<Duration> {
    let t = Instant::now();
    state.run(inputs.clone())?;
    Ok(t.elapsed())
}
