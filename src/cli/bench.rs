//! `siamedge bench`: single-thread latency of the embedding model and of the
//! whole per-image face pipeline.

use std::path::{Path, PathBuf};

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
    model: String,
    embed: Latency,
    pipeline: Vec<PipelineLatency>,
}

#[derive(Serialize)]
struct PipelineLatency {
    image: String,
    total: Latency,
    decode: Latency,
    detect_align_embed: Latency,
}

/// Runs `bench`.
pub fn run(models: &Path, args: BenchArgs) -> anyhow::Result<()> {
    let model_path = models.join("MobileFaceNet.onnx");
    let mut model = Model::load(&model_path)?;
    let (w, h) = model
        .image_size()
        .context("the embedding model has a symbolic input size")?;
    let mut face = RgbImage::new(w, h);
    for (i, v) in face.data.iter_mut().enumerate() {
        *v = (i * 31 % 251) as u8;
    }
    let embed = measure(args.warmup, args.runs, || {
        model.run_image(&face).map(|_| ())
    })?;
    let mut pipeline = FacePipeline::load(models, MtcnnConfig::default())?;
    let mut embedding = Vec::new();
    let mut rows = Vec::new();
    for path in &args.images {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let img = image::decode(&bytes).with_context(|| format!("decoding {}", path.display()))?;
        let decode = measure(args.warmup, args.runs, || image::decode(&bytes).map(|_| ()))?;
        let rest = measure(args.warmup, args.runs, || {
            pipeline.process(&img, &mut embedding).map(|_| ())
        })?;
        let total = measure(args.warmup, args.runs, || -> anyhow::Result<()> {
            let img = image::decode(&bytes)?;
            pipeline.process(&img, &mut embedding)?;
            Ok(())
        })?;
        rows.push(PipelineLatency {
            image: path.display().to_string(),
            total,
            decode,
            detect_align_embed: rest,
        });
    }
    let report = BenchReport {
        model: model_path.display().to_string(),
        embed,
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
    row("MobileFaceNet embed (tract)", &report.embed);
    for p in &report.pipeline {
        row(&format!("{}: decode", p.image), &p.decode);
        row(
            &format!("{}: detect+align+embed", p.image),
            &p.detect_align_embed,
        );
        row(&format!("{}: whole pipeline", p.image), &p.total);
    }
    Ok(())
}
