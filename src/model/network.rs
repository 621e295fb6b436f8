//! A loaded, optimised, single-threaded tract network with reusable state.

use prost::Message;
use std::path::{Path, PathBuf};
use tract_onnx::pb::{GraphProto, ModelProto};
use tract_onnx::prelude::*;

use super::graph_check::check_graph;
use super::int8::Int8Net;
use super::plan_choice::optimised_state;
use super::profile::{profile_state, NodeTime};
use super::ModelError;

/// One dimension of an input shape: fixed, or a named symbol resolved at run time
/// (P-Net's height and width, which change with every pyramid scale).
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A symbolic size, named as in the model.
    Symbol(String),
}

/// The outputs of one run: each output's shape and values, in model order.
#[derive(Debug, Default)]
pub struct NetworkOutputs {
    shapes: Vec<Vec<usize>>,
    values: Vec<Vec<f32>>,
}

impl NetworkOutputs {
    /// Number of outputs.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the network produced no outputs.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Shape of output `i`.
    pub fn shape(&self, i: usize) -> &[usize] {
        &self.shapes[i]
    }

    /// Values of output `i`, in row-major order.
    pub fn values(&self, i: usize) -> &[f32] {
        &self.values[i]
    }
}

/// Which engine runs a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// Integer kernels for a QDQ-quantized graph they can plan; tract otherwise
    /// (a QDQ graph they decline then runs as float with fake quantization,
    /// about 2x slower, with a warning and the reason kept).
    Auto,
    /// tract, always (a QDQ graph then runs as float with fake quantization).
    Tract,
    /// The integer kernels, or an error saying why they cannot run the file.
    Int8,
}

impl std::str::FromStr for Execution {
    type Err = String;

    /// Parses `auto`, `tract` or `int8`.
    fn from_str(s: &str) -> Result<Execution, String> {
        match s {
            "auto" => Ok(Execution::Auto),
            "tract" => Ok(Execution::Tract),
            "int8" => Ok(Execution::Int8),
            _ => Err(format!("unknown engine {s:?}: use auto, tract or int8")),
        }
    }
}

enum Engine {
    Tract(TypedSimpleState),
    Int8(Box<Int8Net>),
}

/// An ONNX network optimised for the given input shapes, running on one
/// thread: through tract, or through siamedge's integer kernels for a
/// QDQ-quantized encoder. Output buffers are reused from run to run.
pub struct Network {
    name: String,
    path: PathBuf,
    engine: Engine,
    input_shapes: Vec<Vec<Dim>>,
    outputs: NetworkOutputs,
    int8_declined: Option<String>,
    plan_choice: Option<String>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// Loads `path`, fixes each input's shape (symbols stay symbolic), and optimises.
    pub fn load(path: &Path, input_shapes: &[Vec<Dim>]) -> Result<Network, ModelError> {
        Network::from_bytes(path, &read_model(path)?, input_shapes)
    }

    /// Like [`Network::load`], from the bytes of the file at `path` already in memory.
    pub fn from_bytes(
        path: &Path,
        bytes: &[u8],
        input_shapes: &[Vec<Dim>],
    ) -> Result<Network, ModelError> {
        Network::from_bytes_with(path, bytes, input_shapes, Execution::Auto)
    }

    /// Like [`Network::from_bytes`], on the engine `execution` asks for.
    pub fn from_bytes_with(
        path: &Path,
        bytes: &[u8],
        input_shapes: &[Vec<Dim>],
        execution: Execution,
    ) -> Result<Network, ModelError> {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let proto = ModelProto::decode(bytes);
        let graph = match &proto {
            Ok(m) => m
                .graph
                .as_ref()
                .ok_or("the ONNX model has no graph".to_string()),
            Err(e) => Err(format!("not an ONNX model: {e}")),
        };
        let graph = graph
            .and_then(|g| check_graph(g).map(|()| g))
            .map_err(|reason| ModelError::Load {
                path: path.to_path_buf(),
                reason,
            })?;
        let mut int8_declined = None;
        if execution != Execution::Tract {
            let refuse = |reason: String| {
                ModelError::Load {
                path: path.to_path_buf(),
                reason: format!("the integer engine was required (--engine int8 or an int8 variant) but {reason}"),
            }
            };
            match int8_engine(graph, input_shapes) {
                Ok(Some(net)) => {
                    return Ok(Network {
                        name,
                        path: path.to_path_buf(),
                        engine: Engine::Int8(Box::new(net)),
                        input_shapes: input_shapes.to_vec(),
                        outputs: NetworkOutputs::default(),
                        int8_declined: None,
                        plan_choice: None,
                    })
                }
                Ok(None) if execution == Execution::Int8 => {
                    return Err(refuse(
                        "the file is not a QDQ-quantized graph with a fixed input shape (make one with `siamedge-quantize quantize`)".into(),
                    ))
                }
                Ok(None) => {}
                Err(reason) if execution == Execution::Int8 => {
                    return Err(refuse(format!("it cannot plan this graph: {reason}")))
                }
                Err(reason) => {
                    eprintln!(
                        "siamedge: warning: {} is quantized but runs in tract as float with fake quantization (about 2x slower): the integer engine declined it: {reason}",
                        path.display()
                    );
                    int8_declined = Some(reason);
                }
            }
        }
        let load_err = |e: TractError| ModelError::Load {
            path: path.to_path_buf(),
            reason: format!("{e:#}"),
        };
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .map_err(load_err)?;
        let table = model.symbols.clone();
        for (i, shape) in input_shapes.iter().enumerate() {
            let dims: TVec<TDim> = shape
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => TDim::from(*n),
                    Dim::Symbol(s) => table.sym(s).into(),
                })
                .collect();
            model = model
                .with_input_fact(i, f32::fact(dims).into())
                .map_err(load_err)?;
        }
        let concrete: Option<Vec<Vec<usize>>> = input_shapes
            .iter()
            .map(|shape| {
                shape
                    .iter()
                    .map(|d| match d {
                        Dim::Fixed(n) => Some(*n),
                        Dim::Symbol(_) => None,
                    })
                    .collect()
            })
            .collect();
        let (state, plan_choice) = model
            .into_typed()
            .and_then(|m| optimised_state(m, concrete.as_deref()))
            .map_err(load_err)?;
        Ok(Network {
            name,
            path: path.to_path_buf(),
            engine: Engine::Tract(state),
            input_shapes: input_shapes.to_vec(),
            outputs: NetworkOutputs::default(),
            int8_declined,
            plan_choice,
        })
    }

    /// The file this network was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of operations left in the optimised graph (a measure of how
    /// clean it is); the number of integer steps on the int8 engine.
    pub fn node_count(&self) -> usize {
        match &self.engine {
            Engine::Tract(state) => state.model().nodes().len(),
            Engine::Int8(net) => net.step_count(),
        }
    }

    /// Names of the operators left after optimisation, one per node, in order.
    pub fn op_names(&self) -> Vec<String> {
        match &self.engine {
            Engine::Tract(state) => state
                .model()
                .nodes()
                .iter()
                .map(|n| n.op().name().to_string())
                .collect(),
            Engine::Int8(net) => net.step_names(),
        }
    }

    /// The engine running this network: `tract` or `siamedge-int8`.
    pub fn engine_name(&self) -> &'static str {
        match &self.engine {
            Engine::Tract(_) => "tract",
            Engine::Int8(_) => "siamedge-int8",
        }
    }

    /// Why the integer engine declined this quantized file (it then runs in tract).
    pub fn int8_declined(&self) -> Option<&str> {
        self.int8_declined.as_deref()
    }

    /// One line on the engine: `siamedge-int8 (N integer steps)`, `tract`, or
    /// `tract (fake quantization: the integer engine declined: ...)`.
    pub fn engine_report(&self) -> String {
        match (&self.engine, &self.int8_declined) {
            (Engine::Int8(net), _) => format!(
                "siamedge-int8 ({} integer steps, {} kernels)",
                net.step_count(),
                super::int8::kernel_name()
            ),
            (Engine::Tract(_), None) => match &self.plan_choice {
                Some(choice) => format!("tract ({choice})"),
                None => "tract".into(),
            },
            (Engine::Tract(_), Some(reason)) => {
                format!("tract (fake quantization: the integer engine declined: {reason})")
            }
        }
    }

    /// The outputs of the last run (empty before the first).
    pub fn last_outputs(&self) -> &NetworkOutputs {
        &self.outputs
    }

    /// Times each node of the optimised graph over `runs` runs on a zero input
    /// of `shape` (one input; fixed where the model is fixed). tract only: the
    /// integer engine's steps are not profiled.
    pub fn profile(&mut self, shape: &[usize], runs: usize) -> Result<Vec<NodeTime>, ModelError> {
        self.check_shape(0, shape, shape.iter().product())?;
        let input = Tensor::zero::<f32>(shape).map_err(|e| self.input_err(0, e.to_string()))?;
        let Engine::Tract(state) = &mut self.engine else {
            return Err(ModelError::Run {
                name: self.name.clone(),
                reason: "per-node profiles time tract's plans; this network runs on the integer engine (profile it with --engine tract)".into(),
            });
        };
        profile_state(state, input, runs).map_err(|e| ModelError::Run {
            name: self.name.clone(),
            reason: format!("{e:#}"),
        })
    }

    /// Runs the network on `inputs` (each with its concrete shape) and returns its outputs.
    pub fn run(&mut self, inputs: &[(&[usize], &[f32])]) -> Result<&NetworkOutputs, ModelError> {
        if inputs.len() != self.input_shapes.len() {
            return Err(self.input_err(
                0,
                format!(
                    "count: expected {} inputs, got {}",
                    self.input_shapes.len(),
                    inputs.len()
                ),
            ));
        }
        for (i, (shape, data)) in inputs.iter().enumerate() {
            self.check_shape(i, shape, data.len())?;
        }
        if let Engine::Int8(net) = &mut self.engine {
            self.outputs.shapes.resize(1, Vec::new());
            self.outputs.values.resize(1, Vec::new());
            self.outputs.values[0].clear();
            self.outputs.values[0].extend_from_slice(net.run(inputs[0].1));
            self.outputs.shapes[0].clear();
            self.outputs.shapes[0].extend_from_slice(net.output_shape());
            return Ok(&self.outputs);
        }
        let mut values: TVec<TValue> = tvec!();
        for (i, (shape, data)) in inputs.iter().enumerate() {
            let t =
                Tensor::from_shape(shape, data).map_err(|e| self.input_err(i, e.to_string()))?;
            values.push(t.into_tvalue());
        }
        let Engine::Tract(state) = &mut self.engine else {
            unreachable!("the int8 engine returned above");
        };
        let results = state.run(values).map_err(|e| ModelError::Run {
            name: self.name.clone(),
            reason: format!("{e:#}"),
        })?;
        self.outputs.shapes.resize(results.len(), Vec::new());
        self.outputs.values.resize(results.len(), Vec::new());
        for (i, r) in results.iter().enumerate() {
            let view = r
                .try_as_plain_ram()
                .and_then(|v| v.as_slice::<f32>())
                .map_err(|e| ModelError::Run {
                    name: self.name.clone(),
                    reason: format!("output {i}: {e}"),
                })?;
            let shape = &mut self.outputs.shapes[i];
            shape.clear();
            shape.extend_from_slice(r.shape());
            let values = &mut self.outputs.values[i];
            values.clear();
            values.extend_from_slice(view);
        }
        Ok(&self.outputs)
    }

    fn check_shape(&self, i: usize, shape: &[usize], len: usize) -> Result<(), ModelError> {
        let expected = &self.input_shapes[i];
        let fits = shape.len() == expected.len()
            && shape.iter().zip(expected).all(|(s, e)| match e {
                Dim::Fixed(n) => s == n,
                Dim::Symbol(_) => true,
            });
        if !fits {
            return Err(self.input_err(i, format!("shape {shape:?} does not fit {expected:?}")));
        }
        if shape.iter().product::<usize>() != len {
            return Err(self.input_err(i, format!("has {len} values for shape {shape:?}")));
        }
        Ok(())
    }

    fn input_err(&self, index: usize, reason: String) -> ModelError {
        ModelError::Input {
            name: self.name.clone(),
            index,
            reason,
        }
    }
}

/// Reads a model file; the error names the file.
pub(super) fn read_model(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|e| ModelError::Load {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The integer engine for a QDQ graph: `Ok(None)` for a float graph, the
/// planner's reason when it declines a quantized one.
fn int8_engine(graph: &GraphProto, input_shapes: &[Vec<Dim>]) -> Result<Option<Int8Net>, String> {
    if !graph.node.iter().any(|n| n.op_type == "QuantizeLinear") {
        return Ok(None);
    }
    let [shape] = input_shapes else {
        return Err(format!(
            "it runs graphs with one input, this one has {}",
            input_shapes.len()
        ));
    };
    let shape: Vec<usize> = shape
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => Ok(*n),
            Dim::Symbol(s) => Err(format!(
                "it needs a fixed input shape, and dimension {s} is symbolic"
            )),
        })
        .collect::<Result<_, _>>()?;
    Int8Net::plan(graph, &shape).map(Some)
}
