//! `siamedge-train`: train a Siamese encoder, evaluate it one-shot, export it
//! as ONNX with its manifest.

mod distill_cmd;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use siamedge_models::checkpoint::{self, CheckpointMeta};
use siamedge_models::data::augment::Augment;
use siamedge_models::data::{folder, idx, ImageSet, Preprocess};
use siamedge_models::device::Compute;
use siamedge_models::eval;
use siamedge_models::export::{self, ExportInfo};
use siamedge_models::loss::margin::MarginKind;
use siamedge_models::mine::Miner;
use siamedge_models::net::{EncoderConfig, Layout};
use siamedge_models::train::{self, Objective, TrainConfig};

/// Train, evaluate and export Siamese encoders for siamedge.
#[derive(Parser)]
#[command(name = "siamedge-train", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train an encoder on P x K batches and save a checkpoint (X.bpk + X.json).
    Train(TrainArgs),
    /// Evaluate a checkpoint: Omniglot one-shot runs, N-way K-shot episodes, recall@K.
    Eval(EvalArgs),
    /// Export a checkpoint's encoder to ONNX with its manifest, and check it through the runtime.
    Export(ExportArgs),
    /// Train a student ONNX encoder (e.g. a pruned one) to reproduce a teacher's
    /// embeddings on aligned LFW faces, and write it with recalibrated thresholds.
    Distill(distill_cmd::DistillArgs),
}

/// Where the images come from.
#[derive(Args, Clone)]
struct DataArgs {
    /// Image-folder roots (repeat or comma-separate); classes are folders `--depth` levels down.
    #[arg(long, value_delimiter = ',')]
    data: Vec<PathBuf>,
    /// Folder levels from a root to a class folder: 1 for root/class/*.png, 2 for Omniglot's alphabet/character.
    #[arg(long, default_value_t = 1)]
    depth: usize,
    /// IDX image file (Fashion-MNIST), instead of --data.
    #[arg(long, requires = "idx_labels")]
    idx_images: Option<PathBuf>,
    /// IDX label file that goes with --idx-images.
    #[arg(long)]
    idx_labels: Option<PathBuf>,
    /// Keep only these IDX labels, e.g. 0,1,2,3,4.
    #[arg(long, value_delimiter = ',')]
    classes: Vec<usize>,
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Checkpoint stem to write (X.bpk and X.json).
    #[arg(long)]
    out: PathBuf,
    /// cpu (burn flex) or gpu (burn wgpu).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// mobilenetv2 or mobilefacenet.
    #[arg(long, default_value = "mobilenetv2")]
    arch: String,
    /// Width multiplier.
    #[arg(long, default_value_t = 0.5)]
    width: f32,
    /// Embedding dimension.
    #[arg(long, default_value_t = 64)]
    dim: usize,
    /// Square input side in pixels.
    #[arg(long, default_value_t = 28)]
    size: usize,
    /// Stride of the first convolution.
    #[arg(long, default_value_t = 1)]
    stem_stride: usize,
    /// Colour input instead of grey.
    #[arg(long)]
    rgb: bool,
    /// Dark ink on a light background (Omniglot): invert so that the background is 0.
    #[arg(long)]
    dark_on_light: bool,
    /// Unshared branches (pseudo-Siamese).
    #[arg(long)]
    pseudo: bool,
    /// contrastive, triplet, quadruplet, koch, arcface, cosface or proto (prototypical).
    #[arg(long, default_value = "triplet")]
    loss: String,
    /// batch-all, batch-hard or semi-hard (triplet loss).
    #[arg(long, default_value = "batch-hard")]
    miner: String,
    /// Margin (contrastive, triplet, first quadruplet margin, ArcFace/CosFace margin).
    #[arg(long, default_value_t = 0.2)]
    margin: f32,
    /// Second quadruplet margin.
    #[arg(long, default_value_t = 0.1)]
    margin2: f32,
    /// Logit scale of ArcFace/CosFace, and of the prototypical loss's squared distances.
    #[arg(long, default_value_t = 30.0)]
    scale: f32,
    /// Squared distances in the triplet loss.
    #[arg(long)]
    squared: bool,
    /// Classes per batch.
    #[arg(long, default_value_t = 16)]
    p: usize,
    /// Items per class per batch.
    #[arg(long, default_value_t = 4)]
    k: usize,
    /// Optimiser steps (the most, with --time-budget).
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Stop after this many seconds of training; the learning-rate schedule
    /// follows the clock (or the steps, whichever is further along).
    #[arg(long)]
    time_budget: Option<f64>,
    /// Peak learning rate (Adam, cosine decay).
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Share (0 to 1) of the batches whose P classes all come from one
    /// group: the folder above the class (an Omniglot alphabet, with --depth 2)
    /// at one rotation. Such batches hold look-alike classes, as an Omniglot
    /// test run does (its 20 characters share an alphabet); a group with
    /// fewer than P classes is topped up with others.
    #[arg(long, default_value_t = 0.0)]
    group_batches: f32,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// No augmentation.
    #[arg(long)]
    no_augment: bool,
    /// Random left-right flips (faces; not for characters).
    #[arg(long)]
    flip: bool,
    /// Add every class rotated by 90, 180 and 270 degrees as new classes (characters).
    #[arg(long)]
    rotate_classes: bool,
    /// Log every this many steps.
    #[arg(long, default_value_t = 50)]
    log_every: usize,
    /// After training, evaluate on these Omniglot runs (runs/runNN).
    #[arg(long)]
    eval_runs: Option<PathBuf>,
    /// Continue from this checkpoint stem (X for X.bpk + X.json): its weights,
    /// architecture and preprocessing replace --arch, --width, --dim, --size,
    /// --stem-stride, --rgb, --dark-on-light and --pseudo. The optimiser and
    /// the learning-rate schedule start afresh (consider a lower --lr); the
    /// new checkpoint's time and command include the earlier run's.
    #[arg(long)]
    init: Option<PathBuf>,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("model").required(true).args(["checkpoint", "onnx"])))]
struct EvalArgs {
    /// Checkpoint stem (X for X.bpk + X.json).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// An exported (or quantized) ONNX encoder with its manifest, run in the
    /// siamedge runtime instead of burn (Omniglot runs only).
    #[arg(long, requires = "omniglot_runs")]
    onnx: Option<PathBuf>,
    /// cpu or gpu.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Omniglot one-shot runs folder (holding run01..run10).
    #[arg(long)]
    omniglot_runs: Option<PathBuf>,
    /// A labelled set for episodes and recall@K.
    #[command(flatten)]
    data: DataArgs,
    /// Number of N-way K-shot episodes on --data.
    #[arg(long, default_value_t = 0)]
    episodes: usize,
    /// Classes per episode.
    #[arg(long, default_value_t = 20)]
    n_way: usize,
    /// Support items per class.
    #[arg(long, default_value_t = 1)]
    k_shot: usize,
    /// Recall@K values on --data, e.g. 1,5.
    #[arg(long, value_delimiter = ',')]
    recall: Vec<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ExportArgs {
    /// Checkpoint stem (X for X.bpk + X.json).
    #[arg(long)]
    checkpoint: PathBuf,
    /// ONNX file to write; the manifest goes beside it (X.toml).
    #[arg(long)]
    out: PathBuf,
    /// Branch to export (0: anchor side; 1: the compared side of a pseudo-Siamese net).
    #[arg(long, default_value_t = 0)]
    branch: usize,
    /// Image to compare the runtime's embedding with the trainer's (default: a synthetic pattern).
    #[arg(long)]
    check_image: Option<PathBuf>,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Train(a) => run_train(a),
        Command::Eval(a) => run_eval(a),
        Command::Export(a) => run_export(a),
        Command::Distill(a) => distill_cmd::run(a),
    }
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn load_data(d: &DataArgs, prep: &Preprocess) -> Result<(ImageSet, String)> {
    if let (Some(images), Some(labels)) = (&d.idx_images, &d.idx_labels) {
        let mut set = idx::load_idx(images, labels, prep)?;
        if !d.classes.is_empty() {
            set = set.select_classes(&d.classes);
        }
        let what = format!(
            "{} + {} (classes {:?})",
            images.display(),
            labels.display(),
            d.classes
        );
        return Ok((set, what));
    }
    if d.data.is_empty() {
        bail!("no data: give --data ROOT[,ROOT] or --idx-images/--idx-labels");
    }
    let mut set = ImageSet::default();
    let mut repeated = 0;
    for root in &d.data {
        repeated += set.extend(
            folder::load_folder(root, d.depth, prep)
                .with_context(|| format!("loading {}", root.display()))?,
        );
    }
    let mut what = d
        .data
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    if repeated > 0 {
        what += &format!(
            " ({repeated} images left out: already in a class of the same name from an earlier root)"
        );
    }
    Ok((set, what))
}

/// This trainer's crate version and the git commit it was built from.
fn trainer_version() -> String {
    format!(
        "siamedge-models {} at git {}",
        env!("CARGO_PKG_VERSION"),
        env!("SIAMEDGE_TRAINER_COMMIT")
    )
}

fn hardware(compute: Compute) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    match compute {
        Compute::Cpu => format!("burn flex on CPU: {cpu}, {threads} threads available"),
        Compute::Gpu => format!("burn wgpu (default adapter); host CPU {cpu}, {threads} threads"),
    }
}

fn objective(a: &TrainArgs) -> Result<Objective> {
    Ok(match a.loss.as_str() {
        "contrastive" => Objective::Contrastive { margin: a.margin },
        "triplet" => Objective::Triplet {
            margin: a.margin,
            squared: a.squared,
            miner: a.miner.parse::<Miner>().map_err(anyhow::Error::msg)?,
        },
        "quadruplet" => Objective::Quadruplet {
            margin1: a.margin,
            margin2: a.margin2,
        },
        "koch" => Objective::Koch,
        "arcface" => Objective::Margin(MarginKind::ArcFace {
            scale: a.scale,
            margin: a.margin,
        }),
        "cosface" => Objective::Margin(MarginKind::CosFace {
            scale: a.scale,
            margin: a.margin,
        }),
        "proto" => Objective::Prototypical { scale: a.scale },
        other => bail!(
            "loss {other:?}: expected contrastive, triplet, quadruplet, koch, arcface, cosface or proto"
        ),
    })
}

fn run_train(a: TrainArgs) -> Result<()> {
    let compute: Compute = a.device.parse()?;
    let device = compute.device()?;
    if a.init.as_ref() == Some(&a.out) {
        bail!(
            "--out {} is the --init checkpoint: choose a new stem so that the checkpoint you start from is kept",
            a.out.display()
        );
    }
    let init = a
        .init
        .as_deref()
        .map(|stem| checkpoint::load(stem, &device))
        .transpose()?;
    let prep = match &init {
        Some((_, meta)) => meta.preprocess.into(),
        None => Preprocess {
            size: a.size,
            grey: !a.rgb,
            dark_on_light: a.dark_on_light,
        },
    };
    let (mut data, what) = load_data(&a.data, &prep)?;
    if a.rotate_classes {
        data = data.with_rotated_classes();
    }
    eprintln!(
        "data: {} images of {} classes from {what}",
        data.len(),
        data.classes.len()
    );
    let augment = if a.no_augment {
        Augment::NONE
    } else {
        Augment {
            rotate_deg: 10.0,
            scale: 0.1,
            shear: 0.15,
            translate: 0.08,
            brightness: 0.0,
            contrast: 0.0,
            flip: a.flip,
            light_background: prep.dark_on_light,
        }
    };
    let (encoder, pseudo) = match &init {
        Some((_, meta)) => (meta.encoder.clone(), meta.pseudo),
        None => (
            EncoderConfig {
                layout: a.arch.parse::<Layout>().map_err(anyhow::Error::msg)?,
                width: a.width,
                embedding_dim: a.dim,
                input_size: a.size,
                in_channels: prep.channels(),
                stem_stride: a.stem_stride,
            },
            a.pseudo,
        ),
    };
    let config = TrainConfig {
        encoder,
        pseudo,
        objective: objective(&a)?,
        p: a.p,
        k: a.k,
        steps: a.steps,
        time_budget: a.time_budget.map(std::time::Duration::from_secs_f64),
        lr: a.lr,
        group_batches: a.group_batches,
        seed: a.seed,
        augment,
        log_every: a.log_every.max(1),
        progress: true,
    };
    let hw = hardware(compute);
    eprintln!("training on {hw}");
    let start = Instant::now();
    let (trained, earlier) = match init {
        Some((net, meta)) => (
            train::train_from(&config, net, &data, &prep, &device)?,
            Some(meta),
        ),
        None => (train::train(&config, &data, &prep, &device)?, None),
    };
    let seconds = start.elapsed().as_secs_f64();
    let meta = CheckpointMeta {
        encoder: config.encoder.clone(),
        pseudo: config.pseudo,
        preprocess: prep.into(),
        command: match &earlier {
            Some(e) => format!("{}\n{}", e.command, command_line()),
            None => command_line(),
        },
        data: earlier
            .iter()
            .flat_map(|e| e.data.iter().cloned())
            .chain(a.data.data.iter().map(|p| p.display().to_string()))
            .chain(a.data.idx_images.iter().map(|p| p.display().to_string()))
            .fold(Vec::new(), |mut all, d| {
                if !all.contains(&d) {
                    all.push(d);
                }
                all
            }),
        train_seconds: seconds + earlier.as_ref().map_or(0.0, |e| e.train_seconds),
        hardware: match &earlier {
            Some(e) if e.hardware != hw => format!("{}, then {hw}", e.hardware),
            _ => hw.clone(),
        },
        trainer: match &earlier {
            Some(e) if !e.trainer.is_empty() && e.trainer != trainer_version() => {
                format!("{}, then {}", e.trainer, trainer_version())
            }
            _ => trainer_version(),
        },
    };
    checkpoint::save(trained.net, &meta, &a.out)?;
    println!(
        "trained {} steps in {seconds:.1} s on {hw}; checkpoint {}",
        trained.steps,
        a.out.display()
    );
    if let Some(stem) = &a.init {
        println!(
            "continued from {}: {:.1} s of training in all",
            stem.display(),
            meta.train_seconds
        );
    }
    if let Some(runs) = &a.eval_runs {
        let (net, meta) = checkpoint::load(&a.out, &device)?;
        let results = eval::omniglot_runs(net.branch(0), &meta.preprocess.into(), runs, &device)?;
        print_runs(&results);
    }
    Ok(())
}

fn print_runs(results: &[eval::RunResult]) -> f64 {
    for r in results {
        println!(
            "{}: {}/{} = {:.1}%",
            r.run,
            r.correct,
            r.total,
            100.0 * r.correct as f64 / r.total as f64
        );
    }
    let mean = results
        .iter()
        .map(|r| r.correct as f64 / r.total as f64)
        .sum::<f64>()
        / results.len() as f64;
    println!(
        "Omniglot 20-way one-shot, mean over {} runs: {:.2}%",
        results.len(),
        100.0 * mean
    );
    mean
}

fn run_eval_onnx(onnx: &Path, runs: &Path, json: bool) -> Result<()> {
    let mut model = siamedge::model::Model::load(onnx)?;
    let spec = model.manifest().input.clone();
    let prep = Preprocess {
        size: spec.shape[2],
        grey: spec.color == siamedge::model::ColorOrder::Grey,
        dark_on_light: spec.scale < 0.0,
    };
    let dim = model.manifest().embedding_dim.unwrap_or(0);
    let engine = model.network().engine_name();
    let results = eval::omniglot_runs_with(&prep, runs, dim, &mut |images| {
        let mut all = Vec::with_capacity(images.len() * dim);
        for img in images {
            let mut e = model.run_image(img)?.values(0).to_vec();
            siamedge::distance::l2_normalize(&mut e);
            all.extend(e);
        }
        Ok(all)
    })?;
    let mean = results
        .iter()
        .map(|r| r.correct as f64 / r.total as f64)
        .sum::<f64>()
        / results.len() as f64;
    if json {
        let report = json!({
            "onnx": onnx.display().to_string(),
            "engine": engine,
            "omniglot_runs": { "runs": results, "mean_accuracy": mean },
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{} in the siamedge runtime ({engine})", onnx.display());
        print_runs(&results);
    }
    Ok(())
}

fn run_eval(a: EvalArgs) -> Result<()> {
    if let Some(onnx) = &a.onnx {
        let runs = a
            .omniglot_runs
            .as_deref()
            .expect("clap requires --omniglot-runs");
        return run_eval_onnx(onnx, runs, a.json);
    }
    let compute: Compute = a.device.parse()?;
    let device = compute.device()?;
    let checkpoint = a
        .checkpoint
        .clone()
        .expect("clap requires --checkpoint or --onnx");
    let (net, meta) = checkpoint::load(&checkpoint, &device)?;
    let prep: Preprocess = meta.preprocess.into();
    let encoder = net.branch(0);
    let mut report = json!({
        "checkpoint": checkpoint.display().to_string(),
        "trained_by": meta.command,
        "train_seconds": meta.train_seconds,
        "hardware": meta.hardware,
    });
    if let Some(runs) = &a.omniglot_runs {
        let results = eval::omniglot_runs(encoder, &prep, runs, &device)?;
        let mean = if a.json {
            results
                .iter()
                .map(|r| r.correct as f64 / r.total as f64)
                .sum::<f64>()
                / results.len() as f64
        } else {
            print_runs(&results)
        };
        report["omniglot_runs"] = json!({ "runs": results, "mean_accuracy": mean });
    }
    if !a.data.data.is_empty() || a.data.idx_images.is_some() {
        let (set, what) = load_data(&a.data, &prep)?;
        let emb = eval::embed_set(encoder, &prep, &set, &device);
        let dim = meta.encoder.embedding_dim;
        report["data"] = json!(what);
        if a.episodes > 0 {
            let spec = eval::EpisodeSpec {
                n_way: a.n_way,
                k_shot: a.k_shot,
                queries: 1,
                count: a.episodes,
                seed: 1,
            };
            let acc = eval::episodes(&emb, &set.labels, dim, &spec)?;
            if !a.json {
                println!(
                    "{}-way {}-shot over {} episodes on {what}: {:.2}%",
                    a.n_way,
                    a.k_shot,
                    a.episodes,
                    100.0 * acc
                );
            }
            report["episodes"] = json!({ "n_way": a.n_way, "k_shot": a.k_shot, "count": a.episodes, "accuracy": acc });
        }
        for &k in &a.recall {
            let r = eval::recall_at_k(&emb, &set.labels, dim, k);
            if !a.json {
                println!("recall@{k} on {what}: {:.2}%", 100.0 * r);
            }
            report[format!("recall@{k}")] = json!(r);
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

fn run_export(a: ExportArgs) -> Result<()> {
    let device = Compute::Cpu.device()?;
    let (net, meta) = checkpoint::load(&a.checkpoint, &device)?;
    if a.branch >= net.branches.len() {
        bail!(
            "branch {} does not exist: the net has {}",
            a.branch,
            net.branches.len()
        );
    }
    let prep: Preprocess = meta.preprocess.into();
    let (weights, _) = checkpoint::paths(&a.checkpoint);
    let weight_bytes =
        std::fs::read(&weights).with_context(|| format!("reading {}", weights.display()))?;
    let info = ExportInfo {
        train_command: meta.command.clone(),
        data: meta.data.join(" + "),
        trainer: if meta.trainer.is_empty() {
            format!(
                "siamedge-models {} (commit not recorded)",
                env!("CARGO_PKG_VERSION")
            )
        } else {
            meta.trainer.clone()
        },
        trained_on: format!("{:.0} s on {}", meta.train_seconds, meta.hardware),
        export_command: command_line(),
        weights_sha256: siamedge::model::sha256_hex(&weight_bytes),
    };
    let encoder = net.branch(a.branch);
    let manifest = export::export(encoder, &prep, &a.out, &info)?;
    let image = match &a.check_image {
        Some(p) => prep.fit(&siamedge::image::load(p)?, &mut Default::default()),
        None => export::check_pattern(prep.size),
    };
    let cos = export::runtime_cosine(encoder, &prep, &image, &a.out)?;
    println!(
        "wrote {} (sha256 {}) and {}; runtime vs trainer embedding cosine {cos:.7}",
        a.out.display(),
        manifest.sha256,
        siamedge::model::Manifest::path_for(&a.out).display()
    );
    if cos < 0.9999 {
        bail!("the runtime's embedding differs from the trainer's (cosine {cos} < 0.9999)");
    }
    Ok(())
}
