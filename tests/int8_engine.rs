//! The integer engine on a hand-built QDQ graph that uses every step it
//! has: a strided 3x3 convolution through im2col with the PReLU idiom, a
//! depthwise 3x3 with ReLU, a linear pointwise projection, a residual add, a
//! global depthwise convolution and a float last layer. Its outputs must
//! match tract running the same graph with fake quantization, and match
//! bit for bit the outputs recorded on x86_64 in
//! `tests/reference/int8-x86_64.json` (this test runs under qemu-aarch64
//! and qemu-arm in CI). Re-record on x86_64 with
//! `SIAMEDGE_RECORD_REFERENCE=1 cargo test --test int8_engine`.

use std::path::Path;

use prost::Message;
use serde::{Deserialize, Serialize};
use siamedge::model::onnx_proto::AttributeProto;
use siamedge::model::{Dim, Execution, Network};
use siamedge::onnx_writer::{attr, ElemType, GraphBuilder, OnnxDim};

const SHAPE: [usize; 4] = [1, 3, 16, 16];

/// Deterministic pseudo-random numbers in -1..1.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// A QDQ graph under construction.
struct Qdq(GraphBuilder);

impl Qdq {
    fn floats(&mut self, name: &str, dims: &[usize], v: &[f32]) -> String {
        self.0.f32_tensor(name, dims, v)
    }

    fn int8s(&mut self, name: &str, dims: &[usize], v: &[i8]) -> String {
        let raw = v.iter().map(|&x| x as u8).collect();
        self.0.initializer(name, ElemType::Int8, dims, raw)
    }

    fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        output: &str,
        attrs: Vec<AttributeProto>,
    ) -> String {
        self.0.node(op, inputs, output, attrs)
    }

    /// Quantize/dequantize pair on `value`; returns the dequantized value.
    fn qdq(&mut self, value: &str, scale: f32, zero_point: i8) -> String {
        let s = self.floats(&format!("{value}/s"), &[], &[scale]);
        let z = self.int8s(&format!("{value}/z"), &[], &[zero_point]);
        let q = self.node(
            "QuantizeLinear",
            &[value, &s, &z],
            &format!("{value}/q"),
            vec![],
        );
        self.node(
            "DequantizeLinear",
            &[&q, &s, &z],
            &format!("{value}/dq"),
            vec![],
        )
    }

    /// A convolution with int8 per-channel weights `[out, in/group, k, k]`.
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        rng: &mut Lcg,
        name: &str,
        input: &str,
        dims: [usize; 4],
        group: usize,
        stride: usize,
        pad: &str,
    ) -> String {
        let n: usize = dims.iter().product();
        let q: Vec<i8> = (0..n).map(|_| (rng.next() * 100.0) as i8).collect();
        let scales: Vec<f32> = (0..dims[0])
            .map(|_| 0.004 + 0.004 * rng.next().abs())
            .collect();
        let wq = self.int8s(&format!("{name}/wq"), &dims, &q);
        let ws = self.floats(&format!("{name}/ws"), &[dims[0]], &scales);
        let wz = self.int8s(&format!("{name}/wz"), &[dims[0]], &vec![0; dims[0]]);
        let w = self.node(
            "DequantizeLinear",
            &[&wq, &ws, &wz],
            &format!("{name}/w"),
            vec![attr::int("axis", 0)],
        );
        let bias: Vec<f32> = (0..dims[0]).map(|_| rng.next() * 0.1).collect();
        let b = self.floats(&format!("{name}/b"), &[dims[0]], &bias);
        let attrs = vec![
            attr::string("auto_pad", pad),
            attr::ints("kernel_shape", &[dims[2] as i64, dims[3] as i64]),
            attr::ints("strides", &[stride as i64, stride as i64]),
            attr::ints("dilations", &[1, 1]),
            attr::int("group", group as i64),
        ];
        self.node("Conv", &[input, &w, &b], name, attrs)
    }
}

fn qdq_model() -> Vec<u8> {
    let mut rng = Lcg(42);
    let mut g = Qdq(GraphBuilder::new());
    let dims: Vec<OnnxDim> = SHAPE.iter().map(|&d| OnnxDim::Value(d as i64)).collect();
    let input = g.0.input("input", ElemType::Float, &dims);
    let x = g.qdq(&input, 1.0 / 64.0, 0);
    let c1 = g.conv(&mut rng, "stem", &x, [8, 3, 3, 3], 1, 2, "SAME_UPPER");
    let zero = g.floats("zero", &[], &[0.0]);
    let slopes: Vec<f32> = (0..8).map(|_| rng.next().abs() * 0.5).collect();
    let slope = g.floats("slope", &[1, 8, 1, 1], &slopes);
    let pos = g.node("Relu", &[&c1], "stem/pos", vec![]);
    let neg = g.node("Min", &[&c1, &zero], "stem/neg", vec![]);
    let scaled = g.node("Mul", &[&neg, &slope], "stem/scaled", vec![]);
    let p1 = g.node("Add", &[&pos, &scaled], "stem/prelu", vec![]);
    let p1 = g.qdq(&p1, 0.01, -100);
    let c2 = g.conv(&mut rng, "dw", &p1, [8, 1, 3, 3], 8, 1, "SAME_UPPER");
    let r2 = g.node("Relu", &[&c2], "dw/relu", vec![]);
    let r2 = g.qdq(&r2, 0.005, -128);
    let c3 = g.conv(&mut rng, "project", &r2, [8, 8, 1, 1], 1, 1, "SAME_UPPER");
    let c3 = g.qdq(&c3, 0.004, 3);
    let sum = g.node("Add", &[&p1, &c3], "residual", vec![]);
    let sum = g.qdq(&sum, 0.012, -20);
    let c4 = g.conv(&mut rng, "gdconv", &sum, [8, 1, 8, 8], 8, 1, "VALID");
    let c4 = g.qdq(&c4, 0.01, 0);
    let c5 = g.conv(&mut rng, "linear", &c4, [5, 8, 1, 1], 1, 1, "VALID");
    let out = g.node("Flatten", &[&c5], "embedding", vec![attr::int("axis", 1)]);
    g.0.output(
        &out,
        ElemType::Float,
        &[OnnxDim::Value(1), OnnxDim::Value(5)],
    );
    g.0.finish("int8-fixture", "").encode_to_vec()
}

fn inputs() -> Vec<Vec<f32>> {
    let mut rng = Lcg(3);
    (0..3)
        .map(|_| (0..SHAPE.iter().product()).map(|_| rng.next()).collect())
        .collect()
}

fn run(execution: Execution) -> (Network, Vec<Vec<f32>>) {
    let dims: Vec<Dim> = SHAPE.iter().map(|&d| Dim::Fixed(d)).collect();
    let mut net = Network::from_bytes_with(
        Path::new("int8-fixture.onnx"),
        &qdq_model(),
        &[dims],
        execution,
    )
    .unwrap();
    let outs = inputs()
        .iter()
        .map(|x| net.run(&[(&SHAPE, x)]).unwrap().values(0).to_vec())
        .collect();
    (net, outs)
}

#[test]
fn the_kernel_the_cpu_calls_for_is_chosen() {
    let chosen = siamedge::model::int8_kernel();
    eprintln!("int8 kernels on this CPU: {chosen}");
    if let Some(expected) = std::env::var_os("SIAMEDGE_EXPECT_INT8_KERNEL") {
        assert_eq!(
            chosen,
            expected.to_str().unwrap(),
            "boards/qemu-test.sh names the CPU's kernel"
        );
    }
    let engine = run(Execution::Auto).0.engine_report();
    assert!(engine.ends_with(&format!("{chosen} kernels)")), "{engine}");
}

#[test]
fn every_integer_step_is_planned() {
    let (net, outs) = run(Execution::Auto);
    assert_eq!(net.engine_name(), "siamedge-int8");
    let ops = net.op_names();
    for op in [
        "QuantizeInput",
        "Int8ConvIm2col",
        "Int8ConvDepthwise",
        "Int8ConvPointwise",
        "Int8Add",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} missing from {ops:?}");
    }
    assert!(outs.iter().all(|o| o.len() == 5));
}

#[test]
fn the_integer_engine_matches_tracts_fake_quantization() {
    let (_, ours) = run(Execution::Auto);
    let (tract, theirs) = run(Execution::Tract);
    assert_eq!(tract.engine_name(), "tract");
    for (a, b) in ours.iter().zip(&theirs) {
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        // Both round the same way; a value on a rounding boundary may land one
        // code apart in an intermediate layer, nothing more.
        assert!(worst <= 0.02 * scale, "ours {a:?} vs tract {b:?}");
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Reference {
    arch: String,
    outputs: Vec<Vec<f32>>,
}

#[test]
fn integer_outputs_match_those_recorded_on_x86_64_bit_for_bit() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/int8-x86_64.json");
    let (_, outputs) = run(Execution::Auto);
    if std::env::var_os("SIAMEDGE_RECORD_REFERENCE").is_some() {
        assert_eq!(
            std::env::consts::ARCH,
            "x86_64",
            "record the reference on x86_64 only"
        );
        let record = Reference {
            arch: "x86_64".into(),
            outputs: outputs.clone(),
        };
        std::fs::write(&path, serde_json::to_string_pretty(&record).unwrap()).unwrap();
    }
    let reference: Reference =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(!outputs.is_empty(), "the engine produced no outputs");
    assert_eq!(
        outputs.len(),
        reference.outputs.len(),
        "as many outputs as the reference records"
    );
    for (here, there) in outputs.iter().zip(&reference.outputs) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(here),
            bits(there),
            "{} vs x86_64: {here:?} vs {there:?}",
            std::env::consts::ARCH
        );
    }
}
