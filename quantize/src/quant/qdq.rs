//! Writing a quantized model in the standard QDQ form that onnxruntime and
//! tract both load: int8 weight initializers behind per-channel
//! `DequantizeLinear`, and a `QuantizeLinear` -> `DequantizeLinear` pair on
//! each quantized activation.

use std::collections::HashMap;

use siamedge::model::onnx_proto::tensor_proto::DataType;
use siamedge::model::onnx_proto::{AttributeProto, NodeProto, TensorProto};

use super::graph::OnnxModel;
use super::range::ActQuant;
use super::weights::QuantWeight;

fn tensor(name: &str, data_type: DataType, dims: &[usize], raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        data_type: data_type as i32,
        dims: dims.iter().map(|&d| d as i64).collect(),
        raw_data: raw,
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], output: &str, axis: Option<i64>) -> NodeProto {
    NodeProto {
        op_type: op.to_string(),
        name: name.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        attribute: axis
            .map(|a| AttributeProto {
                name: "axis".into(),
                r#type: 2,
                i: a,
                ..Default::default()
            })
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

/// Replaces the float weight initializer `name` by int8 values and a
/// per-channel `DequantizeLinear` that recreates `name`.
pub fn quantize_weight_in_place(model: &mut OnnxModel, name: &str, w: &QuantWeight) {
    let (q, scale, zero) = (
        format!("{name}/int8"),
        format!("{name}/scale"),
        format!("{name}/zero_point"),
    );
    let g = model.graph_mut();
    g.initializer.retain(|t| t.name != name);
    g.initializer.push(tensor(
        &q,
        DataType::Int8,
        &w.dims,
        w.q.iter().map(|&v| v as u8).collect(),
    ));
    g.initializer.push(tensor(
        &scale,
        DataType::Float,
        &[w.scales.len()],
        w.scales.iter().flat_map(|v| v.to_le_bytes()).collect(),
    ));
    g.initializer.push(tensor(
        &zero,
        DataType::Int8,
        &[w.scales.len()],
        vec![0; w.scales.len()],
    ));
    g.input.retain(|i| i.name != name);
    g.node.insert(
        0,
        node(
            "DequantizeLinear",
            &format!("{name}/dequantize"),
            &[&q, &scale, &zero],
            name,
            Some(0),
        ),
    );
}

/// Puts a quantize/dequantize pair on each value in `activations`: the pair
/// follows the value's producer, and every other reader reads the dequantized value.
pub fn quantize_activations(model: &mut OnnxModel, activations: &[(String, ActQuant)]) {
    let plan: HashMap<&str, ActQuant> = activations.iter().map(|(n, q)| (n.as_str(), *q)).collect();
    let graph_input = model.input_name().map(str::to_string);
    let g = model.graph_mut();
    let renamed = |v: &str| format!("{v}/dequantized");
    let mut pairs: HashMap<String, Vec<NodeProto>> = HashMap::new();
    for (value, q) in &plan {
        let (scale, zero, int8) = (
            format!("{value}/act_scale"),
            format!("{value}/act_zero_point"),
            format!("{value}/act_int8"),
        );
        g.initializer.push(tensor(
            &scale,
            DataType::Float,
            &[],
            q.scale.to_le_bytes().to_vec(),
        ));
        g.initializer
            .push(tensor(&zero, DataType::Int8, &[], vec![q.zero_point as u8]));
        pairs.insert(
            value.to_string(),
            vec![
                node(
                    "QuantizeLinear",
                    &format!("{value}/quantize"),
                    &[value, &scale, &zero],
                    &int8,
                    None,
                ),
                node(
                    "DequantizeLinear",
                    &format!("{value}/dequantize_act"),
                    &[&int8, &scale, &zero],
                    &renamed(value),
                    None,
                ),
            ],
        );
    }
    let old = std::mem::take(&mut g.node);
    let mut nodes = Vec::with_capacity(old.len() + 2 * pairs.len());
    if let Some(input) = graph_input.as_deref() {
        if let Some(p) = pairs.remove(input) {
            nodes.extend(p);
        }
    }
    for mut n in old {
        for i in n.input.iter_mut() {
            if plan.contains_key(i.as_str()) {
                *i = renamed(i);
            }
        }
        let outputs = n.output.clone();
        nodes.push(n);
        for o in outputs {
            if let Some(p) = pairs.remove(&o) {
                nodes.extend(p);
            }
        }
    }
    g.node = nodes;
}
