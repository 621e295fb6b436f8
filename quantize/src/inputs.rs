//! Where calibration and comparison inputs come from, shared by `quantize`
//! and `prune`: aligned LFW faces cut by the runtime (face encoders, with a
//! labelled set to calibrate thresholds on) or images from folders.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use siamedge::config::ModelVariant;
use siamedge::eval::lfw::{read_pairs, LfwPair};
use siamedge::eval::spread;
use siamedge::eval::{face_crops, FaceCrop, FaceModels};
use siamedge::eval::{thresholds_for, unpaired_images};
use siamedge::face::MtcnnConfig;
use siamedge::model::{Distance, Manifest, Threshold};
use siamedge_quantize::quant::embed_all;
use siamedge_quantize::quant::faces::to_inputs;
use siamedge_quantize::quant::images::{image_inputs, list_images};

/// Calibration and comparison data.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["lfw", "images"])))]
pub struct InputArgs {
    /// LFW folder (pairs.txt + images/), for face encoders: calibration uses
    /// aligned faces of the people in no pair, the fp32 comparison uses
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
    /// Inputs used for calibration.
    #[arg(long, default_value_t = 256)]
    calibration_images: usize,
    /// Held-out inputs on which the new and the fp32 embeddings are compared.
    #[arg(long, default_value_t = 1000)]
    eval_images: usize,
    /// Worker threads for face detection.
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    threads: usize,
}

impl InputArgs {
    /// The inputs for the model at `model` (whose manifest is `manifest`).
    pub fn load(&self, model: &Path, manifest: &Manifest) -> Result<Data> {
        match &self.lfw {
            Some(lfw) => lfw_data(self, model, lfw, manifest),
            None => folder_data(self, manifest),
        }
    }
}

/// A progress bar for `len` steps of `what`.
pub fn progress(what: &str, len: usize) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} {{pos}}/{{len}} [{{elapsed_precise}}, eta {{eta}}] {{wide_bar}}"
        ))
        .expect("valid template"),
    );
    bar
}

/// The folder of the face detector: `explicit`, else the model's own folder.
pub fn detector_dir(explicit: Option<&Path>, model: &Path) -> PathBuf {
    explicit
        .or_else(|| model.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The images of the LFW pairs, each once, sorted.
pub fn pair_images(pairs: &[LfwPair]) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = pairs
        .iter()
        .flat_map(|p| [p.a.clone(), p.b.clone()])
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The runtime's face crop of each image, with a progress bar saying `what`.
pub fn crops(
    detector: &Path,
    paths: &[PathBuf],
    threads: usize,
    what: &str,
) -> Result<Vec<FaceCrop>> {
    let b = progress(what, paths.len());
    let models = FaceModels {
        dir: detector,
        variant: ModelVariant::Fp32,
        detector: MtcnnConfig::default(),
    };
    let crops = face_crops(models, paths, threads, &|| b.inc(1)).with_context(|| {
        format!(
            "cutting face crops with the models in {}",
            detector.display()
        )
    })?;
    b.finish_and_clear();
    Ok(crops)
}

/// Calibration and evaluation inputs, and the labelled set thresholds are calibrated on.
pub struct Data {
    /// Calibration inputs.
    pub calibration: Vec<Vec<f32>>,
    /// Held-out inputs for the fp32 comparison.
    pub evaluation: Vec<Vec<f32>>,
    /// Labels and inputs of the threshold calibration set (faces only).
    threshold_set: Option<(Vec<usize>, Vec<Vec<f32>>)>,
    /// What the calibration inputs are, in words.
    pub described: String,
}

impl Data {
    /// Thresholds of the model in `bytes` at the manifest's false-accept
    /// rates (1e-2, 1e-3, 1e-4 when it names none), and what they were
    /// calibrated on; none without a threshold set.
    pub fn thresholds(
        &self,
        bytes: &[u8],
        manifest: &Manifest,
    ) -> Result<(Vec<Threshold>, String)> {
        let shape = &manifest.input.shape;
        Ok(match &self.threshold_set {
            Some((labels, inputs)) => {
                let embedded = embed_all(bytes, inputs, shape)?;
                let refs: Vec<&[f32]> = embedded.iter().map(Vec::as_slice).collect();
                let distance = manifest.distance.unwrap_or(Distance::Cosine);
                let fars: Vec<f64> = manifest.thresholds.iter().map(|t| t.far).collect();
                let fars = if fars.is_empty() {
                    vec![1e-2, 1e-3, 1e-4]
                } else {
                    fars
                };
                let scored = thresholds_for(labels, &refs, distance, &fars);
                let on = format!(
                    "LFW people in no View-2 pair: {} people, {} images, {} impostor and {} genuine pairs (siamedge-quantize)",
                    labels.last().map_or(0, |l| l + 1),
                    labels.len(),
                    scored.impostor_pairs,
                    scored.genuine_pairs
                );
                (scored.thresholds, on)
            }
            None => (Vec::new(), String::new()),
        })
    }
}

fn lfw_data(a: &InputArgs, model: &Path, lfw: &Path, manifest: &Manifest) -> Result<Data> {
    let detector = detector_dir(a.detector.as_deref(), model);
    let unpaired = unpaired_images(lfw).with_context(|| format!("listing {}", lfw.display()))?;
    let paths: Vec<PathBuf> = unpaired.iter().map(|(_, p)| p.clone()).collect();
    let unpaired_crops = crops(&detector, &paths, a.threads, "cutting calibration faces")?;
    let detected: Vec<&FaceCrop> = unpaired_crops.iter().filter(|c| c.detected).collect();
    let calibration = to_inputs(
        &manifest.input,
        spread(&detected, a.calibration_images)
            .into_iter()
            .map(|c| &c.image),
    );
    let pair_paths = pair_images(&read_pairs(lfw)?);
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

fn folder_data(a: &InputArgs, manifest: &Manifest) -> Result<Data> {
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
