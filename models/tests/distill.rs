//! Distillation: an ONNX graph replayed as a trainable burn module must
//! compute what tract computes on the same file (a hand-built graph with the
//! importer's PReLU idiom and SAME_UPPER padding, and a trainer export with
//! batch norm, MatMul and the L2 normalisation), training must pull a
//! student towards its teacher, and the written file must load in the
//! runtime with the trained weights.

mod common;

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use prost::Message;
use siamedge::model::onnx_proto::{AttributeProto, ModelProto};
use siamedge::model::{Dim, Network};
use siamedge::onnx_writer::{attr, ElemType, GraphBuilder, OnnxDim};
use siamedge_models::distill::{self, cosines, normalised, DistillConfig, DistillSet, GraphNet};
use siamedge_models::export::{check_pattern, export, ExportInfo};
use siamedge_models::rng::Rng;
use siamedge_models::train::train;

const SHAPE: [usize; 4] = [1, 3, 16, 16];

/// A float graph under construction, with weights drawn from `rng`.
struct Builder {
    rng: Rng,
    g: GraphBuilder,
}

impl Builder {
    fn floats(&mut self, name: &str, dims: &[usize], v: Vec<f32>) -> String {
        self.g.f32_tensor(name, dims, &v)
    }

    fn random(&mut self, name: &str, dims: &[usize], scale: f32) -> String {
        let n = dims.iter().product();
        let v = (0..n).map(|_| self.rng.range(-scale, scale)).collect();
        self.floats(name, dims, v)
    }

    fn node(&mut self, op: &str, inputs: &[&str], out: &str, attrs: Vec<AttributeProto>) -> String {
        self.g.node(op, inputs, out, attrs)
    }

    fn conv(&mut self, name: &str, x: &str, dims: [usize; 4], group: usize, stride: i64) -> String {
        let fan_in = (dims[1] * dims[2] * dims[3]) as f32;
        let w = self.random(&format!("{name}/w"), &dims, 1.5 / fan_in.sqrt());
        let b = self.random(&format!("{name}/b"), &[dims[0]], 0.1);
        let attrs = vec![
            attr::string("auto_pad", "SAME_UPPER"),
            attr::ints("kernel_shape", &[dims[2] as i64, dims[3] as i64]),
            attr::ints("strides", &[stride, stride]),
            attr::int("group", group as i64),
        ];
        self.node("Conv", &[x, &w, &b], name, attrs)
    }
}

/// Stem conv (stride 2) + PReLU written as relu(x) + slope * min(x, 0),
/// depthwise + ReLU, pointwise projection, residual add, batch norm, global
/// average pool, flatten, MatMul + bias: weights drawn from `seed`.
fn fixture(seed: u64) -> Vec<u8> {
    let mut g = Builder {
        rng: Rng::new(seed),
        g: GraphBuilder::new(),
    };
    let dims: Vec<OnnxDim> = SHAPE.iter().map(|&d| OnnxDim::Value(d as i64)).collect();
    let input = g.g.input("input", ElemType::Float, &dims);
    let c1 = g.conv("stem", &input, [8, 3, 3, 3], 1, 2);
    let zero = g.floats("zero", &[], vec![0.0]);
    let slope = g.random("slope", &[8, 1, 1], 0.5);
    let pos = g.node("Relu", &[&c1], "stem/pos", vec![]);
    let neg = g.node("Min", &[&c1, &zero], "stem/neg", vec![]);
    let scaled = g.node("Mul", &[&neg, &slope], "stem/scaled", vec![]);
    let p1 = g.node("Add", &[&pos, &scaled], "stem/prelu", vec![]);
    let c2 = g.conv("dw", &p1, [8, 1, 3, 3], 8, 1);
    let r2 = g.node("Relu", &[&c2], "dw/relu", vec![]);
    let c3 = g.conv("project", &r2, [8, 8, 1, 1], 1, 1);
    let sum = g.node("Add", &[&p1, &c3], "residual", vec![]);
    let gamma = g.random("bn/gamma", &[8], 1.0);
    let beta = g.random("bn/beta", &[8], 0.2);
    let mean = g.random("bn/mean", &[8], 0.2);
    let var = g.floats(
        "bn/var",
        &[8],
        (0..8).map(|i| 0.5 + i as f32 * 0.1).collect(),
    );
    let bn = g.node(
        "BatchNormalization",
        &[&sum, &gamma, &beta, &mean, &var],
        "bn",
        vec![],
    );
    let pooled = g.node("GlobalAveragePool", &[&bn], "pool", vec![]);
    let flat = g.node("Flatten", &[&pooled], "flat", vec![attr::int("axis", 1)]);
    let fc = g.random("fc/w", &[8, 5], 0.5);
    let mm = g.node("MatMul", &[&flat, &fc], "fc", vec![]);
    let bias = g.random("fc/b", &[5], 0.1);
    let out = g.node("Add", &[&mm, &bias], "embedding", vec![]);
    g.g.output(
        &out,
        ElemType::Float,
        &[OnnxDim::Value(1), OnnxDim::Value(5)],
    );
    g.g.finish("distill-fixture", "").encode_to_vec()
}

fn inputs(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            (0..SHAPE.iter().product())
                .map(|_| rng.range(-1.0, 1.0))
                .collect()
        })
        .collect()
}

/// tract's normalised output of `bytes` for each input.
fn tract_embeddings(bytes: &[u8], xs: &[Vec<f32>], shape: [usize; 4]) -> Vec<Vec<f32>> {
    let dims: Vec<Dim> = shape.iter().map(|&d| Dim::Fixed(d)).collect();
    let mut net = Network::from_bytes(Path::new("fixture.onnx"), bytes, &[dims]).unwrap();
    xs.iter()
        .map(|x| normalised(net.run(&[(&shape, x)]).unwrap().values(0)))
        .collect()
}

fn set_of(xs: Vec<Vec<f32>>, targets: Vec<Vec<f32>>, shape: [usize; 4]) -> DistillSet {
    DistillSet {
        shape: [shape[1], shape[2], shape[3]],
        inputs: xs,
        targets,
    }
}

#[test]
fn replayed_graph_matches_tract() {
    let dev = Device::flex();
    let bytes = fixture(7);
    let xs = inputs(6, 1);
    let tract = tract_embeddings(&bytes, &xs, SHAPE);
    let net = GraphNet::from_onnx(&bytes, &dev).unwrap();
    let set = set_of(xs, tract.clone(), SHAPE);
    let replayed = distill::embed(&net, &set, 4, &dev).unwrap();
    for c in cosines(&replayed, &tract) {
        assert!(c > 0.99999, "replayed vs tract cosine {c}");
    }
    // Unnormalised outputs agree too, not only their directions.
    let x = Tensor::<4>::from_data(TensorData::new(set.inputs[0].clone(), SHAPE), &dev);
    let raw = net
        .forward(x)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let dims: Vec<Dim> = SHAPE.iter().map(|&d| Dim::Fixed(d)).collect();
    let mut tract_net = Network::from_bytes(Path::new("f.onnx"), &bytes, &[dims]).unwrap();
    let expected = tract_net
        .run(&[(&SHAPE, &set.inputs[0])])
        .unwrap()
        .values(0)
        .to_vec();
    for (a, b) in raw.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
    }
}

#[test]
fn replayed_trainer_export_matches_tract() {
    let dev = Device::flex();
    let data = common::tiny_set(4, 4, 5);
    let prep = common::prep();
    let net = train(&common::tiny_config(2), &data, &prep, &dev)
        .unwrap()
        .net;
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("enc.onnx");
    let info = ExportInfo {
        train_command: "test".into(),
        data: "generated".into(),
        trainer: "siamedge-models test".into(),
        trained_on: "0 s on test".into(),
        export_command: "test".into(),
        weights_sha256: "0".repeat(64),
    };
    let eval_net = net.valid();
    export(eval_net.branch(0), &prep, &onnx, &info).unwrap();
    let bytes = std::fs::read(&onnx).unwrap();
    let shape = [1, prep.channels(), common::SIZE, common::SIZE];
    let images = [check_pattern(common::SIZE), data.images[0].clone()];
    let xs: Vec<Vec<f32>> = images
        .iter()
        .map(|img| {
            let t = prep.batch(std::slice::from_ref(img), &dev);
            t.into_data().try_to_vec::<f32>().unwrap()
        })
        .collect();
    let tract = tract_embeddings(&bytes, &xs, shape);
    let graph = GraphNet::from_onnx(&bytes, &dev).unwrap();
    let replayed = distill::embed(&graph, &set_of(xs, tract.clone(), shape), 2, &dev).unwrap();
    for c in cosines(&replayed, &tract) {
        assert!(c > 0.9999, "replayed trainer export vs tract cosine {c}");
    }
}

#[test]
fn distillation_pulls_the_student_to_its_teacher_and_writes_a_loadable_file() {
    let dev = Device::flex();
    let teacher = fixture(7);
    let student_bytes = fixture(8);
    let xs = inputs(48, 2);
    let targets = tract_embeddings(&teacher, &xs, SHAPE);
    let set = set_of(xs, targets, SHAPE);
    let student = GraphNet::from_onnx(&student_bytes, &dev).unwrap();
    let before = cosines(
        &distill::embed(&student, &set, 16, &dev).unwrap(),
        &set.targets,
    );
    let config = DistillConfig {
        steps: 60,
        time_budget: None,
        lr: 2e-2,
        log_every: 20,
        progress: false,
    };
    let mut batches = set.sampler(8, 3);
    let done = distill::distill(student, set.shape, &mut batches, &config, &dev).unwrap();
    assert_eq!(done.steps, 60);
    let (first, last) = (done.log[0].1, done.log.last().unwrap().1);
    assert!(last < first * 0.5, "loss {first} -> {last} did not halve");
    let after_burn = distill::embed(&done.student, &set, 16, &dev).unwrap();
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (b, a) = (mean(&before), mean(&cosines(&after_burn, &set.targets)));
    assert!(a > b + 0.1 && a > 0.9, "cosine to the teacher {b} -> {a}");

    let written = done.student.write_into(&student_bytes).unwrap();
    assert_ne!(written, student_bytes);
    let runtime = tract_embeddings(&written, &set.inputs, SHAPE);
    for c in cosines(&runtime, &after_burn) {
        assert!(c > 0.9999, "runtime vs trainer on the written file: {c}");
    }
}

#[test]
fn unknown_ops_are_refused_by_name() {
    let mut model = ModelProto::decode(&fixture(1)[..]).unwrap();
    model.graph.as_mut().unwrap().node[1].op_type = "Softsign".into();
    let err = GraphNet::from_onnx(&model.encode_to_vec(), &Device::flex()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Softsign") && text.contains("stem/pos"),
        "{text}"
    );
}
