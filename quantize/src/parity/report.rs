//! Parity results: per-model error statistics, a table and JSON.

use std::fmt;
use std::path::Path;

use serde::Serialize;

/// Parity of one model over all its cases.
#[derive(Debug, Clone, Serialize)]
pub struct ModelParity {
    /// Model name (its case folder and ONNX file stem).
    pub model: String,
    /// Cases run.
    pub cases: usize,
    /// Largest |ours - ref| over all cases and outputs.
    pub max_abs_error: f64,
    /// Largest max|ours - ref| / max|ref| over all cases and outputs.
    pub rel_max_error: f64,
    /// The case with the largest relative error.
    pub worst_case: String,
    /// Whether every output is within tolerance.
    pub passed: bool,
    /// Why the model could not be checked, if it could not.
    pub error: Option<String>,
    #[serde(skip)]
    tolerance: f64,
}

impl ModelParity {
    /// An empty result for `model`.
    pub fn new(model: &str, tolerance: f64) -> ModelParity {
        ModelParity {
            model: model.to_string(),
            cases: 0,
            max_abs_error: 0.0,
            rel_max_error: 0.0,
            worst_case: String::new(),
            passed: true,
            error: None,
            tolerance,
        }
    }

    /// A model that could not be checked.
    pub fn failed(model: &str, error: String) -> ModelParity {
        ModelParity {
            passed: false,
            error: Some(error),
            ..ModelParity::new(model, 0.0)
        }
    }

    /// Adds one output of one case.
    pub fn add(&mut self, case: &Path, ours: &[f32], reference: &[f32]) {
        let abs = ours
            .iter()
            .zip(reference)
            .map(|(a, b)| f64::from((a - b).abs()))
            .fold(
                0.0,
                |m: f64, e| if e.is_nan() { f64::INFINITY } else { m.max(e) },
            );
        let scale = reference
            .iter()
            .map(|v| f64::from(v.abs()))
            .fold(0.0, f64::max);
        let rel = if scale > 0.0 {
            abs / scale
        } else if abs == 0.0 {
            0.0
        } else {
            f64::INFINITY
        };
        self.max_abs_error = self.max_abs_error.max(abs);
        if rel >= self.rel_max_error {
            self.rel_max_error = rel;
            self.worst_case = case
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        self.passed &= rel <= self.tolerance;
    }
}

/// Parity of all models.
#[derive(Debug, Clone, Serialize)]
pub struct ParityReport {
    /// Relative max error allowed.
    pub tolerance: f64,
    /// One entry per model.
    pub models: Vec<ModelParity>,
}

impl ParityReport {
    /// True when every model passed.
    pub fn passed(&self) -> bool {
        self.models.iter().all(|m| m.passed)
    }
}

impl fmt::Display for ParityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<18} {:>6} {:>14} {:>14}  {:<6} worst case",
            "model", "cases", "max abs err", "rel max err", "result"
        )?;
        for m in &self.models {
            let result = if m.passed { "pass" } else { "FAIL" };
            match &m.error {
                Some(e) => writeln!(
                    f,
                    "{:<18} {:>6} {:>14} {:>14}  {result:<6} {e}",
                    m.model, m.cases, "-", "-"
                )?,
                None => writeln!(
                    f,
                    "{:<18} {:>6} {:>14.3e} {:>14.3e}  {result:<6} {}",
                    m.model, m.cases, m.max_abs_error, m.rel_max_error, m.worst_case
                )?,
            }
        }
        writeln!(
            f,
            "tolerance {:.1e}: {}",
            self.tolerance,
            if self.passed() {
                "all passed"
            } else {
                "FAILED"
            }
        )
    }
}
