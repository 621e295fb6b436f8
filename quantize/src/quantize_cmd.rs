//! `siamedge-quantize quantize`: static int8 quantization of an encoder,
//! calibrated on aligned LFW faces (face encoders, whose thresholds are then
//! calibrated for the new file) or on images from folders, checked against
//! the fp32 model and written with its manifest.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use siamedge::eval::lfw::read_pairs;
use siamedge::eval::{thresholds_for, unpaired_images};
use siamedge::model::{sha256_hex, Distance, Manifest, Threshold};
use siamedge::store::write_atomic;
use siamedge_quantize::quant::faces::{face_crops, spread, to_inputs, Crop};
use siamedge_quantize::quant::images::{image_inputs, list_images};
use siamedge_quantize::quant::range::Method;
use siamedge_quantize::quant::{
    cosine_stats, embed_all, quantize, CosineStats, QuantizeOptions, QuantizeSummary,
};

/// Arguments of `quantize`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["lfw", "images"])))]
pub struct QuantizeArgs {
    /// The fp32 ONNX encoder (its manifest X.toml beside it gives the input).
    input: PathBuf,
    /// The QDQ ONNX file to write (its manifest goes beside it).
    output: PathBuf,
    /// LFW folder (pairs.txt + images/), for face encoders: calibration uses
    /// aligned faces of the people in no pair, the fp32/int8 comparison uses
    /// images of the pairs, and the new file's thresholds are calibrated.
    #[arg(long)]
    lfw: Option<PathBuf>,
    /// Image folders (any depth, comma-separated), for other encoders:
    /// calibration and comparison use disjoint images from them, resized to
    /// the input; thresholds are not calibrated.
    #[arg(long, value_delimiter = ',')]
    images: Vec<PathBuf>,
    /// Folder with the detector models (pnet/rnet/onet.onnx) and the fp32
    /// MobileFaceNet.onnx that cut the face crops [default: the input's folder].
    #[arg(long)]
    detector: Option<PathBuf>,
    /// Activation calibration: minmax, percentile (99.99), percentile:P, mse or entropy.
    #[arg(long, default_value = "mse")]
    method: Method,
    /// Aligned faces used for calibration.
    #[arg(long, default_value_t = 256)]
    calibration_images: usize,
    /// Images whose fp32 and int8 embeddings are compared.
    #[arg(long, default_value_t = 1000)]
    eval_images: usize,
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
    /// Worker threads for face detection.
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    threads: usize,
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

fn bar(what: &str, len: usize) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} {{pos}}/{{len}} [{{elapsed_precise}}, eta {{eta}}] {{wide_bar}}"
        ))
        .expect("valid template"),
    );
    bar
}

fn crops(detector: &Path, paths: &[PathBuf], threads: usize, what: &str) -> Result<Vec<Crop>> {
    let b = bar(what, paths.len());
    let crops = face_crops(detector, paths, threads, &|| b.inc(1)).with_context(|| {
        format!(
            "cutting face crops with the models in {}",
            detector.display()
        )
    })?;
    b.finish_and_clear();
    Ok(crops)
}

/// Calibration and evaluation inputs, and the labelled set thresholds are calibrated on.
struct Data {
    calibration: Vec<Vec<f32>>,
    evaluation: Vec<Vec<f32>>,
    threshold_set: Option<(Vec<usize>, Vec<Vec<f32>>)>,
    described: String,
}

fn lfw_data(a: &QuantizeArgs, lfw: &Path, manifest: &Manifest) -> Result<Data> {
    let detector = a
        .detector
        .clone()
        .or_else(|| a.input.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let unpaired = unpaired_images(lfw).with_context(|| format!("listing {}", lfw.display()))?;
    let paths: Vec<PathBuf> = unpaired.iter().map(|(_, p)| p.clone()).collect();
    let unpaired_crops = crops(&detector, &paths, a.threads, "cutting calibration faces")?;
    let detected: Vec<&Crop> = unpaired_crops.iter().filter(|c| c.detected).collect();
    let calibration = to_inputs(
        &manifest.input,
        spread(&detected, a.calibration_images)
            .into_iter()
            .map(|c| &c.image),
    );
    let mut pair_paths: Vec<PathBuf> = read_pairs(lfw)?
        .into_iter()
        .flat_map(|p| [p.a, p.b])
        .collect();
    pair_paths.sort();
    pair_paths.dedup();
    let eval_crops = crops(
        &detector,
        &spread(&pair_paths, a.eval_images),
        a.threads,
        "cutting evaluation faces",
    )?;
    let evaluation = to_inputs(
        &manifest.input,
        eval_crops.iter().filter(|c| c.detected).map(|c| &c.image),
    );
    let labels: Vec<usize> = unpaired.iter().map(|(l, _)| *l).collect();
    let all = to_inputs(&manifest.input, unpaired_crops.iter().map(|c| &c.image));
    Ok(Data {
        calibration,
        evaluation,
        threshold_set: Some((labels, all)),
        described: "aligned LFW faces of people in no View-2 pair".into(),
    })
}

fn folder_data(a: &QuantizeArgs, manifest: &Manifest) -> Result<Data> {
    let files = list_images(&a.images)?;
    if files.is_empty() {
        bail!("no images under {:?}", a.images);
    }
    let calibration_files = spread(&files, a.calibration_images);
    let rest: Vec<PathBuf> = files
        .iter()
        .filter(|f| !calibration_files.contains(f))
        .cloned()
        .collect();
    let evaluation_files = spread(&rest, a.eval_images);
    Ok(Data {
        calibration: image_inputs(&calibration_files, &manifest.input)?,
        evaluation: image_inputs(&evaluation_files, &manifest.input)?,
        threshold_set: None,
        described: format!(
            "images from {}",
            a.images
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Runs `quantize`.
pub fn run(a: QuantizeArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let fp32 = std::fs::read(&a.input).with_context(|| format!("reading {}", a.input.display()))?;
    let manifest = Manifest::load_for(&a.input).with_context(|| {
        format!(
            "the input needs its manifest {}",
            Manifest::path_for(&a.input).display()
        )
    })?;
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
    let data = match &a.lfw {
        Some(lfw) => lfw_data(&a, lfw, &manifest)?,
        None => folder_data(&a, &manifest)?,
    };
    if data.calibration.len() < 8 {
        bail!("only {} calibration inputs found", data.calibration.len());
    }
    let steps = 2 * data.calibration.len() + if a.keep_float > 0 { 64 } else { 0 };
    let b = bar("calibrating", steps);
    let (bytes, recipe) = quantize(&fp32, &data.calibration, &shape, &options, &|| b.inc(1))
        .with_context(|| format!("quantizing {}", a.input.display()))?;
    b.finish_and_clear();
    let cosine = cosine_stats(
        &embed_all(&fp32, &data.evaluation, &shape)?,
        &embed_all(&bytes, &data.evaluation, &shape)?,
    );
    let (thresholds, calibrated_on) = match &data.threshold_set {
        Some((labels, inputs)) => {
            let int8 = embed_all(&bytes, inputs, &shape)?;
            let refs: Vec<&[f32]> = int8.iter().map(Vec::as_slice).collect();
            let distance = manifest.distance.unwrap_or(Distance::Cosine);
            let fars: Vec<f64> = manifest.thresholds.iter().map(|t| t.far).collect();
            let fars = if fars.is_empty() {
                vec![1e-2, 1e-3, 1e-4]
            } else {
                fars
            };
            let scored = thresholds_for(labels, &refs, distance, &fars);
            let on = format!(
                "LFW people in no View-2 pair: {} people, {} images, {} impostor and {} genuine pairs (siamedge-quantize quantize)",
                labels.last().map_or(0, |l| l + 1),
                labels.len(),
                scored.impostor_pairs,
                scored.genuine_pairs
            );
            (scored.thresholds, on)
        }
        None => (Vec::new(), String::new()),
    };

    let mut out_manifest = manifest.clone();
    out_manifest.sha256 = sha256_hex(&bytes);
    out_manifest.thresholds = thresholds.clone();
    out_manifest.thresholds_calibrated_on = calibrated_on.clone();
    out_manifest.transform.tool = std::env::args().collect::<Vec<_>>().join(" ");
    out_manifest.transform.quantization = format!(
        "static int8 QDQ: per-channel symmetric weights, per-tensor asymmetric activations ({}), {}{}{} float convolutions",
        recipe.method,
        if options.equalise { "cross-layer equalisation, " } else { "" },
        if options.bias_correction { "bias correction, " } else { "" },
        recipe.float_convs
    );
    out_manifest.transform.calibration =
        format!("{} {}", recipe.calibration_inputs, data.described);
    write_atomic(&a.output, &bytes)?;
    out_manifest.save(&Manifest::path_for(&a.output))?;

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
