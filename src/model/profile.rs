//! Where a tract plan spends its time: each node of the optimised graph timed
//! over several runs, with the operator and the kernel tract chose for it.

use std::time::{Duration, Instant};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::eval;

/// The time one node of an optimised graph took, averaged over the profiled runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeTime {
    /// The node's name in the optimised graph.
    pub node: String,
    /// The operator, as tract names it (`Conv`, `OptMatMul`, `DepthWise`, ...).
    pub op: String,
    /// What tract says of the node: kernel choice, strides, padding.
    pub info: String,
    /// The node's output shape(s).
    pub output: String,
    /// Mean milliseconds per run.
    pub ms: f64,
}

/// Runs `state` `runs` times on `input` (after one untimed run) and returns
/// each node's mean time, in graph order.
pub(super) fn profile_state(
    state: &mut TypedSimpleState,
    input: Tensor,
    runs: usize,
) -> TractResult<Vec<NodeTime>> {
    let nodes = state.model().nodes().len();
    let mut totals = vec![Duration::ZERO; nodes];
    for run in 0..=runs {
        state.run_plan_with_eval(
            tvec!(input.clone().into_tvalue()),
            |ctx, op_state, node, inputs| {
                let t = Instant::now();
                let out = eval(ctx, op_state, node, inputs);
                if run > 0 {
                    totals[node.id] += t.elapsed();
                }
                out
            },
        )?;
    }
    let model = state.model();
    Ok(model
        .nodes()
        .iter()
        .map(|n| NodeTime {
            node: n.name.clone(),
            op: n.op().name().to_string(),
            info: n.op().info().unwrap_or_default().join("; "),
            output: n
                .outputs
                .iter()
                .map(|o| format!("{:?}", o.fact.shape))
                .collect::<Vec<_>>()
                .join(" "),
            ms: totals[n.id].as_secs_f64() * 1e3 / runs.max(1) as f64,
        })
        .collect())
}
