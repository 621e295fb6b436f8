//! TFLite -> ONNX import.
//!
//! Conventions of the ONNX graph: activations are NCHW, batch 1; float16
//! weights are widened to float32 with `DEQUANTIZE` folded away; operators on
//! constants are folded; graph inputs and outputs keep their TFLite names.
//! Layout is tracked per tensor (see [`value::Layout`]) so that no transpose
//! is emitted where the data can stay put: broadcast constants are re-laid-out,
//! reduction axes remapped, and fully-connected weights permuted to read an
//! NCHW flatten in TFLite's NHWC order.

mod context;
mod error;
mod fold;
mod ops;
mod prelu;
mod value;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use siamedge::model::onnx_proto::ModelProto;

use crate::tflite::{self, Model};
use siamedge::onnx_writer::OnnxDim;

use context::Importer;
pub use error::ImportError;
use value::{Act, Dim, Layout, Value};

/// Settings of one import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Names for symbolic H and W (TFLite axes 1 and 2 of the rank-4 input),
    /// e.g. for P-Net, which runs at every pyramid scale. `None` keeps the
    /// file's static sizes.
    pub symbolic_spatial: Option<[String; 2]>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// TFLite operators mapped, by name.
    pub tflite_ops: BTreeMap<String, usize>,
    /// ONNX nodes written, by op type.
    pub onnx_ops: BTreeMap<String, usize>,
    /// Total ONNX nodes.
    pub nodes: usize,
    /// Float parameters in initializers.
    pub params: usize,
    /// PReLU idioms written as one `PRelu`.
    pub prelus: usize,
    /// Operators folded into constants.
    pub folded: usize,
}

/// An import written to disk.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    /// What the import did.
    pub report: ImportReport,
    /// The ONNX file.
    pub output: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
    /// Its sha256, hex.
    pub sha256: String,
}

/// Imports the TFLite model in `bytes` (read from `path`) into an ONNX model.
/// The same bytes and options always give the same model.
pub fn import(
    path: &Path,
    bytes: &[u8],
    options: &ImportOptions,
) -> Result<(ModelProto, ImportReport), ImportError> {
    let model = Model::parse(path, bytes)?;
    let mut imp = Importer::new(&model, options.symbolic_spatial.is_some())?;
    let mut report = ImportReport::default();
    declare_inputs(&mut imp, options)?;

    let plan = prelu::find(&model);
    for (k, op) in model.operators.iter().enumerate() {
        imp.set_current(k);
        *report.tflite_ops.entry(op.op.name()).or_default() += 1;
        if plan.absorbed[k] {
            continue;
        }
        if let Some(p) = plan.roots.get(&k) {
            ops::prelu(&mut imp, op, p)?;
            report.prelus += 1;
        } else if let Some(folded) = try_fold(&imp, op) {
            imp.set_const(op.outputs[0], folded);
            report.folded += 1;
        } else {
            ops::map(&mut imp, op)?;
        }
    }
    declare_outputs(&mut imp)?;

    report.nodes = imp.graph.node_count();
    report.params = imp.graph.param_count();
    for op in imp.graph.op_types() {
        *report.onnx_ops.entry(op.to_string()).or_default() += 1;
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doc = format!(
        "Imported by siamedge-quantize from {} (sha256 {}): NCHW, batch 1.",
        path.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        siamedge::model::sha256_hex(bytes)
    );
    Ok((imp.graph.finish(&name, &doc), report))
}

/// Reads `input`, imports it and writes the ONNX model to `output` atomically.
pub fn import_file(
    input: &Path,
    output: &Path,
    options: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let bytes = tflite::read_file(input)?;
    let (model, report) = import(input, &bytes, options)?;
    let encoded = prost::Message::encode_to_vec(&model);
    siamedge::store::write_atomic(output, &encoded).map_err(|e| ImportError::Write {
        path: output.to_path_buf(),
        error: e.error,
    })?;
    Ok(ImportSummary {
        report,
        output: output.to_path_buf(),
        bytes: encoded.len(),
        sha256: siamedge::model::sha256_hex(&encoded),
    })
}

/// The folded value of `op` when all its inputs are constants.
fn try_fold(imp: &Importer, op: &tflite::Operator) -> Option<value::Const> {
    let inputs: Vec<&value::Const> = op
        .inputs
        .iter()
        .map(|i| i.and_then(|t| imp.constant(t)))
        .collect::<Option<_>>()?;
    let [out] = op.outputs.as_slice() else {
        return None;
    };
    fold::fold(op, &inputs, &imp.model.tensors[*out].shape)
}

/// Declares the graph inputs: rank-4 inputs become NCHW, batch 1.
fn declare_inputs(imp: &mut Importer, options: &ImportOptions) -> Result<(), ImportError> {
    for &t in &imp.model.inputs.clone() {
        let tensor = &imp.model.tensors[t];
        let name = tensor.name.clone();
        let elem = context::tensor_elem(tensor.dtype).ok_or_else(|| ImportError::Graph {
            path: imp.model.path.clone(),
            reason: format!("input '{name}' has unsupported type {:?}", tensor.dtype),
        })?;
        let shape = imp.shape(t);
        let layout = if shape.len() == 4 {
            Layout::Nchw
        } else {
            Layout::Plain
        };
        let act = Act {
            name: name.clone(),
            shape,
            layout,
            elem,
        };
        let mut symbols = options.symbolic_spatial.iter().flatten();
        let dims: Vec<OnnxDim> = Importer::onnx_dims(&act)
            .into_iter()
            .map(|d| match d {
                Dim::Known(n) => OnnxDim::Value(n as i64),
                Dim::Sym => symbols
                    .next()
                    .map(|s| OnnxDim::Param(s.clone()))
                    .unwrap_or(OnnxDim::Unknown),
            })
            .collect();
        let onnx_name = imp.graph.input(&name, elem, &dims);
        imp.alias(
            t,
            Act {
                name: onnx_name,
                ..act
            },
        );
    }
    Ok(())
}

/// Declares the graph outputs under their TFLite names: rank-4 outputs NCHW,
/// others in TFLite order.
fn declare_outputs(imp: &mut Importer) -> Result<(), ImportError> {
    for &t in &imp.model.outputs.clone() {
        let tflite_name = imp.model.tensors[t].name.clone();
        let act = match imp.value(t)?.clone() {
            Value::Act(a) => a,
            Value::Const(_) => {
                return Err(ImportError::Graph {
                    path: imp.model.path.clone(),
                    reason: format!("output '{tflite_name}' is a constant"),
                })
            }
        };
        let layout = if act.shape.len() == 4 {
            Layout::Nchw
        } else {
            Layout::Plain
        };
        let mut act = imp.convert(&act, &layout)?;
        if act.name != tflite_name {
            if imp.graph.is_taken(&tflite_name) {
                let moved = imp.graph.unique_name(&format!("{tflite_name}/pre"));
                imp.rename(&tflite_name, &moved);
            }
            act.name = if imp.rename(&act.name, &tflite_name) {
                tflite_name.clone()
            } else {
                imp.node("Identity", &[&act.name], &tflite_name, vec![])
            };
            if act.name != tflite_name {
                return Err(ImportError::Graph {
                    path: imp.model.path.clone(),
                    reason: format!("output '{tflite_name}' cannot keep its name"),
                });
            }
        }
        let dims: Vec<OnnxDim> = Importer::onnx_dims(&act)
            .into_iter()
            .map(|d| {
                d.known()
                    .map(|n| OnnxDim::Value(n as i64))
                    .unwrap_or(OnnxDim::Unknown)
            })
            .collect();
        imp.graph.output(&act.name, act.elem, &dims);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
