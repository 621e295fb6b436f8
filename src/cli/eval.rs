//! `siamedge eval ...`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use siamedge::config::ModelVariant;
use siamedge::eval::{draw_roc, evaluate_lfw, FaceModels, LfwReport};
use siamedge::face::MtcnnConfig;

/// Evaluation protocols.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// LFW verification: k-fold accuracy (threshold picked on the other
    /// folds), ROC AUC, TAR at FAR 1e-2 and 1e-3, detector misses.
    Lfw(LfwArgs),
    /// Face unlock per attempt: galleries of enrolled faces, every image
    /// through the daemon's gate, FAR and FRR at the policy's threshold.
    Unlock(super::unlock_eval::EvalUnlockArgs),
    /// Tracking: OTB one-pass evaluation (success AUC, precision at 20 px,
    /// fps) per sequence and mean, with success and precision plots.
    Otb(super::otb::OtbArgs),
    /// Liveness: the share of real faces the anti-spoofing net calls spoofs
    /// (bona fide rejection), with the daemon's gate.
    Liveness(super::liveness_eval::EvalLivenessArgs),
}

/// Arguments of `eval lfw`.
#[derive(Debug, Args)]
pub struct LfwArgs {
    /// LFW folder holding pairs.txt and images/<Name>/<Name>_NNNN.jpg (e.g. ../shared/data/lfw).
    #[arg(long)]
    data: PathBuf,
    /// Embedding model variant: fp32, int8 or pruned-int8.
    #[arg(long, default_value = "fp32")]
    variant: ModelVariant,
    /// Worker threads (each runs single-threaded inference with its own models).
    #[arg(long, default_value_t = default_threads())]
    threads: usize,
    /// Smallest face to detect, in pixels.
    #[arg(long, default_value_t = 40.0)]
    min_face: f32,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Draw the ROC curve into this PNG file.
    #[arg(long)]
    roc: Option<PathBuf>,
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs an evaluation subcommand.
pub fn run(models: &Path, cmd: EvalCommand) -> anyhow::Result<()> {
    match cmd {
        EvalCommand::Lfw(args) => lfw(models, args),
        EvalCommand::Unlock(args) => super::unlock_eval::eval(models, args),
        EvalCommand::Otb(args) => super::otb::run(models, args),
        EvalCommand::Liveness(args) => super::liveness_eval::eval(models, args),
    }
}

fn lfw(models: &Path, args: LfwArgs) -> anyhow::Result<()> {
    let config = MtcnnConfig {
        min_face: args.min_face,
        ..MtcnnConfig::default()
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} embedding {pos}/{len} images [{elapsed_precise}, eta {eta}] {wide_bar}",
        )
        .expect("valid template"),
    );
    let face_models = FaceModels {
        dir: models,
        variant: args.variant,
        detector: config,
    };
    let (report, curve) = evaluate_lfw(
        face_models,
        &args.data,
        args.threads,
        &|n| bar.set_length(n as u64),
        &|| bar.inc(1),
    )
    .with_context(|| format!("evaluating LFW in {}", args.data.display()))?;
    bar.finish_and_clear();
    if let Some(path) = &args.roc {
        let label = format!(
            "MobileFaceNet {} (AUC {:.4})",
            args.variant.name(),
            report.roc_auc
        );
        draw_roc(path, "LFW verification ROC", &[(label, curve)])?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, args.roc.as_deref());
    }
    Ok(())
}

fn print_report(r: &LfwReport, roc: Option<&Path>) {
    println!(
        "LFW verification: {} pairs, {} images, model {} (sha256 {}…)",
        r.pairs,
        r.images,
        r.model,
        &r.model_sha256[..12]
    );
    println!(
        "  accuracy      {:.2} ± {:.2} %  (folds: {})",
        r.accuracy_mean * 100.0,
        r.accuracy_std * 100.0,
        r.fold_accuracy
            .iter()
            .map(|a| format!("{:.2}", a * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  ROC AUC       {:.4}", r.roc_auc);
    for p in &r.tar_at_far {
        println!(
            "  TAR@FAR={:<6} {:.2} %  (threshold {:.4})",
            format!("{:e}", p.far),
            p.tar * 100.0,
            p.threshold
        );
    }
    println!(
        "  detector missed {} of {} images (centred crop used); {} images had several faces",
        r.detector_misses, r.images, r.multiple_faces
    );
    println!(
        "  median per image: decode {:.2} ms, detect {:.2} ms, align {:.2} ms, embed {:.2} ms",
        r.median_ms.decode, r.median_ms.detect, r.median_ms.align, r.median_ms.embed
    );
    println!("  {:.0} s on {} threads", r.seconds, r.threads);
    if let Some(p) = roc {
        println!("  ROC curve written to {}", p.display());
    }
}
