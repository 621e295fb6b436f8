//! Checks on a decoded ONNX graph before tract reads it, for files that
//! siamedge did not write: every value a node reads is defined, every tensor
//! the file holds has the data its dimensions claim (and no data in another
//! file), and no tensor the file holds or asks to build from constants
//! claims more than [`MAX_TENSOR_ELEMENTS`] elements. tract allocates
//! whatever a constant shape asks for while it analyses the graph (found by
//! testing: a `ConstantOfShape` of 65,536 x 65,536 made it abort on a 32 GiB
//! allocation).

use std::collections::{HashMap, HashSet};
use tract_onnx::pb::tensor_proto::DataLocation;
use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};

use super::tensor_data::{float_values, int_values, stored_elements};

/// The most elements one tensor may claim (128 MiB of f32; the largest tensor
/// of the packaged models, P-Net's first activation on a 1280x720 frame,
/// has 2.3 million).
pub const MAX_TENSOR_ELEMENTS: u64 = 1 << 25;

/// The most an upsampling node may multiply its input's size by, over all axes.
const MAX_SCALE_PRODUCT: f64 = 4096.0;

/// The largest padding a Pad node may add on one side of one axis.
const MAX_PAD: i64 = 4096;

/// Runs every check on `graph` and its subgraphs; the error says what is
/// wrong, with the limit and the value where a limit is passed.
pub fn check_graph(graph: &GraphProto) -> Result<(), String> {
    check_scope(graph, &HashSet::new())
}

/// The checks of [`check_graph`] on `graph`, whose nodes may also read the
/// values `outer` defines (a subgraph of If, Loop or Scan sees its parents'
/// values), then on each of its subgraphs.
fn check_scope<'a>(graph: &'a GraphProto, outer: &HashSet<&'a str>) -> Result<(), String> {
    let defined = check_names(graph, outer)?;
    check_arity(graph)?;
    check_sizes(graph)?;
    for node in &graph.node {
        for attr in &node.attribute {
            for g in attr.g.iter().chain(&attr.graphs) {
                check_scope(g, &defined).map_err(|e| {
                    format!(
                        "in the subgraph of attribute {:?} of node {:?}: {e}",
                        attr.name, node.name
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// Operators whose first N inputs the ONNX standard requires in every opset,
/// for N above one; every other operator needs at least its first input,
/// except those in [`NO_INPUTS`].
const REQUIRED_INPUTS: &[(usize, &[&str])] = &[
    (
        2,
        &[
            "Add",
            "Sub",
            "Mul",
            "Div",
            "Pow",
            "Mod",
            "MatMul",
            "MatMulInteger",
            "Gemm",
            "Conv",
            "ConvTranspose",
            "ConvInteger",
            "PRelu",
            "Reshape",
            "Expand",
            "Tile",
            "Gather",
            "GatherElements",
            "GatherND",
            "Equal",
            "Less",
            "LessOrEqual",
            "Greater",
            "GreaterOrEqual",
            "And",
            "Or",
            "Xor",
            "BitShift",
            "QuantizeLinear",
            "DequantizeLinear",
            "Compress",
            "CumSum",
            "NonMaxSuppression",
            "MaxRoiPool",
            "GridSample",
            "ReverseSequence",
            "MaxUnpool",
            "LayerNormalization",
        ],
    ),
    (
        3,
        &[
            "Range",
            "Where",
            "OneHot",
            "Scatter",
            "ScatterElements",
            "ScatterND",
            "RoiAlign",
            "InstanceNormalization",
            "LSTM",
            "GRU",
            "RNN",
        ],
    ),
    (5, &["BatchNormalization"]),
    (8, &["QLinearConv", "QLinearMatMul"]),
];

/// Operators that may have no input at all (Loop's count and condition are optional).
const NO_INPUTS: &[&str] = &[
    "Constant",
    "RandomNormal",
    "RandomUniform",
    "Loop",
    "SequenceEmpty",
];

/// Checks that every node has the inputs its operator requires and at least
/// one output: tract's ONNX reader and the integer engine's planner index
/// them without checking (found by fuzzing: a MaxPool without an input made
/// tract panic; Flatten, Transpose, Resize, LogSoftmax, Hardmax and
/// QuantizeLinear did the same when tested).
fn check_arity(graph: &GraphProto) -> Result<(), String> {
    for node in &graph.node {
        let op = node.op_type.as_str();
        let required = REQUIRED_INPUTS
            .iter()
            .find(|(_, ops)| ops.contains(&op))
            .map_or(usize::from(!NO_INPUTS.contains(&op)), |(n, _)| *n);
        let given = node.input.iter().take_while(|i| !i.is_empty()).count();
        if given < required {
            return Err(format!(
                "node {:?} ({op}) has {given} of the {required} inputs it needs",
                node.name
            ));
        }
        if node.output.is_empty() {
            return Err(format!("node {:?} ({op}) has no output", node.name));
        }
    }
    Ok(())
}

/// Checks that every value a node reads and every graph output is defined
/// (by a graph input, an initializer or a node), which tract's ONNX reader
/// assumes (found by fuzzing: an output naming nothing made it panic).
/// Returns the values defined in `graph` or `outer`.
fn check_names<'a>(
    graph: &'a GraphProto,
    outer: &HashSet<&'a str>,
) -> Result<HashSet<&'a str>, String> {
    let defined: HashSet<&str> = outer
        .iter()
        .copied()
        .chain(graph.input.iter().map(|i| i.name.as_str()))
        .chain(graph.initializer.iter().map(|t| t.name.as_str()))
        .chain(
            graph
                .node
                .iter()
                .flat_map(|n| n.output.iter().map(String::as_str)),
        )
        .collect();
    let reads = graph.node.iter().flat_map(|n| {
        n.input
            .iter()
            .filter(|i| !i.is_empty())
            .map(move |i| (n.name.as_str(), i))
    });
    for (node, value) in reads {
        if !defined.contains(value.as_str()) {
            return Err(format!(
                "node {node:?} reads {value:?}, which nothing in the graph defines"
            ));
        }
    }
    if let Some(o) = graph
        .output
        .iter()
        .find(|o| !defined.contains(o.name.as_str()))
    {
        return Err(format!(
            "graph output {:?} is not defined in the graph",
            o.name
        ));
    }
    Ok(defined)
}

/// Checks the tensors `graph` holds and the sizes its shape-making nodes ask
/// for with constant arguments (its subgraphs are checked by [`check_scope`]).
fn check_sizes(graph: &GraphProto) -> Result<(), String> {
    let mut constants: HashMap<&str, &TensorProto> = HashMap::new();
    for t in &graph.initializer {
        check_literal(t, &format!("initializer {:?}", t.name))?;
        constants.insert(t.name.as_str(), t);
    }
    for node in &graph.node {
        for attr in &node.attribute {
            let place = || format!("attribute {:?} of node {:?}", attr.name, node.name);
            for t in attr.t.iter().chain(&attr.tensors) {
                check_literal(t, &place())?;
            }
        }
        if node.op_type == "Constant" {
            if let (Some(out), Some(t)) = (
                node.output.first(),
                node.attribute.iter().find_map(|a| a.t.as_ref()),
            ) {
                constants.insert(out.as_str(), t);
            }
        }
        check_built_size(node, &constants)?;
    }
    Ok(())
}

/// Checks that a tensor literal's dimensions are non-negative, claim at most
/// [`MAX_TENSOR_ELEMENTS`], match the data stored, and that the data is in
/// the file.
fn check_literal(t: &TensorProto, place: &str) -> Result<(), String> {
    if t.data_location == Some(DataLocation::External as i32) || !t.external_data.is_empty() {
        return Err(format!(
            "{place} keeps its data in an external file, which siamedge does not read: save the model with its data inside"
        ));
    }
    let claimed = element_count(t.dims.iter().copied())
        .map_err(|e| format!("{place} has dimensions {:?}: {e}", t.dims))?;
    if let Some(stored) = stored_elements(t) {
        if stored != claimed {
            return Err(format!(
                "{place} has dimensions {:?} ({claimed} elements) but holds {stored}",
                t.dims
            ));
        }
    }
    Ok(())
}

/// The product of `dims`, or why it is not a size siamedge accepts.
fn element_count(dims: impl IntoIterator<Item = i64>) -> Result<u64, String> {
    dims.into_iter().try_fold(1u64, |acc, d| {
        let d = u64::try_from(d).map_err(|_| format!("dimension {d} is negative"))?;
        acc.checked_mul(d)
            .filter(|&n| n <= MAX_TENSOR_ELEMENTS)
            .ok_or(format!(
                "more than {MAX_TENSOR_ELEMENTS} elements, the limit for one tensor"
            ))
    })
}

/// Checks the size a shape-making node asks for when its size argument is a
/// constant: ConstantOfShape's and Expand's shape, Tile's repeats, Range's
/// length, Resize's and Upsample's sizes or scales, and Pad's pads. Sizes
/// computed at run time follow from the input shape, which the caller fixes.
fn check_built_size(
    node: &NodeProto,
    constants: &HashMap<&str, &TensorProto>,
) -> Result<(), String> {
    let constant = |i: usize| {
        node.input
            .get(i)
            .filter(|name| !name.is_empty())
            .and_then(|name| constants.get(name.as_str()).copied())
    };
    let ints = |i: usize| constant(i).and_then(int_values);
    let refuse = |what: &str, e: String| {
        Err(format!(
            "{} node {:?} asks for {what} with {e}",
            node.op_type, node.name
        ))
    };
    match node.op_type.as_str() {
        "ConstantOfShape" | "Expand" | "Tile" => {
            let arg = if node.op_type == "ConstantOfShape" {
                0
            } else {
                1
            };
            if let Some(values) = ints(arg) {
                if let Err(e) = element_count(values.iter().copied()) {
                    return refuse(&format!("the shape {values:?}"), e);
                }
            }
        }
        "Range" => {
            let scalar = |i| constant(i).and_then(scalar_value);
            if let (Some(start), Some(limit), Some(delta)) = (scalar(0), scalar(1), scalar(2)) {
                let length = ((limit - start) / delta).ceil();
                if length.is_nan() || length > MAX_TENSOR_ELEMENTS as f64 {
                    return refuse(
                        &format!("a range from {start} to {limit} by {delta}"),
                        format!("{length} elements, over the limit of {MAX_TENSOR_ELEMENTS}"),
                    );
                }
            }
        }
        "Resize" | "Upsample" => {
            let (scales_arg, sizes_arg) = if node.op_type == "Upsample" {
                (1, None)
            } else {
                (2, Some(3))
            };
            if let Some(sizes) = sizes_arg.and_then(ints) {
                if let Err(e) = element_count(sizes.iter().copied()) {
                    return refuse(&format!("the sizes {sizes:?}"), e);
                }
            }
            if let Some(scales) = constant(scales_arg).and_then(float_values) {
                let product: f64 = scales.iter().map(|&s| f64::from(s)).product();
                if product.is_nan() || product > MAX_SCALE_PRODUCT {
                    return refuse(
                        &format!("the scales {scales:?}"),
                        format!("a product of {product}, over the limit of {MAX_SCALE_PRODUCT}"),
                    );
                }
            }
        }
        "Pad" => {
            let pads = ints(1).or_else(|| {
                node.attribute
                    .iter()
                    .find(|a| a.name == "pads")
                    .map(|a| a.ints.clone())
            });
            if let Some(p) = pads.and_then(|p| p.into_iter().find(|v| v.abs() > MAX_PAD)) {
                return refuse(
                    "padding",
                    format!("a side of {p}, over the limit of {MAX_PAD}"),
                );
            }
        }
        _ => {}
    }
    Ok(())
}

/// The one value of a numeric scalar tensor, as f64.
fn scalar_value(t: &TensorProto) -> Option<f64> {
    match int_values(t) {
        Some(v) => v.first().map(|&x| x as f64),
        None => float_values(t).and_then(|v| v.first().map(|&x| f64::from(x))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dim, Network};
    use prost::Message;
    use tract_onnx::pb::tensor_proto::DataType;
    use tract_onnx::pb::{AttributeProto, ModelProto, OperatorSetIdProto, ValueInfoProto};

    fn tensor(name: &str, data_type: DataType, dims: &[i64], raw_data: Vec<u8>) -> TensorProto {
        TensorProto {
            name: name.into(),
            data_type: data_type as i32,
            dims: dims.to_vec(),
            raw_data,
            ..TensorProto::default()
        }
    }

    fn int64s(name: &str, values: &[i64]) -> TensorProto {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensor(name, DataType::Int64, &[values.len() as i64], raw)
    }

    fn node(op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            name: format!("{op}_0"),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec!["y".into()],
            attribute,
            ..NodeProto::default()
        }
    }

    /// A graph reading `x` and writing `y` through `node`, with `initializer`.
    fn graph(node: NodeProto, initializer: Vec<TensorProto>) -> GraphProto {
        let value = |name: &str| ValueInfoProto {
            name: name.into(),
            ..ValueInfoProto::default()
        };
        GraphProto {
            node: vec![node],
            initializer,
            input: vec![value("x")],
            output: vec![value("y")],
            ..GraphProto::default()
        }
    }

    /// Loads `graph` as an ONNX file: the error tract or the checks give.
    fn load_error(graph: GraphProto) -> String {
        let bytes = ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            graph: Some(graph),
            ..ModelProto::default()
        }
        .encode_to_vec();
        let shape = vec![Dim::Fixed(1), Dim::Fixed(3), Dim::Fixed(8), Dim::Fixed(8)];
        let err = Network::from_bytes(std::path::Path::new("hostile.onnx"), &bytes, &[shape])
            .expect_err("the hostile model must be refused");
        err.to_string()
    }

    #[test]
    fn a_constant_shape_of_four_billion_elements_is_refused_before_tract_allocates_it() {
        let g = graph(
            node("ConstantOfShape", &["s"], vec![]),
            vec![int64s("s", &[65536, 65536])],
        );
        let err = load_error(g);
        assert!(err.contains("hostile.onnx"), "{err}");
        assert!(err.contains("[65536, 65536]"), "{err}");
        assert!(err.contains(&MAX_TENSOR_ELEMENTS.to_string()), "{err}");
    }

    #[test]
    fn an_initializer_claiming_more_than_it_holds_is_refused() {
        let huge = graph(
            node("Add", &["x", "w"], vec![]),
            vec![tensor("w", DataType::Float, &[1 << 20, 1 << 20], vec![])],
        );
        assert!(load_error(huge).contains("the limit for one tensor"));
        let short = graph(
            node("Add", &["x", "w"], vec![]),
            vec![tensor("w", DataType::Float, &[3, 8, 8], vec![0; 12])],
        );
        assert!(load_error(short).contains("(192 elements) but holds 3"));
        let negative = graph(
            node("Add", &["x", "w"], vec![]),
            vec![tensor("w", DataType::Float, &[-1, 4], vec![])],
        );
        assert!(load_error(negative).contains("dimension -1 is negative"));
    }

    #[test]
    fn data_kept_in_another_file_is_refused() {
        let mut w = tensor("w", DataType::Float, &[1], vec![0; 4]);
        w.data_location = Some(DataLocation::External as i32);
        let g = graph(node("Add", &["x", "w"], vec![]), vec![w]);
        assert!(load_error(g).contains("external file"));
    }

    #[test]
    fn a_constant_node_is_checked_like_an_initializer_and_feeds_the_size_checks() {
        let value = AttributeProto {
            name: "value".into(),
            t: Some(int64s("", &[1, 3, 1 << 20, 1 << 20])),
            ..AttributeProto::default()
        };
        let mut constant = node("Constant", &[], vec![value]);
        constant.output = vec!["shape".into()];
        let mut g = graph(node("Expand", &["x", "shape"], vec![]), vec![]);
        g.node.insert(0, constant);
        assert!(load_error(g).contains("Expand node"));
    }

    #[test]
    fn upsampling_scales_and_padding_are_bounded() {
        let scales = tensor(
            "scales",
            DataType::Float,
            &[4],
            [1.0f32, 1.0, 1e3, 1e3]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        );
        let resize = graph(node("Resize", &["x", "", "scales"], vec![]), vec![scales]);
        assert!(load_error(resize).contains("the scales"));
        let pad = graph(
            node("Pad", &["x", "pads"], vec![]),
            vec![int64s("pads", &[0, 0, 0, 0, 0, 0, 100_000, 0])],
        );
        assert!(load_error(pad).contains("a side of 100000"));
        let range = graph(
            node("Range", &["a", "b", "c"], vec![]),
            vec![
                int64s("a", &[0]),
                int64s("b", &[1 << 40]),
                int64s("c", &[1]),
            ],
        );
        assert!(load_error(range).contains("a range from 0"));
    }

    #[test]
    fn a_node_without_the_inputs_its_operator_needs_is_refused() {
        for (op, inputs) in [
            ("MaxPool", &[][..]),
            ("Flatten", &[]),
            ("Transpose", &[]),
            ("Resize", &[]),
            ("QuantizeLinear", &["x"]),
            ("Conv", &["x", ""]),
        ] {
            let err = load_error(graph(node(op, inputs, vec![]), vec![]));
            assert!(err.contains("inputs it needs"), "{op}: {err}");
        }
        let mut no_output = node("Relu", &["x"], vec![]);
        no_output.output.clear();
        let mut g = graph(no_output, vec![]);
        g.output.clear();
        assert!(load_error(g).contains("has no output"));
    }

    #[test]
    fn a_subgraph_may_read_its_parents_values_but_is_checked_too() {
        let branch = |reads: &str| GraphProto {
            node: vec![node("Relu", &[reads], vec![])],
            output: vec![ValueInfoProto {
                name: "y".into(),
                ..ValueInfoProto::default()
            }],
            ..GraphProto::default()
        };
        let with_branches = |reads: &str| {
            let attr = |name: &str| AttributeProto {
                name: name.into(),
                g: Some(branch(reads)),
                ..AttributeProto::default()
            };
            graph(
                node("If", &["x"], vec![attr("then_branch"), attr("else_branch")]),
                vec![],
            )
        };
        check_graph(&with_branches("x")).unwrap();
        let err = check_graph(&with_branches("nowhere")).unwrap_err();
        assert!(
            err.contains("in the subgraph of attribute \"then_branch\""),
            "{err}"
        );
        assert!(err.contains("\"nowhere\""), "{err}");
    }

    #[test]
    fn the_packaged_models_pass_the_checks() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/build/onnx");
        if !dir.is_dir() {
            eprintln!(
                "skipped: {} is absent (run models/zoo/fetch.sh)",
                dir.display()
            );
            return;
        }
        let files: Vec<_> = [dir.clone(), dir.join("nanotrack")]
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
            .collect();
        assert!(
            files.len() >= 6,
            "{} holds {} models",
            dir.display(),
            files.len()
        );
        for f in &files {
            let m = ModelProto::decode(&*std::fs::read(f).unwrap()).unwrap();
            check_graph(m.graph.as_ref().unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        }
    }
}
