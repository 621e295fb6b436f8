//! The quantizer on a small generated network (1x1 conv, PReLU idiom,
//! depthwise conv, ReLU, projection, residual add, 1x1 conv): equalisation
//! keeps the function, the QDQ output loads in the runtime and stays close
//! to the float model, mixed precision keeps the chosen layers in float, and
//! the report's facts, per-layer errors and latency are what they should be.

use std::path::Path;

use prost::Message;
use siamedge::model::{Dim, Execution, Network};
use siamedge::onnx_writer::{attr, ElemType, GraphBuilder, OnnxDim};
use siamedge_quantize::quant::cle::{conv_pairs, equalise};
use siamedge_quantize::quant::graph::OnnxModel;
use siamedge_quantize::quant::range::Method;
use siamedge_quantize::quant::{cosine_stats, embed_all, quantize, QuantizeOptions};
use siamedge_quantize::report::{interleaved_latency, layer_errors, model_facts};

const SHAPE: [usize; 4] = [1, 4, 8, 8];

/// A small deterministic pseudo-random generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

fn conv(
    g: &mut GraphBuilder,
    rng: &mut Lcg,
    input: &str,
    dims: [usize; 4],
    group: usize,
    uneven: bool,
) -> String {
    let [out, per_group, k, _] = dims;
    let mut w = rng.vec(out * per_group * k * k, 0.5);
    if uneven {
        for (i, v) in w.iter_mut().enumerate() {
            *v *= [0.05, 1.0, 8.0][(i / (per_group * k * k)) % 3];
        }
    }
    let w = g.f32_tensor("w", &dims, &w);
    let b = g.f32_tensor("b", &[out], &rng.vec(out, 0.1));
    g.node(
        "Conv",
        &[input, &w, &b],
        "conv",
        vec![
            attr::ints("kernel_shape", &[k as i64, k as i64]),
            attr::ints("pads", &[(k / 2) as i64; 4]),
            attr::int("group", group as i64),
        ],
    )
}

fn small_model() -> Vec<u8> {
    let mut rng = Lcg(7);
    let mut g = GraphBuilder::new();
    let dims: Vec<OnnxDim> = SHAPE.iter().map(|&d| OnnxDim::Value(d as i64)).collect();
    let x = g.input("input", ElemType::Float, &dims);
    let c1 = conv(&mut g, &mut rng, &x, [8, 4, 1, 1], 1, true);
    let zero = g.f32_tensor("zero", &[], &[0.0]);
    let slope = g.f32_tensor("slope", &[1, 8, 1, 1], &rng.vec(8, 0.3));
    let pos = g.node("Relu", &[&c1], "pos", vec![]);
    let neg = g.node("Min", &[&c1, &zero], "neg", vec![]);
    let scaled = g.node("Mul", &[&neg, &slope], "scaled", vec![]);
    let p1 = g.node("Add", &[&pos, &scaled], "prelu", vec![]);
    let c2 = conv(&mut g, &mut rng, &p1, [8, 1, 3, 3], 8, true);
    let r2 = g.node("Relu", &[&c2], "relu", vec![]);
    let c3 = conv(&mut g, &mut rng, &r2, [4, 8, 1, 1], 1, false);
    let res = g.node("Add", &[&x, &c3], "residual", vec![]);
    let c4 = conv(&mut g, &mut rng, &res, [6, 4, 1, 1], 1, false);
    g.output(&c4, ElemType::Float, &[]);
    g.finish("small", "test").encode_to_vec()
}

fn inputs(seed: u64, n: usize) -> Vec<Vec<f32>> {
    let mut rng = Lcg(seed);
    (0..n)
        .map(|_| rng.vec(SHAPE.iter().product(), 1.0))
        .collect()
}

fn options(keep_float: usize) -> QuantizeOptions {
    QuantizeOptions {
        method: Method::Mse,
        equalise: true,
        bias_correction: true,
        keep_float,
        sensitivity_inputs: 8,
    }
}

#[test]
fn equalisation_keeps_the_function_and_evens_the_channel_ranges() {
    let bytes = small_model();
    let mut model = OnnxModel::decode(&bytes).unwrap();
    let pairs = conv_pairs(&model);
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert_eq!(equalise(&mut model, 1).unwrap(), 2);
    let probe = inputs(3, 4);
    let before = embed_all(&bytes, &probe, &SHAPE).unwrap();
    let after = embed_all(&model.encode(), &probe, &SHAPE).unwrap();
    assert!(cosine_stats(&before, &after).min > 0.999_999);

    // The pair equalised last (depthwise -> projection) ends with equal ranges.
    let pair = &pairs[1];
    let w1 = model.float(&pair.first.weight).unwrap();
    let w2 = model.float(&pair.second.weight).unwrap();
    for c in 0..8 {
        let r1 = w1.values[c * 9..c * 9 + 9]
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()));
        let r2 = (0..4).fold(0f32, |m, o| m.max(w2.values[o * 8 + c].abs()));
        assert!(
            (r1 - r2).abs() <= 1e-5 * r1.max(r2),
            "channel {c}: {r1} vs {r2}"
        );
    }
}

#[test]
fn the_qdq_model_loads_in_the_runtime_and_stays_close_to_float() {
    let bytes = small_model();
    let (q, summary) = quantize(&bytes, &inputs(1, 32), &SHAPE, &options(0), &|| {}).unwrap();
    assert_eq!((summary.int8_convs, summary.float_convs), (4, 0));
    let model = OnnxModel::decode(&q).unwrap();
    let ops: Vec<&str> = model.nodes().iter().map(|n| n.op_type.as_str()).collect();
    let count = |op: &str| ops.iter().filter(|o| **o == op).count();
    assert_eq!(count("QuantizeLinear"), summary.int8_activations);
    assert_eq!(count("DequantizeLinear"), summary.int8_activations + 4);
    assert!(model.graph().initializer.iter().any(|t| t.data_type == 3));
    let probe = inputs(99, 16);
    let c = cosine_stats(
        &embed_all(&bytes, &probe, &SHAPE).unwrap(),
        &embed_all(&q, &probe, &SHAPE).unwrap(),
    );
    assert!(c.mean > 0.99 && c.mean < 1.0, "{c:?}");
}

#[test]
fn mixed_precision_keeps_the_most_sensitive_layer_in_float() {
    let bytes = small_model();
    let (q, summary) = quantize(&bytes, &inputs(1, 16), &SHAPE, &options(1), &|| {}).unwrap();
    assert_eq!((summary.int8_convs, summary.float_convs), (3, 1));
    assert_eq!(summary.sensitivity.len(), 4);
    let worst = &summary.sensitivity[0];
    assert!(worst.kept_float);
    assert!(summary
        .sensitivity
        .windows(2)
        .all(|w| w[0].cosine <= w[1].cosine));
    let model = OnnxModel::decode(&q).unwrap();
    assert!(
        model.float(&worst.layer).is_ok(),
        "{} stays a float initializer",
        worst.layer
    );
}

#[test]
fn report_facts_count_macs_and_parameters_in_float_and_int8() {
    let bytes = small_model();
    let f = model_facts(&bytes, &SHAPE).unwrap();
    // 8x8 positions: 8*4 + 8*9 + 4*8 + 6*4 MACs each.
    assert_eq!(f.conv_macs, 64 * (32 + 72 + 32 + 24));
    // Weights 160, biases 26, PReLU slopes 8.
    assert_eq!(f.params, 194);
    assert_eq!((f.int8_convs, f.convs, f.sparsity), (0, 4, 0.0));
    let (q, _) = quantize(&bytes, &inputs(1, 8), &SHAPE, &options(0), &|| {}).unwrap();
    let g = model_facts(&q, &SHAPE).unwrap();
    assert_eq!((g.params, g.conv_macs, g.int8_convs), (194, f.conv_macs, 4));
}

#[test]
fn layer_errors_are_zero_against_itself_and_small_after_quantization() {
    let bytes = small_model();
    let probe = inputs(5, 4);
    let same = layer_errors(&bytes, &bytes, &probe, &SHAPE).unwrap();
    assert_eq!(same.len(), 4);
    assert!(same.iter().all(|e| e.relative_error < 1e-10), "{same:?}");
    let (q, _) = quantize(&bytes, &inputs(1, 16), &SHAPE, &options(0), &|| {}).unwrap();
    let errors = layer_errors(&bytes, &q, &probe, &SHAPE).unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e.relative_error > 0.0 && e.relative_error < 0.05),
        "{errors:?}"
    );
}

#[test]
fn interleaved_latency_times_both_models() {
    let bytes = small_model();
    let x = &inputs(2, 1)[0];
    let l = interleaved_latency(&bytes, &bytes, x, &SHAPE, 5, 1).unwrap();
    assert_eq!(l.runs, 5);
    assert!(l.reference_p50_ms > 0.0 && l.candidate_p50_ms > 0.0);
    assert!(l.reference_p90_ms >= l.reference_p50_ms);
}

fn run_with(bytes: &[u8], execution: Execution, x: &[f32]) -> (String, Vec<f32>) {
    let dims: Vec<Dim> = SHAPE.iter().map(|&d| Dim::Fixed(d)).collect();
    let mut net =
        Network::from_bytes_with(Path::new("small.onnx"), bytes, &[dims], execution).unwrap();
    let out = net.run(&[(&SHAPE, x)]).unwrap().values(0).to_vec();
    (net.engine_name().to_string(), out)
}

#[test]
fn the_int8_engine_runs_the_qdq_model_and_agrees_with_tracts_fake_quantization() {
    let bytes = small_model();
    let (q, _) = quantize(&bytes, &inputs(1, 32), &SHAPE, &options(0), &|| {}).unwrap();
    let (fp32_engine, _) = run_with(&bytes, Execution::Auto, &inputs(4, 1)[0]);
    assert_eq!(fp32_engine, "tract", "a float graph runs in tract");
    let mut worst = 0.0f32;
    for x in inputs(11, 8) {
        let (engine, ours) = run_with(&q, Execution::Auto, &x);
        assert_eq!(engine, "siamedge-int8");
        let (_, tract) = run_with(&q, Execution::Tract, &x);
        let scale = tract.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (a, b) in ours.iter().zip(&tract) {
            worst = worst.max((a - b).abs() / scale);
        }
    }
    // The two differ only where a value sits on a rounding boundary (one
    // code, in an intermediate layer); the float output stays within 2 %.
    assert!(worst < 0.02, "worst relative difference {worst}");
}

#[test]
fn pruning_removes_a_blocks_channels_everywhere_and_recovery_helps() {
    use siamedge_quantize::prune::{blocks, prune, Importance, PruneOptions};
    let bytes = small_model();
    let model = OnnxModel::decode(&bytes).unwrap();
    let found = blocks(&model);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].channels, 8);
    let options = PruneOptions {
        ratio: 0.5,
        importance: Importance::L1,
        residual_ratio: 0.0,
        global: false,
        min_channels: 2,
        magnitude: 0.0,
    };
    let pruned = prune(&bytes, &options, &[], &SHAPE, &|| {}).unwrap();
    let (plain, report) = (pruned.bytes, pruned.blocks);
    assert_eq!((report[0].channels, report[0].kept), (8, 4));
    let pruned = OnnxModel::decode(&plain).unwrap();
    let b = &found[0];
    assert_eq!(
        pruned.float(&b.first.weight).unwrap().dims,
        vec![4, 4, 1, 1]
    );
    assert_eq!(
        pruned.float(&b.depthwise.weight).unwrap().dims,
        vec![4, 1, 3, 3]
    );
    assert_eq!(pruned.float(&b.last.weight).unwrap().dims, vec![4, 4, 1, 1]);
    assert_eq!(pruned.float("slope").unwrap().dims, vec![1, 4, 1, 1]);
    let before = model_facts(&bytes, &SHAPE).unwrap().conv_macs;
    let after = model_facts(&plain, &SHAPE).unwrap().conv_macs;
    assert_eq!(before - after, 64 * (4 * 4 + 4 * 9 + 4 * 4));

    let recovered = prune(&bytes, &options, &inputs(1, 16), &SHAPE, &|| {})
        .unwrap()
        .bytes;
    let probe = inputs(77, 8);
    let reference = embed_all(&bytes, &probe, &SHAPE).unwrap();
    let without = cosine_stats(&reference, &embed_all(&plain, &probe, &SHAPE).unwrap()).mean;
    let with = cosine_stats(&reference, &embed_all(&recovered, &probe, &SHAPE).unwrap()).mean;
    assert!(with > without, "recovery {with} vs none {without}");
}

#[test]
fn magnitude_pruning_zeroes_the_smallest_weights_of_each_filter() {
    use siamedge_quantize::prune::{prune, Importance, PruneOptions};
    let bytes = small_model();
    let options = PruneOptions {
        ratio: 0.0,
        importance: Importance::L1,
        residual_ratio: 0.0,
        global: false,
        min_channels: 2,
        magnitude: 0.5,
    };
    let pruned = prune(&bytes, &options, &[], &SHAPE, &|| {}).unwrap();
    let before = OnnxModel::decode(&bytes).unwrap();
    let after = OnnxModel::decode(&pruned.bytes).unwrap();
    assert_eq!(pruned.sparsity.len(), before.convs().len());
    for layer in &pruned.sparsity {
        let w0 = before.float(&layer.layer).unwrap().values;
        let w1 = after.float(&layer.layer).unwrap().values;
        assert_eq!(layer.weights, w0.len());
        assert_eq!(layer.zeros, w1.iter().filter(|v| **v == 0.0).count());
        let filters = after.float(&layer.layer).unwrap().dims[0];
        let per = w0.len() / filters;
        let depthwise = before
            .convs()
            .iter()
            .any(|c| c.weight == layer.layer && c.group > 1);
        let cut = if depthwise {
            0
        } else {
            (per as f64 * 0.5).round() as usize
        };
        assert_eq!(layer.zeros, filters * cut, "{}", layer.layer);
        for (f0, f1) in w0.chunks(per).zip(w1.chunks(per)) {
            let largest_cut = f0
                .iter()
                .zip(f1)
                .filter(|(_, b)| **b == 0.0)
                .map(|(a, _)| a.abs())
                .fold(0.0f32, f32::max);
            let smallest_kept = f1
                .iter()
                .filter(|v| **v != 0.0)
                .map(|v| v.abs())
                .fold(f32::INFINITY, f32::min);
            assert!(
                largest_cut <= smallest_kept,
                "{}: cut {largest_cut} > kept {smallest_kept}",
                layer.layer
            );
        }
        assert!(
            w0.iter().zip(&w1).all(|(a, b)| *b == 0.0 || a == b),
            "kept weights changed"
        );
    }
    let facts = model_facts(&pruned.bytes, &SHAPE).unwrap();
    assert!(facts.sparsity > 0.2, "overall sparsity {}", facts.sparsity);
    embed_all(&pruned.bytes, &inputs(2, 3), &SHAPE).unwrap();
}

/// A batch norm over `input`'s channels with the given gammas.
fn batch_norm(g: &mut GraphBuilder, rng: &mut Lcg, input: &str, gamma: &[f32]) -> String {
    let n = gamma.len();
    let gamma = g.f32_tensor("gamma", &[n], gamma);
    let beta = g.f32_tensor("beta", &[n], &rng.vec(n, 0.2));
    let mean = g.f32_tensor("mean", &[n], &rng.vec(n, 0.2));
    let var: Vec<f32> = rng.vec(n, 0.5).iter().map(|v| 0.6 + v).collect();
    let var = g.f32_tensor("var", &[n], &var);
    g.node(
        "BatchNormalization",
        &[input, &gamma, &beta, &mean, &var],
        "bn",
        vec![attr::float("epsilon", 1e-3)],
    )
}

/// The trainer's ReLU6 idiom, `relu(x) - relu(relu(x) - 6)`.
fn relu6(g: &mut GraphBuilder, x: &str) -> String {
    let six = g.f32_tensor("six", &[], &[6.0]);
    let r = g.node("Relu", &[x], "relu", vec![]);
    let over = g.node("Sub", &[&r, &six], "over", vec![]);
    let clipped = g.node("Relu", &[&over], "relu", vec![]);
    g.node("Sub", &[&r, &clipped], "relu6", vec![])
}

/// conv -> BN -> ReLU6 -> depthwise -> BN -> ReLU -> conv, as the trainer
/// exports it (batch norms not folded, ReLU6 as two ReLUs). The first batch norm's gammas rank
/// the channels opposite to their filters' L1 norms.
fn batch_norm_model() -> Vec<u8> {
    let mut rng = Lcg(11);
    let mut g = GraphBuilder::new();
    let dims: Vec<OnnxDim> = SHAPE.iter().map(|&d| OnnxDim::Value(d as i64)).collect();
    let x = g.input("input", ElemType::Float, &dims);
    let w: Vec<f32> = (0..8 * 4)
        .map(|i| (1.0 + (i / 4) as f32).powi(2) * if i % 2 == 0 { 0.1 } else { -0.1 })
        .collect();
    let w = g.f32_tensor("w", &[8, 4, 1, 1], &w);
    let c1 = g.node(
        "Conv",
        &[&x, &w],
        "expand",
        vec![attr::ints("kernel_shape", &[1, 1])],
    );
    let gammas: Vec<f32> = (0..8).map(|c| 2.0 - 0.25 * c as f32).collect();
    let b1 = batch_norm(&mut g, &mut rng, &c1, &gammas);
    let r1 = relu6(&mut g, &b1);
    let c2 = conv(&mut g, &mut rng, &r1, [8, 1, 3, 3], 8, false);
    let gammas = rng.vec(8, 1.0);
    let b2 = batch_norm(&mut g, &mut rng, &c2, &gammas);
    let r2 = g.node("Relu", &[&b2], "relu", vec![]);
    let c3 = conv(&mut g, &mut rng, &r2, [6, 8, 1, 1], 1, false);
    g.output(&c3, ElemType::Float, &[]);
    g.finish("batch-norm", "test").encode_to_vec()
}

#[test]
fn batch_norms_fold_into_their_convolutions_and_rank_channels_by_gamma() {
    use siamedge_quantize::prune::{blocks, fold_batch_norms, prune, Importance, PruneOptions};
    let bytes = batch_norm_model();
    let mut model = OnnxModel::decode(&bytes).unwrap();
    assert!(blocks(&model).is_empty(), "batch norms break the chain");
    let scales = fold_batch_norms(&mut model).unwrap();
    assert_eq!(scales.len(), 2);
    assert!(model
        .nodes()
        .iter()
        .all(|n| n.op_type != "BatchNormalization"));
    let probe = inputs(5, 6);
    let before = embed_all(&bytes, &probe, &SHAPE).unwrap();
    let folded = embed_all(&model.encode(), &probe, &SHAPE).unwrap();
    assert!(cosine_stats(&before, &folded).min > 0.999_999);
    let found = blocks(&model);
    assert_eq!(found.len(), 1);

    let options = |importance| PruneOptions {
        ratio: 0.5,
        importance,
        residual_ratio: 0.0,
        global: false,
        min_channels: 2,
        magnitude: 0.0,
    };
    // By gamma the first four channels stay; by L1 the folded filters
    // (original L1 growing as (1 + c)^2, times gamma_c / sigma_c) rank otherwise.
    let folded_w = model.float(&found[0].first.weight).unwrap().values;
    let kept = |bytes: &[u8]| {
        let w = OnnxModel::decode(bytes)
            .unwrap()
            .float(&found[0].first.weight)
            .unwrap()
            .values;
        (0..8)
            .filter(|&c| w.chunks(4).any(|f| f == &folded_w[c * 4..c * 4 + 4]))
            .collect::<Vec<_>>()
    };
    let by_gamma = prune(&bytes, &options(Importance::BnScale), &[], &SHAPE, &|| {}).unwrap();
    assert_eq!(kept(&by_gamma.bytes), vec![0, 1, 2, 3]);
    let l1: Vec<f32> = folded_w
        .chunks(4)
        .map(|f| f.iter().map(|v| v.abs()).sum())
        .collect();
    let mut order: Vec<usize> = (0..8).collect();
    order.sort_by(|&a, &b| l1[b].total_cmp(&l1[a]));
    let mut top_l1 = order[..4].to_vec();
    top_l1.sort();
    let by_l1 = prune(&bytes, &options(Importance::L1), &[], &SHAPE, &|| {}).unwrap();
    assert_eq!(kept(&by_l1.bytes), top_l1);
    assert_ne!(
        top_l1,
        vec![0, 1, 2, 3],
        "the fixture must tell the rankings apart"
    );

    let err = prune(
        &small_model(),
        &options(Importance::BnScale),
        &[],
        &SHAPE,
        &|| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--importance l1"), "{err}");
}

/// A residual stream: a stem convolution writes 8 channels, an inverted
/// residual block (expand, depthwise, project) adds to them, a head reads
/// the sum.
fn residual_model() -> Vec<u8> {
    let mut rng = Lcg(5);
    let mut g = GraphBuilder::new();
    let dims: Vec<OnnxDim> = SHAPE.iter().map(|&d| OnnxDim::Value(d as i64)).collect();
    let x = g.input("input", ElemType::Float, &dims);
    let stem = conv(&mut g, &mut rng, &x, [8, 4, 1, 1], 1, true);
    let e = conv(&mut g, &mut rng, &stem, [12, 8, 1, 1], 1, false);
    let e = g.node("Relu", &[&e], "relu", vec![]);
    let d = conv(&mut g, &mut rng, &e, [12, 1, 3, 3], 12, false);
    let d = g.node("Relu", &[&d], "relu", vec![]);
    let p = conv(&mut g, &mut rng, &d, [8, 12, 1, 1], 1, true);
    let sum = g.node("Add", &[&stem, &p], "residual", vec![]);
    let head = conv(&mut g, &mut rng, &sum, [6, 8, 1, 1], 1, false);
    g.output(&head, ElemType::Float, &[]);
    g.finish("residual", "test").encode_to_vec()
}

#[test]
fn residual_streams_lose_the_same_channels_everywhere() {
    use siamedge_quantize::prune::{
        group_scores, prune, residual_groups, Importance, PruneOptions,
    };
    let bytes = residual_model();
    let model = OnnxModel::decode(&bytes).unwrap();
    let groups = residual_groups(&model);
    assert_eq!(groups.len(), 1, "{groups:?}");
    let group = &groups[0];
    assert_eq!(group.channels, 8);
    assert_eq!(group.producers.len(), 2, "stem and projection");
    assert_eq!(group.consumers.len(), 2, "expansion and head");
    assert!(
        residual_groups(&OnnxModel::decode(&small_model()).unwrap()).is_empty(),
        "a stream that starts at the graph input cannot be pruned"
    );

    let options = PruneOptions {
        ratio: 0.0,
        importance: Importance::L1,
        residual_ratio: 0.5,
        global: false,
        min_channels: 2,
        magnitude: 0.0,
    };
    let pruned = prune(&bytes, &options, &[], &SHAPE, &|| {}).unwrap();
    let after = OnnxModel::decode(&pruned.bytes).unwrap();
    for p in &group.producers {
        assert_eq!(after.float(&p.weight).unwrap().dims[0], 4, "{}", p.weight);
    }
    for c in &group.consumers {
        assert_eq!(after.float(&c.weight).unwrap().dims[1], 4, "{}", c.weight);
    }
    // The kept channels are the four best by summed relative L1, in every layer.
    let scores = group_scores(&model, group).unwrap();
    let mut order: Vec<usize> = (0..8).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut kept = order[..4].to_vec();
    kept.sort();
    let stem = model.float(&group.producers[0].weight).unwrap().values;
    let stem_after = after.float(&group.producers[0].weight).unwrap().values;
    for (row, &c) in kept.iter().enumerate() {
        assert_eq!(&stem_after[row * 4..row * 4 + 4], &stem[c * 4..c * 4 + 4]);
    }
    let probe = inputs(2, 3);
    assert_eq!(embed_all(&pruned.bytes, &probe, &SHAPE).unwrap().len(), 3);
    let before = model_facts(&bytes, &SHAPE).unwrap().conv_macs;
    let macs = model_facts(&pruned.bytes, &SHAPE).unwrap().conv_macs;
    assert_eq!(before - macs, 64 * (4 * 4 + 4 * 12 + 12 * 4 + 4 * 6));

    // With recovery the projection is refitted to the kept channels of the
    // unpruned output: it must get closer than without.
    let recovered = prune(&bytes, &options, &inputs(4, 16), &SHAPE, &|| {}).unwrap();
    let reference = embed_all(&bytes, &probe, &SHAPE).unwrap();
    let plain = cosine_stats(
        &reference,
        &embed_all(&pruned.bytes, &probe, &SHAPE).unwrap(),
    )
    .mean;
    let refit = cosine_stats(
        &reference,
        &embed_all(&recovered.bytes, &probe, &SHAPE).unwrap(),
    )
    .mean;
    eprintln!("residual pruning: cosine to the unpruned output {plain:.6} without recovery, {refit:.6} with");
    assert!(
        1.0 - refit < 0.9 * (1.0 - plain),
        "recovery must close at least a tenth of the gap to the unpruned output: refit {refit} vs plain {plain}"
    );
}
