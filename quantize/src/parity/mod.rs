//! Parity of imported ONNX models with reference outputs: each case is run
//! through the siamedge runtime and compared output by output.

pub(crate) mod case;
mod report;

use std::path::{Path, PathBuf};

use siamedge::model::Network;

pub use case::{onnx_input_dims, Case};
pub use report::{ModelParity, ParityReport};

/// Errors that stop a parity run before any model is checked.
#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    /// The cases folder cannot be listed.
    #[error("{}: cannot list: {error}", path.display())]
    List {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The cases folder holds no model folders.
    #[error("{}: no model folders with cases", path.display())]
    Empty {
        /// The folder.
        path: PathBuf,
    },
}

/// Checks every model folder in `cases_dir` against `models_dir/<model>.onnx`.
pub fn run(
    cases_dir: &Path,
    models_dir: &Path,
    tolerance: f64,
) -> Result<ParityReport, ParityError> {
    let mut models = Vec::new();
    for dir in subfolders(cases_dir)? {
        let name = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let onnx = models_dir.join(format!("{name}.onnx"));
        models.push(match check_model(&onnx, &dir, tolerance) {
            Ok(m) => m,
            Err(e) => ModelParity::failed(&name, e),
        });
    }
    if models.is_empty() {
        return Err(ParityError::Empty {
            path: cases_dir.to_path_buf(),
        });
    }
    Ok(ParityReport { tolerance, models })
}

/// Runs all cases of one model.
fn check_model(onnx: &Path, dir: &Path, tolerance: f64) -> Result<ModelParity, String> {
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dims = onnx_input_dims(onnx)?;
    let mut net = Network::load(onnx, &dims).map_err(|e| e.to_string())?;
    let mut result = ModelParity::new(&name, tolerance);
    let case_dirs = subfolders(dir).map_err(|e| e.to_string())?;
    if case_dirs.is_empty() {
        return Err(format!("{}: no cases", dir.display()));
    }
    for case_dir in case_dirs {
        let case = Case::load(&case_dir)?;
        let inputs: Vec<(&[usize], &[f32])> = case
            .inputs
            .iter()
            .map(|(s, d)| (s.as_slice(), d.as_slice()))
            .collect();
        let outputs = net
            .run(&inputs)
            .map_err(|e| format!("{}: {e}", case_dir.display()))?;
        if outputs.len() != case.outputs.len() {
            return Err(format!(
                "{}: model gives {} outputs, reference has {}",
                case_dir.display(),
                outputs.len(),
                case.outputs.len()
            ));
        }
        for (i, (shape, expected)) in case.outputs.iter().enumerate() {
            if outputs.shape(i) != shape.as_slice() {
                return Err(format!(
                    "{}: output {i} has shape {:?}, reference {:?}",
                    case_dir.display(),
                    outputs.shape(i),
                    shape
                ));
            }
            result.add(&case_dir, outputs.values(i), expected);
        }
        result.cases += 1;
    }
    Ok(result)
}

/// Sorted subfolders of `dir`.
fn subfolders(dir: &Path) -> Result<Vec<PathBuf>, ParityError> {
    let list = |e| ParityError::List {
        path: dir.to_path_buf(),
        error: e,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(list)? {
        let path = entry.map_err(list)?.path();
        if path.is_dir() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}
