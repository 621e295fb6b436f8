//! A validated, index-checked view of a TFLite model's main subgraph.

use std::path::{Path, PathBuf};

use flatbuffers::Vector;

use super::ops::{Activation, BuiltinOp, Options, Padding, TensorType, Window};
use super::schema::{self, OptionsKind, OptionsTable};
use super::TfliteError;

/// Largest element count accepted for one tensor (2^40): more is a corrupt shape.
const MAX_ELEMENTS: u64 = 1 << 40;

/// A tensor of the main subgraph.
#[derive(Debug, Clone)]
pub struct Tensor<'a> {
    /// The tensor name.
    pub name: String,
    /// Static shape (empty for scalars).
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: TensorType,
    /// Constant data (little-endian), `None` for activations.
    pub data: Option<&'a [u8]>,
}

/// An operator of the main subgraph.
#[derive(Debug, Clone)]
pub struct Operator {
    /// Builtin code.
    pub op: BuiltinOp,
    /// Input tensor indices, `None` for an optional input left out.
    pub inputs: Vec<Option<usize>>,
    /// Output tensor indices.
    pub outputs: Vec<usize>,
    /// Decoded options.
    pub options: Options,
}

/// The main subgraph of a TFLite model, with every index checked.
#[derive(Debug, Clone)]
pub struct Model<'a> {
    /// The file this model was read from (for error messages).
    pub path: PathBuf,
    /// All tensors.
    pub tensors: Vec<Tensor<'a>>,
    /// Operators in execution order.
    pub operators: Vec<Operator>,
    /// Graph input tensor indices.
    pub inputs: Vec<usize>,
    /// Graph output tensor indices.
    pub outputs: Vec<usize>,
}

impl<'a> Model<'a> {
    /// Parses and validates `bytes`, read from `path` (used in error messages only).
    ///
    /// The operator code is `max(builtin_code, deprecated_builtin_code)`, as in
    /// TFLite itself: old files fill only the one-byte field, new ones put 127
    /// there and the real code in the 32-bit field.
    pub fn parse(path: &Path, bytes: &'a [u8]) -> Result<Model<'a>, TfliteError> {
        let err = |reason: String| TfliteError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() < 8 {
            return Err(err(format!(
                "file is {} bytes long, too short for a TFLite model",
                bytes.len()
            )));
        }
        if &bytes[4..8] != b"TFL3" {
            return Err(err(
                "missing the TFL3 file identifier: not a TFLite model".into()
            ));
        }
        let root = flatbuffers::root::<schema::Model>(bytes)
            .map_err(|e| err(format!("corrupt or truncated flatbuffer: {e}")))?;
        let subgraph = root
            .subgraphs()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err("the model has no subgraph".into()))?
            .get(0);
        let buffers = root
            .buffers()
            .ok_or_else(|| err("the model has no buffer table".into()))?;
        let opcodes: Vec<BuiltinOp> = root
            .operator_codes()
            .map(|codes| {
                codes
                    .iter()
                    .map(|c| {
                        BuiltinOp(c.builtin_code().max(i32::from(c.deprecated_builtin_code())))
                    })
                    .collect()
            })
            .unwrap_or_default();

        let mut tensors = Vec::new();
        for (i, t) in subgraph.tensors().iter().flatten().enumerate() {
            let name = t.name().unwrap_or_default().to_string();
            let shape = t
                .shape()
                .map(|s| {
                    s.iter()
                        .map(|d| usize::try_from(d).ok())
                        .collect::<Option<Vec<_>>>()
                })
                .unwrap_or(Some(Vec::new()))
                .ok_or_else(|| err(format!("tensor {i} ('{name}') has a negative dimension")))?;
            // Bounding the product of the non-zero dims bounds every partial
            // product the importer takes later.
            let volume = shape
                .iter()
                .filter(|&&d| d > 0)
                .try_fold(1usize, |v, &d| v.checked_mul(d))
                .filter(|&v| v as u64 <= MAX_ELEMENTS)
                .ok_or_else(|| {
                    err(format!(
                        "tensor {i} ('{name}') has an absurd shape {shape:?}"
                    ))
                })?;
            let dtype = TensorType::from_code(t.tensor_type());
            let data = buffer_data(bytes, &buffers, t.buffer() as usize)
                .map_err(|reason| err(format!("tensor {i} ('{name}'): {reason}")))?;
            if let (Some(data), Some(size)) = (data, dtype.size()) {
                let expected = if shape.contains(&0) { 0 } else { volume * size };
                if data.len() != expected {
                    return Err(err(format!(
                        "tensor {i} ('{name}') holds {} bytes, its shape {shape:?} needs {expected}",
                        data.len()
                    )));
                }
            }
            tensors.push(Tensor {
                name,
                shape,
                dtype,
                data,
            });
        }

        let index = |v: i32, what: &str| -> Result<usize, TfliteError> {
            usize::try_from(v)
                .ok()
                .filter(|&i| i < tensors.len())
                .ok_or_else(|| {
                    err(format!(
                        "{what} refers to tensor {v}, but there are {}",
                        tensors.len()
                    ))
                })
        };
        let indices = |v: Option<Vector<i32>>, what: &str| -> Result<Vec<usize>, TfliteError> {
            v.iter().flatten().map(|i| index(i, what)).collect()
        };
        let inputs = indices(subgraph.inputs(), "a graph input")?;
        let outputs = indices(subgraph.outputs(), "a graph output")?;

        let mut operators = Vec::new();
        for (k, op) in subgraph.operators().iter().flatten().enumerate() {
            let what = format!("operator #{k}");
            let code = *opcodes.get(op.opcode_index() as usize).ok_or_else(|| {
                err(format!(
                    "{what} uses opcode index {}, but there are {}",
                    op.opcode_index(),
                    opcodes.len()
                ))
            })?;
            let op_inputs = op
                .inputs()
                .iter()
                .flatten()
                .map(|i| {
                    if i < 0 {
                        Ok(None)
                    } else {
                        index(i, &what).map(Some)
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            operators.push(Operator {
                op: code,
                inputs: op_inputs,
                outputs: indices(op.outputs(), &what)?,
                options: decode_options(&op),
            });
        }
        Ok(Model {
            path: path.to_path_buf(),
            tensors,
            operators,
            inputs,
            outputs,
        })
    }
}

/// The bytes of buffer `index`, `None` when it is empty.
fn buffer_data<'a>(
    file: &'a [u8],
    buffers: &Vector<'a, flatbuffers::ForwardsUOffset<schema::Buffer<'a>>>,
    index: usize,
) -> Result<Option<&'a [u8]>, String> {
    if index >= buffers.len() {
        return Err(format!(
            "buffer {index} out of range ({} buffers)",
            buffers.len()
        ));
    }
    let buffer = buffers.get(index);
    if buffer.offset() > 1 {
        let start = usize::try_from(buffer.offset()).map_err(|e| e.to_string())?;
        let size = usize::try_from(buffer.size()).map_err(|e| e.to_string())?;
        let end = start
            .checked_add(size)
            .filter(|&e| e <= file.len())
            .ok_or_else(|| format!("buffer {index} lies outside the file (truncated?)"))?;
        return Ok(Some(&file[start..end]));
    }
    Ok(buffer.data().map(|d| d.bytes()).filter(|d| !d.is_empty()))
}

/// Decodes an operator's options table into [`Options`].
fn decode_options(op: &schema::Operator) -> Options {
    let tag = op.options_type();
    let Some((kind, table)) =
        OptionsKind::from_tag(tag).and_then(|kind| op.options_table(kind).map(|t| (kind, t)))
    else {
        return if tag == 0 {
            Options::None
        } else {
            Options::Unread(tag)
        };
    };
    let t = OptionsTable(table);
    let act = |field| Activation::from_code(t.byte(field, 0));
    let padding = |field| {
        if t.byte(field, 0) == 1 {
            Padding::Valid
        } else {
            Padding::Same
        }
    };
    let dim = |field, default| t.int(field, default).max(1) as usize;
    match kind {
        OptionsKind::Conv2D => Options::Conv2D {
            window: Window {
                padding: padding(4),
                stride: [dim(8, 1), dim(6, 1)],
                dilation: [dim(14, 1), dim(12, 1)],
            },
            activation: act(10),
        },
        OptionsKind::DepthwiseConv2D => Options::DepthwiseConv2D {
            window: Window {
                padding: padding(4),
                stride: [dim(8, 1), dim(6, 1)],
                dilation: [dim(16, 1), dim(14, 1)],
            },
            depth_multiplier: t.int(10, 1),
            activation: act(12),
        },
        OptionsKind::Pool2D => Options::Pool2D {
            window: Window {
                padding: padding(4),
                stride: [dim(8, 1), dim(6, 1)],
                dilation: [1, 1],
            },
            filter: [dim(12, 1), dim(10, 1)],
            activation: act(14),
        },
        OptionsKind::FullyConnected => Options::FullyConnected {
            activation: act(4),
            weights_format: t.byte(6, 0),
            keep_num_dims: t.byte(8, 0) != 0,
        },
        OptionsKind::Concatenation => Options::Concatenation {
            axis: t.int(4, 0),
            activation: act(6),
        },
        OptionsKind::Add | OptionsKind::Sub | OptionsKind::Mul | OptionsKind::Div => {
            Options::Arithmetic { activation: act(4) }
        }
        OptionsKind::Reshape => Options::Reshape {
            new_shape: t
                .ints(OptionsTable::RESHAPE_NEW_SHAPE)
                .map(|v| v.iter().collect()),
        },
        OptionsKind::Reducer => Options::Reducer {
            keep_dims: t.byte(4, 0) != 0,
        },
        OptionsKind::StridedSlice => Options::StridedSlice {
            begin_mask: t.int(4, 0),
            end_mask: t.int(6, 0),
            ellipsis_mask: t.int(8, 0),
            new_axis_mask: t.int(10, 0),
            shrink_axis_mask: t.int(12, 0),
            offset: t.byte(14, 0) != 0,
        },
        OptionsKind::LeakyRelu => Options::LeakyRelu {
            alpha: t.float(4, 0.2),
        },
    }
}
