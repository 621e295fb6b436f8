//! `siamedge bench`: single-thread latency of models and of the whole
//! per-image face pipeline.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use siamedge::bench::{measure, Latency};
use siamedge::face::{FacePipeline, MtcnnConfig};
use siamedge::image::{self, RgbImage};
use siamedge::model::Model;

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Photos to run the full pipeline on (decode, detect, align, embed).
    images: Vec<PathBuf>,
    /// Models to time on a synthetic input of their size (default: the
    /// embedding model in --models). Symbolic-size models are skipped.
    #[arg(long = "model")]
    model_files: Vec<PathBuf>,
    /// Timed runs per measurement.
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Untimed warm-up runs.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct BenchReport {
    models: Vec<ModelLatency>,
    pipeline: Vec<PipelineLatency>,
}

#[derive(Serialize)]
struct ModelLatency {
    model: String,
    latency: Latency,
}

#[derive(Serialize)]
struct PipelineLatency {
    image: String,
    total: Latency,
    decode: Latency,
    detect: Latency,
    align: Latency,
    embed: Latency,
}

fn time_model(path: &Path, warmup: usize, runs: usize) -> anyhow::Result<Option<ModelLatency>> {
    let mut model = Model::load(path)?;
    let Some((w, h)) = model.image_size() else {
        return Ok(None);
    };
    let mut img = RgbImage::new(w, h);
    for (i, v) in img.data.iter_mut().enumerate() {
        *v = (i * 31 % 251) as u8;
    }
    let latency = measure(warmup, runs, || model.run_image(&img).map(|_| ()))?;
    Ok(Some(ModelLatency {
        model: path.display().to_string(),
        latency,
    }))
}

fn time_pipeline(
    pipeline: &mut FacePipeline,
    path: &Path,
    warmup: usize,
    runs: usize,
) -> anyhow::Result<PipelineLatency> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    image::decode(&bytes).with_context(|| format!("decoding {}", path.display()))?;
    let decode = measure(warmup, runs, || image::decode(&bytes).map(|_| ()))?;
    let mut embedding = Vec::new();
    let mut stages: [Vec<Duration>; 3] = Default::default();
    let total = measure(warmup, runs, || -> anyhow::Result<()> {
        let img = image::decode(&bytes)?;
        let r = pipeline.process(&img, &mut embedding)?;
        for (s, t) in stages
            .iter_mut()
            .zip([r.times.detect, r.times.align, r.times.embed])
        {
            s.push(t);
        }
        Ok(())
    })?;
    let [detect, align, embed] = stages.map(|mut s| Latency::from_samples(&mut s[warmup..]));
    Ok(PipelineLatency {
        image: path.display().to_string(),
        total,
        decode,
        detect,
        align,
        embed,
    })
}

/// Runs `bench`.
pub fn run(models: &Path, args: BenchArgs) -> anyhow::Result<()> {
    let files = if args.model_files.is_empty() {
        vec![models.join("MobileFaceNet.onnx")]
    } else {
        args.model_files.clone()
    };
    let mut timed = Vec::new();
    for f in &files {
        timed.extend(time_model(f, args.warmup, args.runs)?);
    }
    let mut rows = Vec::new();
    if !args.images.is_empty() {
        let mut pipeline = FacePipeline::load(models, MtcnnConfig::default())?;
        for path in &args.images {
            rows.push(time_pipeline(&mut pipeline, path, args.warmup, args.runs)?);
        }
    }
    let report = BenchReport {
        models: timed,
        pipeline: rows,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "single thread, {} runs after {} warm-up",
        args.runs, args.warmup
    );
    println!("| what | p50 ms | p90 ms | p99 ms | min ms |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, l: &Latency| {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} |",
            l.p50_ms, l.p90_ms, l.p99_ms, l.min_ms
        )
    };
    for m in &report.models {
        row(&m.model, &m.latency);
    }
    for p in &report.pipeline {
        for (stage, l) in [
            ("decode", &p.decode),
            ("detect", &p.detect),
            ("align", &p.align),
            ("embed", &p.embed),
            ("whole pipeline", &p.total),
        ] {
            row(&format!("{}: {stage}", p.image), l);
        }
    }
    Ok(())
}
