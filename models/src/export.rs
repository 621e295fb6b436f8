//! Export: the encoder as ONNX (burn-onnx) plus the manifest `X.toml` the
//! runtime loads with `siamedge::model::Model::load`.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use burn_onnx::export::OnnxExporter;
use prost::Message;
use siamedge::image::RgbImage;
use siamedge::model::{
    onnx_proto, sha256_hex, Distance, Manifest, OutputSpec, Provenance, Role, Transform,
};

use crate::data::Preprocess;
use crate::net::Encoder;
use crate::TrainError;

/// What the manifest says about where the model came from.
#[derive(Debug, Clone)]
pub struct ExportInfo {
    /// The training command line.
    pub train_command: String,
    /// The training data.
    pub data: String,
    /// The trainer's version and git commit.
    pub trainer: String,
    /// The machine and device it trained on, and for how long.
    pub trained_on: String,
    /// The export command line.
    pub export_command: String,
    /// sha256 of the checkpoint weights the export was made from.
    pub weights_sha256: String,
}

/// Writes `encoder` (evaluation mode, batch 1) to `onnx_path` and its
/// manifest beside it; returns the manifest.
pub fn export(
    encoder: &Encoder,
    prep: &Preprocess,
    onnx_path: &Path,
    info: &ExportInfo,
) -> Result<Manifest, TrainError> {
    let encoder = encoder.valid();
    let sample = Tensor::<4>::zeros([1, prep.channels(), prep.size, prep.size], &Device::flex());
    let model = OnnxExporter::new()
        .export(&encoder, sample, |m: &Encoder, x| m.forward(x))
        .map_err(|e| TrainError::Export(e.to_string()))?;
    let bytes = model.into_bytes();
    let proto = onnx_proto::ModelProto::decode(&bytes[..])
        .map_err(|e| TrainError::Export(format!("re-reading the written model: {e}")))?;
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| TrainError::Export("the written model has no graph".into()))?;
    let initialisers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let input = graph
        .input
        .iter()
        .find(|i| !initialisers.contains(&i.name.as_str()))
        .ok_or_else(|| TrainError::Export("the written model has no input".into()))?;
    let output = graph
        .output
        .first()
        .ok_or_else(|| TrainError::Export("the written model has no output".into()))?;
    if let Some(dir) = onnx_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    }
    std::fs::write(onnx_path, &bytes).map_err(|e| TrainError::io(onnx_path, e))?;
    let dim = encoder.fc.weight.val().dims()[1];
    let mut spec = prep.input_spec();
    spec.name = input.name.clone();
    let manifest = Manifest {
        role: Role::Embed,
        sha256: sha256_hex(&bytes),
        input: spec,
        outputs: vec![OutputSpec {
            name: output.name.clone(),
            meaning: format!("[1, {dim}] L2-normalised embedding; compare by cosine"),
        }],
        distance: Some(Distance::Cosine),
        embedding_dim: Some(dim),
        thresholds: Vec::new(),
        thresholds_calibrated_on: "not yet calibrated".into(),
        attempt_thresholds: Vec::new(),
        spoof_above: None,
        tracker: None,
        provenance: Provenance {
            package: info.trainer.clone(),
            source_file: format!(
                "trained by `{}` on {}, {}",
                info.train_command, info.data, info.trained_on
            ),
            source_sha256: info.weights_sha256.clone(),
            licence: "trained here; the licence of the training data applies".into(),
        },
        transform: Transform {
            tool: info.export_command.clone(),
            pruning_ratio: 0.0,
            quantization: "none".into(),
            calibration: String::new(),
        },
    };
    manifest.save(&Manifest::path_for(onnx_path))?;
    Ok(manifest)
}

/// A deterministic test pattern of the input size: dark diagonal strokes on white.
pub fn check_pattern(size: usize) -> RgbImage {
    let grey: Vec<u8> = (0..size * size)
        .map(|i| {
            if (i / size + i % size) % 5 == 0 {
                0
            } else {
                255
            }
        })
        .collect();
    RgbImage::from_grey(size, size, &grey)
}

/// Cosine between the trainer's eval-mode embedding of `image` (input size)
/// and the embedding the runtime computes from the exported `onnx` file.
pub fn runtime_cosine(
    encoder: &Encoder,
    prep: &Preprocess,
    image: &RgbImage,
    onnx: &Path,
) -> Result<f32, TrainError> {
    let ours = crate::eval::embed(
        &encoder.valid(),
        prep,
        std::slice::from_ref(image),
        &Device::flex(),
    );
    let mut model = siamedge::model::Model::load(onnx)?;
    let theirs = model.run_image(image)?.values(0).to_vec();
    Ok(siamedge::distance::cosine(&ours, &theirs))
}
