//! `siamedge-quantize quantize`: static int8 quantization of an encoder,
//! calibrated on aligned LFW faces (face encoders, whose thresholds are then
//! calibrated for the new file) or on images from folders, checked against
//! the fp32 model and written with its manifest.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use siamedge::model::Threshold;
use siamedge_quantize::quant::range::Method;

use crate::inputs::{progress, InputArgs};
use crate::model_io::{derived_manifest, read_model, write_model};
use siamedge_quantize::quant::{
    cosine_stats, embed_all, quantize, CosineStats, QuantizeOptions, QuantizeSummary,
};

/// Arguments of `quantize`.
#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// The fp32 ONNX encoder (its manifest X.toml beside it gives the input).
    input: PathBuf,
    /// The QDQ ONNX file to write (its manifest goes beside it).
    output: PathBuf,
    /// Calibration and comparison data.
    #[command(flatten)]
    data: InputArgs,
    /// Activation calibration: minmax, percentile (99.99), percentile:P, mse or entropy.
    #[arg(long, default_value = "mse")]
    method: Method,
    /// Skip cross-layer equalisation.
    #[arg(long)]
    no_equalise: bool,
    /// Skip bias correction.
    #[arg(long)]
    no_bias_correction: bool,
    /// Keep the N convolutions most sensitive to int8 in float (measured per layer).
    #[arg(long, default_value_t = 0)]
    keep_float: usize,
    /// Calibration faces used to measure each layer's sensitivity.
    #[arg(long, default_value_t = 32)]
    sensitivity_images: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// What `quantize` did and measured.
#[derive(Debug, Serialize)]
struct QuantizeReport {
    input: String,
    output: String,
    output_bytes: usize,
    output_sha256: String,
    recipe: QuantizeSummary,
    cosine_vs_fp32: CosineStats,
    thresholds: Vec<Threshold>,
    thresholds_calibrated_on: String,
    seconds: f64,
}

/// Runs `quantize`.
pub fn run(a: QuantizeArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let (fp32, manifest) = read_model(&a.input)?;
    let shape = manifest.input.shape.clone();
    if shape.contains(&0) {
        bail!(
            "{}: the input shape {shape:?} must be fixed to quantize",
            a.input.display()
        );
    }
    let options = QuantizeOptions {
        method: a.method,
        equalise: !a.no_equalise,
        bias_correction: !a.no_bias_correction,
        keep_float: a.keep_float,
        sensitivity_inputs: a.sensitivity_images,
    };
    let data = a.data.load(&a.input, &manifest)?;
    if data.calibration.len() < 8 {
        bail!("only {} calibration inputs found", data.calibration.len());
    }
    let steps = 2 * data.calibration.len() + if a.keep_float > 0 { 64 } else { 0 };
    let b = progress("calibrating", steps);
    let (bytes, recipe) = quantize(&fp32, &data.calibration, &shape, &options, &|| b.inc(1))
        .with_context(|| format!("quantizing {}", a.input.display()))?;
    b.finish_and_clear();
    let cosine = cosine_stats(
        &embed_all(&fp32, &data.evaluation, &shape)?,
        &embed_all(&bytes, &data.evaluation, &shape)?,
    );
    let (thresholds, calibrated_on) = data.thresholds(&bytes, &manifest)?;

    let mut out_manifest =
        derived_manifest(&manifest, &bytes, thresholds.clone(), calibrated_on.clone());
    out_manifest.transform.quantization = format!(
        "static int8 QDQ: per-channel symmetric weights, per-tensor asymmetric activations ({}), {}{}{} float convolutions",
        recipe.method,
        if options.equalise { "cross-layer equalisation, " } else { "" },
        if options.bias_correction { "bias correction, " } else { "" },
        recipe.float_convs
    );
    out_manifest.transform.calibration =
        format!("{} {}", recipe.calibration_inputs, data.described);
    write_model(&a.output, &bytes, &out_manifest)?;

    let report = QuantizeReport {
        input: a.input.display().to_string(),
        output: a.output.display().to_string(),
        output_bytes: bytes.len(),
        output_sha256: out_manifest.sha256.clone(),
        recipe,
        cosine_vs_fp32: cosine,
        thresholds,
        thresholds_calibrated_on: calibrated_on,
        seconds: started.elapsed().as_secs_f64(),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(r: &QuantizeReport) {
    let q = &r.recipe;
    println!(
        "quantized {} -> {} ({} bytes)",
        r.input, r.output, r.output_bytes
    );
    println!(
        "  recipe   {}; {} convolutions int8, {} float; {} activations int8; {} pairs equalised; {} calibration inputs",
        q.method, q.int8_convs, q.float_convs, q.int8_activations, q.equalised_pairs, q.calibration_inputs
    );
    println!(
        "  cosine to fp32 over {} held-out inputs: mean {:.4}, min {:.4}",
        r.cosine_vs_fp32.count, r.cosine_vs_fp32.mean, r.cosine_vs_fp32.min
    );
    for s in q.sensitivity.iter().filter(|s| s.kept_float) {
        println!(
            "  kept float: {} (alone in int8: cosine {:.4})",
            s.layer, s.cosine
        );
    }
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
