//! `siamedge-quantize prune`: structured channel pruning of an fp32 encoder
//! with least-squares recovery, checked against the unpruned model and
//! written with its manifest.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use siamedge::model::Threshold;
use siamedge_quantize::prune::{prune, BlockReport, Importance, LayerSparsity, PruneOptions};
use siamedge_quantize::quant::{cosine_stats, embed_all, CosineStats};
use siamedge_quantize::report::{model_facts, ModelFacts};

use crate::inputs::{progress, InputArgs};
use crate::model_io::{derived_manifest, read_model, write_model};

/// Arguments of `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The fp32 ONNX encoder (with its manifest).
    input: PathBuf,
    /// The pruned fp32 ONNX file to write (its manifest goes beside it).
    output: PathBuf,
    /// Fraction of the prunable channels (those between a dense and a
    /// depthwise convolution and the dense one after) to remove.
    #[arg(long, default_value_t = 0.3)]
    ratio: f64,
    /// Rank channels across all blocks instead of removing the same fraction from each.
    #[arg(long)]
    global: bool,
    /// What ranks a block's channels: the L1 norm of their filter in the
    /// block's first convolution, or the |gamma| of the batch norm after it
    /// (for graphs whose batch norms are not folded, like the trainer's
    /// exports; every batch norm after a convolution is folded either way).
    #[arg(long, value_enum, default_value_t = Importance::L1)]
    importance: Importance,
    /// Fraction of the channels of each residual stream (the values that
    /// residual additions join) to remove, from every convolution that writes
    /// into the stream and every one that reads it [default: none].
    #[arg(long, default_value_t = 0.0)]
    residual_ratio: f64,
    /// Fewest channels any block keeps.
    #[arg(long, default_value_t = 8)]
    min_channels: usize,
    /// Skip the least-squares refit of each block's last convolution.
    #[arg(long)]
    no_recovery: bool,
    /// Then zero this fraction of every convolution's weights, smallest
    /// magnitudes first (unstructured; the dense engines do not run faster for it).
    #[arg(long, default_value_t = 0.0)]
    magnitude: f64,
    /// Calibration inputs used for the refit.
    #[arg(long, default_value_t = 64)]
    recovery_images: usize,
    /// Calibration and comparison data.
    #[command(flatten)]
    data: InputArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// What `prune` did and measured.
#[derive(Debug, Serialize)]
struct PruneReport {
    input: String,
    output: String,
    before: ModelFacts,
    after: ModelFacts,
    macs_removed: f64,
    blocks: Vec<BlockReport>,
    magnitude: f64,
    sparsity: Vec<LayerSparsity>,
    recovery_inputs: usize,
    cosine_vs_fp32: CosineStats,
    thresholds: Vec<Threshold>,
    seconds: f64,
}

/// Runs `prune`.
pub fn run(a: PruneArgs) -> Result<()> {
    let started = std::time::Instant::now();
    if !(0.0..1.0).contains(&a.ratio) {
        bail!("--ratio {} must be in 0..1", a.ratio);
    }
    if !(0.0..1.0).contains(&a.residual_ratio) {
        bail!("--residual-ratio {} must be in 0..1", a.residual_ratio);
    }
    if !(0.0..1.0).contains(&a.magnitude) {
        bail!("--magnitude {} must be in 0..1", a.magnitude);
    }
    let (fp32, manifest) = read_model(&a.input)?;
    let shape = manifest.input.shape.clone();
    let data = a.data.load(&a.input, &manifest)?;
    let recovery = if a.no_recovery {
        &[][..]
    } else {
        &data.calibration[..a.recovery_images.min(data.calibration.len())]
    };
    let options = PruneOptions {
        ratio: a.ratio,
        importance: a.importance,
        residual_ratio: a.residual_ratio,
        global: a.global,
        min_channels: a.min_channels,
        magnitude: a.magnitude,
    };
    let b = progress("pruning blocks", 0);
    let pruned = prune(&fp32, &options, recovery, &shape, &|| b.inc(1))
        .with_context(|| format!("pruning {}", a.input.display()))?;
    let (bytes, blocks, sparsity) = (pruned.bytes, pruned.blocks, pruned.sparsity);
    b.finish_and_clear();
    let before = model_facts(&fp32, &shape)?;
    let after = model_facts(&bytes, &shape)?;
    let cosine = cosine_stats(
        &embed_all(&fp32, &data.evaluation, &shape)?,
        &embed_all(&bytes, &data.evaluation, &shape)?,
    );
    let (thresholds, calibrated_on) = data.thresholds(&bytes, &manifest)?;
    let macs_removed = 1.0 - after.conv_macs as f64 / before.conv_macs.max(1) as f64;

    let mut out_manifest = derived_manifest(&manifest, &bytes, thresholds.clone(), calibrated_on);
    out_manifest.transform.pruning_ratio = macs_removed;
    out_manifest.transform.calibration = format!(
        "least-squares recovery on {} {}{}",
        recovery.len(),
        data.described,
        if a.magnitude > 0.0 {
            format!(
                "; {:.0} % of each convolution's weights zeroed by magnitude",
                100.0 * a.magnitude
            )
        } else {
            String::new()
        }
    );
    write_model(&a.output, &bytes, &out_manifest)?;

    let report = PruneReport {
        input: a.input.display().to_string(),
        output: a.output.display().to_string(),
        before,
        after,
        macs_removed,
        blocks,
        magnitude: a.magnitude,
        sparsity,
        recovery_inputs: recovery.len(),
        cosine_vs_fp32: cosine,
        thresholds,
        seconds: started.elapsed().as_secs_f64(),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(r: &PruneReport) {
    println!("pruned {} -> {}", r.input, r.output);
    let kept: usize = r.blocks.iter().map(|b| b.kept).sum();
    let all: usize = r.blocks.iter().map(|b| b.channels).sum();
    println!(
        "  channels {kept} of {all} kept in {} blocks; conv MACs {} -> {} ({:.1} % removed); params {} -> {}; {} -> {} bytes",
        r.blocks.len(),
        r.before.conv_macs,
        r.after.conv_macs,
        100.0 * r.macs_removed,
        r.before.params,
        r.after.params,
        r.before.bytes,
        r.after.bytes
    );
    println!(
        "  weight sparsity {:.1} % overall",
        100.0 * r.after.sparsity
    );
    if r.magnitude > 0.0 {
        println!("  | layer | zero weights | sparsity |\n  |---|---|---|");
        for l in &r.sparsity {
            println!(
                "  | {} | {} of {} | {:.1} % |",
                l.layer,
                l.zeros,
                l.weights,
                100.0 * l.fraction()
            );
        }
    }
    println!(
        "  recovery on {} inputs; cosine to fp32 over {} held-out inputs: mean {:.4}, min {:.4}",
        r.recovery_inputs, r.cosine_vs_fp32.count, r.cosine_vs_fp32.mean, r.cosine_vs_fp32.min
    );
    for t in &r.thresholds {
        println!(
            "  threshold FAR {:e}: {:.4} (TAR {:.2} %)",
            t.far,
            t.value,
            t.tar * 100.0
        );
    }
    println!("  {:.0} s", r.seconds);
}
