//! `siamedge-quantize report A.onnx B.onnx`: the reference and the candidate
//! side by side, as Markdown or JSON.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use siamedge::bench::synthetic_face;
use siamedge::eval::lfw::read_pairs;
use siamedge::eval::spread;
use siamedge::model::Manifest;
use siamedge_quantize::quant::faces::to_inputs;
use siamedge_quantize::quant::images::fitted_input;
use siamedge_quantize::quant::{cosine_stats, embed_all, CosineStats};
use siamedge_quantize::report::{
    interleaved_latency, layer_errors, model_facts, verification, LatencyPair, LayerError,
    ModelFacts, Verification,
};

use crate::inputs::{crops, detector_dir, pair_images};
use crate::model_io::read_model;

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The reference model (fp32); its manifest gives the input.
    reference: PathBuf,
    /// The candidate (quantized and/or pruned) with the same input.
    candidate: PathBuf,
    /// LFW folder: adds embedding cosine, per-layer error and verification
    /// accuracy on the View-2 pair images.
    #[arg(long)]
    lfw: Option<PathBuf>,
    /// Folder with pnet/rnet/onet.onnx and MobileFaceNet.onnx for cutting
    /// face crops [default: the reference's folder].
    #[arg(long)]
    detector: Option<PathBuf>,
    /// Faces used for the per-layer error.
    #[arg(long, default_value_t = 16)]
    layer_faces: usize,
    /// Timed runs of each model (interleaved).
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Untimed runs of each model first.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Also time both files in onnxruntime (runs quantize/scripts/ort_latency.py with python3).
    #[arg(long)]
    onnxruntime: bool,
    /// Worker threads for face detection.
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    threads: usize,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

/// Accuracy figures that need LFW.
#[derive(Debug, Serialize)]
struct Accuracy {
    cosine: CosineStats,
    reference: Verification,
    candidate: Verification,
    layers: Vec<LayerError>,
}

/// The whole report.
#[derive(Debug, Serialize)]
struct Report {
    reference: String,
    candidate: String,
    reference_facts: ModelFacts,
    candidate_facts: ModelFacts,
    accuracy: Option<Accuracy>,
    siamedge_latency: LatencyPair,
    onnxruntime_latency: Option<serde_json::Value>,
}

fn accuracy(
    a: &ReportArgs,
    lfw: &Path,
    reference: &[u8],
    candidate: &[u8],
    manifest: &Manifest,
) -> Result<Accuracy> {
    let pairs =
        read_pairs(lfw).with_context(|| format!("reading the pairs of {}", lfw.display()))?;
    let paths = pair_images(&pairs);
    let index: HashMap<PathBuf, usize> = paths
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, p)| (p, i))
        .collect();
    let detector = detector_dir(a.detector.as_deref(), &a.reference);
    let crops = crops(&detector, &paths, a.threads, "cutting LFW faces")?;
    let shape = &manifest.input.shape;
    let inputs = to_inputs(&manifest.input, crops.iter().map(|c| &c.image));
    let ea = embed_all(reference, &inputs, shape)?;
    let eb = embed_all(candidate, &inputs, shape)?;
    let detected: Vec<usize> = (0..crops.len()).filter(|&i| crops[i].detected).collect();
    let pick = |e: &[Vec<f32>]| detected.iter().map(|&i| e[i].clone()).collect::<Vec<_>>();
    let layer_inputs: Vec<Vec<f32>> = spread(&detected, a.layer_faces)
        .into_iter()
        .map(|i| inputs[i].clone())
        .collect();
    Ok(Accuracy {
        cosine: cosine_stats(&pick(&ea), &pick(&eb)),
        reference: verification(&pairs, &index, &ea),
        candidate: verification(&pairs, &index, &eb),
        layers: layer_errors(reference, candidate, &layer_inputs, shape)?,
    })
}

fn onnxruntime(a: &ReportArgs) -> Result<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ort_latency.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&a.reference)
        .arg(&a.candidate)
        .args([
            "--runs",
            &a.runs.to_string(),
            "--warmup",
            &a.warmup.to_string(),
        ])
        .output()
        .with_context(|| format!("running python3 {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed (pip install onnxruntime numpy): {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Runs `report`.
pub fn run(a: ReportArgs) -> Result<()> {
    let (reference, manifest) = read_model(&a.reference)?;
    let candidate = std::fs::read(&a.candidate)
        .with_context(|| format!("reading {}", a.candidate.display()))?;
    let shape = manifest.input.shape.clone();
    let face = fitted_input(&synthetic_face(), &manifest.input);
    let report = Report {
        reference: a.reference.display().to_string(),
        candidate: a.candidate.display().to_string(),
        reference_facts: model_facts(&reference, &shape)?,
        candidate_facts: model_facts(&candidate, &shape)?,
        accuracy: match &a.lfw {
            Some(lfw) => Some(accuracy(&a, lfw, &reference, &candidate, &manifest)?),
            None => None,
        },
        siamedge_latency: interleaved_latency(
            &reference, &candidate, &face, &shape, a.runs, a.warmup,
        )?,
        onnxruntime_latency: if a.onnxruntime {
            Some(onnxruntime(&a)?)
        } else {
            None
        },
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_markdown(&report);
    }
    Ok(())
}

fn pct(v: f64) -> String {
    format!("{:.2} %", 100.0 * v)
}

fn print_markdown(r: &Report) {
    let (fa, fb) = (&r.reference_facts, &r.candidate_facts);
    println!("# {} vs {}\n", r.candidate, r.reference);
    println!("| | reference | candidate | candidate / reference |");
    println!("|---|---|---|---|");
    let ratio = |a: f64, b: f64| format!("{:.3}", b / a.max(1e-30));
    println!(
        "| size on disk | {} B | {} B | {} |",
        fa.bytes,
        fb.bytes,
        ratio(fa.bytes as f64, fb.bytes as f64)
    );
    println!(
        "| parameters | {} | {} | {} |",
        fa.params,
        fb.params,
        ratio(fa.params as f64, fb.params as f64)
    );
    println!(
        "| conv MACs | {} | {} | {} |",
        fa.conv_macs,
        fb.conv_macs,
        ratio(fa.conv_macs as f64, fb.conv_macs as f64)
    );
    println!(
        "| weight sparsity | {} | {} | |",
        pct(fa.sparsity),
        pct(fb.sparsity)
    );
    println!(
        "| int8 convolutions | {} of {} | {} of {} | |",
        fa.int8_convs, fa.convs, fb.int8_convs, fb.convs
    );
    let l = &r.siamedge_latency;
    println!(
        "| siamedge p50 / p90, 1 thread ({} / {}) | {:.2} / {:.2} ms | {:.2} / {:.2} ms | speed-up {:.2}x |",
        l.reference_engine,
        l.candidate_engine,
        l.reference_p50_ms, l.reference_p90_ms, l.candidate_p50_ms, l.candidate_p90_ms, l.speedup
    );
    if let Some(o) = &r.onnxruntime_latency {
        println!(
            "| onnxruntime {} p50, 1 thread | {:.2} ms | {:.2} ms | speed-up {:.2}x |",
            o["onnxruntime"].as_str().unwrap_or("?"),
            o["reference_p50_ms"].as_f64().unwrap_or(f64::NAN),
            o["candidate_p50_ms"].as_f64().unwrap_or(f64::NAN),
            o["speedup"].as_f64().unwrap_or(f64::NAN)
        );
    }
    if let Some(acc) = &r.accuracy {
        let (va, vb) = (&acc.reference, &acc.candidate);
        println!(
            "| LFW accuracy ({} folds) | {} | {} | {:+.2} pp |",
            va.fold_accuracy.len(),
            pct(va.accuracy),
            pct(vb.accuracy),
            100.0 * (vb.accuracy - va.accuracy)
        );
        println!("| LFW ROC AUC | {:.4} | {:.4} | |", va.roc_auc, vb.roc_auc);
        for ((far, ta), (_, tb)) in va.tar_at_far.iter().zip(&vb.tar_at_far) {
            println!(
                "| TAR @ FAR {far:e} | {} | {} | {:+.2} pp |",
                pct(*ta),
                pct(*tb),
                100.0 * (tb - ta)
            );
        }
        println!(
            "\nEmbedding cosine, candidate vs reference, over {} detected LFW faces: mean {:.4}, min {:.4}.",
            acc.cosine.count, acc.cosine.mean, acc.cosine.min
        );
        let mut worst: Vec<&LayerError> = acc.layers.iter().collect();
        worst.sort_by(|x, y| y.relative_error.total_cmp(&x.relative_error));
        println!(
            "\nPer-layer output error (per-channel scale fitted), worst five of {}:\n",
            worst.len()
        );
        println!("| convolution output | relative error | SQNR |");
        println!("|---|---|---|");
        for e in worst.iter().take(5) {
            println!(
                "| {} | {:.2e} | {:.1} dB |",
                e.output, e.relative_error, e.sqnr_db
            );
        }
    }
}
