//! Checkpoints: the net's weights (`X.bpk`, burn's burnpack) and what is
//! needed to rebuild and feed it (`X.json`: encoder config, branches,
//! preprocessing, the training command and data).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use siamedge::store::write_atomic;

use crate::data::Preprocess;
use crate::net::{EncoderConfig, SiameseNet};
use crate::TrainError;

/// Preprocessing as stored in a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreprocessMeta {
    /// Square input side.
    pub size: usize,
    /// Grey input.
    pub grey: bool,
    /// Dark ink on a light background.
    pub dark_on_light: bool,
}

impl From<Preprocess> for PreprocessMeta {
    fn from(p: Preprocess) -> PreprocessMeta {
        PreprocessMeta {
            size: p.size,
            grey: p.grey,
            dark_on_light: p.dark_on_light,
        }
    }
}

impl From<PreprocessMeta> for Preprocess {
    fn from(p: PreprocessMeta) -> Preprocess {
        Preprocess {
            size: p.size,
            grey: p.grey,
            dark_on_light: p.dark_on_light,
        }
    }
}

/// The description saved beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// The encoder architecture.
    pub encoder: EncoderConfig,
    /// Unshared branches.
    pub pseudo: bool,
    /// How images are fed.
    pub preprocess: PreprocessMeta,
    /// The command line that trained it (one line per run, earliest first,
    /// when training continued from a checkpoint).
    pub command: String,
    /// The training data (of every run, when training continued from a checkpoint).
    pub data: Vec<String>,
    /// Wall-clock training time in seconds, earlier runs it continued included.
    pub train_seconds: f64,
    /// The device and machine it trained on.
    pub hardware: String,
    /// The trainer that made it: crate version and git commit (of every run,
    /// when training continued from a checkpoint).
    #[serde(default)]
    pub trainer: String,
}

/// The weight and description paths for a checkpoint stem `X`: `X.bpk`, `X.json`.
pub fn paths(stem: &Path) -> (PathBuf, PathBuf) {
    (stem.with_extension("bpk"), stem.with_extension("json"))
}

/// Saves `net` and `meta` under `stem`, each file written atomically with
/// the previous one kept as `NAME.bak`.
pub fn save(net: SiameseNet, meta: &CheckpointMeta, stem: &Path) -> Result<(), TrainError> {
    let (weights, json) = paths(stem);
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    }
    let bytes = net
        .into_record()
        .into_bytes()
        .map_err(|e| TrainError::Checkpoint {
            path: weights.clone(),
            reason: e.to_string(),
        })?;
    write_atomic(&weights, &bytes).map_err(|e| TrainError::io(&weights, e.error))?;
    let text = serde_json::to_string_pretty(meta).expect("metadata serialises");
    write_atomic(&json, text.as_bytes()).map_err(|e| TrainError::io(&json, e.error))
}

/// Loads the checkpoint `stem` onto `device`, in evaluation mode.
pub fn load(stem: &Path, device: &Device) -> Result<(SiameseNet, CheckpointMeta), TrainError> {
    let (weights, json) = paths(stem);
    let text = std::fs::read_to_string(&json).map_err(|e| TrainError::io(&json, e))?;
    let meta: CheckpointMeta = serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
        path: json.clone(),
        reason: e.to_string(),
    })?;
    let net = SiameseNet::new(&meta.encoder, meta.pseudo, device)?
        .try_load_file(&weights)
        .map_err(|e| TrainError::Checkpoint {
            path: weights.clone(),
            reason: e.to_string(),
        })?;
    Ok((net.valid(), meta))
}
